"""Concurrent sign-ups from several client processes against service replicas, and their audit.

Shared by the concurrency test and ``benchmarks/bench_signup.py``: ``ServiceProcesses`` runs
``nameko run`` replicas in their own processes, ``fire`` splits sign-up requests over client
processes (``python -m activities.loadtest client``) that all start at the same moment and keep
every request in flight at once, and ``audit`` compares the answers with the database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlparse

import requests

ROOT = Path(__file__).resolve().parents[3]
PYTHONPATH = [ROOT / "common", ROOT / "services" / "activities", ROOT / "services" / "volunteers", ROOT]
MANAGEMENT = os.environ.get("RABBIT_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672")


def _env(extra_path: list[Path] = ()) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*PYTHONPATH, *extra_path])
    return env


def vhost_of(amqp_uri: str) -> str:
    path = urlparse(amqp_uri).path
    return path[1:] if len(path) > 1 else "/"


def consumers(amqp_uri: str, queue: str) -> int:
    url = f"{MANAGEMENT}/api/queues/{quote(vhost_of(amqp_uri), safe='')}/{quote(queue, safe='')}"
    response = requests.get(url, timeout=5)
    return response.json().get("consumers", 0) if response.ok else 0


class ServiceProcesses:
    """``nameko run`` processes: ``specs`` is a list of (module, nameko service name, replicas)."""

    def __init__(self, config: dict, specs: list[tuple[str, str, int]], extra_path: list[Path] = ()):
        self.config = config
        self.specs = specs
        self.extra_path = list(extra_path)
        self.procs: list[subprocess.Popen] = []
        self.dir = tempfile.TemporaryDirectory(prefix="gy-replicas-")

    def __enter__(self) -> ServiceProcesses:
        path = Path(self.dir.name) / "config.yaml"
        path.write_text(json.dumps(self.config))  # JSON is YAML
        env = _env(self.extra_path)
        nameko = str(Path(sys.executable).with_name("nameko"))
        for module, _, replicas in self.specs:
            for i in range(replicas):
                log = open(Path(self.dir.name) / f"{module}-{i}.log", "wb")  # noqa: SIM115
                self.procs.append(
                    subprocess.Popen([nameko, "run", "--config", str(path), module], env=env, stdout=log, stderr=log)
                )
        deadline = time.monotonic() + 60
        for _, name, replicas in self.specs:
            while consumers(self.config["AMQP_URI"], f"rpc-{name}") < replicas:
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                    logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in Path(self.dir.name).glob("*.log"))
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"{name}: {replicas} replicas did not start:\n{logs}")
                time.sleep(0.2)
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.dir.cleanup()


def fire(
    amqp_uri: str,
    occurrence_id: int,
    volunteer_ids: list[int],
    processes: int,
    role: str | None = None,
    concurrent: bool = True,
    timeout: float = 300.0,
    targets: dict[int, tuple[int, str | None]] | None = None,
    calls: list[tuple[int, int, str | None, str | None]] | None = None,
) -> tuple[list[dict], float]:
    """Sign each volunteer up once, from ``processes`` client processes; returns answers and seconds.

    Every volunteer signs up for ``role`` of ``occurrence_id``, or for their own (occurrence id,
    role) in ``targets``; or ``calls`` gives each sign-up as (volunteer id, occurrence id, role,
    community slug or None for the default community), and its answer carries ``community``.
    Each answer carries ``seconds``, from its request's send to its reply."""
    start_at = time.time() + 2.0 + 0.3 * processes
    if calls is None:
        calls = [(v, *(targets[v] if targets else (occurrence_id, role)), None) for v in volunteer_ids]
    shares = [calls[i::processes] for i in range(processes)]
    procs = []
    for share in shares:
        calls = [list(call) for call in share]
        spec = {
            "amqp_uri": amqp_uri,
            "calls": calls,
            "start_at": start_at,
            "concurrent": concurrent,
            "timeout": timeout,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "activities.loadtest", "client"],
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        proc.stdin.write(json.dumps(spec).encode())
        proc.stdin.close()
        procs.append(proc)
    answers, finished = [], start_at
    for proc in procs:
        out = proc.stdout.read()
        err = proc.stderr.read()
        proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"client failed ({proc.returncode}): {err.decode()[-2000:]}")
        report = json.loads(out)
        answers += report["answers"]
        finished = max(finished, report["finished"])
    return answers, finished - start_at


