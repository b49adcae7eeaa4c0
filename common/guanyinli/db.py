"""SQLAlchemy engines that behave under eventlet, and the nameko dependency that hands out sessions.

SQLite is the embedded default and PostgreSQL the production database; both must give the
same guarantees, so the differences are settled here once:

* PostgreSQL goes through psycopg2 made cooperative by psycogreen, so a query waits without
  blocking the eventlet hub.
* SQLite calls block the hub, so a process keeps a single connection: greenlets queue for it
  on the (green) pool lock instead of spinning in SQLite's busy handler while the holder of the
  write lock cannot run. Writers take the lock at BEGIN (``BEGIN IMMEDIATE``), so a
  read-then-write transaction never fails half way with "database is locked"; work that only
  reads (``DatabaseHandle.read``) begins a plain deferred transaction, a snapshot that takes no
  lock (WAL).

Reads that other services make for every call of theirs (``volunteers.get_volunteer`` for each
sign-up) may keep their results in a ``ReadCache`` for as long as the database has not changed.
On SQLite that is known exactly and cheaply: ``PRAGMA data_version`` changes when another
connection (another process, a replica) commits, and the connection's ``total_changes`` when it
writes itself, so a cached result is used only while both are what they were when it was read.
PostgreSQL offers no such counter, and there the cache stays out of the way, unless the service
names a notification channel its tables' triggers notify on (``Database(listen=...)``, see
``guanyinli.changes``): its cached reads then last until the next commit of any process arrives.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Hashable, Iterator
from typing import Any, NamedTuple, TypeVar

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from guanyinli import keys, once, tenancy
from guanyinli.config import normalize_url, service_database_url, setting
from guanyinli.errors import CommunityNotFound

log = logging.getLogger(__name__)

T = TypeVar("T")
READ_ONLY = "guanyinli_read_only"  # execution option: the transaction only reads
SERVICE_INFO = "guanyinli_service"  # sessionmaker info: the service whose tables of requests and keys it has
_CONNECTION_KEY = "guanyinli_connection"

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
        def _sqlite_pragmas(dbapi_conn, record):
            record.info[_CONNECTION_KEY] = uuid.uuid4().hex  # told apart from a later connection
            # Autocommit at the driver level: SQLAlchemy's "begin" event below emits BEGIN.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql"):
        _make_psycopg_green()
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def dialect_insert(session: Session, model):
    """``INSERT`` of the session's dialect, for ``ON CONFLICT`` (both SQLite and PostgreSQL have it)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def insert_ignore(session: Session, model, values: dict, keys: list[str]) -> int | None:
    """Insert unless the unique key ``keys`` exists: the new row's id, or None when it was there."""
    stmt = dialect_insert(session, model).values(**values).on_conflict_do_nothing(index_elements=keys)
    return session.execute(stmt.returning(model.id)).scalar()


def change_token(session: Session) -> Hashable | None:
    """What changes whenever the database may have: None where that cannot be known (not SQLite).

    Read inside the transaction and before the data, so data read with a token is never older
    than the token says.
    """
    connection = session.connection()
    return _token(connection.connection) if connection.dialect.name == "sqlite" else None


def _token(fairy) -> Hashable:
    """This connection (a new one starts afresh), other connections' commits, its own writes."""
    dbapi = fairy.dbapi_connection
    (version,) = dbapi.execute("PRAGMA data_version").fetchone()
    return fairy.info.get(_CONNECTION_KEY), version, dbapi.total_changes


_MISSING = object()


