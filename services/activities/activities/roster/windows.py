"""The role spread decided by load windows: with each role's window of (shifts - target) fixed, what is left of
the objective is a cost per assignment, a linear program whose optimum is mostly whole.

When the only soft costs are the role spread and costs of single assignments (away from home, not preferred),
as in every `patrol-roster/1` month, a roster's objective is

    role_spread x (top - bottom of each role) + the sum of its assignments' own costs.

Fix every role's window [bottom, top] and the second part is a linear program over the hard rules (coverage,
leaders, one shift at a time, rest, weekly caps) plus `bottom <= shifts - target <= top` for everyone. Its
optimum (GLOP) bounds what any roster in that window can cost, and on the family's months it is whole more
often than not (the constraints are mostly those of a transportation problem); where it is not, SCIP finds
the roster of that window. A block of grids or days cannot lower a role's top: every volunteer at the top must
give a place away at once. A window can: on the family's month of 1,000 volunteers the rosters at 60 s held
leaders at 2-8 shifts (1,549: spread 800, away from home 749); the window 2-7 is whole at 751 away from
home, 1,451 in all, found in 3 s.

`descend` walks the windows from a roster's own: each role's top one lower, bottom one higher, or both moved
together, priced by the linear program; the best that can beat the roster is solved, and the walk goes on
from the roster it gives until no window can beat it or the time is up.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

from ortools.linear_solver import pywraplp

from . import rules as R
from .index import Index

Pair = tuple[int, int]
Window = tuple[tuple[str, int, int], ...]  # (role, top, bottom) per role, sorted
LINEAR_RULES = frozenset({"role_spread", "away_from_home", "not_preferred", "uncovered_place", "missing_leader"})
MIN_SECONDS = 0.5  # a probe or a roster is not started with less time than this left
WHOLE = 1e-6  # a value this close to 0 or 1 is whole


def applies(ix: Index, soft: bool) -> bool:
    """Whether the roster's objective is the role spread plus costs of single assignments (and coverage is
    required): only then does a window leave a linear program."""
    if soft or ix.fair_for is not None or ix.extra_cost or ix.spread_floor or ix.week_caps is not None:
        return False
    w = R.weights(ix.problem.rules)
    return w["role_spread"] > 0 and all(v == 0 for k, v in w.items() if k not in LINEAR_RULES)


def window_of(ix: Index, chosen: set[Pair]) -> Window:
    """Each role's (top, bottom) of (shifts - target) in a roster."""
    load = [0] * len(ix.volunteers)
    for vi, _ in chosen:
        load[vi] += 1
    diffs: dict[str, list[int]] = defaultdict(list)
    for vi, v in enumerate(ix.volunteers):
        diffs[R.role(v)].append(load[vi] - ix.targets[v.id])
    return tuple((role, max(d), min(d)) for role, d in sorted(diffs.items()))


def spread_cost(ix: Index, window: Window) -> int:
    return R.weights(ix.problem.rules)["role_spread"] * sum(top - bottom for _, top, bottom in window)


