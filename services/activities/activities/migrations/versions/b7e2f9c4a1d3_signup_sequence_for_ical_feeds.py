"""sign-ups count their status changes (iCalendar SEQUENCE of personal feeds)

Revision ID: b7e2f9c4a1d3
Revises: 5f07ff4531e1
Create Date: 2026-11-25 07:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'b7e2f9c4a1d3'
down_revision = '5f07ff4531e1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('signups', sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('signups') as batch:
        batch.drop_column('sequence')
