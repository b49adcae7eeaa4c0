"""A sign-up storm with a fault injected part way, and the checks that follow it.

Hundreds of volunteers sign up (one request each, with its own request_id) for a few small
roles through retrying clients; `fault(share_done)` is called as the answers come in. Then:
every request has exactly one outcome and it is what the database holds (else: lost), no
volunteer holds two sign-ups (duplicated), no role more confirmed volunteers than seats or a
counter that disagrees (overbooked), no bare RemoteError (untyped) or InternalError, and every
volunteer got exactly one message about their sign-up (lost / duplicated; a resend with the same
Message-ID, which a receiver drops, is reported apart).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import eventlet
from rel_clients import storm
from rel_data import (
    ORGANISER,
    SYSTEM,
    address,
    new_patrols,
    new_volunteers,
    quiet_hours_off,
    seats_report,
    trace_message,
    wait_for_emails,
)

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.timeutil import now

REMINDER_LEAD = timedelta(hours=2)  # notifications' shortest reminder lead (REMINDER_LEADS["2h"])


def signup_storm(
    platform,
    row,
    *,
    signups: int,
    concurrency: int,
    roles: int,
    seats: int,
    faults: list[tuple[float, Callable[[], str]]],
    reminders_in: timedelta | None = None,
) -> None:
    """With `reminders_in`, the patrols start 2 hours and that much ahead: each confirmed volunteer
    is also sent the patrol's 2-hour reminder once it is due (two messages, one otherwise)."""
    tag = f"storm{uuid.uuid4().hex[:6]}"
    starts_at = now() + REMINDER_LEAD + reminders_in if reminders_in is not None else None
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=60) as rpc:
        volunteers = new_volunteers(rpc, signups, tag)
        occurrences = new_patrols(rpc, roles, seats, starts_at=starts_at)
    with ClusterRpcProxy(platform.rpc_config, context_data=SYSTEM, timeout=60) as rpc:
        quiet_hours_off(rpc, [v["id"] for v in volunteers], platform)

    calls = []
    for i, volunteer in enumerate(volunteers):
        kwargs = {
            "occurrence_id": occurrences[i % roles]["id"],
            "volunteer_id": volunteer["id"],
            "role": "patrol",
            "request_id": f"{tag}-{i}",
        }
        calls.append(("activities", "sign_up", kwargs, f"{tag}-{i}"))

    progress: list = []
    injected: list[str] = []

    def injector():
        for share, fault in faults:
            while len(progress) < share * len(calls):
                eventlet.sleep(0.05)
            answered = len(progress)
            injected.append(f"{fault()} after {answered} of {len(calls)} answers")

    fault_thread = eventlet.spawn(injector)
    began = time.monotonic()
    outcomes = storm(
        platform.rpc_config, calls, concurrency, context_data=SYSTEM, progress=progress, attempt_timeout=10
    )
    elapsed = time.monotonic() - began
    fault_thread.wait()
    row.calls += sum(o.attempts for o in outcomes)
    row.faults += len(injected)

    by_key = {o.key: o for o in outcomes}
    # Each volunteer makes one request: the sign-up of volunteer i answers the key f"{tag}-{i}"
    # (callers' keys live in request_keys_activities, scoped to the caller, not on the sign-up).
    key_of = {v["id"]: f"{tag}-{i}" for i, v in enumerate(volunteers)}
    in_db = {
        key_of[r[0]]: r[1]
        for r in platform.dbs.query(
            "activities", "SELECT volunteer_id, status FROM signups WHERE volunteer_id = ANY(:ids)", ids=list(key_of)
        )
    }
    problems = []
    for _, _, _, key in calls:
        outcome = by_key.get(key)
        if outcome is None or outcome.kind == "lost":
            row.lost += 1
            problems.append(f"{key}: no answer")
        elif outcome.kind == "untyped":
            row.untyped += 1
            problems.append(f"{key}: untyped {outcome.error!r}")
        elif outcome.kind == "internal":
            row.internal += 1
            problems.append(f"{key}: {outcome.error!r}")
        elif outcome.kind == "ok":
            if in_db.get(key) != outcome.result["status"]:
                row.lost += 1
                problems.append(f"{key}: answered {outcome.result['status']}, the database has {in_db.get(key)}")
        elif key in in_db:
            row.lost += 1
            problems.append(f"{key}: refused with {outcome.error_name}, yet the database has a sign-up")
    per_volunteer = Counter(
        r[0]
        for r in platform.dbs.query(
            "activities",
            "SELECT volunteer_id FROM signups WHERE volunteer_id = ANY(:ids)",
            ids=[v["id"] for v in volunteers],
        )
    )
    doubled = [v for v, n in per_volunteer.items() if n > 1]
    row.duplicated += len(doubled)
    overbooked, seat_notes = seats_report(platform, [o["id"] for o in occurrences])
    row.overbooked += overbooked

    by_address = {address(tag, i): v["id"] for i, v in enumerate(volunteers)}
    # one message about the sign-up; a confirmed volunteer's reminder too when the patrol is near
    told = {
        address(tag, i): 1 + (reminders_in is not None and in_db[f"{tag}-{i}"] == "confirmed")
        for i in range(len(volunteers))
        if f"{tag}-{i}" in in_db
    }
    wait = 120 + (max(0.0, (starts_at - REMINDER_LEAD - now()).total_seconds()) if starts_at else 0)
    seen = wait_for_emails(platform, tag, told, timeout=wait)
    missing = [r for r, n in told.items() if len(seen.get(r, {})) < n]
    extra = {r: dict(ids) for r, ids in seen.items() if len(ids) > told.get(r, 1)}
    resent = sum(n - 1 for ids in seen.values() for n in ids.values() if n > 1)
    row.lost += len(missing)
    row.duplicated += len(extra)

    statuses = Counter(o.result["status"] for o in outcomes if o.kind == "ok")
    refused = Counter(o.error_name for o in outcomes if o.kind == "typed")
    row.notes.append(
        f"{len(calls)} sign-ups on {roles} roles x {seats} seats by {concurrency} clients in {elapsed:.1f} s; "
        f"faults: {'; '.join(injected)}; {sum(1 for o in outcomes if o.attempts > 1)} requests needed a retry; "
        f"outcomes {dict(statuses)}, refused {dict(refused)}; {sum(len(v) for v in seen.values())} distinct emails"
        + (f" ({sum(told.values()) - len(told)} of them reminders)" if reminders_in is not None else "")
        + (f", {resent} resent with the same Message-ID" if resent else "")
    )
    problems += seat_notes + [f"volunteer {v}: {per_volunteer[v]} sign-ups" for v in doubled]
    problems += [f"no message for {r}: {trace_message(platform, by_address[r])}" for r in missing[:10]]
    problems += [f"{r}: {ids}" for r, ids in list(extra.items())[:10]]
    if problems:
        problems.insert(0, platform.dump_stacks())
    assert statuses["confirmed"] == roles * seats, f"{statuses['confirmed']} confirmed for {roles * seats} seats"
    assert not problems, "\n".join(problems[:30])
