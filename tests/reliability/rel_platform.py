"""The platform under fault injection: a broker the suite may restart, PostgreSQL databases, the
three services as real processes (`python -m guanyinli.serve <service>`), an SMTP sink and a
webhook receiver, and the tally of what the suite did and found.

The broker is a private RabbitMQ node (own port, own data directory) when the suite runs as root,
so restarting it disturbs nobody else on the machine; otherwise (or with
RELIABILITY_BROKER=shared) it is the local node at 127.0.0.1:5672, restarted with
`rabbitmqctl stop_app; rabbitmqctl start_app`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from guanyinli.config import normalize_url

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("volunteers", "activities", "notifications", "organiser", "appeals")
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WEBHOOK_SECRET = "reliability-webhook-secret"
FEED_SECRET = "reliability-feed-secret-0123456789"


def die_with_parent() -> None:
    """preexec_fn: the child is killed when the suite's process dies, even by SIGKILL or a timeout."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


# --- tally ---------------------------------------------------------------------------------


@dataclass
class Row:
    calls: int = 0
    faults: int = 0
    lost: int = 0
    duplicated: int = 0
    overbooked: int = 0
    untyped: int = 0
    internal: int = 0
    notes: list[str] = field(default_factory=list)


class Tally:
    """What each scenario did (calls, faults injected) and found (the last five numbers must be 0).

    ``untyped``: an answer that is a bare RemoteError; ``internal``: an InternalError, i.e. a
    traceback on the service side (typed, but a defect when the input alone caused it).
    """

    COLUMNS = ("calls", "faults", "lost", "duplicated", "overbooked", "untyped", "internal")

    def __init__(self):
        self.rows: dict[str, Row] = {}

    def row(self, scenario: str) -> Row:
        return self.rows.setdefault(scenario, Row())

    def table(self) -> str:
        if not self.rows:
            return "reliability: no scenario ran"
        width = max(len("scenario"), *(len(name) for name in self.rows)) + 2
        header = "scenario".ljust(width) + "".join(c.rjust(12) for c in self.COLUMNS)
        lines = [header, "-" * len(header)]
        total = Row()
        for name, row in self.rows.items():
            lines.append(name.ljust(width) + "".join(str(getattr(row, c)).rjust(12) for c in self.COLUMNS))
            for c in self.COLUMNS:
                setattr(total, c, getattr(total, c) + getattr(row, c))
        lines.append("-" * len(header))
        lines.append("total".ljust(width) + "".join(str(getattr(total, c)).rjust(12) for c in self.COLUMNS))
        bad = total.lost + total.duplicated + total.overbooked + total.untyped + total.internal
        lines.append("")
        lines.append(
            "lost, duplicated, overbooked, untyped, internal: " + ("all 0" if bad == 0 else f"{bad} FAULT(S) FOUND")
        )
        for name, row in self.rows.items():
            lines.extend(f"  {name}: {note}" for note in row.notes)
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            name: {c: getattr(row, c) for c in self.COLUMNS} | {"notes": row.notes} for name, row in self.rows.items()
        }


# --- broker --------------------------------------------------------------------------------


