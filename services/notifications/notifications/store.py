"""Database side of the notifications service: every function takes a session (one transaction).

Concurrency: several replicas run the same statements. Inserts into the outbox and the reminder
schedule are ``INSERT ... ON CONFLICT DO NOTHING`` on their unique keys, and deliveries are
claimed by one conditional ``UPDATE`` (see ``claim``), which works alike on SQLite (writers are
serialised by ``BEGIN IMMEDIATE``) and PostgreSQL (the row lock makes the second ``UPDATE``
re-check the condition and skip a row another replica just claimed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from guanyinli.db import dialect_insert, insert_ignore
from guanyinli.errors import Conflict, NotFound, RequestRepeated
from guanyinli.timeutil import from_db, iso, to_db
from notifications import domain
from notifications.models import Contact, Delivery, Duty, Notification, Preference, Reminder, SignInMessage

# --- contacts and preferences -----------------------------------------------------------------


def save_contact(session: Session, volunteer_id: int, as_of: datetime, **fields) -> None:
    """Keep the newest knowledge: an event older than what we have changes nothing."""
    row = session.get(Contact, volunteer_id)
    if row is None:
        session.add(Contact(volunteer_id=volunteer_id, as_of=to_db(as_of), **{"active": True, **fields}))
    elif to_db(as_of) >= row.as_of:
        for key, value in fields.items():
            setattr(row, key, value)
        row.as_of = to_db(as_of)
    session.flush()


def contact(session: Session, volunteer_id: int) -> Contact | None:
    return session.get(Contact, volunteer_id)


def contacts(session: Session, volunteer_ids) -> dict[int, Contact]:
    ids = sorted(set(volunteer_ids))
    return (
        {c.volunteer_id: c for c in session.scalars(select(Contact).where(Contact.volunteer_id.in_(ids)))}
        if ids
        else {}
    )


def preferences(session: Session, volunteer_id: int) -> domain.Preferences:
    return _preferences(session.get(Preference, volunteer_id))


def preferences_of(session: Session, volunteer_ids) -> dict[int, domain.Preferences]:
    """Preferences of several volunteers (the defaults for those who never set any)."""
    ids = sorted(set(volunteer_ids))
    rows = {p.volunteer_id: p for p in session.scalars(select(Preference).where(Preference.volunteer_id.in_(ids)))}
    return {i: _preferences(rows.get(i)) for i in ids}


def _preferences(row: Preference | None) -> domain.Preferences:
    if row is None:
        return domain.DEFAULT_PREFERENCES
    # NULL: every lead (see save_preferences)
    reminders = row.reminders.split(",") if row.reminders is not None else domain.REMINDER_LEADS
    return domain.Preferences(
        channels=tuple(c for c in row.channels.split(",") if c),
        language=row.language,
        quiet_start=domain.parse_hhmm(row.quiet_start),
        quiet_end=domain.parse_hhmm(row.quiet_end),
        mode=row.mode,
        reminders=domain.reminder_leads(reminders),
    )


def save_preferences(
    session: Session, volunteer_id: int, prefs: domain.Preferences, now: datetime, schedule: domain.DigestSchedule
) -> None:
    """Store preferences. Entering digest mode starts with the next digest; leaving it sends what was
    held. A change of reminder leads replans the reminders of the volunteer's duties still ahead."""
    row = session.get(Preference, volunteer_id)
    previous = _preferences(row)
    if row is None:
        row = Preference(volunteer_id=volunteer_id)
        session.add(row)
    row.channels = ",".join(prefs.channels)
    row.language = prefs.language
    row.quiet_start = prefs.quiet_start.strftime("%H:%M") if prefs.quiet_hours else None
    row.quiet_end = prefs.quiet_end.strftime("%H:%M") if prefs.quiet_hours else None
    row.mode = prefs.mode
    # every lead is stored as NULL, so that a lead added to the service later reaches them too
    row.reminders = None if prefs.reminders == tuple(domain.REMINDER_LEADS) else ",".join(prefs.reminders)
    row.updated_at = to_db(now)
    if prefs.mode == "digest" and previous.mode != "digest":
        row.digest_period = schedule.period_key(now)
    session.flush()
    if prefs.reminders != previous.reminders:
        ahead = select(Duty).where(Duty.volunteer_id == volunteer_id, Duty.active.is_(True), Duty.start_at > to_db(now))
        for duty in session.scalars(ahead):
            _reschedule(session, duty, now)
    if prefs.mode == "immediate" and previous.mode == "digest":
        held = session.scalars(
            select(Notification).where(Notification.volunteer_id == volunteer_id, Notification.status == "held")
        ).all()
        for notification in held:
            notification.status = "queued" if prefs.channels else "muted"
            _add_deliveries(session, notification, prefs.channels, now)
        session.flush()


