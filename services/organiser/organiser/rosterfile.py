"""Rosters from files: a `patrol-roster/1` month (docs/ROSTER-FORMAT.md) solved on this machine with the
activities' pure solver, no broker and no database, the roster written back, checked as written and told
as a rule report. The command is `guanyinli roster solve` (organiser.cli); this module is its logic.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from activities import roster
from activities.roster import fileformat, formatcheck
from organiser import i18n

# exit codes of `roster solve`
COMPLETE, BROKEN, BAD_INPUT, GAPS = 0, 1, 2, 3


class BadInput(Exception):
    """The month cannot be read: not a file, not JSON, or not the format (the message names the field)."""


def read_month(path: Path) -> tuple[dict, fileformat.Instance]:
    """The month as its JSON object and as the solver's problem."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    try:
        return data, fileformat.read(data)
    except fileformat.FormatError as exc:
        raise BadInput(f"{path}: {exc}") from None


def solve(
    instance: fileformat.Instance,
    show: Callable[[float, int, int], None],
    time_limit: float = 10.0,
    workers: int = 2,
    seed: int = 0,
) -> roster.RosterResult:
    """The solver's best roster within the time limit. `show(elapsed, objective, bound)` is called on the
    caller's thread for every improving roster: the solver reports them from a thread of its own."""
    options = roster.Options(time_limit=time_limit, num_workers=workers, seed=seed)
    found: queue.Queue = queue.Queue()
    outcome: dict = {}

    def progress(_solutions: int, objective: int, bound: int, _gap: float, elapsed: float) -> None:
        found.put((elapsed, objective, bound))

    def run() -> None:
        try:
            outcome["result"] = roster.solve(instance.problem, options, progress)
        except BaseException as exc:  # raised again on the caller's thread
            outcome["error"] = exc
        finally:
            found.put(None)

    worker = threading.Thread(target=run, name="roster-solve", daemon=True)
    worker.start()
    while (point := found.get()) is not None:
        show(*point)
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def write(path: Path, instance: fileformat.Instance, result: roster.RosterResult) -> dict:
    """Write the roster in the format (with the solver's trace, gaps and reasons) and read it back as written."""
    try:
        path.write_text(json.dumps(fileformat.roster(instance, result), ensure_ascii=False, indent=1) + "\n", "utf-8")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"{path}: cannot be written ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class Verdict:
    """What the checker says of a roster file."""

    checker: str
    gaps: tuple[str, ...]  # coverage rules broken: places or leaders left uncovered
    broken: tuple[str, ...]  # every other hard rule broken, and a claimed objective that is not the roster's
    objective: int | None  # the roster's objective as the checker computes it

    @property
    def code(self) -> int:
        return BROKEN if self.broken else GAPS if self.gaps else COMPLETE


def check(instance_data: dict, roster_data: dict, lang: str = "en") -> Verdict:
    """The verdict of the format's independent checker (`activities.roster.formatcheck`, which shares no code
    with the solver) on a roster as written, from the two JSON objects alone: places and leaders left
    uncovered as `gaps`, every other broken rule and a claimed objective that is not the roster's as
    `broken`."""
    try:
        checked = formatcheck.check(instance_data, roster_data)
    except formatcheck.FormatError as exc:
        return Verdict(CHECKER, (), (str(exc),), None)
    gaps = [v for v in checked.violations if v.rule in ("coverage", "leader")]
    broken = [_said(v, lang) for v in checked.violations if v.rule not in ("coverage", "leader")]
    claimed = roster_data.get("objective")
    if checked.claimed_ok is False:
        broken.append(
            i18n.translate(lang, "solve_objective_differs").format(claimed=claimed, objective=checked.objective)
        )
    return Verdict(CHECKER, tuple(_said(v, lang) for v in gaps), tuple(broken), checked.objective)


CHECKER = "activities.roster.formatcheck"


def _said(violation: formatcheck.FormatViolation, lang: str) -> str:
    return (violation.message_zh or violation.message) if lang == "zh" else violation.message


