"""Wire contract of the appeals service: the request and response schema of every RPC method.

Request schemas are strict (unknown fields are an error) and their field names are the method's
parameter names. Grids and courtyards are checked against the volunteers service, not here: the
schemas only bound their form. Datetimes are ISO 8601 with offset (Asia/Shanghai on output).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from appeals.domain import CATEGORIES, MAX_HOURS, STATUSES, URGENCIES
from guanyinli.schemas import Id, LocalDateTime, Page, Phone, RequestId, StrictSchema

Category = fields.String(
    required=True,
    validate=validate.OneOf(CATEGORIES),
    metadata={"description": "one of " + ", ".join(CATEGORIES)},
)
Words = validate.Length(min=1, max=2000)
Reason = validate.Length(min=1, max=500)


class AppealIdIn(StrictSchema):
    appeal_id = Id(required=True)


class ReceiveAppealIn(StrictSchema):
    category = Category
    grid_id = Id(required=True, metadata={"description": "a grid of the volunteers service"})
    courtyard = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "code of one of the grid's courtyards or buildings (volunteers.get_grid)"},
    )
    building = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "e.g. 3号楼"},
    )
    urgency = fields.String(load_default="normal", validate=validate.OneOf(URGENCIES))
    description = fields.String(required=True, validate=Words)
    resident_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    resident_phone = Phone(required=True)
    resident_address = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    request_id = RequestId(load_default=None)


class ReceivePublicAppealIn(ReceiveAppealIn):
    resident_phone = fields.String(
        required=True,
        validate=validate.Regexp(r"1[3-9][0-9]{9}\Z", error="expected a mainland mobile number of 11 digits"),
        metadata={"description": "the number the resident proved theirs with an SMS code"},
    )
    request_id = RequestId(required=True)  # one per verified code: one appeal per code


class PublicAppealOut(Schema):
    reference = fields.String(metadata={"description": "what the resident quotes, e.g. GY000042"})
    routed = fields.Boolean(metadata={"description": "given to a volunteer now, else the community office routes it"})
    acknowledge_by = LocalDateTime(metadata={"description": "by when someone contacts the resident at the latest"})


class ResidentReplyIn(StrictSchema):
    token = fields.String(
        required=True,
        validate=validate.Regexp(r"[A-Za-z0-9_-]{16,64}\Z", error="expected the token of a reply link"),
        metadata={"description": "from the resident's link /appeal/reply/<token>"},
    )
    satisfaction = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=5))
    reply = fields.String(load_default=None, allow_none=True, validate=Words)


class ResidentReplyOut(Schema):
    reference = fields.String()
    satisfaction = fields.Integer()
    replaced = fields.Boolean(metadata={"description": "it replaced what the handler entered on the resident's behalf"})


class HandBackIn(AppealIdIn):
    reason = fields.String(required=True, validate=Reason)


class ReassignIn(AppealIdIn):
    volunteer_id = Id(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=Reason)


class AddNoteIn(AppealIdIn):
    text = fields.String(required=True, validate=Words)


class MarkVisitedIn(AppealIdIn):
    note = fields.String(
        load_default=None, allow_none=True, validate=Words, metadata={"description": "what the handler found"}
    )


class CloseAppealIn(AppealIdIn):
    outcome = fields.String(required=True, validate=Words, metadata={"description": "what was done"})
    resident_reply = fields.String(
        load_default=None, allow_none=True, validate=Words, metadata={"description": "what the resident said"}
    )
    satisfaction = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=5),
        metadata={"description": "the resident's, 1-5, entered by the handler on their behalf"},
    )
    hours = fields.Float(
        load_default=0.0,
        allow_nan=False,
        validate=validate.Range(min=0, max=MAX_HOURS),
        metadata={"description": "hours of work, credited to the handler through the ledger"},
    )


class ListAppealsIn(Page):
    grid_id = Id(load_default=None, allow_none=True)
    status = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf((*STATUSES, "open")),
        metadata={"description": "one status, or open (all but closed)"},
    )
    handler_id = Id(load_default=None, allow_none=True)


class NoteOut(Schema):
    kind = fields.String()
    at = LocalDateTime()
    author = fields.String()
    volunteer_id = fields.Integer(allow_none=True)
    text = fields.String(allow_none=True)


class EscalationOut(Schema):
    stage = fields.String(metadata={"description": "acknowledge, visit or close"})
    level = fields.String(metadata={"description": "handler, grid_leader or community_office: who was told"})
    due_at = LocalDateTime(metadata={"description": "when the step became due"})
    deadline = LocalDateTime(metadata={"description": "the stage's deadline"})
    fired_at = LocalDateTime()
    recipient_id = fields.Integer(allow_none=True, metadata={"description": "the volunteer told; null: the office"})


class AppealOut(Schema):
    id = fields.Integer()
    reference = fields.String(metadata={"description": "GY and the id, as the resident was told it"})
    source = fields.String(metadata={"description": "office, grid or resident (the public form)"})
    category = fields.String()
    urgency = fields.String()
    grid_id = fields.Integer()
    courtyard = fields.String(allow_none=True)
    building = fields.String(allow_none=True)
    description = fields.String(
        allow_none=True, metadata={"description": "null unless the resident's contact is shown"}
    )
    resident_name = fields.String(allow_none=True, metadata={"description": "handler and organisers only, else null"})
    resident_phone = fields.String(allow_none=True, metadata={"description": "handler and organisers only, else null"})
    resident_address = fields.String(
        allow_none=True, metadata={"description": "handler and organisers only, else null"}
    )
    status = fields.String(metadata={"description": "unrouted, assigned, accepted or closed"})
    handler_id = fields.Integer(allow_none=True)
    received_at = LocalDateTime()
    assigned_at = LocalDateTime(allow_none=True)
    accepted_at = LocalDateTime(allow_none=True)
    visited_at = LocalDateTime(allow_none=True, metadata={"description": "the handler's first visit"})
    closed_at = LocalDateTime(allow_none=True)
    acknowledge_by = LocalDateTime(metadata={"description": "the time limit to accept it (daytime hours)"})
    visit_by = LocalDateTime(metadata={"description": "the time limit to visit the resident"})
    close_by = LocalDateTime(metadata={"description": "the time limit to close it"})
    outcome = fields.String(allow_none=True)
    resident_reply = fields.String(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    hours = fields.Float(allow_none=True)
    resident_replied_at = LocalDateTime(
        allow_none=True, metadata={"description": "when the resident answered through their link"}
    )
    notes = fields.List(
        fields.Nested(NoteOut), metadata={"description": "the trail; empty unless the contact is shown"}
    )
    escalations = fields.List(
        fields.Nested(EscalationOut), metadata={"description": "the steps of the time limits' ladder fired"}
    )


class Health(Schema):
    service = fields.String()
    status = fields.String()
    database = fields.String()
    open_appeals = fields.Integer()
