"""A part of a roster as a problem of its own: free some shifts, keep the rest of the roster fixed.

The part's model prices everything the fixed rest implies (weekly caps left, rest around fixed shifts, close
shifts and partners across the boundary, weekends already worked, targets, the role spread elsewhere), so
its objective differs from the whole roster's by a constant: repair re-solves only the shifts near a change,
`home_grids` makes a first roster grid by grid from each grid's own volunteers, and `improve` re-solves blocks
of neighbouring grids, several side by side (a large-neighbourhood search shaped by the grids).
"""

from __future__ import annotations

import random
import sys
import threading as _threading
import time
from collections import defaultdict
from dataclasses import replace

from ortools.sat.python import cp_model

from . import cpmodel
from . import rules as R
from .index import Index
from .model import Assignment

Pair = tuple[int, int]
MAX_BLOCK_SHIFTS = 150  # a block of days of every grid is cut into pieces of at most this many shifts


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
    by_grid = shifts_by_grid(ix)
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


def time_blocks(ix: Index, days: int, rng: random.Random) -> list[set[int]]:
    """Shift sets of `days` consecutive days each, every grid, from a random first day: the blocks in which
    volunteers who range over many grids can trade places (grid blocks cannot see them)."""
    by_day: dict = defaultdict(set)
    for si, s in enumerate(ix.shifts):
        by_day[s.start.date()].add(si)
    dates = sorted(by_day)
    offset = rng.randrange(days)
    out = []
    for i in range(-offset, len(dates), days):
        window = sorted(set().union(*(by_day[d] for d in dates[max(0, i) : i + days])))
        grids = sorted({ix.shifts[si].grid for si in window})
        rng.shuffle(grids)
        rank = {g: k for k, g in enumerate(grids)}
        window.sort(key=lambda si: rank[ix.shifts[si].grid])
        pieces = max(1, -(-len(window) // MAX_BLOCK_SHIFTS))  # a large month's window in pieces of whole grids
        size = -(-len(window) // pieces)
        out += [set(window[k : k + size]) for k in range(0, len(window), size)]
    rng.shuffle(out)
    return [b for b in out if b]


def extreme_blocks(ix: Index, chosen: set[Pair], rng: random.Random, per_volunteer: int = 4) -> list[set[int]]:
    """Per role, the shifts of every volunteer at the top of (shifts - target), and a few shifts each
    volunteer at the bottom could take: the role spread falls only when all of the top give a place away
    (or all of the bottom take one) at once, which only a block holding all of them can find."""
    mine: dict[int, set[int]] = defaultdict(set)
    for vi, si in chosen:
        mine[vi].add(si)
    members: dict[str, list[int]] = defaultdict(list)
    for vi, v in enumerate(ix.volunteers):
        if ix.fair_for is None or vi in ix.fair_for:
            members[R.role(v)].append(vi)
    out = []
    for role in sorted(members):
        diff = {vi: len(mine[vi]) - ix.targets[ix.volunteers[vi].id] for vi in members[role]}
        top, bottom = max(diff.values()), min(diff.values())
        if top == bottom:
            continue
        out.append(set().union(*(mine[vi] for vi, d in diff.items() if d == top)))
        low = set()
        for vi, d in diff.items():
            if d == bottom:
                free = [si for si in ix.eligible[vi] if si not in mine[vi]]
                low.update(rng.sample(free, min(per_volunteer, len(free))))
                low.update(mine[vi])
        out.append(low)
    rng.shuffle(out)
    return [b for b in out if b]


def shifts_by_grid(ix: Index) -> dict[int, set[int]]:
    """Shift positions per grid."""
    out: dict[int, set[int]] = defaultdict(set)
    for si, s in enumerate(ix.shifts):
        out[s.grid].add(si)
    return out


def home_part(ix: Index, grid: int, block: set[int]) -> tuple[Index, list[int], list[int], set[Pair]]:
    """A grid's shifts (`block`) as a problem of their own, open to the grid's own volunteers only, whose
    fairness is judged within it: the part, its maps to the whole's positions, and the pairs it may use."""
    part, vols, shifts = restrict(ix, block, set())
    part.fair_for = {pi for pi, v in enumerate(part.volunteers) if v.home_grid == grid}
    part.spread_floor = {}
    return part, vols, shifts, {(pi, si) for pi in part.fair_for for si in part.eligible[pi]}


def home_grids(ix: Index, soft: bool, deadline: float, threads: int = 2, seconds: float = 1.0) -> set[Pair] | None:
    """A roster made grid by grid, each grid's shifts by its own volunteers only: the grids are then
    separate problems, each small enough to solve to optimality in 0.1-0.4 s, `threads` at a time.
    Fairness is judged within the grid (targets are the whole roster's). A grid its own volunteers cannot
    cover is then solved with its visitors, together with the grids next to it; no roster (None) when even
    that fails."""
    by_grid = shifts_by_grid(ix)
    grids = sorted(by_grid, key=lambda g: -len(by_grid[g]))
    found = side_by_side(
        lambda g: _home_part(ix, soft, g, by_grid[g], min(seconds, deadline - time.perf_counter())), grids, threads
    )
    solved = dict(zip(grids, found, strict=True))
    chosen = set().union(*(pairs for pairs in solved.values() if pairs))
    for g in sorted(g for g, pairs in solved.items() if pairs is None):
        # with the grids next to it re-solved too, so their volunteers can make room to help
        near = {n for n in ix.problem.grid_neighbours.get(g, ()) if n in by_grid}
        block = set().union(by_grid[g], *(by_grid[n] for n in near))
        res = solve_part(
            ix, soft, block, chosen, max(0.01, min(seconds * (1 + len(near)), deadline - time.perf_counter()))
        )
        if res is None:
            return None
        chosen = {p for p in chosen if p[1] not in block} | res[0]
    return chosen


def _home_part(ix: Index, soft: bool, grid: int, block: set[int], seconds: float) -> set[Pair] | None:
    """One grid from its own volunteers: its roster, or None."""
    part, vols, shifts, allowed = home_part(ix, grid, block)
    built = cpmodel.build(part, soft, allowed=allowed)
    solver = part_solver(seconds)
    if solver.Solve(built.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return {(vols[pi], shifts[si]) for (pi, si), var in built.x.items() if solver.BooleanValue(var)}


def part_solver(seconds: float, seed: int = 0) -> cp_model.CpSolver:
    """One CP-SAT worker with the full linearisation: a part (a grid's ten or so volunteers) closes in
    0.1-0.4 s, where the default LP or a second worker left some parts open after 5 s."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.linearization_level = 2
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = max(0.01, seconds)
    return solver


def part_volunteers(ix: Index, block: set[int]) -> set[int]:
    """Everyone a part's model may move, and their partners (whose cost the part prices as fixed)."""
    vols = {vi for si in block for vi in ix.candidates[si]}
    return vols | {ix.vpos[p] for vi in vols for p in ix.volunteers[vi].partners if p in ix.vpos}


def solve_part(ix: Index, soft: bool, block: set[int], chosen: set[Pair], seconds: float, seed: int = 0):
    """The best roster of the shifts in `block` found in `seconds`, the rest of `chosen` fixed.

    Returns the block's new pairs and the change of the whole roster's cost (negative: better), or None.
    CP-SAT releases the GIL while it solves, so parts run side by side on threads."""
    part, vols, shifts = restrict(ix, block, chosen)
    built = cpmodel.build(part, soft)
    vloc = {vi: pi for pi, vi in enumerate(vols)}
    sloc = {si: i for i, si in enumerate(shifts)}
    before = cpmodel.set_hint(built, {(vloc[vi], sloc[si]) for vi, si in chosen if si in block})
    solver = part_solver(seconds, seed)
    if solver.Solve(built.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    new = {p for p, var in built.x.items() if solver.BooleanValue(var)}
    return {(vols[pi], shifts[si]) for pi, si in new}, cpmodel.objective_of(built, new) - before


def batches(ix: Index, blocks: list[set[int]], width: int) -> list[list[set[int]]]:
    """Blocks grouped `width` at a time so that no two blocks of a group share a volunteer (or a partner
    pair): solved side by side from the same roster, their changes add up."""
    out: list[tuple[list[set[int]], set[int]]] = []
    for block in blocks:
        vols = part_volunteers(ix, block)
        for group, used in out:
            if len(group) < width and not vols & used:
                group.append(block)
                used |= vols
                break
        else:
            out.append(([block], set(vols)))
    return [group for group, _ in out]


def improve(
    ix: Index,
    soft: bool,
    chosen: set[Pair],
    objective: int,
    deadline: float,
    watch=None,
    threads: int = 2,
    seed: int = 0,
    sizes: tuple[int, ...] = (2,),
    seconds_per_part: float = 1.0,
    days: int = 0,
    between=None,
) -> tuple[set[Pair], int]:
    """Re-solve grid blocks until the deadline, keeping every improvement: a large-neighbourhood search
    shaped by the grids. Each sweep takes a block from every grid, `sizes` neighbouring grids per block in
    turn, and solves `threads` blocks that share no volunteer at a time. With `days`, the sweeps turn
    between grid blocks, blocks of that many days of every grid (time_blocks) and the blocks that can
    lower the role spread (extreme_blocks).

    `objective` is the cost of `chosen`; the improved roster comes back with its cost. A `watch`
    (solver.Watch) hears of every improvement, and the search ends early once it has `reached` its gap.
    """
    rng = random.Random(seed)
    chosen = set(chosen)
    sweep = 0
    while time.perf_counter() < deadline - 0.05 and not (watch is not None and watch.reached):
        size = sizes[sweep % len(sizes)]
        sweep += 1
        if between is not None and sweep > 1:  # between sweeps: between(roster, cost) -> (roster, cost)
            better, better_cost = between(chosen, objective)
            if better_cost < objective:
                chosen, objective = set(better), better_cost
                if watch is not None:
                    watch.record(objective)
        kind = sweep % 3 if days else 0
        if kind == 1:
            blocks = time_blocks(ix, days, rng)
        elif kind == 2:
            blocks = extreme_blocks(ix, chosen, rng)
        else:
            blocks = grid_blocks(ix, size, rng)
        for group in batches(ix, blocks, threads):
            left = deadline - time.perf_counter()
            if left < 0.05 or (watch is not None and watch.reached):
                break
            seconds = min(seconds_per_part, left)
            found = side_by_side(
                lambda block, c=chosen, s=seconds, r=sweep: solve_part(ix, soft, block, c, s, seed + r), group
            )
            better = [(res, block) for res, block in zip(found, group, strict=True) if res and res[1] < 0]
            if not better:
                continue
            (pairs, delta), block = min(better, key=lambda b: b[0][1])
            best = {p for p in chosen if p[1] not in block} | pairs, objective + delta  # exact: one part alone
            if len(better) > 1:
                # the parts share no volunteer, but each priced the role spread with the others' loads as
                # they were: the changes together are kept when the whole roster's cost says they pay
                merged = set(chosen)
                for (pairs, _), block in better:
                    merged = {p for p in merged if p[1] not in block} | pairs
                total = roster_cost(ix, merged)
                if total < best[1]:
                    best = merged, total
            chosen, objective = best
            if watch is not None:
                watch.record(objective)
    return chosen, objective


def roster_cost(ix: Index, chosen: set[Pair]) -> int:
    """The whole roster's cost, from its assignments alone (rules.evaluate)."""
    assignments = [Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in chosen]
    return sum(R.evaluate(ix.problem, assignments, ix.targets).values())


def side_by_side(fn, items: list, threads: int | None = None) -> list:
    """[fn(item) for item in items] on `threads` OS threads (default: one per item), in order. The first
    error any call raised is raised here, after every thread has ended."""
    threading = real_threading()
    out: list = [None] * len(items)
    errors: list[BaseException] = []
    todo = list(enumerate(items))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo or errors:
                    return
                k, item = todo.pop(0)
            try:
                out[k] = fn(item)
            except BaseException as e:  # noqa: BLE001 - handed over to the calling thread
                errors.append(e)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(min(threads or len(items), len(items)) - 1)]
    for t in workers:
        t.start()
    work()
    for t in workers:
        t.join()
    if errors:
        raise errors[0]
    return out


def real_threading():
    """The standard threading module, also in a process where eventlet has patched it into green threads:
    the parts of a roster need OS threads to use more than one core."""
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched("thread"):
        return patcher.original("threading")
    return _threading
