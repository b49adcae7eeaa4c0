"""the register of visited people and their planned visits with the visitors' notes

Revision ID: 109be6d1eeda
Revises: f9f32ce6e7e4
Create Date: 2026-12-07 05:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "109be6d1eeda"
down_revision = "f9f32ce6e7e4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visited_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("courtyard", sa.String(length=100), nullable=True),
        sa.Column("home", sa.String(length=100), nullable=True),
        sa.Column("frequency_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("consent_by", sa.String(length=100), nullable=True),
        sa.Column("consent_at", sa.DateTime(), nullable=True),
        sa.Column("consent_how", sa.String(length=20), nullable=True),
        sa.Column("consent_recorded_by", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=300), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("health_notes", sa.Text(), nullable=True),
        sa.Column("relative_contact", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("demo_key", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "category IN ('elder_alone', 'care_home_resident', 'condolence')", name="ck_visited_people_category"
        ),
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name="ck_visited_people_status"),
        sa.CheckConstraint("frequency_days BETWEEN 1 AND 90", name="ck_visited_people_frequency"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("demo_key"),
    )
    op.create_index("ix_visited_people_grid_id", "visited_people", ["grid_id"], unique=False)
    op.create_table(
        "person_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("note_by", sa.Integer(), nullable=True),
        sa.Column("note_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["occurrence_id"], ["occurrences.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["visited_people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("activity_id"),
        sa.UniqueConstraint("occurrence_id"),
        sa.UniqueConstraint("person_id", "due_on", name="uq_person_visits_due"),
    )
    op.create_index("ix_person_visits_person_id", "person_visits", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_person_visits_person_id", table_name="person_visits")
    op.drop_table("person_visits")
    op.drop_index("ix_visited_people_grid_id", table_name="visited_people")
    op.drop_table("visited_people")
