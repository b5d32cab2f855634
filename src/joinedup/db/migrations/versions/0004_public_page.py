"""public page: a place's opt-in public page of its state of collaboration

No row means the page is off, so existing places stay unpublished.

Revision ID: 0004_public_page
Revises: 0003_partner_registry
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_public_page"
down_revision: str | Sequence[str] | None = "0003_partner_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "place_public_pages",
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("contact_address", sa.Text(), nullable=False),
        sa.Column("privacy_notice", sa.Text(), nullable=False),
        sa.Column("accessibility_statement", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"],
                                name=op.f("fk_place_public_pages_place_id_places")),
        sa.PrimaryKeyConstraint("place_id", name=op.f("pk_place_public_pages")),
    )


def downgrade() -> None:
    op.drop_table("place_public_pages")
