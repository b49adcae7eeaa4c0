"""swap proposals: who proposed, when it expires, who answered; the roster's version

Revision ID: e4a7c2d9b815
Revises: d4a9b2c6e8f1
Create Date: 2026-12-06 20:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e4a7c2d9b815"
down_revision = "d4a9b2c6e8f1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rosters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("roster_swaps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_roster_swaps_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("roster_swaps", schema=None) as batch_op:
        batch_op.drop_index("ix_roster_swaps_status")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("proposed_by")
    with op.batch_alter_table("rosters", schema=None) as batch_op:
        batch_op.drop_column("version")
