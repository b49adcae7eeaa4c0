"""Wire contract of the notifications RPC methods."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from guanyinli.schemas import Id, LocalDateTime, Page, StrictSchema
from notifications.domain import CHANNELS, CODE_PURPOSES, LANGUAGES, MODES, REMINDER_LEADS, RESIDENT_TEXTS

HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="expected HH:MM (24 h, local time)")
# Errors name what is expected, never the value given: a phone number or a code must not reach a log.
MAINLAND_MOBILE = validate.Regexp(
    r"(\+86)?1[3-9][0-9]{9}\Z", error="expected a mainland mobile number: 11 digits, optionally after +86"
)
SIX_DIGITS = validate.Regexp(r"[0-9]{6}\Z", error="expected exactly 6 digits")


class OnceEach(validate.Validator):
    """A list that names each value at most once."""

    error = "each value at most once"

    def __call__(self, value: list) -> list:
        if len(set(value)) != len(value):
            raise ValidationError(self.error)
        return value


class VolunteerIdIn(StrictSchema):
    volunteer_id = Id(required=True)


class SetPreferencesIn(StrictSchema):
    volunteer_id = Id(required=True)
    channels = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS)),
        load_default=None,
        metadata={"description": "channels to use, in order; [] mutes every message"},
    )
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))
    quiet_hours = fields.Boolean(load_default=None, metadata={"description": "false: no quiet hours at all"})
    quiet_start = fields.String(load_default=None, validate=HHMM, metadata={"description": "local, e.g. 22:00"})
    quiet_end = fields.String(load_default=None, validate=HHMM, metadata={"description": "local, e.g. 07:00"})
    mode = fields.String(
        load_default=None,
        validate=validate.OneOf(MODES),
        metadata={"description": "immediate, or digest: non-urgent notices wait for the weekly digest"},
    )
    reminders = fields.List(
        fields.String(validate=validate.OneOf(REMINDER_LEADS)),
        load_default=None,
        validate=OnceEach(),
        metadata={
            "description": "the reminders wanted before each duty: 24h, 2h (both by default); [] none."
            " Other messages (confirmations, cancellations, stand-in offers) come whatever it says"
        },
    )


class Preferences(Schema):
    volunteer_id = fields.Integer()
    channels = fields.List(fields.String())
    language = fields.String()
    quiet_hours = fields.Boolean()
    quiet_start = fields.String(allow_none=True)
    quiet_end = fields.String(allow_none=True)
    mode = fields.String()
    reminders = fields.List(fields.String(), metadata={"description": "reminder leads wanted: 24h, 2h"})


class ListNotificationsIn(Page):
    volunteer_id = Id(required=True)


class DeliveryStatus(Schema):
    id = fields.Integer()
    channel = fields.String()
    status = fields.String(metadata={"description": "pending | sending | sent | dead | skipped | expired"})
    attempts = fields.Integer()
    next_attempt_at = LocalDateTime(allow_none=True)
    sent_at = LocalDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    message_id = fields.String()


class Notification(Schema):
    id = fields.Integer()
    source_id = fields.String(metadata={"description": "event id, reminder:<id> or digest:<week>"})
    kind = fields.String()
    status = fields.String(metadata={"description": "queued | held (for the digest) | digested | muted"})
    urgent = fields.Boolean()
    created_at = LocalDateTime()
    digest_id = fields.Integer(allow_none=True)
    subject = fields.String(metadata={"description": "in the volunteer's language"})
    deliveries = fields.List(fields.Nested(DeliveryStatus))


class DeadLetter(DeliveryStatus):
    notification_id = fields.Integer()
    volunteer_id = fields.Integer()
    kind = fields.String()
    source_id = fields.String()


class DeliveryIdIn(StrictSchema):
    delivery_id = Id(required=True)


class Health(Schema):
    status = fields.String()
    service = fields.String()
    time = LocalDateTime()
    channels = fields.List(fields.String())
    deliveries = fields.Dict(keys=fields.String(), values=fields.Integer())


class SendSignInCodeIn(StrictSchema):
    phone = fields.String(
        required=True, validate=MAINLAND_MOBILE, metadata={"description": "e.g. 13912344770 or +8613912344770"}
    )
    code = fields.String(
        required=True,
        validate=SIX_DIGITS,
        metadata={
            "description": "6 digits; never logged nor stored (only the local SMS sink, standing in for phones, shows it)"
        },
    )
    language = fields.String(load_default="zh", validate=validate.OneOf(LANGUAGES))
    purpose = fields.String(
        load_default="sign_in",
        validate=validate.OneOf(CODE_PURPOSES),
        metadata={"description": "what the code is for, as the text says: sign_in (volunteers) or appeal (residents)"},
    )
    request_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "one per code: the same request_id again sends nothing and gets the first answer,"
            " whatever its code (the code is left out of the comparison); with another phone, KeyReused"
        },
    )


class SendResidentTextIn(StrictSchema):
    phone = fields.String(required=True, validate=MAINLAND_MOBILE, metadata={"description": "the resident's"})
    kind = fields.String(
        required=True,
        validate=validate.OneOf(RESIDENT_TEXTS),
        metadata={"description": "appeal_closed: the appeal is closed, here is the link to answer"},
    )
    reference = fields.String(
        required=True,
        validate=validate.Regexp(r"[A-Z0-9-]{1,12}\Z", error="expected a reference such as GY000042"),
        metadata={"description": "the appeal's reference, as the resident was told it"},
    )
    link = fields.String(
        required=True,
        validate=validate.Regexp(r"https?://[^\s]{1,200}\Z", error="expected an http(s) link"),
        metadata={"description": "the resident's personal link; never logged nor stored here"},
    )
    language = fields.String(load_default="zh", validate=validate.OneOf(LANGUAGES))
    request_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "one per message: the same request_id again sends nothing (the link is not compared)"},
    )


class SignInCodeSent(Schema):
    sent = fields.Boolean()
    phone_masked = fields.String(metadata={"description": "e.g. 139****4770"})
