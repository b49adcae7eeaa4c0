"""nameko dependencies of the notifications service: settings, channels, the volunteers
directory and a timer whose interval comes from the config.

Settings are read from the nameko config first, then the environment, then defaults::

    SMTP:          {HOST, PORT, STARTTLS, USER, PASSWORD, FROM, TIMEOUT}
                   env SMTP_HOST, SMTP_PORT, SMTP_STARTTLS, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TIMEOUT
    WEBHOOK:       {URL, SECRET, TIMEOUT}      env WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_TIMEOUT
    SMS:           {PROVIDER, SINK_PATH}       env SMS_PROVIDER (sink | tencent | off), SMS_SINK_PATH
    TENCENT_SMS:   {SECRET_ID, SECRET_KEY, SDK_APP_ID, SIGN_NAME, REGION, TEMPLATES, ENDPOINT, TIMEOUT}
                   env TENCENT_SMS_<KEY>, e.g. TENCENT_SMS_SECRET_ID
    NOTIFICATIONS: {MAX_ATTEMPTS, BACKOFF_BASE, BACKOFF_MAX, CLAIM_LEASE, BATCH, SENDERS,
                    POLL_INTERVAL, TICK_BUDGET, DIGEST_WEEKDAY, DIGEST_TIME, ORGANISERS_EMAIL}
                   env NOTIFICATIONS_<KEY>, e.g. NOTIFICATIONS_MAX_ATTEMPTS
    VOLUNTEERS_RPC_TIMEOUT (seconds)

Email is available when an SMTP host is set, the webhook when both its URL and secret are, text
messages (``sms``) unless SMS_PROVIDER is ``off``: by default through the local sink, a file
(``var/sms.log``; ``notifications.sms``).

The caller is the verified identity token in context data (``guanyinli.identity``). Organisers
(and ``system``, other services) act for anyone; a volunteer reads and sets only their own
preferences and messages.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from guanyinli import tenancy
from guanyinli.config import VAR_DIR, is_local, setting
from guanyinli.errors import NotFound, Unavailable
from guanyinli.identity import CallerIdentity  # noqa: F401 - the service's ``caller``
from guanyinli.rpc import WrappedRpcProxy
from notifications import rendering, sms
from notifications.channels import EmailChannel, SmsChannel, WebhookChannel
from notifications.domain import DigestSchedule, parse_hhmm

log = logging.getLogger(__name__)

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
    sms_provider: str = "sink"  # sink | tencent | off
    sms_sink_path: str | None = None  # None: var/sms.log
    tencent_sms_secret_id: str | None = field(default=None, repr=False)
    tencent_sms_secret_key: str | None = field(default=None, repr=False)
    tencent_sms_sdk_app_id: str | None = None
    tencent_sms_sign_name: str | None = None
    tencent_sms_region: str = "ap-guangzhou"
    tencent_sms_templates: str = ""  # kind=template id, comma-separated (sms.parse_templates)
    tencent_sms_endpoint: str = sms.TencentCloudSms.ENDPOINT
    tencent_sms_timeout: float = 10.0
    max_attempts: int = 6
    backoff_base: float = 30.0  # seconds: 30 s, 1 min, 2 min, 4 min, 8 min before dead
    backoff_max: float = 3600.0
    claim_lease: float = 120.0  # seconds a claimed delivery belongs to one replica
    batch: int = 50
    senders: int = 4  # deliveries of one poll sent at once, each lane over its own connections
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

        def text_messages(key, default):
            return _pick(config, "SMS", key, f"SMS_{key}", default)

        def tencent(key, default):
            return _pick(config, "TENCENT_SMS", key, f"TENCENT_SMS_{key}", default)

        provider = str(text_messages("PROVIDER", cls.sms_provider)).strip().lower()
        if provider not in sms.PROVIDERS:
            raise ValueError(f"SMS_PROVIDER must be one of {', '.join(sms.PROVIDERS)}, not {provider!r}")
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
            sms_provider=provider,
            sms_sink_path=text_messages("SINK_PATH", None),
            tencent_sms_secret_id=tencent("SECRET_ID", None),
            tencent_sms_secret_key=tencent("SECRET_KEY", None),
            tencent_sms_sdk_app_id=tencent("SDK_APP_ID", None),
            tencent_sms_sign_name=tencent("SIGN_NAME", None),
            tencent_sms_region=tencent("REGION", cls.tencent_sms_region),
            tencent_sms_templates=tencent("TEMPLATES", ""),
            tencent_sms_endpoint=tencent("ENDPOINT", cls.tencent_sms_endpoint),
            tencent_sms_timeout=float(tencent("TIMEOUT", cls.tencent_sms_timeout)),
            max_attempts=int(own("MAX_ATTEMPTS", cls.max_attempts)),
            backoff_base=float(own("BACKOFF_BASE", cls.backoff_base)),
            backoff_max=float(own("BACKOFF_MAX", cls.backoff_max)),
            claim_lease=float(own("CLAIM_LEASE", cls.claim_lease)),
            batch=int(own("BATCH", cls.batch)),
            senders=max(1, int(own("SENDERS", cls.senders))),
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
        if self.sms_provider != "off":
            found.append("sms")
        return tuple(found)

    @property
    def sms_sink(self) -> Path:
        return Path(self.sms_sink_path) if self.sms_sink_path else VAR_DIR / "sms.log"

    def sms(self):
        """A new SMS provider as configured (``notifications.sms``), or None when SMS is off.
        ``ValueError`` names what a Tencent Cloud provider is missing."""
        if self.sms_provider == "off":
            return None
        if self.sms_provider == "sink":
            return sms.SinkSms(self.sms_sink)
        return sms.TencentCloudSms(
            self.tencent_sms_secret_id,
            self.tencent_sms_secret_key,
            self.tencent_sms_sdk_app_id,
            self.tencent_sms_sign_name,
            sms.parse_templates(self.tencent_sms_templates),
            region=self.tencent_sms_region,
            endpoint=self.tencent_sms_endpoint,
            timeout=self.tencent_sms_timeout,
        )


class SettingsProvider(DependencyProvider):
    def setup(self):
        self.settings = Settings.from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> Settings:
        return self.settings


class ChannelSet:
    """The channels one worker sends through, built on first use. ``lane(i)``: the set of the
    i-th of the sender's lanes (each lane its own SMTP connection), lane 0 being this one."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._open: dict[str, Any] = {}
        self._sms = None
        self._lanes: dict[int, ChannelSet] = {}

    def lane(self, index: int) -> ChannelSet:
        if index == 0:
            return self
        if index not in self._lanes:
            self._lanes[index] = ChannelSet(self.settings)
        return self._lanes[index]

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
            elif name == "sms":
                self._open[name] = SmsChannel(self.sms())
            else:
                self._open[name] = WebhookChannel(s.webhook_url, s.webhook_secret, s.webhook_timeout)
        return self._open[name]

    def sms(self):
        """The SMS provider (shared by the ``sms`` channel and sign-in codes), None when SMS is off."""
        if self._sms is None:
            self._sms = self.settings.sms()
        return self._sms

    def close(self) -> None:
        for lane in self._lanes.values():
            lane.close()
        self._lanes.clear()
        for channel in self._open.values():
            channel.close()
        self._open.clear()
        if self._sms is not None:
            self._sms.close()
            self._sms = None


