"""Pre-computed structure of a roster problem shared by the greedy, the bounds and the CP-SAT model:
who may patrol which shift (pruned by team, grid, availability and other duties), time slots,
slot pairs that break the rest rule or cost `close_shifts`, weeks, capacities and fair targets.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from . import rules as R
from . import wording
from .model import Problem, Shift, Volunteer


def _overlaps(start, end, intervals) -> bool:
    return any(start < b and a < end for a, b in intervals)


@dataclass
class Index:
    problem: Problem
    volunteers: list[Volunteer] = field(default_factory=list)  # patrol team only
    shifts: list[Shift] = field(default_factory=list)
    vpos: dict[str, int] = field(default_factory=dict)
    spos: dict[str, int] = field(default_factory=dict)
    slot_of: list[int] = field(default_factory=list)  # shift -> slot (distinct start/end)
    slots: list[tuple] = field(default_factory=list)  # slot -> (start, end)
    week_of_slot: list[int] = field(default_factory=list)  # slot -> week number 0..
    weeks: list[tuple[int, int]] = field(default_factory=list)
    eligible: list[list[int]] = field(default_factory=list)  # volunteer -> shifts
    candidates: list[list[int]] = field(default_factory=list)  # shift -> volunteers
    conflicts: dict[float, list[tuple[int, int]]] = field(default_factory=dict)  # rest hours -> slot pairs
    close_pairs: list[tuple[int, int]] = field(default_factory=list)  # slot pairs costing close_shifts
    weekly_cap: list[int] = field(default_factory=list)
    capacity: list[int] = field(default_factory=list)
    targets: dict[str, int] = field(default_factory=dict)
    pinned: set[tuple[int, int]] = field(default_factory=set)  # (volunteer, shift) positions
    pinned_problems: list[tuple[str, str]] = field(default_factory=list)  # (English, Chinese)
    fair_for: set[int] | None = None  # volunteers with fair_load and role_spread costs; None = everyone
    # a part of a larger roster (lns.restrict): what the fixed rest of the roster already implies
    week_caps: list[dict[int, int]] | None = None  # volunteer -> week -> shifts still allowed
    extra_cost: dict[tuple[int, int], int] = field(default_factory=dict)  # per (volunteer, shift)
    weekend_fixed: list[set[int]] | None = None  # volunteer -> weeks whose weekend is already worked
    spread_floor: dict[str, tuple[int, int]] = field(default_factory=dict)  # role -> (max, min) outside

    @classmethod
    def build(cls, problem: Problem, targets: dict[str, int] | None = None) -> Index:
        ix = cls(problem)
        rules = problem.rules
        ix.volunteers = [v for v in problem.volunteers if v.patrol]
        ix.shifts = list(problem.shifts)
        ix.vpos = {v.id: i for i, v in enumerate(ix.volunteers)}
        ix.spos = {s.id: i for i, s in enumerate(ix.shifts)}
        slot_ids: dict[tuple, int] = {}
        for s in ix.shifts:
            key = (s.start, s.end)
            if key not in slot_ids:
                slot_ids[key] = len(slot_ids)
            ix.slot_of.append(slot_ids[key])
        ix.slots = list(slot_ids)
        ix.weeks = sorted({R.week_of(a) for a, _ in ix.slots})
        week_no = {w: i for i, w in enumerate(ix.weeks)}
        ix.week_of_slot = [week_no[R.week_of(a)] for a, _ in ix.slots]
        slot_kind: dict[int, str] = {}
        by_slot_grid: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, s in enumerate(ix.shifts):
            by_slot_grid[(ix.slot_of[i], s.grid)].append(i)
            slot_kind[ix.slot_of[i]] = s.kind
        grids_of_slot: dict[int, list[int]] = defaultdict(list)
        for t, g in by_slot_grid:
            grids_of_slot[t].append(g)

        ix.candidates = [[] for _ in ix.shifts]
        for vi, v in enumerate(ix.volunteers):
            allowed = R.allowed_grids(v, problem)
            mine: list[int] = []
            if v.shifts is not None:  # availability per shift: only those, if the other rules let them
                for sid in v.shifts:
                    si = ix.spos.get(sid)
                    if si is not None and ix.shifts[si].grid in allowed and ix.slot_free(v, ix.slot_of[si], slot_kind):
                        mine.append(si)
            else:
                for t in range(len(ix.slots)):
                    if ix.slot_free(v, t, slot_kind):
                        for g in grids_of_slot[t]:
                            if g in allowed:
                                mine.extend(by_slot_grid[(t, g)])
            mine.sort()
            ix.eligible.append(mine)
            for si in mine:
                ix.candidates[si].append(vi)

        order = sorted(range(len(ix.slots)), key=lambda t: ix.slots[t][0])
        rests = {R.rest_hours(v, rules) for v in ix.volunteers} | {rules.min_rest_hours}
        reach = max(rules.close_hours, *rests) * 3600  # no pair further apart than this matters
        for rest in rests:
            ix.conflicts[rest] = _pairs(ix.slots, order, reach, R.too_close(rules, rest))
        ix.close_pairs = _pairs(
            ix.slots, order, reach, lambda a, b: (b[0] - a[0]).total_seconds() < rules.close_hours * 3600
        )

        ix.weekly_cap = [R.weekly_cap(v, rules) for v in ix.volunteers]
        for vi, v in enumerate(ix.volunteers):
            per_week: dict[int, set[int]] = defaultdict(set)
            for si in ix.eligible[vi]:
                t = ix.slot_of[si]
                per_week[ix.week_of_slot[t]].add(t)
            cap = sum(min(ix.weekly_cap[vi], _max_spaced(ix, vi, sorted(ts))) for ts in per_week.values())
            if v.max_shifts is not None:
                cap = min(cap, v.max_shifts)
            ix.capacity.append(cap)
        ix.targets = targets or R.derive_targets(problem, {v.id: ix.capacity[i] for i, v in enumerate(ix.volunteers)})

        for a in problem.pinned:
            vi, si = ix.vpos.get(a.volunteer_id), ix.spos.get(a.shift_id)
            if vi is None or si is None:
                ix.pinned_problems.append(
                    (
                        f"pinned {a.volunteer_id} on {a.shift_id}: unknown or not in the patrol team",
                        wording.pinned_unknown(a.volunteer_id, a.shift_id),
                    )
                )
            elif si not in ix.eligible_set(vi):
                ix.pinned_problems.append(
                    (
                        f"pinned {ix.volunteers[vi].name} on {ix.describe(si)}: not available or not allowed there",
                        wording.pinned_not_allowed(ix.volunteers[vi].name, ix.problem, ix.shifts[si]),
                    )
                )
            else:
                ix.pinned.add((vi, si))
        return ix

    def slot_free(self, v: Volunteer, t: int, slot_kind: dict[int, str]) -> bool:
        """Whether the volunteer's weekly availability, absences and other duties leave slot t open."""
        start, end = self.slots[t]
        if v.availability is not None and (start.weekday(), slot_kind[t]) not in v.availability:
            return False
        return not (_overlaps(start, end, v.unavailable) or _overlaps(start, end, v.duties))

    def pairs(self):
        """Every (volunteer, shift) position pair the rules allow."""
        return ((vi, si) for vi, shifts in enumerate(self.eligible) for si in shifts)

    def conflict_set(self, rest: float) -> set[tuple[int, int]]:
        cache = self.__dict__.setdefault("_conflict_sets", {})
        if rest not in cache:
            cache[rest] = set(self.conflicts[rest])
        return cache[rest]

    def spacing(self, rest: float) -> Spacing:
        """The rest rule for volunteers with this rest, on sets of time slots."""
        cache = self.__dict__.setdefault("_spacings", {})
        if rest not in cache:
            cache[rest] = Spacing(self, rest)
        return cache[rest]

    def eligible_set(self, vi: int) -> set[int]:
        cache = self.__dict__.setdefault("_eligible_sets", {})
        if vi not in cache:
            cache[vi] = set(self.eligible[vi])
        return cache[vi]

    def week_cap(self, vi: int, week: int) -> int:
        return self.weekly_cap[vi] if self.week_caps is None else self.week_caps[vi].get(week, self.weekly_cap[vi])

    def rest_of(self, vi: int) -> float:
        return R.rest_hours(self.volunteers[vi], self.problem.rules)

    def describe(self, si: int) -> str:
        s = self.shifts[si]
        return f"{self.problem.grid_name(s.grid)}, {s.start:%A} {s.start.day} {s.start:%B} {s.kind}"


