"""The CP-SAT model of a patrol roster: one constraint family per function, soft rules weighted from rules.SOFT_RULES.

Variables exist only for (volunteer, shift) pairs the index found eligible, so availability, team, grid and
other duties never appear as constraints.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from . import rules as R
from .index import Index

Pair = tuple[int, int]  # (volunteer position, shift position)


@dataclass
class Built:
    ix: Index
    soft: bool
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    x: dict[Pair, cp_model.IntVar] = field(default_factory=dict)
    by_vol: list[list[int]] = field(default_factory=list)  # volunteer -> shifts with a variable
    cost_vars: list = field(default_factory=list)
    cost_coeffs: list[int] = field(default_factory=list)
    hints: list = field(default_factory=list)  # (var, function(HintContext) -> int)
    constant: int = 0
    groups: list[list[int]] = field(default_factory=list)  # interchangeable volunteers (break_symmetry)
    spread: dict[str, tuple] = field(default_factory=dict)  # role -> (top, bottom) of (shifts - target)

    def cost(self, var, coeff: int) -> None:
        if coeff:
            self.cost_vars.append(var)
            self.cost_coeffs.append(coeff)

    def load(self, vi: int):
        return cp_model.LinearExpr.Sum([self.x[vi, si] for si in self.by_vol[vi]])

    def slot_vars(self, vi: int) -> dict[int, list]:
        out: dict[int, list] = defaultdict(list)
        for si in self.by_vol[vi]:
            out[self.ix.slot_of[si]].append(self.x[vi, si])
        return out


class HintContext:
    """What the auxiliary variables' hints are computed from: one candidate roster."""

    def __init__(self, ix: Index, chosen: set[Pair]):
        self.load = [0] * len(ix.volunteers)
        self.slots: list[set[int]] = [set() for _ in ix.volunteers]
        self.weekend_weeks: list[set[int]] = (
            [set(f) for f in ix.weekend_fixed] if ix.weekend_fixed else [set() for _ in ix.volunteers]
        )
        self.crew: list[list[int]] = [[] for _ in ix.shifts]
        self.chosen = chosen
        for vi, si in chosen:
            t = ix.slot_of[si]
            self.load[vi] += 1
            self.slots[vi].add(t)
            if R.is_weekend(ix.shifts[si]):
                self.weekend_weeks[vi].add(ix.week_of_slot[t])
            self.crew[si].append(vi)


def build(
    ix: Index,
    soft: bool,
    allowed: set[Pair] | None = None,
    forced: set[Pair] = frozenset(),
    change_cost: dict[Pair, int] | None = None,
) -> Built:
    """The whole model. `allowed` limits the variables (others are 0), `forced` fixes some to 1, and
    `change_cost` adds a cost for flipping a pair away from a previous roster (repair)."""
    b = Built(ix, soft)
    w = R.weights(ix.problem.rules)
    m = b.model
    b.by_vol = [[] for _ in ix.volunteers]
    for vi, shifts in enumerate(ix.eligible):
        for si in shifts:
            if allowed is None or (vi, si) in allowed:
                b.x[vi, si] = m.NewBoolVar("")
                b.by_vol[vi].append(si)
    for p in ix.pinned | set(forced):
        if p in b.x:
            m.Add(b.x[p] == 1)
    add_coverage(b, w)
    add_rest(b)
    add_weekly_cap(b)
    add_fair_load(b, w)
    add_assignment_costs(b, w)
    add_partners(b, w)
    add_weekend_streak(b, w)
    add_close_shifts(b, w)
    if change_cost:
        add_change_cost(b, change_cost)
    m.Minimize(cp_model.LinearExpr.WeightedSum(b.cost_vars, b.cost_coeffs) + b.constant)
    return b


