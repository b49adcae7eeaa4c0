"""elderly visits: feed_shows_details, whether visitors' personal feeds show the visit's details

Revision ID: d4a9b2c6e8f1
Revises: e5a1c7d9b3f2
Create Date: 2026-12-06 21:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "d4a9b2c6e8f1"
down_revision = "e5a1c7d9b3f2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("activities", sa.Column("feed_shows_details", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("feed_shows_details")
