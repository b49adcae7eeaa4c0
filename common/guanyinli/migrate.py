"""Alembic migrations of every service, run programmatically (make run, tests, containers)."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from guanyinli.config import database_url, normalize_url

SERVICES = ("volunteers", "activities", "notifications", "organiser", "appeals")


def alembic_config(service: str, url: str | None = None) -> Config:
    package = importlib.import_module(service)
    script_location = Path(package.__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url or database_url(service)).replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def run_env(context, target_metadata, service: str) -> None:
    """Body of every service's migrations/env.py: online migrations with a per-service version table."""
    from sqlalchemy import engine_from_config, pool

    cfg = context.config
    version_table = f"alembic_version_{service}"
    connectable = cfg.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(
            cfg.get_section(cfg.config_ini_section, {}) or {"sqlalchemy.url": cfg.get_main_option("sqlalchemy.url")},
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together (docker-compose up --scale) migrate one at a time;
                # the others then find the schema at head. Released at commit.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (version_table,))
            context.run_migrations()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply or create database migrations of the services.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("upgrade", help="bring the databases to the newest schema")
    up.add_argument("services", nargs="*", default=list(SERVICES), help="services (default: all)")
    rev = sub.add_parser("revision", help="autogenerate a migration from the models")
    rev.add_argument("service", choices=SERVICES)
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "upgrade":
        for service in args.services:
            upgrade(service)
            print(f"{service}: database at the newest schema ({database_url(service).split('@')[-1]})")
    else:
        command.revision(alembic_config(args.service), message=args.message, autogenerate=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
