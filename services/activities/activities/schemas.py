"""Wire contract of the activities service: the request and response schema of every RPC method."""

from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from activities.domain import OPEN_DUTIES_WINDOW, SWAP_STATUSES
from activities.school.wording import SUBJECTS as SCHOOL_SUBJECTS
from guanyinli.events import KINDS
from guanyinli.schemas import Id, LocalDateTime, Page, Phone, RequestId, StrictSchema, TeamCode, Text

# A grid id: the grids are the volunteers service's (list_grids), so the schema knows only that an id is positive;
# a roster of a grid it does not know is GridNotFound, a filter by one finds nothing. Teams likewise (TeamCode):
# an activity of a team the community does not have is TeamNotFound, a filter by one finds nothing.
Grid = lambda **kw: fields.Integer(strict=True, validate=validate.Range(min=1), **kw)  # noqa: E731
Name = lambda **kw: fields.String(validate=validate.Length(min=1, max=100), **kw)  # noqa: E731
Reason = lambda **kw: fields.String(validate=validate.Length(max=300), **kw)  # noqa: E731


class RoleIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$"))
    needed = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=200))
    skills = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list)
    start_offset_minutes = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(min=-720, max=720),
        metadata={"description": "duty starts this many minutes after the occurrence (negative: before)"},
    )
    duration_minutes = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=1440),
        metadata={"description": "duty length; empty: until the occurrence ends"},
    )


class ActivityFields(StrictSchema):
    title = Text()
    team = TeamCode(allow_none=True)
    description = fields.String(validate=validate.Length(max=2000), allow_none=True)
    grid_id = Grid(allow_none=True)
    courtyard = Name(allow_none=True)
    room = Name(allow_none=True)
    start = LocalDateTime(metadata={"description": "first start (local time if no offset)"})
    duration_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=1440))
    rrule = fields.String(
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={
            "description": "RFC 5545 RRULE value, e.g. FREQ=WEEKLY;BYDAY=SA,SU; empty: once. At most one"
            " occurrence a day, at start's time of day: FREQ DAILY to YEARLY, no BYHOUR, BYMINUTE, BYSECOND"
        },
    )
    exdates = fields.List(LocalDateTime(), metadata={"description": "original starts skipped (EXDATE)"})
    capacity = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=5000),
        metadata={"description": "room capacity for registrations (lectures, tutoring)"},
    )
    pupils_per_tutor = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=50))
    roles = fields.List(fields.Nested(RoleIn), validate=validate.Length(max=20))
    visited_person = Name(allow_none=True, metadata={"description": "elderly visits: private"})
    private_address = fields.String(
        allow_none=True, validate=validate.Length(max=300), metadata={"description": "elderly visits: private"}
    )
    health_notes = fields.String(
        allow_none=True, validate=validate.Length(max=2000), metadata={"description": "elderly visits: private"}
    )
    feed_shows_details = fields.Boolean(
        metadata={
            "description": "elderly visits: visitors' personal iCal feeds show the title, place, visited person and "
            "address (never health notes); default false: a neutral 'home visit' without a place"
        }
    )


class CreateActivityIn(ActivityFields):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    request_id = RequestId(load_default=None)
    title = Text(required=True)
    start = LocalDateTime(required=True)
    duration_minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=1440))


class UpdateActivityIn(StrictSchema):
    activity_id = Id(required=True)
    changes = fields.Nested(
        ActivityFields,
        required=True,
        metadata={"description": "only the fields to change; null clears an optional field"},
    )


class ActivityIdIn(StrictSchema):
    activity_id = Id(required=True)


class CancelActivityIn(ActivityIdIn):
    reason = Reason(load_default=None)


class ListActivitiesIn(StrictSchema):
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    team = TeamCode(load_default=None)
    grid = Grid(load_default=None)
    include_cancelled = fields.Boolean(load_default=False)


class ListOccurrencesIn(StrictSchema):
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    team = TeamCode(load_default=None)
    grid = Grid(load_default=None)
    activity_id = Id(load_default=None)


class OccurrenceIdIn(StrictSchema):
    occurrence_id = Id(required=True)