class WindowModel:
    """The roster as a linear program (GLOP) or an integer one (SCIP) whose load windows can be changed
    between solves: one model, built once, each solve warm from the last."""

    def __init__(self, ix: Index, engine: str):
        self.ix = ix
        self.solver = pywraplp.Solver.CreateSolver(engine)
        if self.solver is None:  # pragma: no cover - both engines ship with OR-Tools
            raise RuntimeError(f"OR-Tools has no {engine} here")
        whole = engine != "GLOP"
        s, w = self.solver, R.weights(ix.problem.rules)
        self.x: dict[Pair, pywraplp.Variable] = {}
        crew: list[list] = [[] for _ in ix.shifts]
        leaders: list[list] = [[] for _ in ix.shifts]
        mine: list[list[int]] = [[] for _ in ix.volunteers]
        for vi, shifts in enumerate(ix.eligible):
            leader = ix.volunteers[vi].leader
            for si in shifts:
                var = s.BoolVar("") if whole else s.NumVar(0.0, 1.0, "")
                if (vi, si) in ix.pinned:
                    var.SetLb(1.0)
                self.x[vi, si] = var
                crew[si].append(var)
                mine[vi].append(si)
                if leader:
                    leaders[si].append(var)
        for si, shift in enumerate(ix.shifts):
            s.Add(s.Sum(crew[si]) >= shift.min_patrollers)
            s.Add(s.Sum(crew[si]) <= shift.max_patrollers)
            if shift.leaders_needed:
                s.Add(s.Sum(leaders[si]) >= shift.leaders_needed)
        self.rows: dict[str, list[tuple[pywraplp.Constraint, int]]] = defaultdict(list)
        self.bottom: dict[str, pywraplp.Variable] = {}  # each role's bottom: fixed by a window, free by a spread
        for vi, v in enumerate(ix.volunteers):
            slots: dict[int, list] = defaultdict(list)
            weeks: dict[int, list] = defaultdict(list)
            for si in mine[vi]:
                t = ix.slot_of[si]
                slots[t].append(self.x[vi, si])
                weeks[ix.week_of_slot[t]].append(self.x[vi, si])
            for vars_ in slots.values():
                if len(vars_) > 1:
                    s.Add(s.Sum(vars_) <= 1)
            for t1, t2 in ix.conflicts[ix.rest_of(vi)]:
                if t1 in slots and t2 in slots:
                    s.Add(s.Sum(slots[t1] + slots[t2]) <= 1)
            for week, vars_ in weeks.items():
                cap = ix.week_cap(vi, week)
                if len(vars_) > cap:
                    s.Add(s.Sum(vars_) <= cap)
            if v.max_shifts is not None and len(mine[vi]) > v.max_shifts:
                s.Add(s.Sum([self.x[vi, si] for si in mine[vi]]) <= v.max_shifts)
            # shifts - target - the role's bottom, between 0 and the window's width
            row = s.Constraint(-s.infinity(), s.infinity())
            for si in mine[vi]:
                row.SetCoefficient(self.x[vi, si], 1)
            if R.role(v) not in self.bottom:
                self.bottom[R.role(v)] = s.NumVar(-s.infinity(), s.infinity(), "")
            row.SetCoefficient(self.bottom[R.role(v)], -1)
            self.rows[R.role(v)].append((row, ix.targets[v.id]))
        objective = s.Objective()
        for (vi, si), var in self.x.items():
            objective.SetCoefficient(var, R.place_cost(w, ix.volunteers[vi], ix.shifts[si]))
        objective.SetMinimization()
        self.window: Window | None = None
        self.values: dict[Pair, float] = {}
        self.proven = False

    def solve(self, window: Window, seconds: float) -> tuple[float | None, set[Pair] | None]:
        """The least assignment cost in the window (None: no roster in it, or none found in time) and the
        roster, if the solution is whole. The solution's values stay in `values` until the next solve."""
        self.window = window
        for role, top, bottom in window:
            self.bottom[role].SetBounds(bottom, bottom)
            for row, target in self.rows[role]:
                row.SetBounds(target, target + top - bottom)
        status = self._run(seconds)
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            return None, None
        self.values = {p: var.solution_value() for p, var in self.x.items()}
        if any(WHOLE < v < 1 - WHOLE for v in self.values.values()):
            return self.solver.Objective().Value(), None
        return self.solver.Objective().Value(), {p for p, v in self.values.items() if v > 0.5}

    def least_with_spreads(self, spreads: dict[str, int], seconds: float) -> float | None:
        """The least assignment cost of any roster whose roles' spreads are at most `spreads`, wherever their
        windows lie (the bottoms free; a linear program): math.inf when no roster has them, None when the
        linear program did not end in time."""
        self.window = None
        for role, width in spreads.items():
            self.bottom[role].SetBounds(-self.solver.infinity(), self.solver.infinity())
            for row, target in self.rows[role]:
                row.SetBounds(target, target + width)
        if self._run(seconds) == pywraplp.Solver.INFEASIBLE:
            return math.inf
        return self.solver.Objective().Value() if self.proven else None

    def _run(self, seconds: float) -> int:
        """One solve within `seconds`; `proven` says whether its value is the least there is."""
        self.solver.SetTimeLimit(max(1, int(seconds * 1000)))
        self.values = {}
        status = self.solver.Solve()
        self.proven = status == pywraplp.Solver.OPTIMAL
        return status

    def round(self, window: Window, relaxed: dict[Pair, float], deadline: float, floor: float = -math.inf):
        """A roster of the window (an integer model's) near a fractional solution `relaxed`: first with every
        whole value of it kept (what is left is a few dozen variables: 60 of 49,810 on the family's month of
        1,000 volunteers, solved in 0.4 s), then with its ones kept, then free. Each step is taken only while
        the best roster so far costs more than `floor` (the linear program's least); None if none is found
        by the deadline."""
        ones = [p for p, v in relaxed.items() if v > 1 - WHOLE]
        zeros = [p for p, v in relaxed.items() if v < WHOLE]
        best, best_value = None, math.inf
        for kept_ones, kept_zeros in ((ones, zeros), (ones, ()), ((), ())):
            left = deadline - time.perf_counter()
            if left < MIN_SECONDS / 5 or best_value <= floor + WHOLE:
                break
            for p in kept_ones:
                self.x[p].SetLb(1.0)
            for p in kept_zeros:
                self.x[p].SetUb(0.0)
            try:
                value, roster = self.solve(window, left)
            finally:
                for p in kept_ones:
                    self.x[p].SetLb(1.0 if p in self.ix.pinned else 0.0)
                for p in kept_zeros:
                    self.x[p].SetUb(1.0)
            if roster is not None and value < best_value:
                best, best_value = roster, value
        return best


