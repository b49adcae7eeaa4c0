"""nameko dependencies of the organiser service: its settings, the password hasher, roster builds."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import eventlet
import eventlet.semaphore
import eventlet.tpool
from nameko.extensions import DependencyProvider

from guanyinli.identity import signing_key_path
from organiser import security
from organiser.remote import Failure, classify

log = logging.getLogger(__name__)


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
    proxies: int = 0  # ORGANISER_PROXIES: reverse proxies in front, whose X-Forwarded-For names the client
    # the key of the phone page's sign-in digests (``signin_key``): a secret, kept out of reprs
    signin_key: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def from_config(cls, config: dict) -> Settings:
        return cls(
            secure_cookies=flag(config.get("ORGANISER_SECURE_COOKIES"), cls.secure_cookies),
            hash_concurrency=max(1, int(config.get("ORGANISER_HASH_CONCURRENCY") or cls.hash_concurrency)),
            rpc_timeout=float(config.get("ORGANISER_RPC_TIMEOUT") or cls.rpc_timeout),
            proxies=max(0, int(config.get("ORGANISER_PROXIES") or cls.proxies)),
            signin_key=signin_key(config),
        )


def signin_key(config: dict) -> bytes:
    """The key of the volunteers' sign-in digests: ``ORGANISER_SIGNIN_KEY``, else derived from the
    organiser's identity signing key (both stay on the server)."""
    configured = config.get("ORGANISER_SIGNIN_KEY")
    if configured:
        return str(configured).encode()
    path = signing_key_path("organiser", config)
    material = path.read_bytes() if path is not None and path.exists() else b"guanyinli-organiser"
    return hashlib.sha256(b"signin\x00" + material).digest()


class SettingsProvider(DependencyProvider):
    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> Settings:
        return self.settings


class HasherBusy(Exception):
    """Every hashing thread is taken and enough callers wait already: try again in a moment."""


class Hasher:
    """argon2 in OS threads (``eventlet.tpool``), at most ``concurrency`` at once.

    An argon2 check takes about a third of a second of CPU: on the event loop it would stop every
    other page and the broker's heartbeats meanwhile. argon2-cffi releases the GIL, so the threads
    run beside the loop; the bound keeps a burst of logins from taking every core. At most
    ``queue`` callers wait for a thread (``HasherBusy`` beyond), so a burst of logins cannot take
    every worker of the page either.
    """

    def __init__(self, concurrency: int, queue: int | None = None):
        self.concurrency = concurrency
        self.queue = 2 * concurrency if queue is None else queue
        self._slots = eventlet.semaphore.Semaphore(concurrency)

    def _run(self, fn, *args):
        if self._slots.balance <= -self.queue:
            raise HasherBusy()
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


@dataclass
class Build:
    """A roster build the page started, as this process knows it: solving, or its roster, or why not."""

    id: str
    account: str
    started_at: datetime
    roster_id: int | None = None
    failure: Failure | None = None
    failed_as: type | None = None  # the exception's class, for the page's status and title
    finished: bool = False


class Builds(DependencyProvider):
    """Roster builds started from the page, waited for by threads of the container, not by page workers.

    The page sends ``build_roster`` and answers at once; a managed thread waits for the reply (at
    most the build's own time limit plus ``MARGIN``) and keeps the outcome for the build's page to
    show. Kept in the process: after a restart, or on another replica, the build's page sends the
    organiser to the roster list, where activities shows the roster as solving, then done.
    """

    MARGIN = timedelta(minutes=2)  # gathering the problem over RPC, saving the roster
    KEEP = timedelta(hours=1)  # finished builds are forgotten after this

    def setup(self):
        self.builds: dict[str, Build] = {}

    def get_dependency(self, worker_ctx) -> Builds:
        return self

    def follow(self, reply, account: str, time_limit: float, moment: datetime) -> Build:
        """Wait for ``reply`` (an RPC reply of build_roster) in a managed thread; the build, still solving."""
        self._forget_old(moment)
        build = Build(security.new_token()[:22], account, moment)
        self.builds[build.id] = build
        wait = time_limit + self.MARGIN.total_seconds()
        self.container.spawn_managed_thread(lambda: self._await(build, reply, wait), identifier="roster build")
        return build

    def get(self, build_id: str, account: str) -> Build | None:
        build = self.builds.get(build_id)
        return build if build is not None and build.account == account else None

    def _await(self, build: Build, reply, wait: float) -> None:
        timer = eventlet.Timeout(wait)
        try:
            build.roster_id = int(reply.result()["id"])
        except eventlet.Timeout as exc:
            if exc is not timer:
                raise
            build.failure = Failure(
                3,
                f"activities did not answer within {wait:g} s; the roster list shows the roster when it is done",
                f"排班服务在 {wait:g} 秒内没有应答；排班完成后会出现在排班表列表中",
            )
        except Exception as exc:  # noqa: BLE001 - every failure is shown on the build's page
            build.failure = classify(exc)
            build.failed_as = type(exc)
            if build.failure is None:
                log.exception("roster build %s failed", build.id)
                build.failure = Failure(1, f"{type(exc).__name__}: the build failed")
        finally:
            timer.cancel()
            build.finished = True

    def _forget_old(self, moment: datetime) -> None:
        old = [k for k, b in self.builds.items() if b.finished and moment - b.started_at > self.KEEP]
        for key in old:
            del self.builds[key]
