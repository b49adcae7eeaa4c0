"""The ``activities`` nameko service: thin RPC entrypoints over ``store`` (unit of work) and ``domain``.

Caller identity comes from context data ``user`` (see ``activities.dependencies``): organiser
calls (define activities, cancel, move, mark attendance) need the ``organiser`` or ``system``
role; a volunteer signs up, cancels and reads duties only for themselves. Other mixins (iCal
feeds, the roster) join the class through its bases; they share ``db``, ``dispatch`` and ``caller``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from activities import domain, exceptions, feeds, recurrence, rostering, schemas, store, views
from activities.dependencies import CallerIdentity, DutySettings, Volunteers
from activities.domain import Caller, RuleViolation, SignupCheck, Viewer
from activities.exceptions import (
    DutyClash,
    OccurrenceClosed,
    RoleFull,
    SkillMissing,
    TooLateToCancel,
    VolunteerUnavailable,
)
from activities.models import OUTBOX
from guanyinli import outbox, revocation
from guanyinli.clock import Clock
from guanyinli.db import Database
from guanyinli.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from guanyinli.events import attendance_key
from guanyinli.identity import ANONYMOUS, ANYONE, ORGANISERS, allow, own
from guanyinli.rpc import EventDispatcher, rpc
from guanyinli.schemas import contract

log = logging.getLogger(__name__)

RULE_ERRORS: dict[str, type[Exception]] = {
    "invalid": InvalidInput,
    "skills": SkillMissing,
    "unavailable": VolunteerUnavailable,
    "inactive": VolunteerUnavailable,
    "clash": DutyClash,
    "closed": OccurrenceClosed,
    "full": RoleFull,
    "conflict": Conflict,
}
SIGNUP_ERRORS = (NotFound, Forbidden, SkillMissing, VolunteerUnavailable, DutyClash, OccurrenceClosed, Unavailable)
ORGANISER_ERRORS = (Forbidden, InvalidInput, NotFound)
RETRIES = 5


def rule_error(exc: RuleViolation) -> Exception:
    return RULE_ERRORS.get(exc.code, Conflict)(str(exc))


class ActivitiesService(feeds.FeedsMixin, rostering.RosterMixin, revocation.RevocationListener):
    """Dependencies and RPC entrypoints of the ``activities`` service.

    Mixins (``FeedsMixin`` with ``@http`` feeds, the roster's RPC) are plain classes with
    entrypoints that use ``self.db``, ``self.dispatch``, ``self.caller`` and ``self.volunteers``;
    they join through the bases, imported as modules (``from activities import feeds`` then
    ``class ActivitiesService(feeds.FeedsMixin)``): ``nameko run activities.service`` runs every
    class with entrypoints it finds at the top of this module, so only this one may be there.
    """

    name = "activities"
    db = Database()
    dispatch = EventDispatcher()
    caller: Caller = CallerIdentity()
    volunteers = Volunteers()
    relay = outbox.Relay(OUTBOX)
    clock = Clock()
    duty_rules = DutySettings()

    # --- helpers -----------------------------------------------------------------------------

    def _work(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(session)`` in its own transaction; retry lost races (unique keys, deadlocks).

        Events ``fn`` queued with ``OUTBOX.add`` are dispatched once the transaction committed.
        """
        for attempt in range(RETRIES):
            try:
                with self.db.get_session() as session:
                    result = fn(session)
                    queued = OUTBOX.pending(session)
                self.relay.send(self.db, self.dispatch, queued)
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
        errors=ORGANISER_ERRORS,
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
        data = {k: v for k, v in locals().items() if k not in ("self", "request_id")}

        def work(session):
            activity = store.create_activity(session, data, self.caller.volunteer_id)
            view = views.activity_view(session, activity, self._viewer())
            OUTBOX.add(session, "activity_created", _activity_event(view, []))
            return view

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.UpdateActivityIn,
        response=schemas.Activity(),
        errors=ORGANISER_ERRORS + (OccurrenceClosed,),
        emits=("activity_updated", "occurrence_cancelled", "signup_promoted"),
    )
    def update_activity(self, activity_id, changes):
        """Change an activity; occurrences the new schedule drops are cancelled (with sign-ups) or removed."""
        self._organiser()

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
        errors=ORGANISER_ERRORS + (OccurrenceClosed,),
        emits=("occurrence_changed",),
    )
    def update_occurrence(self, occurrence_id, start=None, end=None, grid_id=None, courtyard=None, room=None):
        """Override one occurrence: move its time (end keeps the length when left out) or its place."""
        self._organiser()
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
            }
            if changed:
                OUTBOX.add(session, "occurrence_changed", payload)
            return views.occurrence_views(session, [occ], self._viewer())[0]

        return self._work(work)

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

        Checks skills and availability with the volunteers service and clashes with the
        volunteer's confirmed duties. Signing up again for the same role returns the volunteer's
        live sign-up and dispatches nothing; the same request_id with the same arguments returns
        the first answer, with other arguments KeyReused (the caller's own keys, guanyinli.keys).
        """
        self._for_volunteer(volunteer_id)

        def lookup(session):
            occ, slot = store.signup_target(session, occurrence_id, role)
            repeated = store.repeated_signup(session, None, slot.id, volunteer_id)
            if repeated is not None:
                return views.signup_view(session, repeated), None
            if store.effective_status(occ) == "cancelled":
                raise OccurrenceClosed(f"occurrence {occurrence_id} is cancelled")
            return None, (slot.role.name, store.duty_of(occ, slot.role))

        found, target = self._work(lookup)
        if found is not None:
            return found
        role_name, duty = target
        volunteer, availability = self.volunteers.volunteer_and_availability(volunteer_id, duty[0], duty[1])
        check = SignupCheck(
            volunteer=volunteer, available=bool(availability.get("available")), reason=availability.get("reason")
        )

        def work(session):
            signup, changed = store.sign_up(session, occurrence_id, role_name, volunteer_id, check)
            if changed:
                OUTBOX.add(session, f"signup_{signup.status}", views.signup_event(session, signup))
            return views.signup_view(session, signup)

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
        check_availability judges), it clashes with none of their confirmed duties and, with
        MAX_DUTIES_PER_WEEK set, leaves their ISO week under that cap. A full role is listed with
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
            weighing = domain.weighing_window(s.duty for s in seats)
            confirmed = [duty for _, duty in store.confirmed_duties(session, volunteer_id, weighing)]
            span = (min(s.duty[0] for s in seats), max(s.duty[1] for s in seats))
            return [views.open_duty_view(s) for s in seats], confirmed, span

        offers, confirmed, span = self._work(work)
        if not offers:
            return []
        volunteer, available = self.volunteers.volunteer_and_spans(volunteer_id, *span)
        if not volunteer.get("active", True):
            return []
        skills, cap = volunteer.get("skills") or [], self.duty_rules.max_per_week
        return [
            offer
            for offer in offers
            if domain.duty_fits(
                (offer["duty_start"], offer["duty_end"]), offer["skills"], skills, available, confirmed, cap
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
        response=schemas.Registration(),
        errors=(NotFound, Forbidden),
    )
    def cancel_registration(self, registration_id):
        """Cancel a registration (organisers); the first on the waitlist takes the place."""
        self._organiser()

        def work(session):
            registration, _ = store.cancel_registration(session, registration_id)
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
