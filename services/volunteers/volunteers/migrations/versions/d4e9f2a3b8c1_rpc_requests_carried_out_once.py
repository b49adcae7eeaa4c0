"""RPC requests carried out once: the correlation ids of requests that changed something

Revision ID: d4e9f2a3b8c1
Revises: b7c1e2f3a4d5
Create Date: 2026-12-04 00:00:00
"""

from alembic import op

from guanyinli import once

revision = "d4e9f2a3b8c1"
down_revision = "b7c1e2f3a4d5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    once.create_table(op, "volunteers")


def downgrade() -> None:
    once.drop_table(op, "volunteers")

