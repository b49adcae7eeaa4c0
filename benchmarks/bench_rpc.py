"""RPC benchmark: a ``volunteers.get_volunteer`` call against a raw AMQP request/reply round trip.

    python benchmarks/bench_rpc.py [--calls 1000] [--clients 8]

Starts the volunteers service (``nameko run`` in its own process) on a fresh RabbitMQ vhost and a
temporary SQLite database loaded with the demo data, and an empty nameko service answering the same
reply without work. The baseline, in the same run and on the same vhost, is a pika echo server in its
own process that answers each request with a reply of the same size as a get_volunteer answer (a
second row with publisher confirms on request and reply). Rows: the raw baselines; the echo service
and ``get_volunteer`` called through ``guanyinli.client.Client`` (the platform's client), through
nameko's standalone proxy with the platform's transient requests, through plain nameko, and from a
bare pika client. Each is driven sequentially (one client) and by ``--clients`` concurrent clients
(threads, one connection each), ``--calls`` calls per mode. Every client, the raw ones too, sends
the same organiser's identity token (``nameko.identity`` header; keys from ``IDENTITY_KEYS_DIR``,
a throwaway set where it is unset): the service verifies it once and then finds it in its cache. Prints calls per second, p50/p99 latency,
client CPU per call, the answering process's CPU per call (from ``/proc``), and the ratio read call
(platform client) / raw round trip (target: at most 3).

Nothing writes to the database during the run, so after its first read of a volunteer the service
answers from its read cache (``guanyinli.db.ReadCache``), as it does in production between changes;
the first pass over the 300 volunteers (warm-up and the first rows) reads the database.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path
from urllib.parse import urlparse

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

ROOT = Path(__file__).resolve().parents[1]
PATHS = [str(ROOT / "common"), str(ROOT / "services" / "volunteers")]
sys.path[:0] = PATHS

import pika  # noqa: E402
import requests  # noqa: E402
from bench_identity import ensure_local_keys, organiser_context  # noqa: E402

from guanyinli.config import amqp_uri  # noqa: E402

RAW_QUEUE = "bench_raw_echo"
RAW = "raw AMQP (pika)"
RAW_CONFIRMED = "raw AMQP + confirms"
NAMEKO_ECHO = "nameko echo (no work)"
NAMEKO_ECHO_PIKA = "nameko echo, pika client"
CALL = "volunteers.get_volunteer"
CALL_PROXY = "get_volunteer, nameko proxy"
ECHO_PROXY = "nameko echo, nameko proxy"
CALL_PIKA = "get_volunteer, pika client"
CALL_PLAIN = "get_volunteer, plain nameko"


def _queue(confirms: bool) -> str:
    return RAW_QUEUE + ("_confirmed" if confirms else "")


# --- broker ------------------------------------------------------------------------------------


class Vhost:
    """A fresh vhost through the management API (so a running platform is not disturbed), deleted at the end.
    Shared by the benchmarks that need a broker."""

    def __init__(self, prefix: str = "bench-rpc"):
        parsed = urlparse(amqp_uri())
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 5672
        self.user, self.password = parsed.username or "guest", parsed.password or "guest"
        self.api = os.environ.get("RABBIT_MANAGEMENT", f"http://{self.host}:15672")
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> Vhost:
        auth = (self.user, self.password)
        try:
            requests.put(f"{self.api}/api/vhosts/{self.name}", auth=auth, timeout=10).raise_for_status()
        except requests.ConnectionError:
            raise SystemExit(
                f"RabbitMQ's management API is not reachable at {self.api} (the benchmark makes a throwaway vhost "
                "with it): run `rabbitmq-plugins enable rabbitmq_management`, or set RABBIT_MANAGEMENT"
            ) from None
        requests.put(
            f"{self.api}/api/permissions/{self.name}/{self.user}",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=auth,
            timeout=10,
        ).raise_for_status()
        return self

    def __exit__(self, *exc) -> None:
        requests.delete(f"{self.api}/api/vhosts/{self.name}", auth=(self.user, self.password), timeout=10)

    @property
    def nameko_uri(self) -> str:
        return f"pyamqp://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}"

    @property
    def pika_params(self) -> pika.ConnectionParameters:
        credentials = pika.PlainCredentials(self.user, self.password)
        return pika.ConnectionParameters(self.host, self.port, self.name, credentials, heartbeat=0)


# --- the two servers ---------------------------------------------------------------------------


def echo_server(params: pika.ConnectionParameters, reply: bytes, confirms: bool, ready) -> None:
    """Raw request/reply: consume with manual acks (as nameko does) and publish a fixed reply.

    With ``confirms`` every reply waits for the broker's publisher confirm, as nameko's replies do.
    """
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.queue_declare(_queue(confirms), auto_delete=True)
    channel.basic_qos(prefetch_count=10)
    if confirms:
        channel.confirm_delivery()

    def on_request(ch, method, props, body):
        json.loads(body)
        ch.basic_publish(
            "",
            props.reply_to,
            reply,
            pika.BasicProperties(correlation_id=props.correlation_id, content_type="application/json"),
        )
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(_queue(confirms), on_request)
    ready.set()
    channel.start_consuming()


ECHO_SERVICE = """
import json
from guanyinli.rpc import rpc

