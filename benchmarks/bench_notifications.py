"""Reminders for 10,000 duties through the notifications outbox to a local SMTP sink.

    python benchmarks/bench_notifications.py [--duties 10000] [--replicas 1 2] [--target 250] [--profile]

Setup (not timed): 10,000 volunteers each confirmed for one duty starting about two days after
a fixed moment, handled by the same code as the event handler (duties, 24 h and 2 h reminders);
their confirmations are marked as already sent. Then the service clock jumps to when every 24 h
reminder is due and the running service (nameko container, the real poller, its default lanes
of senders) queues and sends them: one row per replica count. Counted at the sink (an aiosmtpd
process): messages per second, duplicates (a recipient with more than one reminder) and losses
(a recipient with none); beside them the CPU seconds of the service and of the sink. The
baseline sends the same rendered messages with the standard library alone (``EmailMessage``,
``smtplib``) over one connection, one after the other, with no database. The target is 250
messages/s for every replica count; when a row misses it (or with ``--profile``) one more
1-replica run is made under cProfile and where its time went is printed.
Needs RabbitMQ (AMQP_URI, management API on 15672 for a throwaway vhost); SQLite database.
"""

from __future__ import annotations

import sys
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import collections  # noqa: E402
import cProfile  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import smtplib  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from email.message import EmailMessage  # noqa: E402
from email.utils import format_datetime, formataddr  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "common"), str(ROOT / "services" / "notifications")]

from bench_identity import ensure_local_keys  # noqa: E402
from bench_rpc import Vhost  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.testing.services import replace_dependencies  # noqa: E402
from smtp_sink import SinkProcess  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from guanyinli.db import make_engine  # noqa: E402
from guanyinli.events import make_payload, read  # noqa: E402
from guanyinli.migrate import upgrade  # noqa: E402
from guanyinli.timeutil import TZ  # noqa: E402
from notifications import domain, rendering, store  # noqa: E402
from notifications.models import Delivery  # noqa: E402
from notifications.service import NotificationsService  # noqa: E402

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)  # a Tuesday morning: no quiet hours in play
SPREAD = 600  # duty starts spread over ten minutes
FINISHED = ("sent", "dead", "skipped", "expired")
SENDER = "Guanyinli Community <noreply@guanyinli.example>"
TARGET = 250.0  # messages per second (issue 24, "Load of a district")


class BenchClock:
    def __init__(self, moment):
        self.current = moment

    def now(self):
        return self.current


def address(volunteer_id: int) -> str:
    return f"v{volunteer_id}@bench.guanyinli.example"


def build_database(path: Path, duties: int) -> None:
    """Contacts, duties and reminders for ``duties`` volunteers, through the event handler's code."""
    url = f"sqlite:///{path}"
    upgrade("notifications", url)
    engine = make_engine(url)
    schedule = domain.DigestSchedule()
    with Session(engine) as session:
        for i in range(1, duties + 1):
            store.save_contact(session, i, T0, name=f"志愿者{i}", email=address(i), active=True)
            start = T0 + timedelta(hours=48, seconds=i % SPREAD)
            wire = make_payload(
                "signup_confirmed",
                {
                    "occurrence_id": 1000 + i % 50,
                    "activity_id": 1,
                    "title": f"第{i % 15 + 1}网格巡逻",
                    "kind": "patrol",
                    "start": start,
                    "end": start + timedelta(hours=2),
                    "place": "观音里",
                    "signup_id": i,
                    "volunteer_id": i,
                    "role": "巡逻队员",
                    "status": "confirmed",
                },
            )
            store.apply_event(session, "signup_confirmed", read("signup_confirmed", wire), T0, schedule)
            if i % 1000 == 0:
                session.commit()
        # the confirmations went out when the volunteers signed up
        session.execute(update(Delivery).values(status="sent", attempts=1))
        session.commit()
    engine.dispose()


def tally(lines, duties: int) -> tuple[int, int]:
    per_recipient = collections.Counter(rcpt for rcpt, _ in lines)
    duplicates = sum(n - 1 for n in per_recipient.values() if n > 1)
    losses = sum(1 for i in range(1, duties + 1) if per_recipient[address(i)] == 0)
    return duplicates, losses


