"""the community this storage belongs to (guanyinli.tenancy)

An installation that served one community before keeps every record where it was: that storage is
the default community's (guanyinli unless GUANYINLI_COMMUNITIES names another first), and this
table now says so; the service refuses to use storage that names another community.

Revision ID: f1c3e5a7b9d4
Revises: c8e4a2f6d1b7
Create Date: 2026-12-07 19:00:00
"""

from alembic import context, op

from guanyinli import tenancy
from guanyinli.migrate import community_slug

revision = "f1c3e5a7b9d4"
down_revision = "c8e4a2f6d1b7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tenancy.create_owner_table(op, community_slug(context))


def downgrade() -> None:
    op.drop_table(tenancy.TABLE)
