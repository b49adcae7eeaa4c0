"""Stand-in offers over a unit of work: open, take, withdraw, alert and list; and the events of other
services handled once.

The rules (who fits a duty, the states of an offer) are in ``domain``. An offer is taken with one
conditional UPDATE (``status`` open or unfilled -> taken), as a seat is taken (``store._take_seat``):
of concurrent acceptances on any number of replicas exactly one changes the row, and the others
find it taken. The volunteer who offered the duty keeps it until then; taking it cancels their
sign-up and confirms the taker's in the same transaction, the seat handed over without a waitlist
promotion. The alert of an offer nobody took is the same guard (open -> unfilled) with its event in
the outbox of that transaction, so it goes out once, whichever replica's timer gets there first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from activities import domain, store, views
from activities.domain import Booked, Helper, OpenDuty
from activities.exceptions import StandinClosed
from activities.models import (
    HandledEvent,
    Occurrence,
    Roster,
    Signup,
    StandinOffer,
)
from guanyinli.db import dialect_insert
from guanyinli.errors import NotFound
from guanyinli.timeutil import from_db, to_db


@dataclass(frozen=True)
class Target:
    """A sign-up's duty as the stand-in rules need it (plain values, read in a unit of work)."""

    signup_id: int
    volunteer_id: int
    status: str  # of the sign-up
    occurrence_id: int
    scheduled: bool  # the occurrence (and its activity) is not cancelled
    kind: str
    role: str
    skills: tuple[str, ...]
    start: datetime  # the role's duty window, aware
    end: datetime
    grid_id: int | None
    rostered: bool  # a duty of a published patrol roster

    def open_duty(self, caps: domain.WeeklyCaps | None = None) -> OpenDuty:
        return OpenDuty(
            occurrence_id=self.occurrence_id,
            kind=self.kind,
            start=self.start,
            end=self.end,
            skills=self.skills,
            **(caps or domain.WeeklyCaps()).of(self.kind),
        )

    def booking_window(self) -> tuple[datetime, datetime]:
        """Where a volunteer's confirmed duties can clash with this one or count against its weekly cap."""
        monday, next_monday = domain.week_span(self.start)
        return min(monday, self.start) - store.DUTY_MARGIN, max(next_monday, self.end) + store.DUTY_MARGIN


def target(signup: Signup) -> Target:
    occ = signup.occurrence
    role = signup.occurrence_role.role
    start, end = store.duty_of(occ, role)
    return Target(
        signup_id=signup.id,
        volunteer_id=signup.volunteer_id,
        status=signup.status,
        occurrence_id=occ.id,
        scheduled=store.effective_status(occ) == "scheduled",
        kind=occ.activity.kind,
        role=role.name,
        skills=tuple(role.skills or ()),
        start=start,
        end=end,
        grid_id=store.effective_place(occ)[0],
        rostered=signup.source == "roster",
    )


def helper(record: dict, available: bool, reason: str | None, duties: tuple[Booked, ...]) -> Helper:
    """A volunteers service record (``get_volunteer``, ``available_volunteers``) as the fits rule sees it."""
    return Helper(
        volunteer_id=int(record["id"]),
        active=bool(record.get("active", True)),
        skills=tuple(record.get("skills") or ()),
        available=available,
        reason=reason,
        duties=duties,
        max_per_week=record.get("max_duties_per_week"),
    )


# --- offers ------------------------------------------------------------------------------------------


def get(session: Session, offer_id: int) -> StandinOffer:
    offer = session.get(StandinOffer, offer_id)
    if offer is None:
        raise NotFound(f"offer_id: no stand-in offer {offer_id}", f"没有编号为{offer_id}的替班")
    return offer


def offer_of(row: StandinOffer) -> domain.Offer:
    return domain.Offer(
        id=row.id,
        volunteer_id=row.volunteer_id,
        status=row.status,
        duty_start=target(row.signup).start,
        taken_by=row.taken_by,
    )


def live_offer(session: Session, signup_id: int) -> StandinOffer | None:
    return session.scalars(
        select(StandinOffer).where(StandinOffer.signup_id == signup_id, StandinOffer.status.in_(domain.STANDIN_LIVE))
    ).first()


