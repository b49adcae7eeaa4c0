"""Answers kept for redelivered requests, and callers' idempotency keys scoped to the caller

Revision ID: d6f8b1c3e5a7
Revises: b5e8c1d3f7a2
Create Date: 2026-12-06 00:00:00
"""

from alembic import op

from guanyinli import keys, once

revision = "d6f8b1c3e5a7"
down_revision = "b5e8c1d3f7a2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    once.add_answer(op, "organiser")
    keys.create_table(op, "organiser")


def downgrade() -> None:
    keys.drop_table(op, "organiser")
    once.drop_answer(op, "organiser")
