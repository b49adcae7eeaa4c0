"""Terms of the weekend school made from a few numbers and a seed, for tests and the benchmark.

Each weekend has a Saturday morning (09:00-11:30) and a Sunday afternoon (14:00-16:30) session. A pupil of
grade 1-9 needs one or two subjects (physics from grade 8, chemistry in grade 9) and comes on Saturdays,
Sundays or both, missing one session in ten. A tutor teaches one to three subjects, is available for 60-90 %
of the sessions, one in five takes at most 3 pupils at once and three in ten cap their sessions in the term.
Every subject has a tutor, though not always one who is free.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from .model import PUPILS_PER_TUTOR, Assignment, Problem, Pupil, Session, Tutor

SUBJECTS = ("math", "chinese", "english", "physics", "chemistry")
DEMAND = {"math": 3, "chinese": 2, "english": 2, "physics": 2, "chemistry": 1}  # how often pupils need them
SUPPLY = {"math": 3, "chinese": 2.5, "english": 2.5, "physics": 1, "chemistry": 0.7}  # how often tutors teach them
FROM_GRADE = {"physics": 8, "chemistry": 9}
MORNING = (time(9), time(11, 30))
AFTERNOON = (time(14), time(16, 30))
TERM_START = date(2027, 3, 6)  # a Saturday: the spring term


def term(
    pupils: int = 40,
    tutors: int = 15,
    subjects: int = 4,
    weekends: int = 16,
    seed: int = 0,
    previous: bool = True,
    pupils_per_tutor: int = PUPILS_PER_TUTOR,
    start: date = TERM_START,
) -> Problem:
    """A term drawn from `seed` alone. With `previous`, seven in ten of the pupils' subjects come with the tutor
    who taught them last term (Problem.previous)."""
    if not 1 <= subjects <= len(SUBJECTS):
        raise ValueError(f"subjects: 1..{len(SUBJECTS)}")
    if start.weekday() != 5:
        raise ValueError("start: a Saturday")
    rng = random.Random(seed)
    codes = SUBJECTS[:subjects]
    sessions = _sessions(start, weekends)
    kids = [_pupil(rng, f"p{i + 1}", codes) for i in range(pupils)]
    staff = [_tutor(rng, f"t{j + 1}", codes, sessions, [codes[j]] if j < len(codes) else []) for j in range(tutors)]
    attendance = _attendance(rng, kids, sessions)
    before = ()
    if previous:
        before = tuple(
            Assignment("last-term", p.id, u, rng.choice(able).id)
            for p in kids
            for u in p.subjects
            if (able := [t for t in staff if u in t.subjects]) and rng.random() < 0.7
        )
    return Problem(
        pupils=tuple(kids),
        tutors=tuple(staff),
        sessions=tuple(sessions),
        attendance=attendance,
        pupils_per_tutor=pupils_per_tutor,
        previous=before,
    )


def _sessions(start: date, weekends: int) -> list[Session]:
    out = []
    for w in range(weekends):
        saturday = start + timedelta(days=7 * w)
        for day, (begin, end), name in ((saturday, MORNING, "sat"), (saturday + timedelta(days=1), AFTERNOON, "sun")):
            out.append(Session(f"w{w + 1}-{name}", datetime.combine(day, begin), datetime.combine(day, end)))
    return out


def _pupil(rng: random.Random, pid: str, codes: tuple[str, ...]) -> Pupil:
    grade = rng.randint(1, 9)
    open_ = [u for u in codes if grade >= FROM_GRADE.get(u, 1)]
    wanted = rng.choice((1, 2))
    chosen: list[str] = []
    while open_ and len(chosen) < wanted:
        u = rng.choices(open_, [DEMAND[c] for c in open_])[0]
        chosen.append(u)
        open_.remove(u)
    return Pupil(pid, grade, tuple(chosen))


def _tutor(rng: random.Random, tid: str, codes: tuple[str, ...], sessions: list[Session], first: list[str]) -> Tutor:
    many = min(len(codes), rng.choices((1, 2, 3), (4, 4, 2))[0])
    chosen = list(first)
    open_ = [u for u in codes if u not in chosen]
    while open_ and len(chosen) < many:
        u = rng.choices(open_, [SUPPLY[c] for c in open_])[0]
        chosen.append(u)
        open_.remove(u)
    rate = rng.uniform(0.6, 0.9)
    free = frozenset(s.id for s in sessions if rng.random() < rate)
    max_pupils = 3 if rng.random() < 0.2 else None
    max_sessions = round(len(sessions) * rng.uniform(0.3, 0.6)) if rng.random() < 0.3 else None
    return Tutor(tid, frozenset(chosen), free, max_pupils, max_sessions)


def _attendance(rng: random.Random, kids: list[Pupil], sessions: list[Session]) -> dict[str, frozenset[str]]:
    days = {p.id: rng.choices(("sat", "sun", "both"), (4, 3, 3))[0] for p in kids}
    out = {}
    for s in sessions:
        day = s.id.rsplit("-", 1)[1]
        out[s.id] = frozenset(p.id for p in kids if days[p.id] in (day, "both") and rng.random() < 0.9)
    return out
