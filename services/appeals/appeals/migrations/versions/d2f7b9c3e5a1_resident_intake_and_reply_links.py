"""residents' own appeals and their reply links: where an appeal came from, the link's digest and times

Revision ID: d2f7b9c3e5a1
Revises: b5d3f1a7c9e2
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d2f7b9c3e5a1"
down_revision = "b5d3f1a7c9e2"
branch_labels = None
depends_on = None

OLD_KINDS = ("received", "assigned", "accepted", "handed_back", "reassigned", "note", "visited", "closed")
NEW_KINDS = (*OLD_KINDS, "resident_replied")


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("appeals") as batch:
        batch.add_column(sa.Column("source", sa.String(length=10), nullable=False, server_default="office"))
        batch.add_column(sa.Column("reply_nonce", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("reply_token_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("reply_expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("reply_used_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("reply_sent_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("resident_replied_at", sa.DateTime(), nullable=True))
        batch.create_check_constraint("ck_appeals_source", _one_of("source", ("office", "grid", "resident")))
        batch.create_unique_constraint("uq_appeals_reply_token_digest", ["reply_token_digest"])
    with op.batch_alter_table("appeal_notes") as batch:
        batch.drop_constraint("ck_appeal_notes_kind", type_="check")
        batch.create_check_constraint("ck_appeal_notes_kind", _one_of("kind", NEW_KINDS))


def downgrade() -> None:
    op.execute("DELETE FROM appeal_notes WHERE kind = 'resident_replied'")
    with op.batch_alter_table("appeal_notes") as batch:
        batch.drop_constraint("ck_appeal_notes_kind", type_="check")
        batch.create_check_constraint("ck_appeal_notes_kind", _one_of("kind", OLD_KINDS))
    with op.batch_alter_table("appeals") as batch:
        batch.drop_constraint("uq_appeals_reply_token_digest", type_="unique")
        batch.drop_constraint("ck_appeals_source", type_="check")
        for column in (
            "resident_replied_at",
            "reply_sent_at",
            "reply_used_at",
            "reply_expires_at",
            "reply_token_digest",
            "reply_nonce",
            "source",
        ):
            batch.drop_column(column)