# --- the outbox -------------------------------------------------------------------------------


def _add_deliveries(session: Session, notification: Notification, channels, now: datetime) -> None:
    _add_deliveries_of(
        session, notification.id, notification.source_id, notification.volunteer_id, notification.kind, channels, now
    )


def _add_deliveries_of(
    session: Session, notification_id: int, source_id: str, volunteer_id: int, kind: str, channels, now: datetime
) -> None:
    message_id = domain.message_id(source_id, volunteer_id, kind)
    for channel in channels:
        insert_ignore(
            session,
            Delivery,
            {
                "notification_id": notification_id,
                "channel": channel,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": to_db(now),
                "message_id": message_id,
                "created_at": to_db(now),
            },
            ["notification_id", "channel"],
        )


def queue_notice(
    session: Session, source_id: str, notice: domain.Notice, now: datetime, schedule: domain.DigestSchedule
) -> int | None:
    """Put one message in the outbox (once per source, volunteer and kind); its id if new."""
    prefs = preferences(session, notice.volunteer_id)
    if not prefs.channels:
        status = "muted"
    elif domain.hold_for_digest(prefs, notice.kind, notice.urgent, notice.concerns, now, schedule):
        status = "held"
    else:
        status = "queued"
    values = {
        "source_id": source_id,
        "volunteer_id": notice.volunteer_id,
        "kind": notice.kind,
        "context": json.dumps(notice.context, ensure_ascii=False),
        "urgent": notice.urgent,
        "status": status,
        "created_at": to_db(now),
    }
    notification_id = insert_ignore(session, Notification, values, ["source_id", "volunteer_id", "kind"])
    if notification_id is not None and status == "queued":
        _add_deliveries_of(session, notification_id, source_id, notice.volunteer_id, notice.kind, prefs.channels, now)
    return notification_id


# --- duties and reminders ---------------------------------------------------------------------


def local_state(session: Session, event_type: str, event: dict, organisers: bool = False) -> domain.LocalState:
    occurrence_volunteers: frozenset[int] = frozenset()
    holders: dict[str, int] = {}
    if event_type in domain.OCCURRENCE_EVENTS and event.get("occurrence_id") is not None:
        occurrence_volunteers = frozenset(
            session.scalars(
                select(Duty.volunteer_id).where(Duty.occurrence_id == event["occurrence_id"], Duty.active.is_(True))
            )
        )
    names: dict[int, str] = {}
    if event_type == "swap_accepted":
        keys = [f"shift:{s['shift_id']}" for s in event["shifts"]]
        rows = session.execute(
            select(Duty.duty_key, Duty.volunteer_id).where(
                Duty.duty_key.in_(keys), Duty.volunteer_id.in_(event["volunteer_ids"]), Duty.active.is_(True)
            )
        )
        holders = {key.split(":", 1)[1]: volunteer_id for key, volunteer_id in rows}
    named = event["volunteer_ids"] if event_type in domain.SWAP_EVENTS else []
    if event_type == "standin_taken":
        named = [event["volunteer_id"], event["taken_by"]]
    if named:
        rows = session.execute(select(Contact.volunteer_id, Contact.name).where(Contact.volunteer_id.in_(named)))
        names = {volunteer_id: name for volunteer_id, name in rows if name}
    return domain.LocalState(
        occurrence_volunteers=occurrence_volunteers, shift_holders=holders, names=names, organisers=organisers
    )


