"""RPC requests carried out once: the correlation ids of requests that changed something

Revision ID: e5f1a3b4c9d2
Revises: 67c484f5cc78
Create Date: 2026-12-04 00:00:00
"""

from alembic import op

from guanyinli import once

revision = "e5f1a3b4c9d2"
down_revision = "67c484f5cc78"
branch_labels = None
depends_on = None


def upgrade() -> None:
    once.create_table(op, "notifications")


def downgrade() -> None:
    once.drop_table(op, "notifications")

