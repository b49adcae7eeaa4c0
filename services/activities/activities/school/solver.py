"""Assign the weekend school's tutors for a term: counting, a warm start (the greedy one or, better, the
session-by-session one of lns.rolling, capped tutors where a solve of coverage alone puts them), windows of
sessions re-solved (lns.improve), CP-SAT's search on the whole term for the rest of the time (which proves
small terms optimal), a plain result.

`solve` is pure and thread-safe (no shared state, CP-SAT's threads all end before it returns), so a service
can run it in eventlet.tpool.
"""

from __future__ import annotations

import math
import time

from ortools.sat.python import cp_model

from . import cpmodel, report
from .greedy import greedy
from .index import Index, Pair
from .lns import capped, improve, rolling
from .model import Assignment, Options, Problem, Result

# the phases end at these shares of the time limit, at the latest
CAPPED_SHARE = 0.25  # where the tutors with a cap on their sessions teach (lns.capped)
ROLLING_SHARE = 0.5  # the session-by-session warm start (lns.rolling)
WINDOWS_SHARE = 0.85  # windows of sessions re-solved (lns.improve); then CP-SAT on the whole term


def solve(problem: Problem, options: Options | None = None) -> Result:
    """The best assignment found within options.time_limit. Needs no tutor can take are left uncovered, each
    with its reason; pins the hard rules forbid are left out and listed in `unkept_pins`."""
    options = options or Options()
    started = time.perf_counter()
    ix = Index.build(problem)
    rows = report.subject_needs(ix)
    warm: set[Pair] = set()
    if options.warm_start:  # the sessions rolling has no time for are completed greedily below
        planned = capped(ix, started + CAPPED_SHARE * options.time_limit, options.num_workers)
        warm = rolling(planned, started + ROLLING_SHARE * options.time_limit)
    b = cpmodel.build(ix)
    counting = b.w["uncovered_need"] * sum(r.shortfall for r in rows)
    start: set[Pair] = set()
    if options.warm_start:
        start = min(greedy(ix), greedy(ix, keep=warm), key=lambda chosen: cpmodel.objective(b, chosen))
        start = improve(ix, b, start, started + WINDOWS_SHARE * options.time_limit, options.num_workers, options.seed)
        cpmodel.set_hint(b, start)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, options.time_limit - (time.perf_counter() - started))
    solver.parameters.num_workers = options.num_workers
    solver.parameters.random_seed = options.seed
    solver.parameters.log_search_progress = options.log
    status = solver.Solve(b.model)

    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    chosen = {p for p, var in b.x.items() if solver.BooleanValue(var)} if found else start
    costs = cpmodel.price(b, chosen)
    if options.warm_start and found and cpmodel.objective(b, start) < sum(costs.values()):  # the search lost its hint
        chosen, costs = start, cpmodel.price(b, start)
    objective = sum(costs.values())
    proven = status == cp_model.OPTIMAL and objective == round(solver.ObjectiveValue())
    bound = objective if proven else max(counting, _bound(solver, status))
    return Result(
        status="optimal" if proven else "feasible",
        assignments=_assignments(ix, chosen),
        uncovered=tuple(report.uncovered(ix, chosen, rows)),
        objective=objective,
        bound=min(bound, objective),
        tutor_changes=sum(cpmodel.Hint(ix, chosen).changed.values()),
        wall_time=time.perf_counter() - started,
        costs=costs,
        unkept_pins=tuple(ix.unkept),
    )


def _bound(solver: cp_model.CpSolver, status) -> int:
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return 0
    return max(0, math.ceil(solver.BestObjectiveBound() - 1e-6))


def _assignments(ix: Index, chosen: set[Pair]) -> tuple[Assignment, ...]:
    out = []
    for ni, ti in chosen:
        n = ix.needs[ni]
        out.append(Assignment(ix.sessions[n.session].id, ix.pupils[n.pupil].id, n.subject, ix.tutors[ti].id))
    return tuple(sorted(out))
