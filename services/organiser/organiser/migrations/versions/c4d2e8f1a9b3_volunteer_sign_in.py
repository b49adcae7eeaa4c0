"""volunteers' sign-in to the phone page: sessions, one-time codes, personal links

Revision ID: c4d2e8f1a9b3
Revises: d6f8b1c3e5a7
Create Date: 2026-12-07 03:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c4d2e8f1a9b3"
down_revision = "d6f8b1c3e5a7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volunteer_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("grids_led", sa.String(length=100), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("how", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_digest"),
    )
    op.create_index("ix_volunteer_sessions_volunteer_id", "volunteer_sessions", ["volunteer_id"])
    op.create_table(
        "signin_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_digest", sa.String(length=64), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signin_codes_phone_at", "signin_codes", ["phone_digest", "created_at"])
    op.create_index("ix_signin_codes_address_at", "signin_codes", ["address", "created_at"])
    op.create_table(
        "signin_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_digest"),
    )
    op.create_index("ix_signin_links_volunteer_id", "signin_links", ["volunteer_id"])


def downgrade() -> None:
    op.drop_index("ix_signin_links_volunteer_id", table_name="signin_links")
    op.drop_table("signin_links")
    op.drop_index("ix_signin_codes_address_at", table_name="signin_codes")
    op.drop_index("ix_signin_codes_phone_at", table_name="signin_codes")
    op.drop_table("signin_codes")
    op.drop_index("ix_volunteer_sessions_volunteer_id", table_name="volunteer_sessions")
    op.drop_table("volunteer_sessions")
