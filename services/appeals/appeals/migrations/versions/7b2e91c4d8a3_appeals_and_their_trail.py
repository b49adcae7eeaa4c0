"""appeals and their trail, with the tables of requests, keys and events every service has

Revision ID: 7b2e91c4d8a3
Revises:
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

from guanyinli import keys, once, outbox

revision = "7b2e91c4d8a3"
down_revision = None
branch_labels = None
depends_on = None

CATEGORIES = (
    "errand",
    "agent",
    "government_affairs_at_home",
    "repair",
    "safety_hazard",
    "environment",
    "elevator",
    "neighbours",
    "other",
)
NOTE_KINDS = ("received", "assigned", "accepted", "handed_back", "reassigned", "note", "closed")


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    once.create_table(op, "appeals")
    once.add_answer(op, "appeals")
    keys.create_table(op, "appeals")
    outbox.create_table(op, "outbox_events_appeals")
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("courtyard", sa.String(length=20), nullable=True),
        sa.Column("building", sa.String(length=50), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("resident_name", sa.String(length=100), nullable=False),
        sa.Column("resident_phone", sa.String(length=30), nullable=False),
        sa.Column("resident_address", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("received_by", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("resident_reply", sa.Text(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.CheckConstraint(_one_of("category", CATEGORIES), name="ck_appeals_category"),
        sa.CheckConstraint(_one_of("urgency", ("normal", "urgent")), name="ck_appeals_urgency"),
        sa.CheckConstraint(
            _one_of("status", ("unrouted", "assigned", "accepted", "closed")), name="ck_appeals_status"
        ),
        sa.CheckConstraint(
            "satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)", name="ck_appeals_satisfaction"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appeals_grid_status", "appeals", ["grid_id", "status"])
    op.create_index("ix_appeals_handler_status", "appeals", ["handler_id", "status"])
    op.create_table(
        "appeal_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.CheckConstraint(_one_of("kind", NOTE_KINDS), name="ck_appeal_notes_kind"),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appeal_notes_appeal_id", "appeal_notes", ["appeal_id"])


def downgrade() -> None:
    op.drop_index("ix_appeal_notes_appeal_id", table_name="appeal_notes")
    op.drop_table("appeal_notes")
    op.drop_index("ix_appeals_handler_status", table_name="appeals")
    op.drop_index("ix_appeals_grid_status", table_name="appeals")
    op.drop_table("appeals")
    outbox.drop_table(op, "outbox_events_appeals")
    keys.drop_table(op, "appeals")
    once.drop_table(op, "appeals")
