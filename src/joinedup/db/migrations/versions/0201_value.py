"""value: public value accounts (settings, costs, stored results, charter ties)

Revision ID: 0201_value
Revises: 0001_platform
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0201_value"
down_revision: str | Sequence[str] | None = "0001_platform"
branch_labels: str | Sequence[str] | None = ("value",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "value_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collaboration_id", sa.Integer(), nullable=False),
        sa.Column("programme", sa.JSON(), nullable=True),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["collaboration_id"], ["collaborations.id"],
                                name=op.f("fk_value_accounts_collaboration_id_collaborations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value_accounts")),
        sa.UniqueConstraint("collaboration_id", name=op.f("uq_value_accounts_collaboration_id")),
    )
    op.create_table(
        "value_costs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount_gbp", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["value_accounts.id"],
                                name=op.f("fk_value_costs_account_id_value_accounts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"],
                                name=op.f("fk_value_costs_partner_id_partners"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value_costs")),
    )
    op.create_index(op.f("ix_value_costs_account_id"), "value_costs", ["account_id"])
    op.create_table(
        "value_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_by", sa.String(length=254), nullable=False),
        sa.Column("settings_version", sa.Integer(), nullable=False),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column("data_version", sa.String(length=300), nullable=False),
        sa.Column("account", sa.JSON(), nullable=False),
        sa.Column("published", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["value_accounts.id"],
                                name=op.f("fk_value_results_account_id_value_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value_results")),
        sa.UniqueConstraint("account_id", name=op.f("uq_value_results_account_id")),
    )
    op.create_table(
        "value_measure_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outcome_measure_id", sa.Integer(), nullable=False),
        sa.Column("measure_key", sa.String(length=80), nullable=False),
        sa.Column("per", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["outcome_measure_id"], ["outcome_measures.id"],
                                name=op.f("fk_value_measure_links_outcome_measure_id_outcome_measures"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value_measure_links")),
        sa.UniqueConstraint("outcome_measure_id",
                            name=op.f("uq_value_measure_links_outcome_measure_id")),
    )


def downgrade() -> None:
    op.drop_table("value_measure_links")
    op.drop_table("value_results")
    op.drop_index(op.f("ix_value_costs_account_id"), table_name="value_costs")
    op.drop_table("value_costs")
    op.drop_table("value_accounts")
