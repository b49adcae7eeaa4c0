"""nameko dependencies of the activities service: who is calling, the clock, and the volunteers directory.

The caller is the verified identity token in context data (``guanyinli.identity``): organisers
(and ``system``, other services) define activities, assign, mark attendance and read private
fields of elderly visits; a volunteer acts for themselves.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from activities import domain
from guanyinli import tenancy
from guanyinli.clock import Clock  # noqa: F401 - the service's ``clock``
from guanyinli.config import setting
from guanyinli.errors import NotFound, Unavailable
from guanyinli.identity import CallerIdentity  # noqa: F401 - the service's ``caller``
from guanyinli.rpc import WrappedRpcProxy
from guanyinli.timeutil import iso, parse_iso

LOOKUP_BATCH = 1000  # ids (and source keys) volunteers.lookup takes at once


class StructureCache:
    """Each community's grids and teams as the volunteers service last told them, each kept for ``seconds``:
    every request of a public feed and every new activity needs them, and they change only when the
    community's structure does. Kept by community (``guanyinli.tenancy``) and part (``grids``, ``teams``):
    one community's never answer for another's."""

    def __init__(self, seconds: float = 60.0, clock=time.monotonic):
        self.seconds, self._clock = seconds, clock
        self._kept: dict[tuple[str | None, str], tuple[object, float]] = {}

    def get(self, fetch, community: str | None = None, part: str = "grids"):
        moment = self._clock()
        kept = self._kept.get((community, part))
        if kept is None or moment - kept[1] >= self.seconds:
            kept = self._kept[(community, part)] = (fetch(), moment)
        return kept[0]


class VolunteerDirectory:
    """The calls the activities service makes to ``volunteers``, with a time limit."""

    def __init__(self, proxy, timeout: float, cache: StructureCache | None = None, community=lambda: None):
        self._proxy = proxy
        self._timeout = timeout
        self.cache = cache or StructureCache(seconds=0)
        # The community the worker acts for when a call goes out (a timer goes through them in turn).
        self.community = community

    def _call(self, method: str, *args):
        try:
            with eventlet.Timeout(self._timeout):
                return getattr(self._proxy, method)(*args)
        except eventlet.Timeout:
            raise Unavailable(f"volunteers.{method} did not answer within {self._timeout:g} s") from None
        except UnknownService:
            raise Unavailable("the volunteers service is not running") from None

    def _together(self, *calls: tuple) -> list:
        """Calls ``(method, *args)`` in flight at once, their answers in order, within one time limit."""
        try:
            with eventlet.Timeout(self._timeout):
                pending = [getattr(self._proxy, method).call_async(*args) for method, *args in calls]
                return [reply.result() for reply in pending]
        except eventlet.Timeout:
            raise Unavailable(f"the volunteers service did not answer within {self._timeout:g} s") from None
        except UnknownService:
            raise Unavailable("the volunteers service is not running") from None

    def volunteer_and_availability(self, volunteer_id: int, start: datetime, end: datetime) -> tuple[dict, dict]:
        """Both calls in flight at once: the volunteer record and whether they are free then."""
        record, availability = self._together(
            ("get_volunteer", volunteer_id), ("check_availability", volunteer_id, iso(start), iso(end))
        )
        return record, availability

    def volunteer_and_spans(
        self, volunteer_id: int, start: datetime, end: datetime
    ) -> tuple[dict, list[tuple[datetime, datetime]]]:
        """Both calls in flight at once: the volunteer record and the spans of [start, end) they are
        available in (``check_availability`` says yes for whatever one span holds), as aware datetimes."""
        record, spans = self._together(
            ("get_volunteer", volunteer_id), ("availability_spans", volunteer_id, iso(start), iso(end))
        )
        return record, [(parse_iso(w["start"]), parse_iso(w["end"])) for w in spans["windows"]]

    def lookup(self, volunteer_ids: Iterable[int], grid_ids: Iterable[int], source_keys: Iterable[str]) -> dict:
        """Names of volunteers, grid leaders with phones and ledger entries by source key: one call per
        LOOKUP_BATCH ids and keys (the method's limit), so one call for any page of duties."""
        ids, grids, keys = sorted(set(volunteer_ids)), sorted(set(grid_ids)), sorted(set(source_keys))
        found: dict[str, list] = {"volunteers": [], "grid_leaders": [], "entries": []}
        for i in range(0, max(len(ids), len(keys), 1), LOOKUP_BATCH):
            part = self._call("lookup", ids[i : i + LOOKUP_BATCH], grids if i == 0 else [], keys[i : i + LOOKUP_BATCH])
            for name, rows in found.items():
                rows += part[name]
        return found

    def get_volunteer(self, volunteer_id: int) -> dict:
        return self._call("get_volunteer", volunteer_id)

    def patrol_team(self) -> list[dict]:
        """Every active member of the voluntary patrol team (the roster's candidates)."""
        return self.team_members("voluntary_patrol")

    def team_members(self, team: str) -> list[dict]:
        """Every active member of a team."""
        members, offset = [], 0
        while True:
            page = self._call("list_volunteers", team, None, None, True, 500, offset)
            members += page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return members

    def availability_windows(
        self, start: datetime, end: datetime, team: str
    ) -> dict[int, list[tuple[datetime, datetime]]]:
        """Concrete windows in [start, end) per volunteer of a team, as aware datetimes."""
        rows = self._call("availability_windows", iso(start), iso(end), None, team)
        return {
            row["volunteer_id"]: [(parse_iso(w["start"]), parse_iso(w["end"])) for w in row["windows"]] for row in rows
        }

    def tutors(self) -> list[dict]:
        """Every active volunteer with a tutoring skill (``tutoring`` or ``tutoring:<subject>``)."""
        found, offset = [], 0
        while True:
            page = self._call("list_volunteers", None, None, "tutoring", True, 500, offset)
            found += page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return found

    def windows_of(
        self, start: datetime, end: datetime, volunteer_ids: list[int]
    ) -> dict[int, list[tuple[datetime, datetime]]]:
        """Concrete availability windows in [start, end) of these volunteers, as aware datetimes."""
        if not volunteer_ids:
            return {}
        rows = self._call("availability_windows", iso(start), iso(end), sorted(volunteer_ids), None)
        return {
            row["volunteer_id"]: [(parse_iso(w["start"]), parse_iso(w["end"])) for w in row["windows"]] for row in rows
        }

    def check_availability(self, volunteer_id: int, start: datetime, end: datetime) -> dict:
        return self._call("check_availability", volunteer_id, iso(start), iso(end))

    def cleanup_places(self) -> tuple[list[dict], list[dict]]:
        """The courtyards and buildings, and the green spaces: the places of the clean-up rotation."""
        courtyards, green_spaces = self._together(("list_courtyards",), ("list_green_spaces",))
        return courtyards, green_spaces

    def grid_names(self) -> dict[int, str]:
        """Every grid of the community by id, with its own (Chinese) name ("" if it has none): the set of
        grids is the volunteers service's, and the names are for the roster's messages."""
        return {int(g["id"]): g.get("name") or "" for g in self._call("list_grids")}

    def _grids(self) -> dict[int, tuple[int, ...]]:
        """Every grid of the community by id, with the grids its structure says border it."""
        return {int(g["id"]): tuple(g.get("neighbours") or ()) for g in self._call("list_grids")}

    def grid_ids(self) -> frozenset[int]:
        """The ids of the community's grids, asked of the volunteers service at most once a minute."""
        return frozenset(self.cache.get(self._grids, self.community()))

    def grid_neighbours(self) -> dict[int, frozenset[int]]:
        """Which grids border which (both ways), as the community's structure says; {} when it says none."""
        near: dict[int, set[int]] = {}
        for grid, others in self.cache.get(self._grids, self.community()).items():
            for other in others:
                near.setdefault(grid, set()).add(other)
                near.setdefault(other, set()).add(grid)
        return {g: frozenset(ns) for g, ns in sorted(near.items())}

    def teams(self) -> dict[str, dict]:
        """The community's teams by code ({code, name, name_zh}), asked of the volunteers service at most
        once a minute: the teams an activity may belong to, and their names in feeds."""

        def fetch() -> dict[str, dict]:
            return {t["code"]: {k: t.get(k) for k in ("code", "name", "name_zh")} for t in self._call("list_teams")}

        return self.cache.get(fetch, self.community(), "teams")

    def available_volunteers(self, start: datetime, end: datetime, skill: str | None = None) -> list[dict]:
        """Active volunteers available for all of [start, end), with one skill (or skill family) if named."""
        return self._call("available_volunteers", iso(start), iso(end), None, None, skill)

    def availabilities(self, volunteer_id: int, windows: list[tuple[datetime, datetime]]) -> tuple[dict, list[dict]]:
        """The volunteer's record and ``check_availability`` for each window, the calls all in flight at once."""
        try:
            with eventlet.Timeout(self._timeout):
                record = self._proxy.get_volunteer.call_async(volunteer_id)
                checks = [self._proxy.check_availability.call_async(volunteer_id, iso(a), iso(b)) for a, b in windows]
                return record.result(), [c.result() for c in checks]
        except eventlet.Timeout:
            raise Unavailable(f"the volunteers service did not answer within {self._timeout:g} s") from None
        except UnknownService:
            raise Unavailable("the volunteers service is not running") from None

    def grid_leader(self, grid_id: int | None) -> int | None:
        """The volunteer id of a grid's leader; None for no grid, a grid without a leader or an unknown grid."""
        if grid_id is None:
            return None
        try:
            grid = self._call("get_grid", grid_id)
        except NotFound:
            return None
        leader = grid.get("leader") or {}
        return leader.get("id")


class Volunteers(WrappedRpcProxy):
    """``RpcProxy("volunteers")`` wrapped in ``VolunteerDirectory`` (config ``VOLUNTEERS_RPC_TIMEOUT``, s)."""

    target, wrapper, timeout_key = "volunteers", VolunteerDirectory, "VOLUNTEERS_RPC_TIMEOUT"

    def setup(self) -> None:
        super().setup()
        self.cache = StructureCache()  # one a container: the workers share what the volunteers service said

    def get_dependency(self, worker_ctx):
        directory = super().get_dependency(worker_ctx)
        directory.cache = self.cache
        directory.community = lambda: tenancy.community_of(worker_ctx)
        return directory


@dataclass(frozen=True)
class DutyRules:
    """What the config says of volunteers' own duties: hours before the start when their own
    cancellations close, per kind (CANCEL_DEADLINES), and the duties a week their open duties
    leave room for (MAX_DUTIES_PER_WEEK; None: no cap)."""

    cancel_deadlines: Mapping[str, float]
    max_per_week: int | None = None


def duty_rules(config: Mapping) -> DutyRules:
    """Read CANCEL_DEADLINES and MAX_DUTIES_PER_WEEK; ValueError names a value that cannot be read."""
    cap = config.get("MAX_DUTIES_PER_WEEK")
    if cap in (None, ""):
        cap = None
    elif isinstance(cap, bool) or not str(cap).isdigit() or int(cap) < 1:
        raise ValueError(f"MAX_DUTIES_PER_WEEK: a whole number of duties from 1, or empty for no cap, not {cap!r}")
    return DutyRules(domain.cancel_deadlines(config.get("CANCEL_DEADLINES")), None if cap is None else int(cap))


class DutySettings(DependencyProvider):
    """``DutyRules`` from the service config, read when the service starts: a value it cannot read
    stops the start with the reason, rather than the first cancellation."""

    def setup(self) -> None:
        self.rules = duty_rules(self.container.config)

    def get_dependency(self, worker_ctx) -> DutyRules:
        return self.rules


# --- stand-in offers: settings and the timer of unfilled offers -----------------------------------


@dataclass(frozen=True)
class StandinSettings:
    """Config ``STANDIN`` {ALERT_HOURS, INTERVAL} (or env ``STANDIN_<KEY>``) and ``WEEKLY_CAPS`` {kind: duties
    a week}. The cancellation deadlines are ``DutyRules``'."""

    alert: timedelta = domain.STANDIN_ALERT
    interval: float = 60.0  # seconds between looks for offers nobody took by their alert time
    caps: dict = field(default_factory=lambda: dict(domain.WEEKLY_CAPS))

    @classmethod
    def from_config(cls, config: dict) -> StandinSettings:
        def own(key: str, default):
            return setting(config, "STANDIN", key, default)

        return cls(
            alert=timedelta(hours=float(own("ALERT_HOURS", domain.STANDIN_ALERT.total_seconds() / 3600))),
            interval=float(own("INTERVAL", cls.interval)),
            caps={**domain.WEEKLY_CAPS, **(config.get("WEEKLY_CAPS") or {})},
        )


class Standins(DependencyProvider):
    """``self.standin_settings``: the ``StandinSettings`` read from the config at start."""

    def setup(self):
        self.settings = StandinSettings.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings


class StandinTimer(Timer):
    """A timer that runs every ``STANDIN.INTERVAL`` seconds of the config, read at start."""

    def __init__(self, **kwargs):
        super().__init__(interval=StandinSettings.interval, **kwargs)

    def setup(self):
        self.interval = StandinSettings.from_config(self.container.config).interval


standin_timer = StandinTimer.decorator
