"""Data the scenarios start from, created through the services' own RPC methods."""

from __future__ import annotations

import itertools
import random
import time
from collections import defaultdict
from datetime import datetime, timedelta

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.testing import signed
from guanyinli.timeutil import iso, now

ORGANISER = signed({"volunteer_id": 1, "roles": ["organiser"], "name": "王芳"})
SYSTEM = signed({"roles": ["system"], "name": "reliability suite"})
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
_phones = itertools.count(random.Random().randrange(10_000_000, 80_000_000))


def address(tag: str, i: int) -> str:
    """The email of a test's i-th volunteer (it says which test they belong to)."""
    return f"{tag}-{i}@reliability.example.org"


def new_volunteers(rpc, n: int, tag: str, team: str = "voluntary_patrol") -> list[dict]:
    """n volunteers with unique phones and emails (the email says which test they belong to)."""
    made = []
    for i in range(n):
        made.append(
            rpc.volunteers.create_volunteer(
                name=random.choice(SURNAMES) + random.choice(GIVEN) + random.choice(GIVEN),
                phone=f"139{next(_phones):08d}",
                email=address(tag, i),
                teams=[team],
                grid_id=1 + i % 15,
            )
        )
    return made


def quiet_hours_off(rpc, volunteer_ids, platform, timeout: float = 60, channels=("email",)) -> None:
    """Messages go out at once whatever the time of day the suite runs (22:00-07:00 would hold them).

    Waits until the notifications service has the volunteers' contacts (from volunteer_created)."""
    for vid in volunteer_ids:
        rpc.notifications.set_preferences(volunteer_id=vid, quiet_hours=False, channels=list(channels))
    deadline = time.monotonic() + timeout
    ids = ",".join(str(int(v)) for v in volunteer_ids)
    while time.monotonic() < deadline:
        known = platform.dbs.scalar(
            "notifications", f"SELECT count(*) FROM contacts WHERE email IS NOT NULL AND volunteer_id IN ({ids})"
        )
        if known == len(volunteer_ids):
            return
        time.sleep(0.5)
    raise TimeoutError("the notifications service did not learn the volunteers' emails")


def one_off(rpc, start, **fields) -> dict:
    """Create a one-off activity starting at `start` (aware datetime); returns its occurrence."""
    activity = rpc.activities.create_activity(start=iso(start), **fields)
    found = rpc.activities.list_occurrences(
        start=iso(start - timedelta(hours=1)), end=iso(start + timedelta(hours=3)), activity_id=activity["id"]
    )
    assert len(found) == 1, found
    return found[0]


def new_patrols(rpc, count: int, seats: int, days_ahead: int = 12, starts_at: datetime | None = None) -> list[dict]:
    """`count` one-off patrols (one role `patrol` with `seats`), each on its own evening; returns occurrences.

    With `starts_at`: every patrol starts then, each in its own grid (the reminders of sign-ups
    for patrols about two hours ahead come due while a test runs)."""
    occurrences = []
    base = now().replace(hour=19, minute=0, second=0, microsecond=0) + timedelta(days=days_ahead)
    for i in range(count):
        if starts_at is not None:
            start = starts_at
        else:
            start = base + timedelta(days=i, minutes=random.randrange(0, 50))
        occurrences.append(
            one_off(
                rpc,
                start,
                title=f"第{1 + i % 15}网格夜间巡逻",
                kind="patrol",
                team="voluntary_patrol",
                grid_id=1 + i % 15,
                duration_minutes=90,
                roles=[{"name": "patrol", "needed": seats}],
            )
        )
    return occurrences


def seats_report(platform, occurrence_ids) -> tuple[int, list[str]]:
    """(overbooked roles, notes): confirmed rows against capacity and against the seat counter."""
    ids = ",".join(str(int(o)) for o in occurrence_ids)
    rows = platform.dbs.query(
        "activities",
        "SELECT r.id, r.capacity, r.confirmed, "
        "(SELECT count(*) FROM signups s WHERE s.occurrence_role_id = r.id AND s.status = 'confirmed') "
        f"FROM occurrence_roles r WHERE r.occurrence_id IN ({ids})",
    )
    overbooked, notes = 0, []
    for role_id, capacity, counter, confirmed in rows:
        if confirmed > capacity or counter != confirmed:
            overbooked += 1
            notes.append(
                f"occurrence_role {role_id}: capacity {capacity}, counter {counter}, confirmed rows {confirmed}"
            )
    return overbooked, notes


