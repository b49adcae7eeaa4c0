"""An RPC request changes the database once: its correlation id is recorded with the worker's first write."""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from guanyinli import once
from guanyinli.db import DatabaseHandle, make_engine
from guanyinli.errors import Conflict, RequestRepeated
from guanyinli.rpc import CORRELATION_KEY, RequestRpc, Rpc
from guanyinli.timeutil import now, to_db


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


once.table("tests", Base.metadata)
counters = Table("counters", MetaData(), Column("id", Integer, primary_key=True), Column("value", Integer))
REQUEST = ("corr-1", "tests.add_note")


@pytest.fixture
def database(url):
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    counters.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(counters).values(id=1, value=0))
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    recorder = once.Recorder(factory, "tests")
    yield SimpleNamespace(engine=engine, factory=factory, recorder=recorder)
    engine.dispose()


def handle(database, request=REQUEST) -> DatabaseHandle:
    """What a worker gets: ``request`` is the RPC request it serves (None: not an RPC worker)."""
    return DatabaseHandle(database.factory, database.engine, request=request)


def add_note(worker: DatabaseHandle, words: str = "巡逻") -> None:
    with worker.get_session() as session:
        session.add(Note(text=words))


def rows(database, table: str) -> list:
    with database.engine.connect() as conn:
        return list(conn.execute(text(f'SELECT * FROM "{table}"')))


def test_the_first_write_records_the_request_and_a_second_delivery_changes_nothing(database):
    first = handle(database)
    add_note(first)
    add_note(first)  # the same worker writes again: recorded once, not refused
    with pytest.raises(RequestRepeated) as refused:
        add_note(handle(database))  # the broker delivers the request again
    assert isinstance(refused.value, Conflict) and "corr-1" in str(refused.value)
    assert refused.value.message_zh.startswith("请求corr-1")
    assert len(rows(database, "notes")) == 2
    (row,) = rows(database, "rpc_requests_tests")
    assert (row.correlation_id, row.method) == REQUEST


def test_a_savepoint_within_the_work_is_not_its_commit(database):
    with handle(database).get_session() as session:
        with session.begin_nested():
            session.add(Note(text="先占号"))
        session.add(Note(text="再补充"))
    with pytest.raises(RequestRepeated):
        add_note(handle(database))
    assert len(rows(database, "notes")) == 2 and len(rows(database, "rpc_requests_tests")) == 1


def test_statements_that_change_rows_count_as_writes(database):
    with handle(database).get_session() as session:
        session.execute(update(counters).where(counters.c.id == 1).values(value=counters.c.value + 1))
    with pytest.raises(RequestRepeated), handle(database).get_session() as session:
        session.execute(update(counters).where(counters.c.id == 1).values(value=counters.c.value + 1))
    assert [tuple(r) for r in rows(database, "counters")] == [(1, 1)]


def test_work_that_only_reads_records_nothing_and_may_run_again(database):
    for _ in range(2):
        with handle(database).get_session() as session:
            assert session.scalars(select(Note)).all() == []
    assert rows(database, "rpc_requests_tests") == []
    add_note(handle(database))  # a request whose first delivery only read changes things the second time
    assert len(rows(database, "notes")) == 1


def test_a_refused_or_failed_first_delivery_leaves_the_request_open(database):
    with pytest.raises(ValueError), handle(database).get_session() as session:
        session.add(Note(text="半途"))
        session.flush()
        raise ValueError("the work failed after writing")
    add_note(handle(database))
    assert [r.text for r in rows(database, "notes")] == ["巡逻"]


def test_workers_of_other_entrypoints_record_nothing(database):
    add_note(handle(database, request=None))
    add_note(handle(database, request=None))
    assert len(rows(database, "notes")) == 2 and rows(database, "rpc_requests_tests") == []


def test_rows_older_than_kept_are_deleted_on_the_way(database):
    with database.engine.begin() as conn:
        conn.execute(
            insert(once.table("tests", Base.metadata)).values(
                correlation_id="old", method="tests.add_note", handled_at=to_db(now() - once.KEEP - timedelta(hours=1))
            )
        )
    add_note(handle(database, ("corr-2", "tests.add_note")))
    assert {r.correlation_id for r in rows(database, "rpc_requests_tests")} == {"old", "corr-2"}
    database.recorder.pruned_at = time.monotonic() - once.PRUNE_EVERY - 1
    add_note(handle(database, ("corr-3", "tests.add_note")))
    assert {r.correlation_id for r in rows(database, "rpc_requests_tests")} == {"corr-2", "corr-3"}


def worker(entrypoint, correlation="corr-9"):
    return SimpleNamespace(
        entrypoint=entrypoint, context_data={CORRELATION_KEY: correlation}, service_name="activities"
    )


def test_which_workers_record_their_request():
    plain, keyed = Rpc(), RequestRpc()
    plain.method_name, keyed.method_name = "create_activity", "build_roster"  # as bound to a service
    assert once.request_of(worker(plain)) == ("corr-9", "activities.create_activity")
    assert once.request_of(worker(keyed)) is None  # keys its work on the request itself
    assert once.request_of(worker(plain, correlation=None)) is None
    handler = SimpleNamespace(method_name="on_signup_changed")  # an event handler: context data came with the event
    assert once.request_of(worker(handler)) is None
