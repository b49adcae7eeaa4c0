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


def broker_uris(uri: str) -> list[str]:
    """The brokers of an ``AMQP_URI``: one URI, or the nodes of a cluster separated by ``;``
    (kombu's failover form, ``pyamqp://u:p@a:5672/vh;pyamqp://u:p@b:5672/vh``; every connection
    nameko makes tries them in turn when one is unreachable). Blanks around each are ignored."""
    uris = [part.strip() for part in uri.split(";") if part.strip()]
    if not uris:
        raise ValueError("AMQP_URI names no broker")
    return uris


def join_broker_uris(uris) -> str:
    """The ``AMQP_URI`` of several brokers (the inverse of ``broker_uris``)."""
    uris = [u.strip() for u in uris]
    if not uris or any(not u or ";" in u for u in uris):
        raise ValueError(f"not a list of broker URIs: {uris!r}")
    return ";".join(uris)


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


# --- secrets -----------------------------------------------------------------------------------

LOCAL_ENV = "local"
# Words of example values and defaults: a secret containing one of them was never generated.
PLACEHOLDER_WORDS = ("change-me", "change_me", "changeme", "example", "placeholder", "replace-me", "your-")
PLACEHOLDER_VALUES = frozenset({"secret", "password", "passwd", "test", "default", "123456"})


class InsecureSecret(ValueError):
    """A secret setting is missing, short or a placeholder where the platform is deployed."""


def environment() -> str:
    """``GUANYINLI_ENV``: ``local`` for `make run` and the tests; anything else (compose sets
    ``production``, and unset means the same) is a deployment."""
    return os.environ.get("GUANYINLI_ENV", "").strip().lower() or "production"


def is_local() -> bool:
    return environment() == LOCAL_ENV


def secret_problem(value: str | None, min_length: int = 32) -> str | None:
    """Why ``value`` is not a usable secret, or None."""
    text = "" if value is None else str(value)
    if not text.strip():
        return "is empty"
    lowered = text.strip().lower()
    if lowered in PLACEHOLDER_VALUES or any(word in lowered for word in PLACEHOLDER_WORDS):
        return "is a placeholder value"
    if len(set(text)) < 8:
        return "repeats too few characters"
    if len(text) < min_length:
        return f"has {len(text)} characters, fewer than {min_length}"
    return None


def require_secret(name: str, value: str | None, min_length: int = 32) -> str:
    """``value`` when it is a usable secret; raises ``InsecureSecret`` naming the setting otherwise.

    Lenient only in the local run (``GUANYINLI_ENV=local``), where a weak value is returned as is.
    """
    problem = secret_problem(value, min_length)
    if problem is not None and not is_local():
        raise InsecureSecret(
            f"{name} {problem}: set it to a random value of at least {min_length} characters "
            f"(e.g. `openssl rand -hex {max(16, (min_length + 1) // 2)}`); "
            f"only GUANYINLI_ENV={LOCAL_ENV} accepts a weak one"
        )
    return "" if value is None else str(value)
