"""Use cases of the appeals service over one SQLAlchemy session (one transaction, the caller's).

What the volunteers service knows (the grid, who is available now) is asked for before the
transaction opens (``service.py``) and handed in as data, so no transaction waits on another
service. Events are stored with the change (``OUTBOX.add``) and carry no private data.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from appeals import domain, time_limits
from appeals.exceptions import (
    AppealClosed,
    AppealNotFound,
    AppealStateInvalid,
    ReplyLinkExpired,
    ReplyLinkUnknown,
    ReplyLinkUsed,
)
from appeals.models import OUTBOX, Appeal, AppealEscalation, AppealNote
from guanyinli.db import insert_ignore
from guanyinli.timeutil import from_db, to_db


def note_view(note: AppealNote) -> dict:
    return {
        "kind": note.kind,
        "at": from_db(note.at),
        "author": note.author,
        "volunteer_id": note.volunteer_id,
        "text": note.text,
    }


def escalation_view(step: AppealEscalation) -> dict:
    return {
        "stage": step.stage,
        "level": step.level,
        "due_at": from_db(step.due_at),
        "deadline": from_db(step.deadline),
        "fired_at": from_db(step.fired_at),
        "recipient_id": step.recipient_id,
    }


def appeal_view(appeal: Appeal, with_notes: bool = True) -> dict:
    view = {
        k: getattr(appeal, k)
        for k in (
            "id",
            "category",
            "urgency",
            "grid_id",
            "courtyard",
            "building",
            "description",
            "resident_name",
            "resident_phone",
            "resident_address",
            "status",
            "handler_id",
            "outcome",
            "resident_reply",
            "satisfaction",
            "hours",
            "source",
        )
    }
    view["reference"] = domain.reference(appeal.id)
    for k in ("received_at", "assigned_at", "accepted_at", "visited_at", "closed_at", "resident_replied_at"):
        view[k] = from_db(getattr(appeal, k))
    view["notes"] = [note_view(n) for n in appeal.notes] if with_notes else []
    view["escalations"] = [escalation_view(e) for e in appeal.escalations]
    return view


# --- time limits ------------------------------------------------------------------------------


def appeal_times(appeal: Appeal) -> time_limits.AppealTimes:
    return time_limits.AppealTimes(
        appeal_id=appeal.id,
        category=appeal.category,
        urgency=appeal.urgency,
        received_at=from_db(appeal.received_at),
        acknowledged_at=from_db(appeal.accepted_at),
        visited_at=from_db(appeal.visited_at),
        closed_at=from_db(appeal.closed_at),
    )


def fired_keys(appeal: Appeal) -> set[str]:
    return {str(time_limits.EscalationKey(str(appeal.id), e.stage, e.level)) for e in appeal.escalations}


def reschedule(appeal: Appeal, at: datetime, limits: time_limits.Limits, fired: set[str] | None = None) -> None:
    """When the escalation timer looks at the appeal again, after any change of its stages."""
    if appeal.status == "closed":
        appeal.next_check_at = None
        return
    fired = fired_keys(appeal) if fired is None else fired
    when = time_limits.next_check(at, appeal_times(appeal), fired, limits)
    appeal.next_check_at = to_db(when) if when is not None else None


def get(session: Session, appeal_id: int, for_update: bool = False) -> Appeal:
    query = select(Appeal).where(Appeal.id == appeal_id)
    if for_update:
        query = query.with_for_update()
    appeal = session.scalars(query).first()
    if appeal is None:
        raise AppealNotFound(f"appeal_id: no appeal {appeal_id}")
    return appeal


def get_open(session: Session, appeal_id: int) -> Appeal:
    """The appeal, locked for the change to come; a closed one -> AppealClosed."""
    appeal = get(session, appeal_id, for_update=True)
    if appeal.status == "closed":
        raise AppealClosed(f"appeal_id: appeal {appeal_id} was closed at {from_db(appeal.closed_at).isoformat()}")
    return appeal


def open_counts(session: Session, volunteer_ids: Iterable[int]) -> dict[int, int]:
    """Appeals each volunteer has in hand (assigned or accepted), for spreading the load."""
    ids = sorted(set(volunteer_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Appeal.handler_id, func.count())
        .where(Appeal.handler_id.in_(ids), Appeal.status.in_(domain.HANDLED_STATUSES))
        .group_by(Appeal.handler_id)
    )
    return {vid: count for vid, count in rows}


def handed_back_by(appeal: Appeal) -> set[int]:
    return {n.volunteer_id for n in appeal.notes if n.kind == "handed_back" and n.volunteer_id is not None}


def _note(appeal: Appeal, kind: str, at: datetime, author: str, volunteer_id=None, text=None) -> None:
    appeal.notes.append(AppealNote(kind=kind, at=to_db(at), author=author, volunteer_id=volunteer_id, text=text))


def _assigned_event(appeal: Appeal, why: str, previous: int | None) -> dict:
    return {
        "appeal_id": appeal.id,
        "category": appeal.category,
        "urgency": appeal.urgency,
        "grid_id": appeal.grid_id,
        "handler_id": appeal.handler_id,
        "previous_handler_id": previous,
        "why": why,
    }


def _route(
    session: Session, appeal: Appeal, found: list[domain.Candidate], at: datetime, author: str, why: str
) -> None:
    """Give the appeal to ``domain.choose_handler``'s pick (or leave it unrouted) and say so."""
    previous = appeal.handler_id
    counts = open_counts(session, [c.volunteer_id for c in found])
    chosen = domain.choose_handler(found, counts, excluded=handed_back_by(appeal) | {previous} - {None})
    appeal.handler_id = chosen.volunteer_id if chosen else None
    appeal.status = "assigned" if chosen else "unrouted"
    appeal.assigned_at = to_db(at) if chosen else None
    appeal.accepted_at = None
    _note(appeal, "assigned", at, author, appeal.handler_id, chosen.kind if chosen else "nobody available now")
    session.flush()
    OUTBOX.add(session, "appeal_assigned", _assigned_event(appeal, why, previous))