class CancelOccurrenceIn(OccurrenceIdIn):
    reason = Reason(load_default=None)


class UpdateOccurrenceIn(OccurrenceIdIn):
    start = LocalDateTime(load_default=None)
    end = LocalDateTime(load_default=None)
    grid_id = Grid(load_default=None)
    courtyard = Name(load_default=None)
    room = Name(load_default=None)
    reason = Reason(load_default=None, metadata={"description": "why it moved: told to its volunteers"})


class OccurrenceIdsIn(StrictSchema):
    occurrence_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=2000))
    include_cancelled = fields.Boolean(
        load_default=False, metadata={"description": "cancelled sign-ups too (else confirmed and waitlisted)"}
    )


class SignUpIn(StrictSchema):
    occurrence_id = Id(required=True)
    volunteer_id = Id(required=True)
    role = fields.String(load_default=None, metadata={"description": "role name; may be left out when there is one"})
    request_id = RequestId(load_default=None)


class SignupIdIn(StrictSchema):
    signup_id = Id(required=True)


class ListDutiesIn(StrictSchema):
    volunteer_id = Id(required=True)
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)
    include_waitlisted = fields.Boolean(load_default=False)


class ListOpenDutiesIn(StrictSchema):
    volunteer_id = Id(required=True)
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True, metadata={"description": f"at most {OPEN_DUTIES_WINDOW.days} days after start"})
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))


class RegisterAttendeeIn(StrictSchema):
    occurrence_id = Id(required=True)
    name = Name(required=True)
    phone = Phone(load_default=None)
    request_id = RequestId(load_default=None)


class RegistrationIdIn(StrictSchema):
    registration_id = Id(required=True)


class CheckInIn(RegistrationIdIn):
    undo = fields.Boolean(load_default=False, metadata={"description": "check them out again (a tap by mistake)"})


class DoorListIn(StrictSchema):
    occurrence_id = Id(required=True)
    query = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=50),
        metadata={"description": "part of a name, or the last digits of a phone (at most four)"},
    )


class MarkAttendanceIn(StrictSchema):
    signup_id = Id(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("attended", "no_show", "excused")))
    hours = fields.Float(
        load_default=None,
        validate=validate.Range(min=0, max=24),
        metadata={"description": "hours actually served; default: the duty's length"},
    )


class VolunteerIdIn(StrictSchema):
    volunteer_id = Id(required=True)


class CantComeIn(SignupIdIn):
    reason = Reason(
        load_default=None, allow_none=True, metadata={"description": "why, for organisers (not told to others)"}
    )
    request_id = RequestId(load_default=None)


class StandinOfferIdIn(StrictSchema):
    offer_id = Id(required=True)


class AcceptStandinIn(StandinOfferIdIn):
    volunteer_id = Id(required=True, metadata={"description": "the volunteer who takes the duty"})
    request_id = RequestId(load_default=None)


class ListStandinOffersIn(StrictSchema):
    volunteer_id = Id(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "the offers this volunteer fits; left out: a volunteer's own, every offer for organisers"
        },
    )


# --- responses -------------------------------------------------------------------------------


class Health(Schema):
    service = fields.String()
    status = fields.String()
    database = fields.String()
    activities = fields.Integer(metadata={"description": "active activities"})


class PrivateVisit(Schema):
    visited_person = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    health_notes = fields.String(allow_none=True)


class Role(Schema):
    name = fields.String()
    needed = fields.Integer()
    skills = fields.List(fields.String())
    start_offset_minutes = fields.Integer()
    duration_minutes = fields.Integer(allow_none=True)


class Activity(Schema):
    id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    team = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    grid_id = fields.Integer(allow_none=True)
    courtyard = fields.String(allow_none=True)
    room = fields.String(allow_none=True)
    place = fields.String()
    start = LocalDateTime()
    duration_minutes = fields.Integer()
    rrule = fields.String(allow_none=True)
    exdates = fields.List(LocalDateTime())
    capacity = fields.Integer(allow_none=True)
    pupils_per_tutor = fields.Integer(allow_none=True)
    roles = fields.List(fields.Nested(Role))
    status = fields.String(metadata={"description": "active | cancelled"})
    cancelled_at = LocalDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    sequence = fields.Integer(metadata={"description": "bumped on every change (iCalendar SEQUENCE)"})
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    feed_shows_details = fields.Boolean(
        metadata={"description": "elderly visits: personal iCal feeds show details (else a neutral home visit)"}
    )
    private = fields.Nested(
        PrivateVisit,
        allow_none=True,
        metadata={
            "description": "elderly visits, for organisers and for visitors with a current or coming visit of it "
            "or one that ended at most VISIT_DETAILS_DAYS_AFTER (7) days ago"
        },
    )


