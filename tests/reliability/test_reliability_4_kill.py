"""kill -9 in the middle of work: the activities service during sign-ups, the notifications
service in the middle of a batch of emails. After a restart the work finishes and nothing is
done twice.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

import pytest
from rel_data import (
    ORGANISER,
    SYSTEM,
    address,
    emails_by_recipient,
    new_volunteers,
    one_off,
    quiet_hours_off,
    wait_for_emails,
    webhooks_by_volunteer,
)
from rel_signups import signup_storm

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.timeutil import iso, now

pytestmark = pytest.mark.reliability

SIGNUPS = int(os.environ.get("RELIABILITY_SIGNUPS", "300"))
BATCH = int(os.environ.get("RELIABILITY_EMAIL_BATCH", "150"))


def test_activities_killed_during_signups(healthy, tally):
    platform = healthy

    def kill_activities() -> str:
        platform.kill9("activities")
        platform.start("activities", wait=False)  # the clients' retries wait for it
        return "activities killed -9 and restarted"

    signup_storm(
        platform,
        tally.row("kill -9 activities under sign-ups"),
        signups=SIGNUPS,
        concurrency=40,
        roles=6,
        seats=5,
        faults=[(0.3, kill_activities), (0.65, kill_activities)],
    )
    platform.wait_healthy("activities")


def test_notifications_killed_mid_batch(healthy, tally):
    """An occurrence with many volunteers is cancelled: one email and one signed webhook each. The
    notifications service is killed twice while it sends them; after its restart every message
    arrives, none twice (a resend of the same Message-ID / delivery id, which the receiver drops,
    is reported apart: it is the one window the outbox documents)."""
    platform = healthy
    row = tally.row("kill -9 notifications mid-batch")
    tag = f"batch{uuid.uuid4().hex[:6]}"
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=60) as rpc:
        volunteers = new_volunteers(rpc, BATCH, tag)
        start = now().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=15)
        occ = one_off(
            rpc,
            start,
            title="观音里大扫除（测试）",
            kind="sanitation",
            team="sanitation_green",
            grid_id=6,
            duration_minutes=120,
            roles=[{"name": "cleaner", "needed": BATCH}],
        )
    ids = [v["id"] for v in volunteers]
    with ClusterRpcProxy(platform.rpc_config, context_data=SYSTEM, timeout=60) as rpc:
        quiet_hours_off(rpc, ids, platform, channels=("email", "webhook"))
        for vid in ids:
            rpc.activities.sign_up(occurrence_id=occ["id"], volunteer_id=vid, role="cleaner")
        row.calls += 2 * len(ids)
    # the confirmations go out first; then the cancellation makes the batch
    wait_for_emails(platform, tag, {address(tag, i): 1 for i in range(BATCH)})
    before = {r: dict(m) for r, m in emails_by_recipient(platform, tag).items()}

    platform.stop("notifications")  # the events wait in the durable queue: the batch starts at once
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=60) as rpc:
        rpc.activities.cancel_occurrence(occurrence_id=occ["id"], reason="暴雨预警（测试）")
        row.calls += 1
    platform.start("notifications", wait=False)

    def sent_since() -> int:
        after = emails_by_recipient(platform, tag)
        return sum(len(set(m) - set(before.get(r, {}))) for r, m in after.items())

    kills = []
    for share in (0.2, 0.55):
        deadline = time.monotonic() + 120
        while sent_since() < share * BATCH and time.monotonic() < deadline:
            time.sleep(0.02)
        platform.kill9("notifications")
        kills.append(sent_since())
        platform.start("notifications", wait=False)
        row.faults += 1
    platform.wait_healthy("notifications")

    expected = {address(tag, i): 2 for i in range(BATCH)}  # confirmation + cancellation
    seen = wait_for_emails(platform, tag, expected, timeout=180)
    missing = [r for r, n in expected.items() if len(seen.get(r, {})) < n]
    extra = {r: dict(m) for r, m in seen.items() if len(m) > 2}
    resent = sum(n - 1 for m in seen.values() for n in m.values() if n > 1)
    hooks, badly_signed = webhooks_by_volunteer(platform, ids)
    hooks_missing = [v for v in ids if len(hooks.get(v, {})) < 2]
    hooks_extra = {v: dict(m) for v, m in hooks.items() if len(m) > 2}
    resent += sum(n - 1 for m in hooks.values() for n in m.values() if n > 1)
    row.lost += len(missing) + len(hooks_missing)
    row.duplicated += len(extra) + len(hooks_extra)
    outbox = platform.dbs.query(
        "notifications",
        "SELECT d.status, count(*) FROM deliveries d JOIN notifications n ON n.id = d.notification_id "
        "WHERE n.volunteer_id = ANY(:ids) GROUP BY d.status",
        ids=ids,
    )
    row.notes.append(
        f"{BATCH} cancellations by email and signed webhook; killed after {kills[0]} and {kills[1]} emails had "
        f"arrived; deliveries by status {dict(outbox)}"
        + (f"; {resent} resent with the same Message-ID / delivery id" if resent else "")
    )
    assert not missing, f"{len(missing)} volunteers never told by email: {missing[:5]}"
    assert not extra, f"told twice by email: {list(extra.items())[:5]}"
    assert not hooks_missing, f"{len(hooks_missing)} volunteers never told by webhook: {hooks_missing[:5]}"
    assert not hooks_extra, f"told twice by webhook: {list(hooks_extra.items())[:5]}"
    assert not badly_signed, f"webhooks with a wrong signature: {badly_signed[:5]}"


def _has_rpc(service: str, method: str) -> bool:
    from rel_fuzz import discover

    return any(m.service == service and m.name == method for m in discover([service]))


@pytest.fixture(scope="module")
def demo_data(platform):
    """The demo month (about 300 volunteers, patrols of every grid), loaded as `make run` does."""
    import subprocess
    import sys

    for service in ("volunteers", "activities"):
        subprocess.run(
            [sys.executable, "-m", f"{service}.demo", "--database-url", platform.dbs.urls[service]],
            env=platform.env(service),
            check=True,
            capture_output=True,
        )


@pytest.mark.skipif(not _has_rpc("activities", "build_roster"), reason="activities has no build_roster RPC yet")
def test_activities_killed_mid_roster_solve(healthy, demo_data, tally):
    """A roster build is under way when the activities service is killed: the request was not
    acknowledged, so the restarted service solves it again and the caller gets one roster; no
    half-built or second roster is left behind."""
    import eventlet
    from rel_clients import RetryingClient

    platform = healthy
    row = tally.row("kill -9 activities mid roster solve")
    client = RetryingClient(platform.rpc_config, ORGANISER, attempt_timeout=180)
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=60) as rpc:
        before = {r["id"] for r in rpc.activities.list_rosters()}
    monday = (now() + timedelta(days=7 - now().weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    # four weeks: a single week of home-grid patrols can be proved optimal in under 4 s, before the kill
    kwargs = {"start": iso(monday), "end": iso(monday + timedelta(days=28)), "options": {"time_limit": 15}}
    call = eventlet.spawn(client.call, "activities", "build_roster", kwargs, "roster", time.monotonic() + 400)
    eventlet.sleep(4)
    assert not call.dead, "the solve finished before the kill: give it a longer time_limit"
    platform.kill9("activities")
    platform.start("activities", wait=False)
    row.faults += 1
    outcome = call.wait()
    client.close()
    row.calls += outcome.attempts + 1
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=60) as rpc:
        after = [r for r in rpc.activities.list_rosters() if r["id"] not in before]
        row.calls += 1
    if outcome.kind != "ok":
        row.lost += 1
        row.untyped += outcome.kind == "untyped"
        row.internal += outcome.kind == "internal"
    finished = [r for r in after if r.get("status") not in ("solving", "failed")]
    stale = [r for r in after if r.get("status") == "solving"]
    row.duplicated += max(0, len(after) - 1)  # one request, one roster record
    row.notes.append(
        f"attempts {outcome.attempts}; new rosters {[(r['id'], r.get('status')) for r in after]}"
        + (f"; {len(stale)} left 'solving' by the killed process" if stale else "")
    )
    assert outcome.kind == "ok", f"build_roster: {outcome.kind} {outcome.error!r}"
    assert [r["id"] for r in finished] == [outcome.result["id"]], f"more than one roster built: {finished}"
    assert not stale, f"rosters the killed process left 'solving' for ever: {[r['id'] for r in stale]}"