def add_coverage(b: Built, w: dict[str, int]) -> None:
    """Between min and max patrollers per shift, and the leaders it needs (soft mode: shortages cost)."""
    ix, m = b.ix, b.model
    crew: list[list] = [[] for _ in ix.shifts]
    leaders: list[list] = [[] for _ in ix.shifts]
    for (vi, si), var in b.x.items():
        crew[si].append(var)
        if ix.volunteers[vi].leader:
            leaders[si].append(var)
    for si, s in enumerate(ix.shifts):
        total = cp_model.LinearExpr.Sum(crew[si])
        m.Add(total <= s.max_patrollers)
        if b.soft:
            short = m.NewIntVar(0, s.min_patrollers, "")
            m.Add(total + short >= s.min_patrollers)
            b.cost(short, w["uncovered_place"])
            b.hints.append((short, lambda h, si=si, need=s.min_patrollers: max(0, need - len(h.crew[si]))))
        else:
            m.Add(total >= s.min_patrollers)
        need = s.leaders_needed
        if need == 1 and b.soft:
            missing = m.NewBoolVar("")
            m.AddBoolOr(leaders[si] + [missing])
            b.cost(missing, w["missing_leader"])
            b.hints.append((missing, lambda h, si=si: int(not any(ix.volunteers[v].leader for v in h.crew[si]))))
        elif need == 1:
            m.AddBoolOr(leaders[si])
        elif need and b.soft:
            missing = m.NewIntVar(0, need, "")
            m.Add(cp_model.LinearExpr.Sum(leaders[si]) + missing >= need)
            b.cost(missing, w["missing_leader"])
            b.hints.append(
                (missing, lambda h, si=si, k=need: max(0, k - sum(ix.volunteers[v].leader for v in h.crew[si])))
            )
        elif need:
            m.Add(cp_model.LinearExpr.Sum(leaders[si]) >= need)


def add_rest(b: Built) -> None:
    """One shift at a time, and at least the volunteer's minimum rest between two shifts."""
    ix, m = b.ix, b.model
    for vi in range(len(ix.volunteers)):
        slots = b.slot_vars(vi)
        for vars_ in slots.values():
            if len(vars_) > 1:
                m.AddAtMostOne(vars_)
        for t1, t2 in ix.conflicts[ix.rest_of(vi)]:
            if t1 in slots and t2 in slots:
                m.AddAtMostOne(slots[t1] + slots[t2])


def add_weekly_cap(b: Built) -> None:
    """At most the volunteer's cap per week, and their personal cap over the period."""
    ix, m = b.ix, b.model
    for vi, v in enumerate(ix.volunteers):
        per_week: dict[int, list] = defaultdict(list)
        for si in b.by_vol[vi]:
            per_week[ix.week_of_slot[ix.slot_of[si]]].append(b.x[vi, si])
        for week, vars_ in per_week.items():
            cap = ix.week_cap(vi, week)
            if len(vars_) > cap:
                m.Add(cp_model.LinearExpr.Sum(vars_) <= cap)
        if v.max_shifts is not None and len(b.by_vol[vi]) > v.max_shifts:
            m.Add(b.load(vi) <= v.max_shifts)


def add_fair_load(b: Built, w: dict[str, int]) -> None:
    """|shifts - own target| per volunteer, and the spread of (shifts - target) within each role."""
    ix, m = b.ix, b.model
    spread: dict[str, tuple] = {}
    for role in ("leader", "patroller"):
        members = [
            vi for vi, v in enumerate(ix.volunteers) if R.role(v) == role and (ix.fair_for is None or vi in ix.fair_for)
        ]
        if not members:
            continue
        floor = ix.spread_floor.get(role)
        lo = min(-ix.targets[ix.volunteers[vi].id] for vi in members)
        hi = max(len(b.by_vol[vi]) - ix.targets[ix.volunteers[vi].id] for vi in members)
        if floor:
            lo, hi = min(lo, floor[1]), max(hi, floor[0])
        top, bottom = m.NewIntVar(lo, hi, ""), m.NewIntVar(lo, hi, "")
        if floor:  # volunteers outside this part of the roster keep their loads
            m.Add(top >= floor[0])
            m.Add(bottom <= floor[1])
        b.cost(top, w["role_spread"])
        b.cost(bottom, -w["role_spread"])
        spread[role] = b.spread[role] = (top, bottom)
        diffs = _role_diffs(ix, members, list(floor) if floor else [])
        b.hints.append((top, lambda h, d=diffs: max(d(h))))
        b.hints.append((bottom, lambda h, d=diffs: min(d(h))))
    for vi, v in enumerate(ix.volunteers):
        if ix.fair_for is not None and vi not in ix.fair_for:
            continue
        target = ix.targets[v.id]
        load = b.load(vi)
        # in a part of the roster the target is what is left of it, below 0 for someone already over it
        dev = m.NewIntVar(0, len(b.by_vol[vi]) + abs(target), "")
        m.Add(dev >= load - target)
        m.Add(dev >= target - load)
        b.cost(dev, w["fair_load"])
        b.hints.append((dev, lambda h, vi=vi, t=target: abs(h.load[vi] - t)))
        if spread:
            top, bottom = spread[R.role(v)]
            m.Add(load - target <= top)
            m.Add(load - target >= bottom)


