"""appeals by when they were received and closed, for the monthly report

Revision ID: e4a7c2b9d105
Revises: d2f7b9c3e5a1
Create Date: 2026-12-07 12:00:00
"""

from alembic import op

revision = "e4a7c2b9d105"
down_revision = "d2f7b9c3e5a1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_appeals_received_at", "appeals", ["received_at"])
    op.create_index("ix_appeals_closed_at", "appeals", ["closed_at"])


def downgrade() -> None:
    op.drop_index("ix_appeals_closed_at", table_name="appeals")
    op.drop_index("ix_appeals_received_at", table_name="appeals")
