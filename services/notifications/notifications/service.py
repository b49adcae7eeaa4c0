"""The notifications nameko service: events in, messages out through an outbox, once each.

Event handlers only write to the database (duties, reminders, outbox rows, idempotently); a
timer turns due reminders and weekly digests into outbox rows and sends what is due (see
``notifications.sending`` for the delivery guarantee).
"""

from __future__ import annotations

import logging
import time
from datetime import time as clock_time

from nameko.dependency_providers import Config
from sqlalchemy import text

from guanyinli import revocation, tenancy
from guanyinli.clock import Clock
from guanyinli.db import Database
from guanyinli.errors import Conflict, Forbidden, InvalidInput, NotFound, RequestRepeated
from guanyinli.events import read
from guanyinli.identity import ANYONE, ORGANISERS, own, service_only
from guanyinli.rpc import event_handler, rpc
from guanyinli.schemas import Page, contract
from notifications import domain, rendering, schemas, sms, store
from notifications.channels import DeliveryFailed
from notifications.dependencies import (
    CallerIdentity,
    Channels,
    SettingsProvider,
    Volunteers,
    organisers_email,
    poll,
    replica_id,
)
from notifications.exceptions import ChannelUnavailable, SmsUnavailable
from notifications.sending import Sender

log = logging.getLogger(__name__)

REPLICA = replica_id()
_SMS_LATER = "the text message could not be sent now: try again in a few minutes"
_SMS_LATER_ZH = "短信暂时无法发送，请稍后再试"


def _on(source: str, event_type: str):
    """An event handler of this service: redelivered on a database error, never twice with effect."""
    return event_handler(source, event_type, requeue_on_error=True)


