"""Wire contract of the two-way service list (partners, offers, needs, matches) on the appeals service.

Request schemas are strict and their field names are the method's parameter names. The alliance is
checked by the domain (``AllianceUnknown``), grids against the volunteers service; the schemas
bound form and size only. Days are ISO dates (YYYY-MM-DD), times ISO 8601 with offset.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from appeals.partners_domain import (
    ALLIANCES,
    MATCH_STATUSES,
    NEED_SOURCES,
    NEED_STATUSES,
    PARTNER_KINDS,
    RESOURCE_KINDS,
)
from guanyinli.events import KINDS
from guanyinli.schemas import Id, LocalDateTime, Phone, RequestId, StrictSchema, TeamCode, Text

MAX_QUANTITY = 100_000.0
Alliance = lambda **kw: fields.String(  # noqa: E731
    validate=validate.Length(min=1, max=40), metadata={"description": "one of " + ", ".join(ALLIANCES)}, **kw
)
Kind = lambda **kw: fields.String(  # noqa: E731
    validate=validate.OneOf(RESOURCE_KINDS), metadata={"description": "one of " + ", ".join(RESOURCE_KINDS)}, **kw
)
Quantity = lambda **kw: fields.Float(  # noqa: E731
    allow_nan=False,
    validate=validate.Range(min=0, min_inclusive=False, max=MAX_QUANTITY),
    metadata={"description": "hours (skill, volunteer_hours), times (venue) or pieces (goods)"},
    **kw,
)
Words = lambda **kw: fields.List(  # noqa: E731
    fields.String(validate=validate.Length(min=1, max=40)),
    validate=validate.Length(max=20),
    metadata={"description": "skills and things it is known by, e.g. electrician, 水电"},
    **kw,
)
Grid = lambda **kw: Id(metadata={"description": "a grid of the volunteers service; null: community-wide"}, **kw)  # noqa: E731
Day = lambda **kw: fields.Date(**kw)  # noqa: E731


def _window(data, first: str, last: str):
    if data.get(first) and data.get(last) and data[first] > data[last]:
        raise ValidationError(f"{first} comes after {last}", field_name=last)


# --- partners ------------------------------------------------------------------------------------


class PartnerFields(StrictSchema):
    name = Text()
    alliance = Alliance()
    kind = fields.String(validate=validate.OneOf(PARTNER_KINDS))
    contact_person = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    contact_phone = Phone(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))
    active = fields.Boolean()


class AddPartnerIn(PartnerFields):
    class Meta(PartnerFields.Meta):
        exclude = ("active",)  # a new partner takes part

    name = Text(required=True)
    alliance = Alliance(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PARTNER_KINDS))
    request_id = RequestId(load_default=None)


class PartnerIdIn(StrictSchema):
    partner_id = Id(required=True)


class UpdatePartnerIn(PartnerIdIn):
    changes = fields.Nested(PartnerFields, required=True, metadata={"description": "only the fields to change"})


class ListPartnersIn(StrictSchema):
    alliance = Alliance(load_default=None, allow_none=True)
    include_inactive = fields.Boolean(load_default=False)


# --- offers and needs ----------------------------------------------------------------------------


class OfferFields(StrictSchema):
    kind = Kind()
    what = Text()
    words = Words()
    quantity = Quantity()
    available_from = Day(allow_none=True)
    available_until = Day(allow_none=True)
    grid_id = Grid(allow_none=True)
    active = fields.Boolean()

    @validates_schema
    def window(self, data, **kwargs):
        _window(data, "available_from", "available_until")


class AddOfferIn(OfferFields):
    class Meta(OfferFields.Meta):
        exclude = ("active",)  # a new offer stands

    partner_id = Id(required=True)
    kind = Kind(required=True)
    what = Text(required=True)
    words = Words(load_default=list)
    quantity = Quantity(required=True)
    available_from = Day(load_default=None, allow_none=True)
    available_until = Day(load_default=None, allow_none=True)
    grid_id = Grid(load_default=None, allow_none=True)
    request_id = RequestId(load_default=None)


class OfferIdIn(StrictSchema):
    offer_id = Id(required=True)


class UpdateOfferIn(OfferIdIn):
    changes = fields.Nested(OfferFields, required=True, metadata={"description": "only the fields to change"})


class ListOffersIn(StrictSchema):
    partner_id = Id(load_default=None, allow_none=True)
    kind = Kind(load_default=None, allow_none=True)
    include_inactive = fields.Boolean(load_default=False)


class NeedFields(StrictSchema):
    kind = Kind()
    what = Text()
    words = Words()
    quantity = Quantity()
    by_when = Day(allow_none=True)
    grid_id = Grid(allow_none=True)
    status = fields.String(validate=validate.OneOf(NEED_STATUSES))


class AddNeedIn(NeedFields):
    partner_id = Id(load_default=None, allow_none=True, metadata={"description": "null: the community's need"})
    kind = Kind(required=True)
    what = Text(required=True)
    words = Words(load_default=list)
    quantity = Quantity(required=True)
    by_when = Day(load_default=None, allow_none=True)
    grid_id = Grid(load_default=None, allow_none=True)
    status = fields.String(load_default="open", validate=validate.OneOf(NEED_STATUSES))
    request_id = RequestId(load_default=None)


class NeedIdIn(StrictSchema):
    need_id = Id(required=True)


class UpdateNeedIn(NeedIdIn):
    changes = fields.Nested(NeedFields, required=True, metadata={"description": "only the fields to change"})


class ListNeedsIn(StrictSchema):
    partner_id = Id(load_default=None, allow_none=True)
    community = fields.Boolean(load_default=False, metadata={"description": "the community's needs only"})
    source = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(NEED_SOURCES))
    status = fields.String(load_default="open", allow_none=True, validate=validate.OneOf(NEED_STATUSES))


# --- matches -------------------------------------------------------------------------------------


class ListMatchesIn(StrictSchema):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(MATCH_STATUSES))
    need_id = Id(load_default=None, allow_none=True)
    offer_id = Id(load_default=None, allow_none=True)


class MatchIdIn(StrictSchema):
    match_id = Id(required=True)


class DeclineMatchIn(MatchIdIn):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=300))


class TurnMatchIn(MatchIdIn):
    title = Text(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(KINDS),
        metadata={"description": "an activity kind of the activities service: " + ", ".join(KINDS)},
    )
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)
    place = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=100), metadata={"description": "room"}
    )
    grid_id = Grid(load_default=None, allow_none=True)
    team = TeamCode(load_default=None, allow_none=True)
    volunteers_needed = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "seats of one 'volunteer' role of the activity; none: no role"},
    )
    capacity = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=5000),
        metadata={"description": "seats for residents who register (a lecture needs it)"},
    )
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1500))
    request_id = RequestId(load_default=None)

    @validates_schema
    def times(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start and end and not 0 < (end - start).total_seconds() <= 24 * 3600:
            raise ValidationError("end: after start, within 24 hours", field_name="end")


# --- answers -------------------------------------------------------------------------------------


class OfferOut(Schema):
    id = fields.Integer()
    partner_id = fields.Integer()
    partner_name = fields.String()
    kind = fields.String()
    what = fields.String()
    words = fields.List(fields.String())
    quantity = fields.Float()
    promised = fields.Float(metadata={"description": "held by live matches (proposed, agreed, turned)"})
    available_from = fields.Date(allow_none=True)
    available_until = fields.Date(allow_none=True)
    grid_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class NeedOut(Schema):
    id = fields.Integer()
    partner_id = fields.Integer(allow_none=True, metadata={"description": "null: the community's need"})
    partner_name = fields.String(allow_none=True)
    kind = fields.String()
    what = fields.String()
    words = fields.List(fields.String())
    quantity = fields.Float()
    met = fields.Float(metadata={"description": "held by live matches"})
    by_when = fields.Date(allow_none=True)
    grid_id = fields.Integer(allow_none=True)
    source = fields.String(metadata={"description": "manual, appeals (ref: category) or activity (ref: occurrence)"})
    source_ref = fields.String(allow_none=True)
    status = fields.String()


class PartnerOut(Schema):
    id = fields.Integer()
    name = fields.String()
    alliance = fields.String()
    kind = fields.String()
    contact_person = fields.String(allow_none=True, metadata={"description": "organisers only, else null"})
    contact_phone = fields.String(allow_none=True, metadata={"description": "organisers only, else null"})
    note = fields.String(allow_none=True)
    active = fields.Boolean()
    offers = fields.List(fields.Nested(OfferOut))
    needs = fields.List(fields.Nested(NeedOut))


class MatchOut(Schema):
    id = fields.Integer()
    offer = fields.Nested(OfferOut)
    need = fields.Nested(NeedOut)
    quantity = fields.Float()
    score = fields.Integer()
    reasons = fields.List(fields.String(), metadata={"description": "the rules that gave points, e.g. words+2"})
    status = fields.String(metadata={"description": ", ".join(MATCH_STATUSES)})
    activity_id = fields.Integer(allow_none=True, metadata={"description": "the joint activity, once turned"})
    proposed_at = LocalDateTime()
    decided_at = LocalDateTime(allow_none=True)
    note = fields.String(allow_none=True)


class RefreshOut(Schema):
    opened = fields.Integer(metadata={"description": "needs derived for the first time"})
    updated = fields.Integer()
    closed = fields.Integer(metadata={"description": "derived needs no longer there"})
    open_needs = fields.List(fields.Nested(NeedOut))
