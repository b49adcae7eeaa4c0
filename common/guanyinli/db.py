"""SQLAlchemy engines that behave under eventlet, and the nameko dependency that hands out sessions.

SQLite is the embedded default and PostgreSQL the production database; both must give the
same guarantees, so the differences are settled here once:

* PostgreSQL goes through psycopg2 made cooperative by psycogreen, so a query waits without
  blocking the eventlet hub.
* SQLite calls block the hub, so a process keeps a single connection: greenlets queue for it
  on the (green) pool lock instead of spinning in SQLite's busy handler while the holder of the
  write lock cannot run. Writers take the lock at BEGIN (``BEGIN IMMEDIATE``), so a
  read-then-write transaction never fails half way with "database is locked".
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from nameko.extensions import DependencyProvider
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from guanyinli.config import normalize_url, service_database_url

_green_lock = threading.Lock()
_green_done = False


def _make_psycopg_green() -> None:
    global _green_done
    with _green_lock:
        if _green_done:
            return
        try:
            import eventlet.patcher

            if eventlet.patcher.is_monkey_patched("socket"):
                from psycogreen.eventlet import patch_psycopg

                patch_psycopg()
        except ImportError:  # pragma: no cover - psycogreen is a pinned dependency
            pass
        _green_done = True


def make_engine(url: str, **kwargs) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 60, "check_same_thread": False},
            pool_size=1,
            max_overflow=0,
            pool_timeout=120,
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Autocommit at the driver level: SQLAlchemy's "begin" event below emits BEGIN.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql"):
        _make_psycopg_green()
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class DatabaseHandle:
    """What a worker sees: a lazily opened session, and fresh transactional sessions on demand."""

    def __init__(self, factory: sessionmaker, engine: Engine):
        self._factory = factory
        self.engine = engine
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._factory()
        return self._session

    @contextlib.contextmanager
    def get_session(self) -> Iterator[Session]:
        """A session of its own, committed on success and rolled back on any error."""
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None


class Database(DependencyProvider):
    """nameko dependency: one engine per service container, one session per worker.

    The URL comes from the nameko config key ``DB_URIS[service_name]`` and falls back to the
    environment (see ``guanyinli.config.database_url``).
    """

    def __init__(self, service: str | None = None):
        self.service = service
        self.engine: Engine | None = None
        self.factory: sessionmaker | None = None

    def setup(self):
        service = self.service or self.container.service_name
        self.engine = make_engine(service_database_url(self.container.config, service))
        self.factory = sessionmaker(bind=self.engine, expire_on_commit=False)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        handle = DatabaseHandle(self.factory, self.engine)
        self._handles[worker_ctx] = handle
        return handle

    def worker_teardown(self, worker_ctx):
        handle = self._handles.pop(worker_ctx, None)
        if handle is not None:
            handle.close()

    @property
    def _handles(self) -> dict:
        if not hasattr(self, "_worker_handles"):
            self._worker_handles = {}
        return self._worker_handles
