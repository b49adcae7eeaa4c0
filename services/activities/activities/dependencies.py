"""nameko dependencies of the activities service: who is calling, the clock, and the volunteers directory.

The caller is the verified identity token in context data (``guanyinli.identity``): organisers
(and ``system``, other services) define activities, assign, mark attendance and read private
fields of elderly visits; a volunteer acts for themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider

from activities import domain
from guanyinli.clock import Clock  # noqa: F401 - the service's ``clock``
from guanyinli.errors import Unavailable
from guanyinli.identity import CallerIdentity  # noqa: F401 - the service's ``caller``
from guanyinli.rpc import WrappedRpcProxy
from guanyinli.timeutil import iso, parse_iso

LOOKUP_BATCH = 1000  # ids (and source keys) volunteers.lookup takes at once


class VolunteerDirectory:
    """The calls the activities service makes to ``volunteers``, with a time limit."""

    def __init__(self, proxy, timeout: float):
        self._proxy = proxy
        self._timeout = timeout

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
        members, offset = [], 0
        while True:
            page = self._call("list_volunteers", "voluntary_patrol", None, None, True, 500, offset)
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

    def check_availability(self, volunteer_id: int, start: datetime, end: datetime) -> dict:
        return self._call("check_availability", volunteer_id, iso(start), iso(end))

    def grid_names(self) -> dict[int, str]:
        """Each grid's own (Chinese) name by id, for the roster's messages."""
        return {int(g["id"]): g["name"] for g in self._call("list_grids") if g.get("name")}


class Volunteers(WrappedRpcProxy):
    """``RpcProxy("volunteers")`` wrapped in ``VolunteerDirectory`` (config ``VOLUNTEERS_RPC_TIMEOUT``, s)."""

    target, wrapper, timeout_key = "volunteers", VolunteerDirectory, "VOLUNTEERS_RPC_TIMEOUT"


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
