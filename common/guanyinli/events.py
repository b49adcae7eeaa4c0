"""Schemas of every event the services dispatch: the shared half of the wire contract.

Each event payload carries ``event_id`` (a UUID, unique per event: handlers use it to act once)
and ``occurred_at``. Publish with ``publish(dispatch, "signup_confirmed", payload)``: the payload
is validated and dumped through the schema registered for that event type.
"""

from __future__ import annotations

import uuid

from marshmallow import Schema, fields, validate

from guanyinli.schemas import LocalDateTime, load
from guanyinli.timeutil import now

KINDS = ("patrol", "tutoring", "lecture", "elderly_visit", "sanitation", "convenience", "cultural")
# Guanyinli's teams (the demo's, as tests name them); which teams a community has, and so which team codes
# are valid, is the volunteers service's ``list_teams`` of that community: no service checks against this.
TEAMS = ("convenient_service", "sanitation_green", "voluntary_patrol")


class Event(Schema):
    event_id = fields.String(required=True)
    occurred_at = LocalDateTime(required=True)


# --- volunteers ------------------------------------------------------------------------------


class VolunteerEvent(Event):
    volunteer_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True)
    teams = fields.List(fields.String(), required=True)
    grid_id = fields.Integer(allow_none=True)
    active = fields.Boolean(required=True)
    changed = fields.List(fields.String(), load_default=list, metadata={"description": "fields changed (updates)"})


class VolunteerDeactivated(Event):
    volunteer_id = fields.Integer(required=True)
    reason = fields.String(allow_none=True)


class AvailabilityChanged(Event):
    volunteer_id = fields.Integer(required=True)


class LedgerEntryAdded(Event):
    entry_id = fields.Integer(required=True)
    volunteer_id = fields.Integer(required=True)
    hours = fields.Float(required=True)
    points = fields.Integer(required=True)
    reason = fields.String(required=True)
    source = fields.String(required=True)
    source_key = fields.String(allow_none=True, metadata={"description": "idempotency key of the source"})


# --- activities ------------------------------------------------------------------------------


class ActivityEvent(Event):
    activity_id = fields.Integer(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    team = fields.String(allow_none=True)
    sequence = fields.Integer(required=True)
    changed = fields.List(fields.String(), load_default=list)


class OccurrenceRef(Schema):
    occurrence_id = fields.Integer(allow_none=True)
    activity_id = fields.Integer(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)
    place = fields.String(allow_none=True)


class OccurrenceCancelled(Event, OccurrenceRef):
    reason = fields.String(allow_none=True)
    volunteer_ids = fields.List(
        fields.Integer(), load_default=list, metadata={"description": "volunteers who had a duty"}
    )


class OccurrenceChanged(Event, OccurrenceRef):
    previous_start = LocalDateTime(required=True)
    previous_end = LocalDateTime(required=True)
    volunteer_ids = fields.List(fields.Integer(), load_default=list)
    reason = fields.String(allow_none=True, load_default=None, metadata={"description": "why it moved"})


class SignupEvent(Event, OccurrenceRef):
    signup_id = fields.Integer(required=True)
    volunteer_id = fields.Integer(required=True)
    role = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("confirmed", "waitlisted", "cancelled")))
    waitlist_position = fields.Integer(allow_none=True)


class AttendanceRecorded(Event, OccurrenceRef):
    signup_id = fields.Integer(required=True)
    volunteer_id = fields.Integer(required=True)
    team = fields.String(allow_none=True)
    role = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("attended", "no_show", "excused")))
    hours = fields.Float(required=True)
    weekend = fields.Boolean(required=True)
    late_notice = fields.Boolean(required=True, metadata={"description": "signed up less than 48 h before the start"})


def attendance_key(signup_id: int) -> str:
    """The source_key of the ledger entry an attended duty earns: one per sign-up, whoever credits it."""
    return f"attendance:{signup_id}"


class ShiftRef(Schema):
    shift_id = fields.String(required=True)
    grid_id = fields.Integer(required=True)
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)
    occurrence_id = fields.Integer(allow_none=True)


class VolunteerRosterChange(Schema):
    volunteer_id = fields.Integer(required=True)
    added = fields.List(fields.Nested(ShiftRef), load_default=list)
    removed = fields.List(fields.Nested(ShiftRef), load_default=list)


