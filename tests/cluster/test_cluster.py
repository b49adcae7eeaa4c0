"""Nodes of a three-node RabbitMQ cluster fail while the services work (`make test-cluster`).

The services run as processes with all three nodes in ``AMQP_URI`` (kombu's failover list); their
durable queues are quorum queues (the vhost's default queue type), replicated on the three nodes.
Under sign-up load (with roster builds beside it, and the sign-ups' reminders coming due after it)
the node leading the services' queues is stopped, then a second node: in turn in one scenario,
together in the other; they come back. Afterwards (``rel_signups``): every accepted sign-up is
stored and told to its volunteer once, every confirmed volunteer reminded once, no role
overbooked, nothing done twice, each roster build answered with one roster; and every service
queue has a consumer again.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from datetime import timedelta

import eventlet
import pytest
from rel_clients import RetryingClient
from rel_data import ORGANISER
from rel_platform import wait_for
from rel_signups import signup_storm

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.timeutil import iso, now

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

SIGNUPS = int(os.environ.get("CLUSTER_SIGNUPS", "300"))
CONCURRENCY = int(os.environ.get("CLUSTER_CONCURRENCY", "30"))
SEATS = int(os.environ.get("CLUSTER_SEATS", "10"))  # per role (6 roles): the confirmed get reminders
# the reminders come due this long after the patrols are created: after the storm and its faults
REMINDERS_IN = float(os.environ.get("CLUSTER_REMINDERS_IN", "100"))
ROSTERS = int(os.environ.get("CLUSTER_ROSTERS", "3"))  # roster builds beside the first storm
# 1: the roster builds start as the first node stops, not with the storm's set-up. Open defect: a
# sign-up that succeeded was then answered RequestRepeated in the one run made (7 December), see docs/DEPLOY.md
ROSTERS_AT_FAULT = os.environ.get("CLUSTER_ROSTERS_AT_FAULT") == "1"
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


@pytest.fixture(scope="module")
def demo_data(platform):
    """The demo month (about 300 volunteers, patrols of every grid) for the roster builds, loaded as
    `make run` does."""
    import subprocess
    import sys

    for service in ("volunteers", "activities"):
        subprocess.run(
            [sys.executable, "-m", f"{service}.demo", "--database-url", platform.dbs.urls[service]],
            env=platform.env(service),
            check=True,
            capture_output=True,
        )


def roster_builds(platform, count: int) -> list:
    """`count` roster builds (one week of the demo patrols each, own request_id), one after the
    other through a retrying client, in a green thread beside the storm; returns their outcomes."""
    monday = (now() + timedelta(days=7 - now().weekday())).replace(hour=0, minute=0, second=0, microsecond=0)

    def run():
        client = RetryingClient(platform.rpc_config, ORGANISER, attempt_timeout=120)
        outcomes = []
        try:
            for i in range(count):
                start = monday + timedelta(days=7 * i)
                kwargs = {
                    "start": iso(start),
                    "end": iso(start + timedelta(days=7)),
                    "options": {"time_limit": 5},
                    "request_id": f"cluster-roster-{uuid.uuid4().hex[:8]}",
                }
                outcomes.append(
                    client.call("activities", "build_roster", kwargs, kwargs["request_id"], time.monotonic() + 400)
                )
        finally:
            client.close()
        return outcomes

    return eventlet.spawn(run)


def check_rosters(platform, row, before: set, outcomes: list) -> None:
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=60) as rpc:
        after = [r for r in rpc.activities.list_rosters() if r["id"] not in before]
    row.calls += sum(o.attempts for o in outcomes) + 2
    failed = [o for o in outcomes if o.kind != "ok"]
    row.lost += len(failed)
    row.untyped += sum(o.kind == "untyped" for o in outcomes)
    row.internal += sum(o.kind == "internal" for o in outcomes)
    answered = {o.result["id"] for o in outcomes if o.kind == "ok"}
    extra = [r for r in after if r["id"] not in answered]
    stale = [r for r in after if r.get("status") == "solving"]
    row.duplicated += len(extra)
    row.notes.append(
        f"{len(outcomes)} roster builds beside the storm, {sum(o.attempts for o in outcomes)} attempts; "
        f"new rosters {[(r['id'], r.get('status')) for r in after]}"
    )
    assert not failed, [(o.kind, repr(o.error)) for o in failed]
    assert not extra, f"rosters nobody was answered with: {extra}"
    assert not stale, f"rosters left 'solving': {stale}"


def test_signups_reminders_and_rosters_survive_nodes_stopped_in_turn(platform, demo_data, tally):
    """The leader of the services' queues is stopped and brought back, then the node leading them
    next (a second node), while sign-ups are made and rosters built; the sign-ups' reminders come
    due after the storm. One node away at a time: the other two are a majority, the queues go on."""
    row = tally.row("leader, then a second node, stopped in turn")
    classic = [q["name"] for q in service_queues(platform) if q["type"] != "quorum"]
    row.notes.append(f"classic service queues (exclusive, on their consumer's node): {len(classic)}")
    faults = Faults(platform)
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=60) as rpc:
        before = {r["id"] for r in rpc.activities.list_rosters()}
    rosters = [] if ROSTERS_AT_FAULT else [roster_builds(platform, ROSTERS)]

    def stop_leader() -> str:
        if not ROSTERS_AT_FAULT:
            return faults.stop_leader()
        rosters.append(roster_builds(platform, ROSTERS))
        eventlet.sleep(2)  # the first build is being solved when the node stops
        return f"{faults.stop_leader()} while a roster was being built"

    signup_storm(
        platform,
        row,
        signups=SIGNUPS,
        concurrency=CONCURRENCY,
        roles=6,
        seats=SEATS,
        faults=[
            (0.15, stop_leader),
            (0.35, faults.bring_back),
            (0.55, faults.stop_second),
            (0.8, faults.bring_back),
        ],
        reminders_in=timedelta(seconds=REMINDERS_IN),
    )
    check_rosters(platform, row, before, rosters[0].wait())
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
