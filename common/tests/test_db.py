"""Engines under eventlet: many green workers writing at once neither lock up nor overbook."""

import uuid

import eventlet
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, text, update
from sqlalchemy.orm import sessionmaker

from guanyinli.db import DatabaseHandle, make_engine
from guanyinli.testing import PG_ADMIN_URL

metadata = MetaData()
seats = Table(
    "seats", metadata, Column("id", Integer, primary_key=True), Column("taken", Integer), Column("capacity", Integer)
)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    name = f"gytest_common_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


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
