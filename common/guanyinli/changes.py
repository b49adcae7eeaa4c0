"""What tells a process, on PostgreSQL, that its database may have changed: a notification channel.

SQLite tells ``guanyinli.db.ReadCache`` of every commit through its change counters; PostgreSQL has
no such counter, so a service that wants its hot reads cached there names a channel that triggers
of its tables notify on (``pg_notify`` in a statement trigger, created by the service's migration):
every transaction that changes them, from any process, replica or tool, notifies at its commit.

``ChangeListener`` LISTENs on its own connection in a green thread and counts what arrives. Its
``token()`` is what ``ReadCache`` keys results by, as on SQLite:

* A result read under a token is used only while the token is the same. Each notification moves
  it, and so does every commit of this process (``bump``, from the engine's commit event): a
  change made here is seen by the next request at once, one made by another replica as soon as
  its notification arrives (well under a millisecond on one machine, a network round trip
  between two).
* While the listening connection is down, ``token()`` is None and nothing is cached or reused;
  each new connection starts a new epoch, so nothing read before it is reused after it (a
  notification may have been missed in between).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

import eventlet
import eventlet.hubs
from greenlet import GreenletExit
from sqlalchemy import event

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
_WROTE = "guanyinli_wrote"  # connection info: the transaction changed something
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SHOW", "SET ", "LISTEN", "BEGIN")


class ChangeListener:
    """The generation of one PostgreSQL notification channel as this process sees it."""

    def __init__(self, engine, channel: str):
        if not channel.isidentifier():
            raise ValueError(f"channel {channel!r}: letters, digits and underscores only")
        self.engine = engine
        self.channel = channel
        self._epoch = 0
        self._generation = 0
        self._live = False
        self._reported = False  # a failure to listen was logged: the next one is not, until it works again
        self._thread = None
        self._connection = None

    def token(self) -> Hashable | None:
        """What changes whenever the database may have; None while that cannot be known."""
        return (self._epoch, self._generation) if self._live else None

    def bump(self, *_args) -> None:
        """This process commits: what it read before may be out of date."""
        self._generation += 1

    def watch_commits(self, engine) -> None:
        """Bump at each commit of ``engine`` that changed rows (timers that only look commit often, and
        their UPDATEs mostly find nothing due).

        The bump comes as the COMMIT is sent: a read of another green thread in this process that
        begins before it lands and is cached under the new token holds the old rows only until the
        commit's own notification arrives.
        """

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.info[_WROTE] = False

        @event.listens_for(engine, "after_cursor_execute")
        def _wrote(conn, cursor, statement, parameters, context, executemany):
            if cursor.rowcount != 0 and not statement.lstrip()[:9].upper().startswith(_READS):
                conn.info[_WROTE] = True  # rowcount -1 (not known) counts as a change

        @event.listens_for(engine, "commit")
        def _commit(conn):
            if conn.info.get(_WROTE, True):  # unknown counts as written
                self.bump()

    def start(self) -> None:
        if self._thread is None:
            self._thread = eventlet.spawn(self._run)

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        self._live = False
        if thread is not None:
            thread.kill()
        self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def _listen(self):
        connection = self.engine.raw_connection()
        connection.detach()  # kept out of the pool: it only listens
        dbapi = connection.dbapi_connection
        dbapi.autocommit = True
        with dbapi.cursor() as cursor:
            cursor.execute(f"LISTEN {self.channel}")
        return connection, dbapi

    def _run(self) -> None:
        while True:
            try:
                self._connection, dbapi = self._listen()
                self._epoch += 1
                self._live, self._reported = True, False
                while True:
                    eventlet.hubs.trampoline(dbapi.fileno(), read=True)
                    dbapi.poll()
                    if dbapi.notifies:
                        dbapi.notifies.clear()
                        self._generation += 1
            except GreenletExit:
                raise
            except Exception as exc:  # noqa: BLE001 - the database went away: caching stops until it is back
                if self._live:
                    log.warning(
                        "listening on %s stopped (%s); reads are not cached until it is back", self.channel, exc
                    )
                self._live = False
                self._close()
                eventlet.sleep(RETRY_SECONDS)
