"""Separate grids joined by the role spread: the spread priced per grid (a Lagrangian relaxation).

When nobody may patrol outside their home grid (how the service rosters unless `neighbour_grids` is on or
volunteers have extra grids), a roster is one problem per grid, joined only by the role spread: the spread of
(shifts - target) among all volunteers of a role, whatever their grid. Each grid is small enough for one
CP-SAT worker to solve to optimality in 0.1-0.4 s, so the spread is priced rather than solved: within a role,
group g (a grid, or the volunteers no shift is open to) pays mu_g per unit of its own top (its largest
shifts - target) and earns nu_g per unit of its own bottom, the mu of a role summing to the spread's weight w,
and so the nu. Since w (top - bottom) >= sum_g mu_g top_g - nu_g bottom_g, for any prices
- the grids are separate problems again, and the sum of their bounds is a lower bound on every roster;
- every round of grid solves is a complete roster, and the grids' rosters of all rounds combine into the
  cheapest roster they make together (`combine`: for every band of tops and bottoms, the cheapest roster
  each grid has within it).
The prices follow the subgradient (grids whose top is highest pay more, grids whose bottom is lowest earn
more) round after round until the deadline or the gap. On the Guanyinli month with everyone in their home
grid (2 cores): a first roster at 0.6-0.7 s (each grid's first solution), 462 against a bound of 459-460
(gap 0.4-0.6 %) at 10 s, where re-solving pairs of grids with the spread priced exactly ended at 472-482 and
lb-tree-search on the whole model proved 442-460; ten times that size: 6160 against 6127 at 60 s.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from . import cpmodel, lns
from . import rules as R
from .index import Index

Pair = tuple[int, int]
SCALE = 100  # costs are multiplied by SCALE, so that a role's weight splits among grids in whole numbers
FIRST_STEP = 0.1  # of the spread's weight moved per unit of top or bottom in the first round
STEP_DECAY = 0.8  # each round's step is this share of the last
IDLE = -1  # the group of volunteers no shift is open to: their loads are 0, their tops and bottoms fixed


def separate(ix: Index) -> bool:
    """Whether every volunteer may patrol only in their home grid, which makes the grids separate problems."""
    return all(ix.shifts[si].grid == v.home_grid for vi, v in enumerate(ix.volunteers) for si in ix.eligible[vi])


@dataclass(frozen=True)
class Candidate:
    """One roster of one grid: its own cost (the role spread left out) and its (shifts - target) range."""

    cost: int
    top: dict[str, int]  # role -> largest shifts - target among the grid's volunteers of that role
    bottom: dict[str, int]  # role -> smallest
    pairs: frozenset[Pair]  # (volunteer, shift) positions of the whole roster

    def within(self, band: dict[str, tuple[int, int]]) -> bool:
        return all(self.top[r] <= band[r][0] and self.bottom[r] >= band[r][1] for r in self.top)


@dataclass
class Grid:
    """A grid as a problem of its own, and the rosters found for it round after round."""

    key: int  # the grid
    part: Index
    vols: list[int]
    shifts: list[int]
    allowed: set[Pair]
    roles: set[str]
    candidates: list[Candidate] = field(default_factory=list)
    last: set[Pair] = field(default_factory=set)  # the part's pairs found last round: the next round's hint


@dataclass
class Priced:
    chosen: set[Pair]
    cost: int  # the whole roster's true cost (rules.evaluate)
    bound: int  # a lower bound on every roster
    rounds: int


def price_grids(
    ix: Index,
    soft: bool,
    deadline: float,
    watch=None,
    threads: int = 2,
    seconds: float = 1.0,
    rounds: int | None = None,
) -> Priced | None:
    """The best roster of separate grids (see `separate`) found by pricing the role spread until the
    deadline, with the best bound the prices proved. None when a grid's own volunteers cannot cover it, or
    when the deadline comes before every grid has a roster.

    A `watch` (solver.Watch) hears of every better roster and of the bound; the rounds end early once the
    roster is within its stop_gap of the bound. `rounds` caps the rounds of pricing: with grid solves that
    close within `seconds`, a budget that gives the same roster on a slow or busy machine as on a fast one."""
    weight = R.weights(ix.problem.rules)["role_spread"] * SCALE
    grids = _grids(ix)
    fixed = _idle_range(ix)
    roles = sorted(set(fixed).union(*(g.roles for g in grids.values())))
    groups = {r: [k for k, g in grids.items() if r in g.roles] + ([IDLE] if r in fixed else []) for r in roles}
    mu = {r: dict.fromkeys(groups[r], weight / len(groups[r])) for r in roles}
    nu = {r: dict.fromkeys(groups[r], weight / len(groups[r])) for r in roles}
    step = FIRST_STEP * weight
    best: Priced | None = None
    # round -1 sketches a first roster in well under a second: each grid's first solution at the first prices
    for round_ in itertools.count(-1):
        sketch = round_ < 0
        if not sketch and (deadline - time.perf_counter() < 0.05 or (rounds is not None and round_ >= rounds)):
            break
        prices = {r: (_whole(mu[r], weight), _whole(nu[r], weight)) for r in roles}
        try:
            found = lns.side_by_side(
                lambda k, p=prices, n=round_, first=sketch: _solve(
                    grids[k], soft, p, min(seconds, deadline - time.perf_counter()), max(n, 0), first
                ),
                list(grids),
                threads,
            )
        except Uncoverable:
            return None
        if not all(g.candidates for g in grids.values()):
            if sketch:
                continue
            return None  # the deadline came before every grid had a roster
        _, chosen = combine(list(grids.values()), fixed, weight // SCALE)
        cost = lns.roster_cost(ix, chosen)
        complete = all(f is not None for f in found)  # else the deadline came within the round
        bound = math.ceil(_priced(found, prices, fixed) / SCALE - 1e-6) if complete else -math.inf
        if best is None or cost < best.cost:
            best = Priced(chosen, cost, max(bound, best.bound if best else 0), round_ + 1)
        else:
            best = replace(best, bound=max(best.bound, bound), rounds=round_ + 1)
        if watch is not None:
            watch.own_bound = max(watch.own_bound, best.bound)
            watch.record(best.cost)
        gap = 0.0 if best.cost <= 0 else (best.cost - best.bound) / best.cost
        if not complete or best.bound >= best.cost or (watch is not None and watch.stop_gap and gap <= watch.stop_gap):
            break
        if sketch:
            continue  # round 0 solves every grid at the same prices
        latest = dict(zip(grids, (c for c, _ in found), strict=True))
        for r in roles:
            tops = {k: fixed[r][0] if k == IDLE else latest[k].top[r] for k in groups[r]}
            bottoms = {k: fixed[r][1] if k == IDLE else latest[k].bottom[r] for k in groups[r]}
            mu[r] = dict(zip(groups[r], _project([mu[r][k] + step * tops[k] for k in groups[r]], weight), strict=True))
            nu[r] = dict(
                zip(groups[r], _project([nu[r][k] - step * bottoms[k] for k in groups[r]], weight), strict=True)
            )
        step *= STEP_DECAY
    return best


class Uncoverable(Exception):
    """A grid's own volunteers cannot cover its shifts (CP-SAT proved it)."""


