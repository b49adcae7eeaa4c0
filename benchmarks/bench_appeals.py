"""A simulated month of residents' appeals over the 15 demo grids, with a restart of the service halfway.

    python benchmarks/bench_appeals.py [--appeals 10000] [--step-minutes 30] [--restart-hours 6]
                                       [--concurrency 8] [--seed 7] [--postgresql]

Setup (not timed): the volunteers demo (300 volunteers, 15 grids with leaders and members, their
availability) on a fresh database, an empty appeals database (SQLite files; ``--postgresql``: throwaway
databases on postgresql://postgres@127.0.0.1:5432), the volunteers and appeals services on a fresh
RabbitMQ vhost, the appeals service's clock a ``SetClock`` and its escalation timer every 50 ms.

The month: ``--appeals`` appeals at daytime-weighted random moments (seeded), categories, urgencies and
grids mixed. The clock moves in steps; in each step the handlers act as themselves (signed tokens of
their volunteer id): each appeal is accepted, visited and closed after seeded delays, most within the
stage's limit, some late, a few handed back (and routed again); an appeal left unrouted the community
office gives to its grid's leader (``reassign_appeal``) a little later; then the step's appeals are taken in
over RPC (``receive_appeal`` as the community office, ``--concurrency`` at once, the latency of each
call timed), and the benchmark waits until the timer has looked at everything due (no open appeal with
``next_check_at`` at or before the clock). Halfway the appeals container is stopped, the clock moved on
``--restart-hours`` hours and a fresh container started: what piled up fires at its first ticks.

Printed: appeals taken in, routed and unrouted, routing p50/p99, each stage's share within its limit
(``appeals.report.monthly_report`` over ``store.report_records``), escalations by level, the restart,
wall time; and the checks (non-zero exit if one fails): no appeal lost (sent against rows), no
escalation step fired twice (outbox events per appeal/stage/level, rows against events).
Baseline in the same run, on the same data at the same moment: one pass of the service's escalation
query (open appeals with ``next_check_at`` due, indexed) against a plain pass that loads every open
appeal with its fired steps and asks ``time_limits.due_escalations`` of each; the ratio is plain/indexed.
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import collections  # noqa: E402
import contextlib  # noqa: E402
import heapq  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "common"), str(ROOT / "services" / "volunteers"), str(ROOT / "services" / "appeals")]

from bench_identity import ensure_local_keys  # noqa: E402
from bench_rpc import Vhost  # noqa: E402
from eventlet.queue import Queue  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.testing.services import replace_dependencies  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import Session, selectinload  # noqa: E402

from appeals import domain, report, store, time_limits  # noqa: E402
from appeals.models import Appeal  # noqa: E402
from appeals.service import AppealsService  # noqa: E402
from guanyinli.db import make_engine  # noqa: E402
from guanyinli.migrate import upgrade  # noqa: E402
from guanyinli.rpc import ServiceRpcProxy  # noqa: E402
from guanyinli.testing import SetClock, signed  # noqa: E402
from guanyinli.timeutil import TZ, to_db  # noqa: E402
from volunteers import structure  # noqa: E402
from volunteers.demo import load_demo  # noqa: E402
from volunteers.models import GridRole  # noqa: E402
from volunteers.service import VolunteersService  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MONTH = datetime(2027, 3, 1, tzinfo=TZ)  # the simulated month: March 2027
DAYS = 31
GRIDS = structure.grid_ids()  # the demo community's grids
# Appeals by hour of the day: mostly in the daytime, a few at night.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 8, 10, 12, 12, 10, 8, 6, 5, 4, 3, 2, 1]
CATEGORY_WEIGHTS = {
    "repair": 30,
    "errand": 15,
    "environment": 12,
    "neighbours": 10,
    "agent": 8,
    "government_affairs_at_home": 8,
    "safety_hazard": 6,
    "elevator": 6,
    "other": 5,
}
URGENT_SHARE = 0.2
LATE_SHARE = 0.12  # of each stage: done after its limit
HAND_BACK_SHARE = 0.04  # of the routed appeals: the handler gives it back instead of accepting
WAIT_LIMIT = 120.0  # s a step may wait for the timer before the benchmark gives up


# --- databases -------------------------------------------------------------------------------


@contextlib.contextmanager
def databases(postgresql: bool, tmp: Path):
    """URLs of a volunteers and an appeals database, migrated and empty; dropped afterwards."""
    if not postgresql:
        urls = {name: f"sqlite:///{tmp / (name + '.db')}" for name in ("volunteers", "appeals")}
        yield urls
        return
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    names = {name: f"bench_appeals_{name}_{uuid.uuid4().hex[:8]}" for name in ("volunteers", "appeals")}
    with admin.connect() as conn:
        for db in names.values():
            conn.execute(text(f'CREATE DATABASE "{db}"'))
    try:
        yield {name: PG_ADMIN.rsplit("/", 1)[0] + "/" + db for name, db in names.items()}
    finally:
        with admin.connect() as conn:
            for db in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def seed_volunteers(url: str) -> tuple[dict, dict[int, int]]:
    """The demo loaded; what it created, and each grid's leader."""
    upgrade("volunteers", url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        result = load_demo(session)
    with engine.connect() as conn:
        leaders = dict(
            conn.execute(select(GridRole.grid_id, GridRole.volunteer_id).where(GridRole.role == "leader")).all()
        )
    engine.dispose()
    return result, leaders


# --- the month ---------------------------------------------------------------------------------


def month_of_appeals(n: int, rng: random.Random) -> list[dict]:
    """``n`` appeals at daytime-weighted moments of the month, sorted by moment."""
    categories, weights = zip(*CATEGORY_WEIGHTS.items(), strict=True)
    appeals = []
    for i in range(n):
        day = rng.randrange(DAYS)
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        at = MONTH + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))
        appeals.append(
            {
                "at": at,
                "key": i,
                "category": rng.choices(categories, weights)[0],
                "urgency": "urgent" if rng.random() < URGENT_SHARE else "normal",
                "grid_id": rng.choice(GRIDS),
            }
        )
    appeals.sort(key=lambda a: (a["at"], a["key"]))
    return appeals


