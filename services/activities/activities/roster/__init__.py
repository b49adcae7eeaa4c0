"""The patrol roster solver: plain data in, plain data out (no nameko, no database). Times are naive local.

solve(problem, options, progress) -> RosterResult        the best roster within options.time_limit
check_capacity(problem) -> list[str]                     why the shifts cannot fit, in plain words (fast)
explain(problem) -> Explanation                          problems, uncoverable shifts, relaxations
repair(problem, previous, dropped, unavailable, frozen_until, options) -> RosterResult   fewest changes
check_swap(problem, roster, a, b) -> list[Violation]     hard rules a swap would break
validate(problem, assignments) -> list[Violation]        the independent check of the hard rules
lower_bound(problem, seconds) -> int                     our bound on the cost of any roster
"""

from .bounds import check_capacity, lower_bound
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
    shift_kind,
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
    "lower_bound",
    "repair",
    "shift_kind",
    "solve",
    "validate",
]
