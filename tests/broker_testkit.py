"""Broker accounts for tests: every role of guanyinli.broker_users made on the test's vhost, and a
probe of what the broker refuses an account (tests/test_broker_users.py, tests/security)."""

from __future__ import annotations

import secrets
from urllib.parse import quote

import amqp
import kombu
import pytest
from amqp.exceptions import AccessRefused

from guanyinli.broker_users import ROLES, Account, ManagementApi, apply


def amqp_uri(account: Account) -> str:
    return f"pyamqp://{quote(account.user, safe='')}:{account.password}@127.0.0.1:5672/{quote(account.vhost, safe='')}"


@pytest.fixture
def accounts(request, rabbit_config) -> dict[str, str]:
    """Every role's account on the test's fresh vhost, as broker_users applies them: role -> AMQP URI."""
    api = ManagementApi(request.config.getoption("RABBIT_API_URI").rstrip("/") + "/api")
    vhost = rabbit_config["vhost"]
    made = [Account(r, f"{vhost}_{r.name}", secrets.token_hex(12), vhost) for r in ROLES]
    try:
        apply(api, made)
        yield {a.role.name: amqp_uri(a) for a in made}
    finally:
        for account in made:
            try:
                api.call("DELETE", f"/users/{quote(account.user, safe='')}")
            except OSError:
                pass


def refused(uri: str, act) -> bool:
    """Whether the broker refuses ``act(channel)``; it closes the channel when it does."""
    connection = amqp.Connection(**_params(uri))
    connection.connect()
    try:
        channel = connection.channel()
        act(channel)
        channel.basic_qos(0, 1, False)  # a round trip: a refused publish closes the channel by now
        return False
    except AccessRefused:
        return True
    finally:
        connection.collect()


def _params(uri: str) -> dict:
    parsed = kombu.Connection(uri)
    return {
        "host": f"{parsed.hostname}:{parsed.port}",
        "userid": parsed.userid,
        "password": parsed.password,
        "virtual_host": parsed.virtual_host,
    }