class OccurrenceRole(Schema):
    name = fields.String()
    needed = fields.Integer()
    capacity = fields.Integer(metadata={"description": "seats now (tutors grow with pupils)"})
    confirmed = fields.Integer()
    waitlisted = fields.Integer()
    skills = fields.List(fields.String())
    duty_start = LocalDateTime()
    duty_end = LocalDateTime()
    volunteer_ids = fields.List(fields.Integer(), metadata={"description": "confirmed volunteers"})
    waitlist = fields.List(fields.Integer(), metadata={"description": "waitlisted volunteers, in order"})


class Occurrence(Schema):
    id = fields.Integer()
    activity_id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    team = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    original_start = LocalDateTime(metadata={"description": "start given by the rule (RECURRENCE-ID)"})
    start = LocalDateTime()
    end = LocalDateTime()
    overridden = fields.Boolean()
    recurring = fields.Boolean()
    grid_id = fields.Integer(allow_none=True)
    courtyard = fields.String(allow_none=True)
    room = fields.String(allow_none=True)
    place = fields.String()
    status = fields.String(metadata={"description": "scheduled | cancelled"})
    cancelled_at = LocalDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    sequence = fields.Integer()
    activity_sequence = fields.Integer()
    updated_at = LocalDateTime()
    roles = fields.List(fields.Nested(OccurrenceRole))
    attendee_capacity = fields.Integer(allow_none=True)
    attendees = fields.Integer()
    attendees_waitlisted = fields.Integer()
    private = fields.Nested(
        PrivateVisit, allow_none=True, metadata={"description": "as on the activity (the same rule)"}
    )


class ListedOccurrence(Occurrence):
    id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "null for an occurrence computed from the rule but not stored yet (beyond 120 days"
            " ahead for volunteers): it gets its id, to sign up with, when it comes within reach or an"
            " organiser lists it"
        },
    )


class Signup(Schema):
    id = fields.Integer()
    occurrence_id = fields.Integer()
    activity_id = fields.Integer()
    role = fields.String()
    volunteer_id = fields.Integer()
    status = fields.String(metadata={"description": "confirmed | waitlisted | cancelled"})
    waitlist_position = fields.Integer(allow_none=True)
    source = fields.String(metadata={"description": "signup | roster | rotation (the clean-up rotation)"})
    duty_start = LocalDateTime()
    duty_end = LocalDateTime()
    created_at = LocalDateTime()
    confirmed_at = LocalDateTime(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)
    attendance = fields.String(allow_none=True, metadata={"description": "attended | no_show | excused"})
    hours = fields.Float(allow_none=True)


class Partner(Schema):
    volunteer_id = fields.Integer()
    name = fields.String(allow_none=True, metadata={"description": "the name they go by (null: not in the directory)"})


class GridLeader(Schema):
    volunteer_id = fields.Integer()
    name = fields.String()
    phone = fields.String(metadata={"description": "for the volunteer on duty to call"})


class Duty(Signup):
    title = fields.String()
    kind = fields.String()
    team = fields.String(allow_none=True)
    original_start = LocalDateTime()
    occurrence_start = LocalDateTime()
    occurrence_end = LocalDateTime()
    grid_id = fields.Integer(allow_none=True)
    courtyard = fields.String(allow_none=True)
    room = fields.String(allow_none=True)
    place = fields.String()
    occurrence_status = fields.String()
    sequence = fields.Integer()
    updated_at = LocalDateTime()
    cancel_until = LocalDateTime(
        allow_none=True,
        metadata={
            "description": "a confirmed duty: the volunteer cancels it themselves until then (CANCEL_DEADLINES),"
            " later they say they cannot come; null for a waitlist place (left at any time) or a cancelled occurrence"
        },
    )
    partners = fields.List(
        fields.Nested(Partner),
        metadata={"description": "the other confirmed volunteers of the occurrence, no contacts"},
    )
    grid_leader = fields.Nested(
        GridLeader, allow_none=True, metadata={"description": "the leader of the occurrence's grid; null: none"}
    )
    points = fields.Integer(
        allow_none=True, metadata={"description": "an attended duty: the points the volunteers ledger credited"}
    )


