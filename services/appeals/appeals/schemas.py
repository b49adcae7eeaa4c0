"""Wire contract of the appeals service: the request and response schema of every RPC method.

Request schemas are strict (unknown fields are an error) and their field names are the method's
parameter names. Grids and courtyards are checked against the volunteers service, not here: the
schemas only bound their form. Datetimes are ISO 8601 with offset (Asia/Shanghai on output).
"""

from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, ValidationError, fields, validate

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


class CalendarMonth(validate.Validator):
    """YYYY-MM with a month that exists (01-12)."""

    error = "a month 01-12"

    def __call__(self, value: str) -> str:
        try:
            datetime.strptime(value, "%Y-%m")
        except ValueError:
            raise ValidationError(f"month: YYYY-MM, {self.error}") from None
        return value


class MonthlyReportIn(StrictSchema):
    month = fields.String(
        required=True,
        validate=(validate.Regexp(r"^\d{4}-[01]\d$", error="month: YYYY-MM"), CalendarMonth()),
        metadata={"description": "YYYY-MM, a calendar month of community time (Asia/Shanghai)"},
    )
    grid_id = Id(
        load_default=None,
        allow_none=True,
        metadata={"description": "one grid; null: every grid (a grid leader: the grids they lead)"},
    )


class CategoryCountOut(Schema):
    category = fields.String()
    received = fields.Integer()
    normal = fields.Integer()
    urgent = fields.Integer()


class StageOut(Schema):
    stage = fields.String(metadata={"description": "acknowledge, visit or close"})
    due = fields.Integer(
        metadata={"description": "appeals whose stage was done in time in the month, or fell due in it undone"}
    )
    met = fields.Integer(metadata={"description": "of them, done within the limit"})
    late = fields.Integer()
    share = fields.Float(allow_none=True, metadata={"description": "met / due, 0-1; null when none was due"})


class HoursOut(Schema):
    count = fields.Integer(metadata={"description": "appeals done in the month"})
    median = fields.Float(allow_none=True, metadata={"description": "clock hours from receipt"})
    p90 = fields.Float(allow_none=True, metadata={"description": "90th percentile, clock hours from receipt"})


class SatisfactionOut(Schema):
    answers = fields.Integer(metadata={"description": "appeals closed in the month with the resident's score"})
    mean = fields.Float(allow_none=True, metadata={"description": "of the scores 1-5"})
    share_satisfied = fields.Float(allow_none=True, metadata={"description": "share of 4 and 5, 0-1"})


class ReportFiguresOut(Schema):
    received = fields.Integer(metadata={"description": "received in the month"})
    received_urgent = fields.Integer()
    by_category = fields.List(fields.Nested(CategoryCountOut), metadata={"description": "categories received"})
    stages = fields.List(fields.Nested(StageOut), metadata={"description": "acknowledge, visit, close"})
    hours_to_acknowledge = fields.Nested(HoursOut)
    hours_to_close = fields.Nested(HoursOut)
    closed = fields.Integer(metadata={"description": "closed in the month"})
    satisfaction = fields.Nested(SatisfactionOut)
    open_at_end = fields.Integer(
        metadata={"description": "not closed at the month's end (at now, in the month still running)"}
    )
    overdue_now = fields.Integer(
        metadata={"description": "received by the month's end, open now with a stage past its deadline"}
    )


class GridFiguresOut(ReportFiguresOut):
    grid_id = fields.Integer()


class MonthlyReportOut(Schema):
    month = fields.String()
    start = LocalDateTime()
    end = LocalDateTime(metadata={"description": "the next month's first moment"})
    now = LocalDateTime(metadata={"description": "when the figures were judged"})
    grid_ids = fields.List(
        fields.Integer(), allow_none=True, metadata={"description": "the grids reported on; null: the community"}
    )
    grids = fields.List(fields.Nested(GridFiguresOut), metadata={"description": "one row per grid, by id"})
    total = fields.Nested(ReportFiguresOut, metadata={"description": "over the grids reported on"})
