"""The patrol roster solver: plain data in, plain data out (no nameko, no database).

solve(problem, options, progress) -> RosterResult
check_capacity(problem) -> list[str]          explain(problem) -> Explanation
repair(problem, previous, ...) -> RosterResult check_swap(problem, roster, a, b) -> list[Violation]
validate(problem, assignments) -> list[Violation]
"""

from .bounds import check_capacity
from .explain import explain
from .model import (
    Assignment,
    Explanation,
    Gap,
    Options,
    Problem,
    Relaxation,
    Report,
    RosterResult,
    Rules,
    Shift,
    Violation,
    Volunteer,
    VolunteerLoad,
)
from .repair import check_swap, repair
from .rules import SOFT_RULES
from .solver import cost_of, solve
from .validator import validate

__all__ = [
    "SOFT_RULES",
    "Assignment",
    "Explanation",
    "Gap",
    "Options",
    "Problem",
    "Relaxation",
    "Report",
    "RosterResult",
    "Rules",
    "Shift",
    "Violation",
    "Volunteer",
    "VolunteerLoad",
    "check_capacity",
    "check_swap",
    "cost_of",
    "explain",
    "repair",
    "solve",
    "validate",
]
