"""pytest plugin shared by every service's tests: databases on both backends, config, HTTP.

Integration tests ask for ``service_config`` (nameko config with a fresh vhost from nameko's
``rabbit_config`` and migrated databases). Each such test runs once per backend chosen with
``--databases`` (default: the ``TEST_DATABASES`` variable, else ``sqlite,postgresql``).
Tables are emptied before each test; migrations run once per backend and session.
"""

from __future__ import annotations

import importlib
import os
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from guanyinli import tenancy
from guanyinli.config import normalize_url
from guanyinli.migrate import SERVICES, upgrade

PG_ADMIN_URL = normalize_url(os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))


def pytest_addoption(parser):
    parser.addoption(
        "--databases",
        default=os.environ.get("TEST_DATABASES", "sqlite,postgresql"),
        help="comma-separated backends integration tests run against (sqlite, postgresql)",
    )


def pytest_generate_tests(metafunc):
    if "db_backend" in metafunc.fixturenames:
        backends = [b.strip() for b in metafunc.config.getoption("--databases").split(",") if b.strip()]
        metafunc.parametrize("db_backend", backends, scope="session")


def migrated_services() -> list[str]:
    found = []
    for service in SERVICES:
        try:
            package = importlib.import_module(service)
        except ImportError:
            continue
        if (Path(package.__file__).parent / "migrations" / "env.py").exists():
            found.append(service)
    return found


SECOND_COMMUNITY = "wutaishan"  # the other community of tests of communities as tenants
TWO_COMMUNITIES = f"{tenancy.DEFAULT},{SECOND_COMMUNITY}"


class TestDatabases:
    """Creates (once) and empties (per test) one database per service and backend, and on demand
    a second community's storage in it (``guanyinli.tenancy``)."""

    def __init__(self, tmpdir: Path):
        self.tmpdir = tmpdir
        self.urls: dict[tuple[str, str], str] = {}
        self.pg_names: list[str] = []
        self.communities: set[tuple[str, str, str]] = set()

    def add_community(self, backend: str, service: str, slug: str, communities: str) -> None:
        """Migrate (once) the storage of ``slug`` in the service's test database, and empty it."""
        url = self.url(backend, service)
        config = {tenancy.SETTING: communities}
        if (backend, service, slug) not in self.communities:
            upgrade(service, url, community=slug, config=config)
            self.communities.add((backend, service, slug))
        self.empty(backend, service, slug, config)

    def url(self, backend: str, service: str) -> str:
        key = (backend, service)
        if key not in self.urls:
            if backend == "sqlite":
                url = f"sqlite:///{self.tmpdir / (service + '.db')}"
            elif backend == "postgresql":
                name = f"gytest_{service}_{uuid.uuid4().hex[:10]}"
                admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                admin.dispose()
                self.pg_names.append(name)
                url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
            else:
                raise ValueError(f"unknown backend {backend!r}")
            upgrade(service, url)
            self.urls[key] = url
        return self.urls[key]

    def empty(self, backend: str, service: str, slug: str | None = None, config: dict | None = None) -> None:
        models = importlib.import_module(f"{service}.models")
        tables = [t.name for t in models.Base.metadata.sorted_tables]
        url = normalize_url(self.url(backend, service))
        if slug is not None:
            url = tenancy.storage_url(url, slug, config)
        engine = create_engine(url)
        with engine.begin() as conn:
            if slug is not None:
                tenancy.set_search_path(conn, tenancy.schema(slug, config))
            if backend == "postgresql":
                if tables:
                    conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    conn.execute(text(f'DELETE FROM "{table}"'))
                if conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")).first():
                    conn.execute(text("DELETE FROM sqlite_sequence"))
        engine.dispose()

    def drop_all(self) -> None:
        if not self.pg_names:
            return
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.pg_names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def test_databases(tmp_path_factory):
    dbs = TestDatabases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.drop_all()


@pytest.fixture
def db_urls(test_databases, db_backend) -> dict[str, str]:
    """Migrated, empty databases of every service that has migrations, for this test's backend."""
    urls = {}
    for service in migrated_services():
        urls[service] = test_databases.url(db_backend, service)
        test_databases.empty(db_backend, service)
    return urls


@pytest.fixture
def service_config(rabbit_config, db_urls, web_config) -> dict:
    """nameko config for containers under test: fresh vhost, migrated databases, a free web port."""
    config = dict(rabbit_config)
    config.update(web_config)
    config["DB_URIS"] = dict(db_urls)
    return config


@pytest.fixture
def two_communities(service_config, test_databases, db_backend) -> dict:
    """``service_config`` serving two communities, guanyinli (the default) and ``SECOND_COMMUNITY``,
    with the second one's storage migrated and empty in every service's database."""
    for service in service_config["DB_URIS"]:
        test_databases.add_community(db_backend, service, SECOND_COMMUNITY, TWO_COMMUNITIES)
    config = dict(service_config)
    config[tenancy.SETTING] = TWO_COMMUNITIES
    return config