class Broker:
    """A RabbitMQ node the suite may restart; `uri(vhost)` is what the services connect to."""

    def __init__(self, mode: str | None = None):
        self.mode = mode or os.environ.get("RELIABILITY_BROKER") or ("private" if os.geteuid() == 0 else "shared")
        self.node = "rabbit@localhost"
        self.port = 5672
        self.base: Path | None = None
        self.restarts = 0

    def ctl(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *args], capture_output=True, text=True, timeout=timeout, check=check
        )

    @staticmethod
    def shutdown_stale_nodes() -> None:
        """Private nodes left behind by a suite that was killed (their pytest pid is gone)."""
        names = subprocess.run(["epmd", "-names"], capture_output=True, text=True).stdout
        for line in names.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "name" and parts[1].startswith("gyrel"):
                pid = parts[1][len("gyrel") :]
                if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                    subprocess.run(
                        ["rabbitmqctl", "-q", "-n", f"{parts[1]}@localhost", "shutdown"], capture_output=True
                    )

    def start(self) -> None:
        if self.mode == "private":
            self.shutdown_stale_nodes()
            self.node = f"gyrel{os.getpid()}@localhost"
            self.port = free_port()
            self.base = Path(tempfile.mkdtemp(prefix="gyrel-rabbit-"))
            (self.base / "enabled_plugins").write_text("[].\n")
            (self.base / "rabbitmq.conf").write_text("")
            shutil.chown(self.base, "rabbitmq", "rabbitmq")
            for child in self.base.iterdir():
                shutil.chown(child, "rabbitmq", "rabbitmq")
            env = {
                "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(free_port()),
                "RABBITMQ_MNESIA_BASE": f"{self.base}/mnesia",
                "RABBITMQ_LOG_BASE": f"{self.base}/log",
                "RABBITMQ_ENABLED_PLUGINS_FILE": f"{self.base}/enabled_plugins",
                "RABBITMQ_CONFIG_FILE": f"{self.base}/rabbitmq.conf",
                "RABBITMQ_PID_FILE": f"{self.base}/pid",
                "HOME": "/var/lib/rabbitmq",
            }
            exports = " ".join(f"{k}={v}" for k, v in env.items())
            subprocess.run(
                ["su", "rabbitmq", "-s", "/bin/sh", "-c", f"cd /var/lib/rabbitmq && {exports} "
                 "/usr/lib/rabbitmq/bin/rabbitmq-server -detached"],
                check=True,
            )  # fmt: skip
            wait_for(lambda: self.ctl("status", check=False).returncode == 0, 90, 0.5, f"RabbitMQ node {self.node}")
        self.ctl("await_startup", "--timeout", "90")

    def stop(self) -> None:
        if self.mode == "private" and self.base is not None:
            self.ctl("shutdown", check=False)
            shutil.rmtree(self.base, ignore_errors=True)

    def add_vhost(self, vhost: str) -> None:
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def delete_vhost(self, vhost: str) -> None:
        self.ctl("delete_vhost", vhost, check=False)

    def uri(self, vhost: str) -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def restart(self, down_for: float = 0.0) -> float:
        """Stop the broker application and start it again; returns how long it was away."""
        began = time.monotonic()
        self.ctl("stop_app")
        time.sleep(down_for)
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "90")
        self.restarts += 1
        return time.monotonic() - began

    def queue_depths(self, vhost: str) -> dict[str, tuple[int, int]]:
        out = self.ctl("list_queues", "-p", vhost, "name", "messages", "consumers", "--no-table-headers").stdout
        depths = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                depths[parts[0]] = (int(parts[1]), int(parts[2]))
        return depths


# --- databases -----------------------------------------------------------------------------