class ReadCache:
    """Results of reads, kept while ``change_token`` stays the same; any change empties it all.

    Meant for hot reads of data that changes seldom compared with how often it is read. Callers
    must not change what they get (it is handed to the next caller too).
    """

    def __init__(self, max_entries: int = 10_000, changes=None):
        self.max_entries = max_entries
        self.changes = changes  # a guanyinli.changes.ChangeListener: the token where SQLite's is not
        self._token: Hashable | None = None
        self._entries: dict[Hashable, Any] = {}
        self.hits = self.misses = 0

    def peek(self, engine: Engine, key: Hashable) -> Any:
        """The cached value if the database is unchanged, else ``_MISSING``: a hit opens no session.

        Only the change counters are read (on the pooled connection, outside a transaction): if
        they are what they were when the value was read, the value is what a read would give.
        """
        if key not in self._entries:
            return _MISSING
        if engine.dialect.name != "sqlite":
            token = self.changes.token() if self.changes is not None else None
            if token is None:
                return _MISSING
        else:
            fairy = engine.raw_connection()
            try:
                token = _token(fairy)
            finally:
                fairy.close()
        if token != self._token:
            return _MISSING
        value = self._entries.get(key, _MISSING)
        if value is not _MISSING:
            self.hits += 1
        return value

    def _current(self, session: Session) -> Hashable | None:
        token = change_token(session)
        if token is None and self.changes is not None:
            return self.changes.token()
        return token

    def get(self, session: Session, key: Hashable, load: Callable[[], T]) -> T:
        token = self._current(session)
        if token is None:
            return load()
        if token != self._token:
            self._token, self._entries = token, {}
        try:
            value = self._entries[key]
        except KeyError:
            self.misses += 1
        else:
            self.hits += 1
            return value
        value = load()
        if len(self._entries) >= self.max_entries:
            self._entries = {}
        # Not if the work wrote (total_changes moved) or another worker saw a newer token meanwhile.
        if self._token == token and self._current(session) == token:
            self._entries[key] = value
        return value