def request(plan: dict) -> dict:
    return {
        "category": plan["category"],
        "grid_id": plan["grid_id"],
        "urgency": plan["urgency"],
        "description": "基准测试诉求",
        "resident_name": "居民",
        "resident_phone": "13900000000",
        "request_id": f"bench-appeal-{plan['key']}",
    }


def when(rng: random.Random, start: datetime, deadline: datetime) -> datetime:
    """When a stage is done: within its limit most times, after it at times."""
    span = max(deadline - start, timedelta(minutes=10))
    if rng.random() < LATE_SHARE:
        return deadline + span * rng.uniform(0.1, 1.0)
    return start + span * rng.uniform(0.05, 0.8)


class Actions:
    """The handlers' acts to come, by moment: accept (or hand back), visit, close."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.heap: list = []
        self.seq = 0

    def push(self, at: datetime, kind: str, appeal: dict) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, kind, appeal))

    def plan(self, appeal: dict, now: datetime, limits) -> None:
        """The next act on an appeal just routed (or routed again) to a handler at ``now``; one left
        unrouted the community office gives to its grid's leader a little later."""
        if appeal.get("handler_id") is None:
            self.push(now + timedelta(minutes=self.rng.uniform(5, 40)), "reassign", appeal)
            return
        due = time_limits.deadlines(
            appeal["category"], appeal["urgency"], datetime.fromisoformat(appeal["received_at"]), limits
        )
        if self.rng.random() < HAND_BACK_SHARE and not appeal.get("handed_back"):
            self.push(now + (due.acknowledge - now) * self.rng.uniform(0.1, 0.5), "hand_back", appeal)
            return
        accepted = when(self.rng, now, max(due.acknowledge, now))
        visited = max(accepted, when(self.rng, accepted, max(due.visit, accepted)))
        closed = max(visited, when(self.rng, visited, max(due.close, visited)))
        self.push(accepted, "accept", appeal)
        self.push(visited, "visit", appeal)
        self.push(closed, "close", appeal)

    def due(self, now: datetime) -> list[tuple[str, dict]]:
        found = []
        while self.heap and self.heap[0][0] <= now:
            _, _, kind, appeal = heapq.heappop(self.heap)
            found.append((kind, appeal))
        return found


