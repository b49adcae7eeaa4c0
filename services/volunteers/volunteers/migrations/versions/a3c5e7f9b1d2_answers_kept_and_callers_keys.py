"""Answers kept for redelivered requests, and callers' idempotency keys scoped to the caller

Revision ID: a3c5e7f9b1d2
Revises: f1b8d2c6e4a7
Create Date: 2026-12-06 00:00:00
"""

from alembic import op

from guanyinli import keys, once

revision = "a3c5e7f9b1d2"
down_revision = "f1b8d2c6e4a7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    once.add_answer(op, "volunteers")
    keys.create_table(op, "volunteers")


def downgrade() -> None:
    keys.drop_table(op, "volunteers")
    once.drop_answer(op, "volunteers")
