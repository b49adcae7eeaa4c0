"""planning locks: one clean-up, visit or school plan at a time

Revision ID: a61c0e9d4f27
Revises: 7c3e91a5d2b8
Create Date: 2026-12-07 06:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a61c0e9d4f27"
down_revision = "77c605d3aefb"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planning_locks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("planning_locks")
