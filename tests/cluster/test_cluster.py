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

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

SIGNUPS = int(os.environ.get("CLUSTER_SIGNUPS", "300"))
CONCURRENCY = int(os.environ.get("CLUSTER_CONCURRENCY", "30"))
SEATS = int(os.environ.get("CLUSTER_SEATS", "10"))  # per role (6 roles): the confirmed get reminders
# the reminders come due this long after the patrols are created: after the storm and its faults
REMINDERS_IN = float(os.environ.get("CLUSTER_REMINDERS_IN", "100"))
BOTH_DOWN = float(os.environ.get("CLUSTER_BOTH_DOWN", "5"))  # seconds with one node of three
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


class Faults:
    """Nodes stopped and started by a storm's fault injector; each says what it did."""

    def __init__(self, platform):
        self.platform = platform
        self.cluster = platform.broker
        self.stopped: list = []

    def stop(self, avoid: set[str] = frozenset()) -> str:
        """Stop the node leading the services' queues (another node if that one is to be avoided)."""
        leader = queue_leader(self.platform)
        up = [n.name for n in self.cluster.nodes if n.name not in self.cluster.down]
        if leader in avoid or leader not in up:
            leader = next(name for name in up if name not in avoid)
        node = self.cluster.node(leader)
        clients = self.cluster.connections().get(node.name, 0)
        began = time.monotonic()
        self.cluster.stop_node(node)
        self.stopped.append(node)
        return f"{node.name} stopped ({clients} client connections on it, {time.monotonic() - began:.1f} s)"

    def stop_leader(self) -> str:
        return self.stop()

    def stop_second(self) -> str:
        return self.stop(avoid={n.name for n in self.stopped})

    def bring_back(self) -> str:
        nodes, self.stopped = self.stopped, []
        began = time.monotonic()
        self.cluster.restart_nodes(nodes)
        return f"{', '.join(n.name for n in nodes)} back in {time.monotonic() - began:.1f} s"

    def stop_second_then_both_back(self) -> str:
        """A second node too: one of three left, no majority, so the quorum queues stop taking and
        giving messages until a node comes back."""
        said = self.stop_second()
        time.sleep(BOTH_DOWN)
        return f"{said}; {BOTH_DOWN:.0f} s with one node; {self.bring_back()}"


def check_consuming(platform, row) -> None:
    idle = all_consuming(platform)
    row.lost += len(idle)
    leaders = Counter(q["leader"] for q in service_queues(platform))
    row.notes.append(
        f"queue leaders after: {dict(leaders)}; client connections per node: "
        f"{dict(platform.broker.connections())}; service queues without a consumer: {idle or 'none'}"
    )
    assert not idle, f"queues without a consumer: {idle}"


def test_signups_and_reminders_survive_nodes_stopped_in_turn(platform, tally):
    """The leader of the services' queues is stopped and brought back, then the node leading them
    next (a second node), while sign-ups are made; their reminders come due after the storm.
    One node away at a time: the other two are a majority, the queues go on."""
    row = tally.row("leader, then a second node, stopped in turn")
    classic = [q["name"] for q in service_queues(platform) if q["type"] != "quorum"]
    row.notes.append(f"classic service queues (exclusive, on their consumer's node): {len(classic)}")
    faults = Faults(platform)
    signup_storm(
        platform,
        row,
        signups=SIGNUPS,
        concurrency=CONCURRENCY,
        roles=6,
        seats=SEATS,
        faults=[
            (0.15, faults.stop_leader),
            (0.35, faults.bring_back),
            (0.55, faults.stop_second),
            (0.8, faults.bring_back),
        ],
        reminders_in=timedelta(seconds=REMINDERS_IN),
    )
    check_consuming(platform, row)


def test_signups_survive_two_nodes_down_together(platform, tally):
    """The leader is stopped, then a second node while the first is still away, and both come back:
    with one node of three the queues have no majority and wait; the clients ask again."""
    row = tally.row("leader and a second node down together")
    faults = Faults(platform)
    signup_storm(
        platform,
        row,
        signups=SIGNUPS,
        concurrency=CONCURRENCY,
        roles=6,
        seats=SEATS,
        faults=[(0.2, faults.stop_leader), (0.45, faults.stop_second_then_both_back)],
    )
    check_consuming(platform, row)
