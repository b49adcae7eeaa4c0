"""The ``activities`` nameko service: thin RPC entrypoints over ``store`` (unit of work) and ``domain``.

Caller identity comes from context data ``user`` (see ``activities.dependencies``): organiser
calls (define activities, cancel, move, mark attendance) need the ``organiser`` or ``system``
role; a volunteer signs up, cancels and reads duties only for themselves. Other mixins (iCal
feeds, the roster) join the class through its bases; they share ``db``, ``dispatch`` and ``caller``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container
from typing import Any

import eventlet
from nameko.exceptions import RemoteError
from sqlalchemy.exc import IntegrityError, OperationalError

from activities import (
    cleanup_rotation,
    domain,
    exceptions,
    feed_data,
    feeds,
    recurrence,
    rostering,
    schemas,
    schooling,
    sheets,
    standins,
    store,
    views,
    visits_service,
)
from activities.dependencies import CallerIdentity, DutySettings, Standins, Volunteers, standin_timer
from activities.domain import Caller, RuleViolation, SignupCheck, Viewer
from activities.exceptions import (
    DutyClash,
    GridNotFound,
    OccurrenceClosed,
    SkillMissing,
    TeamNotFound,
    TooLateToCancel,
    VolunteerUnavailable,
    WeeklyCapReached,
)
from activities.models import OUTBOX
from guanyinli import outbox, revocation
from guanyinli.clock import Clock
from guanyinli.db import Database
from guanyinli.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable, no_grid, no_team
from guanyinli.events import attendance_key, read
from guanyinli.identity import ANONYMOUS, ANYONE, ORGANISER, ORGANISERS, SYSTEM, VIEWER, allow, own
from guanyinli.rpc import EventDispatcher, event_handler, rpc
from guanyinli.schemas import contract

log = logging.getLogger(__name__)

RULE_ERRORS: dict[str, type[Exception]] = {
    "invalid": InvalidInput,
    "closed": OccurrenceClosed,
    "conflict": Conflict,
}
SIGNUP_ERRORS = (
    NotFound,
    Forbidden,
    SkillMissing,
    VolunteerUnavailable,
    DutyClash,
    WeeklyCapReached,
    OccurrenceClosed,
    Unavailable,
)
ORGANISER_ERRORS = (Forbidden, InvalidInput, NotFound)
RETRIES = 5
REQUEUE_PAUSE = 1.0  # seconds before an event that failed for a passing reason goes back to the queue


def rule_error(exc: RuleViolation) -> Exception:
    return RULE_ERRORS.get(exc.code, Conflict)(str(exc))


class ActivitiesService(
    feeds.FeedsMixin,
    rostering.RosterMixin,
    cleanup_rotation.CleanupMixin,
    visits_service.VisitsMixin,
    schooling.SchoolMixin,
    revocation.RevocationListener,
):
    """Dependencies and RPC entrypoints of the ``activities`` service.

    Mixins (``FeedsMixin`` with ``@http`` feeds, the roster's RPC) are plain classes with
    entrypoints that use ``self.db``, ``self.dispatch``, ``self.caller`` and ``self.volunteers``;
    they join through the bases, imported as modules (``from activities import feeds`` then
    ``class ActivitiesService(feeds.FeedsMixin)``): ``nameko run activities.service`` runs every
    class with entrypoints it finds at the top of this module, so only this one may be there.
    """

    name = "activities"
    db = Database(listen=feed_data.CHANGES_CHANNEL)
    dispatch = EventDispatcher()
    caller: Caller = CallerIdentity()
    volunteers = Volunteers()
    relay = outbox.Relay(OUTBOX)
    clock = Clock()
    duty_rules = DutySettings()
    standin_settings = Standins()

    # --- helpers -----------------------------------------------------------------------------

    def _work(self, fn: Callable[[Any], Any], db=None) -> Any:
        """Run ``fn(session)`` in its own transaction; retry lost races (unique keys, deadlocks).

        Events ``fn`` queued with ``OUTBOX.add`` are dispatched once the transaction committed.
        ``db``: a community's handle of ``self.db.each_community()`` (a timer), else ``self.db``.
        """
        db = self.db if db is None else db
        for attempt in range(RETRIES):
            try:
                with db.get_session() as session:
                    result = fn(session)
                    queued = OUTBOX.pending(session)
                self.relay.send(db, self.dispatch, queued)
                return result
            except RuleViolation as exc:
                raise rule_error(exc) from None
            except recurrence.RecurrenceError as exc:  # a stored rule that today's checks refuse
                raise InvalidInput(f"rrule: {exc}") from None
            except (IntegrityError, OperationalError) as exc:
                if attempt == RETRIES - 1:
                    raise
                log.info("retrying after %s", type(exc.orig).__name__ if exc.orig else exc)
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _viewer(self) -> Viewer:
        """The caller at the service's clock, for what they see of elderly visits."""
        return Viewer(self.caller, self.clock(), self._visit_days_after())

    def _organiser(self) -> None:
        if not self.caller.is_organiser:
            raise Forbidden("organisers only (context data user.roles must include 'organiser')")

    def _known_grid(self, grid_id: int | None) -> None:
        """GridNotFound for a grid the community does not have (the volunteers service's grids), before an
        activity or occurrence is placed in it."""
        if grid_id is not None:
            grids = self.volunteers.grid_ids()
            if grid_id not in grids:
                raise GridNotFound(f"grid_id: {no_grid([grid_id], grids)}", f"没有{grid_id}号网格")

    def _known_team(self, team: str | None, kind: str | None = None) -> Container[str] | None:
        """TeamNotFound for a team the community does not have (the volunteers service's teams), before an
        activity belongs to it; the community's team codes when a team is named or the kind has a usual one."""
        if team is None and kind not in domain.KIND_TEAM:
            return None
        teams = self.volunteers.teams()
        if team is not None and team not in teams:
            en, zh = no_team(team, teams.values())
            raise TeamNotFound(f"team: {en}", zh)
        return teams.keys()

    def _weekly_caps(self) -> domain.WeeklyCaps:
        """The weekly cap of every way to take a duty: MAX_DUTIES_PER_WEEK of any kind, WEEKLY_CAPS by kind."""
        return domain.WeeklyCaps(self.duty_rules.max_per_week, self.standin_settings.caps)

    def _for_volunteer(self, volunteer_id: int) -> None:
        if not self.caller.acts_for(volunteer_id):
            raise Forbidden(f"a volunteer acts only for themselves, not for volunteer {volunteer_id}")

    @outbox.relay_timer
    def relay_outbox(self):
        """Send the events that did not go out after their commit (broker down, process killed, a
        failed try), each row on its own (see ``guanyinli.outbox``)."""
        self.relay.run(self.db, self.dispatch)

    # --- health ------------------------------------------------------------------------------

    @rpc
    @contract(access=ANYONE, response=schemas.Health())
    def health(self):
        """Liveness: answers when the service and its database do."""

        def work(session):
            return {"service": self.name, "status": "ok", "database": "ok", "activities": store.count_active(session)}

        return self._work(work)

    # --- activities --------------------------------------------------------------------------

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.CreateActivityIn,
        response=schemas.Activity(),
        errors=ORGANISER_ERRORS + (GridNotFound, TeamNotFound, Unavailable),
        emits=("activity_created",),
        key="request_id",
    )
    def create_activity(
        self,
        title,
        kind,
        start,
        duration_minutes,
        team=None,
        description=None,
        grid_id=None,
        courtyard=None,
        room=None,
        rrule=None,
        exdates=None,
        capacity=None,
        pupils_per_tutor=None,
        roles=None,
        visited_person=None,
        private_address=None,
        health_notes=None,
        feed_shows_details=False,
        request_id=None,
    ):
        """Define an activity (once or recurring) with its roles; a lecture gets setup and reception duties.

        The same request_id with the same arguments returns the first answer (guanyinli.keys)."""
        self._organiser()
        self._known_grid(grid_id)
        teams = self._known_team(team, kind)
        data = {k: v for k, v in locals().items() if k not in ("self", "request_id", "teams")}

        def work(session):
            activity = store.create_activity(session, data, self.caller.volunteer_id, teams)
            view = views.activity_view(session, activity, self._viewer())
            OUTBOX.add(session, "activity_created", _activity_event(view, []))
            return view

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.UpdateActivityIn,
        response=schemas.Activity(),
        errors=ORGANISER_ERRORS + (GridNotFound, TeamNotFound, OccurrenceClosed, Unavailable),
        emits=("activity_updated", "occurrence_cancelled", "signup_promoted"),
    )
    def update_activity(self, activity_id, changes):
        """Change an activity; occurrences the new schedule drops are cancelled (with sign-ups) or removed."""
        self._organiser()
        self._known_grid(changes.get("grid_id"))
        self._known_team(changes.get("team"))

        def work(session):
            activity, changed, cancelled, promoted = store.update_activity(session, activity_id, changes)
            view = views.activity_view(session, activity, self._viewer())
            if changed:
                OUTBOX.add(session, "activity_updated", _activity_event(view, changed))
            for occ in cancelled:
                _occurrence_cancelled(session, occ, occ.cancel_reason)
            for signup in promoted:
                OUTBOX.add(session, "signup_promoted", views.signup_event(session, signup))
            return view

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.CancelActivityIn,
        response=schemas.Activity(),
        errors=ORGANISER_ERRORS,
        emits=("activity_updated", "occurrence_cancelled"),
    )
    def cancel_activity(self, activity_id, reason=None):
        """Cancel a whole activity and its future occurrences; the records stay, marked cancelled."""
        self._organiser()

        def work(session):
            before = store.get_activity(session, activity_id).status
            activity, cancelled = store.cancel_activity(session, activity_id, reason)
            view = views.activity_view(session, activity, self._viewer())
            if before != "cancelled":
                OUTBOX.add(session, "activity_updated", _activity_event(view, ["status"]))
            for occ in cancelled:
                _occurrence_cancelled(session, occ, reason)
            return view

        return self._work(work)

    @rpc
    @contract(
        access=own("any signed-in caller; an elderly visit's private fields only to organisers and its visitors"),
        request=schemas.ActivityIdIn,
        response=schemas.Activity(),
        errors=(NotFound,),
    )
    def get_activity(self, activity_id):
        """One activity; private visit fields only for organisers and assigned visitors."""
        return self._work(lambda s: views.activity_view(s, store.get_activity(s, activity_id), self._viewer()))

    @rpc
    @contract(
        access=own("any signed-in caller; an elderly visit's private fields only to organisers and its visitors"),
        request=schemas.ListActivitiesIn,
        response=schemas.Activity(many=True),
    )
    def list_activities(self, kind=None, team=None, grid=None, include_cancelled=False):
        """Activities, filtered by kind, team and grid, oldest first."""

        def work(session):
            found = store.list_activities(session, kind, team, grid, include_cancelled)
            viewer = self._viewer()
            return [views.activity_view(session, a, viewer) for a in found]

        return self._work(work)

    # --- occurrences -------------------------------------------------------------------------

    @rpc
    @contract(
        access=own("any signed-in caller; an elderly visit's private fields only to organisers and its visitors"),
        request=schemas.ListOccurrencesIn,
        response=schemas.ListedOccurrence(many=True),
        errors=(InvalidInput,),
    )
    def list_occurrences(self, start, end, kind=None, team=None, grid=None, activity_id=None):
        """Occurrences overlapping [start, end), each with its seats, in time order.

        The window is at most 400 days, within ten years of today. Occurrences starting from 31
        days ago to 120 days ahead (any, for organisers) are stored and have an id to sign up
        with; further ones are computed from the rule and have ``id`` null until then. An
        activity whose stored rule cannot be expanded is left out, or is InvalidInput when
        ``activity_id`` names it.
        """
        try:
            rows = domain.listing_rows(self.caller, start, end, self.clock())
        except RuleViolation as exc:
            raise rule_error(exc) from None

        def work(session):
            found = store.list_occurrences(session, start, end, kind, team, grid, activity_id, rows)
            return views.occurrence_views(session, found, self._viewer())

        return self._work(work)

    @rpc
    @contract(
        access=own("any signed-in caller; an elderly visit's private fields only to organisers and its visitors"),
        request=schemas.OccurrenceIdIn,
        response=schemas.Occurrence(),
        errors=(NotFound,),
    )
    def get_occurrence(self, occurrence_id):
        """One occurrence with its roles, confirmed volunteers and waitlist."""
        return self._work(
            lambda s: views.occurrence_views(s, [store.get_occurrence(s, occurrence_id)], self._viewer())[0]
        )

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.CancelOccurrenceIn,
        response=schemas.Occurrence(),
        errors=ORGANISER_ERRORS,
        emits=("occurrence_cancelled",),
    )
    def cancel_occurrence(self, occurrence_id, reason=None):
        """Cancel one occurrence; it stays listed as cancelled and its volunteers are told by the event."""
        self._organiser()

        def work(session):
            occ, changed = store.cancel_occurrence(session, occurrence_id, reason)
            if changed:
                _occurrence_cancelled(session, occ, reason)
            return views.occurrence_views(session, [occ], self._viewer())[0]

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.UpdateOccurrenceIn,
        response=schemas.Occurrence(),
        errors=ORGANISER_ERRORS + (GridNotFound, OccurrenceClosed, Unavailable),
        emits=("occurrence_changed",),
    )
    def update_occurrence(
        self, occurrence_id, start=None, end=None, grid_id=None, courtyard=None, room=None, reason=None
    ):
        """Override one occurrence: move its time (end keeps the length when left out) or its place.

        occurrence_changed carries ``reason`` to the volunteers it concerns."""
        self._organiser()
        self._known_grid(grid_id)
        changes = {
            k: v
            for k, v in {"start": start, "end": end, "grid_id": grid_id, "courtyard": courtyard, "room": room}.items()
            if v is not None
        }

        def work(session):
            occ, previous_start, previous_end, changed = store.update_occurrence(session, occurrence_id, changes)
            payload = {
                **views.occurrence_ref(occ),
                "previous_start": previous_start,
                "previous_end": previous_end,
                "volunteer_ids": store.occurrence_volunteers(session, occ.id),
                "reason": reason,
            }
            if changed:
                OUTBOX.add(session, "occurrence_changed", payload)
            return views.occurrence_views(session, [occ], self._viewer())[0]

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.OccurrenceIdsIn,
        response=schemas.Signup(many=True),
        errors=(Forbidden,),
    )
    def list_signups(self, occurrence_ids, include_cancelled=False):
        """The sign-ups of up to 2000 occurrences (confirmed and waitlisted; cancelled ones if asked),
        by occurrence and role, the waitlist in order: organisers' sheets, with attendance and hours."""
        self._organiser()
        return self._work(lambda s: sheets.signups_of(s, occurrence_ids, include_cancelled))

    # --- sign-ups ----------------------------------------------------------------------------

    @rpc
    @contract(
        access=own(),
        request=schemas.SignUpIn,
        response=schemas.Signup(),
        errors=SIGNUP_ERRORS,
        emits=("signup_confirmed", "signup_waitlisted"),
        key="request_id",
        rerun=True,  # a repeat finds the volunteer's live sign-up: safe to run when no answer was kept
    )
    def sign_up(self, occurrence_id, volunteer_id, role=None, request_id=None):
        """Sign a volunteer up for a role: confirmed while seats last, else waitlisted in order.

        Checks skills and availability with the volunteers service, clashes with the volunteer's
        confirmed duties and the weekly caps (MAX_DUTIES_PER_WEEK of any kind, WEEKLY_CAPS of the
        kind, the volunteer's own max_duties_per_week), as list_open_duties does. Signing up again
        for the same role returns the volunteer's live sign-up and dispatches nothing; the same
        request_id with the same arguments returns the first answer, with other arguments
        KeyReused (the caller's own keys, guanyinli.keys).
        """
        self._for_volunteer(volunteer_id)

        def lookup(session):
            occ, slot = store.signup_target(session, occurrence_id, role)
            repeated = store.repeated_signup(session, None, slot.id, volunteer_id)
            if repeated is not None:
                return views.signup_view(session, repeated, fresh=True), None
            if store.effective_status(occ) == "cancelled":
                raise OccurrenceClosed(f"occurrence {occurrence_id} is cancelled")
            return None, (slot.role.name, store.duty_of(occ, slot.role))

        # Only reads: on SQLite a snapshot without the write lock the sign-up itself takes below.
        found, target = self.db.read(lookup)
        if found is not None:
            return found
        role_name, duty = target
        volunteer, availability = self.volunteers.volunteer_and_availability(volunteer_id, duty[0], duty[1])
        check = SignupCheck(
            volunteer=volunteer,
            available=bool(availability.get("available")),
            reason=availability.get("reason"),
            caps=self._weekly_caps(),
        )

        def work(session):
            signup, changed = store.sign_up(session, occurrence_id, role_name, volunteer_id, check)
            position = store.waitlist_position(session, signup)  # counted once, for the event and the answer
            if changed:
                OUTBOX.add(session, f"signup_{signup.status}", views.signup_event(session, signup, position))
            return views.signup_view(session, signup, position, fresh=True)

        return self._work(work)

    @rpc
    @contract(
        access=own(),
        request=schemas.SignupIdIn,
        response=schemas.Signup(),
        errors=(NotFound, Forbidden, TooLateToCancel),
        emits=("signup_cancelled", "signup_promoted"),
    )
    def cancel_sign_up(self, signup_id):
        """Cancel a sign-up (the volunteer or an organiser); the first on the waitlist gets the seat.

        A volunteer cancels a confirmed duty until its kind's deadline, CANCEL_DEADLINES hours before
        the duty starts (the duty's ``cancel_until`` in list_duties); later TooLateToCancel ("cancel
        deadline <ISO 8601> has passed"): they say they cannot come instead. A waitlist place is
        left at any time, and organisers cancel at any time.
        """
        deadlines = None if self.caller.is_organiser else self.duty_rules.cancel_deadlines
        at = self.clock()

        def work(session):
            self._for_volunteer(store.get_signup(session, signup_id).volunteer_id)
            signup, changed, promoted = store.cancel_sign_up(session, signup_id, deadlines, at)
            if changed:
                OUTBOX.add(session, "signup_cancelled", views.signup_event(session, signup))
                schooling.follow_tutors(session, signup.occurrence_id)
            for p in promoted:
                OUTBOX.add(session, "signup_promoted", views.signup_event(session, p))
            return views.signup_view(session, signup)

        return self._work(work)

    @rpc
    @contract(
        access=own(),
        request=schemas.ListDutiesIn,
        response=schemas.Duty(many=True),
        errors=(Forbidden, InvalidInput, Unavailable),
    )
    def list_duties(self, volunteer_id, start, end, include_waitlisted=False):
        """A volunteer's confirmed duties (and waitlist places if asked) in [start, end), cancelled occurrences included.

        Each with its partners (names only), the grid leader to call (name and phone), until when
        the volunteer may cancel it themselves, and the points of an attended one: one call to the
        volunteers service for the whole list.
        """
        self._for_volunteer(volunteer_id)
        if end <= start:
            raise InvalidInput("end: must be after start")
        statuses = ("confirmed", "waitlisted") if include_waitlisted else ("confirmed",)
        deadlines = self.duty_rules.cancel_deadlines

        def work(session):
            signups = store.list_duties(session, volunteer_id, start, end, statuses)
            duties = [views.duty_view(session, s, deadlines) for s in signups]
            duties = [d for d in duties if d["duty_start"] < end and d["duty_end"] > start]
            return duties, store.confirmed_volunteers(session, [d["occurrence_id"] for d in duties])

        duties, confirmed = self._work(work)
        if not duties:
            return []
        found = self.volunteers.lookup(
            {vid for vids in confirmed.values() for vid in vids if vid != volunteer_id},
            {d["grid_id"] for d in duties if d["grid_id"] is not None},
            {attendance_key(d["id"]) for d in duties if d["attendance"] == "attended"},
        )
        return views.with_people(duties, confirmed, found)

    @rpc
    @contract(
        access=own("a volunteer their own open duties; organisers anyone's"),
        request=schemas.ListOpenDutiesIn,
        response=schemas.OpenDuty(many=True),
        errors=(Forbidden, InvalidInput, NotFound, Unavailable),
    )
    def list_open_duties(self, volunteer_id, start, end, kind=None):
        """Roles of occurrences in [start, end), of every kind or one, that the volunteer could sign up for.

        Listed: the occurrence is scheduled, the duty has not started and the volunteer holds no
        sign-up of the occurrence yet; and the duty fits them (``domain.duty_fits``): they have the
        role's skills, are available for all of it (weekly windows and dated time off, as
        check_availability judges), it clashes with none of their confirmed duties and leaves their
        ISO week under the weekly caps sign_up applies (MAX_DUTIES_PER_WEEK of any kind, WEEKLY_CAPS
        of the kind, the volunteer's own max_duties_per_week). A full role is listed with
        the waitlist place a sign-up would get. A deactivated volunteer has none. Windows of at
        most 62 days; one call to the volunteers service for the whole window.
        """
        self._for_volunteer(volunteer_id)
        at = self.clock()
        try:
            rows = domain.open_duty_rows(self.caller, start, end, at)
        except RuleViolation as exc:
            raise rule_error(exc) from None

        def work(session):
            found = store.list_occurrences(session, start, end, kind, rows=rows)
            seats = store.open_seats(session, found, volunteer_id, at)
            if not seats:
                return [], [], None
            confirmed = store.booked(session, [volunteer_id], *store.weighing([s.duty for s in seats]))[volunteer_id]
            span = (min(s.duty[0] for s in seats), max(s.duty[1] for s in seats))
            return [views.open_duty_view(s) for s in seats], confirmed, span

        offers, confirmed, span = self._work(work)
        if not offers:
            return []
        volunteer, available = self.volunteers.volunteer_and_spans(volunteer_id, *span)
        if not volunteer.get("active", True):
            return []
        skills, caps, own = volunteer.get("skills") or [], self._weekly_caps(), volunteer.get("max_duties_per_week")
        return [
            offer
            for offer in offers
            if domain.duty_fits(
                (offer["duty_start"], offer["duty_end"]),
                offer["skills"],
                skills,
                available,
                confirmed,
                caps,
                own,
                offer["kind"],
            )
        ]

    # --- registrations -----------------------------------------------------------------------

    @rpc
    @contract(
        access=allow(ANONYMOUS, scope="residents register themselves; the answer is their own registration only"),
        request=schemas.RegisterAttendeeIn,
        response=schemas.Registration(),
        errors=(NotFound, OccurrenceClosed, InvalidInput),
        emits=("signup_promoted",),
        key="request_id",
    )
    def register_attendee(self, occurrence_id, name, phone=None, request_id=None):
        """Register a resident for a lecture (or a pupil for tutoring) up to the room capacity, else waitlist.

        Tutoring: every ``pupils_per_tutor`` pupils open one more tutor seat (waitlisted tutors are promoted).
        Residents call without a token, so all of them share one scope of keys: a request_id
        reused with other arguments (another lecture, another name) is refused with KeyReused,
        and the same arguments get the first answer, which holds only what they sent (name,
        phone, occurrence) and the registration's id and status (guanyinli.keys).
        """

        def work(session):
            registration, _, promoted = store.register_attendee(session, occurrence_id, name, phone, None)
            for p in promoted:
                OUTBOX.add(session, "signup_promoted", views.signup_event(session, p))
            return views.registration_view(session, registration)

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.RegistrationIdIn,
        response=schemas.DoorRegistration(),
        errors=(NotFound, Forbidden),
    )
    def cancel_registration(self, registration_id):
        """Cancel a registration (organisers); the first on the waitlist takes the place."""
        self._organiser()

        def work(session):
            registration, _ = store.cancel_registration(session, registration_id)
            return views.registration_view(session, registration)

        return self._work(work)

    @rpc
    @contract(
        access=allow(VIEWER, ORGANISER, SYSTEM, scope="phones to organisers only; viewers see them masked"),
        request=schemas.DoorListIn,
        response=schemas.DoorList(),
        errors=(NotFound, Forbidden),
    )
    def door_list(self, occurrence_id, query=None):
        """A lecture's door list: the registered residents by name (checked in or not), then the
        waitlist in order, with the counts; ``query`` finds a name, or a phone by its last (up to
        four) digits. Phones go to organisers; viewers get the masked form."""
        if not self.caller.may_read_all:
            raise Forbidden("organisers and viewers only")

        def work(session):
            occ, registrations = store.door_list(session, occurrence_id)
            return views.door_list_view(session, occ, registrations, self.caller.is_organiser, query)

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.CheckInIn,
        response=schemas.DoorRegistration(),
        errors=(NotFound, Forbidden, Conflict, OccurrenceClosed),
    )
    def check_in(self, registration_id, undo=False):
        """Check a registered resident in at the door, from two hours before the lecture until it
        ends (undo: out again); checking in twice changes nothing. A waitlisted resident is refused
        (Conflict): register them once a place is free."""
        self._organiser()
        at = self.clock()

        def work(session):
            registration, _ = store.check_in(session, registration_id, at, undo)
            return views.registration_view(session, registration)

        return self._work(work)

    # --- attendance --------------------------------------------------------------------------

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.MarkAttendanceIn,
        response=schemas.Signup(),
        errors=ORGANISER_ERRORS + (Conflict,),
        emits=("attendance_recorded",),
    )
    def mark_attendance(self, signup_id, status, hours=None):
        """Mark a started, confirmed duty attended, no_show or excused; each change emits attendance_recorded.

        hours is 0 unless attended; weekend and late_notice (confirmed less than 48 h before the
        start) let the volunteers ledger add its bonus points.
        """
        self._organiser()

        def work(session):
            signup, changed, facts = store.mark_attendance(session, signup_id, status, hours)
            event = {
                **views.occurrence_ref(signup.occurrence),
                "signup_id": signup.id,
                "volunteer_id": signup.volunteer_id,
                "team": signup.occurrence.activity.team,
                "role": signup.occurrence_role.role.name,
                "status": status,
                **facts,
            }
            if changed:
                OUTBOX.add(session, "attendance_recorded", event)
            return views.signup_view(session, signup)

        return self._work(work)

    @rpc
    @contract(access=own(), request=schemas.VolunteerIdIn, response=schemas.VolunteerStats(), errors=(Forbidden,))
    def volunteer_stats(self, volunteer_id):
        """Attendance counts, hours and no-show rate of one volunteer (excused duties do not count as due)."""
        self._for_volunteer(volunteer_id)
        return self._work(lambda s: store.volunteer_stats(s, volunteer_id))

    # --- stand-ins: "I can't come" ---------------------------------------------------------------

    def _candidates(self, duty: standins.Target) -> list[int]:
        """Active volunteers who fit the duty now (skills, availability, no clash, within the weekly
        cap, not on it), the volunteer who offers it aside."""
        wanted = duty.open_duty(self._weekly_caps())
        skill = wanted.skills[0] if wanted.skills else None
        records = [
            r for r in self.volunteers.available_volunteers(duty.start, duty.end, skill) if r["id"] != duty.volunteer_id
        ]
        held = self._work(lambda s: store.booked(s, [r["id"] for r in records], *duty.booking_window()))
        return [r["id"] for r in records if domain.fits(wanted, standins.helper(r, True, None, held.get(r["id"], ())))]

    def _private(self, volunteer_id: int) -> bool:
        """Whether the caller reads an offer's reason and candidates: organisers and the offering volunteer."""
        return self.caller.is_organiser or self.caller.volunteer_id == volunteer_id

    @rpc
    @contract(
        access=own("the volunteer of the sign-up, or organisers"),
        request=schemas.CantComeIn,
        response=schemas.StandinOffer(),
        errors=(NotFound, Forbidden, Conflict, OccurrenceClosed, Unavailable),
        emits=("standin_offered",),
        key="request_id",
        rerun=True,  # a repeat finds the sign-up's live offer
    )
    def cant_come(self, signup_id, reason=None, request_id=None):
        """The volunteer cannot come to a confirmed duty that has not started: offer it to stand-ins.

        The duty stays theirs (the sign-up stays confirmed) until someone takes it. standin_offered
        names the volunteers who fit it now (skills, availability, no clashing duty, within the
        weekly cap). Organisers and the grid leader hear of it if nobody took it by STANDIN.ALERT_HOURS
        (12) before the duty, or at once when that is past (standin_unfilled). Asked again while
        the offer is open, it answers that offer.
        """
        now = self.clock()

        def look(session):
            signup = store.get_signup(session, signup_id)
            self._for_volunteer(signup.volunteer_id)
            offer = standins.live_offer(session, signup_id)
            if offer is not None:
                return standins.offer_view(offer, True), None
            duty = standins.target(signup)
            domain.check_standin_offer(duty.status, duty.start, now, duty.scheduled)
            return None, duty

        found, duty = self._work(look)
        if found is not None:
            return found
        candidates, leader = self._candidates(duty), self.volunteers.grid_leader(duty.grid_id)
        return self._work(lambda s: self._offer(s, duty, now, "cant_come", candidates, leader, reason)[1])

    def _offer(self, session, duty, now, cause, candidates, leader, reason=None) -> tuple[bool, dict]:
        """Open the offer of ``duty`` (or find its live one); queue standin_offered when it is new."""
        offer, created = standins.open_offer(
            session,
            duty.signup_id,
            now,
            cause=cause,
            alert_lead=self.standin_settings.alert,
            candidates=candidates,
            grid_leader_id=leader,
            reason=reason,
        )
        if created:
            OUTBOX.add(
                session, "standin_offered", {**standins.offer_event(offer), "candidate_ids": offer.candidate_ids}
            )
        return created, standins.offer_view(offer, True)

    @rpc
    @contract(
        access=own("the volunteer who takes it, or organisers for them"),
        request=schemas.AcceptStandinIn,
        response=schemas.StandinOffer(),
        errors=(
            NotFound,
            Forbidden,
            exceptions.StandinTaken,
            exceptions.StandinClosed,
            SkillMissing,
            VolunteerUnavailable,
            DutyClash,
            exceptions.WeeklyCapReached,
            Conflict,
            Unavailable,
        ),
        emits=("standin_taken",),
        key="request_id",
        rerun=True,  # a repeat by the volunteer who took it answers the taken offer
    )
    def accept_standin(self, offer_id, volunteer_id, request_id=None):
        """Take a stand-in offer: the first volunteer who fits gets the duty, the others StandinTaken.

        The fits rule is asked again (skills, availability, clashes, the weekly cap). In one
        transaction the offer becomes taken (a guarded update: of concurrent acceptances exactly
        one wins), the offering volunteer's sign-up is cancelled and the taker's confirmed, the seat
        handed over (nobody is promoted from the waitlist); a rostered patrol changes hands in its
        published roster too. standin_taken tells both volunteers and the grid leader. Refused with
        StandinClosed once withdrawn or once the duty has started.
        """
        self._for_volunteer(volunteer_id)
        now = self.clock()

        def look(session):
            offer = standins.get(session, offer_id)
            if offer.status == "taken" and offer.taken_by == volunteer_id:
                return standins.offer_view(offer, self._private(offer.volunteer_id)), None
            domain.check_standin_take(standins.offer_of(offer), volunteer_id, now)
            return None, standins.target(offer.signup)

        found, duty = self._work(look)
        if found is not None:
            return found
        record, availability = self.volunteers.volunteer_and_availability(volunteer_id, duty.start, duty.end)
        available, why = bool(availability.get("available")), availability.get("reason")

        def work(session):
            caps = self._weekly_caps()
            offer, changed = standins.take(session, offer_id, record, available, why, now, caps)
            if changed:
                event = {**standins.offer_event(offer), "taken_by": volunteer_id, "new_signup_id": offer.new_signup_id}
                OUTBOX.add(session, "standin_taken", event)
                taught = {volunteer_id: schooling.tutor_subjects(record.get("skills"))}
                schooling.follow_tutors(session, offer.occurrence_id, taught)
            return standins.offer_view(offer, self._private(offer.volunteer_id))

        return self._work(work)

    @rpc
    @contract(
        access=own("the volunteer who offered it (they can come after all), or organisers"),
        request=schemas.StandinOfferIdIn,
        response=schemas.StandinOffer(),
        errors=(NotFound, Forbidden, exceptions.StandinClosed),
    )
    def withdraw_standin(self, offer_id):
        """Withdraw an open (or unfilled) offer: the volunteer can come after all and keeps the duty."""

        def work(session):
            offer = standins.get(session, offer_id)
            domain.check_standin_withdraw(self.caller, standins.offer_of(offer))
            offer, _ = standins.withdraw(session, offer_id, self.clock())
            return standins.offer_view(offer, True)

        return self._work(work)

    @rpc
    @contract(
        access=own("a volunteer the offers they fit; organisers and viewers every open offer, or a volunteer's"),
        request=schemas.ListStandinOffersIn,
        response=schemas.StandinOffer(many=True),
        errors=(Forbidden, Unavailable),
    )
    def list_standin_offers(self, volunteer_id=None):
        """Open and unfilled offers whose duty has not started, soonest first.

        With a volunteer (a volunteer's own, by default): those they fit now and did not make
        themselves. Without one (organisers and viewers): every one.
        """
        if volunteer_id is None and not self.caller.may_read_all:
            volunteer_id = self.caller.volunteer_id
        if volunteer_id is None and not self.caller.may_read_all:
            raise Forbidden("a volunteer lists the offers they fit", "志愿者只能查看适合自己的替班")
        if volunteer_id is not None:
            self._for_volunteer(volunteer_id)
        now = self.clock()

        def read_offers(session):
            found = [o for o in standins.live_offers(session, now) if o.volunteer_id != volunteer_id]
            return [(standins.offer_view(o, self._private(o.volunteer_id)), standins.target(o.signup)) for o in found]

        offers = self._work(read_offers)
        if volunteer_id is None or not offers:
            return [view for view, _ in offers]
        windows = [(duty.start, duty.end) for _, duty in offers]
        record, checks = self.volunteers.availabilities(volunteer_id, windows)
        start, end = min(d.booking_window()[0] for _, d in offers), max(d.booking_window()[1] for _, d in offers)
        held = self._work(lambda s: store.booked(s, [volunteer_id], start, end))[volunteer_id]
        caps = self._weekly_caps()
        return [
            view
            for (view, duty), check in zip(offers, checks, strict=True)
            if domain.fits(
                duty.open_duty(caps), standins.helper(record, bool(check.get("available")), check.get("reason"), held)
            )
        ]

    @standin_timer
    def alert_unfilled_standins(self):
        """Offers nobody took by their alert time: standin_unfilled, once each (a guarded status change
        with its event in the outbox), whichever replica gets there first; in every community served,
        each event carrying its own (``guanyinli.tenancy``)."""
        now = self.clock()

        def work(session):
            for offer in standins.alert_due(session, now):
                OUTBOX.add(session, "standin_unfilled", standins.offer_event(offer))

        for db in self.db.each_community():
            try:
                self._work(work, db)
            except Exception:  # noqa: BLE001 - one community's failure must not stop the others' alerts
                log.exception("stand-in alerts of community %s failed", db.community)

    # --- the volunteers service's events ----------------------------------------------------------

    @event_handler("volunteers", "availability_changed", requeue_on_error=True)
    def on_availability_changed(self, payload):
        """Duties a volunteer is no longer available for (or no longer has the skills of) are let go.

        Each coming confirmed or waitlisted sign-up is checked again: a self-signed-up duty that no
        longer fits is cancelled (its seat goes to the waitlist: signup_cancelled, signup_promoted),
        while a rostered patrol or a duty within its cancellation deadline (CANCEL_DEADLINES, 24 h
        by default) is offered to stand-ins (standin_offered) and stays the volunteer's until
        taken. Acted on once per event_id: a redelivery changes nothing.
        """
        self._recheck("availability_changed", payload)

    @event_handler("volunteers", "volunteer_deactivated", requeue_on_error=True)
    def on_volunteer_deactivated(self, payload):
        """Every coming duty of a deactivated volunteer is let go, as for ``availability_changed``."""
        self._recheck("volunteer_deactivated", payload)

    def _recheck(self, event_type: str, payload: dict) -> None:
        try:
            event = read(event_type, payload)
        except InvalidInput as exc:  # a malformed event would fail for ever: logged, not requeued
            log.error("%s dropped, malformed: %s", event_type, exc)
            return
        try:
            self._let_go_of_misfits(event_type, event)
        except Exception as exc:
            if isinstance(exc, NotFound) or (isinstance(exc, RemoteError) and str(exc.exc_type).endswith("NotFound")):
                log.warning("%s for unknown volunteer %s dropped", event_type, event["volunteer_id"])
                return
            log.exception("%s of volunteer %s failed; requeued", event_type, event["volunteer_id"])
            eventlet.sleep(REQUEUE_PAUSE)
            raise

    def _let_go_of_misfits(self, event_type: str, event: dict) -> None:
        """The coming duties the volunteer no longer fits: cancelled, or offered when rostered or close."""
        volunteer_id, event_id, now = event["volunteer_id"], event["event_id"], self.clock()
        deadlines = self.duty_rules.cancel_deadlines
        duties = self._work(
            lambda s: None if standins.was_handled(s, event_id) else standins.coming_duties(s, volunteer_id, now)
        )
        if not duties:
            return
        gone = duties if event_type == "volunteer_deactivated" else self._misfits(volunteer_id, duties)
        offered = {
            d.signup_id: (self._candidates(d), self.volunteers.grid_leader(d.grid_id))
            for d in gone
            if d.status == "confirmed"
            and domain.drop_out(d.rostered, d.start, now, domain.cancel_deadline(d.kind, deadlines)) == "standin"
        }

        def work(session):
            if not standins.mark_handled(session, event_id, event_type, now):
                return
            for duty in gone:
                if duty.signup_id not in offered:
                    _let_go(session, duty.signup_id, now)
                    continue
                try:
                    self._offer(session, duty, now, f"{event_type}:{event_id}", *offered[duty.signup_id])
                except Conflict as exc:  # cancelled or started meanwhile: nothing to offer
                    log.info("sign-up %s not offered: %s", duty.signup_id, exc)

        self._work(work)

    def _misfits(self, volunteer_id: int, duties: list[standins.Target]) -> list[standins.Target]:
        """The duties of the volunteer's that they no longer fit (active, skills, availability)."""
        record, checks = self.volunteers.availabilities(volunteer_id, [(d.start, d.end) for d in duties])
        caps = self._weekly_caps()
        return [
            duty
            for duty, check in zip(duties, checks, strict=True)
            if domain.misfit(
                duty.open_duty(caps),
                standins.helper(record, bool(check.get("available")), check.get("reason"), ()),
                taking=False,
            )
        ]


