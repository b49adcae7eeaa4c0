"""What an organiser reads about a roster: coverage per grid, load per role, cost per soft rule, gaps in words."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from . import rules as R
from . import wording
from .bounds import Shortage
from .index import Index
from .model import Assignment, Gap, Report, VolunteerLoad


def make_report(ix: Index, assignments: Iterable[Assignment]) -> Report:
    assignments = list(assignments)
    crew: dict[str, list[str]] = defaultdict(list)
    load: dict[str, int] = defaultdict(int)
    for a in assignments:
        crew[a.shift_id].append(a.volunteer_id)
        load[a.volunteer_id] += 1
    coverage: dict[int, dict[str, int]] = {}
    for s in ix.shifts:
        row = coverage.setdefault(s.grid, {"shifts": 0, "covered": 0, "places": 0, "filled": 0, "missing": 0})
        n = len(crew[s.id])
        row["shifts"] += 1
        row["covered"] += n >= s.min_patrollers
        row["places"] += s.min_patrollers
        row["filled"] += n
        row["missing"] += max(0, s.min_patrollers - n)
    # the roster's people: who could take one of its shifts, or has one (a roster of two grids leaves the
    # rest of the team out, rather than counting them all at 0 shifts against a target of 0)
    people = tuple(
        VolunteerLoad(v.id, R.role(v), load[v.id], ix.targets[v.id])
        for vi, v in enumerate(ix.volunteers)
        if ix.eligible[vi] or load[v.id]
    )
    by_role: dict[str, dict[str, float]] = {}
    for role in ("leader", "patroller"):
        rows = [p for p in people if p.role == role]
        if rows:
            shifts = [p.shifts for p in rows]
            over = [p.shifts - p.target for p in rows]
            by_role[role] = {
                "volunteers": len(rows),
                "min": min(shifts),
                "max": max(shifts),
                "spread": max(shifts) - min(shifts),
                "mean": round(sum(shifts) / len(shifts), 2),
                "min_over_target": min(over),
                "max_over_target": max(over),
            }
    costs = R.evaluate(ix.problem, assignments, ix.targets)
    return Report(coverage=coverage, load=by_role, volunteers=people, costs=costs)


def find_gaps(ix: Index, assignments: Iterable[Assignment], found: list[Shortage]) -> list[Gap]:
    """Shifts left under-covered, each with the most specific reason the capacity checks gave."""
    crew: dict[str, list[str]] = defaultdict(list)
    for a in assignments:
        crew[a.shift_id].append(a.volunteer_id)
    leaders = {v.id for v in ix.volunteers if v.leader}
    why: dict[tuple[int, bool], tuple[str, str]] = {}  # (shift, about its leaders) -> reason
    for shortage in found:  # per-shift reasons come first and are the most specific
        for si in shortage.shifts:
            if shortage.short or not shortage.leader_short:
                why.setdefault((si, False), (shortage.message, shortage.message_zh))
            if shortage.leader_short or not shortage.short:
                why.setdefault((si, True), (shortage.message, shortage.message_zh))
    gaps = []
    for si, s in enumerate(ix.shifts):
        n = len(crew[s.id])
        no_leader = sum(1 for v in crew[s.id] if v in leaders) < s.leaders_needed
        if n >= s.min_patrollers and not no_leader:
            continue
        leaders_only = n >= s.min_patrollers
        reason, reason_zh = (
            why.get((si, leaders_only))
            or why.get((si, not leaders_only))
            or (
                f"{ix.describe(si)}: everyone available is already at their weekly cap, resting, or on a shift nearby",
                wording.everyone_busy(ix.problem, s),
            )
        )
        gaps.append(Gap(s.id, s.grid, max(0, s.min_patrollers - n), no_leader, reason, reason_zh))
    return gaps