def receive(
    session: Session,
    data: dict,
    found: list[domain.Candidate],
    at: datetime,
    author: str,
    limits: time_limits.Limits,
) -> dict:
    """Take an appeal in (``data``: its fields and ``source``) and route it."""
    appeal = Appeal(**data, status="unrouted", received_by=author, received_at=to_db(at))
    session.add(appeal)
    _note(appeal, "received", at, author)
    session.flush()
    OUTBOX.add(
        session,
        "appeal_received",
        {
            "appeal_id": appeal.id,
            "category": appeal.category,
            "urgency": appeal.urgency,
            "grid_id": appeal.grid_id,
            "courtyard": appeal.courtyard,
            "received_at": at,
        },
    )
    _route(session, appeal, found, at, author, "routed")
    reschedule(appeal, at, limits)
    return appeal_view(appeal)


def accept(session: Session, appeal: Appeal, at: datetime, author: str, limits: time_limits.Limits) -> dict:
    if appeal.status != "assigned":
        raise AppealStateInvalid(f"appeal_id: appeal {appeal.id} is {appeal.status}, not waiting to be accepted")
    _accept(appeal, at, author)
    reschedule(appeal, at, limits)
    return appeal_view(appeal)


def _accept(appeal: Appeal, at: datetime, author: str) -> None:
    appeal.status = "accepted"
    appeal.accepted_at = to_db(at)
    _note(appeal, "accepted", at, author, appeal.handler_id)


def hand_back(
    session: Session,
    appeal: Appeal,
    reason: str,
    found: list[domain.Candidate],
    at: datetime,
    author: str,
    limits: time_limits.Limits,
) -> dict:
    if appeal.handler_id is None:
        raise AppealStateInvalid(f"appeal_id: appeal {appeal.id} has no handler to hand it back")
    _note(appeal, "handed_back", at, author, appeal.handler_id, reason)
    _route(session, appeal, found, at, author, "handed_back")
    reschedule(appeal, at, limits)
    return appeal_view(appeal)


def reassign(
    session: Session,
    appeal: Appeal,
    volunteer_id: int,
    reason: str | None,
    at: datetime,
    author: str,
    limits: time_limits.Limits,
):
    previous = appeal.handler_id
    appeal.handler_id, appeal.status = volunteer_id, "assigned"
    appeal.assigned_at, appeal.accepted_at = to_db(at), None
    _note(appeal, "reassigned", at, author, volunteer_id, reason)
    session.flush()
    OUTBOX.add(session, "appeal_assigned", _assigned_event(appeal, "reassigned", previous))
    reschedule(appeal, at, limits)
    return appeal_view(appeal)


def add_note(session: Session, appeal: Appeal, text: str, at: datetime, author: str, volunteer_id) -> dict:
    _note(appeal, "note", at, author, volunteer_id, text)
    return appeal_view(appeal)


def mark_visited(
    session: Session,
    appeal: Appeal,
    text: str | None,
    at: datetime,
    author: str,
    volunteer_id,
    limits: time_limits.Limits,
) -> dict:
    """The handler went to see the resident: the visit stage is done, and with it the acknowledgement
    of an appeal not yet accepted (nobody visits what they did not take). A second visit is noted; the
    first one counts for the time limit."""
    if appeal.status == "assigned":
        _accept(appeal, at, author)
    if appeal.visited_at is None:
        appeal.visited_at = to_db(at)
    _note(appeal, "visited", at, author, volunteer_id, text)
    reschedule(appeal, at, limits)
    return appeal_view(appeal)


