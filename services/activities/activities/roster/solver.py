"""Build a patrol roster: capacity check, greedy warm start, CP-SAT search, and a result in plain data.

`solve` is pure and thread-safe (no shared state), so a service can run it in eventlet.tpool. From
BLOCK_MIN_GRIDS grids on it runs `num_workers` OS threads of its own (real ones also where eventlet has
patched threading), all ended before it returns.

The search, from BLOCK_MIN_GRIDS grids on (by_grid):
1. the greedy roster (scarcest shift first), or each grid's own roster where volunteers mostly stay home;
   where the objective is the role spread plus costs of single assignments (every patrol-roster/1 month), the
   roster of the best load window of each role, by linear programs (windows.py), which also covers places
   the greedy left open; from LONG_LIMIT seconds on they also prove a bound by the spreads, and a roster they
   prove optimal is the answer at once;
2. the loads of each role levelled by min-cost-flow transfers and each slot's grids re-decided (flows.py):
   the role spread falls only when all of a role's top (or bottom) move at once;
3. blocks re-solved by CP-SAT, the rest of the roster fixed (lns.py): neighbouring grids, and where volunteers
   range widely also days of every grid and the blocks that hold a role's extremes; step 2 between sweeps;
4. from FINISH_MIN_LIMIT seconds on, up to BOUND_MAX_PAIRS pairs, CP-SAT's own search on the whole model from
   that roster for the last part of the time (more of it the smaller the model).
Whatever cannot end by the time limit is not started (the bound worker, a block's model, the suggestions);
the largest months keep their limit with the greedy roster alone.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace

from ortools.sat.python import cp_model

from . import bounds, cpmodel, flows, lns, spread, windows, wording
from . import rules as R
from .explain import relaxations, without_roster
from .greedy import greedy, polish
from .index import Index
from .model import Assignment, Options, Problem, Progress, RosterResult
from .report import find_gaps, make_report

log = logging.getLogger(__name__)

# From BLOCK_MIN_GRIDS grids on, the roster is made grid by grid from each grid's own volunteers (every grid
# solved to optimality) and then improved by re-solving two neighbouring grids at a time, where visitors can
# even out the loads. On the Guanyinli month (2 cores): 472 after 2.6-3.4 s, 419-435 at 10 s and 407 at 30 s,
# where CP-SAT's own search over the whole model from the polished greedy roster ended at 730-860 at 10 s
# and 408 after 300 s. Parts of one grid cannot move load between grids; parts of three close less often.
# When nobody may patrol outside their home grid (the service's default) the grids are separate problems
# but for the role spread, which spread.py prices instead: 462 with bound 459-460 (gap 0.4-0.6 %) at 10 s
# on that month, where the pairs of grids ended at 472-482 and lb-tree-search proved 442-460.
BLOCK_MIN_GRIDS = 4
BLOCK_SECONDS = 1.0  # per block; a block of two grids mostly closes within it
BLOCK_SIZES = (2,)  # grids per block, sweep after sweep
BLOCK_DAYS = 2  # where volunteers range widely (ROAMING), sweeps of blocks of this many days of every grid too
SUGGEST_MAX_PAIRS = 20_000
GREEDY_GRACE = 0.5  # seconds beyond its share: at the largest sizes a 1 s limit is all greedy
GREEDY_SHARE = 0.7  # of the time limit, at most, before the greedy stops freeing places up
LEVEL_SHARE = 0.25  # of the time limit, at most, for each levelling of the loads (flows.level_out)
ROAMING = 0.5  # above this share of eligible pairs away from home, no roster of home grids is tried first
# The bound worker builds the whole model before it can be stopped: above this many pairs it would hold the
# time limit (3,000 volunteers: 167-333 s for a 60 s limit, 14 GB), so the counting bound stands alone.
BOUND_MAX_PAIRS = 60_000
BOUND_MIN_LIMIT = 5.0  # below this its model (built before it can be stopped) would take the time limit
# From FINISH_MIN_LIMIT seconds on (and at most BOUND_MAX_PAIRS pairs) the last part of the time goes to
# CP-SAT's own search on the whole model from the blocks' roster (whole()): (pairs at most, share of the
# time limit). The smaller the model, the more CP-SAT's own search gains over the blocks' (family months at
# 10 s: 120 volunteers, 7,500 pairs: 127-144 with a share of 0.5-0.8, 227 with none; 1,000 volunteers,
# 37,000 pairs: 1,943 with 0.5, 1,651 with none).
FINISH_MIN_LIMIT = 5.0
FINISH_SHARES = ((10_000, 0.6), (25_000, 0.5), (BOUND_MAX_PAIRS, 0.2))
# From LONG_LIMIT seconds on CP-SAT's own search gains most from the time: at 60 s the month of 300 volunteers
# with 10 of 15 grids short of their own (m300-l30-u10) ended at 798 with a share of 0.5, at 733 with 0.8.
LONG_LIMIT = 30.0
LONG_FINISH_SHARES = ((25_000, 0.8), (BOUND_MAX_PAIRS, 0.4))
# The warm start's local search (single moves, then swaps of shifts between two volunteers) takes the greedy
# roster of the Guanyinli month from 3352 to about 1900 in 0.9 s, 1050 in 2 s and 990 in 5 s (its local
# optimum) on this 2-core machine: far faster than CP-SAT's search from a worse start, which needs about
# 30 s for 1000. At 10 s a 3 s polish ended at 820-870 where 0.9 s ended at 1450-1550.
POLISH_SECONDS = 3.0  # per POLISH_PAIRS eligible pairs, at most POLISH_SHARE of the time limit and POLISH_MAX
POLISH_PAIRS = 6_000
POLISH_SHARE = 0.3
POLISH_MAX = 6.0  # ten times the Guanyinli size did worse with 18 s than with 6 s
# Where the objective is the role spread plus costs of single assignments (every patrol-roster/1 month), each
# role's load window is decided by linear programs (windows.py) as soon as there is a complete roster: on the
# family's months of 300 to 3,000 volunteers that beat what the blocks and CP-SAT reached in 60 s within
# 1-15 s (1,000 volunteers: 1,549 -> 1,434 in 7 s). At most this share of the time limit; the model is built
# only when it can be (WINDOW_BUILD seconds a pair, twice what was measured).
WINDOW_SHARE = 0.7
WINDOW_BUILD = 3e-5
# From LONG_LIMIT seconds on, what is left of the windows' share (at most this share of the time limit) proves a
# lower bound by the spreads (windows.lower_bound): m300-l30-u10's roster of 711 proven optimal, where the bound
# worker had reached 656.
WINDOW_BOUND_SHARE = 0.25


class Watch(cp_model.CpSolverSolutionCallback):
    """Records each improving roster and reports it (solutions, objective, bound, gap, elapsed).

    The objective reported is the roster's true cost: auxiliary variables of an intermediate solution need
    not be at their tightest, so it is recomputed from the assignments of `built`. The grid-by-grid search
    reports its rosters through `record` and asks `reached` whether to go on.
    """

    def __init__(self, started: float, own_bound: int, progress: Progress | None, stop_gap: float, built=None):
        super().__init__()
        self.started, self.own_bound, self.progress, self.stop_gap = started, own_bound, progress, stop_gap
        self.built = built
        self.solutions = 0
        self.best: int | None = None
        self.first: float | None = None
        self.trajectory: list[tuple[float, int, int]] = []
        self.reached = False  # within stop_gap of the bound

    def on_solution_callback(self) -> None:
        chosen = {p for p, var in self.built.x.items() if self.BooleanValue(var)}
        self.record(cpmodel.objective_of(self.built, chosen), self.BestObjectiveBound())

    def record(self, objective: int, cp_bound: float = -math.inf) -> None:
        if self.best is not None and objective >= self.best:
            return
        elapsed = time.perf_counter() - self.started
        if self.first is None:
            self.first = elapsed
        else:
            self.solutions += 1
        self.best = objective
        bound = min(objective, max(self.own_bound, math.ceil(cp_bound - 1e-6) if cp_bound > -math.inf else 0))
        gap = _gap(objective, bound)
        self.trajectory.append((elapsed, objective, bound))
        if self.progress is not None:
            try:
                self.progress(self.solutions, objective, bound, gap, elapsed)
            except Exception:  # a failing listener must not stop the search
                log.exception("roster progress callback failed")
        if self.stop_gap and gap <= self.stop_gap and self.solutions:
            self.reached = True  # the grid-by-grid search asks this
            if self.built is not None:
                self.StopSearch()


def _gap(objective: int, bound: int) -> float:
    return 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)


def solve(problem: Problem, options: Options | None = None, progress: Progress | None = None) -> RosterResult:
    """The best roster found within options.time_limit, with its bound, report, gaps and suggestions.
    A roster that cannot be complete, or that the search could not complete in time, comes with its gaps
    marked and `problems` saying why (out of time with no roster at all: the greedy one). Pinned assignments
    the rules forbid (another grid, an unavailable time) are left out, named in `problems` and listed in
    `unkept_pins`."""
    options = options or Options()
    started = time.perf_counter()
    ix = Index.build(problem)
    result = _solve(ix, options, progress, started)
    kept = {(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in ix.pinned}
    unkept = tuple(a for a in problem.pinned if (a.shift_id, a.volunteer_id) not in kept)
    return replace(result, unkept_pins=unkept) if unkept else result


def _solve(ix: Index, options: Options, progress: Progress | None, started: float) -> RosterResult:
    found = bounds.shortages(ix)
    if found and options.coverage == "hard":
        return without_roster(ix, found, "infeasible", started)
    soft = options.coverage == "soft" or bool(found)
    # the greedy roster must leave time to report it, even at the largest sizes
    until = started + GREEDY_SHARE * options.time_limit + GREEDY_GRACE
    hint = greedy(ix, deadline=until) if options.warm_start else set()
    result = run(ix, soft, options, progress, started, hint, found)
    proven = result.status == "infeasible" and not soft
    if proven:
        # the counts fit but the rules together do not: the soft roster shows which shifts stay uncovered
        result = run(ix, True, options, progress, started, hint, found)
    if not result.assignments and result.status in ("infeasible", "unknown"):
        # the search ended without a roster (out of time): the greedy one, with its gaps marked
        result = _greedy_result(ix, hint if hint else greedy(ix), found, started)
    result = _in_words(result, proven, options.time_limit)
    if options.coverage == "hard" and result.gaps:
        return replace(
            result,
            assignments=(),
            status="infeasible" if proven else "unknown",
            objective=None,
            gap=None,
            report=None,
            problems=result.problems + tuple(g.reason for g in result.gaps),
            problems_zh=result.problems_zh + tuple(g.reason_zh for g in result.gaps),
        )
    return result


def _greedy_result(ix: Index, chosen: set[cpmodel.Pair], found: list[bounds.Shortage], started: float):
    """The greedy roster as the answer, when the search found none in its time."""
    watch = Watch(started, 0, None, 0.0)
    watch.record(_cost(ix, chosen))
    return _result(ix, chosen, "feasible", bounds.counting_bound(ix, soft=True), found, started, watch)


def _in_words(result: RosterResult, proven: bool, time_limit: float) -> RosterResult:
    """A roster with gaps says why in `problems`: the capacity problems found before solving or, when the
    counts all fit, that the rules together leave shifts uncovered (proven) or that no complete roster was
    found in the time given."""
    if not result.gaps or result.problems:
        return result
    n = len(result.gaps)
    if proven:
        words = (
            f"every count fits, but the rules together (weekly caps, rest, leaders) cannot cover every shift: "
            f"the roster leaves {n} shift{'s' * (n != 1)} short, marked as gaps"
        )
    else:
        words = (
            f"no complete roster was found within {time_limit:g} s: the roster leaves {n} shift{'s' * (n != 1)} "
            "short, marked as gaps; more time may cover them"
        )
    return replace(result, problems=(words,), problems_zh=(wording.not_covered(n, proven, time_limit),))


def run(
    ix: Index,
    soft: bool,
    options: Options,
    progress: Progress | None,
    started: float,
    hint: set[cpmodel.Pair],
    found: list[bounds.Shortage],
) -> RosterResult:
    """Search from the warm start: grid by grid from BLOCK_MIN_GRIDS grids on (by_grid), otherwise CP-SAT
    over the whole model from the polished greedy roster."""
    own = bounds.relaxation_bound(ix, soft, min(options.bound_seconds, options.time_limit / 2))
    watch = Watch(started, own, progress, options.stop_gap)
    pairs = sum(map(len, ix.eligible))
    deadline = started + options.time_limit - (0.1 + 2e-5 * pairs)  # keep time to read back and report
    warm = hint if hint and (soft or _complete(ix, hint)) else None
    if warm is not None:
        watch.record(_cost(ix, warm))  # solution 0: the greedy warm start is already a roster
    if len({s.grid for s in ix.shifts}) >= BLOCK_MIN_GRIDS:
        result = by_grid(ix, soft, warm, options, watch, own, found, started, deadline, hint)
        if result is not None:
            return result
        own = watch.own_bound  # neither the greedy nor the grids made a roster: the whole model, what time is left
    if warm is None and hint:
        # the greedy left places open: a load window's linear program may cover them
        covered, _ = by_windows(ix, soft, hint, _cost(ix, hint), deadline, watch, options.time_limit)
        warm = covered if _complete(ix, covered) else None
    if warm is not None:
        cost = _cost(ix, warm)
        warm, cost = level(ix, warm, cost, deadline, options.time_limit)
        seconds = min(POLISH_SECONDS * max(1.0, pairs / POLISH_PAIRS), POLISH_SHARE * options.time_limit, POLISH_MAX)
        polished = polish(ix, warm, seconds)
        polished_cost = _cost(ix, polished)
        if polished_cost < cost:  # the polish leaves the role spread out of its sums: it can make things worse
            warm, cost = polished, polished_cost
        watch.record(cost)
        warm, cost = by_windows(ix, soft, warm, cost, deadline, watch, options.time_limit)
        if watch.own_bound >= cost and _complete(ix, warm):  # the windows proved it optimal
            return _result(ix, warm, "optimal", cost, found, started, watch)
    built = cpmodel.build(ix, soft)
    if options.symmetry_breaking:
        cpmodel.break_symmetry(built)
    watch.built = built
    if warm is not None:
        cpmodel.set_hint(built, warm)
        warm = cpmodel.canonical(built, warm)
    elif hint:
        cpmodel.set_hint(built, hint)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = options.num_workers
    solver.parameters.random_seed = options.seed
    solver.parameters.max_time_in_seconds = max(0.05, deadline - time.perf_counter())
    solver.parameters.log_search_progress = options.log
    # The LP relaxation of the pairwise rules (close shifts, weekend streaks) is weak, so a worker spent on
    # proving bounds gains little; with a complete warm start every worker does large-neighbourhood search.
    if options.bound_worker and options.num_workers >= 2 and warm is not None:
        # one worker proves a lower bound by lb-tree-search on this very model (its LP with cuts, tightened by
        # branching), the others improve the warm start by large-neighbourhood and local search
        solver.parameters.subsolvers.append("lb_tree_search")
    else:
        solver.parameters.use_lns_only = options.lns_only and warm is not None
    status = solver.Solve(built.model, watch)
    chosen: set[cpmodel.Pair] | None = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = {p for p, var in built.x.items() if solver.BooleanValue(var)}
        if warm is not None and cpmodel.objective_of(built, chosen) > cpmodel.objective_of(built, warm):
            chosen = warm  # the search ended on a roster no better than where it started
    elif status == cp_model.INFEASIBLE:
        return _result(ix, None, "infeasible", own, found, started, watch)
    elif warm is not None:
        chosen = warm
    cp_bound = math.ceil(solver.BestObjectiveBound() - 1e-6) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else 0
    state = "optimal" if status == cp_model.OPTIMAL else "feasible" if chosen is not None else "unknown"
    return _result(ix, chosen, state, max(own, cp_bound, watch.own_bound), found, started, watch)


_cost = lns.roster_cost


def by_grid(ix, soft, warm, options, watch, own, found, started, deadline, hint=None) -> RosterResult | None:
    """A roster from each grid's own volunteers on `num_workers` threads (when it beats the greedy one, if
    any), then blocks of neighbouring grids re-solved until the deadline on all threads but one, which
    proves a lower bound on the whole model from the start (options.bound_worker, two or more workers).
    When nobody may patrol outside their home grid, the grids are separate problems joined by the role
    spread alone, which is priced instead (spread.price_grids), on every thread. None when there is no
    roster to start from."""
    threads = max(1, options.num_workers)
    asked_soft = soft  # soft by the counts (or the caller), not only because the greedy left gaps
    if spread.separate(ix):
        priced = spread.price_grids(ix, soft, deadline, watch, threads)
        if priced is not None and (soft or _complete(ix, priced.chosen)):
            if warm is None or priced.cost <= _cost(ix, warm):
                state = "optimal" if priced.bound >= priced.cost else "feasible"
                return _result(ix, priced.chosen, state, max(own, priced.bound), found, started, watch)
            return _result(ix, warm, "feasible", max(own, priced.bound), found, started, watch)
    prover = None
    pairs = sum(map(len, ix.eligible))
    if options.bound_worker and threads >= 2 and pairs <= BOUND_MAX_PAIRS and options.time_limit >= BOUND_MIN_LIMIT:
        # from the start, even while the grids' own rosters take both cores: on the Guanyinli month that
        # proved 309-341 by 10 s, started after them (3 s) only 255
        prover, threads = BoundSearch(ix, soft, deadline, options), threads - 1
        prover.on_bound = lambda bound: setattr(watch, "own_bound", max(watch.own_bound, bound))
    try:
        roaming = sum(ix.shifts[si].grid != ix.volunteers[vi].home_grid for vi, si in ix.pairs()) / max(1, pairs)
        # when most volunteers may patrol far from home, a roster of home grids alone starts nowhere near
        start = lns.home_grids(ix, soft, deadline, max(1, options.num_workers)) if roaming <= ROAMING else None
        cost = _cost(ix, warm) if warm is not None else None
        if start is not None and (soft or _complete(ix, start)):
            start_cost = _cost(ix, start)
            if cost is None or start_cost < cost:
                warm, cost = start, start_cost
                watch.record(cost)
        if warm is None and hint:
            # the greedy left places open and the grids' own rosters did not close them: the blocks fill
            # them from the greedy roster (gaps cost, as in soft mode), where CP-SAT over the whole model
            # could end its time with no roster at all
            soft, warm, cost = True, hint, _cost(ix, hint)
        if warm is None:
            return None
        warm, cost = by_windows(ix, asked_soft, warm, cost, deadline, watch, options.time_limit)
        if watch.own_bound >= cost and _complete(ix, warm):  # the windows proved it optimal
            return _result(ix, warm, "optimal", cost, found, started, watch)
        warm, cost = level(ix, warm, cost, deadline, options.time_limit)
        watch.record(cost)
        finish = options.time_limit >= FINISH_MIN_LIMIT and pairs <= BOUND_MAX_PAIRS
        # gaps the counts do not explain: CP-SAT on the whole model closes them (it repairs the roster as a
        # hint) where the blocks seldom do, and it needs all the time there is for that
        closing = finish and soft and not asked_soft and not _complete(ix, warm)
        shares = LONG_FINISH_SHARES if options.time_limit >= LONG_LIMIT else FINISH_SHARES
        share = next((part for most, part in shares if pairs <= most), 0.0)
        lns_until = time.perf_counter() if closing else deadline - share * options.time_limit if finish else deadline
        chosen, cost = lns.improve(
            ix,
            soft,
            warm,
            cost,
            lns_until,
            watch,
            threads,
            options.seed,
            BLOCK_SIZES,
            BLOCK_SECONDS,
            BLOCK_DAYS if roaming > ROAMING else 0,
            between=lambda c, o: level(ix, c, o, deadline, options.time_limit),
        )
    finally:
        bound = prover.stop() if prover is not None else 0
    if finish:
        # gaps the counts do not explain: the whole model with full coverage required (the roster with its
        # gaps as a hint CP-SAT repairs), where the blocks could not close them
        hard = soft and not asked_soft and not _complete(ix, chosen)
        chosen, cp_bound = whole(ix, soft and not hard, chosen, cost, deadline, watch, options)
        bound = max(bound, cp_bound) if not hard else bound
    return _result(ix, chosen, "feasible", max(own, bound, watch.own_bound), found, started, watch)


def whole(ix: Index, soft: bool, chosen, cost: int, deadline: float, watch: Watch, options: Options):
    """CP-SAT's own search on the whole model (every worker, default parameters) from the blocks' roster,
    until the deadline: what the blocks cannot see (moves across many grids and days at once) it can, and it
    starts where they ended. Returns the better roster and the bound it proved."""
    built = cpmodel.build(ix, soft)
    cpmodel.set_hint(built, chosen)
    watch.built = built
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = options.num_workers
    solver.parameters.random_seed = options.seed
    solver.parameters.max_time_in_seconds = max(0.05, deadline - time.perf_counter())
    status = solver.Solve(built.model, watch)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return chosen, 0
    found = {p for p, var in built.x.items() if solver.BooleanValue(var)}
    bound = math.ceil(solver.BestObjectiveBound() - 1e-6)
    better = not soft or cpmodel.objective_of(built, found) < cost
    return (found, bound) if better else (chosen, bound)


def by_windows(
    ix: Index, soft: bool, chosen: set[cpmodel.Pair], cost: int, deadline: float, watch: Watch, time_limit: float
) -> tuple[set[cpmodel.Pair], int]:
    """The roster from the best load windows (windows.descend), where the objective allows it and there is
    time to build the model; at most WINDOW_SHARE of the time limit. `chosen` may leave places open (soft is
    then whether the caller allows that, not whether the roster does)."""
    if not windows.applies(ix, soft):
        return chosen, cost
    now = time.perf_counter()
    if deadline - now < windows.MIN_SECONDS + WINDOW_BUILD * sum(map(len, ix.eligible)):
        return chosen, cost
    until = min(deadline, now + WINDOW_SHARE * time_limit)
    lp = windows.WindowModel(ix, "GLOP")
    better, better_cost, priced = windows.descend(
        ix, chosen, cost, until, lambda pairs: _cost(ix, pairs), watch.record, lp=lp
    )
    if better_cost >= cost:
        better, better_cost = chosen, cost
    log.debug("load windows: %d -> %d, %d priced in %.1f s", cost, better_cost, priced, time.perf_counter() - now)
    if time_limit >= LONG_LIMIT and _complete(ix, better):
        # what time is left of the windows' share, at most WINDOW_BOUND_SHARE, proves a bound by spreads
        bound = windows.lower_bound(
            ix, lp, better_cost, min(until, time.perf_counter() + WINDOW_BOUND_SHARE * time_limit)
        )
        if bound is not None:
            watch.own_bound = max(watch.own_bound, bound)
            log.debug("load windows: bound %d", bound)
    return better, better_cost


def level(
    ix: Index, chosen: set[cpmodel.Pair], cost: int, deadline: float, time_limit: float
) -> tuple[set[cpmodel.Pair], int]:
    """The roster with its roles' loads levelled by transfers and each time slot's grids re-decided
    (flows.level_out, flows.regrid), if that lowers its cost; the levelling takes at most LEVEL_SHARE of
    the time limit."""
    until = min(deadline, time.perf_counter() + LEVEL_SHARE * time_limit)
    levelled, levelled_cost = flows.level_out(ix, chosen, until, lambda pairs: _cost(ix, pairs))
    regridded = flows.regrid(ix, levelled)
    regridded_cost = _cost(ix, regridded) if regridded != levelled else levelled_cost
    if regridded_cost < levelled_cost:
        levelled, levelled_cost = regridded, regridded_cost
    return (levelled, levelled_cost) if levelled_cost < cost else (chosen, cost)


class BoundSearch:
    """CP-SAT's lb-tree-search (its LP with cuts, tightened by branching) on the whole model, on a thread of
    its own: the bound of a roster that is being improved elsewhere."""

    def __init__(self, ix: Index, soft: bool, deadline: float, options: Options):
        self.ix, self.soft, self.deadline, self.options = ix, soft, deadline, options
        self.bound = 0
        self.on_bound = None
        self.solver = cp_model.CpSolver()
        self.stopped = self.started = False
        self.lock = lns.real_threading().Lock()
        # the model is built on the thread too: at ten times the Guanyinli size that takes seconds
        self.thread = lns.real_threading().Thread(target=self._run, name="roster-bound", daemon=True)
        self.thread.start()

    def _improved(self, value: float) -> None:
        self.bound = max(self.bound, math.ceil(value - 1e-6))
        if self.on_bound is not None:
            self.on_bound(self.bound)

    def _run(self) -> None:
        built = cpmodel.build(self.ix, self.soft)
        if self.options.symmetry_breaking:
            cpmodel.break_symmetry(built)
        # no hint: on one worker, lb-tree-search first repairs a hint (bound -206 after 10 s on the Guanyinli
        # month with the greedy roster as hint, 372 without)
        params = self.solver.parameters
        params.num_workers = 1
        params.optimize_with_lb_tree_search = True
        params.linearization_level = 2
        params.random_seed = self.options.seed
        params.max_time_in_seconds = max(0.05, self.deadline - time.perf_counter())
        self.solver.best_bound_callback = self._improved
        with self.lock:
            if self.stopped:
                return
            self.started = True
        status = self.solver.Solve(built.model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self._improved(self.solver.BestObjectiveBound())

    def stop(self) -> int:
        with self.lock:
            self.stopped = True
            if self.started:
                self.solver.StopSearch()
        self.thread.join()
        return self.bound


def _complete(ix: Index, chosen: set[cpmodel.Pair]) -> bool:
    crew: list[list[int]] = [[] for _ in ix.shifts]
    for vi, si in chosen:
        crew[si].append(vi)
    return all(
        len(c) >= s.min_patrollers and sum(ix.volunteers[v].leader for v in c) >= s.leaders_needed
        for s, c in zip(ix.shifts, crew, strict=True)
    )


def _result(ix, chosen, state, bound, found, started, watch) -> RosterResult:
    if chosen is None:
        return without_roster(ix, found, state, started, bound=bound, solutions=watch.solutions)
    assignments = tuple(sorted(Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in chosen))
    report = make_report(ix, assignments)
    objective = sum(report.costs.values())
    if state == "optimal":
        bound = objective
    bound = min(bound, objective)
    gaps = tuple(find_gaps(ix, assignments, found))
    # each suggestion re-indexes the month twice: above SUGGEST_MAX_PAIRS that could outlast the time limit
    small = sum(map(len, ix.eligible)) <= SUGGEST_MAX_PAIRS
    suggestions = tuple(relaxations(ix.problem, found, len(gaps))) if gaps and small else ()
    return RosterResult(
        assignments=assignments,
        status="feasible_with_gaps" if gaps else state,
        objective=objective,
        bound=bound,
        gap=_gap(objective, bound),
        wall_time=time.perf_counter() - started,
        report=report,
        gaps=gaps,
        suggestions=suggestions,
        problems=tuple(s.message for s in found),
        problems_zh=tuple(s.message_zh for s in found),
        solutions=watch.solutions,
        first_solution_time=watch.first,
        trajectory=tuple(watch.trajectory),
    )


def cost_of(problem: Problem, assignments, ix: Index | None = None) -> int:
    """Total weighted soft cost of any roster (the objective every method is compared on)."""
    ix = ix or Index.build(problem)
    return sum(R.evaluate(problem, assignments, ix.targets).values())