class CpuMeter:
    """CPU seconds of this process (the service, or the baseline's client) and of the sink process
    (counted when it has ended) over one run: where the run's time went, beside its wall time."""

    def __init__(self):
        self.own = time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.children = children.ru_utime + children.ru_stime

    def read(self) -> str:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        sink = children.ru_utime + children.ru_stime - self.children
        return f"CPU s: service {time.process_time() - self.own:.1f}, SMTP sink {sink:.1f}"


def profile_summary(stats: pstats.Stats, top: int = 12) -> list[str]:
    """Own time by part (SMTP client, message text, templates, database, the rest) and the functions
    that took most of it."""
    parts = collections.Counter()
    rows = []
    for (filename, line, function), (_, calls, own, _, _) in stats.stats.items():
        name = f"{filename}:{function}".replace("\\", "/")  # builtins: ~:<method 'commit' of 'sqlite3...'>
        if "epoll" in name or "eventlet/hubs" in name:
            part = "hub: waiting on sockets (the SMTP server, the broker)"
        elif any(k in name for k in ("smtplib", "socket", "greenio", "ssl")):
            part = "SMTP client (smtplib, sockets)"
        elif any(k in name for k in ("sqlalchemy", "sqlite", "psycopg", "/store.py", "guanyinli/db.py")):
            part = "database (claims, marks, reminders queued)"
        elif any(k in name for k in ("jinja2", "rendering.py", "templates")):
            part = "templates"
        elif any(k in name for k in ("/email/", "channels.py", "base64")):
            part = "message text (headers, body)"
        else:
            part = "other (nameko, the sender's logic)"
        parts[part] += own
        rows.append((own, calls, f"{Path(filename).name}:{line}({function})"))
    total = sum(parts.values()) or 1.0
    lines = [f"  {share:5.1f}%  {part}" for part, share in ((p, 100 * t / total) for p, t in parts.most_common())]
    lines.append("  functions by own time:")
    lines += [f"  {own:7.2f} s {calls:>8} calls  {where}" for own, calls, where in sorted(rows, reverse=True)[:top]]
    return lines