class OpenDuty(Schema):
    occurrence_id = fields.Integer()
    activity_id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    team = fields.String(allow_none=True)
    start = LocalDateTime(metadata={"description": "the occurrence's start"})
    end = LocalDateTime()
    duty_start = LocalDateTime(metadata={"description": "the role's duty (a lecture's setup starts before it)"})
    duty_end = LocalDateTime()
    grid_id = fields.Integer(allow_none=True)
    courtyard = fields.String(allow_none=True)
    room = fields.String(allow_none=True)
    place = fields.String()
    role = fields.String(metadata={"description": "sign_up's role"})
    skills = fields.List(fields.String(), metadata={"description": "skills the role requires (the volunteer has them)"})
    seats = fields.Integer(metadata={"description": "seats of the role"})
    taken = fields.Integer(metadata={"description": "seats confirmed volunteers hold"})
    full = fields.Boolean()
    waitlist_position = fields.Integer(
        allow_none=True, metadata={"description": "when full: the place on the waitlist a sign-up would get"}
    )


class Registration(Schema):
    """A registration as register_attendee answers it: what the resident sent and the facts of the
    record made (residents share one scope of keys, guanyinli.keys)."""

    id = fields.Integer()
    occurrence_id = fields.Integer()
    name = fields.String()
    phone = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "registered | waitlisted | cancelled"})
    waitlist_position = fields.Integer(allow_none=True)
    created_at = LocalDateTime()


class DoorRegistration(Registration):
    """A registration as the door list and organisers see it."""

    phone = fields.String(allow_none=True, metadata={"description": "organisers only"})
    phone_masked = fields.String(allow_none=True, metadata={"description": "139****5678: the last four digits"})
    checked_in_at = LocalDateTime(allow_none=True, metadata={"description": "when they came in at the door"})


class DoorList(Schema):
    occurrence_id = fields.Integer()
    activity_id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    start = LocalDateTime()
    end = LocalDateTime()
    place = fields.String(allow_none=True)
    room = fields.String(allow_none=True)
    attendee_capacity = fields.Integer(allow_none=True)
    registered = fields.Integer()
    waitlisted = fields.Integer()
    checked_in = fields.Integer()
    registrations = fields.List(
        fields.Nested(DoorRegistration),
        metadata={"description": "the registered by name, then the waitlist in order; cancelled ones left out"},
    )


class StandinOffer(Schema):
    offer_id = fields.Integer()
    signup_id = fields.Integer(metadata={"description": "the sign-up of the volunteer who cannot come"})
    occurrence_id = fields.Integer()
    activity_id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    start = LocalDateTime(metadata={"description": "the occurrence"})
    end = LocalDateTime()
    place = fields.String(allow_none=True)
    role = fields.String()
    duty_start = LocalDateTime()
    duty_end = LocalDateTime()
    grid_id = fields.Integer(allow_none=True)
    grid_leader_id = fields.Integer(allow_none=True)
    rostered = fields.Boolean(metadata={"description": "a duty of a published patrol roster"})
    volunteer_id = fields.Integer(metadata={"description": "who cannot come; the duty stays theirs until taken"})
    status = fields.String(
        metadata={
            "description": "open | unfilled (nobody took it by alert_at: organisers were told; it may still be "
            "taken) | taken | withdrawn"
        }
    )
    alert_at = LocalDateTime(metadata={"description": "organisers are told then if nobody took it"})
    alerted_at = LocalDateTime(allow_none=True)
    taken_by = fields.Integer(allow_none=True)
    new_signup_id = fields.Integer(allow_none=True, metadata={"description": "the taker's confirmed sign-up"})
    created_at = LocalDateTime()
    closed_at = LocalDateTime(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "organisers and the volunteer who offered it"})
    candidate_ids = fields.List(
        fields.Integer(),
        allow_none=True,
        metadata={"description": "who fitted when it was offered: organisers and the volunteer who offered it"},
    )