def close(
    session: Session, appeal: Appeal, closing: dict, at: datetime, author: str, reply_key: bytes | None = None
) -> dict:
    """Close the appeal; with ``reply_key`` and a mobile number, open the resident's reply link
    (``pending_reply_texts`` then finds it until its text is sent)."""
    appeal.status = "closed"
    appeal.closed_at = to_db(at)
    appeal.next_check_at = None
    appeal.outcome = closing["outcome"]
    appeal.resident_reply = closing.get("resident_reply")
    appeal.satisfaction = closing.get("satisfaction")
    appeal.hours = closing.get("hours") or 0.0
    _note(appeal, "closed", at, author, appeal.handler_id, closing["outcome"])
    session.flush()
    if reply_key is not None and domain.mobile(appeal.resident_phone) and appeal.reply_nonce is None:
        appeal.reply_nonce = secrets.token_hex(16)
        appeal.reply_token_digest = domain.token_digest(domain.reply_token(reply_key, appeal.id, appeal.reply_nonce))
        appeal.reply_expires_at = to_db(at + timedelta(days=domain.REPLY_LINK_DAYS))
    OUTBOX.add(
        session,
        "appeal_closed",
        {
            "appeal_id": appeal.id,
            "category": appeal.category,
            "grid_id": appeal.grid_id,
            "handler_id": appeal.handler_id,
            "hours": appeal.hours,
            "satisfaction": appeal.satisfaction,
            "received_at": from_db(appeal.received_at),
            "closed_at": at,
        },
    )
    return appeal_view(appeal)


# --- the resident's reply link -------------------------------------------------------------------


def pending_reply_texts(session: Session, now: datetime, appeal_id: int | None = None, limit: int = 20) -> list[dict]:
    """Closed appeals whose reply link is open and whose text has not gone out yet (of one appeal)."""
    query = select(Appeal).where(
        Appeal.reply_nonce.is_not(None),
        Appeal.reply_sent_at.is_(None),
        Appeal.reply_used_at.is_(None),
        Appeal.reply_expires_at > to_db(now),
    )
    if appeal_id is not None:
        query = query.where(Appeal.id == appeal_id)
    rows = session.scalars(query.order_by(Appeal.id).limit(limit))
    return [{"id": a.id, "phone": domain.mobile(a.resident_phone), "nonce": a.reply_nonce} for a in rows]


def reply_sent(session: Session, appeal_id: int, at: datetime) -> None:
    appeal = session.get(Appeal, appeal_id)
    if appeal is not None and appeal.reply_sent_at is None:
        appeal.reply_sent_at = to_db(at)


def record_reply(session: Session, token: str, satisfaction: int, reply: str | None, at: datetime) -> dict:
    """The resident's own satisfaction and words, through their link, once; they replace what the
    handler entered on their behalf, and the trail keeps what that was."""
    appeal = session.scalars(
        select(Appeal).where(Appeal.reply_token_digest == domain.token_digest(token)).with_for_update()
    ).first()
    try:
        domain.check_reply_link(
            from_db(appeal.reply_expires_at) if appeal else None, appeal.reply_used_at if appeal else None, at
        )
    except domain.ReplyRefused as refused:
        error = {"unknown": ReplyLinkUnknown, "used": ReplyLinkUsed, "expired": ReplyLinkExpired}[refused.reason]
        raise error(f"token: this reply link is {refused.reason}") from None
    replaced = appeal.satisfaction is not None or appeal.resident_reply is not None
    text = f"satisfaction {satisfaction}"
    if replaced:
        text += f"; replaces the handler's entry on the resident's behalf: satisfaction {appeal.satisfaction}"
        if appeal.resident_reply:
            text += f", reply {appeal.resident_reply!r}"
    appeal.satisfaction, appeal.resident_reply = satisfaction, reply
    appeal.reply_used_at = appeal.resident_replied_at = to_db(at)
    _note(appeal, "resident_replied", at, "resident", None, text)
    return {"reference": domain.reference(appeal.id), "satisfaction": satisfaction, "replaced": replaced}


def list_appeals(
    session: Session,
    grid_id: int | None = None,
    status: str | None = None,
    handler_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict]:
    query = (
        select(Appeal).options(selectinload(Appeal.escalations)).order_by(Appeal.received_at.desc(), Appeal.id.desc())
    )
    if grid_id is not None:
        query = query.where(Appeal.grid_id == grid_id)
    if status == "open":
        query = query.where(Appeal.status.in_(domain.OPEN_STATUSES))
    elif status is not None:
        query = query.where(Appeal.status == status)
    if handler_id is not None:
        query = query.where(Appeal.handler_id == handler_id)
    return [appeal_view(a, with_notes=False) for a in session.scalars(query.limit(limit).offset(offset))]


