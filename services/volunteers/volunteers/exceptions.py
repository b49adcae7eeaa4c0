"""Errors of the volunteers service, registered so RPC callers receive these classes.

Each is a subclass of a platform error (``InvalidInput``, ``NotFound``, ``Conflict``), so a caller
that only knows ``guanyinli.errors`` still catches them by the general class. Messages start with
the field they are about.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance as remote_error

from guanyinli import errors
from guanyinli.errors import Conflict, InvalidInput, NotFound
from volunteers.structure import grid_ids


@remote_error
class VolunteerNotFound(NotFound):
    """No volunteer has this id."""


@remote_error
class GridNotFound(NotFound):
    """No grid has this id: the grids are those of ``volunteers.structure`` (``list_grids``)."""


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


def no_grid(grid_id: object) -> str:
    """What is wrong with a grid id the data does not hold, naming the grids it does."""
    return errors.no_grid([grid_id], grid_ids())
