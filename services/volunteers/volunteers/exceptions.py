"""Errors of the volunteers service, registered so RPC callers receive these classes.

Each is a subclass of a platform error (``InvalidInput``, ``NotFound``, ``Conflict``), so a caller
that only knows ``guanyinli.errors`` still catches them by the general class. Messages start with
the field they are about.
"""

from __future__ import annotations

from collections.abc import Iterable

from nameko.exceptions import deserialize_to_instance as remote_error

from guanyinli import errors
from guanyinli.errors import Conflict, InvalidInput, NotFound
from volunteers import structure


@remote_error
class VolunteerNotFound(NotFound):
    """No volunteer has this id."""


@remote_error
class GridNotFound(NotFound):
    """No grid of the caller's community has this id: its grids are those of ``list_grids``."""


@remote_error
class AvailabilityOverlap(InvalidInput):
    """Two availability windows of one volunteer overlap (weekly on the same day, or dated)."""


@remote_error
class PhoneTaken(Conflict):
    """Another volunteer already has this phone number."""


@remote_error
class GridLeaderTaken(Conflict):
    """The grid already has a leader; remove them first."""


@remote_error
class VolunteerInactive(Conflict):
    """The volunteer is deactivated, so they cannot take a grid role."""


@remote_error
class SourceKeyTaken(Conflict):
    """A ledger entry with this source_key exists for another volunteer."""


@remote_error
class PartnerInvalid(InvalidInput):
    """A partner named is the volunteer themselves, no volunteer, deactivated, or one too many."""


def no_grid(grid_id: object, known: Iterable[int] | None = None) -> str:
    """What is wrong with a grid id the community does not have, naming the grids it has (``known``;
    by default those of the community the worker acts for, ``structure.current``)."""
    return errors.no_grid([grid_id], structure.current().grid_ids() if known is None else known)
