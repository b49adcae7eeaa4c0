"""stand-in offers ("I can't come") and the events of other services handled once

Revision ID: f9f32ce6e7e4
Revises: b4d6f8a1c3e5
Create Date: 2026-12-07 02:45:55
"""

import sqlalchemy as sa
from alembic import op

revision = "f9f32ce6e7e4"
down_revision = "b4d6f8a1c3e5"
branch_labels = None
depends_on = None

LIVE = "status IN ('open', 'unfilled')"


def upgrade() -> None:
    op.create_table(
        "handled_events",
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_handled_events_handled_at", "handled_events", ["handled_at"], unique=False)
    op.create_table(
        "standin_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signup_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_role_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("cause", sa.String(length=100), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("grid_leader_id", sa.Integer(), nullable=True),
        sa.Column("candidate_ids", sa.JSON(), nullable=False),
        sa.Column("taken_by", sa.Integer(), nullable=True),
        sa.Column("new_signup_id", sa.Integer(), nullable=True),
        sa.Column("alert_at", sa.DateTime(), nullable=False),
        sa.Column("alerted_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'taken', 'unfilled', 'withdrawn')", name="ck_standin_offers_status"),
        sa.ForeignKeyConstraint(["new_signup_id"], ["signups.id"]),
        sa.ForeignKeyConstraint(["occurrence_id"], ["occurrences.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["occurrence_role_id"], ["occurrence_roles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["signup_id"], ["signups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_standin_offers_occurrence_id", "standin_offers", ["occurrence_id"], unique=False)
    op.create_index("ix_standin_offers_status_alert", "standin_offers", ["status", "alert_at"], unique=False)
    op.create_index(
        "uq_standin_offers_live",
        "standin_offers",
        ["signup_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_standin_offers_live", table_name="standin_offers")
    op.drop_index("ix_standin_offers_status_alert", table_name="standin_offers")
    op.drop_index("ix_standin_offers_occurrence_id", table_name="standin_offers")
    op.drop_table("standin_offers")
    op.drop_index("ix_handled_events_handled_at", table_name="handled_events")
    op.drop_table("handled_events")
