"""RPC entrypoints of the two-way service list, joined to ``AppealsService`` through its bases.

Partners of the six alliances, what each offers and needs, the community's needs (by hand, from
appeals nobody has taken, from activities short of people), matches, and a match turned into a
joint activity through the activities service. Organisers (and services) change; anyone signed in
reads, without partners' contact person and phone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import eventlet
from nameko.exceptions import UnknownService

from appeals import partners_domain as pd
from appeals import partners_schemas as schemas
from appeals import partners_store as ps
from appeals.exceptions import (
    AllianceUnknown,
    GridNotFound,
    MatchAlreadyTurned,
    MatchNotFound,
    MatchStateInvalid,
    NeedDerived,
    NeedNotFound,
    OfferNotFound,
    PartnerInactive,
    PartnerNotFound,
    TeamNotFound,
)
from guanyinli.errors import Conflict, InvalidInput, KeyReused, RequestRepeated, Unavailable
from guanyinli.identity import GRID_LEADER, ORGANISER, ORGANISERS, SIGNED_IN, SYSTEM, VIEWER, VOLUNTEER, allow
from guanyinli.rpc import WrappedRpcProxy, rpc
from guanyinli.schemas import contract
from guanyinli.timeutil import iso

HIDDEN = "anyone signed in; a partner's contact person and phone to organisers (and services) only"
READ_HIDDEN = allow(VOLUNTEER, GRID_LEADER, VIEWER, ORGANISER, SYSTEM, scope=HIDDEN)


class ActivityDirectory:
    """The calls the appeals service makes to ``activities`` on its own account, each within one time limit."""

    def __init__(self, proxy, timeout: float):
        self._proxy = proxy
        self._timeout = timeout

    def _call(self, method: str, **kwargs):
        try:
            with eventlet.Timeout(self._timeout):
                return getattr(self._proxy, method)(**kwargs)
        except eventlet.Timeout:
            raise Unavailable(f"the activities service did not answer within {self._timeout:g} s") from None
        except UnknownService:
            raise Unavailable("the activities service is not running") from None

    def short_of_people(self, start: datetime, end: datetime) -> list[dict]:
        """Occurrences of [start, end) with their roles' seats (``list_occurrences``), duty times as datetimes."""
        found = self._call("list_occurrences", start=iso(start), end=iso(end))
        for occ in found:
            for role in occ.get("roles") or ():
                role["duty_start"] = datetime.fromisoformat(role["duty_start"])
                role["duty_end"] = datetime.fromisoformat(role["duty_end"])
        return found

    def create(self, **data) -> dict:
        return self._call("create_activity", **data)


class Activities(WrappedRpcProxy):
    """``RpcProxy("activities")`` wrapped in ``ActivityDirectory`` (config ``ACTIVITIES_RPC_TIMEOUT``, s)."""

    target, wrapper, timeout_key = "activities", ActivityDirectory, "ACTIVITIES_RPC_TIMEOUT"


def _about(match: dict) -> str:
    offer, need = match["offer"], match["need"]
    return (
        f"共建 joint activity: {offer['partner_name']} 提供 offers {offer['what']} "
        f"→ 需求 need: {need['what']} (match {match['id']})"
    )[:1500]


