"""nameko dependencies of the notifications service: settings, channels, the volunteers
directory and a timer whose interval comes from the config.

Settings are read from the nameko config first, then the environment, then defaults::

    SMTP:          {HOST, PORT, STARTTLS, USER, PASSWORD, FROM, TIMEOUT}
                   env SMTP_HOST, SMTP_PORT, SMTP_STARTTLS, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TIMEOUT
    WEBHOOK:       {URL, SECRET, TIMEOUT}      env WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_TIMEOUT
    NOTIFICATIONS: {MAX_ATTEMPTS, BACKOFF_BASE, BACKOFF_MAX, CLAIM_LEASE, BATCH, POLL_INTERVAL,
                    TICK_BUDGET, DIGEST_WEEKDAY, DIGEST_TIME}
                   env NOTIFICATIONS_<KEY>, e.g. NOTIFICATIONS_MAX_ATTEMPTS
    VOLUNTEERS_RPC_TIMEOUT (seconds)

Email is available when an SMTP host is set, the webhook when both its URL and secret are.

The caller is the verified identity token in context data (``guanyinli.identity``). Organisers
(and ``system``, other services) act for anyone; a volunteer reads and sets only their own
preferences and messages.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from guanyinli.errors import NotFound, Unavailable
from guanyinli.identity import CallerIdentity  # noqa: F401 - the service's ``caller``
from guanyinli.rpc import WrappedRpcProxy
from notifications.channels import EmailChannel, WebhookChannel
from notifications.domain import DigestSchedule, parse_hhmm

TRUE = {"1", "true", "yes", "on"}


def _pick(config: dict, section: str, key: str, env: str, default: Any) -> Any:
    value = (config.get(section) or {}).get(key)
    if value is None or value == "":
        value = os.environ.get(env)
    if value is None or value == "":
        return default
    return value


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in TRUE


@dataclass(frozen=True)
class Settings:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Guanyinli Community <noreply@guanyinli.example>"
    smtp_timeout: float = 30.0
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_timeout: float = 10.0
    max_attempts: int = 6
    backoff_base: float = 30.0  # seconds: 30 s, 1 min, 2 min, 4 min, 8 min before dead
    backoff_max: float = 3600.0
    claim_lease: float = 120.0  # seconds a claimed delivery belongs to one replica
    batch: int = 50
    poll_interval: float = 1.0
    tick_budget: float = 10.0  # seconds one poll may spend sending before it yields
    digest: DigestSchedule = DigestSchedule()

    @classmethod
    def from_config(cls, config: dict) -> Settings:
        def smtp(key, default):
            return _pick(config, "SMTP", key, f"SMTP_{key}", default)

        def webhook(key, default):
            return _pick(config, "WEBHOOK", key, f"WEBHOOK_{key}", default)

        def own(key, default):
            return _pick(config, "NOTIFICATIONS", key, f"NOTIFICATIONS_{key}", default)

        return cls(
            smtp_host=smtp("HOST", None),
            smtp_port=int(smtp("PORT", 25)),
            smtp_starttls=_bool(smtp("STARTTLS", False)),
            smtp_user=smtp("USER", None),
            smtp_password=smtp("PASSWORD", None),
            smtp_from=smtp("FROM", cls.smtp_from),
            smtp_timeout=float(smtp("TIMEOUT", cls.smtp_timeout)),
            webhook_url=webhook("URL", None),
            webhook_secret=webhook("SECRET", None),
            webhook_timeout=float(webhook("TIMEOUT", cls.webhook_timeout)),
            max_attempts=int(own("MAX_ATTEMPTS", cls.max_attempts)),
            backoff_base=float(own("BACKOFF_BASE", cls.backoff_base)),
            backoff_max=float(own("BACKOFF_MAX", cls.backoff_max)),
            claim_lease=float(own("CLAIM_LEASE", cls.claim_lease)),
            batch=int(own("BATCH", cls.batch)),
            poll_interval=float(own("POLL_INTERVAL", cls.poll_interval)),
            tick_budget=float(own("TICK_BUDGET", cls.tick_budget)),
            digest=DigestSchedule(
                weekday=int(own("DIGEST_WEEKDAY", 0)), at=parse_hhmm(str(own("DIGEST_TIME", "08:00")))
            ),
        )

    @property
    def channels(self) -> tuple[str, ...]:
        """Channels this process can deliver through."""
        found = []
        if self.smtp_host:
            found.append("email")
        if self.webhook_url and self.webhook_secret:
            found.append("webhook")
        return tuple(found)


class SettingsProvider(DependencyProvider):
    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> Settings:
        return self.settings


class ChannelSet:
    """The channels one worker sends through, built on first use and closed when it ends."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._open: dict[str, Any] = {}

    @property
    def available(self) -> tuple[str, ...]:
        return self.settings.channels

    def get(self, name: str):
        if name not in self.settings.channels:
            return None
        if name not in self._open:
            s = self.settings
            if name == "email":
                self._open[name] = EmailChannel(
                    s.smtp_host, s.smtp_port, s.smtp_starttls, s.smtp_user, s.smtp_password, s.smtp_from, s.smtp_timeout
                )
            else:
                self._open[name] = WebhookChannel(s.webhook_url, s.webhook_secret, s.webhook_timeout)
        return self._open[name]

    def close(self) -> None:
        for channel in self._open.values():
            channel.close()
        self._open.clear()


class Channels(DependencyProvider):
    def setup(self):
        self.settings = Settings.from_config(self.container.config)
        self._sets: dict = {}

    def get_dependency(self, worker_ctx) -> ChannelSet:
        channels = ChannelSet(self.settings)
        self._sets[worker_ctx] = channels
        return channels

    def worker_teardown(self, worker_ctx):
        channels = self._sets.pop(worker_ctx, None)
        if channels is not None:
            channels.close()


class VolunteerDirectory:
    """``volunteers.get_volunteer`` with a time limit; a missing or slow service is ``Unavailable``."""

    def __init__(self, proxy, timeout: float):
        self._proxy = proxy
        self._timeout = timeout

    def get_volunteer(self, volunteer_id: int) -> dict:
        try:
            with eventlet.Timeout(self._timeout):
                return self._proxy.get_volunteer(volunteer_id)
        except eventlet.Timeout:
            raise Unavailable(f"volunteers.get_volunteer did not answer within {self._timeout:g} s") from None
        except UnknownService:
            raise Unavailable("the volunteers service is not running") from None
        except NotFound:
            raise
        except (TimeoutError, OSError) as exc:
            raise Unavailable(f"volunteers.get_volunteer: {exc}") from None


class Volunteers(WrappedRpcProxy):
    """``RpcProxy("volunteers")`` wrapped in ``VolunteerDirectory`` (config ``VOLUNTEERS_RPC_TIMEOUT``, s)."""

    target, wrapper, timeout_key = "volunteers", VolunteerDirectory, "VOLUNTEERS_RPC_TIMEOUT"


class PollTimer(Timer):
    """A timer whose interval is ``NOTIFICATIONS.POLL_INTERVAL`` (config or env), read at start."""

    def __init__(self, **kwargs):
        super().__init__(interval=1.0, **kwargs)

    def setup(self):
        self.interval = Settings.from_config(self.container.config).poll_interval


poll = PollTimer.decorator


def replica_id() -> str:
    """Names this process in claims, so a stuck claim in the database says whose it was."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
