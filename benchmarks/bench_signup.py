"""Sign-up benchmark: a hot 20-seat role and a district's 100 roles, 2 replicas, SQLite and PostgreSQL.

    python benchmarks/bench_signup.py [--requests 500] [--seats 20] [--roles 100] [--role-seats 4]
                                      [--clients 4] [--replicas 2] [--databases sqlite,postgresql]
                                      [--target 200] [--no-profile]

Runs ``--replicas`` processes of the activities service (plus the volunteers stand-in, so the
figure measures this service) on a fresh RabbitMQ vhost and fresh databases, fires every request
at once from ``--clients`` processes, then audits the database: confirmed, waitlisted, lost,
duplicates, overbooked (confirmed over a role's seats), each role's waitlist in order. Two cases:
``hot``, every request for one role of ``--seats`` seats (the first evening a popular duty opens),
and ``district``, the same number of requests spread over ``--roles`` roles of ``--role-seats``
seats (25 activities of 4 roles by default: 5 requests a role, some waitlisted). The baseline in
the same run is each case's requests sent one after another by one client. Latencies run from a
request's send to its reply coming off the client's socket.

The target is ``--target`` requests/s for both cases on PostgreSQL with 2 replicas. While the
concurrent requests run, the CPU time of each process is read from /proc (service replicas, the
volunteers stand-in, the PostgreSQL backends of the bench database, the client processes), and
py-spy, where installed, samples the replicas: where a sign-up's time goes is printed after the
table (``--no-profile`` leaves py-spy out).

The activities are made as an organiser, the sign-ups sent as ``system`` (``activities.loadtest``),
both with tokens of the operator's ``tools`` key from ``IDENTITY_KEYS_DIR`` (a throwaway key set
where it is unset).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

ROOT = Path(__file__).resolve().parents[1]
for sub in ("common", "services/activities", "services/activities/tests/integration"):
    sys.path.insert(0, str(ROOT / sub))

import requests  # noqa: E402
from bench_identity import ensure_local_keys, organiser_context  # noqa: E402
from sqlalchemy import text  # noqa: E402

from activities.loadtest import MANAGEMENT, ServiceProcesses, audit, fire  # noqa: E402
from guanyinli.db import make_engine  # noqa: E402
from guanyinli.migrate import upgrade  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ROLES_PER_ACTIVITY = 4  # the district case: activities of 4 roles each


def make_vhost() -> str:
    vhost = f"bench-signup-{uuid.uuid4().hex[:8]}"
    requests.put(f"{MANAGEMENT}/api/vhosts/{vhost}", timeout=10).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/api/permissions/{vhost}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        timeout=10,
    ).raise_for_status()
    return vhost


def make_database(backend: str, tmp: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'activities.db'}"
        upgrade("activities", url)
        return url, lambda: None
    name = f"bench_signup_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    upgrade("activities", url)
    return url, drop


def make_targets(
    config: dict, case: str, day: int, args, volunteers: list[int]
) -> tuple[dict[int, tuple[int, str | None]], list[int], int]:
    """The case's activities, made as an organiser: each volunteer's (occurrence id, role), the
    occurrence ids and the seats in all."""
    from datetime import timedelta

    from guanyinli.rpc import ServiceRpcProxy
    from guanyinli.timeutil import now

    if case == "hot":
        shape = [(1, [("patroller", args.seats)])]
    else:
        per = ROLES_PER_ACTIVITY
        shape = [
            (i, [(f"patroller_{j + 1}", args.role_seats) for j in range(min(per, args.roles - i * per))])
            for i in range((args.roles + per - 1) // per)
        ]
    day_start = (now() + timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
    slots: list[tuple[int, str | None]] = []
    with ServiceRpcProxy("activities", config, context_data=organiser_context("bench-signup"), timeout=60) as proxy:
        for i, roles in shape:
            start = day_start + timedelta(hours=8 + i % 12, minutes=5 * (i // 12))
            activity = proxy.create_activity(
                title=f"bench {case} {i}",
                kind="patrol",
                grid_id=1 + i % 15,
                start=start.isoformat(),
                duration_minutes=60,
                roles=[{"name": name, "needed": seats} for name, seats in roles],
            )
            (occ,) = proxy.list_occurrences(
                start=start.isoformat(), end=(start + timedelta(minutes=1)).isoformat(), activity_id=activity["id"]
            )
            slots += [(occ["id"], None if case == "hot" else name) for name, _ in roles]
    targets = {v: slots[i % len(slots)] for i, v in enumerate(volunteers)}
    return targets, sorted({o for o, _ in slots}), sum(seats for _, roles in shape for _, seats in roles)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends connected to the bench database (the replicas' pools)."""
    if not url.startswith("postgresql"):
        return []
    admin = make_engine(PG_ADMIN)
    with admin.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": url.rsplit("/", 1)[1]}
        ).scalars()
        pids = list(pids)
    admin.dispose()
    return pids


