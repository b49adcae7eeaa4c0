"""Fixtures of the notifications integration tests: the service with a test clock, real receivers."""

from __future__ import annotations

import contextlib

import pytest
from nameko.testing.services import replace_dependencies
from notifications_testkit import (
    DIRECTORY,
    FakeClock,
    Outbox,
    Publisher,
    SmtpSink,
    StandInVolunteers,
    WebhookReceiver,
    local,
)

from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed
from notifications.service import NotificationsService

WEBHOOK_SECRET = "test-secret-观音里"


@pytest.fixture
def db_urls(test_databases, db_backend) -> dict[str, str]:
    """Only the notifications database (another service's migration in progress cannot break these)."""
    url = test_databases.url(db_backend, "notifications")
    test_databases.empty(db_backend, "notifications")
    return {"notifications": url}


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def sms_log(tmp_path):
    """The local SMS sink's file of this test (``notifications.sms.SinkSms``)."""
    return tmp_path / "sms.log"


@pytest.fixture
def clock():
    return FakeClock(local(24, 10))  # a Tuesday morning


@pytest.fixture
def config(service_config, smtp, webhook, sms_log) -> dict:
    config = dict(service_config)
    config["SMTP"] = {
        "HOST": "127.0.0.1",
        "PORT": smtp.port,
        "STARTTLS": False,
        "FROM": "观音里社区 <noreply@guanyinli.example>",
    }
    config["WEBHOOK"] = {"URL": webhook.url, "SECRET": WEBHOOK_SECRET}
    config["SMS"] = {"PROVIDER": "sink", "SINK_PATH": str(sms_log)}
    config["NOTIFICATIONS"] = {
        "POLL_INTERVAL": 0.05,
        "MAX_ATTEMPTS": 3,
        "BACKOFF_BASE": 60,
        "CLAIM_LEASE": 30,
        "BATCH": 20,
        "TICK_BUDGET": 2,
    }
    config["VOLUNTEERS_RPC_TIMEOUT"] = 5
    return config


@pytest.fixture
def start_service(container_factory, config, clock):
    """``start_service()`` runs one replica of notifications on the test clock; call again for more."""

    def start(**overrides):
        container = container_factory(NotificationsService, {**config, **overrides})
        replace_dependencies(container, clock=clock)
        container.start()
        return container

    return start


@pytest.fixture
def service(start_service):
    return start_service()


@pytest.fixture
def volunteers_standin(container_factory, config):
    DIRECTORY.clear()
    container_factory(StandInVolunteers, config).start()
    yield DIRECTORY
    DIRECTORY.clear()


@pytest.fixture
def publish(config):
    return Publisher(config)


ORGANISER = signed({"volunteer_id": 9000, "roles": ["organiser"], "name": "网格长 王芳"})


@pytest.fixture
def call(config):
    """``call(context_data)`` opens an RPC proxy to notifications as that caller."""
    with contextlib.ExitStack() as stack:
        yield lambda context=ORGANISER: stack.enter_context(
            ServiceRpcProxy("notifications", config, timeout=30, context_data=context)
        )


@pytest.fixture
def rpc(call):
    """An organiser's proxy."""
    return call()


@pytest.fixture
def outbox(db_urls):
    reader = Outbox(db_urls["notifications"])
    yield reader
    reader.close()
