"""RPC of the elderly-visit register: thin entrypoints over ``activities.visits``.

``VisitsMixin`` joins ``ActivitiesService`` through its bases and uses its ``_work``, ``caller``,
``clock`` and ``volunteers``.
"""

from __future__ import annotations

from datetime import timedelta

from activities import grid_scope, visits
from activities import visit_schemas as schemas
from activities.exceptions import OccurrenceClosed
from guanyinli.errors import Forbidden, InvalidInput, NotFound, Unavailable
from guanyinli.identity import ORGANISERS, own
from guanyinli.rpc import rpc
from guanyinli.schemas import contract

MAX_PLAN_DAYS = 92
PRIVATE_SCOPE = (
    "organisers and viewers the register (private fields to organisers only), a grid leader the people of the "
    "grids they lead, a volunteer the people of their current or recent visits"
)
MISSED_DAYS = 60  # how far back the page looks for missed visits


class VisitsMixin:
    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.AddVisitedPersonIn,
        response=schemas.VisitedPerson(),
        errors=(InvalidInput,),
        key="request_id",
    )
    def add_visited_person(
        self,
        category,
        name,
        frequency_days,
        grid_id=None,
        courtyard=None,
        home=None,
        address=None,
        health_notes=None,
        relative_contact=None,
        consent=None,
        request_id=None,
    ):
        """Add someone the community visits: an elder living alone (elder_alone), a resident of an old
        people's home (care_home_resident) or a family visited with condolences (condolence), with a
        grid, courtyard or home, how often to visit, and private address, health notes and a
        relative's contact. Visits are planned only once consent is recorded (here or record_consent)."""
        data = {k: v for k, v in locals().items() if k not in ("self", "request_id")}
        now = self.clock()

        def work(session):
            person = visits.add_person(session, data, self.caller.volunteer_id, now)
            return visits.people_views(session, [person], self._viewer())[0]

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.UpdateVisitedPersonIn,
        response=schemas.VisitedPerson(),
        errors=(NotFound, InvalidInput),
    )
    def update_visited_person(self, person_id, changes):
        """Change a person's fields; their coming visits show the new name, place and private details."""
        now = self.clock()

        def work(session):
            person = visits.update_person(session, person_id, changes, now)
            return visits.people_views(session, [person], self._viewer())[0]

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.RecordConsentIn,
        response=schemas.VisitedPerson(),
        errors=(NotFound, InvalidInput),
    )
    def record_consent(self, person_id, consent):
        """Record who agreed to the visits, when and how (in_person, phone, written, relative); it
        replaces an earlier one and takes a withdrawn person back into the register."""
        now = self.clock()

        def work(session):
            person = visits.record_consent(session, person_id, consent, self.caller.volunteer_id, now)
            return visits.people_views(session, [person], self._viewer())[0]

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.WithdrawIn,
        response=schemas.VisitedPerson(),
        errors=(NotFound,),
        emits=("occurrence_cancelled",),
    )
    def withdraw_visited_person(self, person_id, reason=None):
        """The person withdraws consent (or moved away, or passed away): nothing more is planned and
        their coming visits are cancelled, their visitors told (occurrence_cancelled). The history stays."""
        # service.py imports this module for its bases: the event helper is looked up when called.
        from activities.service import _occurrence_cancelled

        now = self.clock()

        def work(session):
            person, cancelled = visits.withdraw(session, person_id, reason, now)
            for occ in cancelled:
                _occurrence_cancelled(session, occ, occ.cancel_reason)
            return visits.people_views(session, [person], self._viewer())[0]

        return self._work(work)

    @rpc
    @contract(access=own(PRIVATE_SCOPE), request=schemas.ListVisitedPeopleIn, response=schemas.VisitedPerson(many=True))
    def list_visited_people(self, category=None, grid=None, include_withdrawn=False):
        """The register by grid and name, with each person's last visit, next due day and next planned
        visit; address, health notes, relative's contact and consent only to organisers and the
        person's visitors. A volunteer lists only the people they visit (a visit current, coming or
        ended at most VISIT_DETAILS_DAYS_AFTER days ago): who is visited is theirs to know. A grid leader
        lists the people of the grids they lead too, without private fields unless they visit them."""
        return self._work(lambda s: visits.list_people(s, self._viewer(), category, grid, include_withdrawn))

    @rpc
    @contract(
        access=own(
            "organisers and viewers, a grid leader the people of their grids, or a volunteer with a current or "
            "recent visit of the person"
        ),
        request=schemas.PersonIdIn,
        response=schemas.VisitedPersonDetail(),
        errors=(NotFound,),
    )
    def get_visited_person(self, person_id):
        """One person with the history of their visits (newest first); notes only to organisers and
        to each visit's own visitors."""

        def work(session):
            viewer = self._viewer()
            person = visits.get_person(session, person_id)
            if not grid_scope.reads_grid(self.caller, person.grid_id) and not visits.private_visible(
                session, viewer, [person_id]
            ):
                raise Forbidden(f"visited person {person_id} is not one of your visits", "这不是您探访的对象")
            return visits.person_detail(session, person_id, viewer)

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.PlanVisitsIn,
        response=schemas.PlannedVisit(many=True),
        errors=(InvalidInput, Unavailable),
        emits=("signup_confirmed",),
    )
    def plan_visits(self, start, end):
        """Plan the visits [start, end) lacks: each person with consent at their frequency from their
        last visit (one overdue is due on the first day), at 15:00 for an hour, each visit an
        elderly_visit activity with its pair signed up: the previous pair where both are free, else
        one of them with the fairest partner, else the fairest two (the convenient service team
        first, then the fewest visits, then a neighbour). Planning again adds nothing already planned."""
        if not start < end <= start + timedelta(days=MAX_PLAN_DAYS):
            raise InvalidInput(f"end: after start, at most {MAX_PLAN_DAYS} days")
        now = self.clock()
        due = self._work(lambda s: visits.due_visits(s, start, end, now))
        if not due:
            return []
        free = {}
        for day in sorted({d.day for d in due}):
            free[day] = self.volunteers.available_volunteers(*visits.visit_window(day))
        window = (min(d.start for d in due), max(d.end for d in due))
        return self._work(lambda s: visits.plan(s, due, free, window, self.caller.volunteer_id))

    @rpc
    @contract(
        access=own("the visitors of that visit, or organisers"),
        request=schemas.VisitNoteIn,
        response=schemas.Visit(),
        errors=(NotFound, OccurrenceClosed),
    )
    def record_visit_note(self, occurrence_id, note=None, done=False):
        """The visitors' short note after a visit (private, as health notes) and whether it was made:
        a made visit counts as the person's last visit for planning and overdue."""

        def work(session):
            viewer = self._viewer()
            visit = visits.record_note(session, occurrence_id, note, done, viewer)
            return visits.visit_views(session, [visit], viewer)[0]

        return self._work(work)

    @rpc
    @contract(
        access=own(),
        request=schemas.VolunteerIdIn,
        response=schemas.VisitDuty(many=True),
        errors=(Forbidden,),
    )
    def list_visit_duties(self, volunteer_id):
        """A visitor's visits of the register from 14 days ago to 45 days ahead, with the person (the
        private details as they may see them) and their note."""
        self._for_volunteer(volunteer_id)
        return self._work(lambda s: visits.visit_duties(s, volunteer_id, self._viewer()))

    @rpc
    @contract(
        access=grid_scope.READERS_AND_LEADERS, request=schemas.OverdueIn, response=schemas.VisitedPerson(many=True)
    )
    def overdue_visits(self, today):
        """People with consent whose visit is late on ``today`` (last visit + frequency, or their
        consent day if never visited, is before it), the latest first; no private fields. A grid
        leader gets the people of the grids they lead."""
        return self._work(lambda s: visits.overdue(s, today, self._viewer()))

    @rpc
    @contract(
        access=grid_scope.READERS_AND_LEADERS, request=schemas.MissedVisitsIn, response=schemas.MissedVisit(many=True)
    )
    def missed_visits(self, since):
        """Visits from ``since`` that are over, not cancelled, and neither marked made nor attended, oldest
        first; no private fields, no notes. A missed visit keeps the person's cadence until an organiser
        cancels it; the next plan_visits then visits them first. A grid leader gets their grids'."""
        return self._work(lambda s: visits.missed(s, since, self._viewer()))

    @rpc
    @contract(
        access=own("the visitors of that visit, or organisers"),
        request=schemas.VisitIdIn,
        response=schemas.Visit(),
        errors=(Forbidden, NotFound),
    )
    def reopen_visit(self, occurrence_id):
        """Take back "made" on a visit marked so by mistake: it no longer counts as the person's last
        visit (unless attendance says it was made), and shows as missed once over; the note stays."""

        def work(session):
            viewer = self._viewer()
            visit = visits.reopen(session, occurrence_id, viewer)
            return visits.visit_views(session, [visit], viewer)[0]

        return self._work(work)
