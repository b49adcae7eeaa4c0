"""A greedy roster: the scarcest shifts first, each filled with the cheapest volunteers who can still take it.

It is the solver's warm start (a CP-SAT hint) and the baseline the benchmark compares against.
"""

from __future__ import annotations

from collections import defaultdict

from . import rules as R
from .index import Index


class _State:
    def __init__(self, ix: Index):
        self.ix = ix
        self.load = [0] * len(ix.volunteers)
        self.week = [defaultdict(int) for _ in ix.volunteers]
        self.slots: list[set[int]] = [set() for _ in ix.volunteers]
        self.weekends: list[set[int]] = [set() for _ in ix.volunteers]
        self.crew: list[list[int]] = [[] for _ in ix.shifts]
        self.caps = [v.max_shifts for v in ix.volunteers]
        self.close = defaultdict(set)
        for a, b in ix.close_pairs:
            self.close[a].add(b)
            self.close[b].add(a)

    def can_take(self, vi: int, si: int) -> bool:
        ix = self.ix
        t = ix.slot_of[si]
        if t in self.slots[vi] or vi in self.crew[si]:
            return False
        if self.week[vi][ix.week_of_slot[t]] >= ix.weekly_cap[vi]:
            return False
        if self.caps[vi] is not None and self.load[vi] >= self.caps[vi]:
            return False
        conflict = ix.conflict_set(ix.rest_of(vi))
        return all((min(t, u), max(t, u)) not in conflict for u in self.slots[vi])

    def take(self, vi: int, si: int) -> None:
        t = self.ix.slot_of[si]
        self.load[vi] += 1
        self.week[vi][self.ix.week_of_slot[t]] += 1
        self.slots[vi].add(t)
        if R.is_weekend(self.ix.shifts[si]):
            self.weekends[vi].add(self.ix.week_of_slot[t])
        self.crew[si].append(vi)

    def cost(self, vi: int, si: int, w: dict[str, int]) -> float:
        ix = self.ix
        v, s = ix.volunteers[vi], ix.shifts[si]
        t = ix.slot_of[si]
        diff = self.load[vi] - ix.targets[v.id]
        c = w["fair_load"] * (1 if diff >= 0 else -1) + 0.5 * w["role_spread"] * diff
        c += w["away_from_home"] * (s.grid != v.home_grid)
        c += w["not_preferred"] * (not R.is_preferred(v, s))
        c += w["close_shifts"] * len(self.close[t] & self.slots[vi])
        if R.is_weekend(s):
            wk = ix.week_of_slot[t]
            if wk not in self.weekends[vi]:
                run = 1 + _run(self.weekends[vi], wk, -1) + _run(self.weekends[vi], wk, 1)
                c += w["weekend_streak"] * max(0, run - ix.problem.rules.max_weekends_in_row)
        return c


def _run(weeks: set[int], start: int, step: int) -> int:
    n, k = 0, start + step
    while k in weeks:
        n, k = n + 1, k + step
    return n


def greedy(ix: Index, keep: set[tuple[int, int]] | None = None) -> set[tuple[int, int]]:
    """(volunteer, shift) positions of a greedy roster; `keep` (plus pinned) are placed first."""
    w = R.weights(ix.problem.rules)
    st = _State(ix)
    for vi, si in sorted(ix.pinned | (keep or set())):
        if st.can_take(vi, si):
            st.take(vi, si)
    leaders = [[vi for vi in c if ix.volunteers[vi].leader] for c in ix.candidates]
    order = sorted(range(len(ix.shifts)), key=lambda si: (len(leaders[si]), len(ix.candidates[si]), si))
    for si in order:
        s = ix.shifts[si]
        if s.leader_needed and not any(ix.volunteers[vi].leader for vi in st.crew[si]):
            _fill(st, si, leaders[si], 1, w)
        _fill(st, si, ix.candidates[si], s.min_patrollers - len(st.crew[si]), w)
    return {(vi, si) for si, crew in enumerate(st.crew) for vi in crew}


def _fill(st: _State, si: int, pool: list[int], need: int, w: dict[str, int]) -> None:
    if need <= 0:
        return
    ranked = sorted((st.cost(vi, si, w), vi) for vi in pool if st.can_take(vi, si))
    for _, vi in ranked[:need]:
        st.take(vi, si)
