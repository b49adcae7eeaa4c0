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
3. Capacity of one replica: ``--tokens`` volunteers (the first with the year of duties) each with
   a personal link, polled round-robin with their current ETags by ``wrk`` (Debian package
   ``wrk``; ``--connections`` keep-alive connections, ``--seconds`` each), on SQLite and, when
   reachable, PostgreSQL (a throwaway database on ``TEST_POSTGRES_URL``). Printed: requests/s,
   p50/p99, and the service process's CPU per request, so capacity per replica (one process, one
   core) = 1 / CPU per request, a figure that holds on a machine busy with other work, where
   requests/s does not. Baseline in the same run: the 200 path rendering every request. Target:
   the 304 path at 2,000 requests/s per replica.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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
    from activities.exceptions import DutyClash
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
                except (RuleViolation, DutyClash):
                    pass  # the series' dates may meet another series' on some start days
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
            try:
                store.sign_up(session, occ.id, "setup", VOLUNTEER, None)
                duties += 1
            except DutyClash:
                pass  # a lecture night that falls on the weekly patrol
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
    results = {}
    with serving(vhost, tmp, url, cache_seconds) as (_, base):
        feed_url = f"{base}/feeds/volunteers/{token}.ics"
        client = requests.Session()
        first = client.get(feed_url, timeout=10)
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
    return results


TARGET_304 = 2000  # requests/s per replica (issue: the feed's 304 path)


@contextlib.contextmanager
def serving(vhost: Vhost, tmp: Path, url: str, cache_seconds: int):
    """``nameko run activities.service`` on ``url``; yields (process, base URL) once it answers."""
    port = free_port()
    config = tmp / f"nameko-serve-{port}.yaml"
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
    process = subprocess.Popen(
        [nameko, "run", "--config", str(config), "activities.service"], env=env, cwd=tmp, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/feeds/lectures.ics", timeout=10)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the activities service did not start") from None
                time.sleep(0.3)
        yield process, base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def issue_tokens(url: str, count: int, community: str | None = None) -> list[str]:
    """Personal links of volunteers 1..count, written as issue_feed_token does (``community``: the
    slug of a community other than the default one, whose tokens name it)."""
    from sqlalchemy.orm import Session

    from activities.feeds import derive_token, token_hash
    from activities.models import FeedToken
    from guanyinli.db import make_engine

    engine = make_engine(url)
    tokens = []
    with Session(engine) as session, session.begin():
        for volunteer in range(1, count + 1):
            row = FeedToken(volunteer_id=volunteer, token_hash=f"pending-{volunteer}")
            session.add(row)
            session.flush()
            token = derive_token(SECRET, row.id, volunteer, community)
            row.token_hash = token_hash(token)
            tokens.append(token)
    engine.dispose()
    return tokens


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    base: str,
    requests_list: list[tuple[str, str | None]],
    tmp: Path,
    pid: int | list[int],
    seconds: int,
    connections: int,
):
    """(requests/s, p50 ms, p99 ms, CPU ms per request of the service, answers other than expected).

    ``pid``: the service process, or the replicas sharing the port (their CPU summed)."""
    pids = [pid] if isinstance(pid, int) else list(pid)
    entries = ",".join(f"{{{json.dumps(path)},{json.dumps(etag) if etag else 'nil'}}}" for path, etag in requests_list)
    expected = 304 if requests_list[0][1] else 200
    script = tmp / f"wrk-{uuid.uuid4().hex[:6]}.lua"
    script.write_text(
        f"local paths = {{{entries}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  local p = paths[i]\n"
        "  if p[2] then return wrk.format('GET', p[1], {['If-None-Match'] = p[2]}) end\n"
        "  return wrk.format('GET', p[1])\nend\n"
        f"response = function(status) if status ~= {expected} then io.write('UNEXPECTED ' .. status .. '\\n') end end\n"
    )
    before = sum(cpu_seconds(p) for p in pids)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    used = sum(cpu_seconds(p) for p in pids) - before
    count = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    other = out.count("UNEXPECTED ")  # printed by the script for any status but the expected one
    return rate, percentile("50"), percentile("99"), used * 1000 / max(count, 1), other


def postgres_database() -> str | None:
    """A throwaway PostgreSQL database's URL, or None when PostgreSQL is not reachable."""
    from sqlalchemy import create_engine

    from guanyinli.config import normalize_url

    admin = normalize_url(os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    name = f"bench_feeds_{uuid.uuid4().hex[:8]}"
    try:
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL row
        print(f"PostgreSQL not reachable ({type(exc).__name__}): its rows are left out")
        return None
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine

    from guanyinli.config import normalize_url

    admin = normalize_url(os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
    engine.dispose()


def capacity(vhost: Vhost, tmp: Path, args) -> list[tuple]:
    """The replica-capacity rows: per database, the rendering 200 (baseline) and the 304 path."""
    databases = [("SQLite", f"sqlite:///{tmp / 'capacity.db'}")]
    if not args.sqlite_only and (pg := postgres_database()):
        databases.append(("PostgreSQL", pg))
    rows = []
    try:
        for name, url in databases:
            build_year(url)
            tokens = issue_tokens(url, args.tokens)
            paths = [f"/feeds/volunteers/{token}.ics" for token in tokens]
            with serving(vhost, tmp, url, cache_seconds=0) as (process, base):
                plain = [(paths[0], None)]  # the volunteer with the year: a full render each time
                rows.append(
                    (
                        name,
                        "200, rendered every time (baseline)",
                        1,
                        *wrk(base, plain, tmp, process.pid, args.seconds, args.connections),
                    )
                )
            with serving(vhost, tmp, url, cache_seconds=300) as (process, base):
                session = requests.Session()
                current = [(path, session.get(base + path, timeout=30).headers["ETag"]) for path in paths]
                rows.append(
                    (
                        name,
                        "304, If-None-Match",
                        len(paths),
                        *wrk(base, current, tmp, process.pid, args.seconds, args.connections),
                    )
                )
    finally:
        for name, url in databases:
            if name == "PostgreSQL":
                drop_postgres_database(url)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--tokens", type=int, default=500, help="personal links polled in the capacity rows")
    parser.add_argument("--connections", type=int, default=16, help="wrk's keep-alive connections")
    parser.add_argument("--seconds", type=int, default=10, help="length of each capacity row")
    parser.add_argument("--sqlite-only", action="store_true", help="leave out the PostgreSQL capacity rows")
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
        if not shutil.which("wrk"):
            print("\nwrk is not installed (Debian package wrk): the capacity rows are left out")
            return 0
        with Vhost() as vhost:
            rows = capacity(vhost, tmp, args)
        print(f"\nCapacity of one replica: wrk, {args.connections} connections, {args.seconds} s a row")
        print(
            f"{'database':<12}{'path':<38}{'links':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'CPU ms/req':>11}{'req/s/core':>11}{'other':>7}"
        )
        for db, path, links, rate, p50, p99, cpu_ms, other in rows:
            print(
                f"{db:<12}{path:<38}{links:>6}{rate:>9.0f}{p50:>9.1f}{p99:>9.1f}{cpu_ms:>11.3f}"
                f"{1000 / cpu_ms:>11.0f}{other:>7}"
            )
        for db in dict.fromkeys(row[0] for row in rows):
            base, fast = (row for row in rows if row[0] == db)
            per_core = 1000 / fast[6]
            print(
                f"{db}: 304 path {per_core:.0f} req/s per core, {base[6] / fast[6]:.1f}x the rendering 200; "
                f"target {TARGET_304}: {'met' if per_core >= TARGET_304 else 'not met'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
