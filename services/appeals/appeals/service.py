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

from nameko.timer import timer
from sqlalchemy import text

from appeals import domain, partners_service, report, schemas, store, time_limits
from appeals.dependencies import Escalation, Notifications, ReplyLinksProvider, Volunteers, escalation_timer
from appeals.exceptions import (
    AppealClosed,
    AppealNotFound,
    AppealStateInvalid,
    GridNotFound,
    HandlerIneligible,
    NotHandler,
    NotOfGrid,
    PlaceInvalid,
    ReplyLinkExpired,
    ReplyLinkUnknown,
    ReplyLinkUsed,
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
    service_only,
)
from guanyinli.rpc import EventDispatcher, rpc
from guanyinli.schemas import contract

log = logging.getLogger(__name__)

SHOWN = "category, place, status and times to anyone signed in; the resident's contact and the words of the appeal only to its handler and organisers"
REPORT_READERS = allow(
    VIEWER,
    GRID_LEADER,
    ORGANISER,
    SYSTEM,
    scope="a grid leader the grids they lead only; counts and times, nothing private",
)
INTAKE = allow(
    VOLUNTEER,
    GRID_LEADER,
    ORGANISER,
    SYSTEM,
    scope="a grid member or leader for their own grid, the community office (organisers) for any",
)
HANDLER = allow(VOLUNTEER, GRID_LEADER, ORGANISER, SYSTEM, scope="the appeal's handler, or organisers")
ACTING = (InvalidInput, AppealNotFound, AppealClosed, NotHandler)
# Batches of appeals the escalation timer takes per tick at most: what is left waits for the next tick.
ESCALATION_ROUNDS = 10
PUBLIC_FORM = service_only("organiser", scope="for the residents' public form, the resident's number verified by SMS")
REPLY_TEXTS_EVERY = 60  # s: a reply link whose text failed at closing is sent again this often


# What an intake method passes on of its arguments: the appeal's own fields.
INTAKE_FIELDS = (
    "category",
    "grid_id",
    "courtyard",
    "building",
    "urgency",
    "description",
    "resident_name",
    "resident_phone",
    "resident_address",
)


def intake(arguments: dict, source: str) -> dict:
    """The appeal to take in, from an intake method's arguments (``locals()``) and where it came from."""
    return {k: arguments[k] for k in INTAKE_FIELDS} | {"source": source}


