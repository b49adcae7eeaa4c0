"""Errors of the appeals service, registered so RPC callers receive these classes.

Each is a subclass of a platform error, so a caller that only knows ``guanyinli.errors`` still
catches it by the general class.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance as remote_error

from guanyinli.errors import Conflict, Forbidden, InvalidInput, NotFound


@remote_error
class AppealNotFound(NotFound):
    """No appeal has this id."""


@remote_error
class GridNotFound(NotFound):
    """The volunteers service knows no such grid."""


@remote_error
class TeamNotFound(NotFound):
    """The community has no such team (the volunteers service's ``list_teams`` are its teams)."""


@remote_error
class PlaceInvalid(InvalidInput):
    """The courtyard (or building) named is not one of the grid's."""


@remote_error
class AppealClosed(Conflict):
    """The appeal is closed: nothing more is done to it (closing again included)."""


@remote_error
class AppealStateInvalid(Conflict):
    """The appeal is not in the state the call needs (accepting one not assigned to anyone)."""


@remote_error
class NotHandler(Forbidden):
    """The caller is not the appeal's handler (nor an organiser)."""


@remote_error
class NotOfGrid(Forbidden):
    """The caller takes appeals in only for grids they are a member or leader of."""


@remote_error
class HandlerIneligible(InvalidInput):
    """The volunteer may not handle this appeal: inactive, or neither of its grid nor of the team it needs."""


@remote_error
class ReplyLinkUnknown(NotFound):
    """No appeal has this reply link (mistyped, or replaced)."""


@remote_error
class ReplyLinkUsed(Conflict):
    """The resident answered through this link already: a link takes one answer."""


@remote_error
class ReplyLinkExpired(Conflict):
    """The link's days are over: the handler's word on the resident's behalf stands."""


# --- the two-way service list (partners, offers, needs, matches) -------------------------------


@remote_error
class PartnerNotFound(NotFound):
    """No partner has this id."""


@remote_error
class AllianceUnknown(InvalidInput):
    """The alliance is none of the six."""


@remote_error
class PartnerInactive(Conflict):
    """The partner no longer takes part: nothing new is offered or asked in its name."""


@remote_error
class OfferNotFound(NotFound):
    """No offer has this id."""


@remote_error
class NeedNotFound(NotFound):
    """No need has this id."""


@remote_error
class NeedDerived(Conflict):
    """The need was derived from appeals or activities: a refresh keeps it, it is not edited by hand."""


@remote_error
class MatchNotFound(NotFound):
    """No match has this id."""


@remote_error
class MatchAlreadyTurned(Conflict):
    """The match was turned into an activity already (once only)."""


@remote_error
class MatchStateInvalid(Conflict):
    """The match is not in a state the call needs (agreeing to a declined one)."""