def report(
    instance: fileformat.Instance,
    result: roster.RosterResult,
    roster_data: dict,
    verdict: Verdict,
    month: Path,
    out: Path,
    lang: str = "en",
) -> dict:
    """The rule report of a roster file: the format's objective and its parts (the load spread of leaders
    and of the others, assignments away from home), gaps with their reasons, capacity problems, and the
    checker's verdict; reasons and problems in Chinese with lang "zh"."""
    problem = instance.problem
    shifts = {s.id: s for s in problem.shifts}
    people = {v.id: v for v in problem.volunteers}
    assigned = fileformat.assignments(roster_data)
    load = dict.fromkeys(people, 0)
    for a in assigned:
        load[a.volunteer_id] = load.get(a.volunteer_id, 0) + 1
    groups = {}
    for group, leader in (("leaders", True), ("others", False)):
        loads = [load[v.id] for v in problem.volunteers if v.leader == leader]
        if loads:
            groups[group] = {"volunteers": len(loads), "min": min(loads), "max": max(loads)}
            groups[group]["spread"] = groups[group]["max"] - groups[group]["min"]
    off_home = sum(
        1
        for a in assigned
        if a.shift_id in shifts
        and a.volunteer_id in people
        and shifts[a.shift_id].grid != people[a.volunteer_id].home_grid
    )
    zh = lang == "zh"
    gaps = []
    for g in result.gaps:
        s = shifts[g.shift_id]
        gaps.append(
            {
                "shift": g.shift_id,
                "grid": s.grid,
                "grid_name": problem.grid_name(s.grid),
                "start": s.start.isoformat(timespec="minutes"),
                "missing": g.missing,
                "leader_missing": g.leader_missing,
                "reason": (g.reason_zh or g.reason) if zh else g.reason,
            }
        )
    objective = roster_data.get("objective")
    bound = roster_data.get("bound") if not gaps else None  # with gaps the solver's bound prices them too
    return {
        "name": instance.name or Path(month).name,
        "month": str(month),
        "out": str(out),
        "status": result.status,
        "solutions": len(result.trajectory),
        "seconds": round(result.wall_time, 2),
        "objective": objective,
        "bound": bound,
        "gap": None if bound is None or not objective else round((objective - bound) / objective, 4),
        "fairness_weight": instance.fairness_weight,
        "off_home_weight": instance.off_home_weight,
        "load": groups,
        "off_home": off_home,
        "assignments": len(assigned),
        "shifts": len(problem.shifts),
        "gaps": gaps,
        "problems": list(result.problems_zh or result.problems) if zh else list(result.problems),
        "checker": {
            "name": verdict.checker,
            "valid": not verdict.broken and not verdict.gaps,
            "objective": verdict.objective,
            "gaps": list(verdict.gaps),
            "broken": list(verdict.broken),
        },
        "exit_code": verdict.code,
    }


def lines(r: dict, lang: str = "en") -> list[str]:
    """The report as people read it, in English or Chinese."""

    def t(key: str, **values) -> str:
        return i18n.translate(lang, f"solve_{key}").format(**values)

    out = [t("written", name=r["name"], out=r["out"])]
    status = t(
        "status",
        status=i18n.state(lang, "solver", r["status"]),
        solutions=r["solutions"],
        seconds=f"{r['seconds']:g}",
    )
    if r["bound"] is not None:
        status += t("bound", bound=r["bound"], gap=f"{r['gap'] or 0:.1%}")
    out.append(status)
    spreads = {group: r["load"].get(group, {}).get("spread", 0) for group in ("leaders", "others")}
    if r["objective"] is not None:
        out.append(
            t(
                "objective",
                objective=r["objective"],
                fairness=r["fairness_weight"],
                leaders=spreads["leaders"],
                others=spreads["others"],
                off_home_weight=r["off_home_weight"],
                off_home=r["off_home"],
            )
        )
    for group in ("leaders", "others"):
        if group in r["load"]:
            out.append(t(f"load_{group}", **r["load"][group]))
    out.append(t("off_home", off_home=r["off_home"], assignments=r["assignments"]))
    if not r["gaps"]:
        out.append(t("covered", shifts=r["shifts"]))
    else:
        out.append(t("short", short=len(r["gaps"]), shifts=r["shifts"]))
        by_reason: dict[str, list[dict]] = {}
        for g in r["gaps"]:
            by_reason.setdefault(g["reason"], []).append(g)
        for reason, gaps in by_reason.items():
            out.append(f"    • {reason}")
            out.append("        " + "; ".join(_gap_label(g, t, lang) for g in gaps))
    told = {g["reason"] for g in r["gaps"]}
    problems = [p for p in r["problems"] if p not in told]
    if problems:
        out.append(t("problems"))
        out += [f"    • {p}" for p in problems]
    checker = r["checker"]
    if checker["broken"]:
        out.append(t("checker_broken", checker=checker["name"], broken=len(checker["broken"])))
        out += [f"    • {b}" for b in checker["broken"]]
    elif checker["gaps"]:
        out.append(
            t("checker_gaps", checker=checker["name"], gaps=len(checker["gaps"]), objective=checker["objective"])
        )
    else:
        out.append(t("checker_valid", checker=checker["name"], objective=checker["objective"]))
    return out


def _gap_label(g: dict, t: Callable[..., str], lang: str) -> str:
    """s12 (G1, 2026-12-07 19:00) 1 short, no leader"""
    what = []
    if g["missing"]:
        what.append(t("missing", missing=g["missing"]))
    if g["leader_missing"]:
        what.append(t("no_leader"))
    joined = ("，" if lang == "zh" else ", ").join(what)
    return t("gap", shift=g["shift"], grid=g["grid_name"], start=g["start"].replace("T", " "), what=joined)


def progress_line(elapsed: float, objective: int, bound: int, lang: str = "en") -> str:
    return i18n.translate(lang, "solve_progress").format(elapsed=elapsed, objective=objective, bound=bound)
