"""iCal feeds: rendering a year of one volunteer's duties, and the HTTP 304 path against the 200 path.

    python benchmarks/bench_feeds.py [--renders 20] [--requests 300]

Setup (not timed): a temporary SQLite database with a year of activities from tomorrow on (a
weekly patrol, weekend school on Saturdays and Sundays, a weekly elderly visit, monthly
clean-ups, twelve lectures with their setup duty) and one volunteer signed up for most of them
(gaps, so EXDATEs appear), through the service's own ``store`` functions.

1. Render: ``feed_data.personal_feed`` (queries and series building) + ``ical.render``, median
   of ``--renders`` runs. Baseline in the same run: the same duties rendered as one VEVENT each
   (no RRULE), the feed a naive exporter would write.
2. HTTP: ``nameko run activities.service`` on a fresh RabbitMQ vhost (management API on 15672),
   one client with keep-alive, ``--requests`` GETs of the personal feed without If-None-Match
   (200) and with the current ETag (304); first with the body cache off (``FEED_CACHE_SECONDS=0``:
   every request renders; its 200 row is the baseline), then on (a request costs the token
   lookup and the version query; the 304 also saves the transfer, most of a phone's cost).
   The feed URL's token is its only credential (no RPC call is made); the service still needs
   identity keys to start (``IDENTITY_KEYS_DIR``, a throwaway set where it is unset).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PATHS = [str(ROOT / "common"), str(ROOT / "services" / "activities")]
sys.path[:0] = PATHS + [str(HERE)]

import requests  # noqa: E402
from bench_identity import ensure_local_keys  # noqa: E402
from bench_rpc import Vhost  # noqa: E402

from guanyinli.timeutil import now  # noqa: E402

VOLUNTEER = 1
SECRET = "bench-feed-secret-0123456789abcdef"


def build_year(url: str) -> int:
    """Activities for a year and one volunteer's sign-ups; returns the number of duties."""
    from sqlalchemy.orm import Session

    from activities import store
    from activities.domain import RuleViolation
    from guanyinli.db import make_engine
    from guanyinli.migrate import upgrade

    upgrade("activities", url)
    engine = make_engine(url)
    day = now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    specs = [
        ("第四网格夜巡, 东门; 西门", "patrol", {"grid_id": 4}, day.replace(hour=19), 120, "FREQ=WEEKLY;COUNT=52", 5),
        (
            "林宏汉周末爱心学校：作业辅导",
            "tutoring",
            {"room": "活动室"},
            day.replace(hour=9),
            120,
            "FREQ=WEEKLY;BYDAY=SA,SU;COUNT=104",
            3,
        ),
        (
            "探访独居老人",
            "elderly_visit",
            {"courtyard": "观音里5号院"},
            day.replace(hour=15),
            60,
            "FREQ=WEEKLY;COUNT=52",
            4,
        ),
        (
            "观音里3号院清洁日",
            "sanitation",
            {"courtyard": "观音里3号院"},
            day.replace(hour=8),
            180,
            "FREQ=MONTHLY;COUNT=12",
            0,
        ),
    ]
    duties = 0
    with Session(engine) as session, session.begin():
        for title, kind, place, start, minutes, rule, skip_every in specs:
            data = {"title": title, "kind": kind, "start": start, "duration_minutes": minutes, "rrule": rule, **place}
            if kind == "elderly_visit":
                data.update(visited_person="张桂兰", private_address="观音里5号院2栋302室", health_notes="糖尿病")
            activity = store.create_activity(session, data)
            occurrences = store.list_occurrences(session, start, start + timedelta(days=399), activity_id=activity.id)
            for i, occ in enumerate(occurrences):
                if skip_every and i % skip_every == skip_every - 1:
                    continue  # a gap: an EXDATE in the series
                try:
                    store.sign_up(session, occ.id, None, VOLUNTEER, None)
                    duties += 1
                except RuleViolation:
                    pass
        for month in range(12):
            start = (day + timedelta(days=30 * month + 3)).replace(hour=19)
            lecture = store.create_activity(
                session,
                {
                    "title": f"立德树人讲堂第{month + 1}讲",
                    "kind": "lecture",
                    "room": "立德树人讲堂",
                    "start": start,
                    "duration_minutes": 90,
                    "capacity": 60,
                },
            )
            (occ,) = store.list_occurrences(session, start, start + timedelta(hours=2), activity_id=lecture.id)
            store.sign_up(session, occ.id, "setup", VOLUNTEER, None)
            duties += 1
    engine.dispose()
    return duties