class Spy:
    """py-spy sampling the service replicas while the concurrent requests run (raw stacks)."""

    def __init__(self, pids: list[int], directory: Path, enabled: bool):
        self.pids = pids
        self.directory = directory
        self.exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.enabled = enabled and Path(self.exe).exists()
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Spy:
        if self.enabled:
            for pid in self.pids:
                out = self.directory / f"spy-{pid}.txt"
                cmd = [self.exe, "record", "--nonblocking", "-r", "100", "-f", "raw", "-o", str(out), "-p", str(pid)]
                self.procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def shares(self) -> tuple[int, list[tuple[str, float]]]:
        """Samples, and the share of them in which each of ``PROFILE_PARTS`` was on the stack."""
        total, counts = 0, dict.fromkeys(PROFILE_PARTS, 0)
        for path in self.directory.glob("spy-*.txt"):
            for line in path.read_text(errors="replace").splitlines():
                stack, _, n = line.rpartition(" ")
                if not stack or not n.isdigit():
                    continue
                total += int(n)
                for label, pattern in PROFILE_PARTS.items():
                    if pattern.search(stack):
                        counts[label] += int(n)
        return total, [(label, counts[label] / total if total else 0.0) for label in PROFILE_PARTS]


# What a replica spends its CPU on, as frames on the sampled stacks (a sample may count in several).
PROFILE_PARTS = {
    "sign_up RPC, all of it (contract wrapper)": re.compile(r"ActivitiesService\.sign_up \("),
    "  read before the volunteers call (lookup)": re.compile(r"sign_up\.<locals>\.lookup"),
    "  volunteers RPC (volunteer + availability)": re.compile(r"volunteer_and_availability"),
    "  sign-up transaction (store.sign_up, views, outbox row)": re.compile(r"sign_up\.<locals>\.work"),
    "    commit (request and key rows, COMMIT)": re.compile(r"Session\.commit"),
    "  events dispatched after the commit (outbox relay)": re.compile(r"Relay\.send"),
    "  the caller's key: look-up before, answer kept after": re.compile(r"settle_key|keep_answer"),
    "  schemas (load the request, dump the answer)": re.compile(r"marshmallow"),
    "SQL statements, everywhere (SQLAlchemy execute)": re.compile(r"Connection\.execute \("),
    "  of which in the driver (psycopg2 / sqlite3)": re.compile(r"do_execute \("),
    "identity token check (Verifier)": re.compile(r"Verifier\."),
    "AMQP: taking requests, replying, publishing": re.compile(r"kombu|amqp/|ReplyChannel|RpcConsumer"),
}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_backend(backend: str, vhost: str, args) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-signup-") as tmp:
        url, drop = make_database(backend, Path(tmp))
        config = {
            "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
            "DB_URIS": {"activities": url},
            "FEED_SECRET": secrets.token_hex(16),  # the service refuses to start without a strong one
            "serializer": "json",
            "max_workers": args.max_workers,
            "STANDIN_ANY_VOLUNTEER": True,
            "VOLUNTEERS_RPC_TIMEOUT": 300,
            "LOGGING": {"version": 1, "root": {"level": "WARNING"}},
        }
        specs = [("activities.service", "activities", args.replicas), ("standin_volunteers", "volunteers", 1)]
        try:
            with ServiceProcesses(config, specs, extra_path=[ROOT / "services/activities/tests/integration"]) as procs:
                replicas = [p.pid for p in procs.procs[: args.replicas]]
                standin = procs.procs[args.replicas].pid
                day, run = 3, 0
                for case in ("hot", "district"):
                    for mode, clients, concurrent in (
                        ("concurrent", args.clients, True),
                        ("sequential (baseline)", 1, False),
                    ):
                        # Volunteers of their own in each run: no weekly cap reached, no clash.
                        volunteers = list(range(run * args.requests + 1, (run + 1) * args.requests + 1))
                        targets, occurrences, seats = make_targets(config, case, day, args, volunteers)
                        day, run = day + 1, run + 1
                        pg = backend_pids(url)
                        watched = {"replicas": replicas, "volunteers stand-in": [standin], "PostgreSQL backends": pg}
                        before = {k: sum(cpu_seconds(p) for p in pids) for k, pids in watched.items()}
                        children = resource.getrusage(resource.RUSAGE_CHILDREN)
                        spy_dir = Path(tmp) / f"spy-{case}-{concurrent}"
                        spy_dir.mkdir()
                        with Spy(replicas, spy_dir, concurrent and args.profile) as spy:
                            answers, seconds = fire(
                                config["AMQP_URI"], None, volunteers, clients, concurrent=concurrent, targets=targets
                            )
                        after = resource.getrusage(resource.RUSAGE_CHILDREN)
                        # Backends the pools opened meanwhile count from their start.
                        watched["PostgreSQL backends"] = sorted(set(pg) | set(backend_pids(url)))
                        cpu = {k: sum(cpu_seconds(p) for p in pids) - before[k] for k, pids in watched.items()}
                        cpu["client processes"] = (after.ru_utime + after.ru_stime) - (
                            children.ru_utime + children.ru_stime
                        )
                        report = audit(url, occurrences, answers, seats)
                        latencies = [a["seconds"] for a in answers if "seconds" in a]
                        report.update(
                            backend=backend,
                            case=case,
                            mode=mode,
                            clients=clients,
                            seconds=seconds,
                            rps=len(answers) / seconds if seconds else float("nan"),
                            p50=percentile(latencies, 0.50),
                            p99=percentile(latencies, 0.99),
                            mean=statistics.fmean(latencies) if latencies else float("nan"),
                            cpu=cpu,
                            profile=spy.shares() if spy.enabled else None,
                        )
                        rows.append(report)
        finally:
            drop()
    return rows


