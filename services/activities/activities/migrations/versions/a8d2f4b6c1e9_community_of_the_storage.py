"""the community this storage belongs to (existing rows: the default community's; guanyinli.tenancy)

Revision ID: a8d2f4b6c1e9
Revises: b7e3c9a1d5f2
Create Date: 2026-12-07 19:00:00
"""

from guanyinli.tenancy import downgrade_owner as downgrade  # noqa: F401 - the migration's steps
from guanyinli.tenancy import upgrade_owner as upgrade  # noqa: F401

revision = "a8d2f4b6c1e9"
down_revision = "b7e3c9a1d5f2"
branch_labels = None
depends_on = None