def run_outbox(template: Path, tmp: Path, duties: int, replicas: int, profile: bool = False) -> dict:
    db = tmp / f"outbox-{replicas}.db"
    shutil.copy(template, db)
    sink = SinkProcess(tmp, f"sink-{replicas}")
    clock = BenchClock(T0)
    containers = []
    try:
        with Vhost("bench-notifications") as vhost:
            config = {
                "AMQP_URI": vhost.nameko_uri,
                "serializer": "json",
                "max_workers": 10,
                "DB_URIS": {"notifications": f"sqlite:///{db}"},
                "SMTP": {"HOST": "127.0.0.1", "PORT": sink.port},
                "NOTIFICATIONS": {"POLL_INTERVAL": 0.05, "BATCH": 100, "TICK_BUDGET": 5, "CLAIM_LEASE": 120},
            }
            for _ in range(replicas):
                container = ServiceContainer(NotificationsService, config)
                replace_dependencies(container, clock=clock)
                container.start()
                containers.append(container)
            engine = make_engine(f"sqlite:///{db}")
            meter = CpuMeter()
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            clock.current = T0 + timedelta(hours=24, seconds=SPREAD)  # every 24 h reminder is due
            while True:
                time.sleep(0.1)
                with engine.connect() as conn:
                    finished = conn.execute(
                        select(func.count()).select_from(Delivery).where(Delivery.status.in_(FINISHED))
                    ).scalar()
                if finished >= 2 * duties or time.perf_counter() - started > 600:
                    break
            elapsed = time.perf_counter() - started
            if profiler:
                profiler.disable()
            for container in containers:
                container.stop()
            containers.clear()
            with engine.connect() as conn:
                statuses = dict(conn.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
            engine.dispose()
    finally:
        for container in containers:
            container.kill()
        sink.stop()
    lines = sink.lines()
    duplicates, losses = tally(lines, duties)
    return {
        "name": f"outbox, {replicas} replica{'s' if replicas > 1 else ''}" + (", profiled" if profile else ""),
        "messages": len(lines),
        "seconds": elapsed,
        "duplicates": duplicates,
        "losses": losses,
        "note": f"{meter.read()}; deliveries {statuses}",
        "profile": pstats.Stats(profiler) if profiler else None,
    }


def run_baseline(tmp: Path, duties: int) -> dict:
    """The same messages rendered and sent with the standard library alone (``EmailMessage``,
    ``smtplib.SMTP.send_message``) over one connection, one after the other, no database."""
    sink = SinkProcess(tmp, "sink-baseline")
    now = T0 + timedelta(hours=24, seconds=SPREAD)
    meter = CpuMeter()
    started = time.perf_counter()
    try:
        smtp = smtplib.SMTP("127.0.0.1", sink.port, timeout=30)
        smtp.ehlo()
        for i in range(1, duties + 1):
            start = T0 + timedelta(hours=48, seconds=i % SPREAD)
            context = domain.reminder_context(
                f"第{i % 15 + 1}网格巡逻", start, start + timedelta(hours=2), "观音里", "24h"
            )
            text = rendering.render("reminder_24h", "zh", context, f"志愿者{i}")
            email = EmailMessage()
            email["From"] = SENDER
            email["To"] = formataddr((f"志愿者{i}", address(i)))
            email["Subject"] = text.subject
            email["Message-ID"] = domain.message_id(f"baseline:{i}", i, "reminder_24h")
            email["Date"] = format_datetime(now)
            email["X-Guanyinli-Kind"] = "reminder_24h"
            email.set_content(text.text, charset="utf-8")
            smtp.send_message(email)
        smtp.quit()
        elapsed = time.perf_counter() - started
    finally:
        sink.stop()
    lines = sink.lines()
    duplicates, losses = tally(lines, duties)
    return {
        "name": "baseline: smtplib, no outbox",
        "messages": len(lines),
        "seconds": elapsed,
        "duplicates": duplicates,
        "losses": losses,
        "note": meter.read(),
    }


def progress(row: dict) -> None:
    rate = row["messages"] / row["seconds"] if row["seconds"] else 0.0
    print(f"{row['name']}: {row['messages']} messages in {row['seconds']:.1f} s, {rate:.0f}/s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duties", type=int, default=10_000)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--target", type=float, default=TARGET, help="messages per second wanted (default 250)")
    parser.add_argument(
        "--profile", action="store_true", help="profile one more 1-replica run (also done when the target is missed)"
    )
    args = parser.parse_args(argv)
    ensure_local_keys()  # the service containers verify callers and sign their own events with these
    tmp = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    try:
        t = time.perf_counter()
        template = tmp / "template.db"
        build_database(template, args.duties)
        print(
            f"setup: {args.duties} duties, {2 * args.duties} reminders in {time.perf_counter() - t:.1f} s", flush=True
        )
        rows = [run_baseline(tmp, args.duties)]
        progress(rows[-1])
        for replicas in args.replicas:
            rows.append(run_outbox(template, tmp, args.duties, replicas))
            progress(rows[-1])
        missed = any(r["messages"] / r["seconds"] < args.target for r in rows[1:] if r["seconds"])
        if args.profile or missed:
            rows.append(run_outbox(template, tmp, args.duties, 1, profile=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    baseline = rows[0]["messages"] / rows[0]["seconds"]
    print(f"\ntarget: {args.target:.0f} messages/s through the outbox, each replica count")
    print(f"\n{'run':34} {'messages':>9} {'seconds':>8} {'msg/s':>8} {'vs base':>8} {'dupl.':>6} {'lost':>6}  target")
    for row in rows:
        rate = row["messages"] / row["seconds"] if row["seconds"] else 0.0
        met = "-" if row is rows[0] or row.get("profile") else ("met" if rate >= args.target else "MISSED")
        print(
            f"{row['name']:34} {row['messages']:>9} {row['seconds']:>8.1f} {rate:>8.0f} {rate / baseline:>8.2f} "
            f"{row['duplicates']:>6} {row['losses']:>6}  {met:6}  {row['note']}"
        )
    outbox = [row for row in rows[1:] if not row.get("profile")]
    print(
        f"\ntarget {args.target:.0f} msg/s: "
        + ("met" if all(r["messages"] / r["seconds"] >= args.target for r in outbox) else "NOT met")
        + " ("
        + ", ".join(f"{r['name']}: {r['messages'] / r['seconds']:.0f}" for r in outbox)
        + f"; raw smtplib {baseline:.0f})"
    )
    for row in rows:
        if row.get("profile"):
            print(f"\nwhere the time went ({row['name']}, cProfile, own time; the profiler slows it):")
            print("\n".join(profile_summary(row["profile"])))
    bad = any(row["duplicates"] or row["losses"] for row in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("NOTIFICATIONS_POLL_INTERVAL", "0.05")
    sys.exit(main())