def _reschedule(session: Session, duty: Duty, now: datetime) -> None:
    """Reminders follow the duty and the volunteer's leads (``Preferences.reminders``): cancelled
    when it is off or moved or their lead is turned off, scheduled for its start otherwise."""
    stale = [Reminder.duty_id == duty.id, Reminder.status == "scheduled"]
    wanted = preferences(session, duty.volunteer_id).reminders if duty.active else ()
    if duty.active:
        stale.append(or_(Reminder.start_at != duty.start_at, Reminder.lead.not_in(wanted)))
    session.execute(update(Reminder).where(*stale).values(status="cancelled"))
    if not duty.active:
        return
    for lead, due in domain.reminder_times(from_db(duty.start_at), now, wanted):
        stmt = (
            dialect_insert(session, Reminder)
            .values(
                duty_id=duty.id,
                volunteer_id=duty.volunteer_id,
                lead=lead,
                start_at=duty.start_at,
                due_at=to_db(due),
                status="scheduled",
            )
            .on_conflict_do_nothing(index_elements=["duty_id", "lead", "start_at"])
        )
        session.execute(stmt)
        # a duty back on at the same time (cancelled, then confirmed again), or a lead turned back
        # on, gets its reminders back
        session.execute(
            update(Reminder)
            .where(
                Reminder.duty_id == duty.id,
                Reminder.lead == lead,
                Reminder.start_at == duty.start_at,
                Reminder.status == "cancelled",
            )
            .values(status="scheduled")
        )


def _upsert_duty(session: Session, duty: domain.Duty, as_of: datetime, now: datetime) -> None:
    row = session.scalars(
        select(Duty).where(Duty.volunteer_id == duty.volunteer_id, Duty.duty_key == duty.key)
    ).one_or_none()
    if row is None:
        row = Duty(volunteer_id=duty.volunteer_id, duty_key=duty.key)
        session.add(row)
    elif to_db(as_of) < row.as_of:
        return
    row.title, row.place, row.occurrence_id = duty.title, duty.place, duty.occurrence_id
    row.start_at, row.end_at = to_db(duty.start), to_db(duty.end)
    row.active, row.as_of = True, to_db(as_of)
    session.flush()
    _reschedule(session, row, now)


def _cancel_duties(session: Session, rows, as_of: datetime, now: datetime) -> None:
    for row in rows:
        if to_db(as_of) >= row.as_of:
            row.active, row.as_of = False, to_db(as_of)
            _reschedule(session, row, now)


def apply_event(
    session: Session,
    event_type: str,
    event: dict,
    now: datetime,
    schedule: domain.DigestSchedule,
    organisers_email: str | None = None,
) -> list[int]:
    """Handle one activities event: duties and reminders updated, its messages in the outbox.

    Messages to organisers go to ``organisers_email`` (none without it). Idempotent: handled
    again, the same event finds its messages there and queues nothing.
    """
    state = local_state(session, event_type, event, organisers=bool(organisers_email))
    plan = domain.plan_event(event_type, event, now, state)
    if any(n.volunteer_id == domain.ORGANISERS_DESK for n in plan.notices):
        save_contact(session, domain.ORGANISERS_DESK, now, name="社区组织者", email=organisers_email, active=True)
    as_of = event["occurred_at"]
    for volunteer_id, key in plan.cancel:
        rows = session.scalars(select(Duty).where(Duty.volunteer_id == volunteer_id, Duty.duty_key == key)).all()
        _cancel_duties(session, rows, as_of, now)
    for duty in plan.upsert:
        _upsert_duty(session, duty, as_of, now)
    if plan.cancel_occurrence is not None:
        rows = session.scalars(select(Duty).where(Duty.occurrence_id == plan.cancel_occurrence)).all()
        _cancel_duties(session, rows, as_of, now)
    if plan.move_occurrence is not None:
        occurrence_id, start, end, place = plan.move_occurrence
        for row in session.scalars(select(Duty).where(Duty.occurrence_id == occurrence_id, Duty.active.is_(True))):
            if to_db(as_of) >= row.as_of:
                row.start_at, row.end_at, row.as_of = to_db(start), to_db(end), to_db(as_of)
                row.place = place if place is not None else row.place
                session.flush()
                _reschedule(session, row, now)
    created = []
    for notice in plan.notices:
        notification_id = queue_notice(session, event["event_id"], notice, now, schedule)
        if notification_id is not None:
            created.append(notification_id)
    return created


