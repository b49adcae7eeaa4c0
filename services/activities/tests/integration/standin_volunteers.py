"""STAND-IN for the volunteers service, used by the activities tests only.

It answers the calls the activities service makes of a volunteer (``get_volunteer``,
``check_availability``, ``availability_spans``, ``available_volunteers`` and ``lookup``, which finds names and no grid
leaders or ledger entries) from an in-process table that tests fill through ``put_volunteer`` and
``set_unavailable``. With the nameko config key ``STANDIN_ANY_VOLUNTEER: true`` every id is an
active volunteer without skills (for the load tests, whose service processes have no table).
Replace it with the real ``volunteers.service.VolunteersService`` once both agree on the calls.
"""

from __future__ import annotations

from datetime import datetime

from nameko.dependency_providers import Config
from nameko.rpc import rpc

from guanyinli.errors import NotFound

VOLUNTEERS: dict[int, dict] = {}
UNAVAILABLE: dict[int, list[tuple[datetime, datetime, str]]] = {}


def reset() -> None:
    VOLUNTEERS.clear()
    UNAVAILABLE.clear()


class StandInVolunteersService:
    name = "volunteers"
    config = Config()

    @rpc
    def put_volunteer(self, volunteer: dict) -> dict:
        record = {"active": True, "skills": [], "teams": [], "grid_id": None, **volunteer}
        VOLUNTEERS[int(record["id"])] = record
        return record

    @rpc
    def set_unavailable(self, volunteer_id: int, start: str, end: str, reason: str) -> None:
        UNAVAILABLE.setdefault(volunteer_id, []).append(
            (datetime.fromisoformat(start), datetime.fromisoformat(end), reason)
        )

    @rpc
    def get_volunteer(self, volunteer_id: int) -> dict:
        if volunteer_id in VOLUNTEERS:
            return VOLUNTEERS[volunteer_id]
        if self.config.get("STANDIN_ANY_VOLUNTEER"):
            return {"id": volunteer_id, "name": f"志愿者{volunteer_id}", "skills": [], "teams": [], "active": True}
        raise NotFound(f"volunteer {volunteer_id} not found")

    @rpc
    def check_availability(self, volunteer_id: int, start: str, end: str) -> dict:
        self.get_volunteer(volunteer_id)
        s, e = datetime.fromisoformat(start), datetime.fromisoformat(end)
        for a, b, reason in UNAVAILABLE.get(volunteer_id, []):
            if a < e and s < b:
                return {"available": False, "reason": reason}
        return {"available": True, "reason": None}

    @rpc
    def availability_spans(self, volunteer_id: int, start: str, end: str) -> dict:
        record = self.get_volunteer(volunteer_id)
        spans = [(datetime.fromisoformat(start), datetime.fromisoformat(end))]
        for a, b, _ in sorted(UNAVAILABLE.get(volunteer_id, [])):
            spans = [part for s, e in spans for part in ((s, min(e, a)), (max(s, b), e)) if part[0] < part[1]]
        windows = [{"start": s.isoformat(), "end": e.isoformat()} for s, e in spans] if record["active"] else []
        return {"volunteer_id": volunteer_id, "active": record["active"], "windows": windows}

    @rpc
    def list_grids(self) -> list[dict]:
        """Guanyinli's fifteen grids, by id and name only: the stand-in has no reference data of its own."""
        return [{"id": g, "code": f"G{g:02d}", "name": f"{g}号网格"} for g in range(1, 16)]

    @rpc
    def list_teams(self) -> list[dict]:
        """Guanyinli's three teams, by code and names (the activities service's teams of activities and feeds)."""
        return [
            {"code": code, "name": code.replace("_", " "), "name_zh": name_zh, "description": "", "members": 0}
            for code, name_zh in (
                ("convenient_service", "便民服务队"),
                ("sanitation_green", "清洁卫生护绿队"),
                ("voluntary_patrol", "义务巡逻队"),
            )
        ]

    @rpc
    def lookup(self, volunteer_ids: list[int], grid_ids: list[int], source_keys: list[str]) -> dict:
        named = [{"id": v, "name": VOLUNTEERS[v].get("name")} for v in sorted(volunteer_ids) if v in VOLUNTEERS]
        return {"volunteers": named, "grid_leaders": [], "entries": []}

    @rpc
    def available_volunteers(self, start: str, end: str, team=None, grid=None, skill=None) -> list[dict]:
        """Active volunteers free for all of [start, end) (no team, grid or skill filter is needed yet)."""
        return [
            v
            for v in sorted(VOLUNTEERS.values(), key=lambda v: v["id"])
            if v["active"] and self.check_availability(v["id"], start, end)["available"]
        ]
