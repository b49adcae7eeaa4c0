"""Capacity pre-checks (can the shifts fit at all?) and a counting lower bound on the roster's cost.

Both are necessary conditions only, computed from the index in milliseconds, before any search.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from . import rules as R
from . import wording
from .index import Index
from .model import Problem


@dataclass(frozen=True)
class Shortage:
    """One capacity problem: what cannot fit, the shifts it concerns, in plain words."""

    kind: str  # "shift", "time", "grid_week", "week", "pinned"
    message: str
    shifts: tuple[int, ...] = ()
    grids: tuple[int, ...] = ()
    short: int = 0  # places short
    leader_short: int = 0  # leader places short
    message_zh: str = ""


def check_capacity(problem: Problem) -> list[str]:
    """Plain-words reasons why the shifts cannot all be covered; empty when the counts fit."""
    return [s.message for s in shortages(Index.build(problem))]


def shortages(ix: Index) -> list[Shortage]:
    out = [Shortage("pinned", msg, message_zh=zh) for msg, zh in ix.pinned_problems]
    per_shift = _per_shift(ix)
    short = {sh.shifts[0]: sh for sh in per_shift}
    out += per_shift
    # a group shortage is news only when the shifts' own shortages do not already explain it
    for group in _per_time(ix) + _per_grid_week(ix):
        known = sum(short[si].short for si in group.shifts if si in short)
        known_leaders = sum(short[si].leader_short for si in group.shifts if si in short)
        if group.short > known or group.leader_short > known_leaders:
            out.append(group)
    return out


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _per_shift(ix: Index) -> list[Shortage]:
    out = []
    for si, s in enumerate(ix.shifts):
        cands = ix.candidates[si]
        leaders = sum(1 for vi in cands if ix.volunteers[vi].leader)
        short = max(0, s.min_patrollers - len(cands))
        no_leader = leaders < s.leaders_needed
        if short or no_leader:
            parts = [f"{ix.describe(si)}: needs {s.min_patrollers} patrollers, {len(cands)} available"]
            if s.leaders_needed > 1:
                parts.append(f"needs {_n(s.leaders_needed, 'leader')}, {leaders} available")
            elif s.leader_needed:
                parts.append("no leader available" if no_leader else f"{leaders} leader{'s' * (leaders > 1)} available")
            zh = wording.short_shift(ix.problem, s, len(cands), leaders)
            lacking = max(0, s.leaders_needed - leaders)
            out.append(Shortage("shift", ", ".join(parts), (si,), (s.grid,), short, lacking, zh))
    return out


def _per_time(ix: Index) -> list[Shortage]:
    """All grids at one time: each volunteer can be in one place only."""
    by_slot: dict[int, list[int]] = defaultdict(list)
    for si in range(len(ix.shifts)):
        by_slot[ix.slot_of[si]].append(si)
    out = []
    for t, shifts in by_slot.items():
        people = {vi for si in shifts for vi in ix.candidates[si]}
        leaders = {vi for vi in people if ix.volunteers[vi].leader}
        need = sum(ix.shifts[si].min_patrollers for si in shifts)
        need_leaders = sum(ix.shifts[si].leaders_needed for si in shifts)
        if need > len(people) or need_leaders > len(leaders):
            start = ix.slots[t][0]
            out.append(
                Shortage(
                    "time",
                    f"{start:%A} {start.day} {start:%B} {ix.shifts[shifts[0]].kind}: {_n(len(shifts), 'shift')} "
                    f"need {_n(need, 'patroller')} and {_n(need_leaders, 'leader')}, {len(people)} patrollers and "
                    f"{len(leaders)} leaders available in all",
                    tuple(shifts),
                    tuple(sorted({ix.shifts[si].grid for si in shifts})),
                    max(0, need - len(people)),
                    max(0, need_leaders - len(leaders)),
                    wording.short_time(
                        start, ix.shifts[shifts[0]].kind, len(shifts), need, need_leaders, len(people), len(leaders)
                    ),
                )
            )
    return out


def _per_grid_week(ix: Index) -> list[Shortage]:
    """One grid over one week: what its shifts need against what the volunteers who may patrol it can give
    within their weekly caps, even if they patrolled nowhere else."""
    slots: dict[tuple[int, int], dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for vi, shifts in enumerate(ix.eligible):
        for si in shifts:
            t = ix.slot_of[si]
            slots[(ix.shifts[si].grid, ix.week_of_slot[t])][vi].add(t)
    need: dict[tuple[int, int], list[int]] = defaultdict(list)
    for si, s in enumerate(ix.shifts):
        need[(s.grid, ix.week_of_slot[ix.slot_of[si]])].append(si)
    out = []
    for (grid, week), shifts in sorted(need.items()):
        give = {vi: min(ix.weekly_cap[vi], len(ts)) for vi, ts in slots[(grid, week)].items()}
        places = sum(ix.shifts[si].min_patrollers for si in shifts)
        leader_places = sum(ix.shifts[si].leaders_needed for si in shifts)
        can = sum(give.values())
        can_lead = sum(n for vi, n in give.items() if ix.volunteers[vi].leader)
        if places > can or leader_places > can_lead:
            first = min(ix.slots[ix.slot_of[si]][0] for si in shifts)
            what = []
            if places > can:
                what.append(f"needs {places} patroller places, its patrollers can give {can}")
            if leader_places > can_lead:
                what.append(f"needs {leader_places} leader places, its leaders can give {can_lead}")
            out.append(
                Shortage(
                    "grid_week",
                    f"{ix.problem.grid_name(grid)}, week of {first:%A} {first.day} {first:%B}: " + "; ".join(what),
                    tuple(shifts),
                    (grid,),
                    max(0, places - can),
                    max(0, leader_places - can_lead),
                    wording.short_grid_week(ix.problem, grid, first, places, can, leader_places, can_lead),
                )
            )
    return out


def counting_bound(ix: Index, soft: bool) -> int:
    """A lower bound on the cost by counting, valid for every roster the hard rules allow.

    Per shift, its minimum crew costs at least the cheapest per-assignment costs (away from home, not
    preferred) among its candidates; in soft mode, places nobody can take are counted as uncovered.
    """
    w = R.weights(ix.problem.rules)
    total = 0
    for si, s in enumerate(ix.shifts):
        costs = sorted(
            w["away_from_home"] * (s.grid != ix.volunteers[vi].home_grid)
            + w["not_preferred"] * (not R.is_preferred(ix.volunteers[vi], s))
            for vi in ix.candidates[si]
        )
        total += sum(costs[: s.min_patrollers])
        if soft:
            total += w["uncovered_place"] * max(0, s.min_patrollers - len(costs))
            can_lead = sum(1 for vi in ix.candidates[si] if ix.volunteers[vi].leader)
            total += w["missing_leader"] * max(0, s.leaders_needed - can_lead)
    return total


def lower_bound(problem: Problem, seconds: float, soft: bool = False) -> int:
    """The counting bound, or what CP-SAT's lb-tree-search proves on the pruned model with one worker within
    `seconds` (the LP relaxation with cuts, tightened by search), whichever is larger. Run it apart from the
    search: the LP relaxation of the pairwise rules is weak, so it needs its own time to say much."""
    return relaxation_bound(Index.build(problem), soft, seconds)


def relaxation_bound(ix: Index, soft: bool, seconds: float) -> int:
    """lower_bound on an index already built."""
    from ortools.sat.python import cp_model

    from . import cpmodel

    counting = counting_bound(ix, soft)
    if seconds <= 0:
        return counting
    built = cpmodel.build(ix, soft)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.subsolvers.append("lb_tree_search")
    solver.parameters.max_time_in_seconds = seconds
    solver.Solve(built.model)
    return max(counting, math.ceil(solver.BestObjectiveBound() - 1e-6))
