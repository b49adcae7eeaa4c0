"""Communities as tenants: one installation serving several communities, each apart from the others.

An installation serves the communities its config names (nameko config ``COMMUNITIES``, else the
environment variable ``GUANYINLI_COMMUNITIES``: slugs separated by commas; default ``guanyinli``).
The first is the **default community**: tokens without a community claim, and web addresses
without a ``/c/<slug>`` prefix, are its.

Every record belongs to exactly one community because every community has storage of its own in
each service's database, and a worker reaches only the storage of the community it acts for:

* PostgreSQL: the default community's tables are where they always were (schema ``public``);
  another community's are in schema ``community_<slug>`` of the same database. Each transaction
  of a worker for that community begins with ``SET LOCAL search_path`` to its schema, so the
  service's queries, written without any community filter, read and write only its rows. One
  connection pool serves every community.
* SQLite: the default community's file is the service's file (``var/activities.db``); another's
  is beside it (``var/activities.<slug>.db``).

A forgotten filter cannot leak one community's rows into another's answer: no query can see
them. Ids (volunteer 12, activity 3) are each community's own.

Which community a worker acts for (``community_of``):

* an RPC call or an event: the verified identity's ``com`` claim (``guanyinli.identity``), which
  only the platform's issuers sign; services calling each other or emitting events put the
  community of the worker they act in into their own token (``guanyinli.rpc.AsService``);
* a web request: the ``/c/<slug>/`` prefix of its path (``community_from_path``);
* a timer: none by itself; it goes through the communities one by one
  (``DatabaseHandle.each_community``), and what it calls or emits meanwhile is for that one.

Each service's database records the community its storage belongs to (table ``community``,
written by the migration ``community_of_the_storage`` of each service); a service refuses to use
storage that names another community, so a wrong URL cannot mix two communities' records.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, inspect, select, text

DEFAULT = "guanyinli"
SETTING = "COMMUNITIES"
ENV = "GUANYINLI_COMMUNITIES"
WORKER_ATTR = "_guanyinli_community"  # on the worker context (not its data, which travels): the community
ENVIRON_KEY = "guanyinli.community"  # WSGI environ: the community of a request's path prefix
CLAIM = "com"  # the identity token's claim
PATH_PREFIX = "/c/"
SCHEMA_PREFIX = "community_"
TABLE = "community"

SLUG = re.compile(r"^[a-z][a-z0-9]{1,30}$")


class CommunityError(ValueError):
    """A slug that is not one, or a community this installation does not serve."""


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise CommunityError(
            f"not a community slug: {slug!r} (2-31 lowercase letters and digits, starting with a letter)"
        )
    return slug


def served(config: dict | None = None) -> tuple[str, ...]:
    """The communities this installation serves, the default first."""
    value = (config or {}).get(SETTING)
    if value is None or value == "":
        value = os.environ.get(ENV, "")
    return _parsed(value if isinstance(value, str) else tuple(value))


@functools.lru_cache(maxsize=64)
def _parsed(value: str | tuple) -> tuple[str, ...]:
    """The setting's slugs, checked once: every request asks which community is the default."""
    if isinstance(value, str):
        value = tuple(part.strip() for part in value.split(","))
    slugs = tuple(dict.fromkeys(check_slug(s) for s in value if s))
    return slugs or (DEFAULT,)


def default(config: dict | None = None) -> str:
    return served(config)[0]


def is_default(slug: str, config: dict | None = None) -> bool:
    return slug == default(config)


def named(slug: str | None, config: dict | None = None) -> str | None:
    """``slug``, or None for the default community (or for None): how tokens' claims, feed MACs and
    message ids name a community, so that the default community's stay as they always were."""
    return None if slug is None or is_default(slug, config) else check_slug(slug)


# --- what a community is called ----------------------------------------------------------------------

GUANYINLI_NAMES = ("Guanyinli", "观音里")  # the community whose organisation is in code (volunteers.structure)
DIR_SETTING = "COMMUNITIES_DIR"
DIR_ENV = "GUANYINLI_COMMUNITIES_DIR"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "config" / "communities"


def communities_dir(config: dict | None = None) -> Path:
    """The folder of the communities' files (``<slug>.json``, read in full by the volunteers service):
    nameko config ``COMMUNITIES_DIR``, else ``GUANYINLI_COMMUNITIES_DIR``, else ``config/communities``."""
    return Path((config or {}).get(DIR_SETTING) or os.environ.get(DIR_ENV) or DEFAULT_DIR)


def names(slug: str, config: dict | None = None) -> tuple[str, str]:
    """The community's short names in English and Chinese, as feeds and pages title it ("观音里",
    "五台山"): Guanyinli's from code, another's from its file (``name``, ``name_zh`` without the
    trailing "Community" / "社区"), else its slug."""
    return _names(slug, str(communities_dir(config)))


