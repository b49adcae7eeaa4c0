"""The volunteers' phone page: p95 time of its main pages, and their weight, against a static file.

    python benchmarks/bench_phone.py [--requests 200]

Setup (not timed): ``scripts/run.py`` on a fresh RabbitMQ vhost (management API on 15672) with
SQLite files in a temporary folder: every service, the demo data (300 volunteers of the 15 grids
and three teams) and its duties (two weeks of sign-ups, the published patrol roster of four
weeks), so the pages read a month of a community's duties. A demo volunteer with patrols signs in
with the sign-in link ``make run`` prints.

Then ``--requests`` sequential GETs of each main page (open duties: next week's, the first with the
demo's duties) with keep-alive, as that volunteer, and of
``/static/phone.css`` from the same server (the baseline: what the server costs without any
work behind it). Each page calls one to four RPC methods of the other services. The table gives
p50 and p95 in ms, the ratio of each p95 to the static file's, and the page's weight (HTML and
CSS; the page has no script), against the target of 100 kB.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", message="DSA is deprecated")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "common"), str(HERE)]

import requests  # noqa: E402
from bench_rpc import Vhost  # noqa: E402

PAGES = ["/v", "/v/open?week=1", "/v/past", "/v/points", "/v/calendar", "/v/availability", "/v/settings", "/v/swaps"]
STATIC = "/static/phone.css"
WEIGHT_LIMIT = 100 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_platform(vhost: Vhost, tmp: Path) -> tuple[subprocess.Popen, str, str]:
    """scripts/run.py with the demo; returns the process, the site and the demo volunteer's link."""
    web = f"127.0.0.1:{free_port()}"
    env = dict(
        os.environ,
        AMQP_URI=vhost.nameko_uri,
        GUANYINLI_VAR_DIR=str(tmp),
        WEB_ADDRESS=web,
        FEEDS_ADDRESS=f"127.0.0.1:{free_port()}",
        SMTP_SINK_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    for name in ("VOLUNTEERS", "ACTIVITIES", "NOTIFICATIONS", "ORGANISER"):
        env[f"{name}_DATABASE_URL"] = f"sqlite:///{tmp / name.lower()}.db"
    env.pop("DATABASE_URL", None)
    env.pop("IDENTITY_KEYS_DIR", None)
    log = tmp / "run.log"  # a file, not a pipe: a pipe nobody reads any more would stop the services
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run.py")],
        env=env,
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    link = None
    started = time.monotonic()
    while time.monotonic() - started < 600 and process.poll() is None:
        text = log.read_text(encoding="utf-8", errors="replace")
        found = re.search(r"demo volunteer: (http://\S+/v/link/\S+)", text)
        if found and "Press Ctrl-C" in text:
            link = found.group(1)
            break
        time.sleep(1)
    if link is None:
        process.terminate()
        raise SystemExit("make run printed no demo volunteer's sign-in link")
    print(f"platform up in {time.monotonic() - started:.0f} s", flush=True)
    return process, f"http://{web}", link


def sign_in(site: str, link: str) -> requests.Session:
    session = requests.Session()
    page = session.get(link, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = session.post(link, data={"csrf": csrf}, allow_redirects=False, timeout=30)
    assert done.status_code == 303, done.text[:300]
    return session


def timings(session: requests.Session, url: str, count: int) -> tuple[list[float], int]:
    session.get(url, timeout=30)  # warm: templates compiled, connections open
    times = []
    size = 0
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url, timeout=30)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.content)
    return times, size


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with Vhost("bench-phone") as vhost, tempfile.TemporaryDirectory() as folder:
        process, site, link = start_platform(vhost, Path(folder))
        try:
            session = sign_in(site, link)
            static, css = timings(session, site + STATIC, args.requests)
            base = p95(static)
            print(f"\n{'page':<20} {'p50 ms':>8} {'p95 ms':>8} {'x static':>9} {'kB':>6}  weight")
            print(f"{STATIC:<20} {statistics.median(static) * 1e3:8.1f} {base * 1e3:8.1f} {1:9.1f} {css / 1024:6.1f}")
            worst_weight = 0
            for page in PAGES:
                times, size = timings(session, site + page, args.requests)
                weight = size + css
                worst_weight = max(worst_weight, weight)
                print(
                    f"{page:<20} {statistics.median(times) * 1e3:8.1f} {p95(times) * 1e3:8.1f} "
                    f"{p95(times) / base:9.1f} {weight / 1024:6.1f}  {'ok' if weight <= WEIGHT_LIMIT else 'OVER'}"
                )
            print(
                f"\nheaviest page with its CSS {worst_weight / 1024:.1f} kB (target below {WEIGHT_LIMIT // 1024} kB: "
                f"{'met' if worst_weight <= WEIGHT_LIMIT else 'NOT met'}); ratios are p95 against the static file's p95"
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
