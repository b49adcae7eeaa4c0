"""the community this storage belongs to (existing rows: the default community's; guanyinli.tenancy)

Revision ID: f1c3e5a7b9d4
Revises: c8e4a2f6d1b7
Create Date: 2026-12-07 19:00:00
"""

from guanyinli.tenancy import downgrade_owner as downgrade  # noqa: F401 - the migration's steps
from guanyinli.tenancy import upgrade_owner as upgrade  # noqa: F401

revision = "f1c3e5a7b9d4"
down_revision = "c8e4a2f6d1b7"
branch_labels = None
depends_on = None
