"""Roster swaps over a unit of work: record, apply to the roster and its duties, answer, list.

The rules (who may propose, answer or withdraw; when a proposal expires) are in ``domain``;
whether a swap breaks a hard rule of the roster is ``roster.check_swap``. Two proposals touching
the same shift must not both apply: a swap changes the roster only from the ``version`` its rule
check read (``apply``), and a proposal is answered only while still open (``answer``), both
with a conditional UPDATE, so the second of two concurrent accepts changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from activities import domain, store
from activities.models import OUTBOX, OccurrenceRole, Roster, RosterSwap, Signup
from guanyinli.errors import Conflict, NotFound
from guanyinli.timeutil import from_db, local, to_db


def swap_of(row: RosterSwap) -> domain.Swap:
    return domain.Swap(
        id=row.id,
        volunteer_a=row.volunteer_a,
        shift_a=row.shift_a,
        volunteer_b=row.volunteer_b,
        shift_b=row.shift_b,
        status=row.status,
        proposed_by=row.proposed_by,
        expires_at=from_db(row.expires_at),
    )


def view(row: RosterSwap, now: datetime) -> dict:
    """The SwapOut of a row: an open proposal past its expiry reads ``expired``."""
    return {
        "swap_id": row.id,
        "roster_id": row.roster_id,
        "status": swap_of(row).status_at(now),
        "reason": row.reason,
        "volunteer_a": row.volunteer_a,
        "shift_a": row.shift_a,
        "volunteer_b": row.volunteer_b,
        "shift_b": row.shift_b,
        "proposed_by": row.proposed_by,
        "expires_at": from_db(row.expires_at),
        "created_at": from_db(row.created_at),
        "decided_by": row.decided_by,
        "decided_at": from_db(row.decided_at),
    }


def get(session: Session, swap_id: int) -> RosterSwap:
    row = session.get(RosterSwap, swap_id)
    if row is None:
        raise NotFound(f"swap_id: no swap {swap_id}")
    return row


def expiry(result: dict, shift_a: str, shift_b: str) -> datetime | None:
    """The start of the earlier of the two shifts (aware), from the roster's document."""
    starts = [
        local(datetime.fromisoformat(s["start"]))
        for s in result.get("shifts", [])
        if s["shift_id"] in (shift_a, shift_b)
    ]
    return min(starts) if starts else None


def open_twin(session: Session, roster_id: int, a: tuple[int, str], b: tuple[int, str], now: datetime) -> int | None:
    """An open proposal of the same swap (either way round), if there is one."""
    stamp = to_db(now)
    same = [
        and_(
            RosterSwap.volunteer_a == x[0],
            RosterSwap.shift_a == x[1],
            RosterSwap.volunteer_b == y[0],
            RosterSwap.shift_b == y[1],
        )
        for x, y in ((a, b), (b, a))
    ]
    return session.scalars(
        select(RosterSwap.id).where(
            RosterSwap.roster_id == roster_id,
            RosterSwap.status == "proposed",
            or_(RosterSwap.expires_at.is_(None), RosterSwap.expires_at > stamp),
            or_(*same),
        )
    ).first()


def event_payload(row: RosterSwap, result: dict, by_organiser: bool, reason: str | None = None) -> dict:
    """A swap event: ``shifts[i]`` is the shift ``volunteer_ids[i]`` held before the swap."""
    shifts = {s["shift_id"]: s for s in result.get("shifts", [])}
    return {
        "swap_id": row.id,
        "roster_id": row.roster_id,
        "volunteer_ids": [row.volunteer_a, row.volunteer_b],
        "shifts": [
            {
                "shift_id": s,
                "grid_id": shifts[s]["grid_id"],
                "start": shifts[s]["start"],
                "end": shifts[s]["end"],
                "occurrence_id": int(s),
            }
            for s in (row.shift_a, row.shift_b)
        ],
        "proposed_by": row.proposed_by,
        "by_organiser": by_organiser,
        "reason": reason,
    }


