"""identity revocations and the organiser's event outbox

Revision ID: b5e8c1d3f7a2
Revises: a7c3e9d2b4f1
Create Date: 2026-12-06 21:20:00
"""

import sqlalchemy as sa
from alembic import op

from guanyinli import outbox

revision = "b5e8c1d3f7a2"
down_revision = "a7c3e9d2b4f1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_revocations",
        sa.Column("subject", sa.String(120), primary_key=True),
        sa.Column("before", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
    )
    outbox.create_table(op, "outbox_events_organiser")


def downgrade() -> None:
    outbox.drop_table(op, "outbox_events_organiser")
    op.drop_table("identity_revocations")
