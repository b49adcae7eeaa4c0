"""Capacity pre-checks (can the shifts fit at all?) and a counting lower bound on the roster's cost.

Both are necessary conditions only, computed from the index in milliseconds, before any search. Each check
takes a group of shifts (one shift, one time, one day, one grid in one week, one week, the whole period)
and counts the places they need against the most the volunteers can give them under the hard rules; when
the shifts need more, no roster covers them all, and the shortage says so in numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import reduce
from operator import or_

from . import rules as R
from . import wording
from .index import Index
from .model import Problem


@dataclass(frozen=True)
class Shortage:
    """One capacity problem: what cannot fit, the shifts it concerns, in plain words."""

    # "pinned", "shift", "time", "day", "leader_day", "grid_week", "week", "leader_week", "period", "leader_period"
    kind: str
    message: str
    shifts: tuple[int, ...] = ()
    grids: tuple[int, ...] = ()
    short: int = 0  # places short
    leader_short: int = 0  # leader places short
    message_zh: str = ""


def check_capacity(problem: Problem) -> list[str]:
    """Plain-words reasons why the shifts cannot all be covered; empty when the counts fit."""
    return [s.message for s in shortages(Index.build(problem))]


# Each wider check with the narrower ones whose groups lie inside its groups: a wider group's shortage is
# news only when it is larger than what the narrower shortages inside it already explain.
WIDER = (
    ("time", ("shift",)),
    ("day", ("time",)),
    ("grid_week", ("shift",)),
    ("week", ("day", "grid_week")),
    ("period", ("week",)),
)


def shortages(ix: Index) -> list[Shortage]:
    """Every capacity problem, the most specific first; each wider one only where it says more."""
    out = [Shortage("pinned", msg, message_zh=zh) for msg, zh in ix.pinned_problems]
    counts = _count(ix)
    found = {
        "shift": _per_shift(ix),
        "time": _per_time(ix),
        "day": _per_day(ix, counts),
        "grid_week": _per_grid_week(ix, counts),
        "week": _per_week(ix, counts),
        "period": _per_period(ix, counts),
    }
    out += found["shift"]
    explained = {"shift": _explained(found["shift"], counts.key("shift"), {})}
    for level, narrower in WIDER:
        key = counts.key(level)
        known = _inside(key, [explained[child] for child in narrower])
        for sh in found[level]:
            places, leader_places, _ = known.get(key(sh.shifts[0]), (0, 0, 0))
            if sh.short > places or sh.leader_short > leader_places:
                out.append(sh)
        explained[level] = _explained(found[level], key, known)
    return out


Explained = dict  # group key -> (places short, leader places short, one shift of the group)


def _inside(key, narrower: list[Explained]) -> Explained:
    """Per group of a wider check, the places and leader places short that narrower shortages inside it already
    explain: summed over the narrower groups within it, the larger of what each narrower check explains."""
    known: Explained = {}
    for child in narrower:
        sums: Explained = {}
        for places, leader_places, si in child.values():
            was = sums.get(key(si), (0, 0, si))
            sums[key(si)] = (was[0] + places, was[1] + leader_places, si)
        for k, (places, leader_places, si) in sums.items():
            was = known.get(k, (0, 0, si))
            known[k] = (max(was[0], places), max(was[1], leader_places), si)
    return known


def _explained(found: list[Shortage], key, known: Explained) -> Explained:
    """Per group of a check, what its own shortages or the narrower ones inside it explain, whichever is more."""
    out = dict(known)
    for sh in found:
        k = key(sh.shifts[0])
        was = out.get(k, (0, 0, sh.shifts[0]))
        out[k] = (max(was[0], sh.short), max(was[1], sh.leader_short), was[2])
    return out


@dataclass
class Group:
    """Shifts counted together: the places they need, the most the volunteers can give them, and how many
    volunteers (and leaders) can give any."""

    shifts: list[int] = field(default_factory=list)
    places: int = 0
    leader_places: int = 0
    can: int = 0  # places all volunteers can give
    can_lead: int = 0  # places the leaders among them can give
    people: int = 0
    leaders: int = 0

    @property
    def short(self) -> int:
        return max(0, self.places - self.can)

    @property
    def leader_short(self) -> int:
        return max(0, self.leader_places - self.can_lead)

    def give(self, places: int, leader: bool, volunteers: int = 1) -> None:
        if places > 0:
            self.can += places * volunteers
            self.people += volunteers
            if leader:
                self.can_lead += places * volunteers
                self.leaders += volunteers


@dataclass
class Counts:
    """The groups of the wider checks (days, grids in a week, weeks, the period), with what their shifts need
    and the most the volunteers can give them."""

    ix: Index
    days: list[date]
    day_of_slot: list[int]
    day: dict[int, Group] = field(default_factory=lambda: defaultdict(Group))
    grid_week: dict[tuple[int, int], Group] = field(default_factory=lambda: defaultdict(Group))
    week: dict[int, Group] = field(default_factory=lambda: defaultdict(Group))
    period: Group = field(default_factory=Group)

    def key(self, level: str):
        """The function from a shift to the key of its group in one check."""
        ix, day = self.ix, self.day_of_slot
        return {
            "shift": lambda si: si,
            "time": lambda si: ix.slot_of[si],
            "day": lambda si: day[ix.slot_of[si]],
            "grid_week": lambda si: (ix.shifts[si].grid, ix.week_of_slot[ix.slot_of[si]]),
            "week": lambda si: ix.week_of_slot[ix.slot_of[si]],
            "period": lambda si: 0,
        }[level]


def _count(ix: Index) -> Counts:
    """What each day, grid-week, week and the period need, then in one pass over who may take which shift
    the most each volunteer can give them (_give)."""
    days = sorted({a.date() for a, _ in ix.slots})
    day_no = {d: i for i, d in enumerate(days)}
    c = Counts(ix, days, [day_no[a.date()] for a, _ in ix.slots])
    for si, s in enumerate(ix.shifts):
        t = ix.slot_of[si]
        for group in (c.day[c.day_of_slot[t]], c.grid_week[(s.grid, ix.week_of_slot[t])]):
            group.shifts.append(si)
            group.places += s.min_patrollers
            group.leader_places += s.leaders_needed
    for (_, week), g in sorted(c.grid_week.items()):
        for group in (c.week[week], c.period):
            group.shifts += g.shifts
            group.places += g.places
            group.leader_places += g.leader_places
    _give(ix, c)
    return c


def _give(ix: Index, c: Counts) -> None:
    """Adds to every group the most each volunteer can work in it. In a week: as many of their shifts there as
    the rest rule lets one person take (index.Spacing), at most their weekly cap and their cap over the period;
    in a grid's week and in a day, the same among the shifts of that grid or day; over the period, the sum over
    the weeks, at most their cap over the period. Volunteers share a few patterns of a week, so weeks and days
    are added up per pattern."""
    grid_of = [s.grid for s in ix.shifts]
    slots_of: dict[float, _Slots] = {}
    patterns: dict[tuple, int] = {}  # (rest, week, its slots a volunteer may take, cap, leader) -> volunteers
    grid_weeks: dict[int, dict[int, Group]] = defaultdict(dict)  # grid -> week -> its group
    for (grid, week), group in c.grid_week.items():
        grid_weeks[grid][week] = group
    for vi, mine in enumerate(ix.eligible):
        if not mine:
            continue
        v, leader = ix.volunteers[vi], ix.volunteers[vi].leader
        rest = ix.rest_of(vi)
        slots = slots_of.get(rest) or slots_of.setdefault(rest, _Slots(ix, rest, c.day_of_slot))
        most = slots.spacing.most
        mask = reduce(or_, map(slots.of_shift.__getitem__, mine))
        one_grid = grid_weeks[grid_of[mine[0]]] if len(set(map(grid_of.__getitem__, mine))) == 1 else None
        grids: dict[int, int] = defaultdict(int)  # grid -> the slots of its shifts they may take
        if one_grid is None:
            for si in mine:
                grids[grid_of[si]] |= slots.of_shift[si]
        whole = len(mine) if v.max_shifts is None else v.max_shifts
        total = 0
        for week, week_mask in slots.weeks:
            mine_then = mask & week_mask
            if not mine_then:
                continue
            cap = min(ix.week_cap(vi, week), whole)
            key = (rest, week, mine_then, cap, leader)
            patterns[key] = patterns.get(key, 0) + 1
            n = most(mine_then, cap)
            total += n
            if one_grid is not None:
                one_grid[week].give(n, leader)
            for grid, grid_mask in grids.items():
                if grid_mask & week_mask:
                    grid_weeks[grid][week].give(most(grid_mask & week_mask, cap), leader)
        c.period.give(min(total, whole), leader)
    for (rest, week, mine_then, cap, leader), volunteers in patterns.items():
        slots = slots_of[rest]
        c.week[week].give(slots.spacing.most(mine_then, cap), leader, volunteers)
        for day, day_mask in slots.days[week]:
            that_day = mine_then & day_mask
            if that_day:  # mostly a single slot, which one volunteer can always take
                n = min(1, cap) if that_day & (that_day - 1) == 0 else slots.spacing.most(that_day, cap)
                c.day[day].give(n, leader, volunteers)


class _Slots:
    """The time slots as bits of one rest's Spacing: of each shift, of each week, and of each day by week."""

    def __init__(self, ix: Index, rest: float, day_of_slot: list[int]):
        self.spacing = ix.spacing(rest)
        bit = self.spacing.bit
        self.of_shift = [bit[t] for t in ix.slot_of]
        weeks: dict[int, int] = defaultdict(int)
        days: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for t, week in enumerate(ix.week_of_slot):
            weeks[week] |= bit[t]
            days[week][day_of_slot[t]] |= bit[t]
        self.weeks = sorted(weeks.items())
        self.days = {week: sorted(masks.items()) for week, masks in days.items()}


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _day(moment: date | datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B}"


