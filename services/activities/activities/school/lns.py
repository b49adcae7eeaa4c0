"""Search by windows of sessions: a few sessions re-solved exactly by CP-SAT, the rest of the term fixed.

A window's model is the whole model's restricted to its sessions (`restrict`): each pupil's subject comes in
with the tutor it had last before the window and goes out to the one it has next after it, each tutor with
the sessions they have left under their cap and the sessions they teach outside it for fairness. Its
objective is the whole term's less a constant, so the best of a window is never worse for the term.

- `capped`: where the tutors with a cap on their sessions teach, from a solve of coverage alone.
- `rolling`: the warm start. Sessions one at a time in time order, each on its own (no later session is
  decided yet, so fairness waits for the whole term). Where the greedy gives each need in turn the tutor it
  had last, this weighs a session's needs together: a tutor who teaches two subjects goes where nobody else
  can, so far fewer needs stay uncovered.
- `improve`: windows of WIDTH consecutive sessions in random order until the deadline or until no window
  improves the term.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from . import cpmodel
from . import rules as R
from .greedy import greedy
from .index import ELSEWHERE, Index, Pair
from .model import Assignment, Pin

WIDTH = 3  # sessions per window of `improve`
WINDOW_SECONDS = 1.0  # at most, per window
GONE = "\x00"  # no tutor's id: the tutor before the window is not among this term's


@dataclass
class Window:
    term: Index
    ix: Index  # the window's own index: its sessions only, the same pupils and tutors in the same order
    sessions: list[int]  # the term's positions of its sessions, in time order

    def pairs(self, chosen: Iterable[Pair]) -> set[Pair]:
        """The term's (need, tutor) positions of the window's."""
        out = set()
        for ni, ti in chosen:
            n = self.ix.needs[ni]
            out.add((self.term.npos[self.sessions[n.session], n.pupil, n.subject], ti))
        return out

    def own(self, chosen: Iterable[Pair]) -> set[Pair]:
        """The window's (need, tutor) positions of the term's inside it."""
        out = set()
        where = {si: wi for wi, si in enumerate(self.sessions)}
        for ni, ti in chosen:
            n = self.term.needs[ni]
            if n.session in where:
                out.add((self.ix.npos[where[n.session], n.pupil, n.subject], ti))
        return out


def restrict(ix: Index, chosen: set[Pair], sessions: Iterable[int], fair: bool = True) -> Window:
    """The window of `sessions` (consecutive positions) with the rest of `chosen` fixed around it; with
    `fair=False`, without the fair_spread rule (the sessions after the window are not decided yet)."""
    order = sorted(set(sessions))
    inside, first, last = set(order), order[0], order[-1]
    tutor_of = dict(chosen)
    outside: list[set[int]] = [set() for _ in ix.tutors]  # sessions each tutor teaches or is pinned in outside
    for ni, ti in [*chosen, *ix.pinned.items()]:
        if ix.needs[ni].session not in inside:
            outside[ti].add(ix.needs[ni].session)
    previous, after = [], {}
    for key, chain in ix.chains.items():
        before = ix.before.get(key)
        for ni in chain:
            s = ix.needs[ni].session
            if ni in tutor_of and s < first:
                before = tutor_of[ni]
            elif ni in tutor_of and s > last:
                after[key] = tutor_of[ni]
                break
        if before is not None:
            tid = GONE if before == ELSEWHERE else ix.tutors[before].id
            previous.append(Assignment("", ix.pupils[key[0]].id, key[1], tid))
    tutors = tuple(
        t if t.max_sessions is None else replace(t, max_sessions=max(0, t.max_sessions - len(outside[ti])))
        for ti, t in enumerate(ix.tutors)
    )
    pins = tuple(
        Pin(
            ix.pupils[ix.needs[ni].pupil].id,
            ix.needs[ni].subject,
            ix.sessions[ix.needs[ni].session].id,
            ix.tutors[ti].id,
        )
        for ni, ti in ix.pinned.items()
        if ix.needs[ni].session in inside
    )
    problem = ix.problem
    weights = problem.weights if fair else {**problem.weights, "fair_spread": 0}
    own = Index.build(
        replace(
            problem,
            sessions=tuple(ix.sessions[si] for si in order),
            tutors=tutors,
            pins=pins,
            previous=tuple(previous),
            weights=weights,
        )
    )
    own.after = after
    if fair:
        own.load_outside = [len(o) for o in outside]
        own.fair_tutors = ix.could_teach
    return Window(ix, own, order)


def solve_window(window: Window, hint: set[Pair], seconds: float, num_workers: int) -> set[Pair] | None:
    """The window's best (need, tutor) positions in its own terms, or None when CP-SAT found none in time."""
    b = cpmodel.build(window.ix)
    cpmodel.set_hint(b, hint)
    solver = cp_model.CpSolver()
    # a window's model is small: its implications in the LP prove it optimal about five times faster
    solver.parameters.linearization_level = 2
    solver.parameters.max_time_in_seconds = max(0.001, seconds)
    solver.parameters.num_workers = num_workers
    status = solver.Solve(b.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return {p for p, var in b.x.items() if solver.BooleanValue(var)}


def capped(ix: Index, deadline: float, num_workers: int = 1) -> Index:
    """The term with each tutor whose cap binds (fewer sessions than they could teach in) available only in the
    sessions a solve of coverage alone gives them, or the term itself when no cap binds or no solve ends in
    time: the sessions one at a time (rolling) would spend such a tutor's sessions on the first that need
    them, where the term as a whole needs them most elsewhere."""
    could: list[set[int]] = [set() for _ in ix.tutors]
    for ni, tutors in enumerate(ix.candidates):
        for ti in tutors:
            could[ti].add(ix.needs[ni].session)
    binding = [ti for ti, t in enumerate(ix.tutors) if t.max_sessions is not None and t.max_sessions < len(could[ti])]
    if not binding:
        return ix
    covering = replace(ix.problem, weights={rule: 0 for rule in R.DEFAULT_WEIGHTS if rule != "uncovered_need"})
    b = cpmodel.build(Index.build(covering))  # the same needs and tutors in the same order as `ix`
    cpmodel.set_hint(b, greedy(ix))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.001, deadline - time.perf_counter())
    solver.parameters.num_workers = num_workers
    if solver.Solve(b.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ix
    taught: list[set[str]] = [set() for _ in ix.tutors]
    for (ni, ti), var in b.x.items():
        if solver.BooleanValue(var):
            taught[ti].add(ix.sessions[ix.needs[ni].session].id)
    tutors = list(ix.problem.tutors)
    for ti in binding:
        tutors[ti] = replace(tutors[ti], sessions=frozenset(taught[ti]))
    return Index.build(replace(ix.problem, tutors=tuple(tutors)))


def rolling(ix: Index, deadline: float) -> set[Pair]:
    """(need, tutor) positions of the sessions it could solve before the deadline, from the first on (the
    caller completes the rest, e.g. greedy(ix, keep=...)). One CP-SAT worker: a session's model is small, and
    one worker gives the same answer every time it has the time."""
    chosen: set[Pair] = set()
    for si in range(len(ix.sessions)):
        now = time.perf_counter()
        if now >= deadline:
            break
        window = restrict(ix, chosen, [si], fair=False)
        found = solve_window(window, greedy(window.ix), (deadline - now) / (len(ix.sessions) - si), 1)
        if found is None:
            break
        chosen |= window.pairs(found)
    return chosen


def improve(
    ix: Index, b: cpmodel.Built, chosen: set[Pair], deadline: float, num_workers: int = 1, seed: int = 0
) -> set[Pair]:
    """A better term, window by window, until the deadline or until a round of every window finds nothing."""
    n = len(ix.sessions)
    if n <= WIDTH:
        return chosen  # one window would be the whole term: the whole model's search does that
    best = cpmodel.objective(b, chosen)
    starts = list(range(n - WIDTH + 1))
    random.Random(seed).shuffle(starts)
    stale = 0
    while stale < len(starts):
        now = time.perf_counter()
        if now >= deadline:
            break
        k = starts.pop(0)
        starts.append(k)
        window = restrict(ix, chosen, range(k, k + WIDTH))
        found = solve_window(window, window.own(chosen), min(WINDOW_SECONDS, deadline - now), num_workers)
        if found is not None:
            inside = set(window.sessions)
            candidate = {p for p in chosen if ix.needs[p[0]].session not in inside} | window.pairs(found)
            cost = cpmodel.objective(b, candidate)
            if cost < best:
                chosen, best, stale = candidate, cost, 0
                continue
        stale += 1
    return chosen
