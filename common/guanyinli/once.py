"""An RPC request changes things once, even when the broker delivers it again.

nameko acknowledges a request after its worker has answered. When the connection it came on is
lost between the two (a broker restart, a connection closed by the broker or an operator, a killed
consumer), the broker delivers the request again, with the same AMQP correlation id, once the
service's consumer is back: ``create_activity`` made a second activity, seen when a test dropped
the connection a few milliseconds after the answer.

So every service database has a table ``rpc_requests_<service>`` (named for the service, as
services may share one database), and the first transaction of an RPC
worker that writes anything also writes a row keyed on the request's correlation id, in the same
commit. A second delivery of the request then fails on that key in its own first write: nothing
of it is kept. Work that only reads writes no row, and a delivery of a request whose first
delivery changed nothing (a typed refusal, say) simply runs again.

The redelivery gets the first delivery's answer again (also when it is refused before its first
write by what the first delivery did, a phone now taken, say): once the method has returned, the dumped
result is kept in the row's ``answer`` (JSON) in a short transaction of its own, before the reply
is published (``DatabaseHandle.keep_answer``, called by ``guanyinli.schemas.contract``). The
answer cannot go into the first commit, as it is known only when the method returns (and a method
may commit more than once).

A redelivery can arrive while its first delivery still runs (the connection it came on was lost
mid-work, and the broker gave the request to another consumer): the row is committed, the answer
not yet kept. The redelivery then waits for it, looking again after pauses that grow from 20 ms
to 200 ms (``pauses``), up to ``ANSWER_WAIT`` seconds in all (config ``RPC.REDELIVERY_WAIT``, env
``RPC_REDELIVERY_WAIT``; a little under the callers' RPC timeout), and answers with it. A first
delivery that ends without an answer to keep (a failure after its first commit, an answer over
``guanyinli.keys.MAX_ANSWER``) marks its row ``NOT_KEPT``, so its redeliveries stop waiting at
once. A first delivery whose transaction rolls back leaves no row: its redelivery, held at its own
first write until then (PostgreSQL waits on the uncommitted key, SQLite on the write lock), writes
the row itself and carries the request out. The caller of a redelivery gets ``RequestRepeated``
only when no answer came: the wait ran out (the first delivery still running, or its process
stopped between the commit and keeping the answer: asking again with the same ``request_id``
then gets the answer if there is one), the first delivery marked its row ``NOT_KEPT``, or the
method's answer holds secrets and is never kept (``contract(..., keep_answer=False)``, which does
not wait).

Entrypoints that key their work on the request themselves and continue what a first delivery
left (``guanyinli.rpc.rpc_request``, ``build_roster``) are left to do so. Rows are kept for
``KEEP``, far beyond any redelivery, and deleted on the way, at most once an hour per process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from guanyinli.errors import RequestRepeated
from guanyinli.timeutil import now, to_db

KEEP = timedelta(days=14)
PRUNE_EVERY = 3600.0  # seconds
REQUEST_KEY = "guanyinli_rpc_request"  # session.info: (correlation id, method) to record at commit
WROTE_KEY = "guanyinli_wrote"  # session.info: the transaction has written something
RECORDED_KEY = "guanyinli_recorded"  # session.info: the commit carries the request's row

NOT_KEPT = ""  # the answer of a first delivery that ended without one to keep: redeliveries stop waiting
ANSWER_WAIT = 20.0  # seconds a redelivery waits for its first delivery's answer (guanyinli.client waits 30 s)
FIRST_PAUSE, LONGEST_PAUSE = 0.02, 0.2  # seconds between looks for it

_metadata = MetaData()


def table_name(service: str) -> str:
    return f"rpc_requests_{service}"


def table(service: str, metadata: MetaData = _metadata) -> Table:
    """The service's table, in ``metadata`` (each service's models put it in theirs, for its migrations)."""
    name = table_name(service)
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(
        name,
        metadata,
        Column("correlation_id", String(100), primary_key=True, doc="the AMQP correlation id of the request"),
        Column("method", String(100), nullable=False, doc="service.method, for whoever reads the table"),
        Column("handled_at", DateTime, nullable=False, index=True, doc="naive UTC"),
        Column(
            "answer", Text, nullable=True, doc="the dumped result (JSON) once the method returned; null if not kept"
        ),
    )


def create_table(op, service: str) -> None:
    """For a service's migration (``op`` is alembic's): the table as first created, written out
    rather than taken from ``table`` so that a later change to the table comes with a migration of
    its own instead of altering what this one created."""
    import sqlalchemy as sa

    name = table_name(service)
    op.create_table(
        name,
        sa.Column("correlation_id", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("correlation_id"),
    )
    op.create_index(f"ix_{name}_handled_at", name, ["handled_at"], unique=False)


def add_answer(op, service: str) -> None:
    """For a service's migration: the ``answer`` column, added to the table ``create_table`` made."""
    import sqlalchemy as sa

    op.add_column(table_name(service), sa.Column("answer", sa.Text(), nullable=True))