class AppealsService(partners_service.PartnersMixin, revocation.RevocationListener):
    name = "appeals"

    db = Database()
    dispatch = EventDispatcher()
    caller: Identity = CallerIdentity()
    clock = Clock()
    volunteers = Volunteers()
    escalation = Escalation()
    notifications = Notifications()
    reply_links = ReplyLinksProvider()
    relay = outbox.Relay(OUTBOX)

    def _work(self, fn: Callable[[Any], Any], db=None) -> Any:
        """Run ``fn(session)`` in its own transaction (of ``db``, a timer's community, else the
        worker's); its events go out once it committed."""
        return self.relay.work(db or self.db, self.dispatch, fn)

    @outbox.relay_timer
    def relay_outbox(self):
        """Send the events that did not go out after their commit (see ``guanyinli.outbox``)."""
        self.relay.run(self.db, self.dispatch)

    @property
    def _author(self) -> str:
        return self.caller.subject or "anonymous"

    @property
    def _limits(self) -> time_limits.Limits:
        return self.escalation.limits

    def _shown(self, appeal: dict) -> dict:
        """The appeal with its deadlines (of the configured limits), as the caller may see it."""
        due = time_limits.deadlines(appeal["category"], appeal["urgency"], appeal["received_at"], self._limits)
        deadlines = {f"{stage}_by": due.of(stage) for stage in time_limits.STAGES}
        return domain.shown(self.caller, {**appeal, **deadlines})

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
        return self._shown(self._receive(grid, intake(locals(), domain.source_of(self.caller))))

    def _receive(self, grid: dict, data: dict) -> dict:
        """Intake and routing, whoever took the appeal in: the courtyard checked against the grid."""
        if data["courtyard"] is not None and data["courtyard"] not in domain.courtyard_codes(grid):
            raise PlaceInvalid(f"courtyard: {data['courtyard']} is not in grid {data['grid_id']}")
        found = self._candidates(grid, data["category"])
        at = self.clock()
        return self._work(lambda s: store.receive(s, data, found, at, self._author, self._limits))

    @rpc
    @contract(
        access=PUBLIC_FORM,
        request=schemas.ReceivePublicAppealIn,
        response=schemas.PublicAppealOut(),
        errors=(InvalidInput, GridNotFound, PlaceInvalid, Unavailable),
        emits=("appeal_received", "appeal_assigned"),
        key="request_id",
    )
    def receive_public_appeal(
        self,
        category,
        grid_id,
        description,
        resident_name,
        resident_phone,
        request_id,
        courtyard=None,
        building=None,
        urgency="normal",
        resident_address=None,
    ):
        """A resident's own appeal, sent through the organiser site's public form.

        Their mobile number was verified there by an SMS code; routed as ``receive_appeal`` routes,
        its source ``resident``. The answer is what the resident may be told: the reference,
        whether someone has it now and by when they hear from someone, nothing of the appeal or
        its handler."""
        appeal = self._receive(self.volunteers.grid(grid_id), intake(locals(), "resident"))
        due = time_limits.deadlines(appeal["category"], appeal["urgency"], appeal["received_at"])
        return {
            "reference": appeal["reference"],
            "routed": appeal["status"] == "assigned",
            "acknowledge_by": due.acknowledge,
        }

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
            current = self._still_handled(session, appeal_id, appeal["handler_id"])
            return store.accept(session, current, at, self._author, self._limits)

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
            return store.hand_back(session, current, reason, found, at, self._author, self._limits)

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

        def work(session):
            current = store.get_open(session, appeal_id)
            return store.reassign(session, current, volunteer_id, reason, at, self._author, self._limits)

        return self._shown(self._work(work))

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
    @contract(access=HANDLER, request=schemas.MarkVisitedIn, response=schemas.AppealOut(), errors=ACTING)
    def mark_appeal_visited(self, appeal_id, note=None):
        """The handler went to see the resident (with a note of what they found): the visit stage of
        the time limits is done, and an appeal not yet accepted counts as accepted. Visiting again adds
        a note; the first visit is the one that counts."""
        appeal = self._handled(appeal_id)
        at = self.clock()

        def work(session):
            current = self._still_handled(session, appeal_id, appeal["handler_id"])
            return store.mark_visited(session, current, note, at, self._author, self.caller.volunteer_id, self._limits)

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
        closed appeal -> AppealClosed.

        A resident with a mobile number gets a text with a personal link (``/appeal/reply/<token>``
        on the organiser site, 14 days, one answer) to give their own satisfaction and reply
        (``record_resident_reply``); once per appeal, sent again later if notifications is down."""
        appeal = self._handled(appeal_id)
        closing = {"outcome": outcome, "resident_reply": resident_reply, "satisfaction": satisfaction, "hours": hours}
        at = self.clock()

        def work(session):
            current = self._still_handled(session, appeal_id, appeal["handler_id"])
            return store.close(session, current, closing, at, self._author, self.reply_links.key)

        closed = self._shown(self._work(work))
        self._send_reply_texts(appeal_id=appeal_id)
        return closed

    # --- time limits ------------------------------------------------------------------------------

    @escalation_timer
    def escalate_overdue(self):
        """Appeals whose stage (acknowledge, visit, close) nears or broke its time limit: each step of
        the ladder (handler, grid leader, community office) fires once as ``appeal_escalated``, whichever
        replica gets there first, and what piled up while no replica ran fires at the next tick.
        Every community in turn, each on its own storage, asking its own grids' leaders and its
        events going out as its own (``each_community``)."""
        now = self.clock()
        self.db.in_each_community("appeals not escalated", lambda db: self._escalate(db, now))

    def _escalate(self, db, now) -> None:
        settings = self.escalation
        for _ in range(ESCALATION_ROUNDS):
            grids = db.read(lambda s: store.grids_due(s, now, settings.batch))
            if not grids:
                return
            try:
                leaders = {grid_id: self._grid_leader(grid_id) for grid_id in grids}
            except Unavailable as exc:
                log.warning("appeals of %s not escalated now, the grid leaders are not known: %s", db.community, exc)
                return
            looked = self._work(
                lambda s, leaders=leaders: store.escalate_due(s, now, leaders, settings.limits, settings.batch), db
            )
            if looked < settings.batch:
                return

    def _grid_leader(self, grid_id: int) -> int | None:
        try:
            grid = self.volunteers.grid(grid_id)
        except GridNotFound:
            return None
        return (grid.get("leader") or {}).get("id")

    # --- the resident's own answer -----------------------------------------------------------------

    @rpc
    @contract(
        access=service_only("organiser", scope="for the resident's reply page /appeal/reply/<token>"),
        request=schemas.ResidentReplyIn,
        response=schemas.ResidentReplyOut(),
        errors=(InvalidInput, ReplyLinkUnknown, ReplyLinkUsed, ReplyLinkExpired),
    )
    def record_resident_reply(self, token, satisfaction, reply=None):
        """The resident's own satisfaction (1-5) and reply, through their link, once.

        It replaces what the handler entered on their behalf, and the appeal's trail says so."""
        at = self.clock()
        return self._work(lambda s: store.record_reply(s, token, satisfaction, reply, at))

    @timer(interval=REPLY_TEXTS_EVERY)
    def send_reply_texts(self):
        """Texts of reply links that did not go out at closing (notifications was down), in every
        community."""
        self.db.in_each_community("reply links not texted", self._send_reply_texts)

    def _send_reply_texts(self, db=None, appeal_id: int | None = None) -> None:
        """Text each open, unsent reply link of ``db``'s community (the worker's by default; of
        ``appeal_id`` only, if given); a failure waits for the timer. The link is the community's
        page (``/c/<slug>/appeal/reply/...`` outside the default community). The number is only
        masked in the log; the link never written anywhere here."""
        db = db or self.db
        at = self.clock()
        for item in db.read(lambda s: store.pending_reply_texts(s, at, appeal_id)):
            token = domain.reply_token(self.reply_links.key, item["id"], item["nonce"])
            try:
                self.notifications.reply_link(
                    item["phone"], domain.reference(item["id"]), self.reply_links.url(token, db.community), item["id"]
                )
            except Exception as exc:  # noqa: BLE001 - the timer tries again; the closing stands
                log.warning("reply link of appeal %d not texted yet: %s", item["id"], type(exc).__name__)
                continue
            self._work(lambda s, done=item["id"]: store.reply_sent(s, done, self.clock()), db)

    # --- the monthly report ------------------------------------------------------------------------

    @rpc
    @contract(
        access=REPORT_READERS,
        request=schemas.MonthlyReportIn,
        response=schemas.MonthlyReportOut(),
        errors=(InvalidInput, NotOfGrid),
    )
    def monthly_report(self, month, grid_id=None):
        """The month's figures per grid and in all (``appeals.report``): received by category and urgency,
        stages done within their limits, hours to acknowledge and to close, satisfaction, open at the
        month's end and overdue now. Organisers and viewers read the community or one grid; a grid leader
        the grids they lead (all of them when ``grid_id`` is null)."""
        grids = None if grid_id is None else [grid_id]
        if not self.caller.may_read_all:
            if grid_id is not None and not self.caller.leads(grid_id):
                raise NotOfGrid(f"grid_id: a grid leader reads the report of the grids they lead, not grid {grid_id}")
            grids = grids or sorted(self.caller.grid_ids)
        first = report.parse_month(month)
        start, end = report.month_bounds(first)
        records = self.db.read(lambda s: store.report_records(s, start, end, grids))
        return report.monthly_report(records, first, self.clock(), grids, limits=self._limits)