class DatabaseHandle:
    """What a worker sees: a lazily opened session, and fresh transactional sessions on demand."""

    def __init__(
        self,
        factory: sessionmaker,
        engine: Engine,
        cache: ReadCache | None = None,
        request: tuple[str, str] | None = None,
        answer_wait: float = once.ANSWER_WAIT,
        sleep: Callable[[float], Any] = eventlet.sleep,
        community: str | None = None,
        tenants: Database | None = None,
        worker_ctx=None,
    ):
        self.community = community  # the community whose storage this handle reaches (guanyinli.tenancy)
        self._tenants = tenants  # the provider, for the storage of another community (timers)
        self._worker_ctx = worker_ctx
        self._factory = factory
        self.answer_wait = answer_wait  # seconds a redelivery waits for its first delivery's answer
        self._sleep = sleep  # green: a waiting redelivery lets the hub run the first delivery
        self.engine = engine
        self.cache = cache if cache is not None else ReadCache()
        self._session: Session | None = None
        self._request = request  # an RPC request to record with the worker's first write (guanyinli.once)
        self._claim: keys.Claim | None = None  # a caller's key to record with it (guanyinli.keys)
        self._recorded: tuple[str, str] | None = None  # the request, once recorded: its answer is kept
        self._claimed: keys.Claim | None = None  # the key, once recorded

    def _open(self) -> Session:
        session = self._factory()
        if self._request is not None:
            session.info[once.REQUEST_KEY] = self._request
        if self._claim is not None:
            session.info[keys.CLAIM_KEY] = self._claim
        return session

    def _committed(self, session: Session) -> None:
        if session.info.pop(once.RECORDED_KEY, False):
            self._recorded, self._request = self._request, None
        if session.info.pop(keys.RECORDED_KEY, False):
            self._claimed, self._claim = self._claim, None

    # --- keeping answers (guanyinli.once, guanyinli.keys) ----------------------------------------

    def _tables(self) -> tuple | None:
        """The service's tables of requests and keys; None for a sessionmaker made without them."""
        service = (self._factory.kw.get("info") or {}).get(SERVICE_INFO)
        return None if service is None else (once.table(service), keys.table(service))

    def settle_key(self, claim: keys.Claim, rerun: bool = False) -> tuple[bool, Any]:
        """Before the method runs: ``(True, answer)`` when the key answered already, ``(False, None)``
        to run it (the key is then claimed with the first write, or for a rerun its answer kept
        with it); refusals raise (``keys.settle``)."""
        tables = self._tables()
        if tables is None:
            return False, None
        key_table = tables[1]
        action, answer = keys.settle(claim, self.read(lambda session: keys.look_up(session, key_table, claim)), rerun)
        if action == keys.RUN:
            self._claim = claim
        elif action == keys.RERUN:
            self._claimed = claim  # the row is there: only the answer is to be kept
        return action == keys.ANSWER, answer

    def redelivered_answer(self, wait: bool = True) -> tuple[bool, Any]:
        """After a typed error of this worker's request (``RequestRepeated`` at its first write, or
        a refusal caused by what a first delivery did): ``(True, answer)`` when this is a
        redelivery and the first delivery's answer is kept, ``(False, None)`` when the request is
        not recorded (the error is the request's own). A recorded request whose answer is not kept
        yet is looked up again (``once.pauses``) for up to ``answer_wait`` seconds, unless ``wait``
        is False (a method whose answer is never kept: ``(False, None)`` at once); when none comes,
        or the first delivery marked it ``once.NOT_KEPT``, raises ``RequestRepeated`` saying which.
        Read only on errors, and only while this worker has recorded nothing itself."""
        tables = self._tables()
        if self._request is None or tables is None:
            return False, None
        request_table = tables[0]
        correlation, method = self._request
        schedule = once.pauses(self.answer_wait if wait else 0.0)
        while True:
            found, text = self.read(lambda session: once.look_up(session, request_table, correlation))
            if not found:
                return False, None
            if text == once.NOT_KEPT:
                raise once.not_kept(correlation, method)
            if text is not None:
                return True, json.loads(text)
            pause = next(schedule, None)
            if pause is None:
                break
            self._sleep(pause)
        if not wait:
            return False, None
        raise once.still_running(correlation, method)

    def keep_no_answer(self) -> None:
        """The method failed after this worker recorded its request: mark the row ``once.NOT_KEPT``
        so that a redelivery waiting for the answer stops (a caller's key keeps no answer either)."""
        if self._recorded is not None:
            self._keep(once.NOT_KEPT, keep_key=False)
        self._recorded = self._claimed = None

    def keep_answer(self, answer: Any) -> None:
        """Keep the method's answer with what this worker recorded (its request, its key), if it
        recorded anything, in a short transaction of its own; an answer that cannot be kept (too
        large, not JSON) or a failure to keep it leaves a repeat answered ``RequestRepeated``."""
        if self._recorded is None and self._claimed is None:
            return
        text = keys.encode_answer(answer)
        if text is not None:
            self._keep(text, keep_key=True)
        elif self._recorded is not None:  # too large to keep: a waiting redelivery need not wait on
            self._keep(once.NOT_KEPT, keep_key=False)
        self._recorded = self._claimed = None

    def _keep(self, text: str, keep_key: bool) -> None:
        tables = self._tables()
        if tables is None:
            return
        request_table, key_table = tables
        try:
            with self._factory() as session, session.begin():
                if self._recorded is not None:
                    once.keep_answer(session, request_table, self._recorded[0], text)
                if keep_key and self._claimed is not None:
                    keys.keep_answer(session, key_table, self._claimed, text)
        except Exception as exc:  # noqa: BLE001 - the work is done; the caller still gets its answer
            log.warning("answer of %s not kept: %s", (self._recorded or ("", "?"))[1], type(exc).__name__)

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._factory()  # not committed here: records no request
        return self._session

    @contextlib.contextmanager
    def get_session(self) -> Iterator[Session]:
        """A session of its own, committed on success and rolled back on any error.

        In an RPC worker the first of these transactions that writes also records the request
        (``guanyinli.once``); a second delivery of the request raises ``RequestRepeated`` there."""
        session = self._open()
        try:
            yield session
            session.commit()
            self._committed(session)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def read(self, work: Callable[[Session], T], cache_key: Hashable | None = None) -> T:
        """``work(session)`` in a transaction that only reads; with ``cache_key``, through the cache.

        On SQLite the transaction is a deferred one (no write lock); anything it writes is rolled
        back.
        """
        if cache_key is not None and (value := self.cache.peek(self.engine, cache_key)) is not _MISSING:
            return value
        session = self._factory()
        try:
            session.connection(execution_options={READ_ONLY: True})
            if cache_key is None:
                return work(session)
            return self.cache.get(session, cache_key, lambda: work(session))
        finally:
            session.rollback()
            session.close()

    def close(self) -> None:
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None

    # --- communities (guanyinli.tenancy) --------------------------------------------------------------

    def in_each_community(self, what: str, work: Callable[[DatabaseHandle], Any]) -> None:
        """``work(handle)`` for every community (``each_community``); one whose work fails is logged
        (``what`` says what was not done) and the others still have their turn; then the first
        error is raised, so the timer's failure shows."""
        failed = None
        for handle in self.each_community():
            try:
                work(handle)
            except Exception as exc:
                log.exception("community %s: %s", handle.community, what)
                failed = failed or exc
        if failed is not None:
            raise failed

    def for_community(self, slug: str) -> DatabaseHandle:
        """A handle on another community's storage, for work that is not a caller's request (a
        timer); it records no request and keeps no answer. Close it when done."""
        if self._tenants is None:
            raise tenancy.CommunityError("this handle was not made by a Database dependency")
        if slug == self.community:
            return self
        storage = self._tenants.storage(slug)
        return DatabaseHandle(
            storage.factory,
            storage.engine,
            storage.cache,
            answer_wait=self.answer_wait,
            sleep=self._sleep,
            community=slug,
            tenants=self._tenants,
            worker_ctx=self._worker_ctx,
        )

    def each_community(self) -> Iterator[DatabaseHandle]:
        """Every community the installation serves, one after another, with the worker acting for
        each while its handle is in use (what it calls or emits meanwhile carries that community).
        A community whose storage cannot be reached is logged and skipped, not the others."""
        if self._tenants is None:
            yield self
            return
        for slug in self._tenants.communities:
            try:
                handle = self.for_community(slug)
            except Exception as exc:  # noqa: BLE001 - one community's storage down: go on with the rest
                log.warning("community %s: storage not reachable: %s", slug, type(exc).__name__)
                continue
            try:
                if self._worker_ctx is None:
                    yield handle
                else:
                    with tenancy.acting_for(self._worker_ctx, slug):
                        yield handle
            finally:
                if handle is not self:
                    handle.close()