class Databases:
    def __init__(self, tag: str):
        self.urls = {}
        self.names = []
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        admin = create_engine(normalize_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for service in SERVICES:
                name = f"{tag}_{service}"
                conn.execute(text(f'CREATE DATABASE "{name}"'))
                self.names.append(name)
                self.urls[service] = f"{base}/{name}"
        admin.dispose()
        self.engines = {s: create_engine(normalize_url(u)) for s, u in self.urls.items()}

    def query(self, service: str, sql: str, **params) -> list:
        with self.engines[service].connect() as conn:
            return list(conn.execute(text(sql), params))

    def scalar(self, service: str, sql: str, **params):
        with self.engines[service].connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def fingerprint(self, service: str) -> dict[str, tuple]:
        """Per table: row count and the newest row version (xmin). Any insert, update or delete
        changes one of the two, so equal fingerprints mean nothing was written."""
        with self.engines[service].connect() as conn:
            tables = list(
                conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
                ).scalars()
            )
            if not tables:
                return {}
            sql = " UNION ALL ".join(
                f"SELECT '{t}', count(*), coalesce(max(xmin::text::bigint), 0) FROM \"{t}\"" for t in tables
            )
            return {row[0]: (row[1], row[2]) for row in conn.execute(text(sql))}

    @staticmethod
    def drop_stale() -> None:
        """Databases of a suite that was killed before its teardown (its pid is gone)."""
        admin = create_engine(normalize_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'gyrel%'")).scalars():
                pid = name[len("gyrel") :].split("_", 1)[0]
                if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    def drop(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
        admin = create_engine(normalize_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- deliveries ----------------------------------------------------------------------------


class Deliveries:
    """The SMTP sink and webhook receiver (a separate process) and what they received."""

    def __init__(self, workdir: Path):
        self.path = workdir / "deliveries.jsonl"
        self.path.touch()
        self.smtp_port = free_port()
        self.http_port = free_port()
        self.log = open(workdir / "sink.log", "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("rel_sink.py")),
                str(self.path),
                str(self.smtp_port),
                str(self.http_port),
            ],
            stdout=subprocess.PIPE,
            stderr=self.log,
            preexec_fn=die_with_parent,
        )
        assert self.process.stdout.readline().strip() == b"ready", "the SMTP sink did not start"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/hook"

    def all(self) -> list[dict]:
        with open(self.path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def emails(self) -> list[dict]:
        return [d for d in self.all() if d["channel"] == "email"]

    def webhooks(self) -> list[dict]:
        return [d for d in self.all() if d["channel"] == "webhook"]

    def clear(self) -> None:
        self.path.write_text("")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# --- service processes ---------------------------------------------------------------------


class Platform:
    """The three services as processes, each started exactly as its container starts."""

    def __init__(self, broker: Broker, workdir: Path):
        self.broker = broker
        self.workdir = workdir
        Databases.drop_stale()
        self.tag = f"gyrel{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.vhost = self.tag
        broker.add_vhost(self.vhost)
        self.dbs = Databases(self.tag)
        self.deliveries = Deliveries(workdir)
        self.web_port = free_port()
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.kills = Counter()
        self.missing_health: set[str] = set()
        self.replicas: dict[str, tuple[str, int]] = {}
        self.webhooks = True

    @property
    def amqp_uri(self) -> str:
        return self.broker.uri(self.vhost)

    @property
    def rpc_config(self) -> dict:
        return {"AMQP_URI": self.amqp_uri, "serializer": "json"}

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self, service: str, replica: int = 1) -> dict[str, str]:
        if service == "activities" and replica == 1:
            web = f"127.0.0.1:{self.web_port}"
        else:  # each replica its own port, as each container has its own network namespace
            web = f"127.0.0.1:{free_port()}"
        return {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "common"), str(ROOT / "services" / service)]),
            "PYTHONUNBUFFERED": "1",
            "GUANYINLI_VAR_DIR": str(self.workdir / "var"),
            # the test run's identity keys (root conftest): each service signs with its own
            "IDENTITY_KEYS_DIR": os.environ["IDENTITY_KEYS_DIR"],
            "AMQP_URI": self.amqp_uri,
            "AMQP_HEARTBEAT": "10",
            "MAX_WORKERS": "10",
            "LOG_LEVEL": os.environ.get("RELIABILITY_LOG_LEVEL", "WARNING"),
            f"{service.upper()}_DATABASE_URL": self.dbs.urls[service],
            "WEB_SERVER_ADDRESS": web,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.deliveries.smtp_port),
            "SMTP_STARTTLS": "false",
            "SMTP_USER": "",
            "SMTP_PASSWORD": "",
            "SMTP_FROM": "Guanyinli Community <noreply@guanyinli.example>",
            "SMTP_TIMEOUT": "5",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "WEBHOOK_URL": self.deliveries.webhook_url if self.webhooks else "",
            "FEED_SECRET": FEED_SECRET,
            "FEED_BASE_URL": self.web_url,
            "FEED_CACHE_SECONDS": "300",
            # notifications: poll often, retry soon, and take back a dead replica's claims quickly
            "NOTIFICATIONS_POLL_INTERVAL": "0.5",
            "NOTIFICATIONS_BACKOFF_BASE": "1",
            "NOTIFICATIONS_CLAIM_LEASE": "10",
        }

    @staticmethod
    def key(service: str, replica: int = 1) -> str:
        return service if replica == 1 else f"{service}#{replica}"

    def start(self, service: str, wait: bool = True, replica: int = 1) -> None:
        """Start one process of a service (replica 2, 3... as `docker-compose up --scale` would)."""
        key = self.key(service, replica)
        self.logs[key] = self.workdir / f"{key}.log"
        log = open(self.logs[key], "ab")
        self.replicas[key] = (service, replica)
        self.processes[key] = subprocess.Popen(
            [sys.executable, "-m", "guanyinli.serve", service],
            env=self.env(service, replica),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        if wait:
            self.wait_healthy(service)

    def start_all(self) -> None:
        """Start every service whose code exists (a missing one fails the tests that need it)."""
        present = [s for s in SERVICES if (ROOT / "services" / s / s / "service.py").exists()]
        for service in present:
            self.start(service, wait=False)
        for service in present:
            self.wait_healthy(service)

    def alive(self, service: str) -> bool:
        proc = self.processes.get(service)
        return proc is not None and proc.poll() is None

    def wait_healthy(self, service: str, timeout: float = 120) -> None:
        from nameko.exceptions import MethodNotFound

        from guanyinli.rpc import ServiceRpcProxy

        def healthy():
            if not self.alive(service):
                raise RuntimeError(f"{service} exited:\n{self.tail(service)}")
            try:
                with ServiceRpcProxy(service, self.rpc_config, timeout=3) as proxy:
                    proxy.health()
                return True
            except MethodNotFound:  # consuming, but without the health method the suite relies on
                self.missing_health.add(service)
                return True
            except Exception:
                return False

        wait_for(healthy, timeout, 0.5, f"{service} answering health")

    def consumers(self, service: str) -> int:
        return self.broker.queue_depths(self.vhost).get(f"rpc-{service}", (0, 0))[1]

    def kill9(self, service: str) -> None:
        proc = self.processes[service]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        self.kills[service] += 1

    def stop(self, service: str) -> None:
        proc = self.processes.get(service)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def dump_stacks(self) -> str:
        """Ask every running service process to log its green threads' stacks (guanyinli.diagnostics),
        so a scenario that failed shows in the logs where each service was waiting."""
        asked = []
        for key, proc in self.processes.items():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGUSR1)
                asked.append(key)
        state = self.workdir / "broker-state.txt"
        with open(state, "w") as out:
            for what in (
                ("list_queues", "name", "messages_ready", "messages_unacknowledged", "consumers"),
                ("list_consumers", "queue_name", "channel_pid", "ack_required", "prefetch_count", "active"),
                (
                    "list_channels",
                    "pid",
                    "connection",
                    "vhost",
                    "consumer_count",
                    "messages_unacknowledged",
                    "prefetch_count",
                ),
                ("list_connections", "pid", "vhost", "peer_port", "state", "channels", "connected_at"),
            ):
                vhost = ("-p", self.vhost) if what[0] in ("list_queues", "list_consumers") else ()
                result = self.broker.ctl(what[0], *vhost, *what[1:], check=False)
                out.write(f"== {' '.join(what)}\n{result.stdout}{result.stderr}\n")
        time.sleep(0.5)
        return f"stacks of {', '.join(asked)} logged, the broker's queues, consumers and connections in {state}"

    def tail(self, service: str, lines: int = 60) -> str:
        try:
            return "\n".join(self.logs[service].read_text(errors="replace").splitlines()[-lines:])
        except (KeyError, OSError):
            return "(no log)"

    def shutdown(self) -> None:
        for service in list(self.processes):
            self.stop(service)
        self.deliveries.stop()
        self.dbs.drop()
        self.broker.delete_vhost(self.vhost)
