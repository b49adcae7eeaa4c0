"""the community this storage belongs to (guanyinli.tenancy)

An installation that served one community before keeps every record where it was: that storage is
the default community's (guanyinli unless GUANYINLI_COMMUNITIES names another first), and this
table now says so; the service refuses to use storage that names another community.

Revision ID: d9a1c3e5f7b2
Revises: c4d2e8f1a9b3
Create Date: 2026-12-07 19:00:00
"""

from alembic import context, op

from guanyinli import tenancy
from guanyinli.migrate import community_slug

revision = "d9a1c3e5f7b2"
down_revision = "c4d2e8f1a9b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tenancy.create_owner_table(op, community_slug(context))


def downgrade() -> None:
    op.drop_table(tenancy.TABLE)