def _role_diffs(ix: Index, members: list[int], outside: list[int]):
    """For hints: (shifts - target) of a role's members, plus the extremes outside a part of the roster."""
    targets = [ix.targets[ix.volunteers[vi].id] for vi in members]
    return lambda h: outside + [h.load[vi] - t for vi, t in zip(members, targets, strict=True)]


def add_assignment_costs(b: Built, w: dict[str, int]) -> None:
    """Away from the home grid, and not on a preferred day or time: a cost on the assignment itself."""
    ix = b.ix
    for (vi, si), var in b.x.items():
        b.cost(var, R.place_cost(w, ix.volunteers[vi], ix.shifts[si]) + ix.extra_cost.get((vi, si), 0))


def add_partners(b: Built, w: dict[str, int]) -> None:
    """Each shift one partner patrols without the other: load_a + load_b - 2 x shifts together."""
    ix, m = b.ix, b.model
    for a_id, b_id in R.partner_pairs(ix.problem):
        if a_id not in ix.vpos or b_id not in ix.vpos:
            continue  # a part of the roster (lns.restrict) prices this pair through extra_cost
        va, vb = ix.vpos[a_id], ix.vpos[b_id]
        for vi in (va, vb):
            for si in b.by_vol[vi]:
                b.cost(b.x[vi, si], w["partner_apart"])
        for si in set(b.by_vol[va]) & set(b.by_vol[vb]):
            together = m.NewBoolVar("")
            m.AddImplication(together, b.x[va, si])
            m.AddImplication(together, b.x[vb, si])
            b.cost(together, -2 * w["partner_apart"])
            b.hints.append((together, lambda h, p=((va, si), (vb, si)): int(p[0] in h.chosen and p[1] in h.chosen)))


def add_weekend_streak(b: Built, w: dict[str, int]) -> None:
    """A cost for every window of max_weekends_in_row + 1 weekends in a row that are all worked."""
    ix, m = b.ix, b.model
    span = ix.problem.rules.max_weekends_in_row + 1
    weeks = [ix.weeks.index(wk) for wk in R.weekend_weeks(ix.problem)]
    for vi in range(len(ix.volunteers)):
        worked: dict[int, list] = defaultdict(list)
        for si in b.by_vol[vi]:
            if R.is_weekend(ix.shifts[si]):
                worked[ix.week_of_slot[ix.slot_of[si]]].append(b.x[vi, si])
        flags = {}
        for wk in ix.weekend_fixed[vi] if ix.weekend_fixed else ():
            flags[wk] = m.NewConstant(1)
            worked.setdefault(wk, [])
        for i in range(len(weeks) - span + 1):
            window = weeks[i : i + span]
            if not all(wk in worked for wk in window):
                continue
            for wk in window:
                if wk not in flags:
                    flags[wk] = m.NewBoolVar("")
                    for var in worked[wk]:
                        m.AddImplication(var, flags[wk])
                    b.hints.append((flags[wk], lambda h, vi=vi, wk=wk: int(wk in h.weekend_weeks[vi])))
            streak = m.NewBoolVar("")
            m.Add(cp_model.LinearExpr.Sum([flags[wk] for wk in window]) - streak <= span - 1)
            b.cost(streak, w["weekend_streak"])
            b.hints.append(
                (streak, lambda h, vi=vi, win=tuple(window): int(all(k in h.weekend_weeks[vi] for k in win)))
            )


