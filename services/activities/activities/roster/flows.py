"""Whole-roster moves by min-cost flow (OR-Tools, in C++): loads levelled per role, places at home.

`level_out` lowers each role's spread in rounds: everyone at the top of a role hands a place down, or
everyone at the bottom takes one, matched at least cost; the greedy (scarcest shift first) loads whoever it
meets first, and no single move of a local search or a CP-SAT block can lower a spread that many
volunteers share.

`regrid` keeps who works at each time and re-decides only which grid each of them patrols: one min-cost
flow per time slot, exact for the cost of assignments (away from home, preferences) with the crews'
minimum, maximum and leaders kept.

Both are pure, deterministic and fast (a flow per round or slot in C++), so they run before any search.
"""

from __future__ import annotations

import time
from collections import defaultdict

from ortools.graph.python import min_cost_flow

from . import rules as R
from .greedy import _State
from .index import Index

Pair = tuple[int, int]
STALE_ROUNDS = 4  # level_out stops after this many rounds in a row that found no cheaper roster


def _place_cost(ix: Index, w: dict[str, int], vi: int, si: int) -> int:
    return R.place_cost(w, ix.volunteers[vi], ix.shifts[si])


def regrid(ix: Index, chosen: set[Pair]) -> set[Pair]:
    """The same volunteers at the same times, each slot's grids re-decided for the least assignment cost
    (away from home, not preferred), every shift's minimum, maximum and leaders kept. Pinned pairs stay."""
    w = R.weights(ix.problem.rules)
    if not (w["away_from_home"] or w["not_preferred"]):
        return chosen
    pinned = ix.pinned
    by_slot: dict[int, list[Pair]] = defaultdict(list)
    for vi, si in chosen:
        by_slot[ix.slot_of[si]].append((vi, si))
    shifts_of_slot: dict[int, list[int]] = defaultdict(list)
    for si in range(len(ix.shifts)):
        shifts_of_slot[ix.slot_of[si]].append(si)
    out = set()
    for t, pairs in by_slot.items():
        moved = _regrid_slot(
            ix, w, [p for p in pairs if p not in pinned], [p for p in pairs if p in pinned], shifts_of_slot[t]
        )
        out |= moved if moved is not None else set(pairs)
    return out


def _regrid_slot(ix: Index, w, free: list[Pair], fixed: list[Pair], shifts: list[int]) -> set[Pair] | None:
    """One slot: the free volunteers placed on its shifts at least cost; None when the flow finds nothing
    better-shaped (the caller keeps the slot as it was)."""
    if not free:
        return set(fixed)
    crew = defaultdict(int)
    leaders = defaultdict(int)
    for vi, si in fixed:
        crew[si] += 1
        leaders[si] += ix.volunteers[vi].leader
    vols = [vi for vi, _ in free]
    eligible = {si: set(ix.candidates[si]) for si in shifts}
    flow = min_cost_flow.SimpleMinCostFlow()
    # nodes: 0 the surplus sink; volunteers; per shift a leader node and a place node
    vnode = {vi: 1 + i for i, vi in enumerate(vols)}
    lnode = {si: 1 + len(vols) + 2 * i for i, si in enumerate(shifts)}
    pnode = {si: 2 + len(vols) + 2 * i for i, si in enumerate(shifts)}
    arcs = []
    for vi in vols:
        leader = ix.volunteers[vi].leader
        for si in shifts:
            if vi in eligible[si]:
                k = flow.add_arc_with_capacity_and_unit_cost(
                    vnode[vi], lnode[si] if leader else pnode[si], 1, _place_cost(ix, w, vi, si)
                )
                arcs.append((k, vi, si))
    supply = {vnode[vi]: 1 for vi in vols}
    surplus = len(vols)
    for si in shifts:
        s = ix.shifts[si]
        lead_need = max(0, s.leaders_needed - leaders[si])
        place_need = max(0, s.min_patrollers - crew[si]) - lead_need
        room = s.max_patrollers - crew[si]
        if room < lead_need:
            return None
        supply[lnode[si]] = -lead_need
        flow.add_arc_with_capacity_and_unit_cost(lnode[si], pnode[si], room - lead_need, 0)
        supply[pnode[si]] = -max(0, place_need)
        extra = room - lead_need - max(0, place_need)
        if extra > 0:
            flow.add_arc_with_capacity_and_unit_cost(pnode[si], 0, extra, 0)
        surplus -= lead_need + max(0, place_need)
    if surplus < 0:
        return None
    supply[0] = -surplus
    for node, n in supply.items():
        flow.set_node_supply(node, n)
    if flow.solve() != flow.OPTIMAL:
        return None
    return set(fixed) | {(vi, si) for k, vi, si in arcs if flow.flow(k) > 0}


