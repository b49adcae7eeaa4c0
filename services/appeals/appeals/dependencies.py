"""nameko dependencies of the appeals service: the volunteers directory (grids, who is available now),
the time limits and the escalation timer, both read from the config at start,
the residents' texts (through ``notifications``) and the key and address of their reply links.

The appeals service calls ``volunteers`` and ``notifications`` on its own account (a ``system``
token): grids and courtyards are the volunteers service's data, and so are grid roles,
availability and skills; texts go out through notifications, which alone talks to the SMS provider.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from appeals import domain, time_limits
from appeals.exceptions import GridNotFound, TeamNotFound
from guanyinli import tenancy
from guanyinli.config import setting
from guanyinli.errors import InvalidInput, NotFound, Unavailable, no_team
from guanyinli.identity import signing_key_path
from guanyinli.rpc import WrappedRpcProxy
from guanyinli.timeutil import iso


class VolunteerDirectory:
    """The calls the appeals service makes to ``volunteers``, all within one time limit each."""

    def __init__(self, proxy, timeout: float):
        self._proxy = proxy
        self._timeout = timeout

    def _together(self, *calls: tuple) -> list:
        try:
            with eventlet.Timeout(self._timeout):
                pending = [getattr(self._proxy, method).call_async(*args) for method, *args in calls]
                return [reply.result() for reply in pending]
        except eventlet.Timeout:
            raise Unavailable(f"the volunteers service did not answer within {self._timeout:g} s") from None
        except UnknownService:
            raise Unavailable("the volunteers service is not running") from None

    def grid(self, grid_id: int) -> dict:
        """The grid (leader, members, courtyards); GridNotFound for one the volunteers service does not know."""
        try:
            (grid,) = self._together(("get_grid", grid_id))
        except (NotFound, InvalidInput):
            raise GridNotFound(f"grid_id: no grid {grid_id}") from None
        return grid

    def check_team(self, team: str | None) -> None:
        """TeamNotFound, naming the community's teams, for a team the volunteers service does not list."""
        if team is None:
            return
        (teams,) = self._together(("list_teams",))
        if team not in {t["code"] for t in teams}:
            en, zh = no_team(team, teams)
            raise TeamNotFound(f"team: {en}", zh)

    def volunteer(self, volunteer_id: int) -> dict | None:
        """The volunteer's record with grid roles, teams and skills; None for an unknown id."""
        try:
            (record,) = self._together(("get_volunteer", volunteer_id))
        except NotFound:
            return None
        return record

    def candidates(self, grid: dict, category: str, start: datetime, end: datetime) -> list[domain.Candidate]:
        """Who may take an appeal of the grid and category for all of [start, end): the grid's people
        available then, and the category's helpers (team, any of its skills) available then."""
        team, skills = domain.HELPERS[category]
        calls = [("available_volunteers", iso(start), iso(end), None, None, None)]
        calls += [("available_volunteers", iso(start), iso(end), team, None, s) for s in skills or (None,)]
        available, *helpers = self._together(*calls)
        helper_ids = sorted({v["id"] for found in helpers for v in found})
        return domain.candidates(grid, (v["id"] for v in available), helper_ids)


class Volunteers(WrappedRpcProxy):
    """``RpcProxy("volunteers")`` wrapped in ``VolunteerDirectory`` (config ``VOLUNTEERS_RPC_TIMEOUT``, s)."""

    target, wrapper, timeout_key = "volunteers", VolunteerDirectory, "VOLUNTEERS_RPC_TIMEOUT"


# --- time limits and escalation ---------------------------------------------------------------


