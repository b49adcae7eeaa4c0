"""nameko dependencies of the appeals service: the volunteers directory (grids, who is available now).

The appeals service calls ``volunteers`` on its own account (a ``system`` token): grids and
courtyards are its data, and so are grid roles, availability and skills.
"""

from __future__ import annotations

from datetime import datetime

import eventlet
from nameko.exceptions import UnknownService

from appeals import domain
from appeals.exceptions import GridNotFound
from guanyinli.errors import InvalidInput, NotFound, Unavailable
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
