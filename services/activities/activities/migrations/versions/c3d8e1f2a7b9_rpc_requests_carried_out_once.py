"""RPC requests carried out once: the correlation ids of requests that changed something

Revision ID: c3d8e1f2a7b9
Revises: 68fc42d0e5af
Create Date: 2026-12-04 00:00:00
"""

from alembic import op

from guanyinli import once

revision = "c3d8e1f2a7b9"
down_revision = "68fc42d0e5af"
branch_labels = None
depends_on = None


def upgrade() -> None:
    once.create_table(op, "activities")


def downgrade() -> None:
    once.drop_table(op, "activities")

