"""Alembic migrations of every service, run programmatically (make run, tests, containers)."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from guanyinli import tenancy
from guanyinli.config import database_url, normalize_url

SERVICES = ("volunteers", "activities", "notifications", "organiser", "appeals")


def alembic_config(
    service: str, url: str | None = None, community: str | None = None, config: dict | None = None
) -> Config:
    """Alembic's config for the service's storage of ``community`` (None: the default community;
    ``config``: the nameko config naming the communities served, else the environment)."""
    package = importlib.import_module(service)
    script_location = Path(package.__file__).parent / "migrations"
    slug = community or tenancy.default(config)
    url = tenancy.storage_url(normalize_url(url or database_url(service)), slug, config)
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = service
    cfg.attributes["community"] = slug
    cfg.attributes["schema"] = tenancy.schema(slug, config)
    return cfg


def upgrade(
    service: str,
    url: str | None = None,
    revision: str = "head",
    community: str | None = None,
    config: dict | None = None,
) -> None:
    """Bring one community's storage of the service (None: the default one's) to ``revision``."""
    command.upgrade(alembic_config(service, url, community, config), revision)


def upgrade_all(service: str, url: str | None = None, config: dict | None = None) -> tuple[str, ...]:
    """Bring the storage of every community served (``guanyinli.tenancy.served``) to the newest schema."""
    slugs = tenancy.served(config)
    for slug in slugs:
        upgrade(service, url, community=slug, config=config)
    return slugs


def run_env(context, target_metadata, service: str) -> None:
    """Body of every service's migrations/env.py: online migrations with a per-service version table."""
    from sqlalchemy import engine_from_config, pool

    cfg = context.config
    version_table = f"alembic_version_{service}"
    schema = cfg.attributes.get("schema")  # another community's tables: a schema of their own (tenancy)
    connectable = cfg.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(
            cfg.get_section(cfg.config_ini_section, {}) or {"sqlalchemy.url": cfg.get_main_option("sqlalchemy.url")},
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
    with connectable.connect() as connection:
        if schema is not None and connection.dialect.name == "postgresql":
            with connection.begin():  # committed: the session's search_path outlives it
                tenancy.ensure_schema(connection, schema)
                tenancy.set_search_path(connection, schema, local=False)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=_not_the_owner_table,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together (docker-compose up --scale) migrate one at a time;
                # the others then find the schema at head. Released at commit.
                lock = version_table if schema is None else f"{schema}.{version_table}"
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
            context.run_migrations()


def _not_the_owner_table(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate: the ``community`` table is made by each service's migration, not its models."""
    return not (type_ == "table" and name == tenancy.TABLE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply or create database migrations of the services.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("upgrade", help="bring the databases to the newest schema")
    up.add_argument("services", nargs="*", default=list(SERVICES), help="services (default: all)")
    up.add_argument(
        "--community",
        action="append",
        help="only this community's storage (repeatable; default: every community served, GUANYINLI_COMMUNITIES)",
    )
    rev = sub.add_parser("revision", help="autogenerate a migration from the models")
    rev.add_argument("service", choices=SERVICES)
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "upgrade":
        slugs = [tenancy.check_slug(c) for c in args.community] if args.community else tenancy.served()
        for service in args.services:
            for slug in slugs:
                upgrade(service, community=slug)
                where = tenancy.storage_url(database_url(service), slug).split("@")[-1]
                schema = tenancy.schema(slug)
                print(f"{service}: {slug} at the newest schema ({where}{f', schema {schema}' if schema else ''})")
    else:
        command.revision(alembic_config(args.service), message=args.message, autogenerate=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
