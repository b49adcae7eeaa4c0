"""`make run`: migrate, load the demo data and run every service in the foreground until Ctrl-C.

Each service runs as its own process, exactly as in docker-compose (`python -m guanyinli.serve`).
Without SMTP_HOST a local SMTP sink is started and the emails land in var/mail.log; text messages
(sign-in codes of the volunteers' phone page too) land in var/sms.log unless SMS_PROVIDER says otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

sys.path[:0] = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]

from guanyinli.config import VAR_DIR, amqp_uri, database_url  # noqa: E402
from guanyinli.migrate import SERVICES, upgrade_all  # noqa: E402

FEEDS_ADDRESS = os.environ.get("FEEDS_ADDRESS", "127.0.0.1:8000")
WEB_ADDRESS = os.environ.get("WEB_ADDRESS", "127.0.0.1:8080")
WEB_ADDRESSES = {"activities": FEEDS_ADDRESS, "organiser": WEB_ADDRESS}
DEMO_ORGANISER = ("organiser", "guanyinli-demo")
SMTP_SINK = ("127.0.0.1", int(os.environ.get("SMTP_SINK_PORT", "8025")))


def broker_reachable() -> bool:
    parsed = urlparse(amqp_uri())
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), timeout=3):
            return True
    except OSError:
        return False


def available_services() -> list[str]:
    found = []
    for service in SERVICES:
        try:
            importlib.import_module(f"{service}.service")
        except ImportError:
            continue
        found.append(service)
    return found


def load_demo(services: list[str]) -> None:
    for service in services:
        try:
            demo = importlib.import_module(f"{service}.demo")
        except ImportError:
            continue
        print(f"{service}: loading demo data", flush=True)
        demo.main(["--database-url", database_url(service)])


def local_feed_secret() -> str:
    """A secret kept under var/, so feed links stay valid across restarts of the local run."""
    import secrets

    path = VAR_DIR / "feed_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def local_keys() -> Path:
    """Identity keys of every service and of the operator's tools, under var/keys (made once)."""
    from guanyinli.identity import ensure_keys

    if not os.environ.get("IDENTITY_KEYS_DIR"):
        os.environ["IDENTITY_KEYS_DIR"] = str(ensure_keys(VAR_DIR / "keys"))
    return Path(os.environ["IDENTITY_KEYS_DIR"])


def demo_login() -> tuple[str, str] | None:
    """A demo organiser account, made once, so the organiser page can be tried straight away."""
    import guanyinli.errors
    from guanyinli.client import Client
    from guanyinli.identity import tools_context

    with Client(amqp_uri(), context_data=tools_context(["organiser"], name="make run"), timeout=15) as rpc:
        if not any(a["username"] == DEMO_ORGANISER[0] for a in rpc.organiser.list_accounts()):
            try:
                rpc.organiser.create_account(username=DEMO_ORGANISER[0], password=DEMO_ORGANISER[1], role="organiser")
            except guanyinli.errors.PlatformError as exc:
                print(f"demo organiser account not created: {exc}", file=sys.stderr)
                return None
    return DEMO_ORGANISER


def demo_volunteer_link() -> tuple[str, str] | None:
    """A sign-in link to the phone page of a demo volunteer with patrols, and their number."""
    from guanyinli.client import Client
    from guanyinli.identity import tools_context
    from guanyinli.timeutil import now

    context = tools_context(["organiser"], name="make run")
    with Client(amqp_uri(), context_data=context, timeout=15) as rpc:
        page = rpc.volunteers.list_volunteers(team="voluntary_patrol", active=True, limit=50)
        start = now()
        for volunteer in page["items"]:
            duties = rpc.activities.list_duties(
                volunteer_id=volunteer["id"], start=start.isoformat(), end=(start + timedelta(days=14)).isoformat()
            )
            if duties:
                link = rpc.organiser.issue_signin_link(volunteer_id=volunteer["id"])
                return link["url"], volunteer["phone"]
    return None


