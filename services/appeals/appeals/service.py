"""The ``appeals`` nameko service: residents' appeals taken in, routed to the grid, seen through.

Thin RPC entrypoints over ``store`` (use cases in one transaction) and ``domain`` (rules). What the
volunteers service knows (the grid and its courtyards, who holds a role in it, who is available
now) is asked for before the transaction, so a write never waits on another service. Events go
through the outbox (``guanyinli.outbox``): stored with the change, sent after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from appeals import domain, partners_service, schemas, store
from appeals.dependencies import Volunteers
from appeals.exceptions import (
    AppealClosed,
    AppealNotFound,
    AppealStateInvalid,
    GridNotFound,
    HandlerIneligible,
    NotHandler,
    NotOfGrid,
    PlaceInvalid,
)
from appeals.models import OUTBOX
from guanyinli import outbox, revocation
from guanyinli.clock import Clock
from guanyinli.db import Database
from guanyinli.errors import InvalidInput, Unavailable
from guanyinli.identity import (
    ANYONE,
    GRID_LEADER,
    ORGANISER,
    ORGANISERS,
    SIGNED_IN,
    SYSTEM,
    VIEWER,
    VOLUNTEER,
    CallerIdentity,
    Identity,
    allow,
)
from guanyinli.rpc import EventDispatcher, rpc
from guanyinli.schemas import contract

log = logging.getLogger(__name__)

SHOWN = "category, place, status and times to anyone signed in; the resident's contact and the words of the appeal only to its handler and organisers"
INTAKE = allow(
    VOLUNTEER,
    GRID_LEADER,
    ORGANISER,
    SYSTEM,
    scope="a grid member or leader for their own grid, the community office (organisers) for any",
)
HANDLER = allow(VOLUNTEER, GRID_LEADER, ORGANISER, SYSTEM, scope="the appeal's handler, or organisers")
ACTING = (InvalidInput, AppealNotFound, AppealClosed, NotHandler)


class AppealsService(partners_service.PartnersMixin, revocation.RevocationListener):
    name = "appeals"

    db = Database()
    dispatch = EventDispatcher()
    caller: Identity = CallerIdentity()
    clock = Clock()
    volunteers = Volunteers()
    relay = outbox.Relay(OUTBOX)

    def _work(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(session)`` in its own transaction; its events go out once it committed."""
        return self.relay.work(self.db, self.dispatch, fn)

    @outbox.relay_timer
    def relay_outbox(self):
        """Send the events that did not go out after their commit (see ``guanyinli.outbox``)."""
        self.relay.run(self.db, self.dispatch)

    @property
    def _author(self) -> str:
        return self.caller.subject or "anonymous"

    def _shown(self, appeal: dict) -> dict:
        return domain.shown(self.caller, appeal)

    def _candidates(self, grid: dict, category: str) -> list[domain.Candidate]:
        start = self.clock()
        return self.volunteers.candidates(grid, category, start, start + domain.AVAILABLE_FOR)

    def _handled(self, appeal_id: int) -> dict:
        """The open appeal, read, once the caller is found to act for its handler."""
        appeal = self.db.read(lambda s: store.appeal_view(store.get(s, appeal_id)))
        if appeal["status"] == "closed":
            raise AppealClosed(f"appeal_id: appeal {appeal_id} is closed")
        if not self.caller.acts_for(appeal["handler_id"]):
            raise NotHandler(f"appeal_id: appeal {appeal_id} is another volunteer's to handle")
        return appeal

    def _still_handled(self, session, appeal_id: int, handler_id: int | None):
        """The appeal locked for a change, if its handler is still who the caller acted for."""
        appeal = store.get_open(session, appeal_id)
        if appeal.handler_id != handler_id:
            raise AppealStateInvalid(f"appeal_id: appeal {appeal_id} changed hands meanwhile; look again")
        return appeal

    # --- health ----------------------------------------------------------------------------------

    @rpc
    @contract(access=ANYONE, response=schemas.Health())
    def health(self):
        """Liveness: answers when the service and its database do."""

        def work(session):
            session.execute(text("SELECT 1"))
            return {"service": self.name, "status": "ok", "database": "ok", "open_appeals": store.count_open(session)}

        return self._work(work)

    # --- intake and routing ------------------------------------------------------------------------

    @rpc
    @contract(
        access=INTAKE,
        request=schemas.ReceiveAppealIn,
        response=schemas.AppealOut(),
        errors=(InvalidInput, GridNotFound, PlaceInvalid, NotOfGrid, Unavailable),
        emits=("appeal_received", "appeal_assigned"),
        key="request_id",
    )
    def receive_appeal(
        self,
        category,
        grid_id,
        description,
        resident_name,
        resident_phone,
        courtyard=None,
        building=None,
        urgency="normal",
        resident_address=None,
        request_id=None,
    ):
        """Take in a resident's appeal (at the door, on the phone) and route it at once.

        It goes to a member or the leader of the grid available now, else to a volunteer of the
        category's helping team (with its skill) available now, the one with the fewest open
        appeals first; with nobody available it stays ``unrouted``. The grid and courtyard are
        checked against the volunteers service. The same request_id returns the first answer."""
        grid = self.volunteers.grid(grid_id)
        if not self.caller.is_organiser and not self.caller.leads(grid_id):
            me = self.volunteers.volunteer(self.caller.volunteer_id) if self.caller.volunteer_id else None
            if me is None or grid_id not in domain.grid_roles(me):
                raise NotOfGrid(f"grid_id: you take appeals in for your own grid only, not grid {grid_id}")
        if courtyard is not None and courtyard not in domain.courtyard_codes(grid):
            raise PlaceInvalid(f"courtyard: {courtyard} is not in grid {grid_id}")
        found = self._candidates(grid, category)
        data = {
            "category": category,
            "grid_id": grid_id,
            "courtyard": courtyard,
            "building": building,
            "urgency": urgency,
            "description": description,
            "resident_name": resident_name,
            "resident_phone": resident_phone,
            "resident_address": resident_address,
        }
        at = self.clock()
        return self._shown(self._work(lambda s: store.receive(s, data, found, at, self._author)))

    @rpc
    @contract(access=SIGNED_IN, request=schemas.AppealIdIn, response=schemas.AppealOut(), errors=(AppealNotFound,))
    def get_appeal(self, appeal_id):
        """One appeal with its trail. Category, place, status and times to anyone signed in; the
        resident's contact, the words of the appeal and its trail only to its handler and organisers."""
        return self._shown(self.db.read(lambda s: store.appeal_view(store.get(s, appeal_id))))

    @rpc
    @contract(
        access=allow(VOLUNTEER, GRID_LEADER, VIEWER, ORGANISER, SYSTEM, scope=SHOWN),
        request=schemas.ListAppealsIn,
        response=schemas.AppealOut(many=True),
        errors=(InvalidInput,),
    )
    def list_appeals(self, grid_id=None, status=None, handler_id=None, limit=50, offset=0):
        """Appeals newest first, by grid, status (or ``open``) and handler; no trail in the list."""
        rows = self.db.read(lambda s: store.list_appeals(s, grid_id, status, handler_id, limit, offset))
        return [self._shown(a) for a in rows]

    # --- handling ----------------------------------------------------------------------------------

    @rpc
    @contract(
        access=HANDLER, request=schemas.AppealIdIn, response=schemas.AppealOut(), errors=ACTING + (AppealStateInvalid,)
    )
    def accept_appeal(self, appeal_id):
        """The handler takes the appeal routed to them."""
        appeal = self._handled(appeal_id)
        at = self.clock()

        def work(session):
            return store.accept(
                session, self._still_handled(session, appeal_id, appeal["handler_id"]), at, self._author
            )

        return self._shown(self._work(work))

    @rpc
    @contract(
        access=HANDLER,
        request=schemas.HandBackIn,
        response=schemas.AppealOut(),
        errors=ACTING + (AppealStateInvalid, Unavailable),
        emits=("appeal_assigned",),
    )
    def hand_back_appeal(self, appeal_id, reason):
        """The handler gives the appeal back, saying why; it is routed again to someone else (never to
        anyone who handed it back), or left ``unrouted`` for the organisers."""
        appeal = self._handled(appeal_id)
        found = self._candidates(self.volunteers.grid(appeal["grid_id"]), appeal["category"])
        at = self.clock()

        def work(session):
            current = self._still_handled(session, appeal_id, appeal["handler_id"])
            return store.hand_back(session, current, reason, found, at, self._author)

        # The one who handed it back no longer handles it: they see what anyone sees.
        return self._shown(self._work(work))

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.ReassignIn,
        response=schemas.AppealOut(),
        errors=(InvalidInput, AppealNotFound, AppealClosed, HandlerIneligible, Unavailable),
        emits=("appeal_assigned",),
    )
    def reassign_appeal(self, appeal_id, volunteer_id, reason=None):
        """Give an open appeal to a volunteer of its grid, or of the team its category needs."""
        appeal = self.db.read(lambda s: store.appeal_view(store.get(s, appeal_id)))
        if appeal["status"] == "closed":
            raise AppealClosed(f"appeal_id: appeal {appeal_id} is closed")
        volunteer = self.volunteers.volunteer(volunteer_id)
        if volunteer is None or not domain.may_handle(volunteer, appeal["grid_id"], appeal["category"]):
            raise HandlerIneligible(
                f"volunteer_id: volunteer {volunteer_id} is neither an active person of grid {appeal['grid_id']} "
                f"nor of the team a {appeal['category']} appeal needs"
            )
        at = self.clock()
        return self._work(
            lambda s: store.reassign(s, store.get_open(s, appeal_id), volunteer_id, reason, at, self._author)
        )

    @rpc
    @contract(access=HANDLER, request=schemas.AddNoteIn, response=schemas.AppealOut(), errors=ACTING)
    def add_appeal_note(self, appeal_id, text):
        """A note of progress on an open appeal (a visit made, a part ordered)."""
        appeal = self._handled(appeal_id)
        at = self.clock()

        def work(session):
            current = self._still_handled(session, appeal_id, appeal["handler_id"])
            return store.add_note(session, current, text, at, self._author, self.caller.volunteer_id)

        return self._shown(self._work(work))

    @rpc
    @contract(
        access=HANDLER,
        request=schemas.CloseAppealIn,
        response=schemas.AppealOut(),
        errors=ACTING + (AppealStateInvalid,),
        emits=("appeal_closed",),
    )
    def close_appeal(self, appeal_id, outcome, resident_reply=None, satisfaction=None, hours=0.0):
        """Close an open appeal: what was done, the resident's reply and satisfaction (1-5, entered
        by the handler on their behalf), the hours of work. ``appeal_closed`` carries the hours:
        the volunteers service credits them to the handler's ledger, once per appeal. Closing a
        closed appeal -> AppealClosed."""
        appeal = self._handled(appeal_id)
        closing = {"outcome": outcome, "resident_reply": resident_reply, "satisfaction": satisfaction, "hours": hours}
        at = self.clock()

        def work(session):
            current = self._still_handled(session, appeal_id, appeal["handler_id"])
            return store.close(session, current, closing, at, self._author)

        return self._shown(self._work(work))
