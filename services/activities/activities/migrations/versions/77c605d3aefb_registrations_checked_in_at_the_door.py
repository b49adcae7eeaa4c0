"""registrations: when the resident was checked in at the door

Revision ID: 77c605d3aefb
Revises: f9f32ce6e7e4
Create Date: 2026-12-07 05:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "77c605d3aefb"
down_revision = "7c3e91a5d2b8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("checked_in_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("checked_in_at")