def apply(session: Session, row: RosterSwap, version: int, by_organiser: bool) -> None:
    """Swap the two shifts in the roster (and its duties, once published); queue swap_accepted.

    Conflict when the roster changed since ``version`` was read (another swap, a repair): its rule
    check no longer holds, and the caller asks again."""
    roster = session.get(Roster, row.roster_id)
    guarded = session.execute(
        update(Roster)
        .where(Roster.id == row.roster_id, Roster.version == version, Roster.status.in_(("draft", "published")))
        .values(version=Roster.version + 1)
        .execution_options(synchronize_session=False)
    )
    if guarded.rowcount != 1:
        raise Conflict(
            f"roster_id: roster {row.roster_id} changed while swap {row.id} was checked; ask again",
            f"检查换班申请{row.id}期间排班{row.roster_id}已有变动，请重试",
        )
    session.refresh(roster)
    a, b = (row.shift_a, row.volunteer_a), (row.shift_b, row.volunteer_b)
    result = dict(roster.result)
    pairs = {(x["shift_id"], x["volunteer_id"]) for x in result.get("assignments", [])}
    pairs = (pairs - {a, b}) | {(row.shift_b, row.volunteer_a), (row.shift_a, row.volunteer_b)}
    result["assignments"] = [{"shift_id": s, "volunteer_id": v} for s, v in sorted(pairs)]
    roster.result = result
    if roster.status == "published":
        for shift_id, vid in (a, b):
            signup = session.scalars(
                select(Signup)
                .join(OccurrenceRole)
                .where(Signup.occurrence_id == int(shift_id), Signup.volunteer_id == vid, Signup.status == "confirmed")
            ).first()
            if signup is not None:
                store.cancel_sign_up(session, signup.id)
        store.assign_patrol_duty(session, int(row.shift_b), row.volunteer_a)
        store.assign_patrol_duty(session, int(row.shift_a), row.volunteer_b)
    session.flush()
    OUTBOX.add(session, "swap_accepted", event_payload(row, result, by_organiser))


def answer(
    session: Session, swap_id: int, status: str, decided_by: str | None, now: datetime, reason: str | None = None
) -> RosterSwap:
    """Close an open, unexpired proposal as ``status``; Conflict when another answer came first."""
    values = {"status": status, "decided_by": decided_by, "decided_at": to_db(now)}
    if reason is not None:
        values["reason"] = reason
    done = session.execute(
        update(RosterSwap)
        .where(
            RosterSwap.id == swap_id,
            RosterSwap.status == "proposed",
            or_(RosterSwap.expires_at.is_(None), RosterSwap.expires_at > to_db(now)),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict(f"swap_id: swap {swap_id} was answered meanwhile", f"换班申请{swap_id}刚刚已被处理")
    row = get(session, swap_id)
    session.refresh(row)
    return row


def query(
    session: Session,
    now: datetime,
    roster_id: int | None,
    volunteer_id: int | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[RosterSwap]:
    """Swaps newest first; ``status`` as ``view`` reads it (``proposed`` and ``expired`` split on expires_at)."""
    stmt = select(RosterSwap)
    if roster_id is not None:
        stmt = stmt.where(RosterSwap.roster_id == roster_id)
    if volunteer_id is not None:
        stmt = stmt.where(or_(RosterSwap.volunteer_a == volunteer_id, RosterSwap.volunteer_b == volunteer_id))
    stamp = to_db(now)
    if status == "proposed":
        stmt = stmt.where(
            RosterSwap.status == "proposed", or_(RosterSwap.expires_at.is_(None), RosterSwap.expires_at > stamp)
        )
    elif status == "expired":
        stmt = stmt.where(and_(RosterSwap.status == "proposed", RosterSwap.expires_at <= stamp))
    elif status is not None:
        stmt = stmt.where(RosterSwap.status == status)
    return list(session.scalars(stmt.order_by(RosterSwap.id.desc()).limit(limit).offset(offset)))
