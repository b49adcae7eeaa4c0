"""Use cases of the appeals service over one SQLAlchemy session (one transaction, the caller's).

What the volunteers service knows (the grid, who is available now) is asked for before the
transaction opens (``service.py``) and handed in as data, so no transaction waits on another
service. Events are stored with the change (``OUTBOX.add``) and carry no private data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from appeals import domain
from appeals.exceptions import AppealClosed, AppealNotFound, AppealStateInvalid
from appeals.models import OUTBOX, Appeal, AppealNote
from guanyinli.timeutil import from_db, to_db


def note_view(note: AppealNote) -> dict:
    return {
        "kind": note.kind,
        "at": from_db(note.at),
        "author": note.author,
        "volunteer_id": note.volunteer_id,
        "text": note.text,
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
        )
    }
    for k in ("received_at", "assigned_at", "accepted_at", "closed_at"):
        view[k] = from_db(getattr(appeal, k))
    view["notes"] = [note_view(n) for n in appeal.notes] if with_notes else []
    return view


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


def receive(session: Session, data: dict, found: list[domain.Candidate], at: datetime, author: str) -> dict:
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
    return appeal_view(appeal)


def accept(session: Session, appeal: Appeal, at: datetime, author: str) -> dict:
    if appeal.status != "assigned":
        raise AppealStateInvalid(f"appeal_id: appeal {appeal.id} is {appeal.status}, not waiting to be accepted")
    appeal.status = "accepted"
    appeal.accepted_at = to_db(at)
    _note(appeal, "accepted", at, author, appeal.handler_id)
    return appeal_view(appeal)


def hand_back(
    session: Session, appeal: Appeal, reason: str, found: list[domain.Candidate], at: datetime, author: str
) -> dict:
    if appeal.handler_id is None:
        raise AppealStateInvalid(f"appeal_id: appeal {appeal.id} has no handler to hand it back")
    _note(appeal, "handed_back", at, author, appeal.handler_id, reason)
    _route(session, appeal, found, at, author, "handed_back")
    return appeal_view(appeal)


def reassign(session: Session, appeal: Appeal, volunteer_id: int, reason: str | None, at: datetime, author: str):
    previous = appeal.handler_id
    appeal.handler_id, appeal.status = volunteer_id, "assigned"
    appeal.assigned_at, appeal.accepted_at = to_db(at), None
    _note(appeal, "reassigned", at, author, volunteer_id, reason)
    session.flush()
    OUTBOX.add(session, "appeal_assigned", _assigned_event(appeal, "reassigned", previous))
    return appeal_view(appeal)


def add_note(session: Session, appeal: Appeal, text: str, at: datetime, author: str, volunteer_id) -> dict:
    _note(appeal, "note", at, author, volunteer_id, text)
    return appeal_view(appeal)


def close(session: Session, appeal: Appeal, closing: dict, at: datetime, author: str) -> dict:
    appeal.status = "closed"
    appeal.closed_at = to_db(at)
    appeal.outcome = closing["outcome"]
    appeal.resident_reply = closing.get("resident_reply")
    appeal.satisfaction = closing.get("satisfaction")
    appeal.hours = closing.get("hours") or 0.0
    _note(appeal, "closed", at, author, appeal.handler_id, closing["outcome"])
    session.flush()
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


def list_appeals(
    session: Session,
    grid_id: int | None = None,
    status: str | None = None,
    handler_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict]:
    query = select(Appeal).order_by(Appeal.received_at.desc(), Appeal.id.desc())
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
    visited = getattr(Appeal, "visited_at", None)  # a column of its own once visits are recorded
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
    ]
    if visited is not None:
        columns.append(visited.label("visited_at"))
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
