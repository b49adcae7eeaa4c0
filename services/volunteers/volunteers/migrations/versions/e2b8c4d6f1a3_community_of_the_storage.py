"""the community this storage belongs to (existing rows: the default community's; guanyinli.tenancy)

Revision ID: e2b8c4d6f1a3
Revises: c9d4e2a7b1f3
Create Date: 2026-12-07 19:00:00
"""

from guanyinli.tenancy import downgrade_owner as downgrade  # noqa: F401 - the migration's steps
from guanyinli.tenancy import upgrade_owner as upgrade  # noqa: F401

revision = "e2b8c4d6f1a3"
down_revision = "c9d4e2a7b1f3"
branch_labels = None
depends_on = None
