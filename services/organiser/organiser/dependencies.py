"""nameko dependencies of the organiser service: its settings, the clock and the password hasher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import eventlet
import eventlet.semaphore
import eventlet.tpool
from nameko.extensions import DependencyProvider

from guanyinli.timeutil import now as system_now
from organiser import security


def flag(value, default: bool) -> bool:
    """A yes/no setting: a YAML boolean, or a string such as "false" or "0" from the environment."""
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off")
    return bool(value)


@dataclass(frozen=True)
class Settings:
    """The organiser's settings from the nameko config (config/nameko.yaml takes them from the environment)."""

    secure_cookies: bool = True  # ORGANISER_SECURE_COOKIES
    hash_concurrency: int = 2  # ORGANISER_HASH_CONCURRENCY: argon2 hashes at once, each in an OS thread
    rpc_timeout: float = 10.0  # ORGANISER_RPC_TIMEOUT (s): a page's wait for volunteers or activities

    @classmethod
    def from_config(cls, config: dict) -> Settings:
        return cls(
            secure_cookies=flag(config.get("ORGANISER_SECURE_COOKIES"), cls.secure_cookies),
            hash_concurrency=max(1, int(config.get("ORGANISER_HASH_CONCURRENCY") or cls.hash_concurrency)),
            rpc_timeout=float(config.get("ORGANISER_RPC_TIMEOUT") or cls.rpc_timeout),
        )


class SettingsProvider(DependencyProvider):
    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> Settings:
        return self.settings


class SystemClock:
    def now(self) -> datetime:
        return system_now()


class Clock(DependencyProvider):
    """``self.clock.now()``: an aware datetime. Tests swap it (``replace_dependencies(container, clock=...)``)."""

    def setup(self):
        self.clock = SystemClock()

    def get_dependency(self, worker_ctx):
        return self.clock


class Hasher:
    """argon2 in OS threads (``eventlet.tpool``), at most ``concurrency`` at once.

    An argon2 check takes about a third of a second of CPU: on the event loop it would stop every
    other page and the broker's heartbeats meanwhile. argon2-cffi releases the GIL, so the threads
    run beside the loop; the bound keeps a burst of logins from taking every core.
    """

    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self._slots = eventlet.semaphore.Semaphore(concurrency)

    def _run(self, fn, *args):
        with self._slots:
            return eventlet.tpool.execute(fn, *args)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        return self._run(security.verify_password, stored_hash, password)

    def hash(self, password: str) -> str:
        return self._run(security.hash_password, password)


class Passwords(DependencyProvider):
    """``self.passwords``: the container's ``Hasher`` (config ``ORGANISER_HASH_CONCURRENCY``, default 2)."""

    def setup(self):
        self.hasher = Hasher(Settings.from_config(self.container.config).hash_concurrency)

    def get_dependency(self, worker_ctx) -> Hasher:
        return self.hasher