class VolunteerStats(Schema):
    volunteer_id = fields.Integer()
    attended = fields.Integer()
    no_show = fields.Integer()
    excused = fields.Integer()
    hours = fields.Float()
    confirmed_duties = fields.Integer()
    no_show_rate = fields.Float(allow_none=True, metadata={"description": "no_show / (attended + no_show)"})


# --- patrol rosters ------------------------------------------------------------------------------


class RosterOptionsIn(StrictSchema):
    time_limit = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))
    coverage = fields.String(load_default="auto", validate=validate.OneOf(("auto", "hard", "soft")))
    max_per_week = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1, max=14)
    )
    min_rest_hours = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=72))
    neighbour_grids = fields.Boolean(load_default=None, allow_none=True)


class RosterWindowIn(StrictSchema):
    """The days and grids of a roster (default every grid)."""

    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)
    grids = fields.List(
        Grid(),
        load_default=None,
        metadata={"description": "grid ids of the volunteers service's list_grids; none: every grid"},
    )

    @validates_schema
    def _window(self, data, **kwargs):
        if data["end"] <= data["start"]:
            raise ValidationError("must be after start", "end")
        if data["end"] - data["start"] > timedelta(days=93):
            raise ValidationError("a roster covers at most 93 days", "end")


class BuildRosterIn(RosterWindowIn):
    options = fields.Nested(RosterOptionsIn, load_default=dict)
    request_id = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=90),
        metadata={"description": "client idempotency key: the same request_id returns the same roster"},
    )


class RosterIdIn(StrictSchema):
    roster_id = Id(required=True)


class RepairRosterIn(RosterIdIn):
    volunteer_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=50))
    from_date = fields.Date(load_default=None, metadata={"description": "drop out from this day on (default: now)"})


class SwapIn(RosterIdIn):
    request_id = RequestId(load_default=None)
    volunteer_a = Id(required=True)
    shift_a = fields.String(required=True, validate=validate.Length(min=1, max=40))
    volunteer_b = Id(required=True)
    shift_b = fields.String(required=True, validate=validate.Length(min=1, max=40))


class SwapOptionsIn(StrictSchema):
    volunteer_id = Id(required=True)
    occurrence_id = Id(required=True, metadata={"description": "the volunteer's own rostered patrol"})
    days = fields.Integer(
        strict=True, load_default=7, validate=validate.Range(min=1, max=28), metadata={"description": "how far apart"}
    )
    limit = fields.Integer(strict=True, load_default=20, validate=validate.Range(min=1, max=50))


class SwapOption(Schema):
    roster_id = fields.Integer()
    shift_a = fields.String(metadata={"description": "the asking volunteer's shift"})
    volunteer_b = fields.Integer()
    shift_b = fields.String()
    occurrence_id = fields.Integer(metadata={"description": "the occurrence of shift_b"})
    grid_id = fields.Integer(allow_none=True)
    start = LocalDateTime()
    end = LocalDateTime()


class SwapIdIn(StrictSchema):
    swap_id = Id(required=True)


class DeclineSwapIn(SwapIdIn):
    reason = Reason(load_default=None, allow_none=True, metadata={"description": "told to the proposer"})


class ListSwapsIn(Page):
    roster_id = Id(load_default=None, allow_none=True)
    volunteer_id = Id(load_default=None, allow_none=True, metadata={"description": "swaps this volunteer is part of"})
    status = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(SWAP_STATUSES),
        metadata={"description": "proposed (open) | accepted | declined | withdrawn | rejected | expired"},
    )


class RosterShift(Schema):
    shift_id = fields.String()
    occurrence_id = fields.Integer()
    grid_id = fields.Integer()
    start = LocalDateTime()
    end = LocalDateTime()
    min_patrollers = fields.Integer()
    max_patrollers = fields.Integer()
    leader_needed = fields.Boolean()
    kind = fields.String(metadata={"description": "evening | morning"})


