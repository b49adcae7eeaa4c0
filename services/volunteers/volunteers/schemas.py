"""Wire contract of the volunteers service: the request and response schema of every RPC method.

Request schemas are strict (unknown fields are an error) and their field names are the method's
parameter names. Datetimes are ISO 8601 with offset (naive input means Asia/Shanghai); weekly
windows are local wall-clock times "HH:MM" ("24:00" ends a window at midnight).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from guanyinli.schemas import Id, LocalDateTime, Page, Phone, RequestId, StrictSchema, Text
from guanyinli.timeutil import local
from volunteers import structure
from volunteers.domain import MAX_CAP, MAX_PARTNERS, MAX_TARGET, MAX_WINDOW_RANGE, TIMES_OF_DAY
from volunteers.exceptions import no_grid

SKILL_RE = r"^[a-z][a-z0-9_]*(:[a-z0-9_]+)?$"
START_RE = r"^([01]\d|2[0-3]):[0-5]\d$"
END_RE = START_RE + r"|^24:00$"


def _with(field_cls, description: str, **defaults):
    """A field factory whose description a caller may replace."""

    def make(**kw):
        kw.setdefault("metadata", {"description": description})
        return field_cls(**defaults, **kw)

    return make


Name = _with(fields.String, "a name", validate=validate.Length(min=1, max=100))


# The community's grids, teams and alliances are looked up at each call (``structure.current``: the
# worker's community), never frozen into the schema.


class KnownGrid(validate.Validator):
    """One of the grids of the worker's community."""

    error = "a grid of list_grids"

    def __call__(self, value: int) -> int:
        if structure.current().grid_of(value) is None:
            raise ValidationError(no_grid(value))
        return value


