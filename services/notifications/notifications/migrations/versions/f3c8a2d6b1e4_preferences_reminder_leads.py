"""preferences: the reminder leads a volunteer wants (NULL: every lead, as before)

Revision ID: f3c8a2d6b1e4
Revises: b8d3f1a6c2e7
Create Date: 2026-12-12 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f3c8a2d6b1e4"
down_revision = "b8d3f1a6c2e7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("preferences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminders", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("preferences", schema=None) as batch_op:
        batch_op.drop_column("reminders")