REPLY = json.loads(open("reply.json").read())["result"]


class EchoVolunteers:
    name = "bench_echo"

    @rpc
    def get_volunteer(self, volunteer_id):
        return REPLY
"""


def start_nameko(module: str, config: Path, tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(PATHS + [str(tmp), os.environ.get("PYTHONPATH", "")])}
    nameko = str(Path(sys.executable).with_name("nameko"))
    return subprocess.Popen([nameko, "run", "--config", str(config), module], env=env, cwd=tmp)


def start_echo_service(vhost: Vhost, tmp: Path, reply: bytes) -> subprocess.Popen:
    """A nameko service answering the same reply without any work: the framework's own cost."""
    (tmp / "reply.json").write_bytes(reply)
    (tmp / "bench_echo_service.py").write_text(ECHO_SERVICE)
    return start_nameko("bench_echo_service", tmp / "nameko.yaml", tmp)


def start_service(vhost: Vhost, tmp: Path) -> subprocess.Popen:
    from sqlalchemy.orm import Session

    from guanyinli.db import make_engine
    from guanyinli.migrate import upgrade
    from volunteers.demo import load_demo

    url = f"sqlite:///{tmp / 'volunteers.db'}"
    upgrade("volunteers", url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        load_demo(session)
    engine.dispose()
    config = tmp / "nameko.yaml"
    config.write_text(
        json.dumps(
            {
                "AMQP_URI": vhost.nameko_uri,
                "DB_URIS": {"volunteers": url},
                "serializer": "json",
                "max_workers": 10,
                "LOGGING": {"version": 1, "root": {"level": "WARNING"}},
            }
        )
    )
    return start_nameko("volunteers.service", config, tmp)


# --- the two clients ---------------------------------------------------------------------------


class RawClient:
    """A pika request/reply client; with ``nameko=<service>`` it speaks nameko's RPC wire format.

    nameko routes requests through the ``nameko-rpc`` topic exchange (routing key
    ``service.method``) and publishes replies there with the caller's reply queue as routing key.
    Context data travels as ``nameko.<key>`` headers: every request carries the caller's identity
    token as ``nameko.identity``, as the other clients' requests do (the raw echo ignores it).
    """

    def __init__(
        self,
        params: pika.ConnectionParameters,
        confirms: bool = False,
        nameko: str | None = None,
        context_data: dict | None = None,
    ):
        self.headers = {f"nameko.{key}": value for key, value in (context_data or {}).items()}
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        if confirms:
            self.channel.confirm_delivery()
        self.reply_queue = self.channel.queue_declare("", exclusive=True).method.queue
        if nameko:
            self.exchange, self.routing_key = "nameko-rpc", f"{nameko}.get_volunteer"
            self.channel.queue_bind(self.reply_queue, self.exchange, self.reply_queue)
        else:
            self.exchange, self.routing_key = "", _queue(confirms)
        self.response = None
        self.channel.basic_consume(self.reply_queue, self._on_reply, auto_ack=True)

    def _on_reply(self, ch, method, props, body):
        if props.correlation_id == self.correlation_id:
            self.response = json.loads(body)

    def call(self, volunteer_id: int):
        self.response = None
        self.correlation_id = uuid.uuid4().hex
        body = json.dumps({"args": [volunteer_id], "kwargs": {}}).encode()
        props = pika.BasicProperties(
            reply_to=self.reply_queue,
            correlation_id=self.correlation_id,
            content_type="application/json",
            headers=self.headers,
        )
        self.channel.basic_publish(self.exchange, self.routing_key, body, props, mandatory=True)
        while self.response is None:
            self.connection.process_data_events(time_limit=None)
        if self.response.get("error"):
            raise RuntimeError(self.response["error"])
        return self.response

    def close(self):
        self.connection.close()


class PlatformClient:
    """``guanyinli.client.Client``: the platform's client for programs outside nameko."""

    def __init__(self, uri: str, service: str = "volunteers", context_data: dict | None = None):
        from guanyinli.client import Client

        self.client = Client(uri, context_data=context_data, timeout=30)
        self.method = self.client[service].get_volunteer

    def call(self, volunteer_id: int):
        return self.method(volunteer_id)

    def close(self):
        self.client.close()


class NamekoClient:
    """nameko's standalone ``ServiceRpcProxy``: the platform's (transient requests) or, ``plain``, nameko's own."""

    def __init__(self, uri: str, service: str = "volunteers", plain: bool = False, context_data: dict | None = None):
        if plain:
            from nameko.standalone.rpc import ServiceRpcProxy
        else:
            from guanyinli.rpc import ServiceRpcProxy

        self.proxy_cm = ServiceRpcProxy(
            service, {"AMQP_URI": uri, "serializer": "json"}, context_data=context_data, timeout=30
        )
        self.proxy = self.proxy_cm.__enter__()

    def call(self, volunteer_id: int):
        return self.proxy.get_volunteer(volunteer_id)

    def close(self):
        self.proxy_cm.__exit__(None, None, None)


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process so far (Linux ``/proc``), None where unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(make_client, calls: int, clients: int, ids: list[int], server: int | None = None) -> dict:
    """``calls`` calls spread over ``clients`` threads; per-call latencies and overall calls/s.

    ``server``: the pid of the answering process, whose CPU time per call is reported too.
    """
    per_client = [calls // clients + (1 if i < calls % clients else 0) for i in range(clients)]
    latencies: list[float] = []
    lock = threading.Lock()
    opened = [make_client() for _ in range(clients)]
    for client in opened:  # warm up connections, queues and the service's caches
        for i in range(20):
            client.call(ids[i % len(ids)])
    barrier = threading.Barrier(clients + 1)

    def work(client, n, offset):
        mine = []
        barrier.wait()
        for i in range(n):
            started = time.perf_counter()
            client.call(ids[(offset + i) % len(ids)])
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=work, args=(c, n, i * 37))
        for i, (c, n) in enumerate(zip(opened, per_client, strict=True))
    ]
    for t in threads:
        t.start()
    barrier.wait()
    server_cpu = cpu_seconds(server) if server else None
    started, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if server_cpu is not None:
        server_cpu = cpu_seconds(server) - server_cpu
    for client in opened:
        client.close()
    latencies.sort()
    return {
        "calls_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "client_cpu_ms": cpu / len(latencies) * 1000,
        "server_cpu_ms": None if server_cpu is None else server_cpu / len(latencies) * 1000,
    }