def check_sms(settings: Settings) -> None:
    """At start: a Tencent Cloud provider that lacks a setting stops the service (``ValueError``);
    kinds without a template, and a sink outside a local run, are logged."""
    provider = settings.sms()
    if provider is None:
        return
    provider.close()
    if isinstance(provider, sms.SinkSms) and not is_local():
        log.warning("SMS_PROVIDER=sink: text messages, sign-in codes too, go to %s and reach no phone", provider.path)
    if isinstance(provider, sms.TencentCloudSms):
        missing = [kind for kind in rendering.SMS_KINDS if kind not in provider.templates]
        if missing:
            log.warning("TENCENT_SMS_TEMPLATES has no template for %s: those text messages fail", ", ".join(missing))


class Channels(DependencyProvider):
    """A channel set per worker. A set is not closed when its worker ends but kept for the next
    one, so the SMTP connection (and the webhook's HTTP session) lasts from poll to poll; the
    sets are closed when the container stops. At most as many sets as workers ran at once."""

    def setup(self):
        self.settings = Settings.from_config(self.container.config)
        check_sms(self.settings)
        self._sets: dict = {}
        self._idle: list[ChannelSet] = []

    def get_dependency(self, worker_ctx) -> ChannelSet:
        channels = self._idle.pop() if self._idle else ChannelSet(self.settings)
        self._sets[worker_ctx] = channels
        return channels

    def worker_teardown(self, worker_ctx):
        channels = self._sets.pop(worker_ctx, None)
        if channels is not None:
            self._idle.append(channels)

    def stop(self):
        self.kill()

    def kill(self):
        sets, self._idle = self._idle + list(self._sets.values()), []
        self._sets.clear()
        for channels in sets:
            try:
                channels.close()
            except Exception:  # pragma: no cover - closing is best effort at shutdown
                log.exception("closing a channel set")


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


def organisers_email(config: dict, community: str) -> str | None:
    """The organisers' address in ``community``: config ``NOTIFICATIONS.ORGANISERS_EMAIL``, either
    one address, the default community's (env ``NOTIFICATIONS_ORGANISERS_EMAIL``), or a mapping of
    community slugs to addresses. A community it names no address for has none: one community's
    organisers never get another's messages."""
    value = setting(config, "NOTIFICATIONS", "ORGANISERS_EMAIL", None)
    if isinstance(value, dict):
        return value.get(community) or None
    return value if tenancy.is_default(community, config) else None


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
