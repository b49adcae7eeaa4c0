"""Patrol roster solver against a greedy baseline and the direct CP-SAT formulation, in one table.

    python benchmarks/bench_roster.py                  # 1x, 2x, 10x the Guanyinli month, 60 s each (~12 min)
    python benchmarks/bench_roster.py --quick          # 1x only, 10 s limits (~45 s)
    python benchmarks/bench_roster.py --sizes 1,2 --time-limit 30 --direct-sizes 1
    python benchmarks/bench_roster.py --sizes 1 --direct-sizes "" --longer 180   # + a best-known row

Every roster in the table is checked by the independent validator (column "valid": hard-rule violations).
Objectives are the true weighted cost of the roster (rules.evaluate), the same function for every method.
The solver's bound and gap are its own, proved within its time limit in the same call (one of its two
workers runs lb-tree-search on the whole model while the other searches grid by grid). The greedy row is
compared with a separate relaxation bound (CP-SAT's lb-tree-search on our pruned model with one worker, for the same time limit, see the notes),
the direct row with the better of that and the solver's bound.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "services" / "activities"), str(ROOT / "common")]

from ortools.sat.python import cp_model  # noqa: E402

from activities.roster import (  # noqa: E402
    Options,
    cost_of,
    cpmodel,
    repair,
    scenarios,
    solve,
    validate,
)
from activities.roster import bounds as B  # noqa: E402
from activities.roster.direct import solve_direct  # noqa: E402
from activities.roster.greedy import greedy  # noqa: E402
from activities.roster.index import Index  # noqa: E402
from activities.roster.model import Assignment  # noqa: E402
from activities.roster.repair import changed_problem  # noqa: E402

CHECKPOINTS = (1, 10, 60)
COLUMNS = (
    ("size", 5),
    ("method", 8),
    ("vars", 8),
    ("first s", 8),
    ("obj@1s", 8),
    ("obj@10s", 8),
    ("obj@60s", 8),
    ("final", 8),
    ("bound", 7),
    ("gap", 7),
    ("valid", 6),
    ("changed", 8),
    ("wall s", 7),
)


def at(trajectory, t: float):
    """Best objective found by time t, or '-' if none yet."""
    best = None
    for elapsed, objective, *_ in trajectory:
        if elapsed <= t:
            best = objective if best is None else min(best, objective)
    return "-" if best is None else best


def reached(trajectory, objective: int):
    return next((elapsed for elapsed, obj, *_ in trajectory if obj <= objective), None)


def relaxation_bound(problem, seconds: float) -> tuple[int, int, float]:
    """(counting bound, our bound, seconds): see bounds.lower_bound."""
    started = time.perf_counter()
    counting = B.counting_bound(Index.build(problem), soft=False)
    return counting, B.lower_bound(problem, seconds), time.perf_counter() - started


def row(**cells) -> str:
    out = []
    for name, width in COLUMNS:
        value = cells.get(name, "")
        if isinstance(value, float):
            value = f"{value:.2f}" if name != "gap" else f"{value:.1%}"
        out.append(str(value).rjust(width))
    return " ".join(out)


def gap(objective, bound):
    return (objective - bound) / objective if objective else 0.0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1x only, 10 s limits")
    ap.add_argument("--sizes", default="1,2,10", help="comma-separated multiples of the Guanyinli month")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    ap.add_argument("--direct-sizes", default="1,2", help="sizes at which the direct formulation runs")
    ap.add_argument("--bound-sizes", default="1,2,10", help="sizes at which the relaxation bound runs")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--longer",
        type=float,
        default=0.0,
        help="seconds more of CP-SAT's own search on the whole model from the 1x roster (row 'longer': a "
        "best-known roster to judge the bound by; 0: none)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.time_limit, args.direct_sizes, args.bound_sizes = "1", 10.0, "1", "1"
    sizes = [int(s) for s in args.sizes.split(",") if s]
    direct_sizes = {int(s) for s in args.direct_sizes.split(",") if s}
    bound_sizes = {int(s) for s in args.bound_sizes.split(",") if s}
    limit = args.time_limit
    print(f"patrol roster, {args.workers} workers, {limit:g} s per solve, {datetime.now():%Y-%m-%d %H:%M}")
    print(row(**{name: name for name, _ in COLUMNS}))
    notes = []
    month_result = None
    for size in sizes:
        problem = scenarios.guanyinli_month(size)
        started = time.perf_counter()
        ix = Index.build(problem)
        warm = greedy(ix)
        greedy_time = time.perf_counter() - started
        warm_roster = [Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in warm]
        greedy_cost = cost_of(problem, warm_roster, ix)
        pairs = sum(map(len, ix.eligible))

        if size in bound_sizes:
            counting, bound, bound_time = relaxation_bound(problem, limit)
            notes.append(f"{size}x: counting bound {counting}, lb-tree-search bound {bound} in {bound_time:.0f} s")
        else:
            bound = B.counting_bound(ix, soft=False)

        print(
            row(
                size=f"{size}x",
                method="greedy",
                vars=pairs,
                **{"first s": greedy_time, "obj@1s": greedy_cost, "obj@10s": greedy_cost, "obj@60s": greedy_cost},
                final=greedy_cost,
                bound=bound,
                gap=gap(greedy_cost, bound),
                valid=len(validate(problem, warm_roster)),
                **{"wall s": greedy_time},
            ),
            flush=True,
        )

        result = solve(problem, Options(time_limit=limit, num_workers=args.workers))
        ours_bound = max(bound, result.bound)  # for the greedy and direct rows: the best bound of this run
        first_cp = next((e for e, *_ in result.trajectory[1:]), None)
        print(solver_row(f"{size}x", "solver", pairs, problem, result), flush=True)
        notes.append(
            f"{size}x: solver {result.status}, {result.solutions} CP-SAT solutions, first CP-SAT solution at "
            f"{first_cp:.2f} s"
            if first_cp
            else f"{size}x: solver {result.status}, warm start only"
        )
        if size == 1:
            month_result = (problem, result)
            if args.longer > 0:
                print(longer_row(ix, result, args.longer, args.workers, ours_bound), flush=True)

        if size in direct_sizes:
            d = solve_direct(problem, limit, num_workers=args.workers)
            final = cost_of(problem, d.assignments) if d.assignments else "-"
            print(
                row(
                    size=f"{size}x",
                    method="direct",
                    vars=d.variables,
                    **{
                        "first s": d.first_solution_time or "-",
                        **{f"obj@{t}s": at(d.trajectory, t) for t in CHECKPOINTS},
                    },
                    final=final,
                    bound=ours_bound,
                    gap=gap(final, ours_bound) if d.assignments else "-",
                    valid=len(validate(problem, d.assignments)) if d.assignments else "-",
                    **{"wall s": d.trajectory[-1][0] if d.trajectory else limit},
                ),
                flush=True,
            )
            if d.assignments:
                direct_time = d.trajectory[-1][0]
                ours = reached(result.trajectory, final)
                ratio = f"{direct_time / ours:.0f}x faster" if ours else "not reached"
                notes.append(
                    f"{size}x: direct reached {final} at {direct_time:.1f} s (CP-SAT bound {d.bound}); "
                    f"the solver reached it at {ours if ours is None else round(ours, 2)} s: {ratio}"
                )
            else:
                notes.append(f"{size}x: direct found no roster in {limit:g} s ({d.status})")

    if 1 in sizes:
        # the service's default: nobody patrols outside their home grid, so the grids are separate problems
        # but for the role spread, which the solver prices per grid (spread.py)
        home = scenarios.home_only(scenarios.guanyinli_month(1))
        r = solve(home, Options(time_limit=min(limit, 10.0), num_workers=args.workers))
        print(solver_row("1x", "home", sum(map(len, Index.build(home).eligible)), home, r), flush=True)
        notes.append(
            f"home: the 1x month with everyone in their home grid only (the service's default), "
            f"{min(limit, 10.0):g} s: the grids are solved apart, the role spread priced per grid (bound: the priced grids')"
        )

    if month_result:
        problem, result = month_result
        for label, kwargs in drop_outs(problem, result.assignments):
            gc.collect()  # what the larger solves left behind is not the repair's time
            r = repair(problem, result.assignments, options=Options(time_limit=1.0, num_workers=args.workers), **kwargs)
            after = changed_problem(problem, kwargs.get("dropped"), kwargs.get("unavailable"))
            print(
                row(
                    size="1x",
                    method=label,
                    vars="",
                    **{"first s": r.wall_time},
                    final=r.objective,
                    valid=len(validate(after, r.assignments)),
                    changed=f"{r.changed}/{r.forced_out}",
                    **{"wall s": r.wall_time},
                ),
                flush=True,
            )
        notes.append(
            "repair: changed = assignments added or removed / forced out by the change; published "
            "weeks (before 21 December) frozen"
        )
    for note in notes:
        print("  " + note)
    return 0


def solver_row(size: str, method: str, pairs: int, problem, result) -> str:
    """A table row for a solve: its trajectory at the checkpoints, bound, gap and the validator's count."""
    return row(
        size=size,
        method=method,
        vars=pairs,
        **{"first s": result.first_solution_time, **{f"obj@{t}s": at(result.trajectory, t) for t in CHECKPOINTS}},
        final=result.objective,
        bound=result.bound,
        gap=gap(result.objective, result.bound),
        valid=len(validate(problem, result.assignments)),
        **{"wall s": result.wall_time},
    )


