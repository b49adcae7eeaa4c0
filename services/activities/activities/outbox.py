"""Transactional outbox: events are written in the same transaction as the change they report.

A use case calls ``add(session, event_type, payload)``; the payload is validated and given its
``event_id`` there, and stored in ``outbox_events``. After the commit the service dispatches the
rows of its unit of work at once (``pending``/``mark_sent``); rows that were not sent (broker
down, process killed between commit and dispatch) are sent by a timer (``due``). Delivery is at
least once with a stable ``event_id``, so handlers that act once per ``event_id`` or natural key
see each change once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from activities.models import OutboxEvent
from guanyinli.events import make_payload, publish, read
from guanyinli.timeutil import now, to_db

SESSION_KEY = "activities_outbox"
KEEP_SENT = timedelta(days=7)


def add(session: Session, event_type: str, payload: dict) -> dict:
    """Queue an event in the current transaction; returns its wire form (with ``event_id``)."""
    wire = make_payload(event_type, payload)
    row = OutboxEvent(event_type=event_type, payload=wire, created_at=to_db(now()))
    session.add(row)
    session.flush()
    session.info.setdefault(SESSION_KEY, []).append((row.id, event_type, wire))
    return wire


def send(dispatch, event_type: str, wire: dict) -> None:
    """Dispatch a stored event through ``publish`` (validated again; its ``event_id`` is kept)."""
    publish(dispatch, event_type, read(event_type, wire))


def pending(session: Session) -> list[tuple[int, str, dict]]:
    """The events this unit of work queued (taken from the session, to dispatch after the commit)."""
    return session.info.pop(SESSION_KEY, [])


def mark_sent(session: Session, ids: list[int]) -> None:
    if ids:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids), OutboxEvent.sent_at.is_(None))
            .values(sent_at=to_db(now()))
            .execution_options(synchronize_session=False)
        )


def resend_between(session: Session, start: datetime, end: datetime) -> int:
    """Mark unsent again what was marked sent from ``start`` to ``end`` (a broker outage with a
    margin before it, see ``guanyinli.broker``); returns how many."""
    result = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.sent_at >= to_db(start), OutboxEvent.sent_at <= to_db(end))
        .values(sent_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def due(session: Session, older_than: timedelta, limit: int = 200) -> list[OutboxEvent]:
    """Unsent events older than ``older_than``, oldest first (PostgreSQL: rows another replica is reading are skipped)."""
    cutoff = to_db(now() - older_than)
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.sent_at.is_(None), OutboxEvent.created_at < cutoff)
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def prune(session: Session) -> None:
    session.execute(delete(OutboxEvent).where(OutboxEvent.sent_at < to_db(now() - KEEP_SENT)))