def exact(r: dict, args) -> bool:
    """Every request answered and stored once, no seat over a role's capacity, each waitlist in order."""
    seats = r["capacity"]
    return (
        (r["confirmed"], r["waitlisted"], r["lost"], r["duplicates"], r["overbooked"])
        == (seats, args.requests - seats, 0, 0, 0)
        and r["counter"] == seats
        and r["counters_agree"]
        and r["waitlist_in_order"]
        and r["answers_match_database"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seats", type=int, default=20, help="seats of the hot role")
    parser.add_argument("--roles", type=int, default=100, help="roles of the district case")
    parser.add_argument("--role-seats", type=int, default=4, help="seats of each role of the district case")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--replicas", type=int, default=2, help="activities service processes")
    parser.add_argument("--max-workers", type=int, default=10, help="nameko max_workers of each replica")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--target", type=float, default=200.0, help="requests/s on PostgreSQL, both cases")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="no py-spy")
    args = parser.parse_args(argv)
    if args.roles * args.role_seats > args.requests:
        parser.error("the district case needs more requests than its seats (--roles x --role-seats)")
    ensure_local_keys()  # before the services and the client processes (activities.loadtest) start

    vhost = make_vhost()
    rows = []
    try:
        for backend in [b.strip() for b in args.databases.split(",") if b.strip()]:
            rows += run_backend(backend, vhost, args)
    finally:
        requests.delete(f"{MANAGEMENT}/api/vhosts/{vhost}", timeout=10)

    print(
        f"\n{args.requests} sign-ups, {args.replicas} service replicas of max_workers {args.max_workers},"
        f" {args.clients} client processes; hot: one role of {args.seats} seats; district: {args.roles} roles"
        f" of {args.role_seats} seats ({-(-args.roles // ROLES_PER_ACTIVITY)} activities)\n"
    )
    header = (
        f"{'backend':<11} {'case':<9} {'mode':<22} {'confirmed':>9} {'waitlisted':>10} {'lost':>5} {'dupl.':>5}"
        f" {'overbooked':>10} {'in order':>8} {'seconds':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for r in rows:
        print(
            f"{r['backend']:<11} {r['case']:<9} {r['mode']:<22} {r['confirmed']:>9} {r['waitlisted']:>10}"
            f" {r['lost']:>5} {r['duplicates']:>5} {r['overbooked']:>10} {str(r['waitlist_in_order']):>8}"
            f" {r['seconds']:>8.2f} {r['rps']:>7.1f} {1000 * r['p50']:>7.0f} {1000 * r['p99']:>7.0f}"
        )
        ok &= exact(r, args)
        if r["errors"]:
            print(f"    errors: {r['errors']}")
    print()
    met = True
    for backend in dict.fromkeys(r["backend"] for r in rows):
        for case in ("hot", "district"):
            conc = next(r for r in rows if (r["backend"], r["case"], r["mode"]) == (backend, case, "concurrent"))
            base = next(r for r in rows if (r["backend"], r["case"]) == (backend, case) and r is not conc)
            line = f"{backend} {case}: concurrent / sequential throughput = {conc['rps'] / base['rps']:.2f}x"
            if backend == "postgresql":
                hit = conc["rps"] >= args.target
                met &= hit
                line += f"; target {args.target:g} req/s with {args.replicas} replicas: {'met' if hit else 'NOT met'}"
            print(line)
    for r in rows:
        if r["mode"] != "concurrent":
            continue
        n = r["requests"]
        parts = ", ".join(f"{k} {1000 * v / n:.1f}" for k, v in r["cpu"].items())
        print(f"\n{r['backend']} {r['case']}: CPU ms per sign-up: {parts}")
        if r["profile"] is not None:
            samples, shares = r["profile"]
            print(f"  where the replicas' CPU goes (py-spy, {samples} samples, share of samples):")
            for label, share in shares:
                print(f"    {100 * share:5.1f} %  {label}")
    print("\nexact counts: " + ("yes" if ok else "NO"))
    if any(r["backend"] == "postgresql" for r in rows):
        print(f"target {args.target:g} req/s on PostgreSQL: " + ("met" if met else "NOT met (see where the time goes)"))
    return 0 if ok else 1


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(code)