def emails_by_recipient(platform, prefix: str) -> dict[str, dict[str, int]]:
    """recipient -> {Message-ID: copies received} for the emails of one test."""
    seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for mail in platform.deliveries.emails():
        for rcpt in mail["to"]:
            if rcpt.startswith(prefix + "-"):
                seen[rcpt][mail["message_id"]] += 1
    return seen


def webhooks_by_volunteer(platform, volunteer_ids) -> tuple[dict[int, dict[str, int]], list[str]]:
    """volunteer id -> {delivery id: copies received}, and the deliveries whose signature is wrong
    (checked here from the documented scheme: hex HMAC-SHA256 of `<timestamp>.<raw body>`)."""
    import hashlib
    import hmac

    from rel_platform import WEBHOOK_SECRET

    wanted = set(volunteer_ids)
    seen: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    bad = []
    for hook in platform.deliveries.webhooks():
        body = hook["body"] if isinstance(hook["body"], dict) else {}
        if body.get("volunteer_id") not in wanted:
            continue
        headers = {k.lower(): v for k, v in hook["headers"].items()}
        seen[body["volunteer_id"]][headers.get("x-guanyinli-delivery", "?")] += 1
        timestamp = headers.get("x-guanyinli-timestamp", "")
        expected = hmac.new(
            WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + hook["raw"].encode("utf-8"), hashlib.sha256
        ).hexdigest()
        if headers.get("x-guanyinli-signature") != f"sha256={expected}":
            bad.append(headers.get("x-guanyinli-delivery", "?"))
    return seen, bad


def wait_for_emails(platform, prefix: str, expected: dict[str, int], timeout: float = 120) -> dict:
    """Wait until every recipient has at least its expected number of distinct messages, then a bit
    longer (so late duplicates are counted too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = emails_by_recipient(platform, prefix)
        if all(len(seen.get(r, {})) >= n for r, n in expected.items()):
            break
        time.sleep(1)
    time.sleep(3)
    return emails_by_recipient(platform, prefix)


def trace_message(platform, volunteer_id: int) -> str:
    """Where a volunteer's sign-up message stopped: the sign-up, its outbox events, the
    notification and each delivery, so a failure says which step lost it."""
    try:
        return _trace_message(platform, volunteer_id)
    except Exception as exc:  # a diagnosis must not hide the failure it explains
        return f"volunteer {volunteer_id}: not traced ({exc!r})"


def _trace_message(platform, volunteer_id: int) -> str:
    signups = platform.dbs.query("activities", "SELECT id, status FROM signups WHERE volunteer_id = :v", v=volunteer_id)
    outbox = [
        (r[0], "sent" if r[2] else "unsent")
        for r in platform.dbs.query("activities", "SELECT event_type, payload, sent_at FROM outbox_events")
        if (r[1] or {}).get("volunteer_id") == volunteer_id
    ]
    deliveries = platform.dbs.query(
        "notifications",
        "SELECT n.kind, n.status, d.channel, d.status, d.attempts, d.last_error FROM notifications n "
        "LEFT JOIN deliveries d ON d.notification_id = n.id WHERE n.volunteer_id = :v",
        v=volunteer_id,
    )
    contact = platform.dbs.query("notifications", "SELECT email FROM contacts WHERE volunteer_id = :v", v=volunteer_id)
    return (
        f"volunteer {volunteer_id}: sign-ups {[tuple(r) for r in signups]}; outbox {outbox}; "
        f"notifications/deliveries {[tuple(r) for r in deliveries]}; contact {[r[0] for r in contact]}"
    )


def seed_platform(platform) -> dict:
    """A few volunteers and activities, so that fuzzed ids 1..6 often exist."""
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=30) as rpc:
        volunteers = new_volunteers(rpc, 6, "fuzz-seed")
        occurrences = new_patrols(rpc, 2, seats=2, days_ahead=20)
    with ClusterRpcProxy(platform.rpc_config, context_data=SYSTEM, timeout=30) as rpc:
        rpc.activities.sign_up(occurrence_id=occurrences[0]["id"], volunteer_id=volunteers[0]["id"], role="patrol")
        rpc.activities.issue_feed_token(volunteer_id=volunteers[0]["id"])
    appeals = []
    if "appeals" in platform.processes:
        with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=30) as rpc:
            for grid_id, category in ((1, "repair"), (2, "errand")):
                appeals.append(
                    rpc.appeals.receive_appeal(
                        category=category,
                        grid_id=grid_id,
                        description="fuzz seed",
                        resident_name="居民",
                        resident_phone="13800000000",
                    )
                )
    return {"volunteers": volunteers, "occurrences": occurrences, "appeals": appeals}