def _client() -> int:
    import eventlet

    eventlet.monkey_patch()
    import activities.exceptions  # noqa: F401  (typed remote errors)
    from guanyinli.identity import CONTEXT_KEY, tools_context, tools_token
    from guanyinli.rpc import ServiceRpcProxy

    spec = json.loads(sys.stdin.read())
    config = {"AMQP_URI": spec["amqp_uri"], "serializer": "json"}
    answers = []
    client = ServiceRpcProxy(
        "activities", config, context_data=tools_context(["system"], name="load test"), timeout=spec["timeout"]
    )
    proxy = client.start()
    # One proxy for every community: each request goes out with its community's token (the
    # context data is read when a request is published).
    tokens = {
        slug: tools_token(["system"], name="load test", community=slug)
        for slug in {c[3] for c in spec["calls"]}
        if slug
    }
    context = client._worker_ctx.data
    default_token = context.get(CONTEXT_KEY)
    # When each reply came off the socket (the client drains every reply while it waits for the
    # first): with every request in flight at once, reading them in order would skew latencies.
    consumer = client._reply_listener.queue_consumer
    arrived: dict[str, float] = {}
    on_message = consumer.on_message

    def stamped(body, message):
        arrived[message.properties.get("correlation_id")] = time.time()
        on_message(body, message)

    consumer.consumer.callbacks = [stamped]
    try:
        time.sleep(max(0.0, spec["start_at"] - time.time()))

        def call(volunteer_id, occurrence_id, role, community):
            kwargs = {"occurrence_id": occurrence_id, "volunteer_id": volunteer_id}
            if role:
                kwargs["role"] = role
            kwargs["request_id"] = f"load-{occurrence_id}-{volunteer_id}"
            context[CONTEXT_KEY] = tokens[community] if community else default_token
            sent = time.time()
            reply = proxy.sign_up.call_async(**kwargs)
            return reply, reply.reply_event.correlation_id, sent, community

        def answer(volunteer_id, pending):
            reply, correlation_id, sent, community = pending
            try:
                result = reply.result()
                return {
                    "community": community,
                    "volunteer_id": volunteer_id,
                    "occurrence_id": result["occurrence_id"],
                    "signup_id": result["id"],
                    "status": result["status"],
                    "waitlist_position": result["waitlist_position"],
                    "seconds": arrived.get(correlation_id, time.time()) - sent,
                }
            except Exception as exc:  # every failure is counted as lost by the audit
                return {"community": community, "volunteer_id": volunteer_id, "error": f"{type(exc).__name__}: {exc}"}

        if spec["concurrent"]:
            replies = [(v, call(v, o, r, c)) for v, o, r, c in spec["calls"]]
            answers = [answer(v, pending) for v, pending in replies]
        else:
            answers = [answer(v, call(v, o, r, c)) for v, o, r, c in spec["calls"]]
    finally:
        client.stop()
    print(json.dumps({"answers": answers, "finished": time.time()}))
    return 0


def audit(db_url: str, occurrence_id: int | list[int], answers: list[dict], capacity: int) -> dict:
    """Compare the answers with the database: exact counts, queue order, nothing lost or doubled.

    ``occurrence_id``: one occurrence, or a list of them (a district's many roles); the order of
    each role's waitlist and its seats (``overbooked``: confirmed sign-ups over a role's capacity,
    summed over roles) are checked role by role. ``capacity`` is reported as given."""
    from sqlalchemy import bindparam, text

    from guanyinli.db import make_engine

    occurrences = [occurrence_id] if isinstance(occurrence_id, int) else list(occurrence_id)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, occurrence_role_id, volunteer_id, status, waitlist_number FROM signups"
                " WHERE occurrence_id IN :o ORDER BY id"
            ).bindparams(bindparam("o", expanding=True)),
            {"o": occurrences},
        ).all()
        counters = conn.execute(
            text("SELECT id, capacity, confirmed FROM occurrence_roles WHERE occurrence_id IN :o").bindparams(
                bindparam("o", expanding=True)
            ),
            {"o": occurrences},
        ).all()
    engine.dispose()
    requested = {a["volunteer_id"] for a in answers}
    per_volunteer = Counter(r.volunteer_id for r in rows)
    stored = {r.volunteer_id: r for r in rows}
    answered = [a for a in answers if "error" not in a]
    waitlist = [r for r in rows if r.status == "waitlisted"]
    in_order = True
    for role in {r.occurrence_role_id for r in waitlist}:
        numbers = [r.waitlist_number for r in waitlist if r.occurrence_role_id == role]  # by id: the order taken
        in_order &= numbers == sorted(numbers) and sorted(numbers) == list(range(1, len(numbers) + 1))
    confirmed_by_role = Counter(r.occurrence_role_id for r in rows if r.status == "confirmed")
    overbooked = sum(max(0, confirmed_by_role[c.id] - c.capacity) for c in counters if c.capacity is not None)
    agree = all(
        stored.get(a["volunteer_id"]) is not None
        and stored[a["volunteer_id"]].status == a["status"]
        and stored[a["volunteer_id"]].id == a["signup_id"]
        for a in answered
    )
    return {
        "requests": len(answers),
        "answered": len(answered),
        "errors": sorted({a["error"] for a in answers if "error" in a})[:5],
        "capacity": capacity,
        "confirmed": sum(1 for r in rows if r.status == "confirmed"),
        "waitlisted": len(waitlist),
        "counter": sum(c.confirmed for c in counters),
        "counters_agree": all(c.confirmed == confirmed_by_role[c.id] for c in counters),
        "overbooked": overbooked,
        "lost": len(requested - set(stored)) + (len(answers) - len(answered)),
        "duplicates": sum(n - 1 for n in per_volunteer.values()),
        "waitlist_in_order": in_order,
        "positions": sorted(a["waitlist_position"] for a in answered if a["status"] == "waitlisted"),
        "answers_match_database": agree,
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["client"]:
        sys.exit(_client())
    sys.exit("usage: python -m activities.loadtest client  (spec as JSON on stdin)")
