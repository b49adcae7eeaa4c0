"""A greedy roster: the scarcest shifts first, each filled with the cheapest volunteers who can still take it.

It is the solver's warm start (a CP-SAT hint) and the baseline the benchmark compares against.
"""

from __future__ import annotations

import time
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
        self.mine: list[set[int]] = [set() for _ in ix.volunteers]
        self.caps = [v.max_shifts for v in ix.volunteers]
        self.conflicts = [ix.conflict_set(ix.rest_of(vi)) for vi in range(len(ix.volunteers))]
        self.close = defaultdict(set)
        for a, b in ix.close_pairs:
            self.close[a].add(b)
            self.close[b].add(a)

    def can_take(self, vi: int, si: int) -> bool:
        return len(self.crew[si]) < self.ix.shifts[si].max_patrollers and self.fits(vi, si)

    def fits(self, vi: int, si: int) -> bool:
        """Whether vi could take si if there were room on it (one shift at a time, rest, weekly and period caps)."""
        ix = self.ix
        t = ix.slot_of[si]
        if t in self.slots[vi] or vi in self.crew[si]:
            return False
        if self.week[vi][ix.week_of_slot[t]] >= ix.weekly_cap[vi]:
            return False
        if self.caps[vi] is not None and self.load[vi] >= self.caps[vi]:
            return False
        if not self.slots[vi]:
            return True
        conflict = self.conflicts[vi]
        return all(((t, u) if t < u else (u, t)) not in conflict for u in self.slots[vi])

    def has_leader(self, si: int) -> bool:
        """Whether the shift has all the leaders it needs."""
        return self.leaders_in(si) >= self.ix.shifts[si].leaders_needed

    def leaders_in(self, si: int) -> int:
        return sum(1 for vi in self.crew[si] if self.ix.volunteers[vi].leader)

    def shifts_of(self, vi: int) -> list[int]:
        return sorted(self.mine[vi])

    def drop(self, vi: int, si: int) -> None:
        t = self.ix.slot_of[si]
        self.load[vi] -= 1
        self.week[vi][self.ix.week_of_slot[t]] -= 1
        self.slots[vi].discard(t)
        self.crew[si].remove(vi)
        self.mine[vi].discard(si)
        if R.is_weekend(self.ix.shifts[si]):
            wk = self.ix.week_of_slot[t]
            if not any(
                R.is_weekend(self.ix.shifts[o]) and self.ix.week_of_slot[self.ix.slot_of[o]] == wk
                for o in self.shifts_of(vi)
            ):
                self.weekends[vi].discard(wk)

    def take(self, vi: int, si: int) -> None:
        t = self.ix.slot_of[si]
        self.load[vi] += 1
        self.week[vi][self.ix.week_of_slot[t]] += 1
        self.slots[vi].add(t)
        if R.is_weekend(self.ix.shifts[si]):
            self.weekends[vi].add(self.ix.week_of_slot[t])
        self.crew[si].append(vi)
        self.mine[vi].add(si)

    def cost(self, vi: int, si: int, w: dict[str, int]) -> float:
        ix = self.ix
        v, s = ix.volunteers[vi], ix.shifts[si]
        t = ix.slot_of[si]
        diff = self.load[vi] - ix.targets[v.id]
        c = w["fair_load"] * (1 if diff >= 0 else -1) + 0.5 * w["role_spread"] * diff
        c += R.place_cost(w, v, s)
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


