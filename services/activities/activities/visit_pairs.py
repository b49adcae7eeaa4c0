"""Who visits a person: the same pair as last time where possible, else a fair choice.

A pure function of plain data, so the rule reads and tests on its own: the planner
(``activities.visits``) gives it the people free and fitting for one visit with their load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Help for the elderly is the convenient service team's work; others fill in when none is free.
VISITING_TEAM = "convenient_service"


@dataclass(frozen=True)
class Candidate:
    """A volunteer free and fitting for one visit: no clashing duty, available then."""

    id: int
    teams: tuple[str, ...] = ()
    grid_id: int | None = None
    load: int = 0  # visits they hold around the planned window, the ones planned in this run too


def fairness(candidate: Candidate, grid_id: int | None) -> tuple:
    """Order of choice: the visiting team first, then the fewest visits, then a neighbour of the
    person's grid, then the lower id so that the same input gives the same pair."""
    return (
        VISITING_TEAM not in candidate.teams,
        candidate.load,
        grid_id is not None and candidate.grid_id != grid_id,
        candidate.id,
    )


def choose_pair(
    previous: Sequence[int], candidates: Sequence[Candidate], grid_id: int | None = None
) -> tuple[int, int] | None:
    """The two visitors of a visit, or None when fewer than two are free.

    The previous pair stays when both are free; one of them who is free stays with the fairest
    partner; otherwise the two fairest. Continuity comes first because the person knows them.
    """
    free = {c.id: c for c in candidates}
    kept = [v for v in dict.fromkeys(previous) if v in free][:2]
    others = sorted((c for c in candidates if c.id not in kept), key=lambda c: fairness(c, grid_id))
    chosen = kept + [c.id for c in others[: 2 - len(kept)]]
    return (chosen[0], chosen[1]) if len(chosen) == 2 else None