def _per_shift(ix: Index) -> list[Shortage]:
    """One shift: its minimum crew and its leaders among those who may take it."""
    is_leader = [v.leader for v in ix.volunteers]
    out = []
    for si, s in enumerate(ix.shifts):
        cands = ix.candidates[si]
        if len(cands) >= s.min_patrollers and not s.leaders_needed:
            continue
        leaders = sum(map(is_leader.__getitem__, cands))
        short = max(0, s.min_patrollers - len(cands))
        no_leader = leaders < s.leaders_needed
        if short or no_leader:
            parts = [f"{ix.describe(si)}: needs {s.min_patrollers} patrollers, {len(cands)} available"]
            if s.leaders_needed > 1:
                parts.append(f"needs {_n(s.leaders_needed, 'leader')}, {leaders} available")
            elif s.leader_needed:
                parts.append("no leader available" if no_leader else f"{leaders} leader{'s' * (leaders > 1)} available")
            zh = wording.short_shift(ix.problem, s, len(cands), leaders)
            lacking = max(0, s.leaders_needed - leaders)
            out.append(Shortage("shift", ", ".join(parts), (si,), (s.grid,), short, lacking, zh))
    return out


def _per_time(ix: Index) -> list[Shortage]:
    """All grids at one time: each volunteer can be in one place only."""
    is_leader = [v.leader for v in ix.volunteers]
    by_slot: dict[int, list[int]] = defaultdict(list)
    for si in range(len(ix.shifts)):
        by_slot[ix.slot_of[si]].append(si)
    out = []
    for t, shifts in by_slot.items():
        people = set().union(*map(ix.candidates.__getitem__, shifts))
        leaders = sum(map(is_leader.__getitem__, people))
        need = sum(ix.shifts[si].min_patrollers for si in shifts)
        need_leaders = sum(ix.shifts[si].leaders_needed for si in shifts)
        if need > len(people) or need_leaders > leaders:
            start = ix.slots[t][0]
            out.append(
                Shortage(
                    "time",
                    f"{_day(start)} {ix.shifts[shifts[0]].kind}: {_n(len(shifts), 'shift')} "
                    f"need {_n(need, 'patroller')} and {_n(need_leaders, 'leader')}, {len(people)} patrollers and "
                    f"{leaders} leaders available in all",
                    tuple(shifts),
                    tuple(sorted({ix.shifts[si].grid for si in shifts})),
                    max(0, need - len(people)),
                    max(0, need_leaders - leaders),
                    wording.short_time(
                        start, ix.shifts[shifts[0]].kind, len(shifts), need, need_leaders, len(people), leaders
                    ),
                )
            )
    return out


