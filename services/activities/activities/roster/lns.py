"""A part of a roster as a problem of its own: free some shifts, keep the rest of the roster fixed.

The part's model prices everything the fixed rest implies (weekly caps left, rest around fixed shifts, close
shifts and partners across the boundary, weekends already worked, targets, the role spread elsewhere), so
its objective differs from the whole roster's by a constant: repair re-solves only the shifts near a change,
and `improve` re-solves one grid after another (a large-neighbourhood search shaped by the grids).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import replace

from ortools.sat.python import cp_model

from . import cpmodel
from . import rules as R
from .index import Index

Pair = tuple[int, int]


def restrict(ix: Index, block: set[int], chosen: set[Pair]) -> tuple[Index, list[int], list[int]]:
    """The part of the problem made of the shifts in `block`, given the rest of `chosen` fixed.
    Returns the part's index and the maps from its volunteer and shift positions to the whole's."""
    w = R.weights(ix.problem.rules)
    shifts = sorted(block)
    vols = sorted({vi for si in shifts for vi in ix.candidates[si]})
    outside: dict[int, list[int]] = defaultdict(list)
    for vi, si in chosen:
        if si not in block:
            outside[vi].append(si)
    part = Index(ix.problem)
    part.slots, part.weeks, part.week_of_slot = ix.slots, ix.weeks, ix.week_of_slot
    part.conflicts, part.close_pairs = ix.conflicts, ix.close_pairs
    part.__dict__["_conflict_sets"] = ix.__dict__.setdefault("_conflict_sets", {})
    part.shifts = [ix.shifts[si] for si in shifts]
    part.slot_of = [ix.slot_of[si] for si in shifts]
    part.spos = {s.id: i for i, s in enumerate(part.shifts)}
    local = {si: i for i, si in enumerate(shifts)}
    close_with: dict[int, set[int]] = defaultdict(set)
    for a, b in ix.close_pairs:
        close_with[a].add(b)
        close_with[b].add(a)
    part_ids = {ix.volunteers[vi].id for vi in vols}
    part.week_caps, part.weekend_fixed = [], []
    for pi, vi in enumerate(vols):
        v = ix.volunteers[vi]
        mine = outside.get(vi, [])
        taken = {ix.slot_of[si] for si in mine}
        conflict = ix.conflict_set(ix.rest_of(vi))
        if v.max_shifts is not None:
            v = replace(v, max_shifts=v.max_shifts - len(mine))
        part.volunteers.append(v)
        part.vpos[v.id] = pi
        per_week: dict[int, int] = defaultdict(int)
        for si in mine:
            per_week[ix.week_of_slot[ix.slot_of[si]]] += 1
        part.week_caps.append({wk: ix.weekly_cap[vi] - n for wk, n in per_week.items()})
        part.weekly_cap.append(ix.weekly_cap[vi])
        part.weekend_fixed.append({ix.week_of_slot[ix.slot_of[si]] for si in mine if R.is_weekend(ix.shifts[si])})
        part.targets[v.id] = ix.targets[v.id] - len(mine)
        lone = sum(1 for p in v.partners if p not in part_ids and p in ix.vpos)
        eligible = []
        for si in ix.eligible[vi]:
            if si not in local:
                continue
            t = ix.slot_of[si]
            if t in taken or any((min(t, u), max(t, u)) in conflict for u in taken):
                continue
            eligible.append(local[si])
            extra = w["close_shifts"] * len(close_with[t] & taken) + w["partner_apart"] * lone
            if extra:
                part.extra_cost[(pi, local[si])] = extra
        part.eligible.append(eligible)
    part.candidates = [[] for _ in part.shifts]
    for pi, shifts_ in enumerate(part.eligible):
        for s in shifts_:
            part.candidates[s].append(pi)
    vloc = {vi: pi for pi, vi in enumerate(vols)}
    part.pinned = {(vloc[vi], local[si]) for vi, si in ix.pinned if si in local and vi in vloc}
    vol_set = set(vols)
    for role in ("leader", "patroller"):
        diffs = [
            len(outside.get(vi, [])) - ix.targets[v.id]
            for vi, v in enumerate(ix.volunteers)
            if vi not in vol_set and R.role(v) == role
        ]
        if diffs:
            part.spread_floor[role] = (max(diffs), min(diffs))
    return part, vols, shifts


def grid_blocks(ix: Index, size: int, rng: random.Random) -> list[set[int]]:
    """Shift sets of `size` neighbouring grids each, one block starting from every grid, in random order."""
    neighbours = ix.problem.grid_neighbours
    by_grid: dict[int, set[int]] = defaultdict(set)
    for si, s in enumerate(ix.shifts):
        by_grid[s.grid].add(si)
    grids = sorted(by_grid)
    rng.shuffle(grids)
    out = []
    for g in grids:
        group, frontier = [g], [g]
        while frontier and len(group) < size:
            nxt = sorted({n for f in frontier for n in neighbours.get(f, ()) if n in by_grid and n not in group})
            rng.shuffle(nxt)
            frontier = nxt[: size - len(group)]
            group += frontier
        out.append(set().union(*(by_grid[x] for x in group)))
    return out


def improve(
    ix: Index,
    soft: bool,
    chosen: set[Pair],
    objective: int,
    deadline: float,
    watch=None,
    num_workers: int = 2,
    seed: int = 0,
    size: int = 1,
    seconds_per_part: float = 0.3,
    lns_only: bool = False,
) -> tuple[set[Pair], int]:
    """Re-solve grid blocks one after another until the deadline, keeping every improvement.

    `objective` is the cost of `chosen`; the improved roster comes back with its cost. A `watch`
    (solver.Watch) hears of every improving solution a part's search finds, priced for the whole roster.
    """
    rng = random.Random(seed)
    chosen = set(chosen)
    while time.perf_counter() < deadline - 0.05:
        for block in grid_blocks(ix, size, rng):
            left = deadline - time.perf_counter()
            if left < 0.05:
                break
            part, vols, shifts = restrict(ix, block, chosen)
            built = cpmodel.build(part, soft)
            vloc = {vi: pi for pi, vi in enumerate(vols)}
            sloc = {si: i for i, si in enumerate(shifts)}
            before = cpmodel.set_hint(built, {(vloc[vi], sloc[si]) for vi, si in chosen if si in block})
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = num_workers
            solver.parameters.random_seed = seed
            solver.parameters.max_time_in_seconds = min(seconds_per_part, left)
            solver.parameters.use_lns_only = lns_only
            if watch is not None:
                watch.built, watch.offset = built, objective - before
                status = solver.Solve(built.model, watch)
            else:
                status = solver.Solve(built.model)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                continue
            new = {p for p, var in built.x.items() if solver.BooleanValue(var)}
            after = cpmodel.objective_of(built, new)
            if after < before:
                chosen = {p for p in chosen if p[1] not in block} | {(vols[pi], shifts[si]) for pi, si in new}
                objective += after - before
    return chosen, objective