class Proxies:
    """A pool of RPC proxies to ``appeals``; each call made with the caller's own context data."""

    def __init__(self, config: dict, size: int):
        self.stack = contextlib.ExitStack()
        self.free: Queue = Queue()
        for _ in range(size):
            proxy = ServiceRpcProxy("appeals", config, timeout=60)
            self.free.put((proxy, self.stack.enter_context(proxy)))

    def call(self, context: dict, method: str, **kwargs):
        holder, proxy = self.free.get()
        try:
            holder._worker_ctx.data = dict(context)
            return getattr(proxy, method)(**kwargs)
        finally:
            self.free.put((holder, proxy))

    def close(self) -> None:
        self.stack.close()


# --- the services ------------------------------------------------------------------------------


class Services:
    def __init__(self, urls: dict, vhost: Vhost, clock: SetClock):
        self.config = {
            "AMQP_URI": vhost.nameko_uri,
            "serializer": "json",
            "max_workers": 10,
            "DB_URIS": dict(urls),
            "APPEALS": {"ESCALATION_INTERVAL": 0.05},
        }
        self.clock = clock
        self.volunteers = ServiceContainer(VolunteersService, self.config)
        self.volunteers.start()
        self.appeals = None
        self.start_appeals()

    def start_appeals(self) -> None:
        self.appeals = ServiceContainer(AppealsService, self.config)
        replace_dependencies(self.appeals, clock=self.clock)
        self.appeals.start()

    def stop_appeals(self) -> None:
        self.appeals.stop()
        self.appeals = None

    def stop(self) -> None:
        for container in (self.appeals, self.volunteers):
            if container is not None:
                container.stop()


def due_count(engine, now: datetime) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(Appeal)
            .where(Appeal.status.in_(domain.OPEN_STATUSES), Appeal.next_check_at <= to_db(now))
        ).scalar()


def escalation_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM appeal_escalations")).scalar()


def settle(engine, now: datetime) -> float:
    """Wait until the timer has looked at every appeal due at ``now``; the seconds it took."""
    started = time.perf_counter()
    while due_count(engine, now):
        if time.perf_counter() - started > WAIT_LIMIT:
            raise SystemExit(f"the escalation timer left appeals due at {now.isoformat()} for {WAIT_LIMIT:g} s")
        time.sleep(0.02)
    return time.perf_counter() - started


# --- the baseline: one escalation pass, indexed against plain ------------------------------------


def passes(engine, now: datetime, limits, repeat: int = 3) -> dict:
    """Seconds of the service's due query (and the steps it finds) against a pass over every open appeal."""

    def indexed(session):
        due = session.scalars(
            select(Appeal)
            .where(Appeal.status.in_(domain.OPEN_STATUSES), Appeal.next_check_at <= to_db(now))
            .order_by(Appeal.next_check_at, Appeal.id)
            .options(selectinload(Appeal.escalations))
        ).all()
        return sum(
            len(time_limits.due_escalations(now, store.appeal_times(a), store.fired_keys(a), limits)) for a in due
        )

    def plain(session):
        every = session.scalars(
            select(Appeal).where(Appeal.status.in_(domain.OPEN_STATUSES)).options(selectinload(Appeal.escalations))
        ).all()
        return sum(
            len(time_limits.due_escalations(now, store.appeal_times(a), store.fired_keys(a), limits)) for a in every
        )

    result = {}
    for name, fn in (("indexed", indexed), ("plain", plain)):
        best, steps = None, None
        for _ in range(repeat):
            with Session(engine) as session:
                started = time.perf_counter()
                steps = fn(session)
                spent = time.perf_counter() - started
            best = spent if best is None else min(best, spent)
        result[name] = (best, steps)
    with engine.connect() as conn:
        result["open"] = conn.execute(
            select(func.count()).select_from(Appeal).where(Appeal.status.in_(domain.OPEN_STATUSES))
        ).scalar()
    return result


