"""partner registry: retiring partners and services, and each partner's colour slot

Existing partners get colour slots in name order within their place, so that a place set up
before this revision keeps the colours its charts gave partners by name.

Revision ID: 0003_partner_registry
Revises: 0002_accounts
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_partner_registry"
down_revision: str | Sequence[str] | None = "0002_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("colour_slot", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))

    conn = op.get_bind()
    partners = sa.table("partners", sa.column("id", sa.Integer()), sa.column("place_id", sa.Integer()),
                        sa.column("name", sa.String()), sa.column("colour_slot", sa.Integer()))
    rows = conn.execute(sa.select(partners.c.id, partners.c.place_id)
                        .order_by(partners.c.place_id, partners.c.name, partners.c.id)).all()
    slot_of: dict[int, int] = {}
    for partner_id, place_id in rows:
        slot = slot_of.get(place_id, 0)
        conn.execute(partners.update().where(partners.c.id == partner_id).values(colour_slot=slot))
        slot_of[place_id] = slot + 1

    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.alter_column("colour_slot", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_partners_place_colour_slot", ["place_id", "colour_slot"])


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_constraint("uq_partners_place_colour_slot", type_="unique")
        batch_op.drop_column("retired_at")
        batch_op.drop_column("colour_slot")
