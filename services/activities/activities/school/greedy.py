"""A greedy tutor assignment: session by session in time order, each need to a qualified available tutor with
room, the one who taught the pupil's subject last first.

It is the CP-SAT model's warm start and the baseline the benchmark compares against.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .index import Index, Pair


def greedy(ix: Index, keep: Iterable[Pair] = ()) -> set[Pair]:
    """(need, tutor) positions. Pins are placed first, then `keep` (what fits of it); then within a session the
    needs with the fewest tutors who can still take them go first, each to (in order of preference) the tutor
    who taught it last, a tutor who already teaches the pupil in this session, the tutor whose sessions grow
    least."""
    seated: dict[tuple[int, int], set[int]] = defaultdict(set)  # (tutor, session) -> pupils
    taught: dict[int, set[int]] = defaultdict(set)  # tutor -> sessions
    tutor_of: dict[int, int] = {}

    def take(ni: int, ti: int) -> None:
        n = ix.needs[ni]
        tutor_of[ni] = ti
        seated[ti, n.session].add(n.pupil)
        taught[ti].add(n.session)

    def fits(ni: int, ti: int) -> bool:
        n = ix.needs[ni]
        here = seated[ti, n.session]
        if n.pupil not in here and len(here) >= ix.seats[ti]:
            return False
        cap = ix.tutors[ti].max_sessions
        return n.session in taught[ti] or cap is None or len(taught[ti]) < cap

    for ni, ti in ix.pinned.items():
        take(ni, ti)
    for ni, ti in sorted(keep):
        if ni not in tutor_of and ti in ix.candidates[ni] and fits(ni, ti):
            take(ni, ti)
    by_session: dict[int, list[int]] = defaultdict(list)
    for ni, n in enumerate(ix.needs):
        by_session[n.session].append(ni)
    last = dict(ix.before)
    for si in range(len(ix.sessions)):
        todo = [ni for ni in by_session[si] if ni not in tutor_of]
        todo.sort(key=lambda ni: (sum(fits(ni, ti) for ti in ix.candidates[ni]), ni))
        for ni in todo:
            n = ix.needs[ni]
            able = [ti for ti in ix.candidates[ni] if fits(ni, ti)]
            if not able:
                continue
            before = last.get((n.pupil, n.subject))
            take(
                ni,
                min(
                    able,
                    key=lambda ti: (
                        ti != before,
                        n.pupil not in seated[ti, si],
                        len(taught[ti]) + (si not in taught[ti]),
                        ti,
                    ),
                ),
            )
        for ni in by_session[si]:
            if ni in tutor_of:
                n = ix.needs[ni]
                last[n.pupil, n.subject] = tutor_of[ni]
    return set(tutor_of.items())
