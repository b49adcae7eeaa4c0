"""Answers kept for redelivered requests, and callers' idempotency keys scoped to the caller

Revision ID: c5e7a9b2d4f6
Revises: e5f1a3b4c9d2
Create Date: 2026-12-06 00:00:00
"""

from alembic import op

from guanyinli import keys, once

revision = "c5e7a9b2d4f6"
down_revision = "e5f1a3b4c9d2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    once.add_answer(op, "notifications")
    keys.create_table(op, "notifications")


def downgrade() -> None:
    keys.drop_table(op, "notifications")
    once.drop_answer(op, "notifications")