class RosterEvent(Event):
    roster_id = fields.Integer(required=True)
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)
    changes = fields.List(fields.Nested(VolunteerRosterChange), load_default=list)


class RosterProgress(Event):
    roster_id = fields.Integer(allow_none=True)
    job_id = fields.String(required=True)
    solutions = fields.Integer(required=True)
    objective = fields.Float(allow_none=True)
    bound = fields.Float(allow_none=True)
    gap = fields.Float(allow_none=True)
    elapsed = fields.Float(required=True)
    done = fields.Boolean(required=True)


class SwapEvent(Event):
    """A swap of two rostered shifts: ``shifts[i]`` is the shift ``volunteer_ids[i]`` held before it."""

    swap_id = fields.Integer(required=True)
    roster_id = fields.Integer(required=True)
    volunteer_ids = fields.List(fields.Integer(), required=True)
    shifts = fields.List(fields.Nested(ShiftRef), required=True)
    proposed_by = fields.Integer(
        allow_none=True,
        load_default=None,
        metadata={"description": "the volunteer who proposed it; null when an organiser made the swap"},
    )
    by_organiser = fields.Boolean(
        load_default=False, metadata={"description": "an organiser made, accepted or declined it"}
    )
    reason = fields.String(allow_none=True, load_default=None, metadata={"description": "why it was declined"})


class StandinEvent(Event, OccurrenceRef):
    """A stand-in offer: ``volunteer_id`` cannot come to a confirmed duty and stays on it until someone takes it."""

    offer_id = fields.Integer(required=True)
    signup_id = fields.Integer(required=True, metadata={"description": "the sign-up of the volunteer who cannot come"})
    volunteer_id = fields.Integer(required=True, metadata={"description": "the volunteer who cannot come"})
    role = fields.String(required=True)
    duty_start = LocalDateTime(required=True)
    duty_end = LocalDateTime(required=True)
    grid_id = fields.Integer(allow_none=True)
    grid_leader_id = fields.Integer(
        allow_none=True, load_default=None, metadata={"description": "the leader of that grid, when it has one"}
    )
    rostered = fields.Boolean(load_default=False, metadata={"description": "a duty of a published patrol roster"})
    alert_at = LocalDateTime(required=True, metadata={"description": "organisers are told if nobody took it by then"})


class StandinOffered(StandinEvent):
    candidate_ids = fields.List(
        fields.Integer(), load_default=list, metadata={"description": "active volunteers who fit the duty then"}
    )


class StandinTaken(StandinEvent):
    taken_by = fields.Integer(required=True, metadata={"description": "the volunteer who now has the duty"})
    new_signup_id = fields.Integer(required=True, metadata={"description": "their confirmed sign-up"})


# --- organiser -------------------------------------------------------------------------------


class IdentityRevoked(Event):
    """Tokens of ``subject`` issued at or before ``before`` no longer count (``guanyinli.identity``)."""

    subject = fields.String(required=True, metadata={"description": "account:NAME, volunteer:ID, system:NAME"})
    before = LocalDateTime(required=True)
    reason = fields.String(allow_none=True, load_default=None)


# --- appeals --------------------------------------------------------------------------------
# No event carries the resident's name, phone or address: category, place and times only.


class AppealReceived(Event):
    appeal_id = fields.Integer(required=True)
    category = fields.String(required=True)
    urgency = fields.String(required=True)
    grid_id = fields.Integer(required=True)
    courtyard = fields.String(allow_none=True, load_default=None)
    received_at = LocalDateTime(required=True)


class AppealAssigned(Event):
    appeal_id = fields.Integer(required=True)
    category = fields.String(required=True)
    urgency = fields.String(load_default="normal", metadata={"description": "normal or urgent"})
    grid_id = fields.Integer(required=True)
    handler_id = fields.Integer(allow_none=True, metadata={"description": "null: nobody may take it now"})
    previous_handler_id = fields.Integer(allow_none=True, load_default=None)
    why = fields.String(
        required=True,
        validate=validate.OneOf(("routed", "handed_back", "reassigned")),
        metadata={"description": "routed at intake, re-routed after a hand-back, or reassigned by an organiser"},
    )


