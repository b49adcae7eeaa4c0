"""A service's transactional event outbox: events are stored in the same transaction as the change
they report, then sent row by row, so that a row that cannot go out holds up no other.

A service declares its table beside its models (``OUTBOX = Outbox("outbox_events", Base.metadata)``).
A use case calls ``OUTBOX.add(session, event_type, payload)``: the payload is validated and given its
``event_id`` there, and stored with the change. After the commit the service hands the rows of its
unit of work (``OUTBOX.pending(session)``) to its ``Relay`` dependency, which dispatches them at once;
a timer (``relay_timer``) runs the relay for the rows that did not go out then (broker down, process
killed between the commit and the dispatch, a failed try). Delivery is at least once with a stable
``event_id``, so handlers that act once per ``event_id`` or natural key see each change once.

Each row is tried on its own, oldest first. A row whose send fails for a reason of its own (a payload
its schema refuses, a message the broker will not take) gets ``attempts`` + 1, ``last_error`` (error
type and a short text, never the payload) and a next try after a backoff; the rows after it go out
in order meanwhile. After ``MAX_ATTEMPTS`` failed tries it is dead (``dead_at``): logged once, kept in
the table for someone to read, never tried again. A broker that cannot be reached is no row's fault:
the batch stops there, nothing is counted, and the rows wait for the relay's next turn.

A stopping broker may confirm messages it then loses (see ``guanyinli.broker``): after a lost
connection the relay marks unsent again what was marked sent during the outage and ``RESEND_MARGIN``
before it.

Settings, from the nameko config ``OUTBOX`` or else the environment ``OUTBOX_<KEY>``: ``MAX_ATTEMPTS``
(10), ``BACKOFF_BASE`` (5 s, doubled after each failed try), ``BACKOFF_MAX`` (600 s) and ``INTERVAL``
(5 s: how often the relay runs, and how old a row is before the relay takes it from the dispatch
after the commit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import amqp.exceptions
import kombu.exceptions
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.timer import Timer
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from guanyinli.config import setting
from guanyinli.events import make_payload, publish, read
from guanyinli.timeutil import now as system_now
from guanyinli.timeutil import to_db

log = logging.getLogger(__name__)

RESEND_MARGIN = timedelta(seconds=5)
KEEP_SENT = timedelta(days=7)
BATCH = 200  # rows one turn of the relay takes at most
ERROR_LENGTH = 200
# Errors of the connection to the broker rather than of one message: they count against no row.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    kombu.exceptions.OperationalError,
    amqp.exceptions.ConnectionError,
)


# --- the retry rule (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 10
    backoff_base: float = 5.0  # seconds: 5, 10, 20 ... about half an hour over ten tries
    backoff_max: float = 600.0
    interval: float = 5.0

    @classmethod
    def from_config(cls, config: dict) -> Policy:
        def own(key: str, default: Any) -> Any:
            return setting(config, "OUTBOX", key, default)

        return cls(
            max_attempts=max(1, int(own("MAX_ATTEMPTS", cls.max_attempts))),
            backoff_base=float(own("BACKOFF_BASE", cls.backoff_base)),
            backoff_max=float(own("BACKOFF_MAX", cls.backoff_max)),
            interval=float(own("INTERVAL", cls.interval)),
        )


@dataclass(frozen=True)
class AfterFailure:
    attempts: int  # failed tries, this one included
    dead: bool
    next_try_at: datetime | None


def backoff(attempts: int, policy: Policy) -> timedelta:
    """The wait after the ``attempts``-th failed try: base, 2 base, 4 base ... at most ``backoff_max``."""
    doublings = min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(policy.backoff_max, policy.backoff_base * 2**doublings))


def after_failure(attempts: int, at: datetime, policy: Policy) -> AfterFailure:
    """What becomes of a row whose try at ``at`` failed after ``attempts`` failed tries before it:
    tried again after a backoff, or dead once it has failed ``max_attempts`` times."""
    failed = attempts + 1
    if failed >= policy.max_attempts:
        return AfterFailure(attempts=failed, dead=True, next_try_at=None)
    return AfterFailure(attempts=failed, dead=False, next_try_at=at + backoff(failed, policy))


def describe(exc: BaseException) -> str:
    """The error's type and the first line of its text, cut short (what a reader needs to know why,
    with no room for a payload)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:ERROR_LENGTH]


# --- the table -------------------------------------------------------------------------------


def table(name: str, metadata: MetaData) -> Table:
    """The outbox table ``name`` in ``metadata`` (each service's models put it in theirs, for its
    migrations; services that share a database need tables of different names)."""
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("event_type", String(50), nullable=False),
        Column("payload", JSON, nullable=False, doc="the wire form, event_id included"),
        Column("created_at", DateTime, nullable=False, doc="naive UTC"),
        Column("sent_at", DateTime, doc="when it went to the broker (naive UTC)"),
        Column("attempts", Integer, nullable=False, default=0, server_default="0", doc="failed tries"),
        Column("last_error", String(ERROR_LENGTH), doc="type and short text of the last failed try"),
        Column("next_try_at", DateTime, doc="not tried again before this (naive UTC)"),
        Column("dead_at", DateTime, doc="given up after MAX_ATTEMPTS failed tries (naive UTC)"),
        Index(f"ix_{name}_unsent", "sent_at", "id"),
    )


