"""failed logins of the organiser page, for the login throttle

Revision ID: a7c3e9d2b4f1
Revises: f6a2b4c5d1e3
Create Date: 2026-12-06 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c3e9d2b4f1"
down_revision = "f6a2b4c5d1e3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organiser_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_organiser_login_failures_username_at", "organiser_login_failures", ["username", "at"])
    op.create_index("ix_organiser_login_failures_address_at", "organiser_login_failures", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_organiser_login_failures_address_at", table_name="organiser_login_failures")
    op.drop_index("ix_organiser_login_failures_username_at", table_name="organiser_login_failures")
    op.drop_table("organiser_login_failures")