def _priced(found, prices, fixed: dict[str, tuple[int, int]]) -> float:
    """The round's bound x SCALE: the grids' bounds, and what the idle volunteers' fixed range costs."""
    return sum(b for _, b in found) + sum(
        prices[r][0][IDLE] * fixed[r][0] - prices[r][1][IDLE] * fixed[r][1] for r in fixed
    )


def combine(grids: list[Grid], fixed: dict[str, tuple[int, int]], weight: int) -> tuple[int, set[Pair]]:
    """The cheapest roster made of one candidate per grid: for every band (per role, the largest top and
    smallest bottom allowed), each grid's cheapest candidate within it, plus `weight` (the role spread's)
    times the band's width. Returns that cost and the roster's pairs."""
    roles = sorted(set(fixed).union(*(g.roles for g in grids)))
    tops: dict[str, set[int]] = defaultdict(set)
    bottoms: dict[str, set[int]] = defaultdict(set)
    for c in (c for g in grids for c in g.candidates):
        for r in c.top:
            tops[r].add(c.top[r])
            bottoms[r].add(c.bottom[r])
    for r, (top, bottom) in fixed.items():
        tops[r].add(top)
        bottoms[r].add(bottom)
    floor = sum(min(c.cost for c in g.candidates) for g in grids)
    best: tuple[int, list[Candidate]] | None = None
    for limits in itertools.product(*(itertools.product(sorted(tops[r]), sorted(bottoms[r])) for r in roles)):
        band = dict(zip(roles, limits, strict=True))
        if any(top < bottom for top, bottom in limits) or any(
            fixed[r][0] > band[r][0] or fixed[r][1] < band[r][1] for r in fixed
        ):
            continue
        total = weight * sum(top - bottom for top, bottom in limits)
        if best is not None and floor + total >= best[0]:
            continue
        picks = []
        for g in grids:
            fits = [c for c in g.candidates if c.within(band)]
            if not fits:
                break
            picks.append(min(fits, key=lambda c: c.cost))
            total += picks[-1].cost
        else:
            if best is None or total < best[0]:
                best = total, picks
    assert best is not None, "the band of every round's own roster fits it"
    return best[0], set().union(*(c.pairs for c in best[1]))


