"""The roster solver on a family of months it was not built with, against two baselines in the same run.

    python benchmarks/bench_roster_family.py                 # every month, 1, 10 and 60 s (about an hour)
    python benchmarks/bench_roster_family.py --quick         # 1 and 10 s, direct at 10 s (about 12 minutes)
    python benchmarks/bench_roster_family.py --months m300-l30-mix,demo --limits 1,10
    python benchmarks/bench_roster_family.py --longer 600 --months m300-l30-mix   # update the best known

The family is `activities.roster.generate.FAMILY` (patrol-roster/1 months: 30 to 3,000 volunteers, leader
shares from infeasible to generous, availability per shift at different densities, home grids that can and
cannot cover themselves, mixed shift lengths, hard grids) plus the service's own demo month
(`scenarios.guanyinli_month(1)`, its own soft rules). Per month and summed:

- `greedy`: the plain greedy roster (the solver's warm start, `greedy.greedy`), with its time;
- `@1s @10s @60s`: this solver (`solve`, default options) with that time limit, each a run of its own;
- `direct@10 direct@60`: CP-SAT with default parameters on the natural model, every variable hinted from
  the greedy roster, two workers (`direct.solve_hinted`);
- `bound`: the best lower bound any run proved, and the load windows' bound below the run's best roster
  (`windows.lower_bound`, up to `--prove` seconds a month): where it meets that roster, the month's optimum; `best`: the best roster known (benchmarks/roster_best.json,
  kept from long runs and from this run when it beats it).

Every run is a child process of its own (its peak memory is its own, and a run that overstays is seen).
Every roster is checked by the independent checker (`formatcheck`; `validate` for the demo month). Months
that cannot be covered are compared by places left open first (the `gaps` column), then by objective.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "services" / "activities"), str(ROOT / "common")]

from activities.roster import Options, cost_of, formatcheck, generate, scenarios, solve, validate, windows  # noqa: E402
from activities.roster import fileformat as F  # noqa: E402
from activities.roster.direct import solve_hinted  # noqa: E402
from activities.roster.greedy import greedy  # noqa: E402
from activities.roster.index import Index  # noqa: E402
from activities.roster.model import Assignment  # noqa: E402

BEST = Path(__file__).resolve().parent / "roster_best.json"
DEMO = "demo"
SLACK = 1.0  # a run may return this long after its limit
GAP_PRICE = 1000  # in the sums, a place the greedy leaves open


def months(names: list[str] | None) -> list[str]:
    every = [spec.name for spec in generate.FAMILY] + [DEMO]
    if not names:
        return every
    unknown = sorted(set(names) - set(every))
    if unknown:
        raise SystemExit(f"unknown months: {', '.join(unknown)} (known: {', '.join(every)})")
    return [n for n in every if n in names]


def load(name: str):
    """(problem, instance or None) of a month of the family, or of the demo month."""
    if name == DEMO:
        return scenarios.guanyinli_month(1), None
    spec = next(s for s in generate.FAMILY if s.name == name)
    data = generate.month(spec)
    return F.read(data).problem, data


def score(name: str, problem, data, assignments) -> dict:
    """Objective, places left open and hard-rule violations of a roster, by the independent checker."""
    if assignments is None:
        return {"objective": None, "gaps": None, "violations": None}
    if data is None:
        broken = validate(problem, assignments, coverage=False)
        open_places = len(validate(problem, assignments)) - len(broken)
        return {"objective": cost_of(problem, assignments), "gaps": open_places, "violations": len(broken)}
    roster = {"assignments": [{"shift": a.shift_id, "volunteer": a.volunteer_id} for a in assignments]}
    checked = formatcheck.check(data, roster)
    broken = sum(1 for v in checked.violations if v.rule not in ("coverage", "leader"))
    return {"objective": checked.objective, "gaps": places_open(data, assignments), "violations": broken}


def places_open(data: dict, assignments) -> int:
    """Places and leader places a roster leaves uncovered, counted from the instance itself."""
    leaders = {v["id"] for v in data["volunteers"] if v["leader"]}
    crew: dict[str, list[str]] = {}
    for a in set(assignments):
        crew.setdefault(a.shift_id, []).append(a.volunteer_id)
    return sum(
        max(0, s["min"] - len(crew.get(s["id"], [])))
        + max(0, s.get("leader_required", 0) - sum(v in leaders for v in crew.get(s["id"], [])))
        for s in data["shifts"]
    )


def _child(conn, name: str, method: str, limit: float, cost: int | None = None) -> None:
    problem, data = load(name)
    started = time.perf_counter()
    bound = None
    if method == "prove":  # the load windows' bound below `cost`, no roster
        ix = Index.build(problem)
        if windows.applies(ix, soft=False):
            bound = windows.lower_bound(ix, windows.WindowModel(ix, "GLOP"), cost, started + limit)
        conn.send({"objective": None, "bound": bound, "wall": time.perf_counter() - started})
        conn.close()
        return
    if method == "greedy":
        ix = Index.build(problem)
        chosen = greedy(ix)
        assignments = [Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in chosen]
    elif method == "solver":
        result = solve(problem, Options(time_limit=limit))
        assignments = list(result.assignments) if result.assignments else None
        if data is not None and result.assignments:
            bound = result.bound if not result.gaps else None
        elif result.assignments:
            bound = result.bound
    else:
        result = solve_hinted(problem, limit)
        assignments = result.assignments
    wall = time.perf_counter() - started
    out = score(name, problem, data, assignments)
    out.update(
        wall=wall,
        bound=bound,
        memory_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        assignments=[[a.shift_id, a.volunteer_id] for a in assignments] if assignments else None,
    )
    conn.send(out)
    conn.close()


def run(name: str, method: str, limit: float, cost: int | None = None) -> dict:
    """One run in a child process of its own."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, name, method, limit, cost))
    proc.start()
    child.close()
    # a generous wait: a run that overstays is reported (wall), not killed, unless it hangs
    try:
        out = parent.recv() if parent.poll(max(120.0, 10 * limit + 60)) else {"objective": None, "wall": None}
    except EOFError:  # the run failed (its traceback is above): no roster
        out = {"objective": None, "wall": None, "failed": True}
    proc.join(5)
    if proc.is_alive():
        proc.kill()
    return out


