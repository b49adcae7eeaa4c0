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
    "organiser": "organiser.service",
    "appeals": "appeals.service",
}
# Services whose web port differs from the shared default of config/nameko.yaml.
WEB_DEFAULTS = {"organiser": "127.0.0.1:8080"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=sorted(SERVICES))
    parser.add_argument("--no-migrate", action="store_true", help="skip the Alembic upgrade")
    parser.add_argument("--config", default=os.environ.get("NAMEKO_CONFIG", str(ROOT / "config" / "nameko.yaml")))
    args = parser.parse_args(argv)
    if not args.no_migrate:
        from guanyinli.migrate import upgrade_all

        upgrade_all(args.service)  # every community served (GUANYINLI_COMMUNITIES)
    if args.service in WEB_DEFAULTS:
        os.environ.setdefault("WEB_SERVER_ADDRESS", WEB_DEFAULTS[args.service])
    # eventlet imports dnspython, which warns about DSA once cryptography (identity tokens) is there
    os.environ.setdefault("PYTHONWARNINGS", "ignore:DSA is deprecated")
    nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
    os.execv(nameko, [nameko, "run", "--config", args.config, SERVICES[args.service]])
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