class RosterAssignment(Schema):
    shift_id = fields.String()
    volunteer_id = fields.Integer()


class RosterGap(Schema):
    shift_id = fields.String()
    grid = fields.Integer()
    missing = fields.Integer(metadata={"description": "patrollers short of the minimum"})
    leader_missing = fields.Boolean()
    reason = fields.String(metadata={"description": "in plain words"})
    reason_zh = fields.String(metadata={"description": "the same in Chinese"})


class RosterSuggestion(Schema):
    kind = fields.String(metadata={"description": "neighbour_grids | raise_weekly_cap | accept_under_coverage"})
    description = fields.String()
    description_zh = fields.String(metadata={"description": "the same in Chinese"})
    fixes = fields.Integer(metadata={"description": "problems it would solve"})


class RosterSummary(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "solving | draft | published | superseded | failed"})
    start = LocalDateTime()
    end = LocalDateTime()
    grids = fields.List(fields.Integer())
    parent_id = fields.Integer(allow_none=True, metadata={"description": "the roster a repair replaced"})
    solver_status = fields.String(allow_none=True)
    objective = fields.Float(allow_none=True, metadata={"description": "weighted cost of the soft rules"})
    gap = fields.Float(allow_none=True, metadata={"description": "(objective - bound) / objective"})
    assignment_count = fields.Integer(allow_none=True, metadata={"description": "assignments in the roster"})
    shifts_short = fields.Integer(
        allow_none=True, metadata={"description": "shifts below their minimum crew or without a leader they need"}
    )
    changed = fields.Integer(
        allow_none=True, metadata={"description": "repair: assignments changed beyond those forced out"}
    )
    created_at = LocalDateTime()
    published_at = LocalDateTime(allow_none=True)


class RosterReportOut(Schema):
    id = fields.Integer()
    status = fields.String()
    solver_status = fields.String(
        allow_none=True, metadata={"description": "optimal | feasible | feasible_with_gaps | infeasible | unknown"}
    )
    objective = fields.Float(allow_none=True, metadata={"description": "weighted cost of the soft rules"})
    bound = fields.Float(allow_none=True, metadata={"description": "proven lower bound of the cost"})
    gap = fields.Float(allow_none=True, metadata={"description": "(objective - bound) / objective"})
    report = fields.Dict(
        allow_none=True, metadata={"description": "coverage per grid, load per role, volunteers, costs per rule"}
    )
    gaps = fields.List(fields.Nested(RosterGap))
    problems = fields.List(fields.String())
    problems_zh = fields.List(fields.String(), metadata={"description": "the same in Chinese"})
    suggestions = fields.List(fields.Nested(RosterSuggestion))


class RosterOut(RosterSummary, RosterReportOut):
    options = fields.Dict()
    job_id = fields.String(metadata={"description": "matches roster_progress events"})
    wall_time = fields.Float(allow_none=True)
    solutions = fields.Integer(allow_none=True)
    first_solution_time = fields.Float(allow_none=True)
    forced_out = fields.Integer(
        allow_none=True, metadata={"description": "repair: assignments the drop-out made impossible"}
    )
    shifts = fields.List(fields.Nested(RosterShift))
    assignments = fields.List(fields.Nested(RosterAssignment))


class MonthGrid(Schema):
    id = fields.Integer()
    name = fields.String()


class MonthShift(Schema):
    id = fields.String(metadata={"description": "the patrol occurrence id, as text"})
    grid = fields.Integer()
    start = fields.String(metadata={"description": "ISO 8601 with offset"})
    end = fields.String(metadata={"description": "ISO 8601 with offset"})
    min = fields.Integer(metadata={"description": "fewest patrollers"})
    max = fields.Integer(metadata={"description": "most patrollers"})
    leader_required = fields.Integer(metadata={"description": "leaders needed among them"})


class MonthVolunteer(Schema):
    id = fields.String(metadata={"description": "the volunteer id, as text"})
    name = fields.String()
    leader = fields.Boolean()
    home_grid = fields.Integer()
    max_per_week = fields.Integer()
    available = fields.List(fields.String(), metadata={"description": "ids of the shifts they may be given"})


