"""the community this storage belongs to (existing rows: the default community's; guanyinli.tenancy)

Revision ID: c7e1a3d5b9f2
Revises: f3c8a2d6b1e4
Create Date: 2026-12-07 19:00:00
"""

from guanyinli.tenancy import downgrade_owner as downgrade  # noqa: F401 - the migration's steps
from guanyinli.tenancy import upgrade_owner as upgrade  # noqa: F401

revision = "c7e1a3d5b9f2"
down_revision = "f3c8a2d6b1e4"
branch_labels = None
depends_on = None
