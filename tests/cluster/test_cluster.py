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
from datetime import timedelta

import pytest
from rel_platform import wait_for
from rel_signups import signup_storm

pytestmark = pytest.mark.cluster

SIGNUPS = int(os.environ.get("CLUSTER_SIGNUPS", "300"))
CONCURRENCY = int(os.environ.get("CLUSTER_CONCURRENCY", "30"))
SEATS = int(os.environ.get("CLUSTER_SEATS", "10"))  # per role (6 roles): the confirmed get reminders
# the reminders come due this long after the patrols are created: after the storm and its faults
REMINDERS_IN = float(os.environ.get("CLUSTER_REMINDERS_IN", "100"))
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


def test_signups_and_reminders_survive_node_failures(platform, tally):
    """The leader of the services' queues is stopped, brought back, then the node leading them
    next (a second node) is stopped and brought back, while sign-ups are made; their reminders
    come due after the storm. One node at a time: three nodes keep a majority with one away."""
    cluster = platform.broker
    row = tally.row("cluster: two nodes stopped in turn under sign-ups")
    classic = [(q["name"], q["exclusive"]) for q in service_queues(platform) if q["type"] != "quorum"]
    row.notes.append(f"classic service queues (exclusive, on the node of their consumer): {len(classic)}")
    stopped: list = []
    first: list[str] = []

    def stop_leader() -> str:
        leader = queue_leader(platform)
        if first and leader == first[0]:  # a second node: the leader elected after the first came back
            leader = next(n.name for n in cluster.nodes if n.name != first[0])
        node = cluster.node(leader)
        first.append(node.name)
        began = time.monotonic()
        cluster.stop_node(node)
        stopped.append(node)
        return f"{node.name} (leader of rpc-activities) stopped in {time.monotonic() - began:.1f} s"

    def bring_back() -> str:
        began = time.monotonic()
        node = stopped.pop()
        cluster.restart_node(node)
        return f"{node.name} back in {time.monotonic() - began:.1f} s"

    signup_storm(
        platform,
        row,
        signups=SIGNUPS,
        concurrency=CONCURRENCY,
        roles=6,
        seats=SEATS,
        faults=[(0.15, stop_leader), (0.35, bring_back), (0.55, stop_leader), (0.8, bring_back)],
        reminders_in=timedelta(seconds=REMINDERS_IN),
    )
    idle = all_consuming(platform)
    row.lost += len(idle)
    leaders = Counter(q["leader"] for q in service_queues(platform))
    row.notes.append(f"queue leaders after: {dict(leaders)}; queues without a consumer: {idle or 'none'}")
    assert not idle, f"queues without a consumer: {idle}"
