"""Start one service the way containers and `make run` do: migrate its database, then `nameko run`.

    python -m guanyinli.serve activities

The database URL comes from `<SERVICE>_DATABASE_URL` or `DATABASE_URL` (default: a SQLite
file under var/), the broker from `AMQP_URI`, the HTTP port from `WEB_SERVER_ADDRESS`.
"""

from __future__ import annotations

import argparse
import os
import sys

from guanyinli.config import ROOT

SERVICES = {
    "volunteers": "volunteers.service",
    "activities": "activities.service",
    "notifications": "notifications.service",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=sorted(SERVICES))
    parser.add_argument("--no-migrate", action="store_true", help="skip the Alembic upgrade")
    parser.add_argument("--config", default=os.environ.get("NAMEKO_CONFIG", str(ROOT / "config" / "nameko.yaml")))
    args = parser.parse_args(argv)
    if not args.no_migrate:
        from guanyinli.migrate import upgrade

        upgrade(args.service)
    nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
    os.execv(nameko, [nameko, "run", "--config", args.config, SERVICES[args.service]])
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
