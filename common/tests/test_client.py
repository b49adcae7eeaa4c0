"""``guanyinli.client.Client`` and the platform's transient RPC against a real broker and service."""

from __future__ import annotations

import time

import eventlet
import pytest
from nameko.contextdata import ContextDataProvider
from nameko.exceptions import MethodNotFound, RemoteError, RpcTimeout, UnknownService

from guanyinli.client import BrokerUnavailable, Client
from guanyinli.errors import InvalidInput, NotFound
from guanyinli.rpc import Rpc, ServiceRpcProxy, rpc
from guanyinli.testing import signed

pytestmark = pytest.mark.integration

SEEN: list[dict] = []


class Recording(Rpc):
    """Notes how each request arrived (its AMQP properties), for the tests to look at."""

    def handle_message(self, body, message):
        SEEN.append(dict(message.properties))
        super().handle_message(body, message)


class ThingNotFound(NotFound):
    """Not registered with nameko: a caller knows only its base."""


class User(ContextDataProvider):
    context_key = "user"


class Sample:
    name = "client_sample"
    user = User()

    @rpc
    def echo(self, *args, **kwargs):
        return {"args": list(args), "kwargs": kwargs}

    @rpc
    def whoami(self):
        return self.user

    @rpc
    def missing(self, thing_id):
        raise NotFound(f"thing_id: no thing {thing_id}")

    @rpc
    def missing_thing(self, thing_id):
        raise ThingNotFound(f"thing_id: no thing {thing_id}")

    @rpc
    def broken(self):
        raise ValueError("not a platform error")

    @rpc
    def slow(self, seconds):
        eventlet.sleep(seconds)
        return seconds

    @Recording.decorator
    def recorded(self):
        return "ok"


@pytest.fixture
def sample(container_factory, rabbit_config):
    container = container_factory(Sample, rabbit_config)
    container.start()
    return rabbit_config


def test_calls_return_results_and_carry_context_data(sample):
    with Client(sample, context_data={"user": {"roles": ["organiser"], "volunteer_id": 7}}, timeout=10) as client:
        assert client.client_sample.echo(1, "观音里", when="2026-12-05T19:00:00+08:00") == {
            "args": [1, "观音里"],
            "kwargs": {"when": "2026-12-05T19:00:00+08:00"},
        }
        assert client["client_sample"].whoami() == {"roles": ["organiser"], "volunteer_id": 7}
        # many calls on the one connection, each answered with its own reply
        assert [client.client_sample.echo(i)["args"] for i in range(50)] == [[i] for i in range(50)]


def test_remote_errors_keep_their_type_and_message(sample):
    with Client(sample, timeout=10) as client:
        with pytest.raises(NotFound, match="thing_id: no thing 3"):
            client.client_sample.missing(3)
        with pytest.raises(NotFound, match="thing_id: no thing 4") as raised:
            client.client_sample.missing_thing(4)
        assert type(raised.value) is NotFound  # the nearest registered base of ThingNotFound
        with pytest.raises(RemoteError) as raised:
            client.client_sample.broken()
        assert raised.value.exc_type == "ValueError"
        with pytest.raises(MethodNotFound, match="no_such_method"):
            client.client_sample.no_such_method()
        assert client.client_sample.echo("still usable") == {"args": ["still usable"], "kwargs": {}}


def test_a_service_nobody_runs_fails_at_once(sample):
    with Client(sample, timeout=30) as client:
        started = time.monotonic()
        with pytest.raises(UnknownService):
            client.nobody_runs_this.health()
        assert time.monotonic() - started < 5  # not the 30 s timeout


def test_a_timeout_does_not_hand_the_late_reply_to_the_next_call(sample):
    with Client(sample, timeout=0.3) as client:
        with pytest.raises(RpcTimeout):
            client.client_sample.slow(1.0)
        time.sleep(1.2)  # the late reply has been sent by now
        assert client.client_sample.echo("next") == {"args": ["next"], "kwargs": {}}


def test_an_unreachable_broker_is_a_typed_unavailable_error():
    with Client("pyamqp://guest:guest@127.0.0.1:1/", timeout=5) as client:
        with pytest.raises(BrokerUnavailable, match="cannot reach the broker"):
            client.volunteers.health()


def test_a_cluster_uri_connects_to_the_first_node_that_answers(sample):
    """AMQP_URI with several nodes (``a;b;c``): a node that refuses is skipped."""
    uri = f"pyamqp://guest:guest@127.0.0.1:1/;{sample['AMQP_URI']}"
    with Client(uri, timeout=10) as client:
        assert client.client_sample.echo(3)["args"] == [3]
    with Client("pyamqp://guest:guest@127.0.0.1:1/;pyamqp://guest:guest@127.0.0.1:2/", timeout=5) as client:
        with pytest.raises(BrokerUnavailable):
            client.client_sample.echo(3)


def test_requests_are_transient_from_every_platform_caller(sample):
    SEEN.clear()
    with Client(sample, timeout=10) as client:
        assert client.client_sample.recorded() == "ok"
    with ServiceRpcProxy("client_sample", sample, timeout=10) as proxy:
        assert proxy.recorded() == "ok"
    assert [seen["delivery_mode"] for seen in SEEN] == [1, 1]


def test_invalid_input_from_a_contract_reaches_the_client_typed(container_factory, service_config):
    from volunteers.service import VolunteersService

    container_factory(VolunteersService, service_config).start()
    with Client(service_config, context_data=signed({"roles": ["organiser"]}), timeout=30) as client:
        with pytest.raises(InvalidInput, match="volunteer_id"):
            client.volunteers.get_volunteer("not a number")
        with pytest.raises(NotFound):
            client.volunteers.get_volunteer(999_999)