def neighbours(window: Window) -> list[Window]:
    """The window itself, then per role its top one lower or its bottom one higher (a smaller spread), then
    per role both one lower or both one higher (the same spread, elsewhere), then one role one wider and
    another one narrower (the same spread in all: on the family's month of 300 volunteers with 15 grids
    short of their own, leaders 3-5 and patrollers 2-4 cost 642, leaders 3-6 and patrollers 2-3 cost 632)."""
    narrower = [
        [(role, top - 1, bottom), (role, top, bottom + 1)] if top > bottom else [] for role, top, bottom in window
    ]
    moved = [[(role, top - 1, bottom - 1), (role, top + 1, bottom + 1)] for role, top, bottom in window]
    wider = [[(role, top + 1, bottom), (role, top, bottom - 1)] for role, top, bottom in window]

    def changed(parts: dict[int, tuple[str, int, int]]) -> Window:
        return tuple(parts.get(k, part) for k, part in enumerate(window))

    roles = range(len(window))
    return [
        window,
        *(changed({k: part}) for k in roles for part in narrower[k]),
        *(changed({k: part}) for k in roles for part in moved[k]),
        *(changed({a: w, b: n}) for a in roles for b in roles if a != b for w in wider[a] for n in narrower[b]),
    ]


def lower_bound(ix: Index, lp: WindowModel, cost: int, deadline: float) -> int | None:
    """A proven lower bound of every roster's cost (at most `cost`), None if it could not be finished by the
    deadline. A roster that costs less than `cost` has spreads whose price alone is less; for each such pair
    of spreads the linear program with the windows' bottoms free bounds its assignment costs. A narrower
    spread of one role with the others' the same has no roster where a wider one had none."""
    weight = R.weights(ix.problem.rules)["role_spread"]
    roles = sorted(lp.bottom)
    most = (cost - 1) // weight  # spreads summing to more cost at least `cost` by themselves
    best = cost

    def widths(k: int, left: int):
        if k == len(roles):
            yield ()
            return
        for width in range(left, -1, -1):
            yield from (((roles[k], width), *rest) for rest in widths(k + 1, left - width))

    empty: set[tuple] = set()  # spreads with no roster: so are all narrower ones
    for combo in widths(0, most):
        if any(all(w <= e for (_, w), (_, e) in zip(combo, gone, strict=True)) for gone in empty):
            continue
        left = deadline - time.perf_counter()
        if left < MIN_SECONDS / 5:
            return None
        value = lp.least_with_spreads(dict(combo), left)
        if value is None:
            return None
        if value == math.inf:
            empty.add(combo)
            continue
        best = min(best, weight * sum(w for _, w in combo) + math.ceil(value - WHOLE))
    return best


def descend(
    ix: Index, chosen: set[Pair], cost: int, deadline: float, cost_of, record=None, lp: WindowModel | None = None
) -> tuple[set[Pair], int, int]:
    """Rosters from better windows until none can beat the roster or the deadline: (roster, its cost, how
    many windows the linear program priced). The first window of `neighbours` whose price can beat the
    roster is solved; a roster it gives that is better is taken at once and the walk goes on from there.
    `chosen` need not be complete (its cost then counts the places it leaves open). `cost_of(pairs)` is the
    whole roster's cost; `record(cost)` hears of each better roster."""
    if deadline - time.perf_counter() < MIN_SECONDS:
        return chosen, cost, 0
    lp = lp or WindowModel(ix, "GLOP")
    mip: WindowModel | None = None
    priced: dict[Window, tuple[float, set[Pair] | None]] = {}  # window -> (least cost, whole roster or None)
    tried: set[Window] = set()
    better = True
    while better:
        better = False
        for window in neighbours(window_of(ix, chosen)):
            if window in tried:
                continue
            if deadline - time.perf_counter() < MIN_SECONDS:
                return chosen, cost, len(priced)
            if window not in priced:
                value, whole = lp.solve(window, deadline - time.perf_counter())
                priced[window] = (math.inf if value is None else value, whole)
            value, roster = priced[window]
            if value == math.inf or spread_cost(ix, window) + math.ceil(value - WHOLE) >= cost:
                continue
            tried.add(window)
            if roster is None:
                if not lp.values or lp.window != window:  # priced before another window: solved again
                    lp.solve(window, deadline - time.perf_counter())
                mip = mip or WindowModel(ix, "SCIP")
                roster = mip.round(window, lp.values, deadline, math.ceil(value - WHOLE)) if lp.values else None
            if roster is not None and (new_cost := cost_of(roster)) < cost:
                chosen, cost, better = roster, new_cost, True
                if record is not None:
                    record(cost)
                break
    return chosen, cost, len(priced)