def key(r: dict):
    """Rosters compared by places left open, then objective; no roster is worst."""
    if r.get("objective") is None:
        return (float("inf"), float("inf"))
    return (r.get("gaps") or 0, r["objective"])


def cell(r: dict | None) -> str:
    if r is None or r.get("objective") is None:
        return "-"
    text = str(r["objective"])
    if r.get("gaps"):
        text += f"+{r['gaps']}g"
    if r.get("violations"):
        text += f"!{r['violations']}"
    return text


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--months", default="", help="comma-separated names (default: the whole family and demo)")
    ap.add_argument("--limits", default="1,10,60", help="the solver's time limits, seconds")
    ap.add_argument("--direct", default="10,60", help="the direct model's time limits, seconds")
    ap.add_argument("--quick", action="store_true", help="limits 1,10 and the direct model at 10 s")
    ap.add_argument("--longer", type=float, default=0, help="also a run of this many seconds, for the best known")
    ap.add_argument(
        "--prove",
        type=float,
        default=300,
        help="seconds for the load windows' lower bound below each month's best roster of the run (0: none)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.limits, args.direct, args.prove = "1,10", "10", 0
    limits = [float(x) for x in args.limits.split(",") if x]
    directs = [float(x) for x in args.direct.split(",") if x]
    names = months([n for n in args.months.split(",") if n])
    best = json.loads(BEST.read_text()) if BEST.exists() else {}
    cols = ["month", "vols", "greedy", "g s"] + [f"@{t:g}s" for t in limits] + [f"direct@{t:g}" for t in directs]
    cols += ["bound", "best", "wall", "MB"]
    widths = [14, 5, 9, 5] + [9] * (len(limits) + len(directs)) + [7, 9, 6, 6]
    print(f"roster family, {len(names)} months, {time.strftime('%Y-%m-%d %H:%M')}, 2 workers per run")
    print(" ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True)), flush=True)
    totals: dict[str, int] = {}
    floors: list[tuple[int | None, int | None]] = []  # per summed month: (best bound, best roster known)
    apart: list[str] = []  # months where the solver or the direct model has no complete roster
    checks: list[tuple[str, str, bool]] = []
    worst_wall = worst_mb = 0.0
    for name in names:
        problem, _ = load(name)
        g = run(name, "greedy", 0)
        ours = {t: run(name, "solver", t) for t in limits}
        direct = {t: run(name, "direct", t) for t in directs}
        longer = run(name, "solver", args.longer) if args.longer else None
        runs = [g, *ours.values(), *direct.values()] + ([longer] if longer else [])
        found = min(
            (r for r in runs if r.get("objective") is not None and not r.get("violations")), key=key, default=None
        )
        if args.prove and found is not None and not found.get("gaps"):
            runs.append(run(name, "prove", args.prove, found["objective"]))
        bounds = [r["bound"] for r in runs if r.get("bound") is not None]
        known = best.get(name)
        if found is not None and not found.get("gaps") and (known is None or found["objective"] < known["objective"]):
            known = best[name] = {"objective": found["objective"], "found": time.strftime("%Y-%m-%d")}
        for t, r in ours.items():
            if r.get("wall") is not None:
                worst_wall = max(worst_wall, r["wall"] - t)
            worst_mb = max(worst_mb, r.get("memory_mb") or 0)
        cells = [name, str(len(problem.volunteers)), cell(g), f"{g.get('wall') or 0:.1f}"]
        cells += [cell(ours[t]) for t in limits] + [cell(direct[t]) for t in directs]
        cells += [str(max(bounds)) if bounds else "-", str(known["objective"]) if known else "-"]
        cells += [f"{max((r.get('wall') or 0) for r in ours.values()):.1f}", f"{worst_mb:.0f}"]
        print(" ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)), flush=True)
        labelled = [("greedy", g)] + [(f"@{t:g}s", r) for t, r in ours.items()]
        labelled += [(f"direct@{t:g}", r) for t, r in direct.items()]
        if name == DEMO:
            pass
        elif all(r.get("objective") is not None and not r.get("gaps") for label, r in labelled if label != "greedy"):
            for label, r in labelled:  # summed where the solver and the direct model have complete rosters
                totals[label] = totals.get(label, 0) + r["objective"] + GAP_PRICE * (r.get("gaps") or 0)
            floors.append((max(bounds) if bounds else None, known["objective"] if known else None))
        else:
            apart.append(name)
        if 1 in limits:
            checks.append((name, "@1s no worse than the greedy", key(ours[1]) <= key(g)))
        for t in set(limits) & set(directs):
            checks.append((name, f"@{t:g}s no worse than direct@{t:g}", key(ours[t]) <= key(direct[t])))
        if name == DEMO and 60 in limits and known and ours[60].get("objective") is not None:
            checks.append(
                (name, "@60s within 10 % of the best known", ours[60]["objective"] <= 1.1 * known["objective"])
            )
    BEST.write_text(json.dumps(best, indent=2, sort_keys=True) + "\n")
    print(
        f"\nsummed over the {len(names) - len(apart) - (DEMO in names)} months where the solver and the direct "
        f"model have complete rosters, a place the greedy leaves open counted {GAP_PRICE} (apart: the demo month"
        f"{', ' + ', '.join(apart) if apart else ''}):"
    )
    for label, total in totals.items():
        print(f"  {label:>10}: {total}")
    if floors and all(b is not None for b, _ in floors):
        lowest = sum(b for b, _ in floors)
        proven = sum(b == o for b, o in floors)
        print(
            f"  {'bound':>10}: {lowest} (no roster can do better; {proven} of {len(floors)} months' best known rosters proven optimal)"
        )
        for t in directs:
            if totals.get(f"direct@{t:g}"):
                print(
                    f"  bound / direct@{t:g}: {lowest / totals[f'direct@{t:g}']:.3f} (the least ratio any solver could reach)"
                )
    for t in set(limits) & set(directs):
        ours_total, theirs = totals.get(f"@{t:g}s"), totals.get(f"direct@{t:g}")
        if ours_total is not None and theirs:
            ratio = ours_total / theirs
            print(f"  ratio @{t:g}s / direct@{t:g}: {ratio:.3f}")
            if t == 60:
                checks.append(("family", "@60s at least 10 % better than direct@60", ratio <= 0.9))
    print(f"  latest return after the limit: {worst_wall:+.2f} s (allowed +{SLACK:g}); peak memory {worst_mb:.0f} MB")
    checks.append(("all", f"every run returned within its limit + {SLACK:g} s", worst_wall <= SLACK))
    checks.append(("all", "peak memory below 4 GB", worst_mb < 4096))
    met = sum(ok for *_, ok in checks)
    print(f"\ntargets met: {met} of {len(checks)}")
    for name, what, ok in checks:
        if not ok:
            print(f"  NOT MET  {name}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
