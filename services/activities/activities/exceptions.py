"""Errors of the activities service, registered so RPC callers receive these classes.

All are subclasses of the platform's ``Conflict``/``InvalidInput``/``NotFound``, so a caller that only knows
``guanyinli.errors`` can still catch them by the general class.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance as remote_error

from guanyinli.errors import Conflict, InvalidInput, NotFound


@remote_error
class GridNotFound(NotFound):
    """A grid the volunteers service does not know (its ``list_grids`` are the community's grids)."""


@remote_error
class TeamNotFound(NotFound):
    """A team the community does not have (the volunteers service's ``list_teams`` are its teams)."""


@remote_error
class SkillMissing(Conflict):
    """The volunteer lacks a skill the role requires."""


@remote_error
class VolunteerUnavailable(Conflict):
    """The volunteers service says the volunteer is not available then (or not active)."""


@remote_error
class DutyClash(Conflict):
    """The duty overlaps another confirmed duty of the same volunteer."""


@remote_error
class OccurrenceClosed(Conflict):
    """The occurrence is cancelled or over, so nobody can sign up or register."""


@remote_error
class TooLateToCancel(Conflict):
    """A volunteer cancels a confirmed duty after its kind's cancel deadline (CANCEL_DEADLINES): the
    message says "cancel deadline <ISO 8601> has passed" and to use "I can't come" instead."""


@remote_error
class RoleFull(Conflict):
    """A direct assignment (roster publish) found no free seat in the role."""


@remote_error
class SwapRejected(Conflict):
    """The swap would break a hard rule of the roster; the message names the rule."""


@remote_error
class SwapExpired(Conflict):
    """The swap proposal expired: one of its shifts has started."""


@remote_error
class SwapClosed(Conflict):
    """The swap proposal was already accepted, declined or withdrawn."""


@remote_error
class NotExportable(InvalidInput):
    """The month cannot be written as a patrol-roster/1 instance; the message names the rule the format lacks."""


@remote_error
class WeeklyCapReached(Conflict):
    """The volunteer already holds as many duties of that kind that week as the weekly cap allows."""


@remote_error
class StandinTaken(Conflict):
    """Someone else took the stand-in offer first: already taken, thank you."""


@remote_error
class StandinClosed(Conflict):
    """The stand-in offer was withdrawn, or its duty started or is no longer the volunteer's."""