def level_out(ix: Index, chosen: set[Pair], deadline: float, cost_of) -> tuple[set[Pair], int]:
    """Lower each role's spread by rounds of transfers: everyone at the top of a role hands one place to a
    volunteer well below it, or everyone at the bottom takes one (a free place, or one of someone well above
    it), matched at least cost by a min-cost flow, one place per volunteer a round. Returns the best roster
    met and its cost (cost_of(pairs))."""
    w = R.weights(ix.problem.rules)
    st = _State(ix)
    for vi, si in sorted(chosen):
        st.take(vi, si)
    target = [ix.targets[v.id] for v in ix.volunteers]
    role = [R.role(v) for v in ix.volunteers]
    fair = [ix.fair_for is None or vi in ix.fair_for for vi in range(len(ix.volunteers))]
    best, best_cost = set(chosen), cost_of(chosen)
    pinned = ix.pinned

    def band() -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for vi in range(len(ix.volunteers)):
            if fair[vi]:
                d = st.load[vi] - target[vi]
                top, bottom = out.get(role[vi], (d, d))
                out[role[vi]] = (max(top, d), min(bottom, d))
        return out

    def may_rise(u: int, b) -> bool:
        return not fair[u] or st.load[u] - target[u] + 1 < b[role[u]][0]

    def may_fall(u: int, b) -> bool:
        return not fair[u] or st.load[u] - target[u] - 1 > b[role[u]][1]

    def keeps_leaders(v: int, si: int, u: int | None) -> bool:
        if not ix.volunteers[v].leader or (u is not None and ix.volunteers[u].leader):
            return True
        return st.leaders_in(si) > ix.shifts[si].leaders_needed

    stale = 0

    def consider() -> None:
        nonlocal best, best_cost, stale
        pairs = {(vi, si) for si, crew in enumerate(st.crew) for vi in crew}
        cost = cost_of(pairs)
        if cost < best_cost:
            best, best_cost, stale = pairs, cost, 0
        else:
            stale += 1

    while time.perf_counter() < deadline and stale < STALE_ROUNDS:
        moved = False
        for r in sorted(set(role)):
            b = band()
            top, bottom = b.get(r, (0, 0))
            if top - bottom < 2 or time.perf_counter() > deadline:
                continue
            # the top hands places down
            arcs: dict[tuple[int, int], tuple[int, int]] = {}
            used_shift: set[int] = set()
            givers = [
                vi for vi in range(len(ix.volunteers)) if fair[vi] and role[vi] == r and st.load[vi] - target[vi] == top
            ]
            for v in givers:
                for si in st.mine[v]:
                    if (v, si) in pinned or si in used_shift:
                        continue
                    s = ix.shifts[si]
                    if len(st.crew[si]) > s.min_patrollers and keeps_leaders(v, si, None):
                        arcs[(v, -1 - si)] = (0 - _place_cost(ix, w, v, si), si)  # simply dropped
                    for u in ix.candidates[si]:
                        if u != v and may_rise(u, b) and keeps_leaders(v, si, u) and st.fits(u, si):
                            _cheapest(arcs, (v, u), _place_cost(ix, w, u, si) - _place_cost(ix, w, v, si), si)
            if _transfer(ix, st, arcs, givers, give=True):
                moved = True
                consider()

            b = band()
            top, bottom = b.get(r, (0, 0))
            if top - bottom < 2:
                continue
            # the bottom takes places up
            arcs = {}
            takers = [
                vi
                for vi in range(len(ix.volunteers))
                if fair[vi] and role[vi] == r and st.load[vi] - target[vi] == bottom
            ]
            for u in takers:
                for si in ix.eligible[u]:
                    if not st.fits(u, si):
                        continue
                    s = ix.shifts[si]
                    if len(st.crew[si]) < s.max_patrollers:
                        c = _place_cost(ix, w, u, si)
                        if (u, -1 - si) not in arcs:
                            arcs[(u, -1 - si)] = (c, si)  # a free place
                    for v in st.crew[si]:
                        if (v, si) not in pinned and may_fall(v, b) and keeps_leaders(v, si, u):
                            _cheapest(arcs, (u, v), _place_cost(ix, w, u, si) - _place_cost(ix, w, v, si), si)
            if _transfer(ix, st, arcs, takers, give=False):
                moved = True
                consider()
        if not moved:
            break
    return best, best_cost


