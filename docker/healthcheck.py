"""Health probe of one service, used by the compose healthchecks and by scripts/check_compose.py.

    python docker/healthcheck.py activities [--http /path]

Calls the service's ``health`` RPC method through the broker in ``AMQP_URI``; with ``--http``
it also requires an HTTP answer (any status below 500) from the port in ``WEB_SERVER_ADDRESS``.
Exit status 0 means healthy; the reason for anything else is printed in one line.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


def check_rpc(service: str, timeout: float) -> str:
    from guanyinli.client import Client

    with Client(os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/"), timeout=timeout) as rpc:
        return repr(rpc[service].health())


def check_http(path: str, timeout: float) -> str:
    address = os.environ.get("WEB_SERVER_ADDRESS", "127.0.0.1:8000")
    port = address.rsplit(":", 1)[-1]
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:  # a 404 still proves the server answers
        status = exc.code
    if status >= 500:
        raise RuntimeError(f"{url} answered {status}")
    return f"{url} {status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service")
    parser.add_argument("--http", metavar="PATH", help="also GET this path on the service's web port")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    try:
        answers = [check_rpc(args.service, args.timeout)]
        if args.http:
            answers.append(check_http(args.http, args.timeout))
    except Exception as exc:  # the probe reports every failure the same way: one line, exit 1
        print(f"{args.service}: unhealthy: {type(exc).__name__}: {exc}")
        return 1
    print(f"{args.service}: healthy: {'; '.join(answers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