class NotificationsService(revocation.RevocationListener):
    name = "notifications"

    db = Database()
    clock = Clock()
    settings = SettingsProvider()
    channels = Channels()
    volunteers = Volunteers()
    caller = CallerIdentity()
    config = Config()

    # --- events from activities -------------------------------------------------------------

    def _activity_event(self, event_type: str, payload: dict) -> None:
        try:
            event = read(event_type, payload)
        except InvalidInput as exc:  # a malformed event would fail forever: log it, do not requeue
            log.error("dropping malformed %s event: %s", event_type, exc)
            return
        with self.db.get_session() as session:
            store.apply_event(session, event_type, event, self.clock.now(), self.settings.digest, self._organisers())

    def _organisers(self) -> str | None:
        """The organisers' address of the community the event is of (``organisers_email``)."""
        return organisers_email(self.config, self.db.community)

    @_on("activities", "signup_confirmed")
    def on_signup_confirmed(self, payload):
        self._activity_event("signup_confirmed", payload)

    @_on("activities", "signup_waitlisted")
    def on_signup_waitlisted(self, payload):
        self._activity_event("signup_waitlisted", payload)

    @_on("activities", "signup_promoted")
    def on_signup_promoted(self, payload):
        self._activity_event("signup_promoted", payload)

    @_on("activities", "signup_cancelled")
    def on_signup_cancelled(self, payload):
        self._activity_event("signup_cancelled", payload)

    @_on("activities", "occurrence_cancelled")
    def on_occurrence_cancelled(self, payload):
        self._activity_event("occurrence_cancelled", payload)

    @_on("activities", "occurrence_changed")
    def on_occurrence_changed(self, payload):
        self._activity_event("occurrence_changed", payload)

    @_on("activities", "roster_published")
    def on_roster_published(self, payload):
        self._activity_event("roster_published", payload)

    @_on("activities", "roster_repaired")
    def on_roster_repaired(self, payload):
        self._activity_event("roster_repaired", payload)

    @_on("activities", "swap_proposed")
    def on_swap_proposed(self, payload):
        self._activity_event("swap_proposed", payload)

    @_on("activities", "swap_accepted")
    def on_swap_accepted(self, payload):
        self._activity_event("swap_accepted", payload)

    @_on("activities", "swap_declined")
    def on_swap_declined(self, payload):
        self._activity_event("swap_declined", payload)

    @_on("activities", "swap_withdrawn")
    def on_swap_withdrawn(self, payload):
        self._activity_event("swap_withdrawn", payload)

    @_on("activities", "standin_offered")
    def on_standin_offered(self, payload):
        self._activity_event("standin_offered", payload)

    @_on("activities", "standin_taken")
    def on_standin_taken(self, payload):
        self._activity_event("standin_taken", payload)

    @_on("activities", "standin_unfilled")
    def on_standin_unfilled(self, payload):
        self._activity_event("standin_unfilled", payload)

    # --- events from appeals: the same planning as activities' events -----------------------

    @_on("appeals", "appeal_assigned")
    def on_appeal_assigned(self, payload):
        """A new appeal (or one passed on) to its handler, to accept; with nobody to take it, to the
        organisers' address."""
        self._activity_event("appeal_assigned", payload)

    @_on("appeals", "appeal_escalated")
    def on_appeal_escalated(self, payload):
        """A stage of an appeal near or past its time limit: to the handler, the grid leader or the
        organisers' address, as the step of the ladder says."""
        self._activity_event("appeal_escalated", payload)

    # --- events from volunteers: the contact cache ------------------------------------------

    def _volunteer_event(self, event_type: str, payload: dict) -> None:
        try:
            event = read(event_type, payload)
        except InvalidInput as exc:
            log.error("dropping malformed %s event: %s", event_type, exc)
            return
        with self.db.get_session() as session:
            if event_type == "volunteer_deactivated":
                store.deactivate_volunteer(session, event["volunteer_id"], event["occurred_at"])
            else:
                # The event carries no phone number; a changed one is forgotten, and asked of the
                # volunteers service when a text message needs it.
                forget = {"phone": None} if "phone" in event.get("changed", ()) else {}
                store.save_contact(
                    session,
                    event["volunteer_id"],
                    event["occurred_at"],
                    name=event["name"],
                    email=event.get("email"),
                    active=event["active"],
                    **forget,
                )

    @_on("volunteers", "volunteer_created")
    def on_volunteer_created(self, payload):
        self._volunteer_event("volunteer_created", payload)

    @_on("volunteers", "volunteer_updated")
    def on_volunteer_updated(self, payload):
        self._volunteer_event("volunteer_updated", payload)

    @_on("volunteers", "volunteer_deactivated")
    def on_volunteer_deactivated(self, payload):
        self._volunteer_event("volunteer_deactivated", payload)

    # --- the poller -------------------------------------------------------------------------

    @poll
    def pump(self):
        """For every community in turn, on its own storage: queue due reminders and weekly digests,
        then send what is due. The poll's sending time (``TICK_BUDGET``) is shared out: each
        community may use an equal part of what is left, so a long queue in one holds up no other,
        and what an idle one leaves goes to those after it. A community whose turn fails is logged
        and the others still have theirs; the poll then fails with its error."""
        communities = tenancy.served(self.config)
        deadline = time.monotonic() + self.settings.tick_budget

        def turn(db) -> None:
            left = len(communities) - communities.index(db.community)
            self._pump(db, (deadline - time.monotonic()) / left)

        self.db.in_each_community("notifications not queued or sent in this poll", turn)

    def _pump(self, db, budget: float) -> None:
        now = self.clock.now()
        with db.get_session() as session:
            store.queue_due_reminders(session, now, self.settings.digest)
        with db.get_session() as session:
            store.queue_digests(session, now, self.settings.digest)
        community = tenancy.named(db.community, self.config)
        Sender(db, self.channels, self.clock, self.settings, self.volunteers, REPLICA, community).run(budget)

    # --- RPC --------------------------------------------------------------------------------

    def _for_volunteer(self, volunteer_id: int) -> None:
        if not self.caller.acts_for(volunteer_id):
            raise Forbidden(f"a volunteer acts only for themselves, not for volunteer {volunteer_id}")

    def _organiser(self) -> None:
        if not self.caller.is_organiser:
            raise Forbidden("organisers only (context data user.roles must include 'organiser')")

    @rpc
    @contract(access=own(), request=schemas.VolunteerIdIn, response=schemas.Preferences(), errors=(Forbidden,))
    def get_preferences(self, volunteer_id):
        """A volunteer's channels, language, quiet hours, mode and reminders (the defaults when never set)."""
        self._for_volunteer(volunteer_id)
        with self.db.get_session() as session:
            return _preferences_view(volunteer_id, store.preferences(session, volunteer_id))

    @rpc
    @contract(
        access=own(),
        request=schemas.SetPreferencesIn,
        response=schemas.Preferences(),
        errors=(InvalidInput, ChannelUnavailable, Forbidden),
    )
    def set_preferences(
        self,
        volunteer_id,
        channels=None,
        language=None,
        quiet_hours=None,
        quiet_start=None,
        quiet_end=None,
        mode=None,
        reminders=None,
    ):
        """Change some of a volunteer's preferences; fields left out keep their value.

        Quiet hours (default 22:00-07:00 local) hold messages until they end, except an urgent
        cancellation of a duty that day. Leaving digest mode releases the held notices. A reminder
        lead turned off is not sent for any duty, even one whose reminder was planned already; one
        turned back on is planned again for the duties still ahead.
        """
        self._for_volunteer(volunteer_id)
        missing = [c for c in channels or () if c not in self.settings.channels]
        if missing:
            raise ChannelUnavailable(f"channels: not configured here: {', '.join(missing)}")
        now = self.clock.now()
        with self.db.get_session() as session:
            current = store.preferences(session, volunteer_id)
            start = domain.parse_hhmm(quiet_start) or current.quiet_start or domain.DEFAULT_PREFERENCES.quiet_start
            end = domain.parse_hhmm(quiet_end) or current.quiet_end or domain.DEFAULT_PREFERENCES.quiet_end
            if quiet_hours is None:  # giving a start or an end means wanting quiet hours
                enabled = current.quiet_hours or quiet_start is not None or quiet_end is not None
            else:
                enabled = quiet_hours
            if enabled and start == end:
                raise InvalidInput("quiet_end: must differ from quiet_start")
            prefs = domain.Preferences(
                channels=tuple(dict.fromkeys(channels)) if channels is not None else current.channels,
                language=language or current.language,
                quiet_start=start if enabled else None,
                quiet_end=end if enabled else None,
                mode=mode or current.mode,
                reminders=domain.reminder_leads(reminders) if reminders is not None else current.reminders,
            )
            store.save_preferences(session, volunteer_id, prefs, now, self.settings.digest)
        return _preferences_view(volunteer_id, prefs)

    @rpc
    @contract(
        access=own(), request=schemas.ListNotificationsIn, response=schemas.Notification(many=True), errors=(Forbidden,)
    )
    def list_notifications(self, volunteer_id, limit=None, offset=None):
        """A volunteer's messages, newest first, each with the status of its deliveries."""
        self._for_volunteer(volunteer_id)
        with self.db.get_session() as session:
            prefs = store.preferences(session, volunteer_id)
            rows = store.list_notifications(session, volunteer_id, limit, offset)
        for row in rows:
            row["subject"] = rendering.render(row["kind"], prefs.language, row.pop("context")).subject
            row["deliveries"] = [self._as_sent(d) for d in row["deliveries"]]
        return rows

    def _as_sent(self, delivery: dict) -> dict:
        """A delivery's view with the message id it goes out with (``domain.message_id_in``)."""
        return {
            **delivery,
            "message_id": domain.message_id_in(delivery["message_id"], tenancy.named(self.db.community, self.config)),
        }

    @rpc
    @contract(access=ORGANISERS, request=Page, response=schemas.DeadLetter(many=True), errors=(Forbidden,))
    def list_dead_letters(self, limit=None, offset=None):
        """Deliveries that failed their last try (or failed permanently), oldest first. Organisers."""
        self._organiser()
        with self.db.get_session() as session:
            return [self._as_sent(d) for d in store.list_dead_letters(session, limit, offset)]

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.DeliveryIdIn,
        response=schemas.DeliveryStatus(),
        errors=(NotFound, Conflict, Forbidden),
    )
    def retry_dead_letter(self, delivery_id):
        """Send a dead-lettered delivery again, with a fresh set of tries. Organisers."""
        self._organiser()
        with self.db.get_session() as session:
            return self._as_sent(store.retry_dead_letter(session, delivery_id, self.clock.now()))

    @rpc
    @contract(
        access=service_only("organiser", scope="for the volunteers' phone page and the residents' appeal form"),
        request=schemas.SendSignInCodeIn,
        response=schemas.SignInCodeSent(),
        errors=(InvalidInput, SmsUnavailable, RequestRepeated),
        key="request_id",
        omit=("code",),
        rerun=True,  # a repeat finds the message of its request_id: sent, answered; failed, sent again
    )
    def send_sign_in_code(self, phone, code, request_id, language="zh", purpose="sign_in"):
        """Text a one-time code of the organiser site to a phone, at once (no quiet hours).

        ``purpose`` sign_in: "观音里志愿者登录验证码：123456，5分钟内有效。请勿告诉他人。"; appeal (a
        resident's public appeal form): "观音里社区诉求验证码：123456，5分钟内有效，用于提交诉求。..."
        (or in English), through the SMS provider. At most once per request_id: a repeat sends
        nothing and gets the first answer; after a failure (``SmsUnavailable``) the same request_id
        tries again. The code is never logged nor stored; the phone number only masked.
        """
        context = {"code": code, "minutes": domain.SIGN_IN_CODE_MINUTES}
        return self._text_once(phone, domain.CODE_TEXTS[purpose], context, request_id, language)

    @rpc
    @contract(
        access=service_only("appeals", scope="to the resident of an appeal"),
        request=schemas.SendResidentTextIn,
        response=schemas.SignInCodeSent(),
        errors=(InvalidInput, SmsUnavailable, RequestRepeated),
        key="request_id",
        omit=("link",),
        rerun=True,
    )
    def send_resident_text(self, phone, kind, reference, link, request_id, language="zh"):
        """Text a resident about their appeal, at once (``appeal_closed``: their link to answer).

        "您的诉求（编号GY000042）已办结。请点此告诉我们是否满意：<link>（14天内有效）" (or in English).
        Once per request_id as ``send_sign_in_code``; the link (a personal token) is neither logged
        nor stored, the number only masked."""
        return self._text_once(phone, kind, {"reference": reference, "link": link}, request_id, language)

    def _text_once(self, phone: str, kind: str, context: dict, request_id: str, language: str) -> dict:
        """One text of ``kind`` sent now, at most once per (caller, request_id) (``store.claim_sign_in``)."""
        provider = self.channels.sms()
        if provider is None:
            log.warning("%s not sent: SMS_PROVIDER=off", kind)
            raise SmsUnavailable(_SMS_LATER, _SMS_LATER_ZH)
        masked = sms.mask(phone)
        with self.db.get_session() as session:
            claim = store.claim_sign_in(session, self.caller.scope, request_id, masked, language, self.clock.now())
        if claim.send:
            text = rendering.short(kind, language, context)
            try:
                sent_as = provider.send(phone, text.template, text.params, text.text)
            except Exception as exc:
                with self.db.get_session() as session:
                    store.sign_in_failed(session, claim.message_id, f"{type(exc).__name__}: {exc}")
                if not isinstance(exc, DeliveryFailed):
                    raise
                log.warning("%s to %s not sent: %s", kind, masked, exc)
                raise SmsUnavailable(_SMS_LATER, _SMS_LATER_ZH) from None
            with self.db.get_session() as session:
                store.sign_in_sent(session, claim.message_id, sent_as, self.clock.now())
        return {"sent": True, "phone_masked": claim.phone_masked}

    @rpc
    @contract(access=ANYONE, response=schemas.Health())
    def health(self):
        """The database answers; the channels configured and deliveries by status."""
        with self.db.get_session() as session:
            session.execute(text("SELECT 1"))
            deliveries = store.counts(session)
        return {
            "status": "ok",
            "service": self.name,
            "time": self.clock.now(),
            "channels": list(self.settings.channels),
            "deliveries": deliveries,
        }


def _hhmm(value: clock_time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _preferences_view(volunteer_id: int, prefs: domain.Preferences) -> dict:
    return {
        "volunteer_id": volunteer_id,
        "channels": list(prefs.channels),
        "language": prefs.language,
        "quiet_hours": prefs.quiet_hours,
        "quiet_start": _hhmm(prefs.quiet_start),
        "quiet_end": _hhmm(prefs.quiet_end),
        "mode": prefs.mode,
        "reminders": list(prefs.reminders),
    }