def _cheapest(arcs: dict, key: tuple[int, int], cost: int, si: int) -> None:
    """Keep the cheaper of the transfers between the same two volunteers (one shift each round)."""
    if key not in arcs or cost < arcs[key][0]:
        arcs[key] = (cost, si)


def _transfer(ix: Index, st: _State, arcs: dict, side: list[int], give: bool) -> bool:
    """Match each volunteer of `side` to one partner (or a drop / free place: a negative key) at least cost,
    every partner used once, every shift moved once; make the transfers that still fit. True if any did."""
    if not arcs:
        return False
    offset = 1000
    flat = [(a, b, c + offset) for (a, b), (c, _) in arcs.items()]
    # a partner node per volunteer, a node per free place/drop (negative keys are shift positions)
    right = sorted({b for _, b, _ in flat})
    rnode = {b: 2 + len(side) + i for i, b in enumerate(right)}
    lnode = {a: 2 + i for i, a in enumerate(side)}
    flow = min_cost_flow.SimpleMinCostFlow()
    for a in side:
        flow.add_arc_with_capacity_and_unit_cost(0, lnode[a], 1, 0)
    first = flow.num_arcs()
    for a, b, c in flat:
        flow.add_arc_with_capacity_and_unit_cost(lnode[a], rnode[b], 1, c)
    for b in right:
        flow.add_arc_with_capacity_and_unit_cost(rnode[b], 1, 1 if b >= 0 else ix.shifts[-1 - b].max_patrollers, 0)
    n = min(len(side), len(right) * 3)
    flow.set_node_supply(0, n)
    flow.set_node_supply(1, -n)
    if flow.solve_max_flow_with_min_cost() != flow.OPTIMAL:
        return False
    moved = False
    touched: set[int] = set()
    for k, (a, b, _) in enumerate(flat):
        if flow.flow(first + k) <= 0:
            continue
        si = arcs[(a, b)][1]
        if si in touched:
            continue
        if give:  # a gives si to b (or drops it)
            if b < 0:
                if len(st.crew[si]) > ix.shifts[si].min_patrollers:
                    st.drop(a, si)
                    touched.add(si)
                    moved = True
            elif st.fits(b, si) and a in st.crew[si]:
                st.drop(a, si)
                st.take(b, si)
                touched.add(si)
                moved = True
        else:  # a takes si (a free place, or b's)
            if not st.fits(a, si):
                continue
            if b < 0:
                if len(st.crew[si]) < ix.shifts[si].max_patrollers:
                    st.take(a, si)
                    touched.add(si)
                    moved = True
            elif b in st.crew[si]:
                st.drop(b, si)
                st.take(a, si)
                touched.add(si)
                moved = True
    return moved
