"""Tiny terms for the tutor assignment tests: a pupil or two, a tutor or two, a few sessions, one rule at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

from ortools.sat.python import cp_model

from activities.school import cpmodel, validator
from activities.school.index import Index
from activities.school.model import Assignment, Options, Pin, Problem, Pupil, Session, Tutor

SATURDAY = datetime(2027, 3, 6, 9)
EXACT = Options(time_limit=5, num_workers=1)  # tiny terms: proven optimal well within this


def session(sid: str, week: int = 0, afternoon: bool = False) -> Session:
    start = SATURDAY + timedelta(days=7 * week + afternoon, hours=5 * afternoon)
    return Session(sid, start, start + timedelta(hours=2, minutes=30))


def sessions(n: int) -> list[Session]:
    """s1..sn, one a week."""
    return [session(f"s{k + 1}", k) for k in range(n)]


def pupil(pid: str, *subjects: str, grade: int = 5) -> Pupil:
    return Pupil(pid, grade, subjects or ("math",))


def tutor(tid: str, subjects=("math",), available=("s1",), **kw) -> Tutor:
    return Tutor(tid, frozenset(subjects), frozenset(available), **kw)


def problem(pupils, tutors, sessions_, previous=(), pins=(), **kw) -> Problem:
    return Problem(
        pupils=tuple(pupils),
        tutors=tuple(tutors),
        sessions=tuple(sessions_),
        previous=tuple(Assignment("before", p, u, t) for p, u, t in previous),
        pins=tuple(Pin(p, u, s, t) for s, p, u, t in pins),
        **kw,
    )


def plan(*rows: tuple[str, str, str, str]) -> list[Assignment]:
    """plan(("s1", "p1", "math", "a"), ...): (session, pupil, subject, tutor)."""
    return [Assignment(*row) for row in rows]


def broken(p: Problem, assignments) -> list[str]:
    return sorted({v.rule for v in validator.validate(p, assignments)})


def costs(p: Problem, assignments) -> dict[str, int]:
    """The validator's cost per soft rule (the nonzero ones), after checking the CP-SAT model prices the same
    assignment identically: by its hints, and by its constraints (its least objective with x fixed)."""
    assert validator.validate(p, assignments) == []
    ix = Index.build(p)
    chosen = {
        (ix.npos[ix.spos[a.session_id], ix.ppos[a.pupil_id], a.subject], ix.tpos[a.tutor_id]) for a in assignments
    }
    by_rule = validator.costs(p, assignments)
    assert cpmodel.price(cpmodel.build(ix), chosen) == by_rule
    assert least_objective(cpmodel.build(ix), chosen) == sum(by_rule.values())
    return {rule: cost for rule, cost in by_rule.items() if cost}


def least_objective(b: cpmodel.Built, chosen: set) -> int:
    """The model's objective at an assignment as its constraints allow it: x fixed, every other variable free."""
    for pair, var in b.x.items():
        b.model.Add(var == int(pair in chosen))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.Solve(b.model) == cp_model.OPTIMAL
    return round(solver.ObjectiveValue())
