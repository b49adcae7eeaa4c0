"""Tiny roster problems for the rule tests: a few volunteers, a few shifts, one rule at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

from ortools.sat.python import cp_model

from activities.roster import cpmodel
from activities.roster import rules as R
from activities.roster.index import Index
from activities.roster.model import Assignment, Problem, Rules, Shift, Volunteer

MONDAY = datetime(2026, 11, 30)


def vol(vid: str, home: int = 1, leader: bool = False, **kw) -> Volunteer:
    return Volunteer(id=vid, name=f"志愿者{vid}", home_grid=home, leader=leader, **kw)


def shift(sid: str, day: int, kind: str = "evening", grid: int = 1, need: int = 1, most: int = 1, leader: bool = False):
    start = MONDAY + timedelta(days=day, hours=19 if kind == "evening" else 8)
    return Shift(sid, grid, start, start + timedelta(hours=2), need, most, leader, kind)


def problem(volunteers, shifts, pinned=(), neighbours=None, **rules) -> Problem:
    return Problem(
        volunteers=tuple(volunteers),
        shifts=tuple(shifts),
        grid_neighbours=neighbours or {},
        rules=Rules(**rules),
        pinned=tuple(pinned),
    )


def roster(*pairs: tuple[str, str]) -> list[Assignment]:
    """roster(("s1", "a"), ...) with (shift, volunteer) pairs."""
    return [Assignment(s, v) for s, v in pairs]


def costs(p: Problem, assignments) -> dict[str, int]:
    """The cost per soft rule, after checking the CP-SAT model prices the same roster identically."""
    ix = Index.build(p)
    by_rule = R.evaluate(p, assignments, ix.targets)
    chosen = {(ix.vpos[a.volunteer_id], ix.spos[a.shift_id]) for a in assignments}
    built = cpmodel.build(ix, soft=True)
    assert cpmodel.objective_of(built, chosen) == sum(by_rule.values())
    return {k: v for k, v in by_rule.items() if v}


def optimum(ix: Index, window=(), workers: int = 1) -> int:
    """CP-SAT's proven optimum of the whole model; with `window` ((role, top, bottom), ...), of the rosters
    whose roles' tops and bottoms are those."""
    built = cpmodel.build(ix, False)
    for role, top, bottom in window:
        built.model.Add(built.spread[role][0] == top)
        built.model.Add(built.spread[role][1] == bottom)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.max_time_in_seconds = 30
    assert solver.Solve(built.model) == cp_model.OPTIMAL
    return round(solver.ObjectiveValue())
