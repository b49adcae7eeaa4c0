"""roster settings of a volunteer: their weekly cap, target a month, preferred days and times, partners

Revision ID: 3cf2133813cb
Revises: a3c5e7f9b1d2
Create Date: 2026-12-10 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "3cf2133813cb"
down_revision = "a3c5e7f9b1d2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_duties_per_week", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("target_per_month", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "ck_volunteers_max_duties_per_week", "max_duties_per_week IS NULL OR (max_duties_per_week BETWEEN 1 AND 14)"
        )
        batch_op.create_check_constraint(
            "ck_volunteers_target_per_month", "target_per_month IS NULL OR (target_per_month BETWEEN 0 AND 62)"
        )
    op.create_table(
        "volunteer_preferred_days",
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_volunteer_preferred_days_weekday"),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("volunteer_id", "weekday"),
    )
    op.create_table(
        "volunteer_preferred_times",
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("time_of_day", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "time_of_day IN ('morning', 'afternoon', 'evening')", name="ck_volunteer_preferred_times_time_of_day"
        ),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("volunteer_id", "time_of_day"),
    )
    op.create_table(
        "volunteer_partners",
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("volunteer_id <> partner_id", name="ck_volunteer_partners_not_self"),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["partner_id"], ["volunteers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("volunteer_id", "partner_id"),
    )
    op.create_index("ix_volunteer_partners_partner_id", "volunteer_partners", ["partner_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_volunteer_partners_partner_id", table_name="volunteer_partners")
    op.drop_table("volunteer_partners")
    op.drop_table("volunteer_preferred_times")
    op.drop_table("volunteer_preferred_days")
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_constraint("ck_volunteers_target_per_month", type_="check")
        batch_op.drop_constraint("ck_volunteers_max_duties_per_week", type_="check")
        batch_op.drop_column("target_per_month")
        batch_op.drop_column("max_duties_per_week")
