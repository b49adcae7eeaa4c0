"""Plain input and output data of the patrol roster solver: no database, no nameko, no CP-SAT.

Times are naive local datetimes in Asia/Shanghai; the caller converts at the edge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Volunteer:
    """A volunteer as the roster sees them. Only members of the patrol team (`patrol`) can be rostered."""

    id: str
    name: str
    home_grid: int
    patrol: bool = True  # member of the voluntary patrol team
    leader: bool = False  # may lead a patrol; leaders are expected to carry more shifts
    grids: frozenset[int] = frozenset()  # grids besides the home grid they agreed to patrol
    availability: frozenset[tuple[int, str]] | None = None  # (weekday 0=Monday, shift kind); None = any
    unavailable: tuple[Interval, ...] = ()  # absences
    duties: tuple[Interval, ...] = ()  # existing duties from other activities
    max_per_week: int | None = None  # personal cap; None = Rules.max_per_week
    max_shifts: int | None = None  # personal cap over the whole roster period
    target: int | None = None  # shifts they would like over the period; None = derived fairly
    preferred_days: frozenset[int] = frozenset()  # weekdays; empty = no preference
    preferred_kinds: frozenset[str] = frozenset()  # of SHIFT_KINDS, e.g. {"evening"}; empty = no preference
    partners: frozenset[str] = frozenset()  # volunteer ids they asked to patrol with
    min_rest_hours: float | None = None  # None = Rules.min_rest_hours
    shifts: frozenset[str] | None = None  # the only shifts (ids) they may be given; None = any that fits


SHIFT_KINDS = ("morning", "afternoon", "evening")


def shift_kind(start: datetime) -> str:
    """A shift's time of day by its start: morning before 12:00, afternoon before 18:00, else evening
    (the times of day volunteers name their preferences in)."""
    return "morning" if start.hour < 12 else "afternoon" if start.hour < 18 else "evening"


@dataclass(frozen=True)
class Shift:
    """One patrol of one grid at one time."""

    id: str
    grid: int
    start: datetime
    end: datetime
    min_patrollers: int = 2
    max_patrollers: int = 3
    leader_needed: bool = True
    kind: str = "evening"  # one of SHIFT_KINDS (shift_kind); matched against availability and preferences
    leaders: int = 1  # leaders needed among the patrollers when leader_needed

    @property
    def leaders_needed(self) -> int:
        """How many of the patrollers must be leaders (0 when none is needed)."""
        return self.leaders if self.leader_needed else 0


@dataclass(frozen=True)
class Rules:
    """Hard-rule parameters (defaults) and soft-rule weight overrides (see rules.SOFT_RULES)."""

    max_per_week: int = 3
    min_rest_hours: float = 12.0
    max_weekends_in_row: int = 3
    close_hours: float = 30.0  # two shifts starting closer than this cost `close_shifts`
    neighbour_grids: bool = False  # volunteers may also patrol the grids next to their home grid
    # "end": min_rest_hours from the end of one shift to the start of the next (the service's rule);
    # "start": between the starts of two shifts, which must not overlap either (patrol-roster/1)
    rest_from: str = "end"
    weights: Mapping[str, int] = field(default_factory=dict)  # overrides of rules.SOFT_RULES weights


@dataclass(frozen=True, order=True)
class Assignment:
    shift_id: str
    volunteer_id: str


@dataclass(frozen=True)
class Problem:
    volunteers: tuple[Volunteer, ...]
    shifts: tuple[Shift, ...]
    grid_neighbours: Mapping[int, frozenset[int]] = field(default_factory=dict)
    rules: Rules = field(default_factory=Rules)
    pinned: tuple[Assignment, ...] = ()  # kept whatever the cost
    grid_names: Mapping[int, str] = field(default_factory=dict)  # for messages; default "grid N"
    grid_names_zh: Mapping[int, str] = field(default_factory=dict)  # for the Chinese ones; default "N号网格"

    def grid_name(self, grid: int) -> str:
        return self.grid_names.get(grid) or f"grid {grid}"


@dataclass(frozen=True)
class Options:
    time_limit: float = 10.0  # seconds of wall time for the whole call
    num_workers: int = 2
    coverage: str = "auto"  # "hard": fail with explanations; "soft": gaps cost; "auto": soft only if needed
    seed: int = 0
    warm_start: bool = True  # greedy roster as a hint
    symmetry_breaking: bool = True
    lns_only: bool = True  # every worker improves the warm start by large-neighbourhood search
    stop_gap: float = 0.0  # stop once within this relative gap of the bound
    bound_seconds: float = 0.0  # of time_limit, spent first on our relaxation bound (0: counting bound only)
    bound_worker: bool = True  # with 2+ workers, one proves a lower bound (lb-tree-search) while the others search
    log: bool = False


@dataclass(frozen=True)
class Gap:
    """A shift the roster leaves under-covered, in plain words."""

    shift_id: str
    grid: int
    missing: int  # patrollers short of the minimum
    leader_missing: bool
    reason: str
    reason_zh: str = ""


@dataclass(frozen=True)
class Relaxation:
    """A change to the rules the organiser could accept; `fixes` counts the problems it would solve."""

    kind: str  # "neighbour_grids", "raise_weekly_cap", "accept_under_coverage"
    description: str
    fixes: int = 0
    params: Mapping[str, object] = field(default_factory=dict)
    description_zh: str = ""


@dataclass(frozen=True)
class VolunteerLoad:
    volunteer_id: str
    role: str  # "leader" or "patroller"
    shifts: int
    target: int


@dataclass(frozen=True)
class Report:
    coverage: Mapping[int, Mapping[str, int]]  # grid -> {"shifts", "covered", "places", "filled", "missing"}
    load: Mapping[str, Mapping[str, float]]  # role -> {"min", "max", "spread", "mean", "max_over_target"}
    volunteers: tuple[VolunteerLoad, ...]
    costs: Mapping[str, int]  # soft rule -> weighted cost


@dataclass(frozen=True)
class RosterResult:
    assignments: tuple[Assignment, ...]
    # "optimal", "feasible", "feasible_with_gaps"; with coverage="hard" also "infeasible" (proven) and "unknown"
    # (no complete roster in time), both without assignments but with gaps and problems in words
    status: str
    objective: int | None  # weighted soft cost of `assignments` (rules.evaluate), None without a roster
    bound: int  # lower bound on the objective (max of counting, LP relaxation and CP-SAT bounds)
    gap: float | None  # (objective - bound) / objective
    wall_time: float
    report: Report | None
    gaps: tuple[Gap, ...] = ()
    suggestions: tuple[Relaxation, ...] = ()
    problems: tuple[str, ...] = ()  # capacity problems found before solving, in plain words
    problems_zh: tuple[str, ...] = ()  # the same in Chinese
    solutions: int = 0
    first_solution_time: float | None = None
    trajectory: tuple[tuple[float, int, int], ...] = ()  # (elapsed, objective, bound) per improvement
    changed: int = 0  # repair: assignments added or removed beyond those forced out
    forced_out: int = 0  # repair: previous assignments the change made impossible
    unkept_pins: tuple[Assignment, ...] = ()  # pinned assignments the rules forbid (see problems): left out


@dataclass(frozen=True)
class Explanation:
    problems: tuple[str, ...]
    gaps: tuple[Gap, ...]
    suggestions: tuple[Relaxation, ...]
    problems_zh: tuple[str, ...] = ()


@dataclass(frozen=True)
class Violation:
    rule: str  # "coverage", "leader", "qualification", "grid", "availability", "duty", "rest", "weekly_cap", ...
    message: str
    shift_id: str | None = None
    volunteer_id: str | None = None
    message_zh: str = ""  # the same in Chinese, for organisers and volunteers


# progress(solutions, objective, bound, gap, elapsed) for every improving roster: solutions counts the rosters
# the search found after the first (0 = the warm start), objective is its true cost, elapsed in seconds.
# It is called from CP-SAT's solution callback thread and must be quick and must not block.
Progress = Callable[[int, int, int, float, float], None]