def create_table(op, name: str) -> None:
    """For a service's migration (``op`` is alembic's): the table as first created with every
    column, written out rather than taken from ``table`` so that a later change to the table comes
    with a migration of its own instead of altering what this one created."""
    import sqlalchemy as sa

    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("next_try_at", sa.DateTime(), nullable=True),
        sa.Column("dead_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(f"ix_{name}_unsent", name, ["sent_at", "id"], unique=False)


def drop_table(op, name: str) -> None:
    op.drop_index(f"ix_{name}_unsent", table_name=name)
    op.drop_table(name)


class Row(NamedTuple):
    id: int
    event_type: str
    payload: dict
    attempts: int = 0


def send(dispatch: Callable[[str, dict], Any], event_type: str, wire: dict) -> None:
    """Dispatch a stored event through ``publish`` (validated again; its ``event_id`` is kept)."""
    publish(dispatch, event_type, read(event_type, wire))


class Outbox:
    """One service's outbox table and the statements on it."""

    def __init__(self, name: str, metadata: MetaData):
        self.name = name
        self.table = table(name, metadata)
        self._key = f"guanyinli_outbox_{name}"  # session.info: the rows this unit of work added

    def add(self, session: Session, event_type: str, payload: dict) -> dict:
        """Queue an event in the current transaction; returns its wire form (with ``event_id``)."""
        wire = make_payload(event_type, payload)
        result = session.execute(
            insert(self.table).values(event_type=event_type, payload=wire, created_at=to_db(system_now()))
        )
        session.info.setdefault(self._key, []).append(Row(result.inserted_primary_key[0], event_type, wire))
        return wire

    def pending(self, session: Session) -> list[Row]:
        """The rows this unit of work added (taken from the session, to send after the commit)."""
        return session.info.pop(self._key, [])

    def due(self, session: Session, at: datetime, older_than: timedelta, limit: int = BATCH) -> list[Row]:
        """Rows to try at ``at``: unsent, not dead, older than ``older_than``, past their backoff;
        oldest first (PostgreSQL: rows another replica is reading are skipped)."""
        t = self.table
        query = (
            select(t.c.id, t.c.event_type, t.c.payload, t.c.attempts)
            .where(
                t.c.sent_at.is_(None),
                t.c.dead_at.is_(None),
                t.c.created_at < to_db(at - older_than),
                or_(t.c.next_try_at.is_(None), t.c.next_try_at <= to_db(at)),
            )
            .order_by(t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [Row(*r) for r in session.execute(query)]

    def mark_sent(self, session: Session, ids: list[int], at: datetime) -> None:
        if ids:
            t = self.table
            session.execute(update(t).where(t.c.id.in_(ids), t.c.sent_at.is_(None)).values(sent_at=to_db(at)))

    def record_failure(self, session: Session, row: Row, error: str, after: AfterFailure, at: datetime) -> bool:
        """Count a failed try of ``row``; False when another replica counted a try of it meanwhile
        (or sent it), so that each failed try is counted, and a death logged, once."""
        t = self.table
        result = session.execute(
            update(t)
            .where(t.c.id == row.id, t.c.attempts == row.attempts, t.c.sent_at.is_(None), t.c.dead_at.is_(None))
            .values(
                attempts=after.attempts,
                last_error=error,
                next_try_at=to_db(after.next_try_at) if after.next_try_at is not None else None,
                dead_at=to_db(at) if after.dead else None,
            )
        )
        return result.rowcount == 1

    def resend_between(self, session: Session, start: datetime, end: datetime) -> int:
        """Mark unsent again what was marked sent from ``start`` to ``end`` (a broker outage with a
        margin before it, see ``guanyinli.broker``); returns how many."""
        t = self.table
        result = session.execute(
            update(t).where(t.c.sent_at >= to_db(start), t.c.sent_at <= to_db(end)).values(sent_at=None)
        )
        return result.rowcount

    def prune(self, session: Session, at: datetime) -> None:
        """Sent rows go after ``KEEP_SENT``; dead ones stay."""
        session.execute(delete(self.table).where(self.table.c.sent_at < to_db(at - KEEP_SENT)))


# --- sending, in a worker --------------------------------------------------------------------


class Sender:
    """What a worker gets from ``Relay``: ``send`` after a commit, ``run`` on the relay's timer."""

    def __init__(self, outbox: Outbox, policy: Policy, outages, clock: Callable[[], datetime] = system_now):
        self.outbox, self.policy, self.outages, self.clock = outbox, policy, outages, clock

    def work(self, db, dispatch: Callable[[str, dict], Any], fn: Callable[[Any], Any]) -> Any:
        """``fn(session)`` in one transaction; the events it queued (``Outbox.add``) are sent once
        it committed, and what does not go then is left to the relay."""
        with db.get_session() as session:
            result = fn(session)
            queued = self.outbox.pending(session)
        self.send(db, dispatch, queued)
        return result

    def send(self, db, dispatch: Callable[[str, dict], Any], rows: list[Row]) -> int:
        """Dispatch ``rows`` in order, each on its own, then record in one transaction which went
        and which failed; returns how many went. A row not recorded as sent goes out again later."""
        sent: list[int] = []
        failed: list[tuple[Row, BaseException]] = []
        for index, row in enumerate(rows):
            try:
                send(dispatch, row.event_type, row.payload)
            except UNREACHABLE as exc:
                log.warning(
                    "%s: broker unreachable (%s); %d event(s) left to the relay",
                    self.outbox.name,
                    type(exc).__name__,
                    len(rows) - index,
                )
                break
            except Exception as exc:  # noqa: BLE001 - this row's own failure, counted on it
                failed.append((row, exc))
            else:
                sent.append(row.id)
        if sent or failed:
            self._record(db, sent, failed)
        return len(sent)

    def _record(self, db, sent: list[int], failed: list[tuple[Row, BaseException]]) -> None:
        at = self.clock()
        counted = []
        try:
            with db.get_session() as session:
                self.outbox.mark_sent(session, sent, at)
                for row, exc in failed:
                    after = after_failure(row.attempts, at, self.policy)
                    if self.outbox.record_failure(session, row, describe(exc), after, at):
                        counted.append((row, exc, after))
        except Exception as exc:  # noqa: BLE001 - sent rows go out once more, with the same event_id
            log.warning(
                "%s: could not record %d sent and %d failed event(s) (%s)",
                self.outbox.name,
                len(sent),
                len(failed),
                type(exc).__name__,
            )
            return
        for row, exc, after in counted:
            if after.dead:
                log.warning(
                    "%s: event %s (row %d) is dead after %d failed tries and is no longer sent",
                    self.outbox.name,
                    row.event_type,
                    row.id,
                    after.attempts,
                )
            else:
                log.info(
                    "%s: event %s (row %d) try %d failed (%s); tried again at %s",
                    self.outbox.name,
                    row.event_type,
                    row.id,
                    after.attempts,
                    type(exc).__name__,
                    after.next_try_at,
                )

    def run(self, db, dispatch: Callable[[str, dict], Any]) -> int:
        """One turn of the relay, for every community served (``DatabaseHandle.each_community``:
        the events of each go out with its community): after a broker outage, mark unsent again
        what was marked sent in and just before it; then send the rows that are due and prune old
        sent ones. Rows are read, then dispatched outside any transaction (SQLite's write lock is
        never held across network I/O), then marked: two replicas may both send a row, with the
        same event_id."""
        outage = self.outages.span()
        handles = db.each_community() if hasattr(db, "each_community") else (db,)
        sent = sum(self._run_one(handle, dispatch, outage) for handle in handles)
        if outage is not None:
            self.outages.handled()
        return sent

    def _run_one(self, db, dispatch: Callable[[str, dict], Any], outage) -> int:
        if outage is not None:
            lost, back = outage
            with db.get_session() as session:
                again = self.outbox.resend_between(session, lost - RESEND_MARGIN, back)
            log.warning(
                "%s: broker connection lost from %s to %s: %d event(s) marked sent go out again",
                self.outbox.name,
                lost,
                back,
                again,
            )
        at = self.clock()
        with db.get_session() as session:
            rows = self.outbox.due(session, at, timedelta(seconds=self.policy.interval))
            self.outbox.prune(session, at)
        sent = self.send(db, dispatch, rows)
        if sent:
            log.info("%s: relay sent %d event(s)", self.outbox.name, sent)
        return sent


class Relay(DependencyProvider):
    """nameko dependency of a service with an outbox: a ``Sender`` per worker, with the settings
    (config ``OUTBOX``) and the broker outages the container's queue consumer saw (``guanyinli.broker``,
    imported here at setup rather than with the module, which the service's models import)."""

    queue_consumer = QueueConsumer()

    def __init__(self, outbox: Outbox):
        self.outbox = outbox

    def setup(self):
        import guanyinli.broker  # noqa: F401 - from now on the queue consumer records its outages

        self.handled = [0]  # how many of the consumer's outages were dealt with, for every worker
        self.policy = Policy.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        from guanyinli.broker import Outages

        return Sender(self.outbox, self.policy, Outages(self.queue_consumer, self.handled))


class RelayTimer(Timer):
    """A timer that runs every ``INTERVAL`` of the outbox settings, read at start."""

    def __init__(self, **kwargs):
        super().__init__(interval=Policy.interval, **kwargs)

    def setup(self):
        self.interval = Policy.from_config(self.container.config).interval


relay_timer = RelayTimer.decorator