class MonthRules(Schema):
    max_per_week = fields.Integer()
    min_rest_hours = fields.Float(metadata={"description": "between the starts of two shifts of one volunteer"})


class MonthObjective(Schema):
    fairness_weight = fields.Integer()
    off_home_weight = fields.Integer()


class RosterMonthOut(Schema):
    """A `patrol-roster/1` instance (docs/ROSTER-FORMAT.md): names of volunteers, no other personal data."""

    format = fields.String(metadata={"description": "patrol-roster/1"})
    name = fields.String()
    timezone = fields.String()
    generator = fields.String()
    rules = fields.Nested(MonthRules)
    objective = fields.Nested(MonthObjective)
    grids = fields.List(fields.Nested(MonthGrid))
    shifts = fields.List(fields.Nested(MonthShift))
    volunteers = fields.List(fields.Nested(MonthVolunteer))


class SwapOut(Schema):
    swap_id = fields.Integer()
    roster_id = fields.Integer()
    status = fields.String(
        metadata={
            "description": "proposed (waits for the other volunteer) | accepted | declined | withdrawn | rejected "
            "(it would break a hard rule) | expired (a shift started while it was proposed)"
        }
    )
    reason = fields.String(allow_none=True, metadata={"description": "the rule it would break, or why it was declined"})
    volunteer_a = fields.Integer()
    shift_a = fields.String()
    volunteer_b = fields.Integer()
    shift_b = fields.String()
    proposed_by = fields.Integer(allow_none=True, metadata={"description": "null: an organiser made the swap"})
    expires_at = LocalDateTime(allow_none=True, metadata={"description": "when the earlier shift starts"})
    created_at = LocalDateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = LocalDateTime(allow_none=True)


# --- the clean-up rotation ----------------------------------------------------------------------


class PlanCleanupsIn(StrictSchema):
    start = fields.Date(required=True, metadata={"description": "a day of the first week planned (from its Monday)"})
    weeks = fields.Integer(strict=True, load_default=4, validate=validate.Range(min=1, max=12))


class CleanupRotationIn(StrictSchema):
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)


class CleanupVolunteer(Schema):
    id = fields.Integer()
    name = fields.String()


class CleanupRow(Schema):
    occurrence_id = fields.Integer()
    place_code = fields.String(metadata={"description": "the volunteers service's code: C08, B01, GS03"})
    place = fields.String()
    place_kind = fields.String(metadata={"description": "courtyard, commercial_residential or green_space"})
    grid_id = fields.Integer()
    start = LocalDateTime()
    end = LocalDateTime()
    needed = fields.Integer()
    volunteers = fields.List(fields.Nested(CleanupVolunteer))


class CleanupCount(Schema):
    volunteer_id = fields.Integer()
    name = fields.String()
    count = fields.Integer(metadata={"description": "clean-ups in the window"})


class OwnRota(Schema):
    code = fields.String()
    name = fields.String()
    grid_id = fields.Integer()


class CleanupRotationOut(Schema):
    start = LocalDateTime()
    end = LocalDateTime()
    rows = fields.List(fields.Nested(CleanupRow))
    counts = fields.List(
        fields.Nested(CleanupCount), metadata={"description": "every sanitation team member's clean-ups, most first"}
    )
    own_rota = fields.List(
        fields.Nested(OwnRota), metadata={"description": "self-managed courtyards, left to their own rota"}
    )


class CleanupPlanOut(CleanupRotationOut):
    created = fields.Integer(metadata={"description": "clean-ups (occurrences) this plan made"})
    signed_up = fields.Integer(metadata={"description": "sign-ups this plan made"})
    short = fields.List(fields.String(), metadata={"description": "clean-ups (place:day) short of volunteers"})


# --- the weekend school: pupils' register and tutor assignment ------------------------------------

Subject = lambda **kw: fields.String(validate=validate.OneOf(tuple(SCHOOL_SUBJECTS)), **kw)  # noqa: E731