# --- the run -----------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def run(args) -> int:
    ensure_local_keys()
    # No notifications service runs here: the residents' reply texts wait (and say so) at every closing.
    logging.getLogger("appeals.service").setLevel(logging.ERROR)
    office = signed({"roles": ["organiser"], "name": "社区办 基准"})
    tokens: dict[int, dict] = {}
    rng = random.Random(args.seed)
    limits = time_limits.DEFAULT_LIMITS
    plans = month_of_appeals(args.appeals, rng)
    step = timedelta(minutes=args.step_minutes)
    end = MONTH + timedelta(days=DAYS)
    halfway = MONTH + timedelta(days=DAYS // 2, hours=10)
    with tempfile.TemporaryDirectory(prefix="bench-appeals-") as tmp, databases(args.postgresql, Path(tmp)) as urls:
        seeded, leaders = seed_volunteers(urls["volunteers"])
        upgrade("appeals", urls["appeals"])
        engine = make_engine(urls["appeals"])
        clock = SetClock(MONTH)
        latencies: list[float] = []
        outcomes = collections.Counter()
        acts = collections.Counter()
        errors = collections.Counter()
        actions = Actions(random.Random(args.seed + 1))
        sent = 0
        restart = {}
        baseline = None
        pool = eventlet.GreenPool(args.concurrency)
        with Vhost("bench-appeals") as vhost:
            services = Services(urls, vhost, clock)
            proxies = Proxies(services.config, args.concurrency)
            wall = time.perf_counter()
            try:

                def take_in(plan):
                    started = time.perf_counter()
                    try:
                        appeal = proxies.call(office, "receive_appeal", **request(plan))
                    except Exception as exc:  # noqa: BLE001 - counted, and the check of losses sees it
                        errors[f"receive_appeal {type(exc).__name__}"] += 1
                        return
                    latencies.append(time.perf_counter() - started)
                    outcomes[appeal["status"]] += 1
                    actions.plan(appeal, clock.at, limits)

                def act(item):
                    kind, appeal = item
                    handler = appeal["handler_id"]
                    me = tokens.get(handler) or tokens.setdefault(handler, signed({"volunteer_id": handler}))
                    if handler is None:
                        me = office
                    try:
                        if kind == "accept":
                            proxies.call(me, "accept_appeal", appeal_id=appeal["id"])
                        elif kind == "visit":
                            proxies.call(me, "mark_appeal_visited", appeal_id=appeal["id"], note="已上门")
                        elif kind == "close":
                            satisfaction = rng.choice((3, 4, 5, 5))
                            proxies.call(
                                me,
                                "close_appeal",
                                appeal_id=appeal["id"],
                                outcome="已办结",
                                satisfaction=satisfaction,
                                hours=1.0,
                            )
                        elif kind == "reassign":
                            again = proxies.call(
                                office,
                                "reassign_appeal",
                                appeal_id=appeal["id"],
                                volunteer_id=leaders[appeal["grid_id"]],
                                reason="无人值守，交网格长",
                            )
                            actions.plan(again, clock.at, limits)
                        else:
                            again = proxies.call(me, "hand_back_appeal", appeal_id=appeal["id"], reason="不在社区")
                            again["handed_back"] = True
                            outcomes["handed back"] += 1
                            outcomes[f"handed back, {again['status']}"] += 1
                            actions.plan(again, clock.at, limits)
                        acts[kind] += 1
                    except Exception as exc:  # noqa: BLE001
                        errors[f"{kind} {type(exc).__name__}"] += 1

                now, i = MONTH, 0
                restarted = False
                while now < end + timedelta(days=14) and (i < len(plans) or actions.heap):
                    now += step
                    if not restarted and now >= halfway:
                        restarted = True
                        before = escalation_count(engine)
                        services.stop_appeals()
                        now += timedelta(hours=args.restart_hours)
                        clock.at = now
                        piled = due_count(engine, now)
                        baseline = (now, passes(engine, now, limits))
                        started = time.perf_counter()
                        services.start_appeals()
                        settle(engine, now)
                        restart = {
                            "at": now,
                            "due": piled,
                            "fired": escalation_count(engine) - before,
                            "seconds": time.perf_counter() - started,
                        }
                    clock.at = now
                    if now.hour == 0 and now.minute < args.step_minutes:
                        print(f"{now:%m-%d}: {sent} taken in, {time.perf_counter() - wall:.0f} s", file=sys.stderr)
                    # One appeal's acts of a step in their order (a visit after its acceptance), appeals at once.
                    per_appeal = collections.defaultdict(list)
                    for item in actions.due(now):
                        per_appeal[item[1]["id"]].append(item)
                    list(pool.imap(lambda items: [act(item) for item in items], per_appeal.values()))
                    batch = []
                    while i < len(plans) and plans[i]["at"] < now:
                        batch.append(plans[i])
                        i += 1
                    sent += len(batch)
                    list(pool.imap(take_in, batch))
                    settle(engine, now)
                wall = time.perf_counter() - wall
                month_end = now
            finally:
                proxies.close()
                services.stop()
        with Session(engine) as session:
            rows = session.scalar(select(func.count()).select_from(Appeal))
            statuses = dict(session.execute(select(Appeal.status, func.count()).group_by(Appeal.status)).all())
            start, stop = report.month_bounds(MONTH.date())
            monthly = report.monthly_report(store.report_records(session, start, stop), MONTH.date(), month_end)
            levels = dict(session.execute(text("SELECT level, COUNT(*) FROM appeal_escalations GROUP BY level")).all())
            escalation_rows = session.execute(text("SELECT COUNT(*) FROM appeal_escalations")).scalar()
            payloads = session.execute(
                text("SELECT payload FROM outbox_events_appeals WHERE event_type = 'appeal_escalated'")
            ).scalars()
            per_step = collections.Counter()
            for payload in payloads:
                data = payload if isinstance(payload, dict) else __import__("json").loads(payload)
                data = data.get("payload", data) if "appeal_id" not in data else data
                per_step[data["appeal_id"], data["stage"], data["level"]] += 1
        engine.dispose()

    backend = "PostgreSQL" if args.postgresql else "SQLite"
    total = monthly["total"]
    print(f"\nA month of appeals ({backend}, {seeded['created']} volunteers of the demo, 15 grids, seed {args.seed})\n")
    print(f"{'':44} {'value':>12}")
    lines = [
        ("appeals sent / rows", f"{sent} / {rows}"),
        ("routed at intake", outcomes["assigned"]),
        ("unrouted at intake", outcomes["unrouted"]),
        ("handed back (routed again)", f"{outcomes['handed back']} ({outcomes['handed back, assigned']})"),
        ("routing p50 ms", f"{percentile(latencies, 0.5) * 1000:.1f}"),
        ("routing p99 ms", f"{percentile(latencies, 0.99) * 1000:.1f}"),
        ("given to the grid leader (unrouted)", acts["reassign"]),
        ("acts (accept/visit/close)", f"{acts['accept']}/{acts['visit']}/{acts['close']}"),
    ]
    for s in total["stages"]:
        share = "-" if s["share"] is None else f"{s['share'] * 100:.1f} %"
        lines.append((f"{s['stage']} within limit (met/due)", f"{share} ({s['met']}/{s['due']})"))
    for level in ("handler", "grid_leader", "community_office"):
        lines.append((f"escalations to {level}", levels.get(level, 0)))
    lines += [
        ("statuses at the end", " ".join(f"{k}={v}" for k, v in sorted(statuses.items()))),
        (
            f"restart: {args.restart_hours:g} h down, appeals due / steps fired",
            f"{restart.get('due', '-')} / {restart.get('fired', '-')}",
        ),
        ("restart: fired within s", f"{restart.get('seconds', float('nan')):.2f}"),
        ("wall time s", f"{wall:.1f}"),
    ]
    for label, value in lines:
        print(f"{label:44} {value!s:>12}")
    if errors:
        print("\nfailed calls:", dict(errors))
    if baseline is not None:
        at, found = baseline
        indexed, plain = found["indexed"], found["plain"]
        print(
            f"\nBaseline at the restart ({at:%Y-%m-%d %H:%M}, {found['open']} open appeals): "
            f"indexed pass {indexed[0] * 1000:.1f} ms ({indexed[1]} steps due), "
            f"plain pass {plain[0] * 1000:.1f} ms ({plain[1]} steps due): ratio {plain[0] / max(indexed[0], 1e-9):.1f}x"
        )
    lost = sent - rows
    twice = sum(1 for n in per_step.values() if n > 1)
    events = sum(per_step.values())
    checks = [
        ("appeals lost (sent - rows)", lost),
        ("escalation steps fired twice", twice),
        ("escalation rows - events", escalation_rows - events),
    ]
    if baseline is not None and baseline[1]["indexed"][1] != baseline[1]["plain"][1]:
        checks.append(("baseline passes disagree (steps)", baseline[1]["plain"][1] - baseline[1]["indexed"][1]))
    print("\nChecks")
    failed = False
    for label, value in checks:
        print(f"{label:44} {value:>12}")
        failed |= value != 0
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appeals", type=int, default=10_000)
    parser.add_argument("--step-minutes", type=float, default=30)
    parser.add_argument("--restart-hours", type=float, default=6)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgresql", action="store_true", help="PostgreSQL throwaway databases instead of SQLite")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
