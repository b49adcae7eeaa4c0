"""Engines under eventlet: many green workers writing at once neither lock up nor overbook."""

import eventlet
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, text, update
from sqlalchemy.orm import sessionmaker

from guanyinli.db import DatabaseHandle, make_engine

metadata = MetaData()
seats = Table(
    "seats", metadata, Column("id", Integer, primary_key=True), Column("taken", Integer), Column("capacity", Integer)
)


def test_green_writers_share_one_engine_without_overbooking(url):
    engine = make_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(seats.insert().values(id=1, taken=0, capacity=20))
    handle = DatabaseHandle(sessionmaker(bind=engine), engine)
    outcomes = []

    def take():
        with handle.get_session() as session:
            session.execute(text("SELECT 1"))
            eventlet.sleep(0)  # let the other workers in between the read and the write
            result = session.execute(
                update(seats).where(seats.c.id == 1, seats.c.taken < seats.c.capacity).values(taken=seats.c.taken + 1)
            )
            outcomes.append(result.rowcount)

    pool = eventlet.GreenPool(50)
    for _ in range(200):
        pool.spawn_n(take)
    pool.waitall()
    with engine.connect() as conn:
        taken = conn.execute(text("SELECT taken FROM seats WHERE id = 1")).scalar()
    engine.dispose()
    assert (taken, outcomes.count(1), outcomes.count(0)) == (20, 20, 180)


def test_session_rolls_back_on_error(url):
    engine = make_engine(url)
    metadata.create_all(engine)
    handle = DatabaseHandle(sessionmaker(bind=engine), engine)
    with pytest.raises(RuntimeError):
        with handle.get_session() as session:
            session.execute(seats.insert().values(id=2, taken=0, capacity=1))
            raise RuntimeError("boom")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM seats")).scalar() == 0
    engine.dispose()


def seat_capacity(session) -> int:
    return session.execute(text("SELECT capacity FROM seats WHERE id = 1")).scalar()


def set_capacity(engine, capacity: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(seats).where(seats.c.id == 1).values(capacity=capacity))


@pytest.fixture
def one_seat(url):
    engine = make_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(seats.insert().values(id=1, taken=0, capacity=20))
    yield engine
    engine.dispose()


def test_cached_reads_see_every_committed_change_of_this_or_another_process(url, one_seat):
    """Another engine stands for another process (a replica) writing to the same database."""
    handle = DatabaseHandle(sessionmaker(bind=one_seat), one_seat)
    other = make_engine(url)
    try:
        assert handle.read(seat_capacity, cache_key="seat") == 20
        assert handle.read(seat_capacity, cache_key="seat") == 20
        set_capacity(other, 30)
        assert handle.read(seat_capacity, cache_key="seat") == 30
        with handle.get_session() as session:  # this process's own write, on the same connection
            session.execute(update(seats).where(seats.c.id == 1).values(capacity=40))
        assert handle.read(seat_capacity, cache_key="seat") == 40
        set_capacity(one_seat, 50)
        assert handle.read(seat_capacity, cache_key="seat") == 50
    finally:
        other.dispose()
    if url.startswith("sqlite"):
        assert (handle.cache.hits, handle.cache.misses) == (1, 4)
    else:  # no change counter to rely on: every read goes to the database
        assert (handle.cache.hits, handle.cache.misses) == (0, 0)


def test_a_read_writes_nothing_and_its_result_is_not_cached_if_it_tried(url, one_seat):
    handle = DatabaseHandle(sessionmaker(bind=one_seat), one_seat)

    def sneaky(session):
        session.execute(update(seats).where(seats.c.id == 1).values(capacity=99))
        return seat_capacity(session)

    assert handle.read(sneaky, cache_key="seat") == 99
    assert handle.read(seat_capacity, cache_key="seat") == 20
    assert handle.read(seat_capacity) == 20


def test_sqlite_reads_take_no_write_lock(tmp_path):
    """A read goes on while another connection holds the write lock (and blocks nobody)."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine, writer = make_engine(url), make_engine(url)
    try:
        with engine.connect() as conn:  # the one pooled connection: a write lock would fail fast, not wait
            conn.exec_driver_sql("PRAGMA busy_timeout=100")
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(seats.insert().values(id=1, taken=0, capacity=20))
        handle = DatabaseHandle(sessionmaker(bind=engine), engine)
        with writer.begin() as conn:  # BEGIN IMMEDIATE: the write lock until the block ends
            conn.execute(update(seats).where(seats.c.id == 1).values(capacity=21))
            assert handle.read(seat_capacity) == 20
    finally:
        writer.dispose()
        engine.dispose()