def open_offer(
    session: Session,
    signup_id: int,
    now: datetime,
    *,
    cause: str,
    alert_lead: timedelta,
    candidates: list[int],
    grid_leader_id: int | None,
    reason: str | None = None,
) -> tuple[StandinOffer, bool]:
    """Offer a confirmed duty that has not started; returns the offer and whether it is new (a sign-up
    with a live offer keeps that one). The sign-up stays confirmed."""
    signup = session.scalars(select(Signup).where(Signup.id == signup_id).with_for_update()).first()
    if signup is None:
        raise NotFound(f"signup_id: no sign-up {signup_id}")
    existing = live_offer(session, signup_id)
    if existing is not None:
        return existing, False
    duty = target(signup)
    domain.check_standin_offer(duty.status, duty.start, now, duty.scheduled)
    offer = StandinOffer(
        signup_id=signup.id,
        occurrence_id=duty.occurrence_id,
        occurrence_role_id=signup.occurrence_role_id,
        volunteer_id=signup.volunteer_id,
        status="open",
        reason=reason,
        cause=cause,
        grid_id=duty.grid_id,
        grid_leader_id=grid_leader_id,
        candidate_ids=sorted(set(candidates) - {signup.volunteer_id}),
        alert_at=to_db(domain.alert_time(duty.start, now, alert_lead)),
        created_at=to_db(now),
    )
    session.add(offer)
    session.flush()
    return offer, True


def take(
    session: Session,
    offer_id: int,
    record: dict,
    available: bool,
    reason: str | None,
    now: datetime,
    caps: domain.WeeklyCaps | None = None,
) -> tuple[StandinOffer, bool]:
    """The volunteer of ``record`` takes the offer, if they fit; returns it and whether this call took it.

    Asked again by the volunteer who took it, it answers the same. Refused with ``StandinTaken``
    when another volunteer took it first, ``StandinClosed`` when it was withdrawn, its duty started
    or is no longer the offering volunteer's, and the fits rule's error when they do not fit."""
    volunteer_id = int(record["id"])
    offer = get(session, offer_id)
    if offer.status == "taken" and offer.taken_by == volunteer_id:
        return offer, False
    domain.check_standin_take(offer_of(offer), volunteer_id, now)
    store._lock_volunteer(session, volunteer_id)  # their clash check, serialised with their sign-ups
    duty = target(offer.signup)
    held = store.booked(session, [volunteer_id], *duty.booking_window())[volunteer_id]
    problem = domain.misfit(duty.open_duty(caps), helper(record, available, reason, held))
    if problem is not None:
        raise problem
    stamp = to_db(now)
    won = session.execute(
        update(StandinOffer)
        .where(StandinOffer.id == offer_id, StandinOffer.status.in_(domain.STANDIN_LIVE))
        .values(status="taken", taken_by=volunteer_id, closed_at=stamp)
        .execution_options(synchronize_session=False)
    )
    session.refresh(offer)
    if won.rowcount != 1:
        if offer.taken_by == volunteer_id:
            return offer, False
        domain.check_standin_take(offer_of(offer), volunteer_id, now)
        raise StandinClosed(f"stand-in offer {offer_id} is {offer.status}", f"替班{offer_id}已结束")
    old = session.scalars(select(Signup).where(Signup.id == offer.signup_id).with_for_update()).one()
    if old.status != "confirmed" or not duty.scheduled:
        raise StandinClosed(
            f"stand-in offer {offer_id}: the duty is no longer volunteer {offer.volunteer_id}'s or was cancelled",
            f"替班{offer_id}的班次已取消或已不属于原志愿者",
        )
    new = store.find_signup(session, None, old.occurrence_role_id, volunteer_id)
    if new is None:
        new = Signup(
            occurrence_id=old.occurrence_id,
            occurrence_role_id=old.occurrence_role_id,
            volunteer_id=volunteer_id,
            created_at=stamp,
        )
        session.add(new)
    old.status, old.cancelled_at, old.updated_at, old.waitlist_number = "cancelled", stamp, stamp, None
    new.status, new.confirmed_at, new.waitlist_number, new.source = "confirmed", stamp, None, old.source
    new.cancelled_at, new.attendance, new.hours, new.updated_at = None, None, None, stamp
    session.flush()
    offer.new_signup_id = new.id
    if old.source == "roster":
        _hand_over_in_roster(session, old.occurrence, old.volunteer_id, volunteer_id)
    session.flush()
    return offer, True


def _hand_over_in_roster(session: Session, occ: Occurrence, old: int, new: int) -> None:
    """The published roster that gave ``old`` this patrol now gives it to ``new`` (and a swap checked
    against the roster before this change is refused by its version guard)."""
    shift = str(occ.id)
    rosters = session.scalars(
        select(Roster)
        .where(Roster.status == "published", Roster.start <= occ.start, Roster.end > occ.start)
        .with_for_update()
    )
    for roster in rosters:
        result = dict(roster.result or {})
        pairs = {(a["shift_id"], a["volunteer_id"]) for a in result.get("assignments", [])}
        if (shift, old) in pairs:
            pairs = (pairs - {(shift, old)}) | {(shift, new)}
            result["assignments"] = [{"shift_id": s, "volunteer_id": v} for s, v in sorted(pairs)]
            roster.result = result
            roster.version = roster.version + 1


