"""Funding from the exchange: each settlement keeps the exchange's id and amount beside the
figure derived from the store's rates (the cross-check).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_DERIVED = ("rate", "qty", "mark_price")


def upgrade() -> None:
    """Add the exchange's id and the expected amount; derived columns may wait for the bar."""
    with op.batch_alter_table("funding_payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("venue_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("expected", sa.Double(), nullable=True))
        for name in _DERIVED:
            batch_op.alter_column(name, existing_type=sa.Double(), nullable=True)
        batch_op.create_unique_constraint(
            "uq_funding_payments_symbol_venue_id", ["symbol", "venue_id"]
        )


def downgrade() -> None:
    """Drop them again (rows the exchange reported before their bar was processed keep 0)."""
    for name in _DERIVED:
        op.execute(sa.text(f"UPDATE funding_payments SET {name} = 0 WHERE {name} IS NULL"))
    with op.batch_alter_table("funding_payments", schema=None) as batch_op:
        batch_op.drop_constraint("uq_funding_payments_symbol_venue_id", type_="unique")
        for name in _DERIVED:
            batch_op.alter_column(name, existing_type=sa.Double(), nullable=False)
        batch_op.drop_column("expected")
        batch_op.drop_column("venue_id")