def deactivate_volunteer(session: Session, volunteer_id: int, as_of: datetime) -> None:
    """A deactivated volunteer gets no more reminders (their pending messages are skipped at send time)."""
    save_contact(session, volunteer_id, as_of, active=False)
    session.execute(
        update(Reminder)
        .where(Reminder.volunteer_id == volunteer_id, Reminder.status == "scheduled")
        .values(status="cancelled")
    )


def queue_due_reminders(session: Session, now: datetime, schedule: domain.DigestSchedule, limit: int = 500) -> int:
    """Turn reminders that are due into outbox messages (``reminder:<id>`` is their source key)."""
    rows = session.execute(
        select(Reminder, Duty)
        .join(Duty, Duty.id == Reminder.duty_id)
        .where(Reminder.status == "scheduled", Reminder.due_at <= to_db(now))
        .order_by(Reminder.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Reminder)
    ).all()
    prefs = preferences_of(session, [duty.volunteer_id for _, duty in rows])  # one query, not one a reminder
    notices = []
    for reminder, duty in rows:
        start = from_db(reminder.start_at)
        context = domain.reminder_context(duty.title, start, from_db(duty.end_at), duty.place, reminder.lead)
        notices.append(
            (
                f"reminder:{reminder.id}",
                domain.Notice(duty.volunteer_id, f"reminder_{reminder.lead}", context, False, start),
            )
        )
        reminder.status = "queued"
    queue_notices(session, notices, now, schedule, prefs)
    return len(rows)


