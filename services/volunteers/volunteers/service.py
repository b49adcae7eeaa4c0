"""The ``volunteers`` nameko service: thin RPC entrypoints over ``store`` (database) and ``domain`` (rules).

Every method loads its arguments through a schema (``@contract``) and works in one transaction
(committed on success, rolled back on any error, so a rejected call writes nothing). Its events are
stored in that transaction (``OUTBOX.add``) and dispatched after the commit; the relay sends those
that did not go out then (``guanyinli.outbox``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import eventlet
from sqlalchemy import text

from guanyinli import outbox, revocation
from guanyinli.db import Database
from guanyinli.errors import Forbidden, InvalidInput, NotFound
from guanyinli.events import appeal_key, attendance_key, read
from guanyinli.identity import (
    ANYONE,
    GRID_LEADER,
    ORGANISER,
    ORGANISERS,
    READERS,
    SIGNED_IN,
    SYSTEM,
    VIEWER,
    CallerIdentity,
    Identity,
    allow,
    own,
)
from guanyinli.rpc import EventDispatcher, event_handler, rpc
from guanyinli.schemas import contract
from volunteers import domain, schemas, store
from volunteers.dependencies import CommunityStructures
from volunteers.exceptions import (
    AvailabilityOverlap,
    GridLeaderTaken,
    GridNotFound,
    PartnerInvalid,
    PhoneTaken,
    SourceKeyTaken,
    VolunteerInactive,
    VolunteerNotFound,
)
from volunteers.models import OUTBOX
from volunteers.structure import Structure

log = logging.getLogger(__name__)

VOLUNTEER_ERRORS = (InvalidInput, VolunteerNotFound)
# Who lists volunteers: organisers, viewers, services, and a grid leader their own grid's.
GRID_LISTING = allow(
    GRID_LEADER,
    VIEWER,
    ORGANISER,
    SYSTEM,
    scope="a grid leader their own grid's volunteers; phone and e-mail only to organisers and the grid leader",
)
REQUEUE_PAUSE = 1.0  # seconds before an event that failed for a passing reason goes back to the queue


def volunteer_event(view: dict, changed: list[str] | None = None) -> dict:
    return {
        "volunteer_id": view["id"],
        "name": view["name"],
        "email": view["email"],
        "teams": view["teams"],
        "grid_id": view["grid_id"],
        "active": view["active"],
        "changed": changed or [],
    }


def entry_event(entry: dict) -> dict:
    return {
        "entry_id": entry["id"],
        **{k: entry[k] for k in ("volunteer_id", "hours", "points", "reason", "source", "source_key")},
    }


class VolunteersService(revocation.RevocationListener):
    name = "volunteers"

    db = Database()
    dispatch = EventDispatcher()
    caller: Identity = CallerIdentity()
    relay = outbox.Relay(OUTBOX)
    structures = CommunityStructures()

    @property
    def org(self) -> Structure:
        """The organisation (grids, teams, courtyards...) of the community the worker acts for."""
        return self.structures.of(self.db.community)

    def _work(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(session)`` in its own transaction; the events it queued with ``OUTBOX.add`` are
        dispatched once the transaction committed."""
        return self.relay.work(self.db, self.dispatch, fn)

    @outbox.relay_timer
    def relay_outbox(self):
        """Send the events that did not go out after their commit (broker down, process killed, a
        failed try), each row on its own (see ``guanyinli.outbox``)."""
        self.relay.run(self.db, self.dispatch)

    # --- who may see and change what (rules in domain) -------------------------------------------

    def _led(self, session) -> frozenset[int]:
        """Grids the caller leads: as the grid roles stand now, and as a grid leader's token says."""
        own = store.grids_led_by(session, self.caller.volunteer_id) if self.caller.volunteer_id else frozenset()
        return own | (self.caller.grid_ids if GRID_LEADER in self.caller.roles else frozenset())

    def _for_volunteer(self, volunteer_id: int, read: bool = False) -> None:
        if self.caller.acts_for(volunteer_id) or (read and self.caller.may_read_all):
            return
        raise Forbidden(f"a volunteer acts only for themselves, not for volunteer {volunteer_id}")

    def _grid_scope(self, grid_id, led: frozenset[int]):
        try:
            return domain.grid_scope(self.caller, grid_id, led)
        except ValueError as exc:
            raise Forbidden(str(exc)) from None

    # --- health and reference data ---------------------------------------------------------------

    @rpc
    @contract(access=ANYONE, response=schemas.Health())
    def health(self):
        """Liveness: answers when the service and its database do."""

        def work(session):
            session.execute(text("SELECT 1"))
            return {"service": self.name, "status": "ok", "database": "ok", "volunteers": store.count_active(session)}

        return self._work(work)

    @rpc
    @contract(access=SIGNED_IN, response=schemas.TeamOut(many=True))
    def list_teams(self):
        """The community's volunteer teams (Guanyinli: three) with their number of active members."""
        return self._work(lambda s: store.list_teams(s, self.org))

    @rpc
    @contract(access=SIGNED_IN, response=schemas.AllianceOut(many=True))
    def list_alliances(self):
        """The alliances volunteers and partners come from (Guanyinli: six), with their number of active volunteers."""
        return self._work(lambda s: store.list_alliances(s, self.org))

    @rpc
    @contract(
        access=own("any signed-in caller; phones only to organisers, the volunteer and their grid leader"),
        response=schemas.GridSummary(many=True),
    )
    def list_grids(self):
        """Every grid of the community (Guanyinli: 5 exclusive, 10 comprehensive) with leader, member count and courtyards."""
        return self._work(
            lambda s: [domain.shown_grid(self.caller, g, self._led(s)) for g in store.list_grids(s, self.org)]
        )

    @rpc
    @contract(
        access=own("any signed-in caller; phones only to organisers, the volunteer and their grid leader"),
        request=schemas.GridIdIn,
        response=schemas.GridOut(),
        errors=(InvalidInput, GridNotFound),
    )
    def get_grid(self, grid_id):
        """One grid: leader, members, courtyards and buildings, active volunteers living there."""
        return self._work(lambda s: domain.shown_grid(self.caller, store.get_grid(s, self.org, grid_id), self._led(s)))

    @rpc
    @contract(
        access=SIGNED_IN,
        request=schemas.ListCourtyardsIn,
        response=schemas.CourtyardOut(many=True),
        errors=(InvalidInput, GridNotFound),
    )
    def list_courtyards(self, grid_id=None):
        """The community's courtyards and commercial-residential buildings (Guanyinli: 12 and 3), each with its grid."""
        return store.list_courtyards(self.org, grid_id)

    @rpc
    @contract(
        access=SIGNED_IN,
        request=schemas.ListCourtyardsIn,
        response=schemas.GreenSpaceOut(many=True),
        errors=(InvalidInput, GridNotFound),
    )
    def list_green_spaces(self, grid_id=None):
        """The public green spaces the sanitation and green protection team looks after, each with its grid."""
        return store.list_green_spaces(self.org, grid_id)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.GridRoleIn,
        response=schemas.GridOut(),
        errors=(InvalidInput, GridNotFound, VolunteerNotFound, VolunteerInactive, GridLeaderTaken),
        emits=("volunteer_updated",),
    )
    def assign_grid_leader(self, grid_id, volunteer_id):
        """Make an active volunteer the grid's leader; a grid that has another leader -> GridLeaderTaken."""
        return self._grid_role(grid_id, volunteer_id, "leader")

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.GridRoleIn,
        response=schemas.GridOut(),
        errors=(InvalidInput, GridNotFound, VolunteerNotFound, VolunteerInactive),
        emits=("volunteer_updated",),
    )
    def add_grid_member(self, grid_id, volunteer_id):
        """Add an active volunteer to the grid's members (the leader stays leader)."""
        return self._grid_role(grid_id, volunteer_id, "member")

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.GridRoleIn,
        response=schemas.GridOut(),
        errors=(InvalidInput, GridNotFound, VolunteerNotFound),
        emits=("volunteer_updated",),
    )
    def remove_grid_role(self, grid_id, volunteer_id):
        """Remove a volunteer's role (leader or member) in a grid; nothing happens if they have none."""
        return self._grid_role(grid_id, volunteer_id, None)

    def _grid_role(self, grid_id, volunteer_id, role):
        def work(session):
            if role is None:
                grid, changed = store.remove_grid_role(session, self.org, grid_id, volunteer_id)
            else:
                grid, changed = store.assign_grid_role(session, self.org, grid_id, volunteer_id, role)
            if changed:
                volunteer = store.get_volunteer(session, volunteer_id)
                OUTBOX.add(session, "volunteer_updated", volunteer_event(volunteer, ["grid_roles"]))
            return grid

        return self._work(work)

    # --- volunteers --------------------------------------------------------------------------------

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.CreateVolunteerIn,
        response=schemas.VolunteerOut(),
        errors=(InvalidInput, PhoneTaken),
        emits=("volunteer_created",),
        key="request_id",
    )
    def create_volunteer(
        self,
        name,
        phone,
        email=None,
        teams=None,
        grid_id=None,
        alliance=None,
        skills=None,
        language=None,
        request_id=None,
    ):
        """Register a volunteer: teams, home grid, alliance, skills (e.g. patrol_leader, tutoring:math).

        The same request_id with the same arguments returns the first answer (guanyinli.keys)."""
        data = {"name": name, "phone": phone, "email": email, "teams": teams, "grid_id": grid_id}
        data.update(alliance=alliance, skills=skills, language=language)

        def work(session):
            volunteer = store.create_volunteer(session, data)
            OUTBOX.add(session, "volunteer_created", volunteer_event(volunteer))
            return volunteer

        return self._work(work)

    @rpc
    @contract(
        access=own("any signed-in caller; phone and e-mail only to organisers, the volunteer and their grid leader"),
        request=schemas.VolunteerIdIn,
        response=schemas.VolunteerOut(),
        errors=VOLUNTEER_ERRORS,
    )
    def get_volunteer(self, volunteer_id):
        """One volunteer, active or not, with teams, skills and grid roles."""
        view = self.db.read(lambda s: store.get_volunteer(s, volunteer_id), cache_key=("volunteer", volunteer_id))
        if self.caller.is_organiser or self.caller.acts_for(volunteer_id):
            return view
        return self._work(lambda s: domain.shown(self.caller, view, self._led(s)))

    @rpc
    @contract(
        access=allow(SYSTEM, scope="the organiser service, for a volunteer's sign-in by SMS code"),
        request=schemas.PhoneIn,
        response=schemas.VolunteerOut(),
        errors=VOLUNTEER_ERRORS,
    )
    def find_by_phone(self, phone):
        """The volunteer a mobile number belongs to, grid roles included (the volunteers' phone page
        signs people in by number). Only services: a person could use it to learn who is a volunteer."""
        return self.db.read(lambda s: store.find_by_phone(s, phone))

    @rpc
    @contract(
        access=own(
            "a volunteer changes their own phone, e-mail, language, weekly cap, preferred days and times and"
            " partners only"
        ),
        request=schemas.UpdateVolunteerIn,
        response=schemas.VolunteerOut(),
        errors=VOLUNTEER_ERRORS + (PhoneTaken, PartnerInvalid),
        emits=("volunteer_updated",),
    )
    def update_volunteer(
        self,
        volunteer_id,
        name=None,
        phone=None,
        email=None,
        teams=None,
        grid_id=None,
        alliance=None,
        skills=None,
        language=None,
        max_duties_per_week=None,
        target_per_month=None,
        preferred_days=None,
        preferred_times=None,
        partners=None,
        clear=None,
    ):
        """Change the given fields (lists are replaced as a whole); no change, no event.

        Fields left out (or null) stay as they are; those named in ``clear`` are emptied. The roster
        settings (weekly cap, target, preferred days and times, partners) are the patrol roster's input;
        a volunteer sets their own but the target, which is the organisers'.
        """
        given = {"name": name, "phone": phone, "email": email, "teams": teams, "grid_id": grid_id}
        given.update(alliance=alliance, skills=skills, language=language)
        given.update(max_duties_per_week=max_duties_per_week, target_per_month=target_per_month)
        given.update(preferred_days=preferred_days, preferred_times=preferred_times, partners=partners)
        changes = {k: v for k, v in given.items() if v is not None}
        changes.update(dict.fromkeys(clear, None))
        self._for_volunteer(volunteer_id)
        if not self.caller.is_organiser and set(changes) - domain.SELF_SERVICE_FIELDS:
            others = sorted(set(changes) - domain.SELF_SERVICE_FIELDS)
            raise Forbidden(
                f"{', '.join(others)}: changed by organisers only; a volunteer changes their phone, e-mail,"
                " language, weekly cap, preferred days and times and partners",
                f"{'、'.join(others)}：只有组织者可以修改",
            )

        def work(session):
            volunteer, changed = store.update_volunteer(session, volunteer_id, changes)
            if changed:
                OUTBOX.add(session, "volunteer_updated", volunteer_event(volunteer, changed))
            return volunteer

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.DeactivateVolunteerIn,
        response=schemas.VolunteerOut(),
        errors=VOLUNTEER_ERRORS,
        emits=("volunteer_deactivated", "volunteer_updated"),
    )
    def deactivate_volunteer(self, volunteer_id, reason=None):
        """Deactivate a volunteer (kept for the ledger; their grid roles end); repeating it is a no-op.

        They are nobody's partner any more: volunteer_updated with ``partners`` for each who named them."""

        def work(session):
            volunteer, changed = store.deactivate_volunteer(session, volunteer_id, reason)
            if changed:
                OUTBOX.add(session, "volunteer_deactivated", {"volunteer_id": volunteer_id, "reason": reason})
                for other in store.drop_partner(session, volunteer_id):
                    OUTBOX.add(
                        session, "volunteer_updated", volunteer_event(store.get_volunteer(session, other), ["partners"])
                    )
            return volunteer

        return self._work(work)

    @rpc
    @contract(
        access=GRID_LISTING,
        request=schemas.ListVolunteersIn,
        response=schemas.VolunteerPage(),
        errors=(InvalidInput,),
    )
    def list_volunteers(self, team=None, grid_id=None, skill=None, active=None, limit=None, offset=None):
        """Volunteers by id, filtered by team, home grid, skill (or skill family) and active; paginated."""

        def work(session):
            led = self._led(session)
            filters = {"team": team, "grid_id": self._grid_scope(grid_id, led), "skill": skill, "active": active}
            page = store.list_volunteers(session, limit=limit, offset=offset, **filters)
            return {**page, "items": [domain.shown(self.caller, v, led) for v in page["items"]]}

        return self._work(work)

    # --- availability ------------------------------------------------------------------------------

    @rpc
    @contract(
        access=own(),
        request=schemas.SetAvailabilityIn,
        response=schemas.AvailabilityOut(),
        errors=VOLUNTEER_ERRORS + (AvailabilityOverlap,),
        emits=("availability_changed",),
    )
    def set_availability(self, volunteer_id, weekly=None, dated=None):
        """Replace a volunteer's weekly windows and dated exceptions (off = time off, extra = available).

        Overlapping windows are rejected as a whole (AvailabilityOverlap naming both entries).
        """
        self._for_volunteer(volunteer_id)

        def work(session):
            result = store.set_availability(session, volunteer_id, weekly, dated)
            OUTBOX.add(session, "availability_changed", {"volunteer_id": volunteer_id})
            return result

        return self._work(work)

    @rpc
    @contract(access=own(), request=schemas.VolunteerIdIn, response=schemas.AvailabilityOut(), errors=VOLUNTEER_ERRORS)
    def get_availability(self, volunteer_id):
        """A volunteer's weekly windows and dated exceptions as stored."""
        self._for_volunteer(volunteer_id, read=True)
        return self._work(lambda s: store.get_availability(s, volunteer_id))

    @rpc
    @contract(
        access=own(), request=schemas.CheckAvailabilityIn, response=schemas.AvailabilityCheck(), errors=VOLUNTEER_ERRORS
    )
    def check_availability(self, volunteer_id, start, end):
        """Whether the volunteer is active and available for all of [start, end); reason when not.

        Inside a weekly window or extra availability, and not on time off. A volunteer who has
        declared no weekly window yet is available whenever not on time off.
        """
        self._for_volunteer(volunteer_id, read=True)
        return self._work(lambda s: store.check_availability(s, volunteer_id, start, end))

    @rpc
    @contract(
        access=own(), request=schemas.CheckAvailabilityIn, response=schemas.VolunteerSpans(), errors=VOLUNTEER_ERRORS
    )
    def availability_spans(self, volunteer_id, start, end):
        """The spans of [start, end) in which the volunteer is available, as check_availability judges.

        check_availability says yes for exactly the times one span holds whole (no spans while
        deactivated). Ranges up to 100 days. One call for every duty of a window; unlike availability_windows (the roster's input), a
        volunteer who has declared no weekly window is available outside their time off.
        """
        self._for_volunteer(volunteer_id, read=True)
        return self._work(lambda s: store.availability_spans(s, volunteer_id, start, end))

    @rpc
    @contract(
        access=GRID_LISTING,
        request=schemas.AvailableVolunteersIn,
        response=schemas.VolunteerOut(many=True),
        errors=(InvalidInput,),
    )
    def available_volunteers(self, start, end, team=None, grid=None, skill=None):
        """Active volunteers available for all of [start, end) (as check_availability), by team, home grid, skill."""

        def work(session):
            led = self._led(session)
            filters = {"team": team, "grid_id": self._grid_scope(grid, led), "skill": skill}
            return [
                domain.shown(self.caller, v, led) for v in store.available_volunteers(session, start, end, **filters)
            ]

        return self._work(work)

    @rpc
    @contract(
        access=READERS,
        request=schemas.AvailabilityWindowsIn,
        response=schemas.VolunteerWindows(many=True),
        errors=(InvalidInput,),
    )
    def availability_windows(self, start, end, volunteer_ids=None, team=None):
        """Concrete windows in [start, end) of active volunteers: weekly rules minus time off plus extra dates.

        The roster's input: one entry per matching active volunteer (windows may be empty), by id.
        Ranges up to 100 days.
        """

        def work(session):
            windows = store.availability_windows(session, start, end, team=team, volunteer_ids=volunteer_ids)
            return [{"volunteer_id": vid, "windows": spans} for vid, spans in windows.items()]

        return self._work(work)

    # --- for other services' pages --------------------------------------------------------------

    @rpc
    @contract(
        access=allow(
            ORGANISER,
            SYSTEM,
            scope="grid leaders' phones, for services to pass on only to volunteers on duty in that grid",
        ),
        request=schemas.LookupIn,
        response=schemas.LookupOut(),
        errors=(InvalidInput,),
    )
    def lookup(self, volunteer_ids=None, grid_ids=None, source_keys=None):
        """Names of volunteers (no contacts), grid leaders with their phones, and ledger entries, in one call.

        Ledger entries are found by source_key (``attendance:<signup id>``: the points of an
        attended duty). Unknown ids, grids without a leader and keys without an entry are left out."""
        return self._work(lambda s: store.lookup(s, volunteer_ids, grid_ids, source_keys))

    # --- hours and points --------------------------------------------------------------------------

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.AddLedgerEntryIn,
        response=schemas.LedgerEntryOut(),
        errors=VOLUNTEER_ERRORS + (SourceKeyTaken,),
        emits=("ledger_entry_added",),
        key="source_key",
    )
    def add_ledger_entry(
        self, volunteer_id, hours, reason, points=None, source=None, source_key=None, team=None, occurred_at=None
    ):
        """Append hours and points (corrections are negative entries).

        ``source_key`` is the caller's idempotency key (guanyinli.keys): the same key with the same
        arguments returns the first answer, with other arguments KeyReused. It is also the entry's
        identity at its source (``attendance:<signup id>``), unique over the ledger: a source_key
        that another caller used returns that entry when it is for the same volunteer (organisers
        and services read every ledger), and SourceKeyTaken for another volunteer."""
        if points is None:
            points = domain.default_points(hours)

        def work(session):
            entry, created = store.add_ledger_entry(
                session, volunteer_id, hours, points, reason, source, source_key, team, occurred_at
            )
            if created:
                OUTBOX.add(session, "ledger_entry_added", entry_event(entry))
            return entry

        return self._work(work)

    @rpc
    @contract(access=own(), request=schemas.GetLedgerIn, response=schemas.LedgerOut(), errors=VOLUNTEER_ERRORS)
    def get_ledger(self, volunteer_id, limit=None, offset=None):
        """A volunteer's totals and ledger entries, newest first (paginated)."""
        self._for_volunteer(volunteer_id, read=True)
        return self._work(lambda s: store.get_ledger(s, volunteer_id, limit, offset))

    @rpc
    @contract(
        access=SIGNED_IN,
        request=schemas.LeaderboardIn,
        response=schemas.LeaderboardRow(many=True),
        errors=(InvalidInput,),
    )
    def leaderboard(self, team=None, grid=None, since=None, limit=None):
        """Active volunteers ranked by points then hours (ties share a rank), by team, home grid, since."""
        return self._work(lambda s: store.leaderboard(s, team=team, grid=grid, since=since, limit=limit))

    # --- events from other services ------------------------------------------------------------------

    @event_handler("activities", "attendance_recorded", requeue_on_error=True)
    def on_attendance_recorded(self, payload):
        """Credit hours and points for an attended duty, once per sign-up (source_key attendance:<signup_id>).

        A redelivered or repeated event finds the entry by its key and changes nothing. An event
        that can never be credited (malformed, unknown volunteer) is logged and dropped; any other
        failure (the database away) returns it to the queue after a pause, to be tried again.
        """
        try:
            event = read("attendance_recorded", payload)
        except InvalidInput as exc:
            log.error("attendance_recorded dropped, malformed: %s", exc)
            return
        if event["status"] != "attended":
            return  # no_show and excused earn nothing
        points = domain.attendance_points(event["status"], event["hours"], event["weekend"], event["late_notice"])
        reason = f"{event['title']} ({event['role']})"

        def work(session):
            entry, created = store.add_ledger_entry(
                session,
                event["volunteer_id"],
                event["hours"],
                points,
                reason,
                "activities",
                attendance_key(event["signup_id"]),
                event.get("team"),
                event["start"],
            )
            if created:
                OUTBOX.add(session, "ledger_entry_added", entry_event(entry))

        try:
            self._work(work)
        except NotFound:
            log.warning("attendance_recorded for unknown volunteer %s dropped", event["volunteer_id"])
            return
        except Exception:
            log.exception("attendance_recorded for sign-up %s failed; requeued", event["signup_id"])
            eventlet.sleep(REQUEUE_PAUSE)
            raise

    @event_handler("appeals", "appeal_closed", requeue_on_error=True)
    def on_appeal_closed(self, payload):
        """Credit the hours of a closed appeal to its handler, once per appeal (source_key appeal:<id>).

        Points as for any entry of those hours (``domain.default_points``); an appeal closed with no
        hours or no handler earns nothing. Dropped and requeued as ``on_attendance_recorded``."""
        try:
            event = read("appeal_closed", payload)
        except InvalidInput as exc:
            log.error("appeal_closed dropped, malformed: %s", exc)
            return
        if event["handler_id"] is None or event["hours"] <= 0:
            return
        reason = f"appeal {event['appeal_id']} ({event['category']})"

        def work(session):
            entry, created = store.add_ledger_entry(
                session,
                event["handler_id"],
                event["hours"],
                domain.default_points(event["hours"]),
                reason,
                "appeals",
                appeal_key(event["appeal_id"]),
                None,
                event["closed_at"],
            )
            if created:
                OUTBOX.add(session, "ledger_entry_added", entry_event(entry))

        try:
            self._work(work)
        except NotFound:
            log.warning("appeal_closed for unknown volunteer %s dropped", event["handler_id"])
            return
        except Exception:
            log.exception("appeal_closed for appeal %s failed; requeued", event["appeal_id"])
            eventlet.sleep(REQUEUE_PAUSE)
            raise
