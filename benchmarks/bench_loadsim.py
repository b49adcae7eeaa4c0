"""Load of a district: 1, 10 and 100 communities against 1, 2 and 4 replicas, PostgreSQL.

    python benchmarks/bench_loadsim.py [--communities 1,10,100] [--replicas 1,2,4] [--seconds 10]
                                       [--signups 300] [--quick]
    make loadsim                    # the full default (estimated half an hour to an hour on 2 cores)
    make loadsim ARGS=--quick       # 1 and 10 communities, 1 and 2 replicas, short phases (~10 min)

A benchmark, not a test: ``make test`` never runs it.

**Communities are tenants** (``guanyinli.tenancy``): the installation serves Guanyinli (the default)
and c002, c003, ... Each community has its own storage (a PostgreSQL schema, migrated by Alembic like
any community's), its own 15 patrol activities (its grids 1..15, each a weekly patrol over the month:
60 occurrences of 4 seats), its own volunteers (ids 1..300, each community's own) and their feed
links under ``/c/<slug>/`` (none for Guanyinli). Every sign-up and cancellation goes out with a token
of its community; the audit reads each community's storage.

For each number of communities C and each replica count R, a fresh PostgreSQL database and RabbitMQ
vhost, then, in turn (every phase measured alone, the CPU of the service processes read from
/proc/<pid>/stat before and after and divided by the requests):

1. sign-ups: ``--signups`` volunteers drawn round-robin over the communities, each signing up once
   for a patrol of their own community, all in flight at once from ``--clients`` processes
   (``activities.loadtest.fire``, R ``nameko run`` replicas of activities and the volunteers stand-in),
   audited (``activities.loadtest.audit``): lost, duplicates, overbooked;
2. cancellations: every 10th confirmed sign-up cancelled by an organiser from 4 threads (the first
   on the waitlist takes the seat); overbooked counted again after them;
3. feed reads with ETag: ``wrk`` polling the personal feeds of the first ``--feed-links`` volunteers
   (up to 300 C) with If-None-Match on the port the R replicas share (SO_REUSEPORT), ``--seconds``
   (``bench_feeds.wrk``); capacity per replica = 1 / CPU per request;
4. reminders, on PostgreSQL too: in a fresh database, each community's notifications storage (its
   schema, migrated) holds ``--reminders`` volunteers (addresses naming the community) with a
   confirmed duty 25 h ahead, written by the event handler's code, preferences without quiet hours;
   R ``nameko run`` replicas of the notifications service serve every community, SMTP to a local
   sink (``smtp_sink``); once they are up, every 24 h reminder is made due now by the real clock
   (one UPDATE a schema: the replicas read their own clocks) and the phase lasts until every
   community's reminder deliveries are finished (600 s at most): messages/s, CPU ms a message of
   the replicas and PostgreSQL backends, lost (a volunteer with no message) and duplicates (a
   second message to a volunteer, or a Message-ID seen twice in a community) at the sink;
5. roster builds: the Guanyinli patrol month solved once per community (up to ``--rosters``), R at a
   time in R processes (the solver as a replica runs it, ``--roster-seconds`` each).

The work of a phase does not grow with the communities (the sign-ups, cancellations and roster
builds of a cell are a fixed batch, the feed phase a fixed time; only the reminders grow,
``--reminders`` a community): what grows is the district's data (occurrences, volunteers, feed links), so the rows
show what more communities cost a request, and the replica counts where the machine runs out.
In the cells with 2 replicas a second batch of ``--signups`` / 2 sign-ups (volunteers of their own)
runs under py-spy (``bench_signup.Spy``) and where a sign-up's time goes is printed after the table
(audited too; ``--no-profile`` leaves it out).

Printed: a row per phase, communities and replicas (throughput, p50, p99, CPU ms per request), how
CPU per request and p99 grow with the communities (ratio to 1 community), the saturation point
(the replica count past which throughput rises less than 10 %, where p99 passes ``--p99-limit``, or
where the machine's cores were at least 90 % busy over the phase, from /proc/stat, other work included),
the throughput of each phase as the communities grow,
and the targets with met / not met: sign-ups >= 200 req/s with 2 replicas without overbooking,
notifications >= 250 msg/s, the feed's 304 path >= 2,000 req/s per replica (per core of CPU).
Other work on the machine shares its cores: CPU per request is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [
    str(ROOT / "common"),
    str(ROOT / "services" / "activities"),
    str(ROOT / "services" / "notifications"),
    str(HERE),
]

import requests  # noqa: E402
from bench_feeds import SECRET, drop_postgres_database, free_port, issue_tokens, postgres_database, wrk  # noqa: E402
from bench_identity import ensure_local_keys  # noqa: E402
from bench_rpc import Vhost  # noqa: E402
from bench_signup import Spy, backend_pids, cpu_seconds, percentile  # noqa: E402
from smtp_sink import SinkProcess  # noqa: E402
from sqlalchemy import text  # noqa: E402

from activities.loadtest import ServiceProcesses, audit, fire  # noqa: E402
from guanyinli import tenancy  # noqa: E402

GRIDS = 15
VOLUNTEERS = 300  # per community (Guanyinli)
SEATS = 4
WEEKS = 4
TARGET_SIGNUPS = 200.0  # req/s, 2 replicas, PostgreSQL
TARGET_REMINDERS = 250.0  # msg/s
TARGET_304 = 2000.0  # req/s per replica
PROFILED = 1_000_000  # volunteer ids of the profiled sign-ups start past it
MACHINE_BUSY = 90.0  # % of every core busy (this run and other work): the machine counts as saturated


def slugs(communities: int) -> list[str]:
    """The district's communities: Guanyinli (the default) and c002, c003, ..."""
    return [tenancy.DEFAULT] + [f"c{k + 1:03d}" for k in range(1, communities)]


