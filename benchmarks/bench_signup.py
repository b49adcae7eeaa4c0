"""Sign-up benchmark: 500 concurrent sign-ups on a 20-seat role, on SQLite and PostgreSQL.

    python benchmarks/bench_signup.py [--requests 500] [--seats 20] [--clients 4] [--replicas 2]
                                      [--databases sqlite,postgresql]

Runs ``--replicas`` processes of the activities service (plus the volunteers stand-in, so the
figure measures this service) on a fresh RabbitMQ vhost and fresh databases, fires every request
at once from ``--clients`` processes, then audits the database: confirmed, waitlisted, lost,
duplicates. The baseline in the same run is the same requests sent one after another by one
client; the ratio is concurrent over sequential throughput. The activity is made as an organiser,
the sign-ups sent as ``system`` (``activities.loadtest``), both with tokens of the operator's
``tools`` key from ``IDENTITY_KEYS_DIR`` (a throwaway key set where it is unset).
"""

from __future__ import annotations

import argparse
import secrets
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


def occurrence(config: dict, title: str, seats: int, day: int) -> int:
    from guanyinli.rpc import ServiceRpcProxy
    from guanyinli.timeutil import now

    start = (now() + __import__("datetime").timedelta(days=day)).replace(hour=19, minute=0, second=0, microsecond=0)
    with ServiceRpcProxy("activities", config, context_data=organiser_context("bench-signup"), timeout=60) as proxy:
        activity = proxy.create_activity(
            title=title,
            kind="patrol",
            grid_id=1,
            start=start.isoformat(),
            duration_minutes=120,
            roles=[{"name": "patroller", "needed": seats}],
        )
        return proxy.list_occurrences(
            start=start.isoformat(), end=(start.replace(hour=20)).isoformat(), activity_id=activity["id"]
        )[0]["id"]


def run_backend(backend: str, vhost: str, args) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-signup-") as tmp:
        url, drop = make_database(backend, Path(tmp))
        config = {
            "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
            "DB_URIS": {"activities": url},
            "FEED_SECRET": secrets.token_hex(16),  # the service refuses to start without a strong one
            "serializer": "json",
            "max_workers": 10,
            "STANDIN_ANY_VOLUNTEER": True,
            "VOLUNTEERS_RPC_TIMEOUT": 300,
            "LOGGING": {"version": 1, "root": {"level": "WARNING"}},
        }
        specs = [("activities.service", "activities", args.replicas), ("standin_volunteers", "volunteers", 1)]
        try:
            with ServiceProcesses(config, specs, extra_path=[ROOT / "services/activities/tests/integration"]):
                volunteers = list(range(1, args.requests + 1))
                for mode, clients, concurrent, day in (
                    ("concurrent", args.clients, True, 3),
                    ("sequential (baseline)", 1, False, 4),
                ):
                    occ = occurrence(config, f"bench {mode}", args.seats, day)
                    answers, seconds = fire(config["AMQP_URI"], occ, volunteers, clients, concurrent=concurrent)
                    report = audit(url, occ, answers, args.seats)
                    report.update(
                        backend=backend,
                        mode=mode,
                        clients=clients,
                        seconds=seconds,
                        rps=len(answers) / seconds if seconds else float("nan"),
                    )
                    rows.append(report)
        finally:
            drop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seats", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--replicas", type=int, default=2, help="activities service processes")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    ensure_local_keys()  # before the services and the client processes (activities.loadtest) start

    vhost = make_vhost()
    rows = []
    try:
        for backend in [b.strip() for b in args.databases.split(",") if b.strip()]:
            rows += run_backend(backend, vhost, args)
    finally:
        requests.delete(f"{MANAGEMENT}/api/vhosts/{vhost}", timeout=10)

    print(f"\n{args.requests} sign-ups on a {args.seats}-seat role, {args.replicas} service replicas\n")
    header = f"{'backend':<11} {'mode':<22} {'clients':>7} {'confirmed':>9} {'waitlisted':>10} {'lost':>5} {'duplicates':>10} {'in order':>8} {'seconds':>8} {'req/s':>8}"
    print(header)
    print("-" * len(header))
    ok = True
    for r in rows:
        print(
            f"{r['backend']:<11} {r['mode']:<22} {r['clients']:>7} {r['confirmed']:>9} {r['waitlisted']:>10} {r['lost']:>5} "
            f"{r['duplicates']:>10} {str(r['waitlist_in_order']):>8} {r['seconds']:>8.2f} {r['rps']:>8.1f}"
        )
        ok &= (
            (r["confirmed"], r["waitlisted"], r["lost"], r["duplicates"])
            == (args.seats, args.requests - args.seats, 0, 0)
            and r["waitlist_in_order"]
            and r["answers_match_database"]
        )
        if r["errors"]:
            print(f"    errors: {r['errors']}")
    print()
    for backend in {r["backend"] for r in rows}:
        conc = next(r for r in rows if r["backend"] == backend and r["mode"] == "concurrent")
        base = next(r for r in rows if r["backend"] == backend and r["mode"] != "concurrent")
        print(f"{backend}: concurrent / sequential throughput = {conc['rps'] / base['rps']:.2f}x")
    print("exact counts: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(code)
