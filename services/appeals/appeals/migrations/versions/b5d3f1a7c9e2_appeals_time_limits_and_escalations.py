"""time limits of appeals: the visit stage, the escalation steps fired, when the timer looks again

Revision ID: b5d3f1a7c9e2
Revises: 7b2e91c4d8a3
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b5d3f1a7c9e2"
down_revision = "7b2e91c4d8a3"
branch_labels = None
depends_on = None

NOTE_KINDS = ("received", "assigned", "accepted", "handed_back", "reassigned", "note", "closed")
NOTE_KINDS_NOW = ("received", "assigned", "accepted", "handed_back", "reassigned", "note", "visited", "closed")
STAGES = ("acknowledge", "visit", "close")
LEVELS = ("handler", "grid_leader", "community_office")


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _note_kinds(kinds) -> None:
    with op.batch_alter_table("appeal_notes", schema=None) as batch_op:
        batch_op.drop_constraint("ck_appeal_notes_kind", type_="check")
        batch_op.create_check_constraint("ck_appeal_notes_kind", _one_of("kind", kinds))


def upgrade() -> None:
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visited_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("next_check_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_appeals_next_check_at", ["next_check_at"])
    _note_kinds(NOTE_KINDS_NOW)
    op.create_table(
        "appeal_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(_one_of("stage", STAGES), name="ck_appeal_escalations_stage"),
        sa.CheckConstraint(_one_of("level", LEVELS), name="ck_appeal_escalations_level"),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appeal_id", "stage", "level", name="uq_appeal_escalations_step"),
    )


def downgrade() -> None:
    op.drop_table("appeal_escalations")
    op.execute("DELETE FROM appeal_notes WHERE kind = 'visited'")
    _note_kinds(NOTE_KINDS)
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_next_check_at")
        batch_op.drop_column("next_check_at")
        batch_op.drop_column("visited_at")