class _WebSession(requests.Session):
    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, self.base_url + url, *args, **kwargs)


@pytest.fixture
def web_session(web_config_port):
    """nameko's own fixture of this name breaks with Werkzeug 3; this one is plain requests."""
    session = _WebSession(f"http://127.0.0.1:{web_config_port}")
    yield session
    session.close()


class EventLog:
    """Events a recorder service received (see ``event_recorder``), with a polling wait."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []

    def clear(self) -> None:
        self.received.clear()

    def of(self, event_type: str) -> list[dict]:
        return [p for t, p in self.received if t == event_type]

    def wait(self, event_type: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """At least ``count`` events of the type (all of them), or AssertionError after ``timeout`` s."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(event_type)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} {event_type} events, got {self.of(event_type)}")

    def wait_for(self, event_type: str, predicate, timeout: float = 10.0) -> dict:
        """The first event of the type for which ``predicate(payload)`` holds, waiting up to ``timeout`` s."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for payload in self.of(event_type):
                if predicate(payload):
                    return payload
            time.sleep(0.02)
        raise AssertionError(f"no matching {event_type} event among {self.of(event_type)}")


def event_recorder(source: str, log: EventLog) -> type:
    """A nameko service class that appends every event ``source`` dispatches (per ``EVENTS``) to ``log``.

    Start it with ``container_factory(event_recorder("activities", log), config).start()``.
    """
    from nameko.events import event_handler

    from guanyinli.events import EVENTS

    def handler(event_type):
        def handle(self, payload):
            log.received.append((event_type, payload))

        handle.__name__ = f"on_{event_type}"
        return event_handler(source, event_type)(handle)

    members = {f"on_{t}": handler(t) for t in EVENTS[source]}
    return type(f"{source.title()}EventRecorder", (), {"name": f"{source}_event_recorder", **members})


def deliver_twice(config: dict, service: str, method: str, context_data: dict | None = None, **kwargs) -> list:
    """Send one RPC request, then the same request again (the same correlation id), as the broker
    does when the acknowledgement of the first delivery was lost with its connection; returns both
    answers, each the result or the typed error it raised."""
    import nameko.rpc

    from guanyinli.client import Client

    correlation_id = uuid.uuid4().hex
    answers = []
    with Client(config, context_data=context_data, timeout=30) as client:
        for _ in range(2):
            client._publish(service, method, correlation_id, {"args": [], "kwargs": kwargs})
            body = client._wait(service, correlation_id)
            answers.append(nameko.rpc.deserialize(body["error"]) if body.get("error") else body.get("result"))
    return answers


def signed(user: dict | None = None, **kwargs) -> dict:
    """Context data for a call as ``user`` (``{"roles": [...], "volunteer_id": N, "name": ...,
    "community": slug}``), with a token of the test run's ``tools`` key; no roles but a volunteer id
    means a volunteer; no community, the default one."""
    from guanyinli.identity import VOLUNTEER, tools_context

    user = {**(user or {}), **kwargs}
    roles = list(user.get("roles") or ([VOLUNTEER] if user.get("volunteer_id") is not None else []))
    if not roles:
        return {}
    return tools_context(
        roles,
        volunteer_id=user.get("volunteer_id"),
        grid_ids=user.get("grid_ids", ()),
        name=user.get("name"),
        seconds=user.get("seconds", 6 * 3600),
        community=user.get("community"),
    )


def event_dispatcher(config: dict):
    """nameko's standalone ``event_dispatcher``, each event signed by the service it names as its
    source (the test run holds every service's key), as that service's own events are."""
    from nameko.standalone.events import event_dispatcher as nameko_event_dispatcher

    from guanyinli.identity import CONTEXT_KEY, service_token

    dispatchers: dict[str, object] = {}

    def dispatch(service_name: str, event_type: str, event_data) -> None:
        if service_name not in dispatchers:
            token = service_token(service_name, config)
            headers = {f"nameko.{CONTEXT_KEY}": token} if token else {}
            dispatchers[service_name] = nameko_event_dispatcher(config, headers=headers)
        dispatchers[service_name](service_name, event_type, event_data)

    return dispatch


class SetClock:
    """A service's clock (``guanyinli.clock.Clock``) standing at ``at`` until a test moves it: swap it in with
    ``replace_dependencies(container, clock=SetClock(moment))`` before the container starts."""

    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at

    now = __call__


@pytest.fixture
def sixteenth_grid(monkeypatch):
    """The community's data with a sixteenth grid (id 16) beside Guanyinli's own: the grids are data, so
    every service that asks the volunteers service for them, or validates against them, takes it.
    Patches ``volunteers.structure.GRIDS`` in this process, where the tests run the volunteers service."""
    structure = importlib.import_module("volunteers.structure")
    grid = structure.Grid(16, "G16", "观音里第十六综合网格", "comprehensive")
    monkeypatch.setattr(structure, "GRIDS", (*structure.GRIDS, grid))
    return grid