def queue_notices(
    session: Session,
    notices: list[tuple[str, domain.Notice]],
    now: datetime,
    schedule: domain.DigestSchedule,
    prefs: dict[int, domain.Preferences],
) -> None:
    """``queue_notice`` for many (source id, notice) at once: one insert of the messages and one of
    their deliveries, each ``ON CONFLICT DO NOTHING`` as there (a message queued already stays as
    it is). ``prefs``: the preferences of every volunteer named."""
    rows, queued = [], {}
    for source_id, notice in notices:
        p = prefs[notice.volunteer_id]
        if not p.channels:
            status = "muted"
        elif domain.hold_for_digest(p, notice.kind, notice.urgent, notice.concerns, now, schedule):
            status = "held"
        else:
            status = "queued"
            queued[(source_id, notice.volunteer_id, notice.kind)] = p.channels
        rows.append(
            {
                "source_id": source_id,
                "volunteer_id": notice.volunteer_id,
                "kind": notice.kind,
                "context": json.dumps(notice.context, ensure_ascii=False),
                "urgent": notice.urgent,
                "status": status,
                "created_at": to_db(now),
            }
        )
    if not rows:
        return
    keys = ["source_id", "volunteer_id", "kind"]
    created = session.execute(
        dialect_insert(session, Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(Notification.id, Notification.source_id, Notification.volunteer_id, Notification.kind)
    ).all()
    deliveries = [
        {
            "notification_id": notification_id,
            "channel": channel,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": to_db(now),
            "message_id": domain.message_id(source_id, volunteer_id, kind),
            "created_at": to_db(now),
        }
        for notification_id, source_id, volunteer_id, kind in created
        for channel in queued.get((source_id, volunteer_id, kind), ())
    ]
    if deliveries:
        session.execute(
            dialect_insert(session, Delivery)
            .values(deliveries)
            .on_conflict_do_nothing(index_elements=["notification_id", "channel"])
        )


def queue_digests(session: Session, now: datetime, schedule: domain.DigestSchedule, limit: int = 200) -> int:
    """Build the weekly digest of every digest-mode volunteer whose digest for this week is due."""
    key = schedule.period_key(now)
    rows = session.scalars(
        select(Preference)
        .where(Preference.mode == "digest", or_(Preference.digest_period.is_(None), Preference.digest_period != key))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    built = 0
    for pref in rows:
        pref.digest_period = key
        held = session.scalars(
            select(Notification)
            .where(Notification.volunteer_id == pref.volunteer_id, Notification.status == "held")
            .order_by(Notification.created_at, Notification.id)
        ).all()
        duties = session.scalars(
            select(Duty)
            .where(
                Duty.volunteer_id == pref.volunteer_id,
                Duty.active.is_(True),
                Duty.start_at >= to_db(now),
                Duty.start_at < to_db(now + timedelta(days=7)),
            )
            .order_by(Duty.start_at)
        ).all()
        if not held and not duties:
            continue
        context = {
            "period": iso(schedule.period_start(now)),
            "items": [{"kind": n.kind, "context": json.loads(n.context)} for n in held],
            "duties": [
                {"title": d.title, "start": iso(from_db(d.start_at)), "end": iso(from_db(d.end_at)), "place": d.place}
                for d in duties
            ],
        }
        digest_id = queue_notice(
            session, f"digest:{key}", domain.Notice(pref.volunteer_id, "digest", context), now, schedule
        )
        if digest_id is not None:
            for notification in held:
                notification.status, notification.digest_id = "digested", digest_id
            built += 1
    session.flush()
    return built


# --- claiming and finishing deliveries --------------------------------------------------------


@dataclass(frozen=True)
class Job:
    delivery_id: int
    channel: str
    attempts: int
    message_id: str
    notification_id: int
    volunteer_id: int
    kind: str
    context: dict
    urgent: bool


def _due(now_db: datetime):
    return or_(
        and_(Delivery.status == "pending", Delivery.next_attempt_at <= now_db),
        and_(Delivery.status == "sending", Delivery.claimed_until < now_db),  # a lease that ran out
    )


def claim(session: Session, now: datetime, token: str, lease: float, limit: int) -> list[Job]:
    """Claim up to ``limit`` due deliveries for ``token`` until ``now + lease``; each claim counts as a try.

    The condition is repeated on the outer ``UPDATE`` so that a row another replica claimed
    between our subquery and our row lock is left alone.
    """
    now_db = to_db(now)
    candidates = (
        select(Delivery.id)
        .where(_due(now_db))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL: replicas take different rows instead of queueing
    )
    if session.get_bind().dialect.name == "postgresql":
        # A CTE with FOR UPDATE is evaluated once: as ``IN (subquery)`` PostgreSQL may evaluate the
        # subquery again (a nested loop), and then claims more than ``limit`` rows.
        chosen = candidates.cte("chosen")
        picked = Delivery.id.in_(select(chosen.c.id))
    else:
        picked = Delivery.id.in_(candidates.scalar_subquery())
    session.execute(
        update(Delivery)
        .where(picked, _due(now_db))
        .values(
            status="sending",
            claimed_by=token,
            claimed_until=to_db(now + timedelta(seconds=lease)),
            attempts=Delivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.claimed_by == token, Delivery.status == "sending")
        .order_by(Delivery.next_attempt_at, Delivery.id)
    ).all()
    return [
        Job(
            delivery_id=d.id,
            channel=d.channel,
            attempts=d.attempts,
            message_id=d.message_id,
            notification_id=n.id,
            volunteer_id=n.volunteer_id,
            kind=n.kind,
            context=json.loads(n.context),
            urgent=n.urgent,
        )
        for d, n in rows
    ]


def renew(session: Session, token: str, until: datetime) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.claimed_by == token, Delivery.status == "sending")
        .values(claimed_until=to_db(until))
        .execution_options(synchronize_session=False)
    )


