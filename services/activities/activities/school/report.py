"""Which subjects lack tutors, counted before any search, and why a need was left without a tutor.

Per session and subject: the pupils who need it, the seats of the tutors qualified for it and free then, and
the shortfall, a lower bound on the needs left uncovered whatever the assignment. A tutor who teaches two
subjects counts in both, and tutors' caps over the term are not counted (they bind across sessions), so a
session can lack tutors without a shortfall here; the search then says so need by need.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from . import wording
from .index import Index, Pair
from .model import Problem, Uncovered


@dataclass(frozen=True)
class SubjectNeed:
    session_id: str
    subject: str
    needs: int  # pupils who need the subject in the session
    capacity: int  # seats of the tutors qualified for it and available then
    shortfall: int  # max(0, needs - capacity)
    message: str
    message_zh: str


def subject_needs(problem: Problem | Index, since: datetime | None = None) -> list[SubjectNeed]:
    """Every (session, subject) with a need, sessions in time order, subjects in wording.SUBJECTS order; with
    `since`, those starting then or later."""
    ix = problem if isinstance(problem, Index) else Index.build(problem)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for n in ix.needs:
        counts[n.session, n.subject] += 1
    out = []
    for (si, subject), needs in sorted(counts.items(), key=lambda kv: (kv[0][0], *wording.order(kv[0][1]))):
        s = ix.sessions[si]
        if since is not None and s.start < since:
            continue
        capacity = sum(
            ix.seats[ti]
            for ti, t in enumerate(ix.tutors)
            if subject in t.subjects and s.id in t.sessions and ix.seats[ti] > 0
        )
        short = max(0, needs - capacity)
        en, zh = wording.subject(subject), wording.subject_zh(subject)
        message = f"{en} on {wording.session(s)}: {needs} pupil{'s' * (needs != 1)} need it"
        message_zh = f"{wording.session_zh(s)}{zh}：{needs}名学生需要"
        if not capacity:
            message += f", no {en} tutor is free then"
            message_zh += f"，当时没有有空的{zh}老师"
        else:
            message += f", the {en} tutors free then can take {capacity}"
            message_zh += f"，当时有空的{zh}老师最多能带{capacity}名"
        if short:
            message += f": {short} short"
            message_zh += f"，缺{short}名"
        out.append(SubjectNeed(s.id, subject, needs, capacity, short, message, message_zh))
    return out


def lacking(problem: Problem | Index, since: datetime | None = None) -> list[SubjectNeed]:
    """The subjects that lack tutors in the (coming) sessions: subject_needs with a shortfall."""
    return [row for row in subject_needs(problem, since) if row.shortfall]


def shortfall(ix: Index) -> int:
    """Needs no assignment can cover, by counting alone."""
    return sum(row.shortfall for row in subject_needs(ix))


def uncovered(ix: Index, chosen: set[Pair], rows: list[SubjectNeed] | None = None) -> list[Uncovered]:
    """Each need without a tutor, with the most specific reason: nobody teaches the subject, nobody is free
    then, the counted shortfall of its session and subject, or the free tutors are full or at their cap."""
    covered = {ni for ni, _ in chosen}
    rows = subject_needs(ix) if rows is None else rows
    short = {(r.session_id, r.subject): r for r in rows if r.shortfall}
    taught = {subject for t in ix.tutors for subject in t.subjects}
    out = []
    for ni, n in enumerate(ix.needs):
        if ni in covered:
            continue
        s = ix.sessions[n.session]
        en, zh = wording.subject(n.subject), wording.subject_zh(n.subject)
        row = short.get((s.id, n.subject))
        if n.subject not in taught:
            why, why_zh = f"no tutor teaches {en}", f"没有老师能教{zh}"
        elif not ix.candidates[ni]:
            why, why_zh = f"no {en} tutor is free then", f"当时没有有空的{zh}老师"
        elif row is not None:
            why, why_zh = row.message, row.message_zh
        else:
            why = f"the {en} tutors free then are full with other pupils or at their number of sessions in the term"
            why_zh = f"当时有空的{zh}老师都已带满其他学生，或已到本学期的场次上限"
        what, what_zh = ix.describe(ni)
        out.append(Uncovered(s.id, ix.pupils[n.pupil].id, n.subject, f"{what}: {why}", f"{what_zh}：{why_zh}"))
    return out
