"""What a grid leader reads of the programmes that are run by grid: the people visited and the clean-ups
of the grids they lead, nothing of the others.

Organisers and viewers read every grid; a grid leader (role ``grid_leader``, the grids named in their
identity token) reads their own grids; anyone else no grid. Private fields are not a matter of grids:
a grid leader sees them only where the visits' own rule lets them (they visit the person).
"""

from __future__ import annotations

from guanyinli.identity import GRID_LEADER, ORGANISER, SYSTEM, VIEWER, Identity, allow

READERS_AND_LEADERS = allow(VIEWER, GRID_LEADER, ORGANISER, SYSTEM, scope="a grid leader the grids they lead only")


def grids_read(caller: Identity) -> frozenset[int] | None:
    """The grids ``caller`` reads: None for every grid, else those they lead (perhaps none)."""
    if caller.may_read_all:
        return None
    return caller.grid_ids if GRID_LEADER in caller.roles else frozenset()


def reads_grid(caller: Identity, grid_id: int | None) -> bool:
    grids = grids_read(caller)
    return grids is None or grid_id in grids
