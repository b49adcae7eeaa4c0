"""STAND-IN for the roster RPC of the activities service, used by the organiser tests only while
``activities`` does not offer ``build_roster`` yet (the fixtures use the real calls once it does).

It answers ``build_roster``, ``get_roster``, ``list_rosters``, ``publish_roster`` and
``repair_roster`` with the documented names, builds evening patrols per grid and day, fills them
with the real greedy solver of ``activities.roster`` from the patrol team of the real volunteers
service, and dispatches ``roster_progress`` events while it works.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from nameko.rpc import RpcProxy, rpc

from activities.roster import model as M
from activities.roster.greedy import greedy
from activities.roster.index import Index
from guanyinli.errors import Conflict, NotFound
from guanyinli.events import publish
from guanyinli.timeutil import iso, local

ROSTERS: dict[int, dict] = {}
_ids = itertools.count(1)


def reset() -> None:
    ROSTERS.clear()


class StandInRoster:
    """Mixed into ActivitiesService (which brings ``dispatch``) for the tests."""

    roster_volunteers = RpcProxy("volunteers")

    def _patrollers(self) -> list[dict]:
        page = self.roster_volunteers.list_volunteers(team="voluntary_patrol", active=True, limit=500)
        return page["items"]

    def _solve(self, roster: dict, drop: set[int] = frozenset()) -> dict:
        people = [v for v in self._patrollers() if v["id"] not in drop]
        volunteers = tuple(
            M.Volunteer(
                id=str(v["id"]),
                name=v["name"],
                home_grid=v["grid_id"] or 1,
                leader="patrol_leader" in v["skills"],
                grids=frozenset(roster["grids"]),
            )
            for v in people
        )
        shifts = tuple(
            M.Shift(
                id=s["shift_id"],
                grid=s["grid_id"],
                start=datetime.fromisoformat(s["start"]).replace(tzinfo=None),
                end=datetime.fromisoformat(s["end"]).replace(tzinfo=None),
                min_patrollers=2,
                max_patrollers=3,
            )
            for s in roster["shifts"]
        )
        ix = Index.build(M.Problem(volunteers=volunteers, shifts=shifts, rules=M.Rules(max_per_week=4)))
        chosen = greedy(ix)
        roster["assignments"] = sorted(
            ({"shift_id": ix.shifts[si].id, "volunteer_id": int(ix.volunteers[vi].id)} for vi, si in chosen),
            key=lambda a: (a["shift_id"], a["volunteer_id"]),
        )
        load = {int(v.id): 0 for v in ix.volunteers}
        for a in roster["assignments"]:
            load[a["volunteer_id"]] += 1
        target = round(sum(load.values()) / max(len(load), 1))
        roster["report"] = {
            "volunteers": [
                {
                    "volunteer_id": vid,
                    "role": "leader" if ix.volunteers[ix.vpos[str(vid)]].leader else "patroller",
                    "shifts": n,
                    "target": target,
                }
                for vid, n in load.items()
            ]
        }
        crews: dict[str, list[int]] = {}
        for a in roster["assignments"]:
            crews.setdefault(a["shift_id"], []).append(a["volunteer_id"])
        roster["gaps"] = [
            {
                "shift_id": s["shift_id"],
                "grid": s["grid_id"],
                "missing": max(0, 2 - len(crews.get(s["shift_id"], []))),
                "leader_missing": True,
                "reason": f"grid {s['grid_id']}, {s['start'][:10]} evening: not enough patrollers available",
            }
            for s in roster["shifts"]
            if len(crews.get(s["shift_id"], [])) < 2
        ]
        roster["solver_status"] = "feasible_with_gaps" if roster["gaps"] else "feasible"
        return roster

    @rpc
    def build_roster(self, start, end, grids=None, options=None):
        first, last = local(datetime.fromisoformat(start)), local(datetime.fromisoformat(end))
        grids = grids or list(range(1, 16))
        roster_id = next(_ids)
        job = uuid.uuid4().hex
        shifts = []
        day = first
        while day < last:
            for grid in grids:
                begin = day.replace(hour=19, minute=0)
                shifts.append(
                    {
                        "shift_id": f"g{grid}-{day:%m%d}",
                        "grid_id": grid,
                        "start": iso(begin),
                        "end": iso(begin + timedelta(hours=2)),
                        "min_patrollers": 2,
                        "max_patrollers": 3,
                        "leader_needed": True,
                    }
                )
            day += timedelta(days=1)
        roster = {
            "id": roster_id,
            "status": "draft",
            "start": iso(first),
            "end": iso(last),
            "grids": grids,
            "shifts": shifts,
            "objective": None,
            "bound": None,
            "gap": None,
            "problems": [],
            "suggestions": [],
        }
        for n in (1, 2):
            publish(
                self.dispatch,
                "roster_progress",
                {
                    "roster_id": roster_id,
                    "job_id": job,
                    "solutions": n,
                    "objective": 100.0 / n,
                    "bound": 40.0,
                    "gap": 1 - 40 / (100 / n),
                    "elapsed": 0.1 * n,
                    "done": n == 2,
                },
            )
        self._solve(roster)
        ROSTERS[roster_id] = roster
        return roster

    @rpc
    def get_roster(self, roster_id):
        if roster_id not in ROSTERS:
            raise NotFound(f"roster_id: no roster {roster_id}")
        return ROSTERS[roster_id]

    @rpc
    def list_rosters(self):
        return [{k: r[k] for k in ("id", "status", "start", "end")} for r in ROSTERS.values()]

    @rpc
    def publish_roster(self, roster_id):
        roster = self.get_roster(roster_id)
        if roster["status"] == "published":
            raise Conflict(f"roster_id: roster {roster_id} is already published")
        roster["status"] = "published"
        return roster

    @rpc
    def repair_roster(self, roster_id, volunteer_ids):
        roster = self.get_roster(roster_id)
        return self._solve(roster, set(volunteer_ids))
