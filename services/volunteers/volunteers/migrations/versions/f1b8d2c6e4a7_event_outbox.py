"""event outbox: volunteers' events stored with the change they report (guanyinli.outbox)

Revision ID: f1b8d2c6e4a7
Revises: d4e9f2a3b8c1
Create Date: 2026-12-06 20:40:00
"""

from alembic import op

from guanyinli import outbox

revision = "f1b8d2c6e4a7"
down_revision = "d4e9f2a3b8c1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    outbox.create_table(op, "outbox_events_volunteers")


def downgrade() -> None:
    outbox.drop_table(op, "outbox_events_volunteers")
