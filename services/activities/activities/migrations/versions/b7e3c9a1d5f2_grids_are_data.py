"""grids are data: an activity's or occurrence's grid is any positive id (the volunteers service's grids)

Revision ID: b7e3c9a1d5f2
Revises: f3b8d2a6c4e1
Create Date: 2026-12-07 16:00:00

Which grids there are is the volunteers service's to say (its structure data); the service checks
a grid against them when it is written. The column keeps only what holds for any community.
"""

from alembic import op

revision = "b7e3c9a1d5f2"
down_revision = "f3b8d2a6c4e1"
branch_labels = None
depends_on = None

CHECKS = (("activities", "ck_activities_grid"), ("occurrences", "ck_occurrences_grid"))


def _grid_check(condition: str) -> None:
    for table, name in CHECKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(name, type_="check")
            batch_op.create_check_constraint(name, f"grid_id IS NULL OR ({condition})")


def upgrade() -> None:
    _grid_check("grid_id >= 1")


def downgrade() -> None:
    _grid_check("grid_id BETWEEN 1 AND 15")
