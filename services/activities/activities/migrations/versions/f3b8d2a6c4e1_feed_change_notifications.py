"""feeds: PostgreSQL notifies each change of what feeds are built from (activities_changed)

Revision ID: f3b8d2a6c4e1
Revises: a61c0e9d4f27
Create Date: 2026-12-07 15:40:00

Every replica keeps the versions of the feeds it answered (``guanyinli.changes``) until the next
notification on the channel; triggers notify from every writer, the services' own and any other,
at its commit (notifications of one transaction are folded into one). SQLite needs
none: its change counters say the same.
"""

from alembic import op

revision = "f3b8d2a6c4e1"
down_revision = "a61c0e9d4f27"
branch_labels = None
depends_on = None

CHANNEL = "activities_changed"  # activities.feed_data.CHANGES_CHANNEL
TABLES = ("activities", "occurrences", "signups", "feed_tokens")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION activities_changed() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
    )
    for table in TABLES:
        # Per row, so that the timers' statements that change nothing notify nobody (one transaction's
        # notifications are folded into one); TRUNCATE has statement triggers only.
        op.execute(
            f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION activities_changed()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_truncated AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION activities_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_changed ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_truncated ON {table}")
    op.execute("DROP FUNCTION IF EXISTS activities_changed()")
