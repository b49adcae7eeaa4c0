"""Pre-computed structure of a term shared by the greedy, the counting report and the CP-SAT model: the needs
in time order, the tutors who may take each (qualified and available), each pupil's subject as a chain of
needs for continuity, and the pins the rules allow.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from . import rules as R
from . import wording
from .model import Pin, Problem, Pupil, Session, Tutor, UnkeptPin

ELSEWHERE = -1  # a previous tutor who is not among this term's tutors: any tutor now is a change
Pair = tuple[int, int]  # (need, tutor) positions: one assignment


@dataclass(frozen=True)
class Need:
    session: int  # position in Index.sessions
    pupil: int  # position in Index.pupils
    subject: str


@dataclass
class Index:
    problem: Problem
    sessions: list[Session] = field(default_factory=list)  # in time order
    pupils: list[Pupil] = field(default_factory=list)
    tutors: list[Tutor] = field(default_factory=list)
    spos: dict[str, int] = field(default_factory=dict)
    ppos: dict[str, int] = field(default_factory=dict)
    tpos: dict[str, int] = field(default_factory=dict)
    needs: list[Need] = field(default_factory=list)  # in time order
    npos: dict[tuple[int, int, str], int] = field(default_factory=dict)  # (session, pupil, subject) -> need
    candidates: list[list[int]] = field(default_factory=list)  # need -> tutors qualified and available
    seats: list[int] = field(default_factory=list)  # tutor -> pupils at once
    # (pupil, subject) -> its needs in time order, and the tutor who taught it last before the term
    chains: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    before: dict[tuple[int, str], int] = field(default_factory=dict)  # tutor position or ELSEWHERE
    pinned: dict[int, int] = field(default_factory=dict)  # need -> tutor
    unkept: list[UnkeptPin] = field(default_factory=list)
    could_teach: list[int] = field(default_factory=list)  # tutors with at least one candidate need
    # a window of a larger term (lns.restrict): what the fixed rest of the term implies
    after: dict[tuple[int, str], int] = field(default_factory=dict)  # (pupil, subject) -> its next tutor after
    load_outside: list[int] | None = None  # tutor -> sessions they teach outside the window
    fair_tutors: list[int] | None = None  # the term's could_teach, for fair_spread; None = could_teach

    @classmethod
    def build(cls, problem: Problem) -> Index:
        ix = cls(problem)
        ix.sessions = sorted(problem.sessions, key=lambda s: (s.start, s.id))
        ix.pupils = list(problem.pupils)
        ix.tutors = list(problem.tutors)
        ix.spos = {s.id: i for i, s in enumerate(ix.sessions)}
        ix.ppos = {p.id: i for i, p in enumerate(ix.pupils)}
        ix.tpos = {t.id: i for i, t in enumerate(ix.tutors)}
        ix.seats = [R.seats(t, problem) for t in ix.tutors]
        attendance = problem.attendance or {}
        for si, s in enumerate(ix.sessions):
            coming = attendance.get(s.id)
            for pi, p in enumerate(ix.pupils):
                if coming is not None and p.id not in coming:
                    continue
                for subject in dict.fromkeys(p.subjects):
                    ix.npos[si, pi, subject] = len(ix.needs)
                    ix.needs.append(Need(si, pi, subject))
        ix.candidates = [
            [
                ti
                for ti, t in enumerate(ix.tutors)
                if n.subject in t.subjects and ix.sessions[n.session].id in t.sessions and ix.seats[ti] > 0
            ]
            for n in ix.needs
        ]
        chains: dict[tuple[int, str], list[int]] = defaultdict(list)
        for ni, n in enumerate(ix.needs):
            chains[n.pupil, n.subject].append(ni)
        ix.chains = dict(chains)
        for a in problem.previous:
            key = (ix.ppos.get(a.pupil_id), a.subject)
            if key in ix.chains:
                ix.before[key] = ix.tpos.get(a.tutor_id, ELSEWHERE)
        ix.could_teach = sorted({ti for c in ix.candidates for ti in c})
        ix._pin(problem.pins)
        return ix

    def _pin(self, pins: tuple[Pin, ...]) -> None:
        """Keep the pins the hard rules allow, in the order given; say why each other one is left out."""
        seated: dict[tuple[int, int], set[int]] = defaultdict(set)  # (tutor, session) -> pupils
        taught: dict[int, set[int]] = defaultdict(set)  # tutor -> sessions
        for pin in pins:
            why = self._pin_problem(pin, seated, taught)
            if why:
                self.unkept.append(UnkeptPin(pin, *why))
                continue
            ti, si, pi = self.tpos[pin.tutor_id], self.spos[pin.session_id], self.ppos[pin.pupil_id]
            self.pinned[self.npos[si, pi, pin.subject]] = ti
            seated[ti, si].add(pi)
            taught[ti].add(si)

    def _pin_problem(self, pin: Pin, seated, taught) -> tuple[str, str] | None:
        what = f"pin of tutor {pin.tutor_id} for pupil {pin.pupil_id}'s {wording.subject(pin.subject)}"
        what_zh = f"指定老师{pin.tutor_id}辅导学生{pin.pupil_id}的{wording.subject_zh(pin.subject)}"
        if pin.tutor_id not in self.tpos or pin.pupil_id not in self.ppos or pin.session_id not in self.spos:
            return (
                f"{what} in session {pin.session_id}: unknown tutor, pupil or session",
                f"{what_zh}（场次{pin.session_id}）：老师、学生或场次不存在",
            )
        ti, si, pi = self.tpos[pin.tutor_id], self.spos[pin.session_id], self.ppos[pin.pupil_id]
        tutor, session = self.tutors[ti], self.sessions[si]
        what += f" on {wording.session(session)}"
        what_zh = f"{wording.session_zh(session)}，{what_zh}"
        ni = self.npos.get((si, pi, pin.subject))
        if ni is None:
            return f"{what}: the pupil does not come or does not need it", f"{what_zh}：该学生不来或不需要这门课"
        if pin.subject not in tutor.subjects:
            return f"{what}: the tutor does not teach it", f"{what_zh}：该老师不教这门课"
        if session.id not in tutor.sessions or self.seats[ti] <= 0:
            return f"{what}: the tutor is not available then", f"{what_zh}：该老师那时没空"
        if ni in self.pinned:
            other = self.tutors[self.pinned[ni]].id
            return f"{what}: already pinned to tutor {other}", f"{what_zh}：已指定给老师{other}"
        if pi not in seated[ti, si] and len(seated[ti, si]) >= self.seats[ti]:
            return (
                f"{what}: the tutor already has {self.seats[ti]} pinned pupils then",
                f"{what_zh}：该老师那时已指定了{self.seats[ti]}名学生",
            )
        cap = tutor.max_sessions
        if cap is not None and si not in taught[ti] and len(taught[ti]) >= cap:
            return (
                f"{what}: the tutor's other pins already fill their {cap} sessions",
                f"{what_zh}：该老师的其他指定已占满其{cap}个场次",
            )
        return None

    def describe(self, ni: int) -> tuple[str, str]:
        """A need in words: pupil p3's maths on Saturday 6 March morning."""
        n = self.needs[ni]
        s, p = self.sessions[n.session], self.pupils[n.pupil]
        return (
            f"pupil {p.id}'s {wording.subject(n.subject)} on {wording.session(s)}",
            f"{wording.session_zh(s)}，学生{p.id}的{wording.subject_zh(n.subject)}",
        )
