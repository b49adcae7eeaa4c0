"""nameko dependencies of the activities service: who is calling, and the volunteers directory.

Caller identity travels in nameko context data (set by the gateway or a client with
``ClusterRpcProxy(config, context_data={...})``), under the key ``user``::

    {"user": {"volunteer_id": 12, "roles": ["organiser"], "name": "王芳"}}

``volunteer_id`` (int, optional) is the volunteer making the call; ``roles`` (list of str)
grants rights: ``organiser`` (grid leaders, team leaders, staff) and ``system`` (other services)
may define activities, assign and mark attendance, and read private fields of elderly visits.
"""

from __future__ import annotations

from datetime import datetime

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider

from activities.domain import Caller
from guanyinli.errors import Unavailable
from guanyinli.rpc import WrappedRpcProxy
from guanyinli.timeutil import iso, parse_iso
from guanyinli.timeutil import now as system_now

USER_CONTEXT_KEY = "user"


def caller_from_context(context_data: dict | None) -> Caller:
    user = (context_data or {}).get(USER_CONTEXT_KEY) or {}
    if not isinstance(user, dict):
        return Caller()
    volunteer_id = user.get("volunteer_id")
    try:
        volunteer_id = int(volunteer_id) if volunteer_id is not None else None
    except (TypeError, ValueError):
        volunteer_id = None
    roles = user.get("roles") or []
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, (list, tuple)):
        roles = []  # malformed identity: no rights (raising here would stop the whole service)
    name = user.get("name")
    return Caller(
        volunteer_id=volunteer_id,
        roles=frozenset(r for r in roles if isinstance(r, str)),
        name=name if isinstance(name, str) else None,
    )


class CallerIdentity(DependencyProvider):
    """Injects the ``Caller`` read from the worker's context data (like nameko's ContextDataProvider)."""

    def get_dependency(self, worker_ctx) -> Caller:
        return caller_from_context(worker_ctx.context_data)


class SystemClock:
    def now(self) -> datetime:
        return system_now()


class Clock(DependencyProvider):
    """``self.clock.now()``, an aware datetime; tests swap it (``replace_dependencies(container, clock=...)``)."""

    def setup(self):
        self.clock = SystemClock()

    def get_dependency(self, worker_ctx):
        return self.clock


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

    def volunteer_and_availability(self, volunteer_id: int, start: datetime, end: datetime) -> tuple[dict, dict]:
        """Both calls in flight at once: the volunteer record and whether they are free then."""
        try:
            with eventlet.Timeout(self._timeout):
                record = self._proxy.get_volunteer.call_async(volunteer_id)
                availability = self._proxy.check_availability.call_async(volunteer_id, iso(start), iso(end))
                return record.result(), availability.result()
        except eventlet.Timeout:
            raise Unavailable(f"the volunteers service did not answer within {self._timeout:g} s") from None
        except UnknownService:
            raise Unavailable("the volunteers service is not running") from None

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
