"""grids are data: a volunteer's home grid and a grid role's grid are any positive id

Revision ID: c9d4e2a7b1f3
Revises: 3cf2133813cb
Create Date: 2026-12-07 16:00:00

Which grids there are is the structure data's to say (``volunteers.structure.GRIDS``), checked by
the service at each call; the columns keep only what holds for any community.
"""

from alembic import op

revision = "c9d4e2a7b1f3"
down_revision = "3cf2133813cb"
branch_labels = None
depends_on = None


def _grid_checks(condition: str) -> None:
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_constraint("ck_volunteers_grid", type_="check")
        batch_op.create_check_constraint("ck_volunteers_grid", f"grid_id IS NULL OR ({condition})")
    with op.batch_alter_table("grid_roles", schema=None) as batch_op:
        batch_op.drop_constraint("ck_grid_roles_grid", type_="check")
        batch_op.create_check_constraint("ck_grid_roles_grid", condition)


def upgrade() -> None:
    _grid_checks("grid_id >= 1")


def downgrade() -> None:
    _grid_checks("grid_id BETWEEN 1 AND 15")