@functools.lru_cache(maxsize=1024)
def _names(slug: str, folder: str) -> tuple[str, str]:
    if slug == "guanyinli":
        return GUANYINLI_NAMES
    try:
        data = json.loads((Path(folder) / f"{slug}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return slug, slug
    name = str(data.get("name") or slug).removesuffix(" Community")
    name_zh = str(data.get("name_zh") or name).removesuffix("社区")
    return name, name_zh


# --- where a community's records are ----------------------------------------------------------------


def schema(slug: str, config: dict | None = None) -> str | None:
    """PostgreSQL schema of the community's tables: None (``public``) for the default community."""
    return None if is_default(slug, config) else SCHEMA_PREFIX + check_slug(slug)


def storage_url(url: str, slug: str, config: dict | None = None) -> str:
    """The database URL of the community's storage: a file of its own beside the service's on
    SQLite; the same database on PostgreSQL (the schema tells them apart)."""
    if is_default(slug, config) or not url.startswith("sqlite"):
        return url
    check_slug(slug)
    if url in ("sqlite://", "sqlite:///:memory:"):
        raise CommunityError("an in-memory SQLite database holds one community only")
    stem, dot, suffix = url.rpartition(".")
    if not dot or "/" in suffix:
        return f"{url}.{slug}"
    return f"{stem}.{slug}.{suffix}"


def set_search_path(connection, schema_name: str | None, local: bool = True) -> None:
    """Point a PostgreSQL connection (or its transaction, ``local``) at a community's schema."""
    if schema_name is None or connection.dialect.name != "postgresql":
        return
    scope = "LOCAL " if local else ""
    connection.exec_driver_sql(f'SET {scope}search_path TO "{schema_name}"')


def owner_table(metadata: MetaData | None = None) -> Table:
    return Table(TABLE, metadata or MetaData(), Column("slug", String(31), primary_key=True))


def upgrade_owner() -> None:
    """Every service's migration ``community_of_the_storage``: the table naming the community the
    storage belongs to, with its one row: the community being migrated (``guanyinli.migrate``), for
    an existing installation the default one. No other row changes."""
    from alembic import context, op

    slug = context.config.attributes.get("community") or default()
    table = op.create_table(TABLE, Column("slug", String(31), primary_key=True))
    op.bulk_insert(table, [{"slug": check_slug(slug)}])


def downgrade_owner() -> None:
    from alembic import op

    op.drop_table(TABLE)


def owner(connection) -> str | None:
    """The community the connection's storage belongs to (None before the migration)."""
    if not inspect(connection).has_table(TABLE):
        return None
    return connection.execute(select(owner_table().c.slug)).scalar()


def check_owner(connection, slug: str) -> None:
    found = owner(connection)
    if found is not None and found != slug:
        raise CommunityError(f"this storage belongs to community {found!r}, not {slug!r}: check the database URL")


def ensure_schema(connection, schema_name: str | None) -> None:
    if schema_name is not None and connection.dialect.name == "postgresql":
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema_name}"'))


# --- which community a worker acts for --------------------------------------------------------------


def community_from_path(path: str) -> tuple[str | None, str]:
    """``/c/<slug>/rest`` -> ``(slug, "/rest")``; any other path -> ``(None, path)``."""
    if not path.startswith(PATH_PREFIX):
        return None, path
    slug, slash, rest = path[len(PATH_PREFIX) :].partition("/")
    if not SLUG.match(slug):
        return None, path
    return slug, slash + rest if slash else "/"


def path_for(slug: str, path: str, config: dict | None = None) -> str:
    """The web path of ``path`` in a community: unprefixed in the default one."""
    return path if is_default(slug, config) else f"{PATH_PREFIX}{slug}{path}"


def community_of(worker_ctx) -> str:
    """The community the worker acts for (see the module's text); the default when nothing names one."""
    slug = getattr(worker_ctx, WORKER_ATTR, None)
    if slug is None:
        slug = _named_by_request(worker_ctx)
        if slug is None:
            from guanyinli import identity

            caller = identity.worker_identity(worker_ctx)
            slug = caller.community
        slug = slug or default(worker_ctx.container.config)
        setattr(worker_ctx, WORKER_ATTR, slug)
    return slug


def _named_by_request(worker_ctx) -> str | None:
    for arg in worker_ctx.args or ():
        environ = getattr(arg, "environ", None)
        if isinstance(environ, dict):
            return environ.get(ENVIRON_KEY) or None
    return None


@contextlib.contextmanager
def acting_for(worker_ctx, slug: str) -> Iterator[str]:
    """While inside: the worker acts for ``slug`` (its calls and events carry it)."""
    before = getattr(worker_ctx, WORKER_ATTR, None)
    setattr(worker_ctx, WORKER_ATTR, slug)
    try:
        yield slug
    finally:
        setattr(worker_ctx, WORKER_ATTR, before)


class PathPrefix:
    """WSGI middleware: ``/c/<slug>/...`` is served as ``/...`` with the community in the environ
    (``ENVIRON_KEY``) and the prefix moved to ``SCRIPT_NAME``; a slug this installation does not
    serve is a 404 with words."""

    def __init__(self, app, config: dict | None = None):
        self.app = app
        self.config = config

    def __call__(self, environ, start_response):
        slug, rest = community_from_path(environ.get("PATH_INFO", ""))
        if slug is not None:
            if slug not in served(self.config):
                body = f"no community {slug!r} here\n".encode()
                start_response(
                    "404 Not Found", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
                )
                return [body]
            environ[ENVIRON_KEY] = slug
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PATH_PREFIX + slug
            environ["PATH_INFO"] = rest
        return self.app(environ, start_response)


def serve_prefixes() -> None:
    """Every nameko web server of this process serves ``/c/<slug>/...`` through ``PathPrefix``
    (nameko's ``WebServer.get_wsgi_app`` is its documented place for WSGI middleware; the ``http``
    entrypoint makes its own ``WebServer``, so the method is wrapped there once, here)."""
    from nameko.web.server import WebServer

    if getattr(WebServer.get_wsgi_app, "_community_prefix", False):
        return
    plain = WebServer.get_wsgi_app

    def get_wsgi_app(self):
        return PathPrefix(plain(self), self.container.config)

    get_wsgi_app._community_prefix = True
    WebServer.get_wsgi_app = get_wsgi_app


serve_prefixes()