def add_close_shifts(b: Built, w: dict[str, int]) -> None:
    """A cost for each pair of a volunteer's shifts starting less than close_hours apart."""
    ix, m = b.ix, b.model
    if not w["close_shifts"]:
        return
    for vi in range(len(ix.volunteers)):
        slots = b.slot_vars(vi)
        conflict = ix.conflict_set(ix.rest_of(vi))
        for t1, t2 in ix.close_pairs:
            if t1 in slots and t2 in slots and (t1, t2) not in conflict:
                both = m.NewBoolVar("")
                m.Add(cp_model.LinearExpr.Sum(slots[t1] + slots[t2]) - both <= 1)
                b.cost(both, w["close_shifts"])
                b.hints.append((both, lambda h, vi=vi, t1=t1, t2=t2: int(t1 in h.slots[vi] and t2 in h.slots[vi])))


def add_change_cost(b: Built, change_cost: dict[Pair, int]) -> None:
    """Repair: keeping a previous assignment is free, dropping it or adding a new one costs."""
    for p, var in b.x.items():
        c = change_cost.get(p)
        if c is None:
            continue
        if c > 0:  # a new assignment
            b.cost(var, c)
        else:  # a previous assignment: cost -c when it is dropped, i.e. -c - (-c) x
            b.constant += -c
            b.cost(var, c)


def set_hint(b: Built, chosen: set[Pair]) -> int:
    """Hint every variable from one candidate roster, so CP-SAT starts from a complete solution.
    Returns the model's objective at that roster."""
    chosen = canonical(b, chosen)
    value = _values(b, chosen)
    m = b.model
    m.ClearHints()
    for var in list(b.x.values()) + [var for var, _ in b.hints]:
        m.AddHint(var, value[var.Index()])
    return _objective(b, value)


def objective_of(b: Built, chosen: set[Pair]) -> int:
    """The model's objective at a roster, with every auxiliary variable at its tightest value."""
    return _objective(b, _values(b, chosen))


def spread_of(b: Built, chosen: set[Pair]) -> tuple[int, dict[str, tuple[int, int]]]:
    """objective_of, and each role's (top, bottom) of shifts - target at the roster."""
    value = _values(b, chosen)
    return _objective(b, value), {r: (value[t.Index()], value[u.Index()]) for r, (t, u) in b.spread.items()}


def _values(b: Built, chosen: set[Pair]) -> dict[int, int]:
    h = HintContext(b.ix, chosen)
    value = {var.Index(): int(p in chosen) for p, var in b.x.items()}
    for var, fn in b.hints:
        value[var.Index()] = fn(h)
    return value


def _objective(b: Built, value: dict[int, int]) -> int:
    return b.constant + sum(c * value[v.Index()] for v, c in zip(b.cost_vars, b.cost_coeffs, strict=True))


def symmetric_groups(ix: Index) -> list[list[int]]:
    """Volunteers nobody could tell apart: same eligibility, caps, target, preferences and no partners."""
    pinned = {vi for vi, _ in ix.pinned}
    groups: dict[tuple, list[int]] = defaultdict(list)
    for vi, v in enumerate(ix.volunteers):
        if v.partners or vi in pinned or not ix.eligible[vi]:
            continue
        key = (
            tuple(ix.eligible[vi]),
            v.home_grid,
            v.leader,
            ix.weekly_cap[vi],
            v.max_shifts,
            ix.targets[v.id],
            v.preferred_days,
            v.preferred_kinds,
            ix.rest_of(vi),
        )
        groups[key].append(vi)
    return [g for g in groups.values() if len(g) > 1]


def break_symmetry(b: Built) -> None:
    """Within a group of interchangeable volunteers, loads are non-increasing in index order."""
    b.groups = symmetric_groups(b.ix)
    for group in b.groups:
        for first, second in zip(group, group[1:], strict=False):
            b.model.Add(b.load(first) >= b.load(second))


def canonical(b: Built, chosen: set[Pair]) -> set[Pair]:
    """The same roster with interchangeable volunteers relabelled to satisfy break_symmetry."""
    groups = b.groups
    if not groups:
        return chosen
    mine: dict[int, list[int]] = defaultdict(list)
    for vi, si in chosen:
        mine[vi].append(si)
    members = {vi for g in groups for vi in g}
    out = {(vi, si) for vi, si in chosen if vi not in members}
    for group in groups:
        rosters = sorted((mine.get(vi, []) for vi in group), key=len, reverse=True)
        for vi, shifts in zip(group, rosters, strict=True):
            out |= {(vi, si) for si in shifts}
    return out
