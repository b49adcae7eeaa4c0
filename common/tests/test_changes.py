"""Cached reads on PostgreSQL: kept until a commit of this or another process is notified."""

import time

import eventlet
import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import sessionmaker
from test_db import metadata, seat_capacity, seats, set_capacity

from guanyinli.changes import ChangeListener
from guanyinli.db import DatabaseHandle, ReadCache, make_engine

CHANNEL = "seats_changed"


def wait_until(condition, what: str, seconds: float = 10.0) -> None:
    """Wait for something another connection does (a notification, a reconnect), not for time."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds} s")
        eventlet.sleep(0.01)


@pytest.fixture
def notified(url):
    """A table whose changes notify CHANNEL (as a service's migration sets up), and a listener."""
    if not url.startswith("postgresql"):
        pytest.skip("notification channels are PostgreSQL's")
    engine = make_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(seats.insert().values(id=1, taken=0, capacity=20))
        conn.execute(
            text(
                "CREATE FUNCTION seats_changed() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER seats_changed AFTER INSERT OR UPDATE OR DELETE ON seats EXECUTE FUNCTION seats_changed()"
            )
        )
    listener = ChangeListener(engine, CHANNEL)
    listener.start()
    wait_until(lambda: listener.token() is not None, "listening")
    listener.watch_commits(engine)
    yield engine, listener, DatabaseHandle(sessionmaker(bind=engine), engine, ReadCache(changes=listener))
    listener.stop()
    engine.dispose()


def test_a_read_is_reused_until_any_process_commits(url, notified):
    engine, listener, handle = notified
    other = make_engine(url)  # another replica
    try:
        assert handle.read(seat_capacity, cache_key="seat") == 20
        assert handle.read(seat_capacity, cache_key="seat") == 20
        assert (handle.cache.hits, handle.cache.misses) == (1, 1)

        before = listener.token()
        set_capacity(other, 30)
        wait_until(lambda: listener.token() != before, "the other process's notification")
        assert handle.read(seat_capacity, cache_key="seat") == 30

        with handle.get_session() as session:
            session.execute(update(seats).where(seats.c.id == 1).values(capacity=40))
        assert handle.read(seat_capacity, cache_key="seat") == 40
    finally:
        other.dispose()


def test_this_processs_commits_are_seen_at_once_without_their_notification(url, notified):
    """On a channel nobody notifies, only this process's own commits move the token."""
    engine, _, _ = notified
    quiet = ChangeListener(engine, "nobody_notifies_this")
    quiet.start()
    other = make_engine(url)
    try:
        wait_until(lambda: quiet.token() is not None, "listening")
        quiet.watch_commits(engine)
        handle = DatabaseHandle(sessionmaker(bind=engine), engine, ReadCache(changes=quiet))
        assert handle.read(seat_capacity, cache_key="seat") == 20
        assert handle.read(seat_capacity, cache_key="seat") == 20
        with handle.get_session() as session:
            session.execute(update(seats).where(seats.c.id == 1).values(capacity=40))
        assert handle.read(seat_capacity, cache_key="seat") == 40
        with handle.get_session() as session:  # commits that change no row keep what was read
            session.execute(text("SELECT 1"))
        with handle.get_session() as session:
            session.execute(update(seats).where(seats.c.id == 99).values(capacity=1))
        set_capacity(other, 50)  # another process, and no trigger notifies this channel: not seen
        assert handle.read(seat_capacity, cache_key="seat") == 40
        assert handle.read(seat_capacity, cache_key="seat") == 40
        assert (handle.cache.hits, handle.cache.misses) == (3, 2)
    finally:
        other.dispose()
        quiet.stop()


def test_without_its_connection_nothing_is_reused_and_it_comes_back(url, notified):
    engine, listener, handle = notified
    assert handle.read(seat_capacity, cache_key="seat") == 20
    epoch = listener.token()[0]
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
            )
        )
    wait_until(lambda: listener.token() is None, "noticing the lost connection")
    set_capacity(engine, 25)  # notified to nobody
    hits = handle.cache.hits
    assert handle.read(seat_capacity, cache_key="seat") == 25
    assert handle.read(seat_capacity, cache_key="seat") == 25
    assert handle.cache.hits == hits  # not reused while it cannot be known
    wait_until(lambda: listener.token() is not None, "listening again")
    assert listener.token()[0] == epoch + 1
    assert handle.read(seat_capacity, cache_key="seat") == 25


def test_a_channel_is_a_plain_name():
    with pytest.raises(ValueError, match="letters, digits"):
        ChangeListener(None, "seats; DROP TABLE seats")