def withdraw(session: Session, offer_id: int, now: datetime) -> tuple[StandinOffer, bool]:
    """Close a live offer as withdrawn (its volunteer can come after all); the duty stays theirs."""
    done = session.execute(
        update(StandinOffer)
        .where(StandinOffer.id == offer_id, StandinOffer.status.in_(domain.STANDIN_LIVE))
        .values(status="withdrawn", closed_at=to_db(now))
        .execution_options(synchronize_session=False)
    )
    offer = get(session, offer_id)
    session.refresh(offer)
    return offer, done.rowcount == 1


def alert_due(session: Session, now: datetime, limit: int = 100) -> list[StandinOffer]:
    """Open offers past their alert time, each turned unfilled once (a guarded UPDATE); returns those
    this call turned. An offer whose duty meanwhile left its volunteer (cancelled, repaired away) is
    closed as withdrawn instead, without an alert."""
    due = session.scalars(
        select(StandinOffer.id)
        .where(StandinOffer.status == "open", StandinOffer.alert_at <= to_db(now))
        .order_by(StandinOffer.alert_at, StandinOffer.id)
        .limit(limit)
    ).all()
    alerted = []
    for offer_id in due:
        offer = session.get(StandinOffer, offer_id)
        duty = target(offer.signup)
        stale = duty.status != "confirmed" or not duty.scheduled
        values = {"status": "withdrawn", "closed_at": to_db(now)} if stale else {"status": "unfilled"}
        turned = session.execute(
            update(StandinOffer)
            .where(StandinOffer.id == offer_id, StandinOffer.status == "open")
            .values(alerted_at=None if stale else to_db(now), **values)
            .execution_options(synchronize_session=False)
        )
        if turned.rowcount == 1 and not stale:
            session.refresh(offer)
            alerted.append(offer)
    return alerted


def live_offers(session: Session, now: datetime) -> list[StandinOffer]:
    """Offers someone may still take: live, their duty not started and still the offering volunteer's."""
    rows = session.scalars(
        select(StandinOffer)
        .join(Occurrence, StandinOffer.occurrence_id == Occurrence.id)
        .where(StandinOffer.status.in_(domain.STANDIN_LIVE), Occurrence.end > to_db(now))
        .order_by(Occurrence.start, StandinOffer.id)
    ).all()
    live = []
    for row in rows:
        duty = target(row.signup)
        if duty.status == "confirmed" and duty.scheduled and duty.start > now:
            live.append(row)
    return live


def offer_event(offer: StandinOffer) -> dict:
    """The common part of the standin_* events."""
    duty = target(offer.signup)
    return {
        **views.occurrence_ref(offer.occurrence),
        "offer_id": offer.id,
        "signup_id": offer.signup_id,
        "volunteer_id": offer.volunteer_id,
        "role": duty.role,
        "duty_start": duty.start,
        "duty_end": duty.end,
        "grid_id": offer.grid_id,
        "grid_leader_id": offer.grid_leader_id,
        "rostered": duty.rostered,
        "alert_at": from_db(offer.alert_at),
    }


def offer_view(offer: StandinOffer, private: bool) -> dict:
    """An offer for RPC answers; ``private``: with the volunteer's reason and who fitted (organisers,
    and the volunteer who offered it)."""
    view = offer_event(offer)
    view.update(
        status=offer.status,
        taken_by=offer.taken_by,
        new_signup_id=offer.new_signup_id,
        created_at=from_db(offer.created_at),
        closed_at=from_db(offer.closed_at),
        alerted_at=from_db(offer.alerted_at),
        reason=offer.reason if private else None,
        candidate_ids=list(offer.candidate_ids or []) if private else None,
    )
    return view


# --- the volunteers service's events ------------------------------------------------------------------


def was_handled(session: Session, event_id: str) -> bool:
    return session.get(HandledEvent, event_id) is not None


def mark_handled(session: Session, event_id: str, event_type: str, now: datetime) -> bool:
    """Record that this event is being acted on; False when it was already (a redelivery)."""
    stmt = (
        dialect_insert(session, HandledEvent)
        .values(event_id=event_id, event_type=event_type, handled_at=to_db(now))
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    return session.execute(stmt).rowcount == 1


def coming_duties(session: Session, volunteer_id: int, now: datetime) -> list[Target]:
    """The volunteer's confirmed and waitlisted sign-ups whose duty has not started, on live occurrences."""
    signups = session.scalars(
        select(Signup)
        .join(Occurrence, Signup.occurrence_id == Occurrence.id)
        .where(
            Signup.volunteer_id == volunteer_id,
            Signup.status.in_(("confirmed", "waitlisted")),
            Occurrence.end > to_db(now),
        )
        .order_by(Occurrence.start, Signup.id)
    ).all()
    return [t for t in (target(s) for s in signups) if t.scheduled and t.start > now]
