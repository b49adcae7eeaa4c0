"""Configuration from environment variables, with defaults that work on a developer machine."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("GUANYINLI_VAR_DIR", ROOT / "var"))
DEFAULT_AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg2 here (made green by psycogreen), whatever SQLAlchemy's default."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def database_url(service: str) -> str:
    """`<SERVICE>_DATABASE_URL`, then `DATABASE_URL`, then a SQLite file under var/."""
    specific = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if specific:
        return normalize_url(specific)
    if os.environ.get("DATABASE_URL"):
        return normalize_url(os.environ["DATABASE_URL"])
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / (service + '.db')}"


def service_database_url(config: dict, service: str) -> str:
    """The URL a running service uses: nameko config `DB_URIS[service]`, else the environment."""
    uris = config.get("DB_URIS") or {}
    return normalize_url(uris[service]) if uris.get(service) else database_url(service)


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def setting(config: dict, section: str, key: str, default: object) -> object:
    """A service setting: nameko config ``section[key]``, else env ``<SECTION>_<KEY>``, else ``default``
    (an empty value counts as unset, as ``${VAR:}`` in the YAML gives)."""
    value = (config.get(section) or {}).get(key)
    if value is None or value == "":
        value = os.environ.get(f"{section}_{key}")
    return default if value is None or value == "" else value
