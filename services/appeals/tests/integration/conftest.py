"""Fixtures of the appeals integration tests: the appeals and volunteers services on a fresh vhost,
an event recorder of the appeals' events, callers of every kind, and the appeals database."""

from __future__ import annotations

import contextlib
import time

import pytest
from sqlalchemy import create_engine, text

from appeals.models import Base
from appeals.service import AppealsService
from guanyinli.config import normalize_url
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import EventLog, event_recorder, signed
from volunteers.service import VolunteersService

ORGANISER = signed({"roles": ["organiser"], "name": "社区办 王芳"})


class Events(EventLog):
    def settle(self, seconds: float = 0.5) -> list[tuple[str, dict]]:
        """Everything received after a short wait (to check that nothing more arrives)."""
        time.sleep(seconds)
        return list(self.received)


@pytest.fixture
def db_urls(test_databases, db_backend) -> dict[str, str]:
    """The databases of the two services these tests run, migrated and empty."""
    urls = {}
    for service in ("volunteers", "appeals"):
        urls[service] = test_databases.url(db_backend, service)
        test_databases.empty(db_backend, service)
    return urls


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def container(container_factory, service_config, events):
    container_factory(VolunteersService, service_config).start()
    service = container_factory(AppealsService, service_config)
    service.start()
    container_factory(event_recorder("appeals", events), service_config).start()
    return service


@pytest.fixture
def call(container, service_config):
    """``call(context)`` -> an open proxy to ``appeals`` as that caller (closed after the test)."""
    with contextlib.ExitStack() as stack:

        def open_as(context_data, service="appeals"):
            return stack.enter_context(ServiceRpcProxy(service, service_config, context_data=context_data, timeout=30))

        yield open_as


@pytest.fixture
def rpc(call):
    """The appeals service as an organiser (the community office)."""
    return call(ORGANISER)


@pytest.fixture
def volunteers(call):
    """The volunteers service as an organiser, to set up grids and availability."""
    return call(ORGANISER, "volunteers")


class Tables:
    """Direct reads of the appeals database, to check what a call wrote (or did not)."""

    def __init__(self, url: str):
        self.engine = create_engine(normalize_url(url))

    def snapshot(self) -> dict[str, list[tuple]]:
        with self.engine.connect() as conn:
            return {
                t.name: sorted(tuple(map(str, row)) for row in conn.execute(t.select()))
                for t in Base.metadata.sorted_tables
            }

    def rows(self, sql: str) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]


@pytest.fixture
def tables(db_urls):
    t = Tables(db_urls["appeals"])
    yield t
    t.engine.dispose()


@pytest.fixture
def unchanged(tables):
    """``with unchanged(): <rejected call>`` asserts the appeals database is exactly as before
    (the tables of requests carried out aside: a refused request leaves none)."""

    @contextlib.contextmanager
    def check():
        before = tables.snapshot()
        yield
        assert tables.snapshot() == before

    return check