def greedy(
    ix: Index, keep: set[tuple[int, int]] | None = None, polish_seconds: float = 0.0, deadline: float | None = None
) -> set[tuple[int, int]]:
    """(volunteer, shift) positions of a greedy roster; `keep` (plus pinned) are placed first.
    With polish_seconds, a local search then moves single places and swaps shifts while that lowers the cost.
    Past the `deadline` no more places are freed up by moving shifts: the places still short stay open."""
    w = R.weights(ix.problem.rules)
    st = _State(ix)
    for vi, si in sorted(ix.pinned | (keep or set())):
        if st.can_take(vi, si):
            st.take(vi, si)
    leaders = [[vi for vi in c if ix.volunteers[vi].leader] for c in ix.candidates]
    order = sorted(range(len(ix.shifts)), key=lambda si: (len(leaders[si]), len(ix.candidates[si]), si))
    for si in order:
        if deadline is not None and time.perf_counter() > deadline:
            break  # the largest months: the places left stay open, for the search to fill
        s = ix.shifts[si]
        _fill(st, si, leaders[si], s.leaders_needed - st.leaders_in(si), w)
        _fill(st, si, ix.candidates[si], s.min_patrollers - len(st.crew[si]), w)
    for si in order:  # what is still short: free someone up by moving one of their shifts to another volunteer
        if deadline is not None and time.perf_counter() > deadline:
            break
        s = ix.shifts[si]
        while not st.has_leader(si) and _eject(st, si, leaders[si], w):
            pass
        while len(st.crew[si]) < s.min_patrollers and _eject(st, si, ix.candidates[si], w):
            pass
    if polish_seconds > 0:
        _polish(st, w, time.perf_counter() + polish_seconds, keep or set())
    return {(vi, si) for si, crew in enumerate(st.crew) for vi in crew}


def polish(ix: Index, chosen: set[tuple[int, int]], seconds: float) -> set[tuple[int, int]]:
    """A roster improved by moving single places and swapping shifts (see greedy) for at most `seconds`."""
    st = _State(ix)
    for vi, si in sorted(chosen):
        st.take(vi, si)
    _polish(st, R.weights(ix.problem.rules), time.perf_counter() + seconds, set())
    return {(vi, si) for si, crew in enumerate(st.crew) for vi in crew}


def _own_cost(st: _State, vi: int, w: dict[str, int], close: set[tuple[int, int]], partner: dict[int, int]) -> int:
    """The costs one volunteer's shifts carry on their own (fair load, home, preference, close, weekends,
    partner); role_spread is left out and settled by the CP-SAT search."""
    ix = st.ix
    v = ix.volunteers[vi]
    mine = st.mine[vi]
    c = w["fair_load"] * abs(len(mine) - ix.targets[v.id])
    for si in mine:
        c += R.place_cost(w, v, ix.shifts[si])
    slots = sorted(st.slots[vi])
    for i, a in enumerate(slots):
        for b in slots[i + 1 :]:
            c += w["close_shifts"] * ((a, b) in close)
    span = ix.problem.rules.max_weekends_in_row + 1
    weeks = st.weekend_order
    worked = st.weekends[vi]
    c += w["weekend_streak"] * sum(
        1 for i in range(len(weeks) - span + 1) if all(k in worked for k in weeks[i : i + span])
    )
    if vi in partner:
        c += w["partner_apart"] * len(mine ^ st.mine[partner[vi]])
    return c


def _polish(st: _State, w: dict[str, int], deadline: float, keep: set[tuple[int, int]]) -> None:
    """First-improvement local search: give a place to someone else, add or remove a place; when none of
    these helps any more, two volunteers swap a shift each (_swaps), then single moves again."""
    ix = st.ix
    close = set(ix.close_pairs)
    st.weekend_order = [ix.weeks.index(k) for k in R.weekend_weeks(ix.problem)]
    partner: dict[int, int] = {}
    for a, b in R.partner_pairs(ix.problem):
        if a in ix.vpos and b in ix.vpos:
            partner[ix.vpos[a]], partner[ix.vpos[b]] = ix.vpos[b], ix.vpos[a]
    fixed = ix.pinned | keep
    cost = [_own_cost(st, vi, w, close, partner) for vi in range(len(ix.volunteers))]

    def changed(*vis: int) -> int:
        """Cost difference of the volunteers touched (and their partners) against `cost`."""
        touched = set(vis) | {partner[v] for v in vis if v in partner}
        return sum(_own_cost(st, v, w, close, partner) - cost[v] for v in touched)

    def settle(*vis: int) -> None:
        for v in set(vis) | {partner[v] for v in vis if v in partner}:
            cost[v] = _own_cost(st, v, w, close, partner)

    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for si, s in enumerate(ix.shifts):
            if time.perf_counter() > deadline:
                return
            for u in list(st.crew[si]):
                if (u, si) in fixed:
                    continue
                only_leader = _only_leader(st, u, si)
                st.drop(u, si)
                if len(st.crew[si]) >= s.min_patrollers and not only_leader and changed(u) < 0:
                    settle(u)
                    improved = True
                    continue
                best = None
                for v in ix.candidates[si]:
                    if v == u or (only_leader and not ix.volunteers[v].leader) or not st.can_take(v, si):
                        continue
                    st.take(v, si)
                    delta = changed(u, v)
                    st.drop(v, si)
                    if delta < 0 and (best is None or delta < best[0]):
                        best = (delta, v)
                if best:
                    st.take(best[1], si)
                    settle(u, best[1])
                    improved = True
                else:
                    st.take(u, si)
            if len(st.crew[si]) < s.max_patrollers:
                for v in ix.candidates[si]:
                    if st.load[v] < ix.targets[ix.volunteers[v].id] and st.can_take(v, si):
                        st.take(v, si)
                        if changed(v) < 0:
                            settle(v)
                            improved = True
                            if len(st.crew[si]) >= s.max_patrollers:
                                break
                        else:
                            st.drop(v, si)
        if not improved and SWAPS:
            improved = _swaps(st, fixed, changed, settle, deadline)


