"""The solver's warm start: the term session by session in time order, each session solved exactly by CP-SAT on
its own (its needs, the tutor each pupil's subject had last, the sessions each tutor has left), the sessions
before it fixed.

Where the greedy gives each need in turn the tutor it had last, this weighs a session's needs together: a
tutor who teaches two subjects goes where nobody else can, so far fewer needs stay uncovered. It looks at
no later session, so the term's fairness is left to the whole model.
"""

from __future__ import annotations

import time
from dataclasses import replace

from ortools.sat.python import cp_model

from . import cpmodel
from .greedy import greedy
from .index import ELSEWHERE, Index, Pair
from .model import Assignment, Pin

GONE = "\x00"  # no tutor's id: the tutor before the term is not among this term's


def rolling(ix: Index, deadline: float, num_workers: int = 1) -> set[Pair]:
    """(need, tutor) positions of the sessions it could solve before the deadline, from the first on (the
    caller completes the rest, e.g. greedy(ix, keep=...))."""
    problem = ix.problem
    by_session: dict[int, list[int]] = {}
    for ni, n in enumerate(ix.needs):
        by_session.setdefault(n.session, []).append(ni)
    pinned_in: dict[int, set[int]] = {}  # tutor -> sessions their pins hold them to
    for ni, ti in ix.pinned.items():
        pinned_in.setdefault(ti, set()).add(ix.needs[ni].session)
    taught: dict[int, set[int]] = {ti: set() for ti in range(len(ix.tutors))}
    last = {key: ix.tutors[ti].id if ti != ELSEWHERE else GONE for key, ti in ix.before.items()}
    weights = {**problem.weights, "fair_spread": 0}
    chosen: set[Pair] = set()
    for si, s in enumerate(ix.sessions):
        left = len(ix.sessions) - si
        if time.perf_counter() >= deadline:
            break
        tutors = []
        for ti, t in enumerate(ix.tutors):
            cap = t.max_sessions
            held = len(pinned_in.get(ti, set()) - taught[ti] - {si})  # later pins keep their sessions
            if cap is not None and si not in pinned_in.get(ti, set()) and len(taught[ti]) + held >= cap:
                t = replace(t, sessions=frozenset())
            tutors.append(replace(t, max_sessions=None))
        needs = by_session.get(si, [])
        pins = tuple(
            Pin(ix.pupils[ix.needs[ni].pupil].id, ix.needs[ni].subject, s.id, ix.tutors[ix.pinned[ni]].id)
            for ni in needs
            if ni in ix.pinned
        )
        previous = tuple(Assignment("", ix.pupils[pi].id, u, tid) for (pi, u), tid in last.items())
        one = Index.build(
            replace(problem, sessions=(s,), tutors=tuple(tutors), pins=pins, previous=previous, weights=weights)
        )
        b = cpmodel.build(one)
        cpmodel.set_hint(b, greedy(one))
        solver = cp_model.CpSolver()
        # a session's model is small: its implications in the LP prove it optimal five times faster
        solver.parameters.linearization_level = 2
        solver.parameters.max_time_in_seconds = max(0.001, (deadline - time.perf_counter()) / left)
        solver.parameters.num_workers = num_workers
        status = solver.Solve(b.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        for (oi, ti), var in b.x.items():
            if solver.BooleanValue(var):
                n = one.needs[oi]  # the same pupils and tutors in the same order as `ix`
                chosen.add((ix.npos[si, n.pupil, n.subject], ti))
                taught[ti].add(si)
                last[n.pupil, n.subject] = ix.tutors[ti].id
    return chosen
