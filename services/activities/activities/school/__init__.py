"""The weekend school's tutor assignment: plain data in, plain data out (no nameko, no database). Times are
naive local.

solve(problem, options) -> Result                      the best assignment within options.time_limit
lacking(problem, since) -> list[SubjectNeed]           which subjects lack tutors in the coming sessions (counted)
subject_needs(problem, since) -> list[SubjectNeed]     needs, capacity and shortfall per session and subject
validate(problem, assignments) -> list[Violation]      the independent check of the hard rules
costs(problem, assignments) -> dict[str, int]          the independent cost of each soft rule
"""

from .model import (
    Assignment,
    Options,
    Pin,
    Problem,
    Pupil,
    Result,
    Session,
    Tutor,
    Uncovered,
    UnkeptPin,
    Violation,
)
from .report import SubjectNeed, lacking, subject_needs
from .rules import HARD_RULES, SOFT_RULES
from .solver import solve
from .validator import cost, costs, validate

__all__ = [
    "HARD_RULES",
    "SOFT_RULES",
    "Assignment",
    "Options",
    "Pin",
    "Problem",
    "Pupil",
    "Result",
    "Session",
    "SubjectNeed",
    "Tutor",
    "Uncovered",
    "UnkeptPin",
    "Violation",
    "cost",
    "costs",
    "lacking",
    "solve",
    "subject_needs",
    "validate",
]
