"""Forged events at the broker: every broker account (guanyinli.broker_users) publishing every event
of a service that is not its own, straight to the exchange and through nameko's dispatcher, is
refused by RabbitMQ, and nothing of it reaches the exchange."""

from __future__ import annotations

import json

import amqp
import kombu
import pytest
from amqp.exceptions import AccessRefused
from nameko.standalone.events import event_dispatcher

from guanyinli.broker_users import ROLES
from guanyinli.events import EVENTS
from tests.broker_testkit import refused

pytestmark = [pytest.mark.integration, pytest.mark.security]

SOURCES = [r.name for r in ROLES if r.emits]


def exchange(source: str) -> str:
    return f"{source}.events"


def test_no_broker_account_publishes_another_services_events(rabbit_config, accounts, attacks):
    assert set(SOURCES) == set(EVENTS) and set(accounts) == {r.name for r in ROLES}
    received = []
    with kombu.Connection(rabbit_config["AMQP_URI"]) as watcher:  # guest: sees what reaches the exchanges
        channel = watcher.channel()
        queue = kombu.Queue("security-watch", durable=False, auto_delete=True, exclusive=True)(channel)
        queue.declare()
        for source in SOURCES:
            kombu.Exchange(exchange(source), "topic", durable=True)(channel).declare()
            queue.bind_to(exchange(source), "#")

        for role, uri in accounts.items():
            for source in SOURCES:
                if source == role:
                    continue
                for event_type in EVENTS[source]:
                    forged = {"event_id": f"forged-{role}-{event_type}", "volunteer_id": 7}

                    def publish(ch, event_type=event_type, forged=forged, source=source):
                        ch.basic_publish(amqp.Message(json.dumps(forged)), exchange(source), event_type)

                    refused_raw = refused(uri, publish)
                    try:  # as a service's own code would, with the account's URI
                        event_dispatcher({"AMQP_URI": uri})(source, event_type, forged)
                        refused_nameko = False
                    except AccessRefused:
                        refused_nameko = True
                    for was_refused in (refused_raw, refused_nameko):
                        attacks(f"forged event on the {role} broker account", was_refused)
                    assert refused_raw and refused_nameko, (role, source, event_type)

        # each owner's own event after the forgeries: once both are in, nothing else may be
        for source in SOURCES:
            event_dispatcher({"AMQP_URI": accounts[source]})(
                source, next(iter(EVENTS[source])), {"event_id": f"genuine-{source}"}
            )

        def keep(body, message):
            received.append((message.delivery_info["exchange"], body["event_id"]))
            message.ack()

        with kombu.Consumer(watcher, queues=[queue], callbacks=[keep], accept=["json"]):
            while sum(event_id.startswith("genuine-") for _, event_id in received) < len(SOURCES):
                watcher.drain_events(timeout=20)  # raises when nothing arrives: a bound, not a pause
    assert sorted(received) == sorted((exchange(s), f"genuine-{s}") for s in SOURCES)