def finish(session: Session, job: Job, token: str, status: str, **values) -> bool:
    """Leave the 'sending' state; False when the claim was lost (the lease ran out and another took it)."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == job.delivery_id, Delivery.claimed_by == token, Delivery.status == "sending")
        .values(status=status, claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def defer(session: Session, job: Job, token: str, until: datetime) -> bool:
    """Not a failed try: quiet hours. The delivery waits and its try is given back."""
    return finish(session, job, token, "pending", next_attempt_at=to_db(until), attempts=Delivery.attempts - 1)


# --- reading ----------------------------------------------------------------------------------


def _delivery_view(d: Delivery) -> dict:
    return {
        "id": d.id,
        "channel": d.channel,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": from_db(d.next_attempt_at) if d.status == "pending" else None,
        "sent_at": from_db(d.sent_at),
        "last_error": d.last_error,
        "message_id": d.message_id,
    }


def list_notifications(session: Session, volunteer_id: int, limit: int, offset: int) -> list[dict]:
    notifications = session.scalars(
        select(Notification)
        .where(Notification.volunteer_id == volunteer_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [n.id for n in notifications]
    deliveries: dict[int, list[Delivery]] = {}
    if ids:
        for d in session.scalars(select(Delivery).where(Delivery.notification_id.in_(ids)).order_by(Delivery.id)):
            deliveries.setdefault(d.notification_id, []).append(d)
    return [
        {
            "id": n.id,
            "source_id": n.source_id,
            "kind": n.kind,
            "status": n.status,
            "urgent": n.urgent,
            "created_at": from_db(n.created_at),
            "digest_id": n.digest_id,
            "context": json.loads(n.context),
            "deliveries": [_delivery_view(d) for d in deliveries.get(n.id, [])],
        }
        for n in notifications
    ]


def list_dead_letters(session: Session, limit: int, offset: int) -> list[dict]:
    rows = session.execute(
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.status == "dead")
        .order_by(Delivery.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        {
            **_delivery_view(d),
            "notification_id": n.id,
            "volunteer_id": n.volunteer_id,
            "kind": n.kind,
            "source_id": n.source_id,
        }
        for d, n in rows
    ]


def retry_dead_letter(session: Session, delivery_id: int, now: datetime) -> dict:
    """A dead delivery goes back to pending with a fresh set of tries, due now."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound(f"delivery {delivery_id} does not exist")
    if row.status != "dead":
        raise Conflict(f"delivery {delivery_id} is {row.status}, not dead-lettered")
    row.status, row.attempts, row.next_attempt_at, row.claimed_by, row.claimed_until = (
        "pending",
        0,
        to_db(now),
        None,
        None,
    )
    session.flush()
    return _delivery_view(row)


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    return {status: count for status, count in rows}


# --- sign-in codes by text message ---------------------------------------------------------------


@dataclass(frozen=True)
class SignInClaim:
    message_id: int
    phone_masked: str
    send: bool  # False: sent already, answer as then


def _sign_in_message(session: Session, scope: str, request_id: str) -> SignInMessage | None:
    return session.scalars(
        select(SignInMessage).where(SignInMessage.scope == scope, SignInMessage.request_id == request_id)
    ).first()


def claim_sign_in(
    session: Session, scope: str, request_id: str, phone_masked: str, language: str, now: datetime
) -> SignInClaim:
    """Take the sending of the sign-in message of (caller, request_id), committed before it is sent
    (``domain.sign_in_step``): a new message, or one whose last try failed, is marked ``sending``
    by one insert or conditional update, so of two requests with one request_id only one sends;
    the other gets ``RequestRepeated``, or the first answer once that one is sent."""
    row = _sign_in_message(session, scope, request_id)
    if row is None:
        values = {
            "scope": scope,
            "request_id": request_id,
            "phone_masked": phone_masked,
            "language": language,
            "status": "sending",
            "attempts": 1,
            "created_at": to_db(now),
        }
        new_id = insert_ignore(session, SignInMessage, values, ["scope", "request_id"])
        if new_id is not None:
            return SignInClaim(new_id, phone_masked, send=True)
        row = _sign_in_message(session, scope, request_id)  # another request with this id came first
    step = domain.sign_in_step(row.status)
    if step == "answer":
        return SignInClaim(row.id, row.phone_masked, send=False)
    if step == "send":
        taken = session.execute(
            update(SignInMessage)
            .where(SignInMessage.id == row.id, SignInMessage.status == "failed")
            .values(status="sending", attempts=SignInMessage.attempts + 1, last_error=None)
        ).rowcount
        if taken == 1:
            return SignInClaim(row.id, row.phone_masked, send=True)
    raise RequestRepeated(
        f"request_id {request_id!r}: its sign-in code is being sent, or its sending was interrupted;"
        " ask for a new code with a new request_id",
        f"request_id「{request_id}」的登录验证码正在发送或发送中断：请用新的 request_id 重新获取验证码",
    )


def sign_in_sent(session: Session, message_id: int, provider_message_id: str, now: datetime) -> None:
    session.execute(
        update(SignInMessage)
        .where(SignInMessage.id == message_id)
        .values(status="sent", provider_message_id=provider_message_id[:100], sent_at=to_db(now))
    )


def sign_in_failed(session: Session, message_id: int, error: str) -> None:
    session.execute(
        update(SignInMessage).where(SignInMessage.id == message_id).values(status="failed", last_error=error[:1000])
    )
