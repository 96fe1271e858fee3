"""Staged rollout: the paper accounts of rollout versions (equity and fills per version).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables of this revision."""
    op.create_table(
        "rollout_equity",
        sa.Column("version_id", sa.String(length=128), nullable=False),
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("equity", sa.Double(), nullable=False),
        sa.Column("wallet", sa.Double(), nullable=False),
        sa.Column("unrealized", sa.Double(), nullable=False),
        sa.Column("margin_ratio", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["config_versions.version_id"],
            name=op.f("fk_rollout_equity_version_id_config_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", "ts", name=op.f("pk_rollout_equity")),
    )
    op.create_table(
        "rollout_fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version_id", sa.String(length=128), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("trade_id", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("qty", sa.Double(), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("fee", sa.Double(), nullable=False),
        sa.Column("is_maker", sa.Boolean(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["config_versions.version_id"],
            name=op.f("fk_rollout_fills_version_id_config_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_fills")),
        sa.UniqueConstraint("version_id", "symbol", "trade_id", name="uq_rollout_fills_version_id"),
    )
    with op.batch_alter_table("rollout_fills", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_fills_version_ts", ["version_id", "ts"], unique=False)


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_table("rollout_fills")
    op.drop_table("rollout_equity")
