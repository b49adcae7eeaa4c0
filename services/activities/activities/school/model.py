"""Plain input and output data of the weekend school's tutor assignment: no database, no nameko, no CP-SAT.

Times are naive local datetimes in Asia/Shanghai; the caller converts at the edge. Pupils are minors: the
data carries their ids only, and the service maps ids to names for those allowed to see them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# the service's default ratio (activities.domain.DEFAULT_PUPILS_PER_TUTOR; a test keeps them equal)
PUPILS_PER_TUTOR = 5


@dataclass(frozen=True)
class Pupil:
    id: str
    grade: int  # 1-6 primary school, 7-9 junior middle school
    subjects: tuple[str, ...]  # subject codes they need help with, e.g. ("math", "english")


@dataclass(frozen=True)
class Tutor:
    id: str
    subjects: frozenset[str]  # subject codes they can teach
    sessions: frozenset[str]  # ids of the sessions they are available for
    max_pupils: int | None = None  # pupils at once in one session; None = Problem.pupils_per_tutor
    max_sessions: int | None = None  # sessions they teach in over the term; None = no limit


@dataclass(frozen=True)
class Session:
    """One morning or afternoon of the weekend school."""

    id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, order=True)
class Assignment:
    """A tutor teaches a pupil a subject in a session."""

    session_id: str
    pupil_id: str
    subject: str
    tutor_id: str


@dataclass(frozen=True, order=True)
class Pin:
    """An organiser's fixed choice: this tutor teaches this pupil this subject in this session."""

    pupil_id: str
    subject: str
    session_id: str
    tutor_id: str

    def assignment(self) -> Assignment:
        return Assignment(self.session_id, self.pupil_id, self.subject, self.tutor_id)


@dataclass(frozen=True)
class Problem:
    pupils: tuple[Pupil, ...]
    tutors: tuple[Tutor, ...]
    sessions: tuple[Session, ...]
    # session id -> ids of the pupils who come to it; a session not listed (or attendance None): every pupil
    attendance: Mapping[str, frozenset[str]] | None = None
    pupils_per_tutor: int = PUPILS_PER_TUTOR
    # assignments from earlier weeks, oldest first: the last one of a pupil and subject names the tutor
    # they had coming into these sessions (their session ids need not be among `sessions`)
    previous: tuple[Assignment, ...] = ()
    pins: tuple[Pin, ...] = ()
    weights: Mapping[str, int] = field(default_factory=dict)  # overrides of rules.SOFT_RULES weights


@dataclass(frozen=True)
class Options:
    time_limit: float = 10.0  # seconds of wall time for the whole call
    num_workers: int = 2
    seed: int = 0
    # the greedy and the windows of sessions (lns.py) before CP-SAT's search on the whole term; False: CP-SAT alone
    warm_start: bool = True
    log: bool = False


@dataclass(frozen=True)
class Uncovered:
    """A pupil's subject in a session that no tutor teaches, and why, in English and Chinese."""

    session_id: str
    pupil_id: str
    subject: str
    reason: str
    reason_zh: str


@dataclass(frozen=True)
class UnkeptPin:
    """A pin the hard rules (or an earlier pin) forbid: left out, and why."""

    pin: Pin
    reason: str
    reason_zh: str


@dataclass(frozen=True)
class Result:
    # "optimal" (proven), "feasible" (the best found in the time limit; with Options.warm_start False and no
    # solution in time, no assignments at all); uncovered needs do not change it
    status: str
    assignments: tuple[Assignment, ...]
    uncovered: tuple[Uncovered, ...]
    objective: int  # weighted soft cost of `assignments`
    bound: int  # lower bound on the objective of any assignment (CP-SAT's, or the counted shortfall of seats)
    tutor_changes: int  # units of the `tutor_change` rule
    wall_time: float
    costs: Mapping[str, int]  # soft rule -> weighted cost
    unkept_pins: tuple[UnkeptPin, ...] = ()

    @property
    def covered(self) -> int:
        return len(self.assignments)


@dataclass(frozen=True)
class Violation:
    # "unknown", "not_needed", "duplicate", "subject", "availability", "capacity", "term_cap", "pinned"
    rule: str
    message: str
    message_zh: str
    session_id: str | None = None
    pupil_id: str | None = None
    tutor_id: str | None = None
    subject: str | None = None
