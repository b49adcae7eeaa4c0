"""the community this storage belongs to (existing rows: the default community's; guanyinli.tenancy)

Revision ID: d9a1c3e5f7b2
Revises: c4d2e8f1a9b3
Create Date: 2026-12-07 19:00:00
"""

from guanyinli.tenancy import downgrade_owner as downgrade  # noqa: F401 - the migration's steps
from guanyinli.tenancy import upgrade_owner as upgrade  # noqa: F401

revision = "d9a1c3e5f7b2"
down_revision = "c4d2e8f1a9b3"
branch_labels = None
depends_on = None