class PupilFields(StrictSchema):
    name = Name()
    grade = fields.Integer(strict=True, validate=validate.Range(min=1, max=9), metadata={"description": "1-9"})
    subjects = fields.List(
        Subject(),
        validate=validate.Length(min=1, max=len(SCHOOL_SUBJECTS)),
        metadata={"description": f"subjects they need help with: {', '.join(SCHOOL_SUBJECTS)}"},
    )
    guardian_name = Name(metadata={"description": "private: organisers only"})
    guardian_phone = Phone(validate=validate.Length(max=30), metadata={"description": "private: organisers only"})


class RegisterPupilIn(PupilFields):
    name = Name(required=True)
    grade = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=9))
    subjects = fields.List(Subject(), required=True, validate=validate.Length(min=1, max=len(SCHOOL_SUBJECTS)))
    guardian_name = Name(required=True, metadata={"description": "private: organisers only"})
    guardian_phone = Phone(required=True, validate=validate.Length(max=30))
    request_id = RequestId(load_default=None)


class PupilIdIn(StrictSchema):
    pupil_id = Id(required=True)


class UpdatePupilIn(PupilIdIn):
    changes = fields.Nested(PupilFields, required=True)


class ListPupilsIn(StrictSchema):
    include_withdrawn = fields.Boolean(load_default=False)


class Pupil(Schema):
    id = fields.Integer()
    name = fields.String()
    grade = fields.Integer()
    subjects = fields.List(fields.String())
    active = fields.Boolean()
    guardian_name = fields.String(metadata={"description": "organisers only (absent for others)"})
    guardian_phone = fields.String(metadata={"description": "organisers only (absent for others)"})


class SchoolWindowIn(StrictSchema):
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)

    @validates_schema
    def _window(self, data, **kwargs):
        if data["end"] <= data["start"]:
            raise ValidationError("must be after start", "end")
        if data["end"] - data["start"] > timedelta(days=93):
            raise ValidationError("at most 93 days", "end")


class AssignTutorsIn(SchoolWindowIn):
    time_limit = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))


class ListAssignmentsIn(SchoolWindowIn):
    tutor_id = Id(load_default=None, allow_none=True, metadata={"description": "one tutor's (a volunteer: their own)"})


class PinAssignmentIn(StrictSchema):
    assignment_id = Id(required=True)
    pinned = fields.Boolean(load_default=True)


class ChangeAssignmentIn(StrictSchema):
    assignment_id = Id(required=True)
    tutor_id = Id(required=True)


class SchoolAssignment(Schema):
    id = fields.Integer()
    occurrence_id = fields.Integer()
    title = fields.String()
    start = LocalDateTime()
    end = LocalDateTime()
    pupil_id = fields.Integer()
    pupil_name = fields.String()
    grade = fields.Integer()
    subject = fields.String()
    subject_zh = fields.String()
    tutor_id = fields.Integer(allow_none=True, metadata={"description": "null: no tutor could take it (see reason)"})
    tutor_name = fields.String(allow_none=True)
    pinned = fields.Boolean()
    reason = fields.String(allow_none=True)
    reason_zh = fields.String(allow_none=True)


class SchoolNeed(Schema):
    occurrence_id = fields.Integer()
    start = LocalDateTime()
    subject = fields.String()
    subject_zh = fields.String()
    needs = fields.Integer(metadata={"description": "pupils who need the subject in the session"})
    capacity = fields.Integer(metadata={"description": "seats of the qualified tutors free then"})
    shortfall = fields.Integer()
    message = fields.String()
    message_zh = fields.String()


class UnkeptSchoolPin(Schema):
    assignment_id = fields.Integer()
    reason = fields.String()
    reason_zh = fields.String()


class SchoolAssignmentOut(Schema):
    status = fields.String(metadata={"description": "optimal | feasible"})
    sessions = fields.Integer()
    needs = fields.Integer()
    covered = fields.Integer()
    objective = fields.Integer()
    bound = fields.Integer()
    tutor_changes = fields.Integer()
    wall_time = fields.Float()
    costs = fields.Dict(keys=fields.String(), values=fields.Integer())
    unkept_pins = fields.List(fields.Nested(UnkeptSchoolPin))
    assignments = fields.List(fields.Nested(SchoolAssignment))
