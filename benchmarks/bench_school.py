"""Weekend school tutor assignment: the CP-SAT solver against the plain greedy baseline, one table per term.

    python benchmarks/bench_school.py                   # six terms, 10 s per solve (~1.5 min)
    python benchmarks/bench_school.py --quick           # one 40-pupil term only, 3 s
    python benchmarks/bench_school.py --time-limit 30 --workers 2

Terms come from activities.school.generate.term: 40 pupils, 15 tutors, 4 subjects and 16 weekends (32
sessions) with three seeds (seed 1 is short of Chinese tutors), and smaller, larger and tighter ones. Rows:
- greedy: session by session, each need to the tutor it had last if free, else one with room (the baseline);
- warm: the solver's warm start alone (where capped tutors teach from a solve of coverage alone, lns.capped,
  then each session solved exactly on its own, lns.rolling), in its share of the time limit;
- cp-sat: the solver: that warm start, windows of three sessions re-solved with the rest fixed (lns.improve),
  then CP-SAT on the whole term, all within the time limit.
Every assignment is checked by the independent validator (column "valid": hard rules broken) and priced by it
(columns "changes" (tutor changes), "split" (extra tutors of a pupil in a session), "spread" (most minus fewest
sessions of a tutor), "objective"), the same function for every row. "bound" is the solver's own lower bound
(CP-SAT's on the whole term, or the counted shortfall of seats if higher); "ratio" is the greedy's objective
over the row's.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "services" / "activities"), str(ROOT / "common")]

from activities.school import Options, generate, lacking, solve, validate  # noqa: E402
from activities.school import validator as V  # noqa: E402
from activities.school.greedy import greedy  # noqa: E402
from activities.school.index import Index  # noqa: E402
from activities.school.lns import capped, rolling  # noqa: E402
from activities.school.solver import CAPPED_SHARE, ROLLING_SHARE, _assignments  # noqa: E402

# (label, generate.term arguments)
TERMS = (
    ("term", dict(pupils=40, tutors=15, subjects=4, weekends=16, seed=1)),
    ("term", dict(pupils=40, tutors=15, subjects=4, weekends=16, seed=2)),
    ("term", dict(pupils=40, tutors=15, subjects=4, weekends=16, seed=3)),
    ("small", dict(pupils=20, tutors=8, subjects=3, weekends=8, seed=4)),
    ("large", dict(pupils=80, tutors=25, subjects=5, weekends=16, seed=5)),
    ("tight", dict(pupils=60, tutors=12, subjects=4, weekends=16, seed=6)),
)
COLUMNS = (
    ("method", 8),
    ("time s", 7),
    ("covered", 10),
    ("changes", 8),
    ("split", 6),
    ("spread", 7),
    ("objective", 10),
    ("bound", 8),
    ("ratio", 6),
    ("valid", 6),
)


def row(**cells) -> str:
    out = []
    for name, width in COLUMNS:
        value = cells.get(name, "")
        if isinstance(value, float):
            value = f"{value:.2f}"
        out.append(str(value).rjust(width))
    return " ".join(out)


def measured(method: str, problem, assignments, seconds: float, baseline: int | None, bound="") -> tuple[str, int]:
    """A row priced by the validator alone, and its objective."""
    units = V.units(problem, assignments)
    objective = V.cost(problem, assignments)
    needs = len(assignments) + units["uncovered_need"]
    return row(
        method=method,
        **{"time s": seconds},
        covered=f"{len(assignments)}/{needs}",
        changes=units["tutor_change"],
        split=units["split_pupil"],
        spread=units["fair_spread"],
        objective=objective,
        bound=bound,
        ratio=f"{baseline / objective:.2f}" if baseline and objective else "",
        valid=len(validate(problem, assignments)),
    ), objective


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one 40-pupil term only, 3 s")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--terms", default="", help="comma-separated positions in the list of terms (1-6), default all")
    args = ap.parse_args(argv)
    terms = TERMS[:1] if args.quick else TERMS
    if args.terms:
        terms = [TERMS[int(k) - 1] for k in args.terms.split(",")]
    limit = 3.0 if args.quick else args.time_limit
    print(
        f"weekend school tutor assignment, {args.workers} workers, {limit:g} s per solve, {datetime.now():%Y-%m-%d %H:%M}"
    )
    for label, spec in terms:
        problem = generate.term(**spec)
        ix = Index.build(problem)
        short = lacking(ix)
        print(
            f"\n{label}: {spec['pupils']} pupils, {spec['tutors']} tutors, {spec['subjects']} subjects, "
            f"{spec['weekends']} weekends, seed {spec['seed']}: {len(ix.needs)} needs, "
            f"{sum(r.shortfall for r in short)} short by counting in {len(short)} session-subjects"
        )
        print(row(**{name: name for name, _ in COLUMNS}))

        started = time.perf_counter()
        base = _assignments(ix, greedy(ix))
        line, baseline = measured("greedy", problem, base, time.perf_counter() - started, None)
        print(line, flush=True)

        started = time.perf_counter()
        planned = capped(ix, started + CAPPED_SHARE * limit, args.workers)
        warm = _assignments(ix, greedy(ix, keep=rolling(planned, started + ROLLING_SHARE * limit)))
        print(measured("warm", problem, warm, time.perf_counter() - started, baseline)[0], flush=True)

        result = solve(problem, Options(time_limit=limit, num_workers=args.workers))
        line, objective = measured("cp-sat", problem, result.assignments, result.wall_time, baseline, result.bound)
        assert objective == result.objective, "the solver's objective is not the validator's"
        print(line + f"  {result.status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