def _let_go(session, signup_id: int, now) -> None:
    """Cancel a sign-up its volunteer no longer fits (the waitlist takes the seat) and close its live offer."""
    offer = standins.live_offer(session, signup_id)
    if offer is not None:
        standins.withdraw(session, offer.id, now)
    try:
        signup, changed, promoted = store.cancel_sign_up(session, signup_id)
    except Conflict as exc:  # attendance recorded meanwhile, or over: it stays as it is
        log.info("sign-up %s not cancelled: %s", signup_id, exc)
        return
    if changed:
        OUTBOX.add(session, "signup_cancelled", views.signup_event(session, signup))
        schooling.follow_tutors(session, signup.occurrence_id)
    for p in promoted:
        OUTBOX.add(session, "signup_promoted", views.signup_event(session, p))


def _occurrence_cancelled(session, occ, reason: str | None) -> None:
    payload = {
        **views.occurrence_ref(occ),
        "reason": reason,
        "volunteer_ids": store.occurrence_volunteers(session, occ.id),
    }
    OUTBOX.add(session, "occurrence_cancelled", payload)


def _activity_event(view: dict, changed: list[str]) -> dict:
    return {
        "activity_id": view["id"],
        "title": view["title"],
        "kind": view["kind"],
        "team": view["team"],
        "sequence": view["sequence"],
        "changed": changed,
    }


__all__ = ["ActivitiesService", "exceptions"]
