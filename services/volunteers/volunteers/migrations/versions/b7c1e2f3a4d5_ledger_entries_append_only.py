"""ledger entries are append-only: UPDATE is refused by the database

Revision ID: b7c1e2f3a4d5
Revises: d588be87ae08
Create Date: 2026-11-25 07:00:00
"""

from alembic import op

revision = "b7c1e2f3a4d5"
down_revision = "d588be87ae08"
branch_labels = None
depends_on = None

MESSAGE = "ledger entries are append-only; add a correcting entry instead"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE ON ledger_entries "
            "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE ON ledger_entries "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_append_only")