def time_renders(url: str, renders: int) -> dict:
    from sqlalchemy.orm import Session

    from activities import feed_data, ical
    from guanyinli.db import make_engine

    engine = make_engine(url)
    series_times, flat_times = [], []
    for _ in range(renders):
        started = time.perf_counter()
        with Session(engine) as session:
            feed = feed_data.personal_feed(session, VOLUNTEER, now())
        body = ical.render(feed)
        series_times.append(time.perf_counter() - started)
    # Baseline: every duty its own VEVENT (what the series expand to, written out).
    clock = feed_data.Clock(now())
    flat_events = []
    for event in feed.events:
        if not event.rrule:
            flat_events.append(event)
            continue
        overrides = {o.recurrence_id: o for o in event.overrides}
        instances = feed_data.expand(event.start, event.rrule, event.start, event.start + timedelta(days=800))
        for start in instances:
            if start in set(event.exdates):
                continue
            o = overrides.get(start)
            flat_events.append(
                ical.Event(
                    key=f"{event.key}/{start.isoformat()}",
                    summary=event.summary,
                    start=o.start if o else start,
                    end=o.end if o else start + (event.end - event.start),
                    last_modified=event.last_modified,
                    sequence=event.sequence,
                    status=o.status if o else event.status,
                    location=event.location,
                    description=event.description,
                )
            )
    flat = ical.Feed(name=feed.name, events=tuple(flat_events))
    for _ in range(renders):
        started = time.perf_counter()
        with Session(engine) as session:
            feed_data.personal_feed(session, VOLUNTEER, clock.now)  # same queries, then the flat render
        flat_body = ical.render(flat)
        flat_times.append(time.perf_counter() - started)
    engine.dispose()
    return {
        "series": (statistics.median(series_times), len(body), body.count(b"BEGIN:VEVENT")),
        "flat": (statistics.median(flat_times), len(flat_body), flat_body.count(b"BEGIN:VEVENT")),
        "body": body,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def issue_token(url: str) -> str:
    """The volunteer's token row, written as issue_feed_token does."""
    from sqlalchemy.orm import Session

    from activities.feeds import derive_token, token_hash
    from activities.models import FeedToken
    from guanyinli.db import make_engine

    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        row = FeedToken(volunteer_id=VOLUNTEER, token_hash="pending")
        session.add(row)
        session.flush()
        token = derive_token(SECRET, row.id, VOLUNTEER)
        row.token_hash = token_hash(token)
    engine.dispose()
    return token


def time_http(vhost: Vhost, tmp: Path, url: str, token: str, requests_count: int, cache_seconds: int) -> dict:
    port = free_port()
    config = tmp / f"nameko-{cache_seconds}.yaml"
    config.write_text(
        json.dumps(
            {
                "AMQP_URI": vhost.nameko_uri,
                "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                "DB_URIS": {"activities": url},
                "FEED_SECRET": SECRET,
                "FEED_CACHE_SECONDS": cache_seconds,
                "serializer": "json",
                "max_workers": 10,
                "LOGGING": {"version": 1, "root": {"level": "WARNING"}},
            }
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(PATHS + [os.environ.get("PYTHONPATH", "")])}
    nameko = str(Path(sys.executable).with_name("nameko"))
    process = subprocess.Popen([nameko, "run", "--config", str(config), "activities.service"], env=env, cwd=tmp)
    feed_url = f"http://127.0.0.1:{port}/feeds/volunteers/{token}.ics"
    results = {}
    try:
        client = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            try:
                first = client.get(feed_url, timeout=10)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the activities service did not start") from None
                time.sleep(0.3)
        assert first.status_code == 200, first.status_code
        etag = first.headers["ETag"]
        for name, headers, expected in (
            ("200 (full body)", {}, 200),
            ("304 (If-None-Match)", {"If-None-Match": etag}, 304),
        ):
            for _ in range(10):
                client.get(feed_url, headers=headers, timeout=10)
            latencies, sent = [], 0
            started = time.perf_counter()
            for _ in range(requests_count):
                t0 = time.perf_counter()
                response = client.get(feed_url, headers=headers, timeout=10)
                latencies.append(time.perf_counter() - t0)
                assert response.status_code == expected, (name, response.status_code)
                sent += len(response.content)
            elapsed = time.perf_counter() - started
            latencies.sort()
            results[str(expected)] = (
                requests_count / elapsed,
                latencies[len(latencies) // 2] * 1000,
                latencies[int(len(latencies) * 0.99) - 1] * 1000,
                sent / requests_count,
            )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    ensure_local_keys()  # the service refuses to start without identity keys
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        url = f"sqlite:///{tmp / 'activities.db'}"
        duties = build_year(url)
        renders = time_renders(url, args.renders)
        print(f"\nOne volunteer, {duties} duties over a year; median of {args.renders} renders (queries included)")
        print(f"{'feed':<34}{'ms':>10}{'bytes':>10}{'VEVENTs':>10}")
        for label, key in (("series (RRULE, EXDATE, overrides)", "series"), ("baseline: one VEVENT per duty", "flat")):
            seconds, size, count = renders[key]
            print(f"{label:<34}{seconds * 1000:>10.1f}{size:>10}{count:>10}")
        print(f"ratio series / baseline time: {renders['series'][0] / renders['flat'][0]:.2f}")
        token = issue_token(url)
        with Vhost() as vhost:
            fresh = time_http(vhost, tmp, url, token, args.requests, cache_seconds=0)
            cached = time_http(vhost, tmp, url, token, args.requests, cache_seconds=300)
        rows = [
            ("200, rendered every time (baseline)", fresh["200"]),
            ("304, rendered every time", fresh["304"]),
            ("200, body reused (version check)", cached["200"]),
            ("304, body reused (version check)", cached["304"]),
        ]
        print(f"\nHTTP GET of the personal feed, one keep-alive client, {args.requests} requests each")
        print(f"{'path':<38}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'bytes/resp':>12}")
        for name, (rps, p50, p99, size) in rows:
            print(f"{name:<38}{rps:>10.1f}{p50:>10.1f}{p99:>10.1f}{size:>12.0f}")
        print(f"ratio 304 (body reused) / 200 rendered requests per second: {cached['304'][0] / fresh['200'][0]:.2f}")
        print(f"ratio 304 / 200, both with the body reused: {cached['304'][0] / cached['200'][0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
