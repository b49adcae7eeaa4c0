"""outbox rows retried on their own: failed tries, last error, next try, dead letter

Revision ID: e5a1c7d9b3f2
Revises: c3d8e1f2a7b9
Create Date: 2026-12-06 20:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "e5a1c7d9b3f2"
down_revision = "c3d8e1f2a7b9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("next_try_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("dead_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_column("dead_at")
        batch_op.drop_column("next_try_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