class KnownCode(validate.Validator):
    """One of the codes of the worker's community's teams or alliances (``list_teams``, ``list_alliances``)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.error = f"a {kind} of list_{kind}s"

    def __call__(self, value: str) -> str:
        codes = getattr(structure.current(), f"{self.kind}_codes")
        if value not in codes:
            raise ValidationError(f"Must be one of: {', '.join(codes)} (the {self.kind}s of this community).")
        return value


Team = _with(fields.String, "team code, one of list_teams", validate=KnownCode("team"))
GridId = _with(fields.Integer, "grid id, one of list_grids", strict=True, validate=KnownGrid())
Alliance = _with(fields.String, "alliance code, one of list_alliances", validate=KnownCode("alliance"))
Skill = _with(
    fields.String,
    "skill or qualification, e.g. patrol_leader, first_aid, tutoring:math",
    validate=[
        validate.Length(max=50),
        validate.Regexp(SKILL_RE, error="not a skill name (e.g. first_aid, tutoring:math)"),
    ],
)
Reason = _with(fields.String, "why, for people to read", validate=validate.Length(max=300))
Start = _with(fields.String, "local time HH:MM", validate=validate.Regexp(START_RE, error="not a time HH:MM"))
End = _with(
    fields.String,
    "local time HH:MM (24:00: midnight at the end)",
    validate=validate.Regexp(END_RE, error="not a time HH:MM"),
)


def _ordered(data: dict, start: str = "start", end: str = "end") -> None:
    if data.get(start) is not None and data.get(end) is not None and not data[start] < data[end]:
        raise ValidationError(f"must be after {start}", end)


# --- requests ----------------------------------------------------------------------------------


class VolunteerIdIn(StrictSchema):
    volunteer_id = Id(required=True)


class PhoneIn(StrictSchema):
    phone = Phone(required=True, metadata={"description": "as typed: spaces, dashes and +86 are allowed"})


class GridIdIn(StrictSchema):
    grid_id = Id(required=True, metadata={"description": "grid id, one of list_grids"})


class ListCourtyardsIn(StrictSchema):
    grid_id = Id(load_default=None, allow_none=True, metadata={"description": "only the courtyards of this grid"})


class VolunteerFields(StrictSchema):
    name = Name()
    phone = Phone(metadata={"description": "mobile (optionally +86) or landline with area code; unique"})
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    teams = fields.List(Team(), validate=validate.Length(max=3))
    grid_id = GridId(allow_none=True, metadata={"description": "home grid, one of list_grids"})
    alliance = Alliance(allow_none=True)
    skills = fields.List(Skill(), validate=validate.Length(max=30))
    language = fields.String(
        validate=validate.Regexp(r"^[a-z]{2}(-[A-Za-z]{2,4})?$"), metadata={"description": "zh, en, ..."}
    )


class CreateVolunteerIn(VolunteerFields):
    name = Name(required=True)
    phone = Phone(required=True, metadata={"description": "mobile (optionally +86) or landline with area code; unique"})
    teams = fields.List(Team(), load_default=list, validate=validate.Length(max=3))
    skills = fields.List(Skill(), load_default=list, validate=validate.Length(max=30))
    language = fields.String(load_default="zh", validate=validate.Regexp(r"^[a-z]{2}(-[A-Za-z]{2,4})?$"))
    request_id = RequestId(load_default=None)


CLEARABLE = ("email", "grid_id", "alliance", "max_duties_per_week", "target_per_month")


class UpdateVolunteerIn(VolunteerFields):
    volunteer_id = Id(required=True)
    max_duties_per_week = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_CAP),
        metadata={
            "description": f"their own cap, 1..{MAX_CAP} duties a week (Monday to Sunday); the smaller of it and"
            " the platform's cap holds: a built roster counts its patrols against it, open duties and stand-ins"
            " every confirmed duty of the week"
        },
    )
    target_per_month = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_TARGET),
        metadata={
            "description": f"patrols a calendar month organisers aim to give them, 0..{MAX_TARGET} (a roster of"
            " part of a month aims at that part's share of it); organisers only; empty: a fair share of the"
            " roster's patrols"
        },
    )
    preferred_days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=0, max=6)),
        validate=validate.Length(max=7),
        metadata={"description": "weekdays they would rather patrol on, 0 = Monday; []: no preference"},
    )
    preferred_times = fields.List(
        fields.String(validate=validate.OneOf(TIMES_OF_DAY)),
        validate=validate.Length(max=len(TIMES_OF_DAY)),
        metadata={
            "description": "times of day they would rather patrol at, by a patrol's start: morning (before"
            " 12:00), afternoon (before 18:00), evening; []: no preference"
        },
    )
    partners = fields.List(
        Id(),
        validate=validate.Length(max=MAX_PARTNERS),
        metadata={
            "description": f"at most {MAX_PARTNERS} other active volunteers they would like to patrol with"
            " (PartnerInvalid otherwise); []: none"
        },
    )
    clear = fields.List(
        fields.String(validate=validate.OneOf(CLEARABLE)),
        load_default=list,
        metadata={"description": "fields to empty: " + ", ".join(CLEARABLE)},
    )

    @validates_schema
    def _clear_or_set(self, data, **kwargs):
        both = [f for f in data.get("clear", ()) if data.get(f) is not None]
        if both:
            raise ValidationError(f"{', '.join(both)} both given and cleared", "clear")


class DeactivateVolunteerIn(VolunteerIdIn):
    reason = Reason(load_default=None, allow_none=True)


class ListVolunteersIn(Page):
    team = Team(load_default=None, allow_none=True)
    grid_id = GridId(load_default=None, allow_none=True)
    skill = Skill(load_default=None, allow_none=True, metadata={"description": "'tutoring' matches 'tutoring:math'"})
    active = fields.Boolean(load_default=None, allow_none=True, metadata={"description": "empty: both"})


class WeeklyWindowIn(StrictSchema):
    weekday = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=0, max=6), metadata={"description": "0 = Monday"}
    )
    start = Start(required=True)
    end = End(required=True)

    @validates_schema
    def _order(self, data, **kwargs):
        if "start" in data and "end" in data and not data["start"] < data["end"]:
            raise ValidationError("must be after start", "end")


class DatedWindowIn(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(("off", "extra")),
        metadata={"description": "off: time off; extra: available"},
    )
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def _order(self, data, **kwargs):
        _ordered(data)


class SetAvailabilityIn(StrictSchema):
    volunteer_id = Id(required=True)
    weekly = fields.List(fields.Nested(WeeklyWindowIn), load_default=list, validate=validate.Length(max=50))
    dated = fields.List(fields.Nested(DatedWindowIn), load_default=list, validate=validate.Length(max=500))


class RangeIn(StrictSchema):
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)

    @validates_schema
    def _order(self, data, **kwargs):
        _ordered(data)
        if data.get("start") and data.get("end") and data["end"] - data["start"] > MAX_WINDOW_RANGE:
            raise ValidationError(f"at most {MAX_WINDOW_RANGE.days} days after start", "end")


class CheckAvailabilityIn(RangeIn):
    volunteer_id = Id(required=True)


class AvailableVolunteersIn(RangeIn):
    team = Team(load_default=None, allow_none=True)
    grid = GridId(load_default=None, allow_none=True)
    skill = Skill(load_default=None, allow_none=True)


class AvailabilityWindowsIn(RangeIn):
    volunteer_ids = fields.List(Id(), load_default=None, allow_none=True, validate=validate.Length(max=2000))
    team = Team(load_default=None, allow_none=True)


class LookupIn(StrictSchema):
    volunteer_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=1000))
    grid_ids = fields.List(GridId(), load_default=list, validate=validate.Length(max=100))
    source_keys = fields.List(
        fields.String(validate=validate.Length(min=1, max=120)), load_default=list, validate=validate.Length(max=1000)
    )


class AddLedgerEntryIn(StrictSchema):
    volunteer_id = Id(required=True)
    hours = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-100, max=100))
    points = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=-10000, max=10000),
        metadata={"description": "empty: 10 per hour"},
    )
    reason = Text(required=True)
    source = fields.String(load_default="manual", validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    source_key = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=120),
        metadata={
            "description": "idempotency key, and the entry's identity at its source: the same caller's same"
            " source_key with the same arguments returns the first entry, with other arguments KeyReused;"
            " a source_key another caller used returns that entry when it is for the same volunteer"
        },
    )
    team = Team(load_default=None, allow_none=True)
    occurred_at = LocalDateTime(load_default=None, allow_none=True, metadata={"description": "empty: now"})


class GetLedgerIn(Page):
    volunteer_id = Id(required=True)


class LeaderboardIn(StrictSchema):
    team = Team(load_default=None, allow_none=True)
    grid = GridId(load_default=None, allow_none=True)
    since = LocalDateTime(load_default=None, allow_none=True, metadata={"description": "only entries from then on"})
    limit = fields.Integer(strict=True, load_default=20, validate=validate.Range(min=1, max=500))


class GridRoleIn(StrictSchema):
    grid_id = Id(required=True, metadata={"description": "grid id, one of list_grids"})
    volunteer_id = Id(required=True)


# --- responses ---------------------------------------------------------------------------------


class Health(Schema):
    service = fields.String()
    status = fields.String()
    database = fields.String()
    volunteers = fields.Integer(metadata={"description": "active volunteers"})


class TeamOut(Schema):
    code = fields.String()
    name = fields.String()
    name_zh = fields.String()
    description = fields.String()
    members = fields.Integer(metadata={"description": "active members"})


class AllianceOut(Schema):
    code = fields.String()
    name = fields.String()
    name_zh = fields.String()
    volunteers = fields.Integer(metadata={"description": "active volunteers from this alliance"})


class CourtyardOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "courtyard or commercial_residential"})
    grid_id = fields.Integer()
    self_managed = fields.Boolean()


class GreenSpaceOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    grid_id = fields.Integer()


class PersonRef(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.String()


class GridSummary(Schema):
    id = fields.Integer()
    code = fields.String(metadata={"description": "the grid's code, e.g. G01"})
    name = fields.String()
    kind = fields.String(metadata={"description": "exclusive or comprehensive"})
    leader = fields.Nested(PersonRef, allow_none=True)
    member_count = fields.Integer()
    courtyards = fields.List(fields.String(), metadata={"description": "codes of its courtyards and buildings"})
    neighbours = fields.List(
        fields.Integer(),
        metadata={"description": "ids of the grids that border it, as the community's structure says (may be empty)"},
    )


class GridOut(GridSummary):
    members = fields.List(fields.Nested(PersonRef))
    courtyards = fields.List(fields.Nested(CourtyardOut))
    volunteers = fields.Integer(metadata={"description": "active volunteers living in the grid"})


class GridRoleOut(Schema):
    grid_id = fields.Integer()
    role = fields.String(metadata={"description": "leader or member"})


class VolunteerOut(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.String()
    email = fields.String(allow_none=True)
    teams = fields.List(fields.String())
    grid_id = fields.Integer(allow_none=True)
    alliance = fields.String(allow_none=True)
    skills = fields.List(fields.String())
    language = fields.String()
    active = fields.Boolean()
    grid_roles = fields.List(fields.Nested(GridRoleOut))
    max_duties_per_week = fields.Integer(
        allow_none=True, metadata={"description": "their own weekly cap; null: none, or not shown (see partners)"}
    )
    target_per_month = fields.Integer(allow_none=True, metadata={"description": "null: a fair share"})
    preferred_days = fields.List(fields.Integer(), allow_none=True, metadata={"description": "0 = Monday"})
    preferred_times = fields.List(fields.String(), allow_none=True, metadata={"description": "morning to evening"})
    partners = fields.List(
        fields.Integer(),
        allow_none=True,
        metadata={
            "description": "volunteer ids; these five roster settings are null for other volunteers (shown to"
            " the volunteer, their grid leader, organisers and viewers)"
        },
    )
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    deactivated_at = LocalDateTime(allow_none=True)


class VolunteerPage(Schema):
    items = fields.List(fields.Nested(VolunteerOut))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class WeeklyWindowOut(Schema):
    weekday = fields.Integer()
    start = fields.String()
    end = fields.String()


class DatedWindowOut(Schema):
    kind = fields.String()
    start = LocalDateTime()
    end = LocalDateTime()
    note = fields.String(allow_none=True)


class AvailabilityOut(Schema):
    volunteer_id = fields.Integer()
    weekly = fields.List(fields.Nested(WeeklyWindowOut))
    dated = fields.List(fields.Nested(DatedWindowOut))


class AvailabilityCheck(Schema):
    available = fields.Boolean()
    reason = fields.String(allow_none=True)


class Window(Schema):
    start = LocalDateTime()
    end = LocalDateTime()


class WindowList(fields.List):
    """A list of [Window](#window) dumped straight from (start, end) pairs: the roster asks for thousands."""

    def __init__(self, **kwargs):
        super().__init__(fields.Nested(Window), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return [{"start": local(start).isoformat(), "end": local(end).isoformat()} for start, end in value]


class VolunteerWindows(Schema):
    volunteer_id = fields.Integer()
    windows = WindowList()


class VolunteerSpans(VolunteerWindows):
    active = fields.Boolean()


class VolunteerName(Schema):
    id = fields.Integer()
    name = fields.String()


class GridLeaderOut(Schema):
    grid_id = fields.Integer()
    id = fields.Integer(metadata={"description": "the leader's volunteer id"})
    name = fields.String()
    phone = fields.String()


class EntryPoints(Schema):
    source_key = fields.String()
    volunteer_id = fields.Integer()
    hours = fields.Float()
    points = fields.Integer()


class LookupOut(Schema):
    volunteers = fields.List(fields.Nested(VolunteerName), metadata={"description": "names only, by id"})
    grid_leaders = fields.List(fields.Nested(GridLeaderOut), metadata={"description": "grids that have a leader"})
    entries = fields.List(fields.Nested(EntryPoints), metadata={"description": "ledger entries found by source_key"})


class LedgerEntryOut(Schema):
    id = fields.Integer()
    volunteer_id = fields.Integer()
    hours = fields.Float()
    points = fields.Integer()
    reason = fields.String()
    source = fields.String()
    source_key = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    occurred_at = LocalDateTime()
    created_at = LocalDateTime()


class LedgerOut(Schema):
    volunteer_id = fields.Integer()
    total_hours = fields.Float()
    total_points = fields.Integer()
    entries = fields.List(fields.Nested(LedgerEntryOut), metadata={"description": "newest first"})
    total = fields.Integer(metadata={"description": "number of entries"})
    limit = fields.Integer()
    offset = fields.Integer()


class LeaderboardRow(Schema):
    rank = fields.Integer()
    volunteer_id = fields.Integer()
    name = fields.String()
    grid_id = fields.Integer(allow_none=True)
    hours = fields.Float()
    points = fields.Integer()