def wait_ready(
    uri: str, service: subprocess.Popen, context_data: dict, name: str = "volunteers", timeout: float = 60
) -> dict:
    from nameko.exceptions import UnknownService

    from guanyinli.rpc import ServiceRpcProxy

    deadline = time.monotonic() + timeout
    while True:
        if service.poll() is not None:
            raise SystemExit(f"the {name} service exited with {service.returncode}")
        try:
            with ServiceRpcProxy(name, {"AMQP_URI": uri}, context_data=context_data, timeout=5) as proxy:
                return proxy.get_volunteer(1)
        except (UnknownService, Exception):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per mode and kind (default 1000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    args = parser.parse_args(argv)
    ensure_local_keys()  # before the services start: they find the keys through IDENTITY_KEYS_DIR
    caller = organiser_context("bench-rpc")  # one token for every client and row

    with tempfile.TemporaryDirectory(prefix="bench-rpc-") as tmpdir, Vhost() as vhost:
        service = start_service(vhost, Path(tmpdir))
        echoes: list = []
        try:
            sample = wait_ready(vhost.nameko_uri, service, caller)
            ids = list(range(1, 301))
            reply = json.dumps({"result": sample, "error": None}).encode()
            echo_service = start_echo_service(vhost, Path(tmpdir), reply)
            echoes.append(echo_service)
            wait_ready(vhost.nameko_uri, echo_service, caller, "bench_echo")
            for confirms in (False, True):
                ready = multiprocessing.Event()
                echo = multiprocessing.Process(
                    target=echo_server, args=(vhost.pika_params, reply, confirms, ready), daemon=True
                )
                echo.start()
                echoes.append(echo)
                if not ready.wait(30):
                    raise SystemExit("the raw echo server did not start")

            raw_echo, raw_confirmed = echoes[1].pid, echoes[2].pid
            uri, params = vhost.nameko_uri, vhost.pika_params
            rows = (  # kind, client factory, pid of the process that answers
                (RAW, lambda: RawClient(params, context_data=caller), raw_echo),
                (RAW_CONFIRMED, lambda: RawClient(params, True, context_data=caller), raw_confirmed),
                (NAMEKO_ECHO, lambda: PlatformClient(uri, "bench_echo", caller), echo_service.pid),
                (ECHO_PROXY, lambda: NamekoClient(uri, "bench_echo", context_data=caller), echo_service.pid),
                (
                    NAMEKO_ECHO_PIKA,
                    lambda: RawClient(params, nameko="bench_echo", context_data=caller),
                    echo_service.pid,
                ),
                (CALL, lambda: PlatformClient(uri, context_data=caller), service.pid),
                (CALL_PROXY, lambda: NamekoClient(uri, context_data=caller), service.pid),
                (CALL_PLAIN, lambda: NamekoClient(uri, plain=True, context_data=caller), service.pid),
                (CALL_PIKA, lambda: RawClient(params, nameko="volunteers", context_data=caller), service.pid),
            )
            results = {}
            for mode, clients in (("sequential", 1), (f"{args.clients} clients", args.clients)):
                for kind, make_client, server in rows:
                    results[(kind, mode)] = run(make_client, args.calls, clients, ids, server)
        finally:
            service.terminate()
            try:
                service.wait(15)
            except subprocess.TimeoutExpired:
                service.kill()
            for echo in echoes:
                echo.terminate()
            for echo in echoes:
                echo.join(10) if hasattr(echo, "join") else echo.wait(10)

    print(f"\nRPC read call vs raw AMQP request/reply: {args.calls} calls per row, reply {len(reply)} bytes\n")
    print(
        f"{'kind':<28} {'mode':<12} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'client CPU ms/call':>19} {'server CPU ms/call':>19}"
    )
    for (kind, mode), r in results.items():
        server_cpu = "-" if r["server_cpu_ms"] is None else f"{r['server_cpu_ms']:.2f}"
        print(
            f"{kind:<28} {mode:<12} {r['calls_per_s']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}"
            f" {r['client_cpu_ms']:>19.2f} {server_cpu:>19}"
        )
    print()
    worst = 0.0
    for mode in ("sequential", f"{args.clients} clients"):
        call = results[(CALL, mode)]
        for baseline in (RAW, RAW_CONFIRMED, NAMEKO_ECHO):
            raw = results[(baseline, mode)]
            latency = call["p50_ms"] / raw["p50_ms"]
            throughput = raw["calls_per_s"] / call["calls_per_s"]
            if baseline == RAW:
                worst = max(worst, latency, throughput)
            print(f"ratio {mode:<12} vs {baseline:<24} p50 latency x{latency:.2f}, throughput x{throughput:.2f}")
    verdict = "met" if worst <= 3 else "NOT met"
    print(f"target: a read call costs at most 3x the raw round trip -> {verdict} (worst x{worst:.2f} vs {RAW})")
    print(
        "(the platform's client publishes requests transient and mandatory without publisher confirms, the\n"
        " service its replies transient without, on one connection it keeps; nameko's proxies wait for confirms;\n"
        " plain nameko publishes both persistent with confirms. The nameko echo row is the framework alone,\n"
        " so get_volunteer / echo is what the service itself adds)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
