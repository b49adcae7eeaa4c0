"""An independent check of a tutor assignment, written from the rules alone: the hard rules it breaks and the
cost of each soft rule, recomputed.

It shares no code with the index, the greedy or the CP-SAT model (only the weight table and words), so a
modelling mistake shows up here. Each violation is said in English and in Chinese.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from . import wording
from .model import Assignment, Problem, Violation
from .rules import weights


def validate(problem: Problem, assignments: Iterable[Assignment]) -> list[Violation]:
    """Every broken hard rule (covering every need is a soft rule: see `units`)."""
    assignments = list(assignments)
    kept = set(assignments)
    return (
        _duplicates(assignments)
        + _each(problem, kept)
        + _capacity(problem, kept)
        + _term_cap(problem, kept)
        + _pins(problem, kept)
    )


def units(problem: Problem, assignments: Iterable[Assignment]) -> dict[str, int]:
    """Units of each soft rule (unweighted): uncovered needs, tutor changes, extra tutors, spread of loads."""
    needs = _needs(problem)
    known = set(needs)
    kept = {a for a in set(assignments) if (a.session_id, a.pupil_id, a.subject) in known}
    tutors_of: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # need -> tutors
    for a in kept:
        tutors_of[a.session_id, a.pupil_id, a.subject].add(a.tutor_id)
    return {
        "uncovered_need": sum(1 for n in needs if not tutors_of[n]),
        "tutor_change": _changes(problem, needs, tutors_of),
        "split_pupil": _splits(kept),
        "fair_spread": _spread(problem, needs, kept),
    }


def costs(problem: Problem, assignments: Iterable[Assignment]) -> dict[str, int]:
    """Weighted cost of each soft rule."""
    w = weights(problem)
    return {rule: n * w[rule] for rule, n in units(problem, assignments).items()}


def cost(problem: Problem, assignments: Iterable[Assignment]) -> int:
    return sum(costs(problem, assignments).values())


def _needs(problem: Problem) -> list[tuple[str, str, str]]:
    """(session, pupil, subject) of every need, sessions in time order."""
    attendance = problem.attendance or {}
    out = []
    for s in sorted(problem.sessions, key=lambda s: (s.start, s.id)):
        coming = attendance.get(s.id)
        for p in problem.pupils:
            if coming is None or p.id in coming:
                out += [(s.id, p.id, subject) for subject in dict.fromkeys(p.subjects)]
    return out


def _seats(problem: Problem, tutor) -> int:
    return problem.pupils_per_tutor if tutor.max_pupils is None else tutor.max_pupils


def _changes(problem: Problem, needs, tutors_of) -> int:
    """Per pupil and subject, in time order: a covered need whose tutor is not the last one it had."""
    last: dict[tuple[str, str], str] = {}
    for a in problem.previous:
        last[a.pupil_id, a.subject] = a.tutor_id
    changes = 0
    for session_id, pupil_id, subject in needs:
        tutors = sorted(tutors_of[session_id, pupil_id, subject])
        if not tutors:
            continue
        before = last.get((pupil_id, subject))
        changes += before is not None and tutors[0] != before
        last[pupil_id, subject] = tutors[0]
    return changes


def _splits(kept: set[Assignment]) -> int:
    tutors: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a in kept:
        tutors[a.session_id, a.pupil_id].add(a.tutor_id)
    return sum(len(t) - 1 for t in tutors.values())


def _spread(problem: Problem, needs, kept: set[Assignment]) -> int:
    """Most minus fewest sessions taught, among the tutors qualified and available for some need."""
    subjects_in: dict[str, set[str]] = defaultdict(set)
    for session_id, _, subject in needs:
        subjects_in[session_id].add(subject)
    could = [
        t.id for t in problem.tutors if _seats(problem, t) > 0 and any(t.subjects & subjects_in[s] for s in t.sessions)
    ]
    if not could:
        return 0
    taught: dict[str, set[str]] = defaultdict(set)
    for a in kept:
        taught[a.tutor_id].add(a.session_id)
    loads = [len(taught[t]) for t in could]
    return max(loads) - min(loads)


def _duplicates(assignments: list[Assignment]) -> list[Violation]:
    out = []
    for a, n in sorted(Counter(assignments).items()):
        if n > 1:
            out.append(
                Violation(
                    "duplicate",
                    f"{a} is listed {n} times",
                    f"同一安排出现了{n}次：{a.tutor_id}辅导学生{a.pupil_id}",
                    a.session_id,
                    a.pupil_id,
                    a.tutor_id,
                    a.subject,
                )
            )
    tutors: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for a in set(assignments):
        tutors[a.session_id, a.pupil_id, a.subject].add(a.tutor_id)
    for (session_id, pupil_id, subject), who in sorted(tutors.items()):
        if len(who) > 1:
            out.append(
                Violation(
                    "duplicate",
                    f"pupil {pupil_id}'s {wording.subject(subject)} in session {session_id} has {len(who)} tutors: "
                    + ", ".join(sorted(who)),
                    f"场次{session_id}，学生{pupil_id}的{wording.subject_zh(subject)}排了{len(who)}位老师："
                    + "、".join(sorted(who)),
                    session_id,
                    pupil_id,
                    subject=subject,
                )
            )
    return out


def _each(problem: Problem, kept: set[Assignment]) -> list[Violation]:
    """The rules one assignment breaks on its own: unknown ids, not a need, subject, availability."""
    sessions = {s.id: s for s in problem.sessions}
    pupils = {p.id: p for p in problem.pupils}
    tutors = {t.id: t for t in problem.tutors}
    attendance = problem.attendance or {}
    out = []
    for a in sorted(kept):
        s, p, t = sessions.get(a.session_id), pupils.get(a.pupil_id), tutors.get(a.tutor_id)
        ids = (a.session_id, a.pupil_id, a.tutor_id, a.subject)
        if s is None or p is None or t is None:
            out.append(
                Violation("unknown", f"unknown session, pupil or tutor in {a}", f"场次、学生或老师不存在：{a}", *ids)
            )
            continue
        where = f"tutor {t.id} for pupil {p.id}'s {wording.subject(a.subject)} on {wording.session(s)}"
        where_zh = f"{wording.session_zh(s)}，老师{t.id}辅导学生{p.id}的{wording.subject_zh(a.subject)}"
        coming = attendance.get(s.id)
        if coming is not None and p.id not in coming:
            out.append(Violation("not_needed", f"{where}: the pupil does not come", f"{where_zh}：该学生不来", *ids))
        if a.subject not in p.subjects:
            out.append(
                Violation("not_needed", f"{where}: the pupil does not need it", f"{where_zh}：该学生不需要这门课", *ids)
            )
        if a.subject not in t.subjects:
            out.append(
                Violation("subject", f"{where}: the tutor does not teach it", f"{where_zh}：该老师不教这门课", *ids)
            )
        if s.id not in t.sessions:
            out.append(
                Violation("availability", f"{where}: the tutor is not available", f"{where_zh}：该老师没空", *ids)
            )
    return out


def _capacity(problem: Problem, kept: set[Assignment]) -> list[Violation]:
    tutors = {t.id: t for t in problem.tutors}
    pupils: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a in kept:
        if a.tutor_id in tutors:
            pupils[a.tutor_id, a.session_id].add(a.pupil_id)
    out = []
    for (tutor_id, session_id), who in sorted(pupils.items()):
        seats = _seats(problem, tutors[tutor_id])
        if len(who) > seats:
            out.append(
                Violation(
                    "capacity",
                    f"tutor {tutor_id} has {len(who)} pupils in session {session_id}, at most {seats}",
                    f"老师{tutor_id}在场次{session_id}有{len(who)}名学生，最多{seats}名",
                    session_id,
                    tutor_id=tutor_id,
                )
            )
    return out


def _term_cap(problem: Problem, kept: set[Assignment]) -> list[Violation]:
    taught: dict[str, set[str]] = defaultdict(set)
    for a in kept:
        taught[a.tutor_id].add(a.session_id)
    out = []
    for t in problem.tutors:
        n = len(taught[t.id])
        if t.max_sessions is not None and n > t.max_sessions:
            out.append(
                Violation(
                    "term_cap",
                    f"tutor {t.id} teaches in {n} sessions, at most {t.max_sessions}",
                    f"老师{t.id}本学期排了{n}个场次，最多{t.max_sessions}个",
                    tutor_id=t.id,
                )
            )
    return out


def _pins(problem: Problem, kept: set[Assignment]) -> list[Violation]:
    out = []
    for pin in problem.pins:
        if pin.assignment() not in kept:
            out.append(
                Violation(
                    "pinned",
                    f"pin of tutor {pin.tutor_id} for pupil {pin.pupil_id}'s {wording.subject(pin.subject)} in "
                    f"session {pin.session_id} was not kept",
                    f"指定老师{pin.tutor_id}在场次{pin.session_id}辅导学生{pin.pupil_id}的"
                    f"{wording.subject_zh(pin.subject)}，该安排未保留",
                    pin.session_id,
                    pin.pupil_id,
                    pin.tutor_id,
                    pin.subject,
                )
            )
    return out