def _per_day(ix: Index, c: Counts) -> list[Shortage]:
    """One calendar day: the rest rule lets a volunteer take only so many of that day's shifts (mostly one),
    so the day's places and leader places cannot exceed what all of them together can take that day."""
    out = []
    for d, g in sorted(c.day.items()):
        day = c.days[d]
        if g.short:
            out.append(
                _group_shortage(
                    ix,
                    "day",
                    g,
                    f"{_day(day)}: {_n(len(g.shifts), 'shift')} need {g.places} patroller places, the "
                    f"{_n(g.people, 'volunteer')} available that day can take at most {g.can} under the rest rule "
                    "and their caps",
                    wording.short_day(day, len(g.shifts), g.places, g.people, g.can),
                )
            )
        if g.leader_short:
            out.append(
                _group_shortage(
                    ix,
                    "leader_day",
                    g,
                    f"{_day(day)}: {_n(len(g.shifts), 'shift')} need {g.leader_places} leader places, the "
                    f"{_n(g.leaders, 'leader')} available that day can take at most {g.can_lead} under the rest "
                    "rule and their caps",
                    wording.short_day(day, len(g.shifts), g.leader_places, g.leaders, g.can_lead, leaders=True),
                )
            )
    return out


def _per_grid_week(ix: Index, c: Counts) -> list[Shortage]:
    """One grid over one week: what its shifts need against what the volunteers who may patrol it can give
    within their weekly caps and the rest rule, even if they patrolled nowhere else."""
    out = []
    for (grid, _), g in sorted(c.grid_week.items()):
        if g.short or g.leader_short:
            first = min(ix.slots[ix.slot_of[si]][0] for si in g.shifts)
            what = []
            if g.short:
                what.append(f"needs {g.places} patroller places, its patrollers can give {g.can}")
            if g.leader_short:
                what.append(f"needs {g.leader_places} leader places, its leaders can give {g.can_lead}")
            out.append(
                _group_shortage(
                    ix,
                    "grid_week",
                    g,
                    f"{ix.problem.grid_name(grid)}, week of {_day(first)}: " + "; ".join(what),
                    wording.short_grid_week(ix.problem, grid, first, g.places, g.can, g.leader_places, g.can_lead),
                    both=True,
                )
            )
    return out


