"""Answers kept for redelivered requests, and callers' idempotency keys scoped to the caller

Revision ID: b4d6f8a1c3e5
Revises: e4a7c2d9b815
Create Date: 2026-12-06 00:00:00
"""

from alembic import op

from guanyinli import keys, once

revision = "b4d6f8a1c3e5"
down_revision = "e4a7c2d9b815"
branch_labels = None
depends_on = None


def upgrade() -> None:
    once.add_answer(op, "activities")
    keys.create_table(op, "activities")


def downgrade() -> None:
    keys.drop_table(op, "activities")
    once.drop_answer(op, "activities")
