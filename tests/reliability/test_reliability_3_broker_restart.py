"""RabbitMQ restarted twice while hundreds of sign-ups are in flight.

Clients behave like real ones: a call that gets no answer is retried with the same request_id on
a fresh connection. Afterwards every request has exactly one outcome, the one the database holds;
no role is overbooked; every volunteer got exactly one message about their sign-up (see
``rel_signups``).
"""

from __future__ import annotations

import os

import pytest
from rel_platform import wait_for
from rel_signups import signup_storm

pytestmark = pytest.mark.reliability

SIGNUPS = int(os.environ.get("RELIABILITY_SIGNUPS", "300"))
CONCURRENCY = int(os.environ.get("RELIABILITY_CONCURRENCY", "40"))


def test_signups_survive_broker_restarts(healthy, tally):
    """Two activities replicas take the sign-ups (as with `--scale activities=2`), so seats are
    guarded by the database, not by one process."""
    platform = healthy
    platform.start("activities", wait=False, replica=2)
    wait_for(lambda: platform.consumers("activities") >= 2, 120, 0.5, "two activities replicas consuming")

    def restart() -> str:
        return f"broker restarted (away {platform.broker.restart(down_for=1.0):.1f} s)"

    try:
        signup_storm(
            platform,
            tally.row("broker restart under sign-ups (2 activities replicas)"),
            signups=SIGNUPS,
            concurrency=CONCURRENCY,
            roles=6,
            seats=5,
            faults=[(0.25, restart), (0.6, restart)],
        )
    finally:
        platform.stop("activities#2")
        platform.processes.pop("activities#2", None)