def _grids(ix: Index) -> dict[int, Grid]:
    by_grid = lns.shifts_by_grid(ix)
    rules = ix.problem.rules
    no_spread = replace(ix.problem, rules=replace(rules, weights={**rules.weights, "role_spread": 0}))
    out = {}
    for g in sorted(by_grid, key=lambda g: -len(by_grid[g])):  # the largest first: they take longest
        part, vols, shifts, allowed = lns.home_part(ix, g, by_grid[g])
        part.problem = no_spread  # priced here instead
        roles = {R.role(part.volunteers[pi]) for pi in part.fair_for}
        out[g] = Grid(g, part, vols, shifts, allowed, roles)
    return out


def _idle_range(ix: Index) -> dict[str, tuple[int, int]]:
    """Per role, (top, bottom) of shifts - target among volunteers with no shift open to them."""
    diffs: dict[str, list[int]] = defaultdict(list)
    for vi, v in enumerate(ix.volunteers):
        if not ix.eligible[vi]:
            diffs[R.role(v)].append(-ix.targets[v.id])
    return {r: (max(d), min(d)) for r, d in diffs.items()}


def _solve(
    grid: Grid, soft: bool, prices, seconds: float, seed: int, sketch: bool = False
) -> tuple[Candidate, float] | None:
    """The grid's best roster at these prices, and the bound on its priced cost (x SCALE); None when time ran
    out first, Uncoverable when there is none. A `sketch` is the first roster found, not the next hint."""
    if seconds <= 0:
        return None  # the deadline came before this grid's turn
    built = cpmodel.build(grid.part, soft, allowed=grid.allowed)
    objective = SCALE * (cp_model.LinearExpr.WeightedSum(built.cost_vars, built.cost_coeffs) + built.constant)
    for r, (top, bottom) in built.spread.items():
        objective += prices[r][0][grid.key] * top - prices[r][1][grid.key] * bottom
    built.model.Minimize(objective)
    for p, var in built.x.items() if grid.last else ():
        built.model.AddHint(var, p in grid.last)
    solver = lns.part_solver(seconds, seed)
    solver.parameters.stop_after_first_solution = sketch
    status = solver.Solve(built.model)
    if status == cp_model.INFEASIBLE:
        raise Uncoverable(f"grid {grid.key}")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen = {p for p, var in built.x.items() if solver.BooleanValue(var)}
    if not sketch:
        grid.last = chosen
    cost, band = cpmodel.spread_of(built, chosen)
    pairs = frozenset((grid.vols[pi], grid.shifts[si]) for pi, si in chosen)
    candidate = Candidate(cost, {r: t for r, (t, _) in band.items()}, {r: u for r, (_, u) in band.items()}, pairs)
    if candidate not in grid.candidates:
        grid.candidates.append(candidate)
    return candidate, solver.BestObjectiveBound()


def _whole(prices: dict[int, float], total: int) -> dict[int, int]:
    """Prices rounded to whole numbers that still sum to `total` (largest remainders round up)."""
    out = {k: math.floor(p) for k, p in prices.items()}
    short = total - sum(out.values())
    for k in sorted(prices, key=lambda k: out[k] - prices[k])[:short]:
        out[k] += 1
    return out


def _project(values: list[float], total: float) -> list[float]:
    """The point nearest `values` with no negative entry and entries summing to `total`."""
    ordered = sorted(values, reverse=True)
    shift, running = 0.0, 0.0
    for i, u in enumerate(ordered, 1):
        running += u
        t = (running - total) / i
        if u - t > 0:
            shift = t
    return [max(0.0, v - shift) for v in values]