def wait_for_health(services: list[str], timeout: float = 60) -> None:
    from guanyinli.client import Client

    deadline = time.monotonic() + timeout
    with Client(amqp_uri(), timeout=5) as rpc:
        for service in services:
            while True:
                try:
                    getattr(rpc, service).health()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{service} did not answer its health call within {timeout:.0f} s") from None
                    time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-only", action="store_true", help="migrate and load the demo data, then exit")
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    args = parser.parse_args(argv)

    if not broker_reachable():
        print(f"RabbitMQ is not reachable at {amqp_uri()}: start it with `rabbitmq-server -detached`", file=sys.stderr)
        return 1
    services = available_services()
    local_keys()
    for service in services:
        upgrade_all(service)
        print(f"{service}: database ready at {database_url(service).split('@')[-1]}", flush=True)
    if not args.no_demo:
        load_demo(services)
    if args.demo_only:
        return 0

    # A supervisor's or `kill`'s SIGTERM stops the services too, as Ctrl-C does (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("GUANYINLI_ENV", "local")  # weak example secrets are accepted here
    env.setdefault("FEED_SECRET", local_feed_secret())
    env.setdefault("FEED_BASE_URL", f"http://{FEEDS_ADDRESS}")
    env.setdefault("ORGANISER_SECURE_COOKIES", "false")  # the local page is plain HTTP
    env.setdefault("ORGANISER_PUBLIC_URL", f"http://{WEB_ADDRESS}")
    children: list[subprocess.Popen] = []
    if not env.get("SMTP_HOST"):
        mail_log = open(VAR_DIR / "mail.log", "ab")
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-c",
                    "aiosmtpd.handlers.Debugging",
                    "-l",
                    f"{SMTP_SINK[0]}:{SMTP_SINK[1]}",
                ],
                stdout=mail_log,
                stderr=subprocess.STDOUT,
            )
        )
        env.update(SMTP_HOST=SMTP_SINK[0], SMTP_PORT=str(SMTP_SINK[1]), SMTP_STARTTLS="false")
    env["SMS_PROVIDER"] = env.get("SMS_PROVIDER") or "sink"
    env["SMS_SINK_PATH"] = env.get("SMS_SINK_PATH") or str(VAR_DIR / "sms.log")
    for service in services:
        service_env = dict(env, WEB_SERVER_ADDRESS=WEB_ADDRESSES.get(service, "127.0.0.1:0"))
        children.append(
            subprocess.Popen([sys.executable, "-m", "guanyinli.serve", service, "--no-migrate"], env=service_env)
        )
    try:
        wait_for_health(services)
        login = demo_login() if "organiser" in services and not args.no_demo else None
        if not args.no_demo and {"volunteers", "activities"} <= set(services):
            from demo_duties import populate

            populate({"AMQP_URI": amqp_uri()})
        volunteer = demo_volunteer_link() if login else None
        print(
            "\nGuanyinli platform is running:\n"
            f"  services      {', '.join(services)} on {amqp_uri()}\n"
            f"  feeds         http://{FEEDS_ADDRESS}/feeds/...  (a volunteer's links: `.venv/bin/guanyinli feed-links ID --issue`)\n"
            f"  organiser     http://{WEB_ADDRESS}/  "
            + (
                f"(demo login: {login[0]} / {login[1]})\n"
                if login
                else "(create a login: `guanyinli organisers add NAME`)\n"
            )
            + (
                f"  volunteers    http://{WEB_ADDRESS}/v  (a demo volunteer: {volunteer[0]} ; or sign in with "
                f"{volunteer[1]}, the SMS codes are in var/sms.log)\n"
                if volunteer
                else ""
            )
            + (
                f"  calendar      http://{WEB_ADDRESS}/calendar  (every programme by week or month; an occurrence's people, moves, attendance; Excel)\n"
                f"  school        http://{WEB_ADDRESS}/school  (the weekend school's pupils and the demo term's tutors)\n"
                f"  visits        http://{WEB_ADDRESS}/visits  (the elderly visited, a month of visits, one person overdue)\n"
                f"  lectures      http://{WEB_ADDRESS}/lectures  (the demo month's first Thursday lecture is full: six residents wait)\n"
                f"  clean-ups     http://{WEB_ADDRESS}/cleanups  (the coming four weeks' rotation of the sanitation team)\n"
                f"  appeals       http://{WEB_ADDRESS}/appeals  (the past month of residents' appeals, open and overdue first)\n"
                f"                http://{WEB_ADDRESS}/appeals/report  (the month per grid and for the community: in time, satisfaction; Excel)\n"
                f"  residents     http://{WEB_ADDRESS}/appeal  (a resident's own appeal, by SMS code: var/sms.log)\n"
                f"  partners      http://{WEB_ADDRESS}/partners  (the two-way list: eight partners of the six alliances, their matches)\n"
                if login
                else ""
            )
            + f"  mail          {'var/mail.log (local SMTP sink)' if not os.environ.get('SMTP_HOST') else os.environ['SMTP_HOST']}"
            + "; volunteers' quiet hours hold messages 22:00-07:00 Asia/Shanghai\n"
            + f"  sms           {env['SMS_SINK_PATH'] + ' (local sink: read sign-in codes here)' if env['SMS_PROVIDER'] == 'sink' else env['SMS_PROVIDER']}\n"
            "  shell         .venv/bin/nameko shell --config config/nameko.yaml   (anonymous: n.rpc.volunteers.health()); a token: .venv/bin/guanyinli token --role organiser\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a service stopped; shutting the others down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
