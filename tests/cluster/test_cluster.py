"""Nodes of a three-node RabbitMQ cluster fail while the services work (`make test-cluster`).

The services run as processes with all three nodes in ``AMQP_URI`` (kombu's failover list); their
queues are quorum queues (the vhost's default queue type), replicated on the three nodes. Under
sign-up load the node leading the services' queues is stopped, and later a second one; both come
back. Afterwards (``rel_signups``): every accepted sign-up is stored and told to its volunteer
once, no role is overbooked, nothing was done twice; and every service queue has a consumer again.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from rel_platform import wait_for
from rel_signups import signup_storm

pytestmark = pytest.mark.cluster

SIGNUPS = int(os.environ.get("CLUSTER_SIGNUPS", "300"))
CONCURRENCY = int(os.environ.get("CLUSTER_CONCURRENCY", "30"))
SERVICE_QUEUES = ("rpc-", "evt-")


def service_queues(platform) -> list[dict]:
    return [q for q in platform.broker.queues(platform.vhost) if q["name"].startswith(SERVICE_QUEUES)]


def queue_leader(platform) -> str:
    """The node leading most of the services' queues (activities' RPC queue first)."""
    queues = service_queues(platform)
    by_name = {q["name"]: q for q in queues}
    if by_name.get("rpc-activities", {}).get("leader"):
        return by_name["rpc-activities"]["leader"]
    return Counter(q["leader"] for q in queues if q["leader"]).most_common(1)[0][0]


def all_consuming(platform, timeout: float = 120) -> list[str]:
    """Wait until every service queue has a consumer; returns the queues that still have none."""
    idle: list[str] = []

    def check():
        idle[:] = [q["name"] for q in service_queues(platform) if q["consumers"] == 0]
        return not idle

    try:
        wait_for(check, timeout, 1.0, "every service queue consuming")
    except TimeoutError:
        pass
    return idle


def test_signups_survive_node_failures(platform, tally):
    cluster = platform.broker
    row = tally.row("cluster: leader node stopped under sign-ups")
    classic = [(q["name"], q["exclusive"]) for q in service_queues(platform) if q["type"] != "quorum"]
    row.notes.append(f"classic service queues: {classic or 'none'}")
    stopped: list = []

    def stop_leader() -> str:
        node = cluster.node(queue_leader(platform))
        began = time.monotonic()
        cluster.stop_node(node)
        stopped.append(node)
        return f"{node.name} (leader) stopped in {time.monotonic() - began:.1f} s"

    def bring_back() -> str:
        began = time.monotonic()
        names = []
        while stopped:
            node = stopped.pop()
            cluster.restart_node(node)
            names.append(node.name)
        return f"{', '.join(names)} back in {time.monotonic() - began:.1f} s"

    signup_storm(
        platform,
        row,
        signups=SIGNUPS,
        concurrency=CONCURRENCY,
        roles=6,
        seats=5,
        faults=[(0.25, stop_leader), (0.6, bring_back)],
    )
    idle = all_consuming(platform)
    row.lost += len(idle)
    leaders = Counter(q["leader"] for q in service_queues(platform))
    row.notes.append(f"queue leaders after: {dict(leaders)}; queues without a consumer: {idle or 'none'}")
    assert not idle, f"queues without a consumer: {idle}"