def _per_week(ix: Index, c: Counts) -> list[Shortage]:
    """One ISO week: all its places, and its leader places, against the most all volunteers (all leaders) can
    work that week within their weekly caps, the rest rule and their caps over the period."""
    out = []
    for week, g in sorted(c.week.items()):
        year, number = ix.weeks[week]
        monday = date.fromisocalendar(year, number, 1)
        sunday = date.fromisocalendar(year, number, 7)
        name = f"week {number} ({_day(monday)} to {_day(sunday)})"
        if g.short:
            out.append(
                _group_shortage(
                    ix,
                    "week",
                    g,
                    f"{name}: {_n(len(g.shifts), 'shift')} need {g.places} patroller places, the "
                    f"{_n(g.people, 'volunteer')} available that week can take at most {g.can} within their weekly "
                    "caps and the rest rule",
                    wording.short_week(number, monday, sunday, len(g.shifts), g.places, g.people, g.can),
                )
            )
        if g.leader_short:
            out.append(
                _group_shortage(
                    ix,
                    "leader_week",
                    g,
                    f"{name}: {_n(len(g.shifts), 'shift')} need {g.leader_places} leader places, the "
                    f"{_n(g.leaders, 'leader')} available that week can take at most {g.can_lead} within their "
                    "weekly caps and the rest rule",
                    wording.short_week(
                        number, monday, sunday, len(g.shifts), g.leader_places, g.leaders, g.can_lead, leaders=True
                    ),
                )
            )
    return out


