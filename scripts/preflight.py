"""Check that the broker and the database the tests need are reachable; say how to start them if not."""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlparse

CHECKS = [
    ("RabbitMQ", os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/"), 5672, "rabbitmq-server -detached"),
    (
        "RabbitMQ management API (nameko's test fixtures)",
        os.environ.get("RABBIT_MGMT_URL", "http://127.0.0.1:15672/"),
        15672,
        "rabbitmq-plugins enable rabbitmq_management",
    ),
    (
        "PostgreSQL",
        os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        5432,
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
]


def reachable(url: str, default_port: int) -> tuple[bool, str]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return True, f"{host}:{port}"
    except OSError:
        return False, f"{host}:{port}"


def main() -> int:
    failed = 0
    only = sys.argv[1:]
    for name, url, port, fix in CHECKS:
        if only and not any(o.lower() in name.lower() for o in only):
            continue
        if "postgres" in name.lower() and os.environ.get("TEST_DATABASES", "sqlite,postgresql") == "sqlite":
            continue
        ok, where = reachable(url, port)
        if not ok:
            failed += 1
            print(f"{name} is not reachable at {where}: start it with `{fix}`", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
