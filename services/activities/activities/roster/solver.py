"""Build a patrol roster: capacity check, greedy warm start, CP-SAT search, and a result in plain data.

`solve` is pure and thread-safe (no shared state), so a service can run it in eventlet.tpool.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace

from ortools.sat.python import cp_model

from . import bounds, cpmodel
from . import rules as R
from .explain import explain_index, relaxations
from .greedy import greedy
from .index import Index
from .model import Assignment, Options, Problem, Progress, RosterResult
from .report import find_gaps, make_report

log = logging.getLogger(__name__)


class Watch(cp_model.CpSolverSolutionCallback):
    """Records each improving solution and reports it (solutions, objective, bound, gap, elapsed).

    The objective reported is the roster's true cost: auxiliary variables of an intermediate solution need
    not be at their tightest, so it is recomputed from the assignments.
    """

    def __init__(
        self, started: float, own_bound: int, progress: Progress | None, stop_gap: float, built: cpmodel.Built
    ):
        super().__init__()
        self.started, self.own_bound, self.progress, self.stop_gap = started, own_bound, progress, stop_gap
        self.built = built
        self.solutions = 0
        self.first: float | None = None
        self.trajectory: list[tuple[float, int, int]] = []

    def on_solution_callback(self) -> None:
        self.solutions += 1
        chosen = {p for p, var in self.built.x.items() if self.BooleanValue(var)}
        self.record(self.solutions, cpmodel.objective_of(self.built, chosen), self.BestObjectiveBound())

    def record(self, solutions: int, objective: int, cp_bound: float = 0.0) -> None:
        elapsed = time.perf_counter() - self.started
        if self.first is None:
            self.first = elapsed
        bound = min(objective, max(self.own_bound, math.ceil(cp_bound - 1e-6)))
        gap = _gap(objective, bound)
        self.trajectory.append((elapsed, objective, bound))
        if self.progress is not None:
            try:
                self.progress(solutions, objective, bound, gap, elapsed)
            except Exception:  # a failing listener must not stop the search
                log.exception("roster progress callback failed")
        if self.stop_gap and gap <= self.stop_gap and solutions:
            self.StopSearch()


def _gap(objective: int, bound: int) -> float:
    return 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)


def solve(problem: Problem, options: Options | None = None, progress: Progress | None = None) -> RosterResult:
    """The best roster found within options.time_limit, with its bound, report, gaps and suggestions."""
    options = options or Options()
    started = time.perf_counter()
    ix = Index.build(problem)
    found = bounds.shortages(ix)
    if found and options.coverage == "hard":
        why = explain_index(ix, found)
        return RosterResult(
            assignments=(),
            status="infeasible",
            objective=None,
            bound=0,
            gap=None,
            wall_time=time.perf_counter() - started,
            report=None,
            gaps=why.gaps,
            suggestions=why.suggestions,
            problems=why.problems,
        )
    soft = options.coverage == "soft" or bool(found)
    hint = greedy(ix, polish_seconds=min(5.0, 0.2 + 0.1 * options.time_limit)) if options.warm_start else set()
    result = run(ix, soft, options, progress, started, hint, found)
    if result.status == "infeasible" and not soft:
        # the counts fit but the rules together do not: the soft roster shows which shifts stay uncovered
        relaxed = run(ix, True, options, progress, started, hint, found)
        if options.coverage == "auto" or not relaxed.gaps:
            return relaxed
        return replace(
            relaxed,
            assignments=(),
            status="infeasible",
            objective=None,
            gap=None,
            report=None,
            problems=tuple(g.reason for g in relaxed.gaps),
        )
    return result


def run(
    ix: Index,
    soft: bool,
    options: Options,
    progress: Progress | None,
    started: float,
    hint: set[cpmodel.Pair],
    found: list[bounds.Shortage],
    build_kwargs: dict | None = None,
) -> RosterResult:
    """One CP-SAT search over the index's model; the roster comes back validated by status only."""
    own = bounds.counting_bound(ix, soft)
    built = cpmodel.build(ix, soft, **(build_kwargs or {}))
    if options.symmetry_breaking:
        cpmodel.break_symmetry(built)
    watch = Watch(started, own, progress, options.stop_gap, built)
    warm = None
    if hint:
        warm_cost = cpmodel.set_hint(built, hint)
        if soft or _complete(ix, hint):  # the warm start is already a roster: report it as solution 0
            warm = cpmodel.canonical(built, hint)
            watch.record(0, warm_cost)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = options.num_workers
    solver.parameters.random_seed = options.seed
    reserve = 0.1 + 2e-5 * len(built.x)  # reading the solution back and writing the report
    solver.parameters.max_time_in_seconds = max(0.05, options.time_limit - reserve - (time.perf_counter() - started))
    solver.parameters.log_search_progress = options.log
    # The LP relaxation of the pairwise rules (close shifts, weekend streaks) is weak, so a worker spent on
    # proving bounds gains little; with a complete warm start every worker does large-neighbourhood search.
    solver.parameters.use_lns_only = options.lns_only and warm is not None
    status = solver.Solve(built.model, watch)
    chosen: set[cpmodel.Pair] | None = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = {p for p, var in built.x.items() if solver.BooleanValue(var)}
    elif status == cp_model.INFEASIBLE:
        return _result(ix, None, "infeasible", own, found, started, watch)
    elif warm is not None:
        chosen = warm
    cp_bound = math.ceil(solver.BestObjectiveBound() - 1e-6) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else 0
    state = "optimal" if status == cp_model.OPTIMAL else "feasible" if chosen is not None else "unknown"
    return _result(ix, chosen, state, max(own, cp_bound), found, started, watch)


def _complete(ix: Index, chosen: set[cpmodel.Pair]) -> bool:
    crew: list[list[int]] = [[] for _ in ix.shifts]
    for vi, si in chosen:
        crew[si].append(vi)
    return all(
        len(c) >= s.min_patrollers and (not s.leader_needed or any(ix.volunteers[v].leader for v in c))
        for s, c in zip(ix.shifts, crew, strict=True)
    )


def _result(ix, chosen, state, bound, found, started, watch) -> RosterResult:
    if chosen is None:
        why = explain_index(ix, found) if found else None
        return RosterResult(
            assignments=(),
            status=state,
            objective=None,
            bound=bound,
            gap=None,
            wall_time=time.perf_counter() - started,
            report=None,
            gaps=why.gaps if why else (),
            suggestions=why.suggestions if why else (),
            problems=why.problems if why else (),
            solutions=watch.solutions,
        )
    assignments = tuple(sorted(Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in chosen))
    report = make_report(ix, assignments)
    objective = sum(report.costs.values())
    if state == "optimal":
        bound = objective
    bound = min(bound, objective)
    gaps = tuple(find_gaps(ix, assignments, found))
    suggestions = tuple(relaxations(ix.problem, found, len(gaps))) if gaps else ()
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
        solutions=watch.solutions,
        first_solution_time=watch.first,
        trajectory=tuple(watch.trajectory),
    )


def cost_of(problem: Problem, assignments, ix: Index | None = None) -> int:
    """Total weighted soft cost of any roster (the objective every method is compared on)."""
    ix = ix or Index.build(problem)
    return sum(R.evaluate(problem, assignments, ix.targets).values())