class PartnersMixin:
    """The two-way service list's RPC; ``AppealsService`` supplies ``db``, ``caller``, ``clock``,
    ``volunteers`` and ``_work``."""

    activities = Activities()

    def _partner_shown(self, partner: dict) -> dict:
        return pd.shown_partner(self.caller, partner)

    def _check_grid(self, grid_id: int | None) -> None:
        if grid_id is not None:
            self.volunteers.grid(grid_id)

    # --- partners ----------------------------------------------------------------------------------

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.AddPartnerIn,
        response=schemas.PartnerOut(),
        errors=(InvalidInput, AllianceUnknown),
        key="request_id",
    )
    def add_partner(self, name, alliance, kind, contact_person=None, contact_phone=None, note=None, request_id=None):
        """A partner unit of one of the six alliances (units in the area, businesses, non-profits...)."""
        data = {
            "name": name,
            "alliance": alliance,
            "kind": kind,
            "contact_person": contact_person,
            "contact_phone": contact_phone,
            "note": note,
        }
        at = self.clock()
        return self._work(lambda s: ps.add_partner(s, data, at))

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.UpdatePartnerIn,
        response=schemas.PartnerOut(),
        errors=(InvalidInput, PartnerNotFound, AllianceUnknown),
    )
    def update_partner(self, partner_id, changes):
        """Change a partner's fields; ``active`` false withdraws it (its offers are no longer matched)."""
        return self._work(lambda s: ps.update_partner(s, partner_id, changes))

    @rpc
    @contract(
        access=READ_HIDDEN,
        request=schemas.PartnerIdIn,
        response=schemas.PartnerOut(),
        errors=(PartnerNotFound,),
    )
    def get_partner(self, partner_id):
        """One partner with its offers and open needs."""
        return self._partner_shown(self.db.read(lambda s: ps.partner_view(s, ps.get_partner(s, partner_id), True)))

    @rpc
    @contract(
        access=READ_HIDDEN,
        request=schemas.ListPartnersIn,
        response=schemas.PartnerOut(many=True),
        errors=(InvalidInput, AllianceUnknown),
    )
    def list_partners(self, alliance=None, include_inactive=False):
        """Partners by alliance then name, each with its offers and open needs."""
        found = self.db.read(lambda s: ps.list_partners(s, alliance, include_inactive))
        return [self._partner_shown(p) for p in found]

    # --- offers and needs ----------------------------------------------------------------------------

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.AddOfferIn,
        response=schemas.OfferOut(),
        errors=(InvalidInput, PartnerNotFound, PartnerInactive, GridNotFound, Unavailable),
        key="request_id",
    )
    def add_offer(
        self,
        partner_id,
        kind,
        what,
        quantity,
        words=(),
        available_from=None,
        available_until=None,
        grid_id=None,
        request_id=None,
    ):
        """What a partner offers: a venue, a skill, volunteer hours, goods; for one grid or the whole community."""
        self._check_grid(grid_id)
        data = {
            "partner_id": partner_id,
            "kind": kind,
            "what": what,
            "quantity": quantity,
            "words": list(words),
            "available_from": available_from,
            "available_until": available_until,
            "grid_id": grid_id,
        }
        return self._work(lambda s: ps.add_offer(s, data))

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.UpdateOfferIn,
        response=schemas.OfferOut(),
        errors=(InvalidInput, OfferNotFound, GridNotFound, Unavailable),
    )
    def update_offer(self, offer_id, changes):
        """Change an offer; ``active`` false withdraws it (its live matches stay as they are)."""
        self._check_grid(changes.get("grid_id"))
        return self._work(lambda s: ps.update_offer(s, offer_id, changes))

    @rpc
    @contract(access=SIGNED_IN, request=schemas.ListOffersIn, response=schemas.OfferOut(many=True))
    def list_offers(self, partner_id=None, kind=None, include_inactive=False):
        """Offers of active partners, with how much of each live matches hold (``promised``)."""
        return self.db.read(lambda s: ps.list_offers(s, partner_id, kind, include_inactive))

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.AddNeedIn,
        response=schemas.NeedOut(),
        errors=(InvalidInput, PartnerNotFound, PartnerInactive, GridNotFound, Unavailable),
        key="request_id",
    )
    def add_need(
        self,
        kind,
        what,
        quantity,
        partner_id=None,
        words=(),
        by_when=None,
        grid_id=None,
        status="open",
        request_id=None,
    ):
        """A need of a partner, or of the community (no partner), entered by hand."""
        self._check_grid(grid_id)
        data = {
            "partner_id": partner_id,
            "kind": kind,
            "what": what,
            "quantity": quantity,
            "words": list(words),
            "by_when": by_when,
            "grid_id": grid_id,
            "status": status,
        }
        at = self.clock()
        return self._work(lambda s: ps.add_need(s, data, at))

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.UpdateNeedIn,
        response=schemas.NeedOut(),
        errors=(InvalidInput, NeedNotFound, NeedDerived, GridNotFound, Unavailable),
    )
    def update_need(self, need_id, changes):
        """Change a need entered by hand; a derived one only opens or closes (``status``)."""
        self._check_grid(changes.get("grid_id"))
        at = self.clock()
        return self._work(lambda s: ps.update_need(s, need_id, changes, at))

    @rpc
    @contract(access=SIGNED_IN, request=schemas.ListNeedsIn, response=schemas.NeedOut(many=True))
    def list_needs(self, partner_id=None, community=False, source=None, status="open"):
        """Needs (open by default), soonest deadline first, with how much live matches hold (``met``)."""
        return self.db.read(lambda s: ps.list_needs(s, partner_id, community, source, status))

    @rpc
    @contract(access=ORGANISERS, response=schemas.RefreshOut(), errors=(Unavailable,))
    def refresh_community_needs(self):
        """Derive the community's needs again: appeals of a category nobody has taken (a need of
        the trade it wants) and roles of activities of the next two weeks short of people (asked
        of the activities service). Upserted by source and reference: a second run over the same
        data changes nothing; needs no longer there are closed."""
        now = self.clock()
        occurrences = self.activities.short_of_people(now, now + timedelta(days=pd.SHORTFALL_DAYS))

        def work(session):
            derived = pd.appeal_needs(ps.unrouted_by_category(session)) + pd.shortfall_needs(occurrences)
            counts = ps.refresh_derived(session, derived, ("appeals", "activity"), now)
            return counts | {"open_needs": ps.list_needs(session, None, True, None, "open")}

        return self._work(work)

    # --- matches -------------------------------------------------------------------------------------

    @rpc
    @contract(access=SIGNED_IN, request=schemas.ListMatchesIn, response=schemas.MatchOut(many=True))
    def list_matches(self, status=None, need_id=None, offer_id=None):
        """Matches of offers to needs, oldest first, each with its offer and need."""
        return self.db.read(lambda s: ps.list_matches(s, status, need_id, offer_id))

    @rpc
    @contract(access=ORGANISERS, response=schemas.MatchOut(many=True))
    def propose_matches(self):
        """Match the open needs with the active offers (``partners_domain.propose``) and keep the new
        proposals; pairs matched before, declined ones too, are not proposed again."""
        now = self.clock()
        return self._work(lambda s: ps.propose_matches(s, now.date(), now))

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.MatchIdIn,
        response=schemas.MatchOut(),
        errors=(MatchNotFound, MatchAlreadyTurned, MatchStateInvalid),
    )
    def agree_match(self, match_id):
        """The partner and the community agree to a proposed match."""
        now = self.clock()
        return self._work(lambda s: ps.decide(s, match_id, "agreed", now, self._author))

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.DeclineMatchIn,
        response=schemas.MatchOut(),
        errors=(InvalidInput, MatchNotFound, MatchAlreadyTurned, MatchStateInvalid),
    )
    def decline_match(self, match_id, reason=None):
        """A proposed or agreed match declined: what it held of the offer and the need is free again."""
        now = self.clock()
        return self._work(lambda s: ps.decide(s, match_id, "declined", now, self._author, reason))

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.TurnMatchIn,
        response=schemas.MatchOut(),
        errors=(InvalidInput, MatchNotFound, MatchAlreadyTurned, MatchStateInvalid, TeamNotFound, Unavailable),
        key="request_id",
    )
    def turn_match_into_activity(
        self,
        match_id,
        title,
        kind,
        start,
        end,
        place=None,
        grid_id=None,
        team=None,
        volunteers_needed=None,
        capacity=None,
        description=None,
        request_id=None,
    ):
        """Make a proposed or agreed match a joint activity (a paired party-building activity, a visit
        to an old people's home) through ``activities.create_activity``, and record its id on the
        match. Once only: the activity is created under a key of the match's own, so a second call,
        at the same time or later, makes no second activity (MatchAlreadyTurned)."""
        match = self.db.read(lambda s: ps.turnable(s, match_id))
        self.volunteers.check_team(team)
        roles = [{"name": "volunteer", "needed": volunteers_needed}] if volunteers_needed else []
        try:
            activity = self.activities.create(
                title=title,
                kind=kind,
                start=iso(start),
                duration_minutes=int((end - start).total_seconds() // 60),
                room=place,
                grid_id=grid_id,
                team=team,
                roles=roles,
                capacity=capacity,
                description=description or _about(match),
                request_id=f"partner-match-{match_id}-{match['proposed_at'].timestamp():.0f}",
            )
        except (KeyReused, RequestRepeated) as exc:
            raise MatchAlreadyTurned(f"match_id: match {match_id} is being or was turned already ({exc})") from None
        except Conflict as exc:
            raise InvalidInput(f"activity: {exc}") from None
        now = self.clock()
        return self._work(lambda s: ps.record_turned(s, match_id, activity["id"], now, self._author))
