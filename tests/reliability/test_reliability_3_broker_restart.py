"""RabbitMQ restarted (twice) while hundreds of sign-ups are in flight.

Clients behave like real ones: a call that gets no answer is retried with the same request_id
on a fresh connection. Afterwards every request has exactly one outcome that matches the
database, no role holds more confirmed volunteers than seats, and every volunteer got exactly
one message about their sign-up: none lost, none doubled.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from rel_clients import storm
from rel_data import (
    ORGANISER,
    SYSTEM,
    new_patrols,
    new_volunteers,
    quiet_hours_off,
    seats_report,
    wait_for_emails,
)

pytestmark = pytest.mark.reliability

SIGNUPS = int(os.environ.get("RELIABILITY_SIGNUPS", "300"))
CONCURRENCY = int(os.environ.get("RELIABILITY_CONCURRENCY", "40"))
ROLES, SEATS = 6, 5


def test_signups_survive_broker_restarts(healthy, tally):
    platform = healthy
    row = tally.row("broker restart under sign-ups")
    tag = f"storm{uuid.uuid4().hex[:6]}"
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=60) as rpc:
        volunteers = new_volunteers(rpc, SIGNUPS, tag)
        occurrences = new_patrols(rpc, ROLES, SEATS)
    with ClusterRpcProxy(platform.rpc_config, context_data=SYSTEM, timeout=60) as rpc:
        quiet_hours_off(rpc, [v["id"] for v in volunteers], platform)
    platform.deliveries.clear()

    calls = []
    for i, volunteer in enumerate(volunteers):
        request_id = f"{tag}-{i}"
        kwargs = {
            "occurrence_id": occurrences[i % ROLES]["id"],
            "volunteer_id": volunteer["id"],
            "role": "patrol",
            "request_id": request_id,
        }
        calls.append(("activities", "sign_up", kwargs, request_id))

    progress: list = []
    restarts: list[float] = []

    def injector():
        for share in (0.25, 0.6):
            while len(progress) < share * len(calls):
                eventlet.sleep(0.05)
            restarts.append(platform.broker.restart(down_for=1.0))

    fault = eventlet.spawn(injector)
    began = time.monotonic()
    outcomes = storm(
        platform.rpc_config, calls, CONCURRENCY, context_data=SYSTEM, progress=progress, attempt_timeout=10
    )
    elapsed = time.monotonic() - began
    fault.wait()
    row.calls += sum(o.attempts for o in outcomes)
    row.faults += len(restarts)
    retried = sum(1 for o in outcomes if o.attempts > 1)

    # every request: one answer, typed, and the same as the database says
    by_key = {o.key: o for o in outcomes}
    db_rows = {
        r[0]: (r[1], r[2])
        for r in platform.dbs.query(
            "activities", "SELECT request_id, status, volunteer_id FROM signups WHERE request_id LIKE :p", p=f"{tag}-%"
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
            status = outcome.result["status"]
            if db_rows.get(key, (None,))[0] != status:
                row.lost += 1
                problems.append(f"{key}: answered {status}, database has {db_rows.get(key)}")
        elif key in db_rows:
            problems.append(f"{key}: refused with {outcome.error_name} but the database has a sign-up")
            row.lost += 1
    per_volunteer = Counter(
        r[0]
        for r in platform.dbs.query(
            "activities",
            "SELECT volunteer_id FROM signups WHERE request_id LIKE :p OR volunteer_id = ANY(:ids)",
            p=f"{tag}-%",
            ids=[v["id"] for v in volunteers],
        )
    )
    doubled = [v for v, n in per_volunteer.items() if n > 1]
    row.duplicated += len(doubled)
    overbooked, seat_notes = seats_report(platform, [o["id"] for o in occurrences])
    row.overbooked += overbooked

    # every sign-up outcome told once: one distinct message per volunteer
    expected = {f"{tag}-{i}@reliability.example.org": 1 for i, v in enumerate(volunteers)}
    seen = wait_for_emails(platform, tag, expected)
    missing = [r for r in expected if not seen.get(r)]
    extra = {r: dict(ids) for r, ids in seen.items() if len(ids) > 1}
    resent = sum(n - 1 for ids in seen.values() for n in ids.values() if n > 1)
    row.lost += len(missing)
    row.duplicated += len(extra)
    statuses = Counter(o.result["status"] for o in outcomes if o.kind == "ok")
    refused = Counter(o.error_name for o in outcomes if o.kind == "typed")
    row.notes.append(
        f"{len(calls)} sign-ups on {ROLES} roles x {SEATS} seats by {CONCURRENCY} clients in {elapsed:.1f} s; "
        f"broker away {', '.join(f'{r:.1f} s' for r in restarts)}; {retried} requests needed a retry; "
        f"outcomes {dict(statuses)}, refused {dict(refused)}; emails {sum(len(v) for v in seen.values())} distinct"
        + (f", {resent} resent with the same Message-ID" if resent else "")
    )
    problems += seat_notes + [f"volunteer {v}: {per_volunteer[v]} sign-ups" for v in doubled]
    problems += [f"no message for {r}" for r in missing[:10]] + [f"{r}: {ids}" for r, ids in list(extra.items())[:10]]
    assert statuses["confirmed"] == ROLES * SEATS, f"{statuses['confirmed']} confirmed for {ROLES * SEATS} seats"
    assert not problems, "\n".join(problems[:30])