def community_url(url: str, slug: str) -> str:
    """A PostgreSQL URL whose connections see only the community's schema (its tables)."""
    schema = tenancy.schema(slug, {tenancy.SETTING: tenancy.DEFAULT})
    return url if schema is None else f"{url}?options=-csearch_path%3D{schema}"


def build_district(url: str, communities: int) -> dict[int, list[int]]:
    """Each community's storage (its schema, migrated) and 15 weekly patrols over the month (its
    own grids 1..15, its own ids); its occurrence ids."""
    from sqlalchemy.orm import Session

    from activities import store
    from guanyinli.db import make_engine
    from guanyinli.migrate import upgrade
    from guanyinli.timeutil import now

    config = {tenancy.SETTING: ",".join(slugs(communities))}
    day = now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=3)
    slots: dict[int, list[int]] = {}
    for k, slug in enumerate(slugs(communities)):
        upgrade("activities", url, community=slug, config=config)
        engine = make_engine(community_url(url, slug))
        with Session(engine) as session, session.begin():
            activities = []
            for grid in range(1, GRIDS + 1):
                start = day + timedelta(hours=6 + grid)
                activities.append(
                    (
                        start,
                        store.create_activity(
                            session,
                            {
                                "title": f"{slug} 第{grid}网格巡逻",
                                "kind": "patrol",
                                "grid_id": grid,
                                "start": start,
                                "duration_minutes": 60,
                                "rrule": f"FREQ=WEEKLY;COUNT={WEEKS}",
                                "roles": [{"name": "patroller", "needed": SEATS}],
                            },
                        ),
                    )
                )
            session.flush()
            slots[k] = [
                occ.id
                for start, activity in activities
                for occ in store.list_occurrences(
                    session, start, start + timedelta(days=7 * WEEKS), activity_id=activity.id
                )
            ]
        engine.dispose()
        if (k + 1) % 10 == 0:
            print(f"    {k + 1} communities migrated and filled", flush=True)
    return slots


def audit_district(url: str, communities: int, occurrences: dict[int, list[int]], answers: list[dict]) -> dict:
    """``activities.loadtest.audit`` in each community's storage, summed."""
    total: dict = {}
    for k, slug in enumerate(slugs(communities)):
        mine = [a for a in answers if (a.get("community") or tenancy.DEFAULT) == slug]
        if not occurrences.get(k) and not mine:
            continue
        report = audit(community_url(url, slug), occurrences.get(k) or [0], mine, 0)
        for key in ("confirmed", "waitlisted", "overbooked", "lost", "duplicates"):
            total[key] = total.get(key, 0) + report[key]
    return total


