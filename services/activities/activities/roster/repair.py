"""Change without chaos: re-solve after a drop-out or new absences with the fewest changed assignments, and
check a swap of two volunteers' shifts against the hard rules.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from ortools.sat.python import cp_model

from . import bounds, cpmodel
from . import rules as R
from .explain import explain_index, without_roster
from .greedy import greedy
from .index import Index
from .lns import part_solver, restrict
from .model import Assignment, Interval, Options, Problem, RosterResult, Violation
from .report import find_gaps, make_report
from .validator import validate

WINDOW = timedelta(days=2)  # shifts this close to a forced change may move too


def changed_problem(
    problem: Problem, dropped: str | None = None, unavailable: Mapping[str, Iterable[Interval]] | None = None
) -> Problem:
    """The problem after a volunteer leaves the patrol team and/or volunteers report new absences."""
    unavailable = unavailable or {}
    volunteers = []
    for v in problem.volunteers:
        if v.id == dropped:
            v = replace(v, patrol=False)
        if v.id in unavailable:
            v = replace(v, unavailable=v.unavailable + tuple(unavailable[v.id]))
        volunteers.append(v)
    return replace(problem, volunteers=tuple(volunteers))


def repair(
    problem: Problem,
    previous: Iterable[Assignment],
    dropped: str | None = None,
    unavailable: Mapping[str, Iterable[Interval]] | None = None,
    frozen_until: datetime | None = None,
    options: Options | None = None,
) -> RosterResult:
    """The previous roster with as few changed assignments as possible after the change.

    Assignments the change makes impossible are removed (counted in `forced_out`, not in `changed`). Only
    shifts within WINDOW of them, in their grid or the grids next to it, are re-solved, unless that cannot
    be done; a change to a shift starting before `frozen_until` (the published period) costs ten times more
    than one after it, and a place left uncovered (soft coverage) more than ten such changes.
    """
    options = options or Options()  # the time limit is a guard: a small repair stops once its changes are proven fewest
    started = time.perf_counter()
    problem = changed_problem(problem, dropped, unavailable)
    ix = Index.build(problem)
    kept: set[cpmodel.Pair] = set()
    forced_out = 0
    touched: list[int] = []
    for a in set(previous):
        vi, si = ix.vpos.get(a.volunteer_id), ix.spos.get(a.shift_id)
        if vi is not None and si is not None and si in ix.eligible_set(vi):
            kept.add((vi, si))
        else:
            forced_out += 1
            if si is not None:
                touched.append(si)
    found = bounds.shortages(ix)
    soft = options.coverage == "soft" or bool(found)
    hint = greedy(ix, keep=kept)
    everything = set(range(len(ix.shifts)))
    attempts = [(_window(ix, touched), soft), (everything, soft)]
    if not soft and options.coverage == "auto":
        attempts.append((everything, True))  # the best roster with the gaps marked
    for window, mode in attempts:
        result = _solve_part(ix, window, kept, hint, mode, frozen_until, options, started, found, forced_out)
        if result.status not in ("infeasible", "unknown"):
            return result
        if result.status == "unknown":
            break  # out of time: the greedy repair below is the answer
    return _roster_result(ix, hint, kept, "feasible", found, forced_out, started, None)


def _window(ix: Index, touched: list[int]) -> set[int]:
    """Shifts near a forced change: within WINDOW of it, in its grid or a grid next to it."""
    near = ix.problem.grid_neighbours
    out = set()
    for si, s in enumerate(ix.shifts):
        for t in touched:
            other = ix.shifts[t]
            if abs(s.start - other.start) <= WINDOW and (s.grid == other.grid or s.grid in near.get(other.grid, ())):
                out.add(si)
                break
    return out


def _solve_part(ix, window, kept, hint, soft, frozen_until, options, started, found, forced_out) -> RosterResult:
    part, vols, shifts = restrict(ix, window, kept)
    if soft:
        # a shift is covered before changes are saved, also in the published period: left as they are,
        # the drop-out's places (1000 each) would cost less than the changes that fill them (10000)
        rules = part.problem.rules
        cover = dict.fromkeys(("uncovered_place", "missing_leader"), R.REPAIR_COVER_WEIGHT)
        part.problem = replace(part.problem, rules=replace(rules, weights={**rules.weights, **cover}))
    vloc = {vi: pi for pi, vi in enumerate(vols)}
    sloc = {si: i for i, si in enumerate(shifts)}
    change_cost = {}
    for pi, eligible in enumerate(part.eligible):
        for s in eligible:
            start = part.shifts[s].start
            weight = R.FROZEN_CHANGE_WEIGHT if frozen_until and start < frozen_until else R.CHANGE_WEIGHT
            change_cost[(pi, s)] = -weight if (vols[pi], shifts[s]) in kept else weight
    built = cpmodel.build(part, soft, change_cost=change_cost)
    cpmodel.set_hint(built, {(vloc[vi], sloc[si]) for vi, si in hint if si in sloc and vi in vloc})
    solver = part_solver(max(0.05, options.time_limit - (time.perf_counter() - started)), options.seed)
    # stop once the number of changes is proven minimal; the soft costs are only a tie-break here
    solver.parameters.absolute_gap_limit = R.CHANGE_WEIGHT // 2
    status = solver.Solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        state = "infeasible" if status == cp_model.INFEASIBLE else "unknown"
        return without_roster(ix, found, state, started, forced_out=forced_out)
    inside = {(vols[pi], shifts[s]) for (pi, s), var in built.x.items() if solver.BooleanValue(var)}
    chosen = {p for p in kept if p[1] not in window} | inside
    state = "optimal" if status == cp_model.OPTIMAL else "feasible"
    return _roster_result(
        ix, chosen, kept, state, found, forced_out, started, math.ceil(solver.BestObjectiveBound() - 1e-6)
    )


def _roster_result(ix, chosen, kept, state, found, forced_out, started, cp_bound) -> RosterResult:
    assignments = tuple(sorted(Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in chosen))
    report = make_report(ix, assignments)
    objective = sum(report.costs.values())
    gaps = tuple(find_gaps(ix, assignments, found))
    return RosterResult(
        assignments=assignments,
        status="feasible_with_gaps" if gaps else state,
        objective=objective,
        bound=0,
        gap=None,
        wall_time=time.perf_counter() - started,
        report=report,
        gaps=gaps,
        suggestions=explain_index(ix, found).suggestions if gaps else (),
        problems=tuple(s.message for s in found),
        problems_zh=tuple(s.message_zh for s in found),
        solutions=1,
        changed=len(chosen ^ kept),
        forced_out=forced_out,
        trajectory=((time.perf_counter() - started, objective, cp_bound or 0),),
    )


def check_swap(problem: Problem, roster: Iterable[Assignment], a: Assignment, b: Assignment) -> list[Violation]:
    """Hard rules the roster would break if a's volunteer took b's shift and b's volunteer took a's.

    Only violations the swap creates are returned (an empty list means the swap can be accepted).
    """
    roster = set(roster)
    missing = [x for x in (a, b) if x not in roster]
    if missing:
        return [
            Violation(
                "unknown",
                f"{x.volunteer_id} is not rostered on {x.shift_id}",
                x.shift_id,
                x.volunteer_id,
                f"志愿者{x.volunteer_id}没有排在班次{x.shift_id}上",
            )
            for x in missing
        ]
    swapped = (roster - {a, b}) | {Assignment(b.shift_id, a.volunteer_id), Assignment(a.shift_id, b.volunteer_id)}
    if len(swapped) < len(roster):
        return [
            Violation(
                "duplicate",
                "one volunteer would be twice on one shift",
                a.shift_id,
                a.volunteer_id,
                "同一名志愿者会在一个班次上出现两次",
            )
        ]
    before = {(v.rule, v.message) for v in validate(problem, roster)}
    return [v for v in validate(problem, swapped) if (v.rule, v.message) not in before]
