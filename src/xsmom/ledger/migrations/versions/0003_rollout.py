"""Staged rollout: the stage of each config version and every stage change.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables of this revision."""
    op.create_table(
        "rollout_stages",
        sa.Column("version_id", sa.String(length=128), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("since_ms", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["config_versions.version_id"],
            name=op.f("fk_rollout_stages_version_id_config_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_rollout_stages")),
    )

    op.create_table(
        "rollout_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.String(length=128), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["config_versions.version_id"],
            name=op.f("fk_rollout_transitions_version_id_config_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_transitions")),
    )
    with op.batch_alter_table("rollout_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rollout_transitions_ts"), ["ts"], unique=False)


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_table("rollout_transitions")
    op.drop_table("rollout_stages")