def feed_paths(url: str, communities: int, links: int) -> list[str]:
    """Personal feed links of the first volunteers of each community, ``links`` in all, each under
    its community's ``/c/<slug>`` prefix (none for Guanyinli), round-robin over the communities."""
    names = slugs(communities)
    config = {tenancy.SETTING: ",".join(names)}
    per_community = [
        [
            tenancy.path_for(slug, f"/feeds/volunteers/{token}.ics", config)
            for token in issue_tokens(
                community_url(url, slug), -(-links // communities), None if slug == tenancy.DEFAULT else slug
            )
        ]
        for slug in names
    ]
    mixed = [path for row in zip(*per_community, strict=True) for path in row]
    return mixed[:links]


def service_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


def phase_signups(config, url, slots, args, pids, count=None, offset=0) -> tuple[dict, list[dict]]:
    """Volunteers drawn round-robin over the communities, each signing up once for a patrol of their
    own community (volunteer ids are each community's own; ``offset`` starts a batch of others)."""
    communities = len(slots)
    names = slugs(communities)
    calls, targets, of_community = [], {}, {}
    for i in range(args.signups if count is None else count):
        k, j = i % communities, i // communities
        if j >= VOLUNTEERS:
            break  # every volunteer of the district has signed up once
        # a unique key per (community, volunteer) for the client; the volunteer id is offset + j + 1
        key = (offset + j + 1) * 1000 + k
        calls.append(key)
        targets[key] = (slots[k][j % len(slots[k])], "patroller")
        of_community[key] = names[k]
    watched = pids + backend_pids(url)
    before = service_cpu(watched)
    answers, seconds = fire_keyed(config["AMQP_URI"], calls, args.clients, targets, of_community)
    watched = sorted(set(watched) | set(backend_pids(url)))
    used = service_cpu(watched) - before
    occurrences: dict[int, list[int]] = {}
    for key, (occurrence, _) in targets.items():
        occurrences.setdefault(key % 1000, set()).add(occurrence)
    occurrences = {k: sorted(v) for k, v in occurrences.items()}
    report = audit_district(url, communities, occurrences, answers)
    latencies = [a["seconds"] for a in answers if "seconds" in a]
    row = {
        "phase": "sign-ups",
        "requests": len(answers),
        "rate": len(answers) / seconds if seconds else float("nan"),
        "p50": 1000 * percentile(latencies, 0.5),
        "p99": 1000 * percentile(latencies, 0.99),
        "cpu_ms": 1000 * used / max(len(answers), 1),
        "lost": report["lost"],
        "duplicates": report["duplicates"],
        "overbooked": report["overbooked"],
        "note": f"{report['confirmed']} confirmed, {report['waitlisted']} waitlisted; CPU incl. PostgreSQL backends",
        "occurrences": occurrences,
    }
    return row, [a for a in answers if a.get("status") == "confirmed"]


def fire_keyed(amqp_uri, keys, clients, targets, of_community) -> tuple[list[dict], float]:
    """``activities.loadtest.fire`` with volunteers of several communities: ``keys`` are
    volunteer id x 1000 + community index, turned back into volunteer ids in the requests."""
    calls = [(k // 1000, *targets[k], None if of_community[k] == tenancy.DEFAULT else of_community[k]) for k in keys]
    return fire(amqp_uri, None, [], clients, calls=calls)


def phase_cancellations(config, url, confirmed, occurrences, pids, communities) -> dict:
    from guanyinli.identity import tools_context
    from guanyinli.rpc import ServiceRpcProxy

    chosen = [(a.get("community") or tenancy.DEFAULT, a["signup_id"]) for a in confirmed[::10]]
    latencies, errors, lock = [], [], threading.Lock()
    ensure_local_keys()
    contexts = {
        slug: tools_context(["organiser"], name="loadsim", community=None if slug == tenancy.DEFAULT else slug)
        for slug in {c for c, _ in chosen}
    }

    def work(share):
        mine = []
        proxies = {}
        try:
            for slug, signup_id in share:
                if slug not in proxies:
                    proxies[slug] = ServiceRpcProxy("activities", config, context_data=contexts[slug], timeout=120)
                    proxies[slug].proxy = proxies[slug].start()
                t0 = time.perf_counter()
                try:
                    proxies[slug].proxy.cancel_sign_up(signup_id)
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}"[:120])
                mine.append(time.perf_counter() - t0)
        finally:
            for p in proxies.values():
                p.stop()
        with lock:
            latencies.extend(mine)

    # each thread takes whole communities, so it opens few proxies
    by_community: dict[str, list] = {}
    for item in chosen:
        by_community.setdefault(item[0], []).append(item)
    shares: list[list] = [[] for _ in range(4)]
    for i, items in enumerate(by_community.values()):
        shares[i % 4].extend(items)
    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    watched = pids + backend_pids(url)
    before = service_cpu(watched)
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    used = service_cpu(sorted(set(watched) | set(backend_pids(url)))) - before
    after = audit_district(url, communities, occurrences, [])
    return {
        "phase": "cancellations",
        "requests": len(chosen),
        "rate": len(chosen) / seconds if seconds else float("nan"),
        "p50": 1000 * percentile(latencies, 0.5),
        "p99": 1000 * percentile(latencies, 0.99),
        "cpu_ms": 1000 * used / max(len(chosen), 1),
        "lost": len(errors),
        "duplicates": after["duplicates"],
        "overbooked": after["overbooked"],
        "note": f"after: {after['confirmed']} confirmed, {after['waitlisted']} waitlisted"
        + (f"; errors {sorted(set(errors))[:2]}" if errors else ""),
    }


def phase_feeds(base, paths, tmp, pids, args) -> dict:
    session = requests.Session()
    current = [(path, session.get(base + path, timeout=60).headers["ETag"]) for path in paths]
    before = [cpu_seconds(p) for p in pids]
    rate, p50, p99, cpu_ms, other = wrk(base, current, tmp, pids, args.seconds, args.connections)
    split = "/".join(f"{cpu_seconds(p) - b:.1f}" for p, b in zip(pids, before, strict=True))
    return {
        "phase": "feed 304 (If-None-Match)",
        "requests": round(rate * args.seconds),
        "rate": rate,
        "p50": p50,
        "p99": p99,
        "cpu_ms": cpu_ms,
        "lost": other,
        "duplicates": 0,
        "overbooked": 0,
        "note": f"{len(paths)} links; {1000 / cpu_ms:.0f} req/s per replica (1 / CPU); CPU s by replica {split};"
        " 'lost' = answers not 304",
    }


REMINDER_LEAD_AHEAD = timedelta(hours=1)  # written due this far ahead; made due once the replicas are up
FINISHED = ("sent", "dead", "skipped", "expired")  # a delivery's final states (notifications.sending)


def reminder_address(slug: str, volunteer_id: int) -> str:
    """Each community's volunteers have ids of their own: the address names the community."""
    return f"v{volunteer_id}@{slug}.loadsim.example"


def build_reminders(url: str, names: list[str], count: int) -> None:
    """In each community's notifications storage (its schema, migrated), ``count`` volunteers with a
    contact, preferences without quiet hours (the real clock may be at night in community time) and
    a confirmed duty 25 h ahead, written by the code of the event handler: its 24 h reminder
    scheduled an hour ahead, its 2 h one later; the confirmations marked as already sent."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from guanyinli.db import make_engine
    from guanyinli.events import make_payload, read
    from guanyinli.migrate import upgrade
    from guanyinli.timeutil import now
    from notifications import domain, store
    from notifications.models import Delivery

    config = {tenancy.SETTING: ",".join(names)}
    schedule = domain.DigestSchedule()
    awake = domain.Preferences(quiet_start=None, quiet_end=None)
    moment = now()
    for k, slug in enumerate(names):
        upgrade("notifications", url, community=slug, config=config)
        engine = make_engine(community_url(url, slug))
        with Session(engine) as session:
            for i in range(1, count + 1):
                store.save_contact(session, i, moment, name=f"志愿者{i}", email=reminder_address(slug, i), active=True)
                store.save_preferences(session, i, awake, moment, schedule)
                start = moment + timedelta(hours=24) + REMINDER_LEAD_AHEAD + timedelta(seconds=i % 600)
                wire = make_payload(
                    "signup_confirmed",
                    {
                        "occurrence_id": 1000 + i % 60,
                        "activity_id": 1 + i % GRIDS,
                        "title": f"{slug} 第{i % GRIDS + 1}网格巡逻",
                        "kind": "patrol",
                        "start": start,
                        "end": start + timedelta(hours=1),
                        "place": slug,
                        "signup_id": i,
                        "volunteer_id": i,
                        "role": "patroller",
                        "status": "confirmed",
                    },
                )
                store.apply_event(session, "signup_confirmed", read("signup_confirmed", wire), moment, schedule)
            session.execute(update(Delivery).values(status="sent", attempts=1))
            session.commit()
        engine.dispose()
        if (k + 1) % 10 == 0:
            print(f"    {k + 1} notifications storages migrated and filled", flush=True)


def _schema_sql(slug: str, sql: str) -> str:
    schema = tenancy.schema(slug, {tenancy.SETTING: tenancy.DEFAULT}) or "public"
    return sql.replace("{s}", schema)


def make_due(engine, names: list[str]) -> None:
    """Every scheduled 24 h reminder due now, by the real clock: each replica's own clock reads it so."""
    from guanyinli.timeutil import now, to_db

    with engine.begin() as conn:
        for slug in names:
            conn.execute(
                text(
                    _schema_sql(
                        slug, "UPDATE {s}.reminders SET due_at = :t WHERE lead = '24h' AND status = 'scheduled'"
                    )
                ),
                {"t": to_db(now())},
            )


def reminder_statuses(engine, slug: str) -> dict[str, int]:
    """Statuses of the community's 24 h reminder deliveries."""
    sql = (
        "SELECT d.status, count(*) FROM {s}.deliveries d JOIN {s}.notifications n ON n.id = d.notification_id"
        " WHERE n.kind = 'reminder_24h' GROUP BY d.status"
    )
    with engine.connect() as conn:
        return dict(conn.execute(text(_schema_sql(slug, sql))).all())


def finished(statuses: dict[str, int], count: int) -> bool:
    """Every one of the community's ``count`` reminders has its delivery, and none is still to send."""
    return sum(statuses.values()) >= count and not set(statuses) - set(FINISHED)


def tally_communities(lines: list[tuple[str, str]], names: list[str], count: int) -> tuple[int, int, int]:
    """(sent, lost, duplicates) at the sink, community by community: lost, a volunteer with no
    message; duplicates, a second message to a volunteer or a Message-ID seen twice in a community."""
    by_slug: dict[str, list[tuple[str, str]]] = {slug: [] for slug in names}
    for rcpt, message_id in lines:
        slug = rcpt.split("@", 1)[1].split(".", 1)[0]
        by_slug.setdefault(slug, []).append((rcpt, message_id))
    lost = duplicates = 0
    for slug, mine in by_slug.items():
        recipients = {rcpt for rcpt, _ in mine}
        ids = {message_id for _, message_id in mine}
        lost += sum(1 for i in range(1, count + 1) if reminder_address(slug, i) not in recipients)
        duplicates += len(mine) - min(len(recipients), len(ids))
    return len(lines), lost, duplicates


def phase_reminders(communities: int, replicas: int, count: int, tmp: Path) -> dict:
    """``count`` due 24 h reminders in each community's notifications storage (PostgreSQL, a
    schema each), sent by R ``nameko run`` replicas of the notifications service to a local SMTP
    sink, until every community's deliveries are finished (600 s at most)."""
    from guanyinli.db import make_engine

    names = slugs(communities)
    url = postgres_database()
    sink = None
    try:
        t = time.perf_counter()
        build_reminders(url, names, count)
        setup = time.perf_counter() - t
        sink = SinkProcess(tmp, f"sink-{communities}-{replicas}")
        engine = make_engine(url)
        with Vhost("loadsim-reminders") as vhost:
            config = {
                "AMQP_URI": vhost.nameko_uri,
                "DB_URIS": {"notifications": url},
                tenancy.SETTING: ",".join(names),
                "SMTP": {"HOST": "127.0.0.1", "PORT": sink.port},
                "NOTIFICATIONS": {"POLL_INTERVAL": 0.05, "BATCH": 100, "TICK_BUDGET": 5, "CLAIM_LEASE": 120},
                "serializer": "json",
                "max_workers": 10,
                "LOGGING": {"version": 1, "root": {"level": "WARNING"}},
            }
            specs = [("notifications.service", "notifications", replicas)]
            with ServiceProcesses(config, specs, extra_path=[ROOT / "services" / "notifications"]) as procs:
                pids = [p.pid for p in procs.procs]
                watched = pids + backend_pids(url)
                before, sink_before = service_cpu(watched), cpu_seconds(sink.proc.pid)
                started = time.perf_counter()
                make_due(engine, names)
                pending = list(names)
                while pending and time.perf_counter() - started < 600:
                    time.sleep(0.1)
                    pending = [s for s in pending if not finished(reminder_statuses(engine, s), count)]
                elapsed = time.perf_counter() - started
                watched = sorted(set(watched) | set(backend_pids(url)))
                used = service_cpu(watched) - before
                sink_used = cpu_seconds(sink.proc.pid) - sink_before
        statuses: dict[str, int] = {}
        for slug in names:
            for status, n in reminder_statuses(engine, slug).items():
                statuses[status] = statuses.get(status, 0) + n
        engine.dispose()
    finally:
        if sink is not None:
            sink.stop()
        drop_postgres_database(url)
    sent, lost, duplicates = tally_communities(sink.lines(), names, count)
    return {
        "phase": "reminders",
        "requests": sent,
        "rate": sent / elapsed if elapsed else float("nan"),
        "p50": float("nan"),
        "p99": float("nan"),
        "cpu_ms": 1000 * used / max(sent, 1),
        "lost": lost,
        "duplicates": duplicates,
        "overbooked": 0,
        "note": f"{count} x {communities} due; deliveries {statuses}"
        + (f", {len(pending)} communities unfinished at 600 s" if pending else "")
        + f"; CPU incl. PostgreSQL backends; SMTP sink {sink_used:.1f} s; setup {setup:.0f} s",
    }


def _roster(seconds: float) -> tuple[float, float]:
    from activities.roster import Options, scenarios, solve

    started, cpu = time.perf_counter(), time.process_time()
    solve(scenarios.guanyinli_month(1), Options(time_limit=seconds, num_workers=1))
    return time.perf_counter() - started, time.process_time() - cpu


def _warm() -> None:
    from activities.roster import scenarios, solve  # noqa: F401  (a replica has the solver loaded)


def phase_rosters(builds: int, replicas: int, seconds: float) -> dict:
    with ProcessPoolExecutor(replicas) as pool:
        for future in [pool.submit(_warm) for _ in range(replicas)]:
            future.result()
        started = time.perf_counter()
        done = list(pool.map(_roster, [seconds] * builds))
        elapsed = time.perf_counter() - started
    walls = [w for w, _ in done]
    return {
        "phase": "roster builds",
        "requests": builds,
        "rate": builds / elapsed,
        "p50": 1000 * percentile(walls, 0.5),
        "p99": 1000 * percentile(walls, 0.99),
        "cpu_ms": 1000 * statistics.fmean(c for _, c in done),
        "lost": 0,
        "duplicates": 0,
        "overbooked": 0,
        "note": f"1x Guanyinli month, {seconds:g} s limit, {replicas} at a time",
    }


def machine_cpu() -> tuple[int, int]:
    """Busy and total jiffies of every core so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def measured(run, *args) -> dict:
    """A phase's row with the share of the machine's CPU busy while it ran (other work included)."""
    busy, total = machine_cpu()
    row = run(*args)
    busy2, total2 = machine_cpu()
    row["busy"] = 100 * (busy2 - busy) / max(total2 - total, 1)
    return row


def run_cell(communities: int, replicas: int, args) -> list[dict]:
    rows = []
    url = postgres_database()
    if url is None:
        raise SystemExit("loadsim needs PostgreSQL (TEST_POSTGRES_URL)")
    tmp = Path(tempfile.mkdtemp(prefix="loadsim-"))
    try:
        t = time.perf_counter()
        slots = build_district(url, communities)
        links = min(VOLUNTEERS * communities, args.feed_links)
        paths = feed_paths(url, communities, links)
        print(
            f"  setup: {communities} communities, {sum(map(len, slots.values()))} occurrences, {links} feed links"
            f" in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        with Vhost("loadsim") as vhost:
            port = free_port()
            config = {
                "AMQP_URI": vhost.nameko_uri,
                "DB_URIS": {"activities": url},
                tenancy.SETTING: ",".join(slugs(communities)),
                "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",  # shared by the replicas (SO_REUSEPORT)
                "FEED_SECRET": SECRET,
                "FEED_CACHE_SECONDS": 300,
                "serializer": "json",
                "max_workers": 10,
                "STANDIN_ANY_VOLUNTEER": True,
                "VOLUNTEERS_RPC_TIMEOUT": 300,
                "LOGGING": {"version": 1, "root": {"level": "WARNING"}},
            }
            specs = [("activities.service", "activities", replicas), ("standin_volunteers", "volunteers", 1)]
            extra = [ROOT / "services/activities/tests/integration"]
            with ServiceProcesses(config, specs, extra_path=extra) as procs:
                pids = [p.pid for p in procs.procs[:replicas]]
                busy, total = machine_cpu()
                row, confirmed = phase_signups(config, url, slots, args, pids)
                busy2, total2 = machine_cpu()
                row["busy"] = 100 * (busy2 - busy) / max(total2 - total, 1)
                rows.append(row)
                progress(communities, replicas, row)
                if args.profile and replicas == 2:
                    # A second batch of sign-ups (volunteers of their own) under py-spy, kept out of the table.
                    spy_dir = tmp / "spy"
                    spy_dir.mkdir()
                    with Spy(pids, spy_dir, True) as spy:
                        spied, _ = phase_signups(config, url, slots, args, pids, args.signups // 2, PROFILED)
                    if spy.enabled:
                        row["profile"] = (*spy.shares(), spied)
                rows.append(
                    measured(phase_cancellations, config, url, confirmed, row.pop("occurrences"), pids, communities)
                )
                progress(communities, replicas, rows[-1])
                rows.append(measured(phase_feeds, f"http://127.0.0.1:{port}", paths, tmp, pids, args))
                progress(communities, replicas, rows[-1])
        rows.append(measured(phase_reminders, communities, replicas, args.reminders, tmp))
        progress(communities, replicas, rows[-1])
        rows.append(measured(phase_rosters, min(communities, args.rosters), replicas, args.roster_seconds))
        progress(communities, replicas, rows[-1])
    finally:
        drop_postgres_database(url)
        shutil.rmtree(tmp, ignore_errors=True)
    for r in rows:
        r.update(communities=communities, replicas=replicas)
    return rows


def progress(communities: int, replicas: int, r: dict) -> None:
    print(
        f"  {communities} comm., {replicas} repl., {r['phase']}: {r['rate']:.1f}/s, p99 {r['p99']:.0f} ms,"
        f" CPU {r['cpu_ms']:.2f} ms/req",
        flush=True,
    )


def fmt(value: float, spec: str = ".0f") -> str:
    return "-" if value != value else format(value, spec)  # NaN: not measured


def report(rows: list[dict], args) -> int:
    print("\nLoad of a district, PostgreSQL: communities as tenants, each with its own schema, ids and feed links")
    header = (
        f"{'phase':<26}{'comm.':>6}{'repl.':>6}{'requests':>9}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/req':>11}{'busy %':>7}{'lost':>6}{'dupl.':>6}{'overb.':>7}  note"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['phase']:<26}{r['communities']:>6}{r['replicas']:>6}{r['requests']:>9}{r['rate']:>9.1f}"
            f"{fmt(r['p50']):>9}{fmt(r['p99']):>9}{fmt(r['cpu_ms'], '.2f'):>11}{r['busy']:>7.0f}{r['lost']:>6}{r['duplicates']:>6}"
            f"{r['overbooked']:>7}  {r['note']}"
        )
    phases = list(dict.fromkeys(r["phase"] for r in rows))
    levels = sorted({r["communities"] for r in rows})
    replica_counts = sorted({r["replicas"] for r in rows})
    cell = {(r["phase"], r["communities"], r["replicas"]): r for r in rows}

    print("\nGrowth with the communities (ratio to the fewest communities, same replicas): CPU per request / p99")
    for phase in phases:
        for n in replica_counts:
            first = cell.get((phase, levels[0], n))
            parts = []
            for c in levels[1:]:
                r = cell.get((phase, c, n))
                if first and r:
                    cpu = r["cpu_ms"] / first["cpu_ms"] if first["cpu_ms"] else float("nan")
                    p99 = r["p99"] / first["p99"] if first["p99"] == first["p99"] and first["p99"] else float("nan")
                    parts.append(f"{c} communities: CPU x{fmt(cpu, '.2f')}, p99 x{fmt(p99, '.2f')}")
            if parts:
                print(f"  {phase}, {n} replica{'s' if n > 1 else ''}: " + "; ".join(parts))

    print(f"\nSaturation (throughput up < 10 % from one replica count to the next, or p99 > {args.p99_limit:g} ms)")
    for phase in phases:
        for c in levels:
            series = [cell[(phase, c, n)] for n in replica_counts if (phase, c, n) in cell]
            point = None
            for prev, nxt in zip(series, series[1:], strict=False):
                if nxt["rate"] < 1.10 * prev["rate"]:
                    point = (
                        f"saturated at {prev['replicas']} replica(s): {nxt['replicas']} give {nxt['rate']:.1f}/s"
                        f" against {prev['rate']:.1f}/s"
                    )
                    break
            late = next((r for r in series if r["p99"] == r["p99"] and r["p99"] > args.p99_limit), None)
            if late and point is None:
                point = f"p99 {late['p99']:.0f} ms past the limit at {late['replicas']} replica(s)"
            elif late:
                point += f"; p99 {late['p99']:.0f} ms past the limit at {late['replicas']} replica(s)"
            hot = [r for r in series if r["busy"] >= MACHINE_BUSY]
            if hot:
                point = (point + "; " if point else "") + (
                    f"machine CPU {hot[0]['busy']:.0f} % busy from {hot[0]['replicas']} replica(s)"
                )
            print(f"  {phase}, {c} communities: {point or 'not saturated within the replica counts run'}")
    print("  by load (more communities, same replicas: throughput no longer rising):")
    for phase in phases:
        for n in replica_counts:
            series = [cell[(phase, c, n)] for c in levels if (phase, c, n) in cell]
            rates = ", ".join(f"{r['communities']}: {r['rate']:.1f}/s" for r in series)
            print(f"    {phase}, {n} replica{'s' if n > 1 else ''}: {rates}")

    profiled = []  # the py-spy batches: audited like the others
    for r in rows:
        if r.get("profile"):
            samples, shares, spied = r["profile"]
            print(
                f"\nWhere a sign-up's time goes, {r['communities']} communities, 2 replicas: a second batch of"
                f" {spied['requests']} under py-spy ({samples} samples of the replicas; {spied['rate']:.1f} req/s,"
                f" lost {spied['lost']}, duplicates {spied['duplicates']}, overbooked {spied['overbooked']})"
            )
            for label, share in shares:
                print(f"  {100 * share:5.1f} %  {label}")
            profiled.append(spied)

    exact = all(r["lost"] == 0 and r["duplicates"] == 0 and r["overbooked"] == 0 for r in rows + profiled)
    signups = [r for r in rows if r["phase"] == "sign-ups" and r["replicas"] == 2]
    reminders = [r for r in rows if r["phase"].startswith("reminders")]
    feeds = [r for r in rows if r["phase"].startswith("feed")]
    print("\nTargets (2 cores shared with other work)")
    if signups:
        best = max(r["rate"] for r in signups)
        ok = best >= TARGET_SIGNUPS and all(r["overbooked"] == 0 for r in signups)
        print(
            f"  sign-ups >= {TARGET_SIGNUPS:g} req/s, 2 replicas, PostgreSQL, none overbooked: best cell {best:.1f} -> "
            + ("met" if ok else "NOT met")
        )
    else:
        print("  sign-ups with 2 replicas: not run")
    if reminders:
        worst, best = min(r["rate"] for r in reminders), max(r["rate"] for r in reminders)
        print(
            f"  notifications >= {TARGET_REMINDERS:g} msg/s in every cell: worst {worst:.1f},"
            f" best {best:.1f} -> " + ("met" if worst >= TARGET_REMINDERS else "NOT met")
        )
    if feeds:
        per = min(1000 / r["cpu_ms"] for r in feeds)
        print(
            f"  feed 304 path >= {TARGET_304:g} req/s per replica (1 / CPU per request): worst {per:.0f} -> "
            + ("met" if per >= TARGET_304 else "NOT met")
        )
    lost = sum(r["lost"] for r in rows + profiled if r["phase"] in ("sign-ups", "cancellations", "reminders"))
    dupl = sum(r["duplicates"] for r in rows + profiled)
    over = sum(r["overbooked"] for r in rows + profiled)
    print(
        f"  sign-ups and reminders: overbooked {over}, lost {lost}, duplicates {dupl} (must be 0): "
        + ("ok" if exact else "NOT ok")
    )
    return 0 if exact else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", default="1,10,100")
    parser.add_argument("--replicas", default="1,2,4")
    parser.add_argument("--seconds", type=int, default=10, help="length of the feed phase (wrk)")
    parser.add_argument("--signups", type=int, default=300, help="sign-ups in each cell (all in flight at once)")
    parser.add_argument("--clients", type=int, default=4, help="sign-up client processes")
    parser.add_argument("--feed-links", type=int, default=3000, help="personal feeds polled at most")
    parser.add_argument("--connections", type=int, default=16, help="wrk's keep-alive connections")
    parser.add_argument("--reminders", type=int, default=100, help="due reminders per community")
    parser.add_argument("--rosters", type=int, default=20, help="roster builds at most per cell")
    parser.add_argument("--roster-seconds", type=float, default=2.0)
    parser.add_argument("--p99-limit", type=float, default=5000.0, help="ms: past it a level counts as saturated")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="no py-spy sign-up batch")
    parser.add_argument("--quick", action="store_true", help="1 and 10 communities, 1 and 2 replicas, short phases")
    args = parser.parse_args(argv)
    if args.quick:
        args.communities, args.replicas, args.seconds = "1,10", "1,2", 4
        args.signups, args.feed_links, args.reminders, args.rosters, args.roster_seconds = 200, 1000, 100, 4, 1.0
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian package wrk)")
    ensure_local_keys()
    os.environ.setdefault("FEED_SECRET", secrets.token_hex(16))
    levels = [int(x) for x in args.communities.split(",") if x]
    counts = [int(x) for x in args.replicas.split(",") if x]
    rows = []
    started, load_at_start = time.monotonic(), f"{os.getloadavg()[0]:.1f}"
    for communities in levels:
        for replicas in counts:
            print(f"{communities} communities, {replicas} replicas", flush=True)
            rows += run_cell(communities, replicas, args)
    code = report(rows, args)
    print(
        f"({time.monotonic() - started:.0f} s; load average {load_at_start} at the start, {os.getloadavg()[0]:.1f} at the end)"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