class AppealClosed(Event):
    appeal_id = fields.Integer(required=True)
    category = fields.String(required=True)
    grid_id = fields.Integer(required=True)
    handler_id = fields.Integer(allow_none=True, metadata={"description": "who is credited the hours"})
    hours = fields.Float(required=True, metadata={"description": "hours of work on it, for the ledger"})
    satisfaction = fields.Integer(allow_none=True)
    received_at = LocalDateTime(required=True)
    closed_at = LocalDateTime(required=True)


class AppealEscalated(Event):
    """A stage of an appeal (acknowledge, visit, close) is about to break its time limit, or has broken it:
    one step of the ladder (handler at 3/4 of the limit, grid leader at the limit, community office at
    1.5 times it), sent once per appeal, stage and level."""

    appeal_id = fields.Integer(required=True)
    category = fields.String(required=True)
    urgency = fields.String(required=True)
    grid_id = fields.Integer(required=True)
    courtyard = fields.String(allow_none=True, load_default=None)
    stage = fields.String(required=True, validate=validate.OneOf(("acknowledge", "visit", "close")))
    level = fields.String(required=True, validate=validate.OneOf(("handler", "grid_leader", "community_office")))
    handler_id = fields.Integer(allow_none=True, metadata={"description": "null: nobody handles it"})
    recipient_id = fields.Integer(
        allow_none=True,
        metadata={"description": "the volunteer to tell (handler or grid leader); null: the community office"},
    )
    deadline = LocalDateTime(required=True, metadata={"description": "the stage's deadline"})
    due_at = LocalDateTime(required=True, metadata={"description": "when this step became due"})


def appeal_key(appeal_id: int) -> str:
    """The source_key of the ledger entry a closed appeal earns its handler: one per appeal."""
    return f"appeal:{appeal_id}"


EVENTS: dict[str, dict[str, type[Schema]]] = {
    "organiser": {"identity_revoked": IdentityRevoked},
    "volunteers": {
        "volunteer_created": VolunteerEvent,
        "volunteer_updated": VolunteerEvent,
        "volunteer_deactivated": VolunteerDeactivated,
        "availability_changed": AvailabilityChanged,
        "ledger_entry_added": LedgerEntryAdded,
    },
    "activities": {
        "activity_created": ActivityEvent,
        "activity_updated": ActivityEvent,
        "occurrence_cancelled": OccurrenceCancelled,
        "occurrence_changed": OccurrenceChanged,
        "signup_confirmed": SignupEvent,
        "signup_waitlisted": SignupEvent,
        "signup_promoted": SignupEvent,
        "signup_cancelled": SignupEvent,
        "attendance_recorded": AttendanceRecorded,
        "roster_published": RosterEvent,
        "roster_repaired": RosterEvent,
        "roster_progress": RosterProgress,
        "swap_proposed": SwapEvent,
        "swap_accepted": SwapEvent,
        "swap_declined": SwapEvent,
        "swap_withdrawn": SwapEvent,
        "standin_offered": StandinOffered,
        "standin_taken": StandinTaken,
        "standin_unfilled": StandinEvent,
    },
    "appeals": {
        "appeal_received": AppealReceived,
        "appeal_assigned": AppealAssigned,
        "appeal_closed": AppealClosed,
        "appeal_escalated": AppealEscalated,
    },
}


def schema_for(event_type: str) -> type[Schema]:
    for events in EVENTS.values():
        if event_type in events:
            return events[event_type]
    raise KeyError(f"no schema registered for event {event_type!r}")


def make_payload(event_type: str, payload: dict) -> dict:
    """Validate a payload and give it its event id and time; returns the wire form."""
    schema = schema_for(event_type)()
    data = {"event_id": str(uuid.uuid4()), "occurred_at": now(), **payload}
    return schema.dump(schema.load(schema.dump(data)))


def publish(dispatch, event_type: str, payload: dict) -> dict:
    """Dispatch through a nameko ``EventDispatcher`` after validation; returns what was sent."""
    wire = make_payload(event_type, payload)
    dispatch(event_type, wire)
    return wire


def read(event_type: str, payload: dict) -> dict:
    """Load an incoming event payload (in a handler): datetimes become aware datetimes."""
    return load(schema_for(event_type), payload, unknown="exclude")