class _Refusing:
    """The sessionmaker of a handle for a community this installation does not serve."""

    kw: dict = {}

    def __init__(self, error: Exception):
        self.error = error

    def __call__(self, *args, **kwargs):
        raise self.error


class Storage(NamedTuple):
    """One community's storage in a service's database."""

    engine: Engine
    factory: sessionmaker
    cache: ReadCache


class Database(DependencyProvider):
    """nameko dependency: one engine per service container, one session per worker.

    The URL comes from the nameko config key ``DB_URIS[service_name]`` and falls back to the
    environment (see ``guanyinli.config.database_url``). A redelivered request waits up to
    ``RPC.REDELIVERY_WAIT`` seconds for its first delivery's answer (``guanyinli.once``), pausing
    with ``sleep``.

    Each worker's handle reaches the storage of the community it acts for
    (``guanyinli.tenancy.community_of``): on PostgreSQL a schema of the same database through the
    same pool, on SQLite a file of its own, opened when first used. A community the installation
    does not serve gets a handle that answers ``CommunityNotFound`` when used.
    """

    sleep = staticmethod(eventlet.sleep)

    def __init__(self, service: str | None = None, listen: str | None = None):
        self.service = service
        self.listen = listen  # PostgreSQL: the channel the service's triggers notify on (guanyinli.changes)
        self.engine: Engine | None = None
        self.factory: sessionmaker | None = None
        self.cache = ReadCache()
        self.changes = None
        self.answer_wait = once.ANSWER_WAIT
        self.communities: tuple[str, ...] = (tenancy.DEFAULT,)
        self._storages: dict[str, Storage] = {}
        self._storage_lock = threading.Lock()

    def setup(self):
        service = self.service or self.container.service_name
        self._service = service
        config = self.container.config
        self.communities = tenancy.served(config)
        self.answer_wait = float(setting(config, "RPC", "REDELIVERY_WAIT", once.ANSWER_WAIT))
        self._url = service_database_url(config, service)
        self.engine = make_engine(self._url)
        self.factory = self._sessionmaker(self.engine, None)
        if self.listen and self.engine.dialect.name == "postgresql":
            from guanyinli.changes import ChangeListener

            self.changes = ChangeListener(self.engine, self.listen)
            self.cache = ReadCache(changes=self.changes)
            self.changes.watch_commits(self.engine)
        self._storages = {self.communities[0]: Storage(self.engine, self.factory, self.cache)}

    def _sessionmaker(self, engine: Engine, schema: str | None) -> sessionmaker:
        factory = sessionmaker(bind=engine, expire_on_commit=False, info={SERVICE_INFO: self._service})
        if schema is not None:
            event.listen(
                factory, "after_begin", lambda _session, _tx, connection: tenancy.set_search_path(connection, schema)
            )
        once.Recorder(factory, self._service)
        keys.Recorder(factory, self._service)
        return factory

    def storage(self, slug: str) -> Storage:
        """The community's storage, opened (and its owner checked) when first asked for."""
        found = self._storages.get(slug)
        if found is not None:
            return found
        if slug not in self.communities:
            raise CommunityNotFound(f"no community {slug!r} in this installation", f"本系统没有社区 {slug!r}")
        with self._storage_lock:
            found = self._storages.get(slug)
            if found is None:
                config = self.container.config
                schema = tenancy.schema(slug, config)
                if self.engine.dialect.name == "postgresql":
                    engine = self.engine
                else:
                    engine = make_engine(tenancy.storage_url(self._url, slug, config))
                with engine.begin() as connection:
                    tenancy.set_search_path(connection, schema)
                    if tenancy.owner(connection) != slug:
                        raise CommunityNotFound(
                            f"community {slug!r} has no storage of the {self._service} service yet "
                            f"(python -m guanyinli.migrate upgrade --community {slug})",
                            f"社区 {slug!r} 尚未建立数据存储",
                        )
                changes = self.changes if engine is self.engine else None
                found = Storage(engine, self._sessionmaker(engine, schema), ReadCache(changes=changes))
                self._storages[slug] = found
        return found

    def start(self):
        slug = self.communities[0]
        with self.engine.begin() as connection:
            tenancy.check_owner(connection, slug)  # a URL of another community's storage: refuse to start
        if self.changes is not None:
            self.changes.start()

    def stop(self):
        if self.changes is not None:
            self.changes.stop()
        for storage in list(self._storages.values()):
            if storage.engine is not self.engine:
                storage.engine.dispose()
        if self.engine is not None:
            self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        slug = tenancy.community_of(worker_ctx)
        try:
            engine, factory, cache = self.storage(slug)
        except CommunityNotFound as exc:
            engine, factory, cache = self.engine, _Refusing(exc), ReadCache()
        handle = DatabaseHandle(
            factory,
            engine,
            cache,
            once.request_of(worker_ctx),
            answer_wait=self.answer_wait,
            sleep=self.sleep,
            community=slug,
            tenants=self,
            worker_ctx=worker_ctx,
        )
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