SWAPS = True  # the swap moves of _polish (a switch to compare with single moves alone)


def _only_leader(st: _State, vi: int, si: int) -> bool:
    ix = st.ix
    return ix.volunteers[vi].leader and st.leaders_in(si) <= ix.shifts[si].leaders_needed


def _swaps(st: _State, fixed, changed, settle, deadline: float) -> bool:
    """Two volunteers exchange one shift each, loads unchanged: the moves that fix shifts too close
    together, weekends in a row and patrols away from home where giving a place away cannot."""
    ix = st.ix
    found = False
    for u in range(len(ix.volunteers)):
        eligible_u = ix.eligible_set(u)
        for si in sorted(st.mine[u]):
            if time.perf_counter() > deadline:
                return found
            if (u, si) in fixed or si not in st.mine[u]:
                continue
            u_leads = _only_leader(st, u, si)
            for v in ix.candidates[si]:
                if v == u or v in st.crew[si] or (u_leads and not ix.volunteers[v].leader):
                    continue
                done = False
                for sj in sorted(st.mine[v]):
                    if sj == si or sj not in eligible_u or u in st.crew[sj] or (v, sj) in fixed:
                        continue
                    if _only_leader(st, v, sj) and not ix.volunteers[u].leader:
                        continue
                    st.drop(u, si)
                    st.drop(v, sj)
                    if st.can_take(u, sj) and st.can_take(v, si):
                        st.take(u, sj)
                        st.take(v, si)
                        if changed(u, v) < 0:
                            settle(u, v)
                            found = done = True
                            break
                        st.drop(u, sj)
                        st.drop(v, si)
                    st.take(u, si)
                    st.take(v, sj)
                if done:
                    break
    return found


def _eject(st: _State, si: int, pool: list[int], w: dict[str, int]) -> bool:
    """Give shift si to someone in pool who is blocked only by one of their own shifts that another
    volunteer can take over (an ejection chain of depth two)."""
    ix = st.ix
    keep_pinned = ix.pinned
    for vi in sorted(pool, key=lambda vi: st.load[vi] - ix.targets[ix.volunteers[vi].id]):
        if vi in st.crew[si]:
            continue
        if st.can_take(vi, si):
            st.take(vi, si)
            return True
        for other in sorted(st.shifts_of(vi), key=lambda o: ix.shifts[o].start):
            if (vi, other) in keep_pinned:
                continue
            st.drop(vi, other)
            if st.can_take(vi, si):
                o = ix.shifts[other]
                need_leader = ix.volunteers[vi].leader and not st.has_leader(other)
                pool2 = [u for u in ix.candidates[other] if u != vi and (ix.volunteers[u].leader or not need_leader)]
                fine = len(st.crew[other]) >= o.min_patrollers and not need_leader
                if not fine:
                    subs = sorted((st.cost(u, other, w), u) for u in pool2 if st.can_take(u, other))
                    if subs:
                        st.take(subs[0][1], other)
                        fine = True
                if fine:
                    st.take(vi, si)
                    return True
            st.take(vi, other)
    return False


def _fill(st: _State, si: int, pool: list[int], need: int, w: dict[str, int]) -> None:
    if need <= 0:
        return
    ranked = sorted((st.cost(vi, si, w), vi) for vi in pool if st.can_take(vi, si))
    for _, vi in ranked[:need]:
        st.take(vi, si)