@dataclass(frozen=True)
class EscalationSettings:
    """Config ``APPEALS`` {TIME_LIMITS, ESCALATION_INTERVAL, ESCALATION_BATCH} (or env ``APPEALS_<KEY>``,
    TIME_LIMITS there as JSON). TIME_LIMITS overrides ``time_limits.DEFAULT_LIMITS`` as
    ``time_limits.limits_from_config`` reads it; a bad one stops the start with every problem named."""

    limits: time_limits.Limits = field(default_factory=lambda: time_limits.DEFAULT_LIMITS)
    interval: float = 60.0  # seconds between looks for appeals with a step due
    batch: int = 20  # appeals locked and escalated per transaction

    @classmethod
    def from_config(cls, config: dict) -> EscalationSettings:
        def own(key: str, default):
            return setting(config, "APPEALS", key, default)

        raw = own("TIME_LIMITS", None)
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                raise time_limits.LimitsConfigError([f"APPEALS_TIME_LIMITS is not JSON: {exc}"]) from None
        return cls(
            limits=time_limits.limits_from_config(raw),
            interval=float(own("ESCALATION_INTERVAL", cls.interval)),
            batch=int(own("ESCALATION_BATCH", cls.batch)),
        )


class Escalation(DependencyProvider):
    """``self.escalation``: the ``EscalationSettings`` read from the config at start."""

    def setup(self):
        self.settings = EscalationSettings.from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> EscalationSettings:
        return self.settings


class EscalationTimer(Timer):
    """A timer that runs every ``APPEALS.ESCALATION_INTERVAL`` seconds of the config, read at start."""

    def __init__(self, **kwargs):
        super().__init__(interval=EscalationSettings.interval, **kwargs)

    def setup(self):
        self.interval = EscalationSettings.from_config(self.container.config).interval


escalation_timer = EscalationTimer.decorator


class ResidentTexts:
    """The texts the appeals service asks notifications to send to residents, within a time limit."""

    def __init__(self, proxy, timeout: float):
        self._proxy = proxy
        self._timeout = timeout

    def reply_link(self, phone: str, reference: str, link: str, appeal_id: int) -> None:
        """The closed appeal's text with the resident's reply link; once per appeal (its request_id)."""
        try:
            with eventlet.Timeout(self._timeout):
                self._proxy.send_resident_text(
                    phone=phone,
                    kind="appeal_closed",
                    reference=reference,
                    link=link,
                    request_id=f"appeal-reply-{appeal_id}",
                )
        except eventlet.Timeout:
            raise Unavailable(f"the notifications service did not answer within {self._timeout:g} s") from None
        except UnknownService:
            raise Unavailable("the notifications service is not running") from None


class Notifications(WrappedRpcProxy):
    """``RpcProxy("notifications")`` wrapped in ``ResidentTexts`` (config ``NOTIFICATIONS_RPC_TIMEOUT``, s)."""

    target, wrapper, timeout_key = "notifications", ResidentTexts, "NOTIFICATIONS_RPC_TIMEOUT"


@dataclass(frozen=True)
class ReplyLinks:
    """Where residents' reply links point (``ORGANISER_PUBLIC_URL``, the organiser site, under the
    community's ``/c/<slug>`` outside the default community) and the key their tokens are made with
    (``APPEALS_REPLY_KEY``, else derived from this service's signing key)."""

    base_url: str
    key: bytes = field(repr=False)
    communities: str = tenancy.DEFAULT  # the installation's (tenancy.SETTING): which one is the default

    def url(self, token: str, community: str | None = None) -> str:
        config = {tenancy.SETTING: self.communities}
        path = tenancy.path_for(community or tenancy.default(config), f"/appeal/reply/{token}", config)
        return f"{self.base_url.rstrip('/')}{path}"

    @classmethod
    def from_config(cls, config: dict) -> ReplyLinks:
        base = config.get("ORGANISER_PUBLIC_URL") or f"http://{config.get('WEB_SERVER_ADDRESS', '127.0.0.1:8000')}"
        communities = ",".join(tenancy.served(config))
        configured = config.get("APPEALS_REPLY_KEY")
        if configured:
            return cls(base, str(configured).encode(), communities)
        path = signing_key_path("appeals", config)
        material = path.read_bytes() if path is not None and path.exists() else b"guanyinli-appeals"
        return cls(base, hashlib.sha256(b"appeal-reply\x00" + material).digest(), communities)


class ReplyLinksProvider(DependencyProvider):
    def setup(self):
        self.links = ReplyLinks.from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> ReplyLinks:
        return self.links