def _per_period(ix: Index, c: Counts) -> list[Shortage]:
    """The whole period: the weeks added up, where a volunteer's cap over the period (max_shifts) can bind."""
    g = c.period
    if not g.shifts:
        return []
    first, last = c.days[0], c.days[-1]
    name = f"the whole period ({_day(first)} to {_day(last)})"
    out = []
    if g.short:
        out.append(
            _group_shortage(
                ix,
                "period",
                g,
                f"{name}: {_n(len(g.shifts), 'shift')} need {g.places} patroller places, the "
                f"{_n(g.people, 'volunteer')} can take at most {g.can} within their caps",
                wording.short_period(first, last, len(g.shifts), g.places, g.people, g.can),
            )
        )
    if g.leader_short:
        out.append(
            _group_shortage(
                ix,
                "leader_period",
                g,
                f"{name}: {_n(len(g.shifts), 'shift')} need {g.leader_places} leader places, the "
                f"{_n(g.leaders, 'leader')} can take at most {g.can_lead} within their caps",
                wording.short_period(first, last, len(g.shifts), g.leader_places, g.leaders, g.can_lead, True),
            )
        )
    return out


def _group_shortage(ix: Index, kind: str, g: Group, message: str, message_zh: str, both: bool = False) -> Shortage:
    """A shortage of places (kind without "leader_"), of leader places (with it), or of both."""
    leaders = kind.startswith("leader_")
    return Shortage(
        kind,
        message,
        tuple(g.shifts),
        tuple(sorted({ix.shifts[si].grid for si in g.shifts})),
        g.short if both or not leaders else 0,
        g.leader_short if both or leaders else 0,
        message_zh,
    )


def counting_bound(ix: Index, soft: bool) -> int:
    """A lower bound on the cost by counting, valid for every roster the hard rules allow.

    Per shift, its minimum crew costs at least the cheapest per-assignment costs (away from home, not
    preferred) among its candidates; in soft mode, places nobody can take are counted as uncovered.
    """
    w = R.weights(ix.problem.rules)
    total = 0
    for si, s in enumerate(ix.shifts):
        costs = sorted(R.place_cost(w, ix.volunteers[vi], s) for vi in ix.candidates[si])
        total += sum(costs[: s.min_patrollers])
        if soft:
            total += w["uncovered_place"] * max(0, s.min_patrollers - len(costs))
            can_lead = sum(1 for vi in ix.candidates[si] if ix.volunteers[vi].leader)
            total += w["missing_leader"] * max(0, s.leaders_needed - can_lead)
    return total


def lower_bound(problem: Problem, seconds: float, soft: bool = False) -> int:
    """The counting bound, or what CP-SAT's lb-tree-search proves on the pruned model with one worker within
    `seconds` (the LP relaxation with cuts, tightened by search), whichever is larger. Run it apart from the
    search: the LP relaxation of the pairwise rules is weak, so it needs its own time to say much."""
    return relaxation_bound(Index.build(problem), soft, seconds)


def relaxation_bound(ix: Index, soft: bool, seconds: float) -> int:
    """lower_bound on an index already built."""
    from ortools.sat.python import cp_model

    from . import cpmodel

    counting = counting_bound(ix, soft)
    if seconds <= 0:
        return counting
    built = cpmodel.build(ix, soft)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.subsolvers.append("lb_tree_search")
    solver.parameters.max_time_in_seconds = seconds
    solver.Solve(built.model)
    return max(counting, math.ceil(solver.BestObjectiveBound() - 1e-6))