def drop_answer(op, service: str) -> None:
    with op.batch_alter_table(table_name(service)) as batch:
        batch.drop_column("answer")


def look_up(session: Session, tbl: Table, correlation: str) -> tuple[bool, str | None]:
    """Whether the request is recorded, and its answer (JSON, ``NOT_KEPT``, or None: none yet)."""
    row = session.execute(select(tbl.c.answer).where(tbl.c.correlation_id == correlation)).first()
    return (False, None) if row is None else (True, row.answer)


def pauses(limit: float, first: float = FIRST_PAUSE, longest: float = LONGEST_PAUSE) -> Iterator[float]:
    """The pauses of a redelivery between looks for its first answer: doubling from ``first`` up
    to ``longest``, the last one cut so that they add up to ``limit`` seconds."""
    waited, pause = 0.0, first
    while limit - waited > 1e-9:
        step = min(pause, limit - waited)
        yield step
        waited += step
        pause = min(pause * 2, longest)


def still_running(correlation: str, method: str) -> RequestRepeated:
    return RequestRepeated(
        f"request {correlation} ({method}) is being carried out by an earlier delivery of it, whose answer"
        " did not come in time: ask again with the same request id to get it",
        f"请求{correlation}（{method}）正由此前的一次投递办理，未及时得到结果：请用同一请求编号再次请求以取得结果",
    )


def not_kept(correlation: str, method: str) -> RequestRepeated:
    return RequestRepeated(
        f"request {correlation} ({method}) was carried out already by an earlier delivery of it, which ended"
        " without an answer to keep (it failed after its first write, or its answer was too large)",
        f"请求{correlation}（{method}）已由此前的一次投递办理，该次办理未留下结果（首次写入后失败或结果过大）",
    )


def keep_answer(session: Session, tbl: Table, correlation: str, answer: str) -> None:
    session.execute(update(tbl).where(tbl.c.correlation_id == correlation).values(answer=answer))


def drop_table(op, service: str) -> None:
    name = table_name(service)
    op.drop_index(f"ix_{name}_handled_at", table_name=name)
    op.drop_table(name)


def request_of(worker_ctx) -> tuple[str, str] | None:
    """(correlation id, service.method) when the worker serves an RPC request that is to be kept to
    one effect here (see the module's text); None for anything else (events, timers, HTTP)."""
    from guanyinli.rpc import CORRELATION_KEY  # here: rpc imports the broker, which a script may not need

    entrypoint = worker_ctx.entrypoint
    if not getattr(entrypoint, "once", False):
        return None
    correlation = (worker_ctx.context_data or {}).get(CORRELATION_KEY)
    if not correlation:
        return None
    return str(correlation), f"{worker_ctx.service_name}.{entrypoint.method_name}"


class Recorder:
    """Session hooks of one service's sessionmaker: note writes, and record the request at commit."""

    def __init__(self, factory: sessionmaker, service: str):
        self.table = table(service)
        self.pruned_at = time.monotonic()  # the first prune an hour after start, not on the first call
        event.listen(factory, "before_flush", self._flushing)
        event.listen(factory, "do_orm_execute", self._executing)
        event.listen(factory, "before_commit", self._committing)

    @staticmethod
    def _flushing(session: Session, _context, _instances) -> None:
        if session.new or session.dirty or session.deleted:
            session.info[WROTE_KEY] = True

    @staticmethod
    def _executing(state) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            state.session.info[WROTE_KEY] = True

    def _committing(self, session: Session) -> None:
        request = session.info.get(REQUEST_KEY)
        if request is None or session.in_nested_transaction():  # a savepoint's release: not the commit
            return
        session.flush()  # the work's own writes (and their errors) before the row
        if not session.info.get(WROTE_KEY):
            return
        correlation, method = request
        try:
            session.execute(
                insert(self.table).values(correlation_id=correlation, method=method, handled_at=to_db(now()))
            )
        except IntegrityError:
            raise RequestRepeated(
                f"request {correlation} ({method}) was carried out already: the broker delivered it again,"
                " and its answer was not kept",
                f"请求{correlation}（{method}）已办理过：消息被再次投递，结果未保留",
            ) from None
        session.info[RECORDED_KEY] = True
        if time.monotonic() - self.pruned_at > PRUNE_EVERY:
            self.pruned_at = time.monotonic()
            session.execute(delete(self.table).where(self.table.c.handled_at < to_db(now() - KEEP)))