def count_open(session: Session) -> int:
    return session.scalar(select(func.count()).where(Appeal.status.in_(domain.OPEN_STATUSES))) or 0


# --- escalation --------------------------------------------------------------------------------


def _due(now: datetime):
    return (Appeal.status.in_(domain.OPEN_STATUSES), Appeal.next_check_at <= to_db(now))


def grids_due(session: Session, now: datetime, limit: int) -> list[int]:
    """The grids of the open appeals the escalation timer is to look at now (the first ``limit`` due)."""
    due = select(Appeal.grid_id).where(*_due(now)).order_by(Appeal.next_check_at, Appeal.id).limit(limit)
    return sorted(set(session.scalars(due)))


def escalation_event(appeal: Appeal, step: time_limits.Escalation, recipient_id: int | None) -> dict:
    return {
        "appeal_id": appeal.id,
        "category": appeal.category,
        "urgency": appeal.urgency,
        "grid_id": appeal.grid_id,
        "courtyard": appeal.courtyard,
        "stage": step.stage,
        "level": step.level,
        "handler_id": appeal.handler_id,
        "recipient_id": recipient_id,
        "deadline": step.deadline,
        "due_at": step.due_at,
    }


def _recipient(appeal: Appeal, level: str, leaders: dict[int, int | None]) -> int | None:
    if level == "handler":
        return appeal.handler_id
    if level == "grid_leader":
        return leaders.get(appeal.grid_id)
    return None  # the community office: the organisers' desk


def escalate_due(
    session: Session, now: datetime, leaders: dict[int, int | None], limits: time_limits.Limits, limit: int
) -> int:
    """Fire the escalation steps due at ``now`` of up to ``limit`` open appeals of the grids in ``leaders``
    (grid -> its leader's volunteer id, asked of the volunteers service before the transaction).

    Each step is a row whose unique key (appeal, stage, level) makes it fire once, with its
    ``appeal_escalated`` event in the outbox of the same transaction. PostgreSQL: the appeals are
    locked and another replica's timer skips them; SQLite has a single writer. Returns how many
    appeals were looked at."""
    if not leaders:
        return 0
    appeals = session.scalars(
        select(Appeal)
        .where(*_due(now), Appeal.grid_id.in_(sorted(leaders)))
        .order_by(Appeal.next_check_at, Appeal.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for appeal in appeals:
        fired = fired_keys(appeal)
        for step in time_limits.due_escalations(now, appeal_times(appeal), fired, limits):
            recipient_id = _recipient(appeal, step.level, leaders)
            values = {
                "appeal_id": appeal.id,
                "stage": step.stage,
                "level": step.level,
                "due_at": to_db(step.due_at),
                "deadline": to_db(step.deadline),
                "fired_at": to_db(now),
                "recipient_id": recipient_id,
            }
            if insert_ignore(session, AppealEscalation, values, ["appeal_id", "stage", "level"]) is not None:
                OUTBOX.add(session, "appeal_escalated", escalation_event(appeal, step, recipient_id))
            fired.add(str(step.key))
        reschedule(appeal, now, limits, fired)
    session.flush()
    return len(appeals)


def report_records(
    session: Session, start: datetime, end: datetime, grid_ids: Iterable[int] | None = None
) -> list[dict]:
    """What ``appeals.report`` needs of the appeals that may count in the month [start, end): received
    before its end and either received in it, or open, or closed since its start. A stage counts in the
    month it was done in time or fell due (``appeals.report``), and every stage is done by the closing, so
    nothing else can. Times only: nothing private is read.

    ``acknowledged_at`` is the first acceptance of the trail: a later hand-back resets ``accepted_at``,
    not the resident's having been answered."""
    first_accepted = (
        select(func.min(AppealNote.at))
        .where(AppealNote.appeal_id == Appeal.id, AppealNote.kind == "accepted")
        .scalar_subquery()
    )
    columns = [
        Appeal.id,
        Appeal.grid_id,
        Appeal.category,
        Appeal.urgency,
        Appeal.satisfaction,
        Appeal.received_at,
        Appeal.accepted_at,
        Appeal.closed_at,
        first_accepted.label("acknowledged_at"),
        Appeal.visited_at,
    ]
    query = select(*columns).where(
        Appeal.received_at < to_db(end),
        or_(Appeal.received_at >= to_db(start), Appeal.closed_at.is_(None), Appeal.closed_at >= to_db(start)),
    )
    if grid_ids is not None:
        query = query.where(Appeal.grid_id.in_(sorted(set(grid_ids))))
    times = ("received_at", "accepted_at", "closed_at", "acknowledged_at", "visited_at")
    return [
        {k: (from_db(v) if k in times else v) for k, v in row._mapping.items()}
        for row in session.execute(query.order_by(Appeal.id))
    ]
