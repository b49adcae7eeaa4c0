"""Wire contract of the elderly-visit register's RPC (``activities.visits_service``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from activities.schemas import Grid, Name, Reason
from activities.visit_rules import CATEGORIES, CONSENT_WAYS, MAX_FREQUENCY_DAYS, MIN_FREQUENCY_DAYS
from guanyinli.schemas import Id, LocalDateTime, RequestId, StrictSchema

Frequency = lambda **kw: fields.Integer(  # noqa: E731
    strict=True,
    validate=validate.Range(min=MIN_FREQUENCY_DAYS, max=MAX_FREQUENCY_DAYS),
    metadata={"description": "visited every this many days, e.g. 7, 14 or 30"},
    **kw,
)
Address = lambda **kw: fields.String(validate=validate.Length(max=300), metadata={"description": "private"}, **kw)  # noqa: E731
HealthNotes = lambda **kw: fields.String(validate=validate.Length(max=2000), metadata={"description": "private"}, **kw)  # noqa: E731
RelativeContact = lambda **kw: fields.String(  # noqa: E731
    validate=validate.Length(max=200), metadata={"description": "private: a relative's name and phone"}, **kw
)


class ConsentIn(StrictSchema):
    by = Name(required=True, metadata={"description": "who agreed: the person, or a relative for them"})
    how = fields.String(required=True, validate=validate.OneOf(CONSENT_WAYS))
    at = LocalDateTime(load_default=None, metadata={"description": "when; empty: now"})


class PersonFields(StrictSchema):
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    name = Name()
    grid_id = Grid(allow_none=True)
    courtyard = Name(allow_none=True)
    home = Name(allow_none=True, metadata={"description": "the old people's home, for its residents"})
    frequency_days = Frequency()
    address = Address(allow_none=True)
    health_notes = HealthNotes(allow_none=True)
    relative_contact = RelativeContact(allow_none=True)


class AddVisitedPersonIn(PersonFields):
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    name = Name(required=True)
    frequency_days = Frequency(required=True)
    consent = fields.Nested(ConsentIn, load_default=None, metadata={"description": "recorded at once when given"})
    request_id = RequestId(load_default=None)


class UpdateVisitedPersonIn(StrictSchema):
    person_id = Id(required=True)
    changes = fields.Nested(PersonFields, required=True)


class PersonIdIn(StrictSchema):
    person_id = Id(required=True)


class RecordConsentIn(StrictSchema):
    person_id = Id(required=True)
    consent = fields.Nested(ConsentIn, required=True)


class WithdrawIn(StrictSchema):
    person_id = Id(required=True)
    reason = Reason(load_default=None)


class ListVisitedPeopleIn(StrictSchema):
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORIES))
    grid = Grid(load_default=None)
    include_withdrawn = fields.Boolean(load_default=False)


class PlanVisitsIn(StrictSchema):
    start = fields.Date(required=True, metadata={"description": "first day (local); days already past are skipped"})
    end = fields.Date(required=True, metadata={"description": "day after the last, at most 92 days after start"})


class VisitNoteIn(StrictSchema):
    occurrence_id = Id(required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))
    done = fields.Boolean(load_default=False, metadata={"description": "the visit was made"})


class OverdueIn(StrictSchema):
    today = fields.Date(required=True)


class MissedVisitsIn(StrictSchema):
    since = fields.Date(required=True, metadata={"description": "visits from this day on"})


class VisitIdIn(StrictSchema):
    occurrence_id = Id(required=True)


class VolunteerIdIn(StrictSchema):
    volunteer_id = Id(required=True)


class Consent(Schema):
    by = fields.String()
    how = fields.String()
    at = LocalDateTime()


class PrivateDetails(Schema):
    address = fields.String(allow_none=True)
    health_notes = fields.String(allow_none=True)
    relative_contact = fields.String(allow_none=True)


class VisitedPerson(Schema):
    id = fields.Integer()
    category = fields.String()
    name = fields.String()
    grid_id = fields.Integer(allow_none=True)
    courtyard = fields.String(allow_none=True)
    home = fields.String(allow_none=True)
    frequency_days = fields.Integer()
    status = fields.String(metadata={"description": "active or withdrawn"})
    consented = fields.Boolean(metadata={"description": "consent recorded and not withdrawn: visits may be planned"})
    withdrawn_at = LocalDateTime(allow_none=True)
    last_visit = fields.Date(allow_none=True, metadata={"description": "day of the last visit made"})
    next_due = fields.Date(allow_none=True, metadata={"description": "last visit + frequency (consent day if never)"})
    next_planned = fields.Date(allow_none=True)
    overdue_days = fields.Integer()
    consent = fields.Nested(Consent, allow_none=True, metadata={"description": "as private"})
    withdrawn_reason = fields.String(allow_none=True, metadata={"description": "as private"})
    private = fields.Nested(
        PrivateDetails,
        allow_none=True,
        metadata={
            "description": "organisers, and visitors with a current or coming visit of the person or one that "
            "ended at most VISIT_DETAILS_DAYS_AFTER (7) days ago; null for everyone else"
        },
    )


class Visit(Schema):
    occurrence_id = fields.Integer()
    person_id = fields.Integer()
    due_on = fields.Date()
    start = LocalDateTime()
    end = LocalDateTime()
    status = fields.String()
    visitor_ids = fields.List(fields.Integer())
    done = fields.Boolean()
    done_at = LocalDateTime(allow_none=True)
    missed = fields.Boolean(
        metadata={"description": "over, not cancelled, neither marked made nor attended: to cancel and plan again"}
    )
    note = fields.String(allow_none=True, metadata={"description": "only to organisers and that visit's visitors"})
    note_at = LocalDateTime(allow_none=True)


class MissedVisit(Visit):
    person_name = fields.String()
    grid_id = fields.Integer(allow_none=True)


class VisitedPersonDetail(VisitedPerson):
    visits = fields.List(fields.Nested(Visit), metadata={"description": "newest first"})


class VisitDuty(Visit):
    person = fields.Nested(VisitedPerson)


class PlannedVisit(Schema):
    person_id = fields.Integer()
    occurrence_id = fields.Integer()
    day = fields.Date()
    visitor_ids = fields.List(
        fields.Integer(), metadata={"description": "the pair; empty when fewer than two were free"}
    )
