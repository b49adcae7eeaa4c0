"""Sign-in codes sent by text message, one per caller's request_id (the codes are not kept)

Revision ID: b8d3f1a6c2e7
Revises: c5e7a9b2d4f6
Create Date: 2026-12-10 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b8d3f1a6c2e7"
down_revision = "c5e7a9b2d4f6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=False),
        sa.Column("phone_masked", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider_message_id", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "request_id", name="uq_sign_in_messages_scope_request"),
    )


def downgrade() -> None:
    op.drop_table("sign_in_messages")
