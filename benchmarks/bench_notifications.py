"""Reminders for 10,000 duties through the notifications outbox to a local SMTP sink.

    python benchmarks/bench_notifications.py [--duties 10000] [--replicas 1 2]

Setup (not timed): 10,000 volunteers each confirmed for one duty starting about two days after
a fixed moment, handled by the same code as the event handler (duties, 24 h and 2 h reminders);
their confirmations are marked as already sent. Then the service clock jumps to when every 24 h
reminder is due and the running service (nameko container, the real poller) queues and sends
them: one row per replica count. Counted at the sink (an aiosmtpd process): messages per
second, duplicates (a recipient with more than one reminder) and losses (a recipient with
none). The baseline sends the same rendered messages with plain smtplib over one connection,
with no database: the ratio is what the outbox (claims, one commit per message) costs.
Needs RabbitMQ (AMQP_URI, management API on 15672 for a throwaway vhost); SQLite database.
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--sink":
    # The SMTP sink: a plain asyncio process; appends "recipient message-id" per accepted mail.
    import time

    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self, out):
            self.out = out

        async def handle_DATA(self, server, session, envelope):
            message_id = ""
            for line in envelope.content.split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    message_id = line.split(b":", 1)[1].strip().decode()
                    break
                if not line:
                    break
            for rcpt in envelope.rcpt_tos:
                self.out.write(f"{rcpt} {message_id}\n")
            return "250 OK"

    port, path = int(sys.argv[2]), sys.argv[3]
    with open(path, "w", buffering=1) as out:
        controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
        controller.start()
        print("ready", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            controller.stop()
    sys.exit(0)

import warnings  # noqa: E402

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import collections  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "common"), str(ROOT / "services" / "notifications")]

from bench_identity import ensure_local_keys  # noqa: E402
from bench_rpc import Vhost  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.testing.services import replace_dependencies  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from guanyinli.db import make_engine  # noqa: E402
from guanyinli.events import make_payload, read  # noqa: E402
from guanyinli.migrate import upgrade  # noqa: E402
from guanyinli.timeutil import TZ  # noqa: E402
from notifications import domain, rendering, store  # noqa: E402
from notifications.channels import EmailChannel, OutgoingMessage, Recipient  # noqa: E402
from notifications.models import Delivery  # noqa: E402
from notifications.service import NotificationsService  # noqa: E402

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)  # a Tuesday morning: no quiet hours in play
SPREAD = 600  # duty starts spread over ten minutes
FINISHED = ("sent", "dead", "skipped", "expired")


class BenchClock:
    def __init__(self, moment):
        self.current = moment

    def now(self):
        return self.current


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class SinkProcess:
    def __init__(self, tmp: Path, name: str):
        self.port = free_port()
        self.path = tmp / f"{name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(self.port), str(self.path)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def lines(self) -> list[tuple[str, str]]:
        return [tuple(line.split(" ", 1)) for line in self.path.read_text().splitlines() if line]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)


def tally(lines, duties: int) -> tuple[int, int]:
    per_recipient = collections.Counter(rcpt for rcpt, _ in lines)
    duplicates = sum(n - 1 for n in per_recipient.values() if n > 1)
    losses = sum(1 for i in range(1, duties + 1) if per_recipient[address(i)] == 0)
    return duplicates, losses


def run_outbox(template: Path, tmp: Path, duties: int, replicas: int) -> dict:
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
        "name": f"outbox, {replicas} replica{'s' if replicas > 1 else ''}",
        "messages": len(lines),
        "seconds": elapsed,
        "duplicates": duplicates,
        "losses": losses,
        "note": f"deliveries {statuses}",
    }


def run_baseline(tmp: Path, duties: int) -> dict:
    """The same messages rendered and sent with smtplib over one connection, no database."""
    sink = SinkProcess(tmp, "sink-baseline")
    channel = EmailChannel("127.0.0.1", sink.port)
    now = T0 + timedelta(hours=24, seconds=SPREAD)
    started = time.perf_counter()
    try:
        for i in range(1, duties + 1):
            start = T0 + timedelta(hours=48, seconds=i % SPREAD)
            context = domain.reminder_context(
                f"第{i % 15 + 1}网格巡逻", start, start + timedelta(hours=2), "观音里", "24h"
            )
            text = rendering.render("reminder_24h", "zh", context, f"志愿者{i}")
            channel.send(
                OutgoingMessage(
                    message_id=domain.message_id(f"baseline:{i}", i, "reminder_24h"),
                    kind="reminder_24h",
                    language="zh",
                    subject=text.subject,
                    text=text.text,
                    recipient=Recipient(i, f"志愿者{i}", address(i)),
                    sent_at=now,
                    data=context,
                )
            )
        channel.close()
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
        "note": "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duties", type=int, default=10_000)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
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
        for replicas in args.replicas:
            rows.append(run_outbox(template, tmp, args.duties, replicas))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    baseline = rows[0]["messages"] / rows[0]["seconds"]
    print(f"\n{'run':34} {'messages':>9} {'seconds':>8} {'msg/s':>8} {'vs base':>8} {'dupl.':>6} {'lost':>6}")
    for row in rows:
        rate = row["messages"] / row["seconds"] if row["seconds"] else 0.0
        print(
            f"{row['name']:34} {row['messages']:>9} {row['seconds']:>8.1f} {rate:>8.0f} {rate / baseline:>8.2f} "
            f"{row['duplicates']:>6} {row['losses']:>6}  {row['note']}"
        )
    bad = any(row["duplicates"] or row["losses"] for row in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("NOTIFICATIONS_POLL_INTERVAL", "0.05")
    sys.exit(main())
