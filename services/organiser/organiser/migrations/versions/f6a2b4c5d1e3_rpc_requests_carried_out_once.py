"""RPC requests carried out once: the correlation ids of requests that changed something

Revision ID: f6a2b4c5d1e3
Revises: f9b4fd9c362e
Create Date: 2026-12-04 00:00:00
"""

from alembic import op

from guanyinli import once

revision = "f6a2b4c5d1e3"
down_revision = "f9b4fd9c362e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    once.create_table(op, "organiser")


def downgrade() -> None:
    once.drop_table(op, "organiser")

