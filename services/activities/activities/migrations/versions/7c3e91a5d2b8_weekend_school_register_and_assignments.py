"""the weekend school: the pupils' register and the tutors assigned to them

Revision ID: 7c3e91a5d2b8
Revises: f9f32ce6e7e4
Create Date: 2026-12-07 05:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "7c3e91a5d2b8"
down_revision = "109be6d1eeda"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "school_pupils",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("guardian_name", sa.String(length=100), nullable=False),
        sa.Column("guardian_phone", sa.String(length=30), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registered_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("demo_key", sa.String(length=100), nullable=True),
        sa.CheckConstraint("grade BETWEEN 1 AND 9", name="ck_school_pupils_grade"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("demo_key"),
    )
    op.create_index("ix_school_pupils_active", "school_pupils", ["active"], unique=False)
    op.create_table(
        "school_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("reason_zh", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["occurrence_id"], ["occurrences.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pupil_id"], ["school_pupils.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("occurrence_id", "pupil_id", "subject", name="uq_school_assignments_need"),
    )
    op.create_index("ix_school_assignments_occurrence_id", "school_assignments", ["occurrence_id"], unique=False)
    op.create_index("ix_school_assignments_pupil_id", "school_assignments", ["pupil_id"], unique=False)
    op.create_index("ix_school_assignments_tutor_id", "school_assignments", ["tutor_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_school_assignments_tutor_id", table_name="school_assignments")
    op.drop_index("ix_school_assignments_pupil_id", table_name="school_assignments")
    op.drop_index("ix_school_assignments_occurrence_id", table_name="school_assignments")
    op.drop_table("school_assignments")
    op.drop_index("ix_school_pupils_active", table_name="school_pupils")
    op.drop_table("school_pupils")
