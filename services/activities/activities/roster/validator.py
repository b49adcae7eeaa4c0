"""An independent check of a roster against the hard rules, written from the rules alone.

It shares no code with the solver's index or CP-SAT model, so a modelling mistake shows up here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import timedelta

from .model import Assignment, Problem, Violation


def validate(problem: Problem, assignments: Iterable[Assignment], coverage: bool = True) -> list[Violation]:
    """Every broken hard rule; `coverage=False` skips the minimum-patrollers and leader checks."""
    rules = problem.rules
    shifts = {s.id: s for s in problem.shifts}
    volunteers = {v.id: v for v in problem.volunteers}
    out: list[Violation] = []
    assignments = list(assignments)

    def said(shift_id: str) -> str:
        """A shift as people name it: grid 7, Saturday 5 December evening."""
        s = shifts.get(shift_id)
        if s is None:
            return f"shift {shift_id}"
        return f"{problem.grid_name(s.grid)}, {s.start:%A} {s.start.day} {s.start:%B} {s.kind}"

    crews: dict[str, list[str]] = defaultdict(list)
    mine = defaultdict(list)

    for a, n in Counter(assignments).items():
        if n > 1:
            out.append(
                Violation(
                    "duplicate", f"{a.volunteer_id} is on {said(a.shift_id)} {n} times", a.shift_id, a.volunteer_id
                )
            )
    for a in set(assignments):
        s, v = shifts.get(a.shift_id), volunteers.get(a.volunteer_id)
        if s is None or v is None:
            out.append(Violation("unknown", f"unknown shift or volunteer in {a}", a.shift_id, a.volunteer_id))
            continue
        crews[s.id].append(v.id)
        mine[v.id].append(s)
        where = f"{v.name} ({v.id}) on {said(s.id)}"
        if not v.patrol:
            out.append(Violation("qualification", f"{where}: not in the patrol team", s.id, v.id))
        grids = {v.home_grid, *v.grids}
        if rules.neighbour_grids:
            grids |= set(problem.grid_neighbours.get(v.home_grid, ()))
        if s.grid not in grids:
            out.append(Violation("grid", f"{where}: grid {s.grid} is not one they patrol", s.id, v.id))
        if v.availability is not None and (s.start.weekday(), s.kind) not in v.availability:
            out.append(Violation("availability", f"{where}: not available on that day and time", s.id, v.id))
        if any(s.start < b and a_ < s.end for a_, b in v.unavailable):
            out.append(Violation("availability", f"{where}: away then", s.id, v.id))
        if any(s.start < b and a_ < s.end for a_, b in v.duties):
            out.append(Violation("duty", f"{where}: overlaps another duty", s.id, v.id))

    for vid, own in mine.items():
        v = volunteers[vid]
        rest = rules.min_rest_hours if v.min_rest_hours is None else v.min_rest_hours
        own.sort(key=lambda s: s.start)
        for i, s in enumerate(own):
            for later in own[i + 1 :]:
                if (later.start - s.end).total_seconds() >= rest * 3600:
                    break
                out.append(
                    Violation(
                        "rest",
                        f"{v.name} ({vid}): {said(s.id)} and {said(later.id)} less than {rest:g} h apart",
                        later.id,
                        vid,
                    )
                )
        cap = rules.max_per_week if v.max_per_week is None else v.max_per_week
        weeks = Counter((s.start - timedelta(days=s.start.weekday())).date() for s in own)
        for monday, n in sorted(weeks.items()):
            if n > cap:
                week = f"the week of Monday {monday.day} {monday:%B}"
                out.append(Violation("weekly_cap", f"{v.name} ({vid}): {n} shifts in {week}, cap {cap}", None, vid))
        if v.max_shifts is not None and len(own) > v.max_shifts:
            out.append(Violation("period_cap", f"{v.name} ({vid}): {len(own)} shifts, cap {v.max_shifts}", None, vid))

    for s in problem.shifts:
        crew = crews.get(s.id, [])
        if len(crew) > s.max_patrollers:
            out.append(Violation("coverage", f"{said(s.id)}: {len(crew)} patrollers, at most {s.max_patrollers}", s.id))
        if coverage and len(crew) < s.min_patrollers:
            out.append(Violation("coverage", f"{said(s.id)}: {len(crew)} patrollers, needs {s.min_patrollers}", s.id))
        if coverage and s.leader_needed and not any(volunteers[v].leader for v in crew):
            out.append(Violation("leader", f"{said(s.id)}: no leader", s.id))

    kept = set(assignments)
    for p in problem.pinned:
        if p not in kept:
            out.append(
                Violation(
                    "pinned", f"pinned {p.volunteer_id} on {said(p.shift_id)} was dropped", p.shift_id, p.volunteer_id
                )
            )
    return out