def longer_row(ix: Index, result, seconds: float, workers: int, bound: int) -> str:
    """CP-SAT's own search on the whole model, hinted with the solver's roster, for `seconds` more: how far
    that roster is from the best one known (the solver's bound judged against a better roster)."""
    problem = ix.problem
    built = cpmodel.build(ix, soft=False)
    cpmodel.break_symmetry(built)
    cpmodel.set_hint(built, {(ix.vpos[a.volunteer_id], ix.spos[a.shift_id]) for a in result.assignments})
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.max_time_in_seconds = seconds
    started = time.perf_counter()
    status = solver.Solve(built.model)
    wall = time.perf_counter() - started
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return row(size="1x", method="longer", final="-", **{"wall s": wall})
    roster = [
        Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for (vi, si), var in built.x.items() if solver.Value(var)
    ]
    final = cost_of(problem, roster, ix)
    return row(
        size="1x",
        method="longer",
        vars=len(built.x),
        final=final,
        bound=bound,
        gap=gap(final, bound),
        valid=len(validate(problem, roster)),
        **{"wall s": wall},
    )


def drop_outs(problem, assignments):
    """The first volunteer (by id) rostered from Thursday 24 December is away from then on; the busiest
    volunteer leaves the patrol team."""
    start = {s.id: s.start for s in problem.shifts}
    last_week = datetime(2026, 12, 21)
    late = Counter(a.volunteer_id for a in assignments if start[a.shift_id] >= last_week + timedelta(days=3))
    away = sorted(late)[0]
    yield (
        "away",
        {
            "unavailable": {away: [(last_week + timedelta(days=3), last_week + timedelta(days=7))]},
            "frozen_until": last_week,
        },
    )
    counts = Counter(a.volunteer_id for a in assignments)
    leaver = sorted(counts, key=lambda v: (-counts[v], v))[0]
    yield "leaves", {"dropped": leaver, "frozen_until": last_week}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