def _pairs(slots, order, reach: float, near) -> list[tuple[int, int]]:
    """Slot pairs (lower index, higher index) for which near(earlier, later) holds."""
    out = []
    for i, t1 in enumerate(order):
        for t2 in order[i + 1 :]:
            if (slots[t2][0] - slots[t1][1]).total_seconds() > reach:
                break
            if near(slots[t1], slots[t2]):
                out.append((min(t1, t2), max(t1, t2)))
    return out


def _max_spaced(ix: Index, vi: int, slot_list) -> int:
    """Most of these slots volunteer vi can take without breaking the rest rule."""
    spacing = ix.spacing(ix.rest_of(vi))
    return spacing.most(spacing.mask(slot_list))


class Spacing:
    """The rest rule for volunteers with one rest, on sets of time slots written as bit masks: each slot's bit
    is its place in the order in which the slots free their volunteer again (rules.free_again).

    A shift keeps its volunteer from its start until it frees them again, and two shifts clash exactly when
    those spans overlap; so the most of a set one volunteer can take is found by taking the slot that frees
    them first, then the first of the rest that starts after that, and so on (interval scheduling)."""

    def __init__(self, ix: Index, rest: float):
        rules = ix.problem.rules
        free = [R.free_again(rules, rest, a, b) for a, b in ix.slots]
        order = sorted(range(len(ix.slots)), key=lambda t: (free[t], ix.slots[t][0]))
        self.bit = [0] * len(ix.slots)  # slot -> its bit
        for place, t in enumerate(order):
            self.bit[t] = 1 << place
        by_start = sorted(range(len(ix.slots)), key=lambda t: ix.slots[t][0])
        starts = [ix.slots[t][0] for t in by_start]
        later = [0] * (len(by_start) + 1)  # the slots from the i-th start on, as a mask
        for i in range(len(by_start) - 1, -1, -1):
            later[i] = later[i + 1] | self.bit[by_start[i]]
        # per place in the order: the slots that start once that slot frees its volunteer again
        self.after = [later[bisect_left(starts, free[t])] for t in order]

    def mask(self, slot_list) -> int:
        return reduce(or_, map(self.bit.__getitem__, slot_list), 0)

    def most(self, mask: int, cap: int | None = None) -> int:
        """Most of the slots in mask one volunteer can take (at most cap, when given)."""
        taken = 0
        while mask and taken != cap:
            low = mask & -mask
            taken += 1
            mask &= self.after[low.bit_length() - 1]
        return taken
