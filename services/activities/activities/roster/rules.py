"""The rules of a patrol roster: the soft-rule weight table, per-volunteer defaults of the hard rules,
and the cost of a roster computed straight from its assignments (the solver's objective must equal it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Assignment, Problem, Rules, Shift, Volunteer


@dataclass(frozen=True)
class SoftRule:
    name: str
    weight: int
    unit: str


# The one table of soft rules. Costs are integers: weight x units.
SOFT_RULES: tuple[SoftRule, ...] = (
    SoftRule("uncovered_place", 1000, "patroller short of a shift's minimum (soft coverage mode only)"),
    SoftRule("missing_leader", 1000, "leader a shift needs and lacks (soft coverage mode only)"),
    SoftRule("fair_load", 10, "shift above or below the volunteer's own target"),
    SoftRule("role_spread", 10, "spread of (shifts - target) among volunteers of one role (leader, patroller)"),
    SoftRule("away_from_home", 3, "shift outside the volunteer's home grid"),
    SoftRule("not_preferred", 2, "shift on a day or at a time the volunteer did not prefer"),
    SoftRule("partner_apart", 2, "shift a volunteer patrols without the partner they asked for"),
    SoftRule("weekend_streak", 15, "window of Rules.max_weekends_in_row + 1 weekends in a row, all of them worked"),
    SoftRule("close_shifts", 4, "pair of a volunteer's shifts starting less than Rules.close_hours apart"),
)
DEFAULT_WEIGHTS: Mapping[str, int] = {rule.name: rule.weight for rule in SOFT_RULES}
CHANGE_WEIGHT = 10_000  # repair: one changed assignment outweighs any soft cost it could save
FROZEN_CHANGE_WEIGHT = 100_000  # repair: a change inside the published (frozen) period
REPAIR_COVER_WEIGHT = 1_000_000  # repair: a place (or leader) left uncovered, worth ten frozen changes


def weights(rules: Rules) -> dict[str, int]:
    unknown = set(rules.weights) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown soft rules: {sorted(unknown)}")
    return {**DEFAULT_WEIGHTS, **rules.weights}


def role(volunteer: Volunteer) -> str:
    return "leader" if volunteer.leader else "patroller"


def weekly_cap(volunteer: Volunteer, rules: Rules) -> int:
    return rules.max_per_week if volunteer.max_per_week is None else volunteer.max_per_week


def rest_hours(volunteer: Volunteer, rules: Rules) -> float:
    return rules.min_rest_hours if volunteer.min_rest_hours is None else volunteer.min_rest_hours


def free_again(rules: Rules, rest: float, start: datetime, end: datetime) -> datetime:
    """When a volunteer who works from start to end may start another shift under the rest rule
    (rules.rest_from says what the rest is measured from; with "start" the shifts must not overlap either)."""
    if rules.rest_from == "start":
        return max(start + timedelta(hours=rest), end)
    return end + timedelta(hours=rest)


def too_close(rules: Rules, rest: float):
    """near(earlier, later) for two (start, end) intervals, the earlier starting first: whether one volunteer
    may not work both under the rest rule. Each shift keeps its volunteer from its start until free_again,
    so two shifts clash exactly when those spans overlap."""
    return lambda a, b: b[0] < free_again(rules, rest, *a)


def allowed_grids(volunteer: Volunteer, problem: Problem) -> frozenset[int]:
    grids = {volunteer.home_grid, *volunteer.grids}
    if problem.rules.neighbour_grids:
        grids |= problem.grid_neighbours.get(volunteer.home_grid, frozenset())
    return frozenset(grids)


def week_of(moment: datetime) -> tuple[int, int]:
    year, week, _ = moment.isocalendar()
    return year, week


def is_weekend(shift: Shift) -> bool:
    return shift.start.weekday() >= 5


def place_cost(w: Mapping[str, int], volunteer: Volunteer, shift: Shift) -> int:
    """What one assignment costs on its own: away from home, not on a preferred day or time (weights `w`)."""
    return w["away_from_home"] * (shift.grid != volunteer.home_grid) + w["not_preferred"] * (
        not is_preferred(volunteer, shift)
    )


def is_preferred(volunteer: Volunteer, shift: Shift) -> bool:
    if volunteer.preferred_days and shift.start.weekday() not in volunteer.preferred_days:
        return False
    return not volunteer.preferred_kinds or shift.kind in volunteer.preferred_kinds


def partner_pairs(problem: Problem) -> list[tuple[str, str]]:
    """Pairs who asked to patrol together (either one asking is enough), both in the patrol team."""
    patrol = {v.id for v in problem.volunteers if v.patrol}
    pairs = {tuple(sorted((v.id, p))) for v in problem.volunteers if v.patrol for p in v.partners if p in patrol}
    return sorted(p for p in pairs if p[0] != p[1])


def apportion(total: int, caps: Mapping[str, int]) -> dict[str, int]:
    """Split `total` among keys in proportion to their caps (largest remainder), never above a cap."""
    share = dict.fromkeys(caps, 0)
    remaining = min(total, sum(caps.values()))
    while remaining > 0:
        room = {k: caps[k] - share[k] for k in caps if caps[k] > share[k]}
        weight = sum(room.values())
        exact = {k: remaining * r / weight for k, r in room.items()}
        given = 0
        for k, e in exact.items():
            share[k] += int(e)
            given += int(e)
        rest = remaining - given
        for k in sorted(room, key=lambda k: (int(exact[k]) - exact[k], k))[:rest]:
            share[k] += 1
            given += 1
        remaining -= given
    return share


def derive_targets(problem: Problem, capacity: Mapping[str, int]) -> dict[str, int]:
    """Each volunteer's fair share of the places, relative to what they can give.

    A declared target is kept (up to capacity). Leader places (one per shift needing a leader) go to
    leaders in proportion to capacity, then the remaining places to everyone in proportion to the capacity
    left, so leaders carry more by design and fairness compares each volunteer with their own target.
    """
    volunteers = [v for v in problem.volunteers if v.patrol]
    places = sum(s.min_patrollers for s in problem.shifts)
    leader_places = sum(s.leaders_needed for s in problem.shifts)
    fixed = {v.id: min(v.target, capacity[v.id]) for v in volunteers if v.target is not None}
    free = [v for v in volunteers if v.id not in fixed]
    leaders = {v.id for v in volunteers if v.leader}
    fixed_leaders = sum(t for vid, t in fixed.items() if vid in leaders)
    leader_share = apportion(max(0, leader_places - fixed_leaders), {v.id: capacity[v.id] for v in free if v.leader})
    targets = {**fixed, **{v.id: leader_share.get(v.id, 0) for v in free}}
    left = max(0, places - sum(targets.values()))
    extra = apportion(left, {v.id: capacity[v.id] - targets[v.id] for v in free})
    for vid, n in extra.items():
        targets[vid] += n
    return targets


def evaluate(problem: Problem, assignments: Iterable[Assignment], targets: Mapping[str, int]) -> dict[str, int]:
    """Weighted cost of each soft rule for a roster, computed from the assignments alone."""
    w = weights(problem.rules)
    rules = problem.rules
    shifts = {s.id: s for s in problem.shifts}
    volunteers = {v.id: v for v in problem.volunteers}
    crew: dict[str, set[str]] = defaultdict(set)
    mine: dict[str, list[Shift]] = defaultdict(list)
    for a in set(assignments):
        crew[a.shift_id].add(a.volunteer_id)
        mine[a.volunteer_id].append(shifts[a.shift_id])
    units: dict[str, int] = dict.fromkeys(w, 0)

    for s in problem.shifts:
        units["uncovered_place"] += max(0, s.min_patrollers - len(crew[s.id]))
        units["missing_leader"] += max(0, s.leaders_needed - sum(1 for v in crew[s.id] if volunteers[v].leader))

    by_role: dict[str, list[int]] = defaultdict(list)
    for v in problem.volunteers:
        if not v.patrol:
            continue
        diff = len(mine[v.id]) - targets.get(v.id, 0)
        units["fair_load"] += abs(diff)
        by_role[role(v)].append(diff)
    units["role_spread"] = sum(max(d) - min(d) for d in by_role.values())

    weeks = weekend_weeks(problem)
    for vid, own in mine.items():
        v = volunteers[vid]
        units["away_from_home"] += sum(1 for s in own if s.grid != v.home_grid)
        units["not_preferred"] += sum(1 for s in own if not is_preferred(v, s))
        starts = sorted(s.start for s in own)
        for i, a in enumerate(starts):
            for b in starts[i + 1 :]:
                if (b - a).total_seconds() >= rules.close_hours * 3600:
                    break
                units["close_shifts"] += 1
        units["weekend_streak"] += weekend_streak_units(own, weeks, rules.max_weekends_in_row)

    for a, b in partner_pairs(problem):
        units["partner_apart"] += len(set(s.id for s in mine[a]) ^ set(s.id for s in mine[b]))

    return {name: units[name] * w[name] for name in w}


def weekend_weeks(problem: Problem) -> list[tuple[int, int]]:
    """The weeks of the roster period that have weekend shifts, in order."""
    return sorted({week_of(s.start) for s in problem.shifts if is_weekend(s)})


def weekend_streak_units(own: Iterable[Shift], weeks: list[tuple[int, int]], allowed: int) -> int:
    """Windows of allowed+1 consecutive rostered weekends (`weeks`, from weekend_weeks) that are all worked."""
    worked = {week_of(s.start) for s in own if is_weekend(s)}
    flags = [w in worked for w in weeks]
    span = allowed + 1
    return sum(1 for i in range(len(flags) - span + 1) if all(flags[i : i + span]))
