"""The direct formulation the benchmark compares against: one boolean per volunteer, shift and grid for every
volunteer, eligibility and coverage as plain constraints, no pruning, no warm start, no symmetry breaking.

It shares the objective (the same constraint families and soft rules) so objectives compare one to one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from . import cpmodel
from .index import Index
from .model import Assignment, Problem
from .solver import Watch, _complete


def direct_index(problem: Problem) -> tuple[Index, list[tuple[int, int]]]:
    """An index in which every volunteer may take every shift, and the pairs the rules forbid."""
    pruned = Index.build(problem)
    full = Index(problem)
    for name in ("shifts", "spos", "slot_of", "slots", "week_of_slot", "weeks", "conflicts", "close_pairs"):
        setattr(full, name, getattr(pruned, name))
    full.volunteers = list(problem.volunteers)
    full.vpos = {v.id: i for i, v in enumerate(full.volunteers)}
    everything = list(range(len(full.shifts)))
    full.eligible = [everything for _ in full.volunteers]
    full.candidates = [list(range(len(full.volunteers))) for _ in full.shifts]
    full.weekly_cap = [pruned.weekly_cap[pruned.vpos[v.id]] if v.id in pruned.vpos else 0 for v in full.volunteers]
    full.targets = {v.id: pruned.targets.get(v.id, 0) for v in full.volunteers}
    full.fair_for = {i for i, v in enumerate(full.volunteers) if v.id in pruned.vpos}
    full.pinned = {(full.vpos[pruned.volunteers[vi].id], si) for vi, si in pruned.pinned}
    # conflicts are keyed by rest hours; volunteers outside the patrol team use the default rest
    for v in full.volunteers:
        rest = full.rest_of(full.vpos[v.id])
        if rest not in full.conflicts:
            full.conflicts = {**full.conflicts, rest: next(iter(pruned.conflicts.values()))}
    forbidden = []
    for i, v in enumerate(full.volunteers):
        ok = pruned.eligible_set(pruned.vpos[v.id]) if v.id in pruned.vpos else set()
        forbidden.extend((i, si) for si in everything if si not in ok)
    return full, forbidden


@dataclass(frozen=True)
class DirectResult:
    assignments: list[Assignment] | None
    status: str
    first_solution_time: float | None
    trajectory: tuple[tuple[float, int, int], ...]  # (elapsed, objective, CP-SAT bound)
    variables: int
    bound: int


def solve_direct(
    problem: Problem, time_limit: float, num_workers: int = 2, progress=None, seed: int = 0
) -> DirectResult:
    """CP-SAT on the direct formulation with default parameters, timed from the start of model building."""
    started = time.perf_counter()
    ix, forbidden = direct_index(problem)
    built = cpmodel.build(ix, soft=False)
    for p in forbidden:
        built.model.Add(built.x[p] == 0)

    watch = Watch(started, 0, progress, 0.0, built)
    solver, status = _run(built, watch, num_workers, seed, time_limit - (time.perf_counter() - started))
    assignments = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignments = sorted(
            Assignment(ix.shifts[si].id, ix.volunteers[vi].id)
            for (vi, si), var in built.x.items()
            if solver.BooleanValue(var)
        )
    return DirectResult(
        assignments,
        solver.StatusName(status),
        watch.first,
        tuple(watch.trajectory),
        len(built.x),
        math.ceil(solver.BestObjectiveBound() - 1e-6),
    )


def _run(built: cpmodel.Built, watch: Watch, num_workers: int, seed: int, seconds: float):
    """CP-SAT with default parameters on a built model for `seconds`: the solver and its status."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = max(0.05, seconds)
    return solver, solver.Solve(built.model, watch)


def solve_hinted(
    problem: Problem, time_limit: float, num_workers: int = 2, progress=None, seed: int = 0
) -> DirectResult:
    """The benchmark's second baseline: CP-SAT with default parameters on the natural model (a variable per
    pair the rules allow), every variable hinted from the greedy roster, timed from the start."""
    from .greedy import greedy

    started = time.perf_counter()
    ix = Index.build(problem)
    hint = greedy(ix)
    built = cpmodel.build(ix, soft=False)
    cpmodel.set_hint(built, hint)
    watch = Watch(started, 0, progress, 0.0, built)
    if _complete(ix, hint):
        watch.record(cpmodel.objective_of(built, hint))
    solver, status = _run(built, watch, num_workers, seed, time_limit - (time.perf_counter() - started))
    chosen = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = {p for p, var in built.x.items() if solver.BooleanValue(var)}
    elif _complete(ix, hint):
        chosen = hint
    return DirectResult(
        None if chosen is None else sorted(Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in chosen),
        solver.StatusName(status),
        watch.first,
        tuple(watch.trajectory),
        len(built.x),
        math.ceil(solver.BestObjectiveBound() - 1e-6) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else 0,
    )
