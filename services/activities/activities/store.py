"""Use cases of the activities service on one SQLAlchemy session (the unit of work).

The service opens the session (``db.get_session()``: commit on success, rollback on error) and
dispatches events after the commit; the rules themselves are in ``domain``. Seats are taken with a
conditional UPDATE on ``occurrence_roles`` (``WHERE confirmed < capacity``), which takes the row
lock on PostgreSQL and runs under ``BEGIN IMMEDIATE`` on SQLite, so concurrent sign-ups from any
number of replicas queue on the role's row and the CHECK constraint is the last word.

The roster (``activities.roster``) calls ``ensure_occurrence`` and ``assign_patrol_duty``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from activities import domain, recurrence
from activities.domain import Booked, RuleViolation, SignupCheck
from activities.exceptions import OccurrenceClosed, RoleFull
from activities.models import (
    Activity,
    ActivityExdate,
    ActivityRole,
    Occurrence,
    OccurrenceRole,
    Registration,
    Signup,
    VolunteerStats,
)
from guanyinli.db import dialect_insert
from guanyinli.errors import InvalidInput, NotFound
from guanyinli.timeutil import from_db, local, now, to_db

log = logging.getLogger(__name__)

DUTY_MARGIN = timedelta(days=1)  # role offsets never reach further than this from an occurrence


def _touch(obj) -> None:
    obj.sequence = (obj.sequence or 0) + 1
    obj.updated_at = to_db(now())


# --- activities ------------------------------------------------------------------------------


def get_activity(session: Session, activity_id: int) -> Activity:
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"activity {activity_id} not found")
    return activity


def list_activities(
    session: Session, kind: str | None, team: str | None, grid_id: int | None, include_cancelled: bool
) -> list[Activity]:
    query = _matching(select(Activity), kind=kind, team=team, grid_id=grid_id)
    if not include_cancelled:
        query = query.where(Activity.status == "active")
    return list(session.scalars(query.order_by(Activity.dtstart, Activity.id)))


def _matching(query, **filters):
    """``query`` narrowed to activities whose columns equal the filters that are given."""
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(Activity, column) == value)
    return query


def count_active(session: Session) -> int:
    return session.scalar(select(func.count(Activity.id)).where(Activity.status == "active"))


def _set_exdates(activity: Activity, exdates: list[datetime]) -> None:
    wanted = {to_db(d) for d in exdates}
    for ex in list(activity.exdates):
        if ex.original_start not in wanted:
            activity.exdates.remove(ex)
    have = {ex.original_start for ex in activity.exdates}
    for d in sorted(wanted - have):
        activity.exdates.append(ActivityExdate(original_start=d))


def _set_roles(session: Session, activity: Activity, roles: list[dict]) -> None:
    by_name = {r.name: r for r in activity.roles}
    wanted = {r["name"] for r in roles}
    for name, role in by_name.items():
        if name not in wanted:
            taken = session.scalar(
                select(func.count(Signup.id))
                .join(OccurrenceRole, Signup.occurrence_role_id == OccurrenceRole.id)
                .where(OccurrenceRole.role_id == role.id, Signup.status != "cancelled")
            )
            if taken:
                raise RuleViolation("conflict", f"role {name!r} has sign-ups; cancel them before removing it")
            activity.roles.remove(role)
    for spec in roles:
        role = by_name.get(spec["name"])
        if role is None:
            activity.roles.append(ActivityRole(**spec))
        else:
            for key, value in spec.items():
                setattr(role, key, value)


def create_activity(
    session: Session, data: dict, created_by: int | None = None, teams: Container[str] | None = None
) -> Activity:
    """A new activity; without a team, the kind's usual one if the community has it (``teams``, its codes)."""
    kind = data["kind"]
    domain.check_place(kind, data.get("grid_id"), data.get("courtyard"), data.get("room"))
    try:
        rule = recurrence.validate(data["start"], data.get("rrule"))
    except recurrence.RecurrenceError as exc:
        raise RuleViolation("invalid", f"rrule: {exc}") from None
    activity = Activity(
        title=data["title"],
        kind=kind,
        team=domain.team_for(kind, data.get("team"), teams),
        description=data.get("description"),
        grid_id=data.get("grid_id"),
        courtyard=data.get("courtyard"),
        room=data.get("room"),
        dtstart=to_db(data["start"]),
        duration_minutes=data["duration_minutes"],
        rrule=rule,
        capacity=data.get("capacity"),
        pupils_per_tutor=data.get("pupils_per_tutor")
        or (domain.DEFAULT_PUPILS_PER_TUTOR if kind == "tutoring" else None),
        visited_person=data.get("visited_person"),
        private_address=data.get("private_address"),
        health_notes=data.get("health_notes"),
        feed_shows_details=bool(data.get("feed_shows_details")),
        status="active",
        sequence=0,
        created_by=created_by,
        demo_key=data.get("demo_key"),
    )
    if kind == "lecture" and not activity.capacity:
        raise RuleViolation("invalid", "capacity: a lecture needs the room's capacity")
    activity.roles = [ActivityRole(**r) for r in domain.roles_for(kind, data.get("roles"))]
    session.add(activity)
    _set_exdates(activity, data.get("exdates") or [])
    session.flush()
    return activity


SCHEDULE_FIELDS = ("start", "duration_minutes", "rrule", "exdates")
PLACE_FIELDS = ("grid_id", "courtyard", "room")
SCALAR_FIELDS = (
    "title",
    "team",
    "description",
    "grid_id",
    "courtyard",
    "room",
    "duration_minutes",
    "capacity",
    "pupils_per_tutor",
    "visited_person",
    "private_address",
    "health_notes",
    "feed_shows_details",
)


def update_activity(
    session: Session, activity_id: int, changes: dict
) -> tuple[Activity, list[str], list[Occurrence], list[Signup]]:
    """Apply changes; returns the activity, the names of changed fields, the occurrences it
    cancelled and the waitlisted sign-ups promoted because roles got more seats."""
    activity = get_activity(session, activity_id)
    if activity.status == "cancelled":
        raise RuleViolation("closed", f"activity {activity_id} is cancelled")
    changed: list[str] = []
    for key in SCALAR_FIELDS:
        if key in changes and getattr(activity, key) != changes[key]:
            setattr(activity, key, changes[key])
            changed.append(key)
    if "start" in changes and from_db(activity.dtstart) != local(changes["start"]):
        activity.dtstart = to_db(changes["start"])
        changed.append("start")
    if "rrule" in changes:
        try:
            rule = recurrence.validate(from_db(activity.dtstart), changes["rrule"])
        except recurrence.RecurrenceError as exc:
            raise RuleViolation("invalid", f"rrule: {exc}") from None
        if rule != activity.rrule:
            activity.rrule = rule
            changed.append("rrule")
    elif "start" in changed and activity.rrule:
        try:
            recurrence.validate(from_db(activity.dtstart), activity.rrule)
        except recurrence.RecurrenceError as exc:
            raise RuleViolation("invalid", f"rrule: {exc}") from None
    if "exdates" in changes:
        before = {e.original_start for e in activity.exdates}
        _set_exdates(activity, changes["exdates"])
        if {e.original_start for e in activity.exdates} != before:
            changed.append("exdates")
    if "roles" in changes:
        _set_roles(session, activity, domain.roles_for(activity.kind, changes["roles"]))
        changed.append("roles")
    domain.check_place(activity.kind, activity.grid_id, activity.courtyard, activity.room)
    if activity.kind == "lecture" and not activity.capacity:
        raise RuleViolation("invalid", "capacity: a lecture needs the room's capacity")
    cancelled: list[Occurrence] = []
    promoted: list[Signup] = []
    if changed:
        _touch(activity)
        session.flush()
        if any(k in changed for k in SCHEDULE_FIELDS):
            cancelled = _reconcile(session, activity)
        if any(k in changed for k in PLACE_FIELDS):
            _bump_future(session, activity)
        if any(k in changed for k in ("roles", "capacity", "pupils_per_tutor")):
            promoted = _resize_future(session, activity)
    return activity, changed, cancelled, promoted


def _future_occurrences(session: Session, activity: Activity) -> list[Occurrence]:
    return list(
        session.scalars(
            select(Occurrence)
            .where(Occurrence.activity_id == activity.id, Occurrence.end > to_db(now()))
            .order_by(Occurrence.original_start)
        )
    )


def _active_volunteers(session: Session, occurrence_ids: list[int], statuses=("confirmed",)) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    if occurrence_ids:
        rows = session.execute(
            select(Signup.occurrence_id, Signup.volunteer_id)
            .where(Signup.occurrence_id.in_(occurrence_ids), Signup.status.in_(statuses))
            .order_by(Signup.id)
        )
        for occurrence_id, volunteer_id in rows:
            found[occurrence_id].append(volunteer_id)
    return found


def _reconcile(session: Session, activity: Activity) -> list[Occurrence]:
    """After a schedule change: move future occurrences with the rule, cancel those it dropped."""
    excluded = {e.original_start for e in activity.exdates}
    duration = timedelta(minutes=activity.duration_minutes)
    future = _future_occurrences(session, activity)
    ids = [o.id for o in future]
    # Occurrences anyone signed up or registered for, or that an organiser overrode, are cancelled
    # (records kept, calendars told); untouched ones are simply removed.
    with_people = set(session.scalars(select(Signup.occurrence_id).where(Signup.occurrence_id.in_(ids))))
    with_people |= set(session.scalars(select(Registration.occurrence_id).where(Registration.occurrence_id.in_(ids))))
    cancelled = []
    for occ in future:
        keep = occ.original_start not in excluded and recurrence.is_occurrence(
            from_db(activity.dtstart), activity.rrule, from_db(occ.original_start)
        )
        if keep:
            if not occ.overridden and occ.end != occ.start + duration:
                occ.end = occ.start + duration
                _touch(occ)
        elif occ.status != "cancelled":
            if occ.id in with_people or occ.overridden:
                occ.status = "cancelled"
                occ.cancelled_at = to_db(now())
                occ.cancel_reason = "the schedule of the activity changed"
                _touch(occ)
                cancelled.append(occ)
            else:
                session.delete(occ)
    session.flush()
    return cancelled


def _bump_future(session: Session, activity: Activity) -> None:
    for occ in _future_occurrences(session, activity):
        _touch(occ)


def _resize_future(session: Session, activity: Activity) -> list[Signup]:
    promoted: list[Signup] = []
    for occ in _future_occurrences(session, activity):
        ensure_roles(session, [occ])
        occ.attendee_capacity = max(activity.capacity or 0, occ.attendees) if activity.capacity else None
        session.flush()
        promote_registrations(session, occ)
        session.refresh(occ)
        promoted += _resize_roles(session, occ)
    return promoted


def cancel_activity(session: Session, activity_id: int, reason: str | None) -> tuple[Activity, list[Occurrence]]:
    """Cancel the activity and its future occurrences (records kept); returns the occurrences cancelled."""
    activity = get_activity(session, activity_id)
    if activity.status == "cancelled":
        return activity, []
    activity.status = "cancelled"
    activity.cancelled_at = to_db(now())
    activity.cancel_reason = reason
    _touch(activity)
    cancelled = []
    for occ in _future_occurrences(session, activity):
        if occ.status != "cancelled":
            occ.status = "cancelled"
            occ.cancelled_at = activity.cancelled_at
            occ.cancel_reason = reason
            _touch(occ)
            cancelled.append(occ)
    session.flush()
    return activity, cancelled


# --- occurrences -----------------------------------------------------------------------------


def ensure_roles(session: Session, occurrences: list[Occurrence]) -> None:
    """Give each occurrence a seat row per role of its activity (idempotent, concurrency-safe)."""
    if not occurrences:
        return
    have = dict(
        session.execute(
            select(OccurrenceRole.occurrence_id, func.count(OccurrenceRole.id))
            .where(OccurrenceRole.occurrence_id.in_([o.id for o in occurrences]))
            .group_by(OccurrenceRole.occurrence_id)
        ).all()
    )
    # Reads stay reads: only occurrences short of a seat row are written to.
    occurrences = [o for o in occurrences if have.get(o.id, 0) < len(o.activity.roles)]
    rows = []
    for occ in occurrences:
        activity = occ.activity
        for role in activity.roles:
            seats = domain.seats_for(
                role.name, role.needed, activity.kind, occ.attendees or 0, activity.pupils_per_tutor
            )
            rows.append(
                {"occurrence_id": occ.id, "role_id": role.id, "capacity": seats, "confirmed": 0, "waitlist_counter": 0}
            )
    for i in range(0, len(rows), 500):
        stmt = dialect_insert(session, OccurrenceRole).values(rows[i : i + 500])
        session.execute(stmt.on_conflict_do_nothing(index_elements=["occurrence_id", "role_id"]))


def ensure_occurrences(session: Session, activity: Activity, starts: list[datetime]) -> list[Occurrence]:
    """Materialise one row per (activity, original start); existing rows are kept as they are."""
    if not starts:
        return []
    duration = timedelta(minutes=activity.duration_minutes)
    keys = sorted({to_db(s) for s in starts})
    found = _existing(session, activity, keys)
    if len(found) == len(keys):
        ensure_roles(session, found)
        return found
    stamp = to_db(now())
    rows = [
        {
            "activity_id": activity.id,
            "original_start": k,
            "start": k,
            "end": k + duration,
            "overridden": False,
            "status": "scheduled",
            "attendee_capacity": activity.capacity if activity.kind in ("lecture", "tutoring") else None,
            "attendees": 0,
            "attendee_queue": 0,
            "sequence": 0,
            "created_at": stamp,
            "updated_at": stamp,
        }
        for k in keys
    ]
    for i in range(0, len(rows), 500):
        stmt = dialect_insert(session, Occurrence).values(rows[i : i + 500])
        session.execute(stmt.on_conflict_do_nothing(index_elements=["activity_id", "original_start"]))
    found = _existing(session, activity, keys)
    ensure_roles(session, found)
    return found


def _existing(session: Session, activity: Activity, keys: list[datetime]) -> list[Occurrence]:
    """The activity's rows at these original starts (naive UTC, sorted)."""
    # Ordered, so concurrent first listings lock rows in the same order (no deadlock on PostgreSQL).
    return list(
        session.scalars(
            select(Occurrence)
            .where(Occurrence.activity_id == activity.id, Occurrence.original_start.in_(keys))
            .order_by(Occurrence.original_start)
        )
    )


def ensure_occurrence(session: Session, activity_id: int, original_start: datetime) -> Occurrence:
    """The occurrence of an activity at an original start of its rule (materialised if needed)."""
    activity = get_activity(session, activity_id)
    try:
        planned = recurrence.is_occurrence(from_db(activity.dtstart), activity.rrule, original_start)
    except recurrence.RecurrenceError as exc:
        raise RuleViolation("invalid", f"activity {activity_id}: rrule {activity.rrule!r}: {exc}") from None
    if not planned or to_db(original_start) in {e.original_start for e in activity.exdates}:
        raise NotFound(f"activity {activity_id} has no occurrence starting {local(original_start).isoformat()}")
    return ensure_occurrences(session, activity, [original_start])[0]


def get_occurrence(session: Session, occurrence_id: int) -> Occurrence:
    # Seat rows exist: they are made with the occurrence, and role changes add them (``_resize_future``).
    occ = session.get(Occurrence, occurrence_id)
    if occ is None:
        raise NotFound(f"occurrence {occurrence_id} not found")
    return occ


def effective_status(occ: Occurrence) -> str:
    return "cancelled" if occ.status == "cancelled" or occ.activity.status == "cancelled" else "scheduled"


def effective_place(occ: Occurrence) -> tuple[int | None, str | None, str | None]:
    if occ.overridden and (occ.grid_id is not None or occ.courtyard or occ.room):
        return occ.grid_id, occ.courtyard, occ.room
    return occ.activity.grid_id, occ.activity.courtyard, occ.activity.room


@dataclass
class PlannedOccurrence:
    """An occurrence computed from its activity's rule but not written to the database (no id yet).

    Carries the attributes of an ``Occurrence`` row that views read, in the row's form (naive UTC).
    """

    activity: Activity
    original_start: datetime
    start: datetime
    end: datetime
    id: None = None
    overridden: bool = False
    status: str = "scheduled"
    grid_id: None = None
    courtyard: None = None
    room: None = None
    cancelled_at: None = None
    cancel_reason: None = None
    sequence: int = 0
    attendees: int = 0
    attendee_capacity: int | None = None

    @property
    def activity_id(self) -> int:
        return self.activity.id

    @property
    def updated_at(self) -> datetime:
        return self.activity.updated_at


def _planned(activity: Activity, original_start: datetime) -> PlannedOccurrence:
    key = to_db(original_start)
    return PlannedOccurrence(
        activity=activity,
        original_start=key,
        start=key,
        end=key + timedelta(minutes=activity.duration_minutes),
        attendee_capacity=activity.capacity if activity.kind in ("lecture", "tutoring") else None,
    )


def _starts(activity: Activity, start: datetime, end: datetime) -> list[datetime]:
    try:
        return recurrence.original_starts(
            from_db(activity.dtstart),
            activity.rrule,
            timedelta(minutes=activity.duration_minutes),
            start,
            end,
            {from_db(e.original_start) for e in activity.exdates},
        )
    except recurrence.RecurrenceError as exc:
        raise RuleViolation("invalid", f"activity {activity.id}: rrule {activity.rrule!r}: {exc}") from None


def list_occurrences(
    session: Session,
    start: datetime,
    end: datetime,
    kind: str | None = None,
    team: str | None = None,
    grid_id: int | None = None,
    activity_id: int | None = None,
    rows: domain.Materialise = domain.EVERYTHING,
) -> list[Occurrence | PlannedOccurrence]:
    """Occurrences overlapping [start, end); moved ones appear where they moved to.

    Occurrences whose original start ``rows`` accepts are materialised (written with their seat
    rows); the others are stored rows when they exist, else ``PlannedOccurrence``. An activity
    whose stored rule cannot be expanded (stored before today's checks) is left out with a warning,
    or refused with ``RuleViolation("invalid")`` when the listing names it.
    """
    domain.check_window(start, end)
    query = _matching(select(Activity).where(Activity.dtstart < to_db(end)), kind=kind, team=team, id=activity_id)
    activities = list(session.scalars(query.order_by(Activity.id)))
    result: dict[int, Occurrence] = {}
    planned: list[PlannedOccurrence] = []
    for activity in activities:
        if activity.status != "active":
            continue
        try:
            starts = _starts(activity, start, end)
        except RuleViolation as exc:
            if activity_id is not None:
                raise
            log.warning("listing leaves out %s", exc)
            continue
        for occ in ensure_occurrences(session, activity, [s for s in starts if rows(s)]):
            result[occ.id] = occ
        later = [s for s in starts if not rows(s)]
        if later:
            # Rows an organiser's listing (or a roster, a sign-up) made stand for their occurrence.
            have = {o.original_start for o in _existing(session, activity, [to_db(s) for s in later])}
            planned += [_planned(activity, s) for s in later if to_db(s) not in have]
    if activities:
        # Rows already in the database: moved into the window, or of cancelled activities.
        stored = session.scalars(
            select(Occurrence).where(
                Occurrence.activity_id.in_([a.id for a in activities]),
                Occurrence.start < to_db(end),
                Occurrence.end > to_db(start),
            )
        )
        for occ in stored:
            result.setdefault(occ.id, occ)
    chosen = [
        occ
        for occ in [*result.values(), *planned]
        if occ.start < to_db(end) and occ.end > to_db(start) and (grid_id is None or effective_place(occ)[0] == grid_id)
    ]
    ensure_roles(session, [o for o in chosen if o.id is not None and rows(from_db(o.original_start))])
    return sorted(chosen, key=lambda o: (o.start, o.activity_id, o.id or 0))


def cancel_occurrence(session: Session, occurrence_id: int, reason: str | None) -> tuple[Occurrence, bool]:
    """Cancel one occurrence (kept, marked); returns it and whether it changed."""
    occ = get_occurrence(session, occurrence_id)
    if occ.status == "cancelled":
        return occ, False
    occ.status = "cancelled"
    occ.cancelled_at = to_db(now())
    occ.cancel_reason = reason
    _touch(occ)
    session.flush()
    return occ, True


def update_occurrence(
    session: Session, occurrence_id: int, changes: dict
) -> tuple[Occurrence, datetime, datetime, list[str]]:
    """Override one occurrence's time or place; returns it with its previous start and end."""
    occ = get_occurrence(session, occurrence_id)
    if effective_status(occ) == "cancelled":
        raise RuleViolation("closed", f"occurrence {occurrence_id} is cancelled")
    previous = (occ.start, occ.end)
    new_start = to_db(changes["start"]) if changes.get("start") else occ.start
    if changes.get("end"):
        new_end = to_db(changes["end"])
    else:
        new_end = new_start + (occ.end - occ.start)
    if new_end <= new_start:
        raise RuleViolation("invalid", "end: must be after start")
    changed = []
    if (new_start, new_end) != previous:
        occ.start, occ.end = new_start, new_end
        changed += ["start", "end"]
    current = dict(zip(PLACE_FIELDS, effective_place(occ), strict=True))
    place = {k: changes.get(k, current[k]) for k in PLACE_FIELDS}
    moved = [k for k in PLACE_FIELDS if place[k] != current[k]]
    if moved:
        domain.check_place(occ.activity.kind, place["grid_id"], place["courtyard"], place["room"])
        changed += moved
    if changed:
        # An overridden occurrence carries its whole place, so later activity edits leave it be.
        occ.grid_id, occ.courtyard, occ.room = place["grid_id"], place["courtyard"], place["room"]
        occ.overridden = True
        _touch(occ)
        session.flush()
    return occ, from_db(previous[0]), from_db(previous[1]), changed


def occurrence_volunteers(session: Session, occurrence_id: int) -> list[int]:
    return _active_volunteers(session, [occurrence_id]).get(occurrence_id, [])


# --- seats ----------------------------------------------------------------------------------
# The rules of seats and waitlists are ``domain``'s (Seats, Waiting, promotions); here they are
# loaded and applied. One mechanism serves two pools: a role's seats for volunteers (a row of
# occurrence_roles, sign-ups waiting) and a hall's places for residents (the occurrence's row,
# registrations waiting). A seat is taken by a guarded UPDATE, so the database has the last word.


@dataclass(frozen=True)
class SeatPool:
    """Where one kind of seat lives: the row counting them and the rows that wait for them."""

    table: type  # the row with capacity, taken and the last waitlist number handed out
    capacity: Any
    taken: Any
    counter: Any
    waiting: type  # the rows that hold a seat or wait for one
    owner: Any  # their column naming the row of seats
    seated: str  # their status once they hold a seat
    stamps: tuple[str, ...] = ()  # columns set to the moment they got it


ROLE_SEATS = SeatPool(
    OccurrenceRole,
    OccurrenceRole.capacity,
    OccurrenceRole.confirmed,
    OccurrenceRole.waitlist_counter,
    Signup,
    Signup.occurrence_role_id,
    "confirmed",
    ("confirmed_at", "updated_at"),
)
HALL_PLACES = SeatPool(
    Occurrence,
    Occurrence.attendee_capacity,
    Occurrence.attendees,
    Occurrence.attendee_queue,
    Registration,
    Registration.occurrence_id,
    "registered",
)


def _take_seat(session: Session, pool: SeatPool, row_id: int) -> bool:
    result = session.execute(
        update(pool.table)
        .where(pool.table.id == row_id, pool.capacity.is_(None) | (pool.taken < pool.capacity))
        .values({pool.taken: pool.taken + 1})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _release_seat(session: Session, pool: SeatPool, row_id: int) -> None:
    session.execute(
        update(pool.table)
        .where(pool.table.id == row_id)
        .values({pool.taken: pool.taken - 1})
        .execution_options(synchronize_session=False)
    )


def _next_waitlist_number(session: Session, pool: SeatPool, row_id: int) -> int:
    """The next number of the row's waitlist, in one round trip (``UPDATE ... RETURNING``)."""
    return session.execute(
        update(pool.table)
        .where(pool.table.id == row_id)
        .values({pool.counter: pool.counter + 1})
        .returning(pool.counter)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def _seats(session: Session, pool: SeatPool, row_id: int) -> domain.Seats:
    """The seats as they are now (counters change under the ORM's feet)."""
    capacity, taken = session.execute(select(pool.capacity, pool.taken).where(pool.table.id == row_id)).one()
    return domain.Seats(capacity, taken)


def _waiting(session: Session, pool: SeatPool, row_id: int) -> list:
    """The rows on the waitlist, in order, locked: a concurrent cancellation waits, or is left out."""
    return list(
        session.scalars(
            select(pool.waiting)
            .where(pool.owner == row_id, pool.waiting.status == "waitlisted")
            .order_by(pool.waiting.waitlist_number)
            .with_for_update()
        )
    )


def _promote(session: Session, pool: SeatPool, row_id: int, passed_over=None) -> list:
    """Give free seats to the heads of the waitlist (``domain.promotions``); returns the rows promoted."""
    waiting = _waiting(session, pool, row_id)
    if not waiting:
        return []
    rows = {w.id: w for w in waiting}
    places = [domain.Waiting(w.id, w.waitlist_number, getattr(w, "volunteer_id", None)) for w in waiting]
    promoted = []
    stamp = to_db(now())
    for place in domain.promotions(_seats(session, pool, row_id), places, passed_over or (lambda _: False)):
        if not _take_seat(session, pool, row_id):  # another worker gave the seat meanwhile
            break
        row = rows[place.id]
        row.status, row.waitlist_number = pool.seated, None
        for column in pool.stamps:
            setattr(row, column, stamp)
        promoted.append(row)
    session.flush()
    return promoted


def _promote_signups(session: Session, occurrence_role_id: int) -> list[Signup]:
    """Fill a role's free seats from its waitlist; a volunteer whose confirmed duties meanwhile
    clash with this one is passed over and keeps their place (they can still cancel either)."""
    slot = session.get(OccurrenceRole, occurrence_role_id)
    duty = duty_of(slot.occurrence, slot.role)
    volunteers = list(
        session.scalars(
            select(Signup.volunteer_id).where(
                Signup.occurrence_role_id == occurrence_role_id, Signup.status == "waitlisted"
            )
        )
    )
    held = booked(session, volunteers, duty[0] - DUTY_MARGIN, duty[1] + DUTY_MARGIN)

    def clashes(place: domain.Waiting) -> bool:
        others = [b for b in held.get(place.volunteer_id, ()) if b.occurrence_id != slot.occurrence_id]
        return bool(domain.clashing(duty, others))

    return _promote(session, ROLE_SEATS, occurrence_role_id, clashes)


def _resize_roles(session: Session, occ: Occurrence) -> list[Signup]:
    """Set each role's seats from the activity (tutors follow pupils); never below those confirmed."""
    activity = occ.activity
    promoted: list[Signup] = []
    roles = {r.id: r for r in activity.roles}
    for slot in session.scalars(select(OccurrenceRole).where(OccurrenceRole.occurrence_id == occ.id)):
        role = roles.get(slot.role_id)
        if role is None:
            continue
        wanted = domain.seats_for(role.name, role.needed, activity.kind, occ.attendees or 0, activity.pupils_per_tutor)
        current = _seats(session, ROLE_SEATS, slot.id)
        target = current.resized(wanted).capacity
        if target != current.capacity:
            session.execute(
                update(OccurrenceRole)
                .where(OccurrenceRole.id == slot.id, OccurrenceRole.confirmed <= target)
                .values(capacity=target)
                .execution_options(synchronize_session=False)
            )
            if target > current.capacity:
                promoted += _promote_signups(session, slot.id)
    session.expire_all()
    return promoted


def seat_rows(session: Session, occurrence_ids: list[int]):
    """Each role's seats in these occurrences, read fresh (counters change under the ORM's feet):
    rows of (id, occurrence_id, capacity, confirmed, ActivityRole), in the roles' order."""
    return session.execute(
        select(
            OccurrenceRole.id,
            OccurrenceRole.occurrence_id,
            OccurrenceRole.capacity,
            OccurrenceRole.confirmed,
            ActivityRole,
        )
        .join(ActivityRole, OccurrenceRole.role_id == ActivityRole.id)
        .where(OccurrenceRole.occurrence_id.in_(occurrence_ids))
        .order_by(OccurrenceRole.id)
    )


def waitlist_position(session: Session, row: Signup | Registration) -> int | None:
    """A waitlisted sign-up's or registration's position (``domain.waitlist_position``; None when not waiting)."""
    if row.status != "waitlisted":
        return None
    pool = ROLE_SEATS if isinstance(row, Signup) else HALL_PLACES
    owner = row.occurrence_role_id if isinstance(row, Signup) else row.occurrence_id
    # domain.waitlist_position counted by the database: one number back, not the whole waitlist.
    return session.scalar(
        select(func.count()).where(
            pool.owner == owner,
            pool.waiting.status == "waitlisted",
            pool.waiting.waitlist_number <= row.waitlist_number,
        )
    )


# --- sign-ups --------------------------------------------------------------------------------


def signup_target(session: Session, occurrence_id: int, role_name: str | None) -> tuple[Occurrence, OccurrenceRole]:
    """The occurrence (with its activity) and seat row of a role (the only role when ``role_name`` is None)."""
    occ = session.get(Occurrence, occurrence_id, options=[joinedload(Occurrence.activity)])
    if occ is None:
        raise NotFound(f"occurrence {occurrence_id} not found")
    slots = list(
        session.scalars(
            select(OccurrenceRole)
            .options(joinedload(OccurrenceRole.role))
            .where(OccurrenceRole.occurrence_id == occ.id)
            .order_by(OccurrenceRole.id)
        )
    )
    if role_name is None:
        if len(slots) != 1:
            names = ", ".join(sorted(s.role.name for s in slots))
            raise InvalidInput(f"role: required, one of {names}", f"请选择岗位：{names}")
        return occ, slots[0]
    for slot in slots:
        if slot.role.name == role_name:
            return occ, slot
    raise NotFound(f"occurrence {occurrence_id} has no role {role_name!r}")


def duty_of(occ: Occurrence, role: ActivityRole) -> tuple[datetime, datetime]:
    """The duty window (aware, local) of a role in an occurrence."""
    return domain.duty_window(from_db(occ.start), from_db(occ.end), role.start_offset_minutes, role.duration_minutes)


def find_signup(session: Session, request_id: str | None, occurrence_role_id: int, volunteer_id: int) -> Signup | None:
    if request_id:
        found = session.scalars(select(Signup).where(Signup.request_id == request_id)).first()
        if found is not None:
            return found
    return session.scalars(
        select(Signup).where(Signup.occurrence_role_id == occurrence_role_id, Signup.volunteer_id == volunteer_id)
    ).first()


def repeated_signup(
    session: Session, request_id: str | None, occurrence_role_id: int, volunteer_id: int
) -> Signup | None:
    """The sign-up a repeated request gets back unchanged: the same request id (whatever became
    of it), or the volunteer's live sign-up for the role; None when the request is new.

    ``request_id`` here is a key of the service's own (data it loads itself), unique over the
    table; callers' keys are scoped to the caller and never reach it (``guanyinli.keys``)."""
    existing = find_signup(session, request_id, occurrence_role_id, volunteer_id)
    return existing if _repeats(existing, request_id) else None


def _repeats(found: Signup | None, request_id: str | None) -> bool:
    """Whether ``find_signup``'s row is what a repeated request gets back (see ``repeated_signup``)."""
    if found is None:
        return False
    return found.status != "cancelled" or (request_id is not None and found.request_id == request_id)


def booked(session: Session, volunteer_ids: list[int], start: datetime, end: datetime) -> dict[int, tuple[Booked, ...]]:
    """The confirmed duties (on live occurrences) of each volunteer whose occurrence meets [start, end)."""
    if not volunteer_ids:
        return {}
    found: dict[int, list[Booked]] = {v: [] for v in volunteer_ids}
    rows = session.execute(
        select(Signup.volunteer_id, Occurrence, ActivityRole, Activity.kind)
        .join(Occurrence, Signup.occurrence_id == Occurrence.id)
        .join(OccurrenceRole, Signup.occurrence_role_id == OccurrenceRole.id)
        .join(ActivityRole, OccurrenceRole.role_id == ActivityRole.id)
        .join(Activity, Occurrence.activity_id == Activity.id)
        .where(
            Signup.volunteer_id.in_(volunteer_ids),
            Signup.status == "confirmed",
            Occurrence.status == "scheduled",
            Activity.status == "active",
            Occurrence.start < to_db(end),
            Occurrence.end > to_db(start),
        )
        .order_by(Occurrence.start, Signup.id)
    )
    for volunteer_id, occ, role, kind in rows:
        window = duty_of(occ, role)
        found[volunteer_id].append(Booked(occ.id, kind, window[0], window[1]))
    return {v: tuple(duties) for v, duties in found.items()}


def weighing(duties: list[tuple[datetime, datetime]]) -> tuple[datetime, datetime]:
    """Where a volunteer's confirmed duties bear on these duties (clashes, weekly caps), with the
    margin of role offsets: what to pass to ``booked``."""
    start, end = domain.weighing_window(duties)
    return start - DUTY_MARGIN, end + DUTY_MARGIN


def _lock_volunteer(session: Session, volunteer_id: int) -> VolunteerStats:
    """Serialise one volunteer's sign-ups (clash checks) on their stats row (made on their first)."""
    locked = select(VolunteerStats).where(VolunteerStats.volunteer_id == volunteer_id).with_for_update()
    found = session.scalars(locked).one_or_none()  # one round trip for a volunteer seen before
    if found is not None:
        return found
    stmt = dialect_insert(session, VolunteerStats).values(
        volunteer_id=volunteer_id, attended=0, no_show=0, excused=0, hours=0.0, updated_at=to_db(now())
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["volunteer_id"]))
    return session.scalars(locked).one()


def sign_up(
    session: Session,
    occurrence_id: int,
    role_name: str | None,
    volunteer_id: int,
    check: SignupCheck | None,
    request_id: str | None = None,
    source: str = "signup",
    waitlist: bool = True,
) -> tuple[Signup, bool]:
    """Confirm or waitlist a volunteer; returns the sign-up and whether this call changed anything.

    ``check`` carries what the volunteers service said (skills, availability, their own weekly cap)
    and the platform's weekly caps; ``None`` leaves only the clash check (the roster checked the
    rest). The rule is ``domain.signup_misfit``. With ``waitlist=False`` a full role is ``RoleFull``.
    """
    occ, slot = signup_target(session, occurrence_id, role_name)
    _lock_volunteer(session, volunteer_id)
    found = find_signup(session, request_id, slot.id, volunteer_id)
    if _repeats(found, request_id):
        return found, False
    # Not a repeat: a row found by request_id is always one, so this is the volunteer's cancelled
    # sign-up for the role (reused), or None.
    existing = found
    if effective_status(occ) == "cancelled":
        raise OccurrenceClosed(f"occurrence {occurrence_id} is cancelled", "该活动已取消")
    duty = duty_of(occ, slot.role)
    if check is None:
        check = SignupCheck(volunteer={"id": volunteer_id, "skills": slot.role.skills}, available=True)
    held = booked(session, [volunteer_id], *weighing([duty]))[volunteer_id]
    problem = domain.signup_misfit(occ.id, occ.activity.kind, duty, slot.role.skills or [], check, held, now())
    if problem is not None:
        raise problem
    stamp = to_db(now())
    signup = existing or Signup(occurrence_id=occ.id, occurrence_role_id=slot.id, volunteer_id=volunteer_id)
    # Held by the sign-up, so its views find them in the session without loading them again (the
    # session's identity map keeps unchanged rows only while something refers to them).
    signup.occurrence, signup.occurrence_role = occ, slot
    signup.request_id = request_id if request_id else signup.request_id
    signup.source = source
    signup.cancelled_at = None
    signup.attendance = None
    signup.hours = None
    signup.updated_at = stamp
    if _take_seat(session, ROLE_SEATS, slot.id):
        signup.status = "confirmed"
        signup.confirmed_at = stamp
        signup.waitlist_number = None
    elif not waitlist:
        raise RoleFull(f"role {slot.role.name!r} of occurrence {occurrence_id} is full", "该岗位已满")
    else:
        signup.status = "waitlisted"
        signup.confirmed_at = None
        signup.waitlist_number = _next_waitlist_number(session, ROLE_SEATS, slot.id)
    if existing is None:
        signup.created_at = stamp
        session.add(signup)
    session.flush()
    return signup, True


def get_signup(session: Session, signup_id: int) -> Signup:
    signup = session.get(Signup, signup_id)
    if signup is None:
        raise NotFound(f"sign-up {signup_id} not found")
    return signup


def cancel_sign_up(
    session: Session, signup_id: int, deadlines: Mapping[str, float] | None = None, at: datetime | None = None
) -> tuple[Signup, bool, list[Signup]]:
    """Cancel a sign-up; a freed seat goes to the head of the waitlist. Returns (sign-up, changed, promoted).

    With ``deadlines`` (a volunteer cancelling their own), a confirmed duty of a scheduled occurrence
    is refused with ``TooLateToCancel`` once its kind's deadline has passed at ``at`` (default now).
    """
    signup = session.scalars(select(Signup).where(Signup.id == signup_id).with_for_update()).first()
    if signup is None:
        raise NotFound(f"sign-up {signup_id} not found")
    if signup.status == "cancelled":
        return signup, False, []
    stamp = to_db(now())
    domain.check_cancellable(signup_id, signup.attendance, from_db(signup.occurrence.end), now())
    was_confirmed = signup.status == "confirmed"
    if deadlines is not None and was_confirmed and effective_status(signup.occurrence) == "scheduled":
        duty_start = duty_of(signup.occurrence, signup.occurrence_role.role)[0]
        domain.check_cancel_in_time(duty_start, signup.occurrence.activity.kind, deadlines, at or now())
    signup.status = "cancelled"
    signup.cancelled_at = stamp
    signup.updated_at = stamp
    signup.waitlist_number = None
    session.flush()
    promoted: list[Signup] = []
    if was_confirmed:
        _release_seat(session, ROLE_SEATS, signup.occurrence_role_id)
        if effective_status(signup.occurrence) == "scheduled":
            promoted = _promote_signups(session, signup.occurrence_role_id)
    return signup, True, promoted


def assign_patrol_duty(
    session: Session, occurrence_id: int, volunteer_id: int, role_name: str | None = None
) -> tuple[Signup, bool]:
    """Give a volunteer a confirmed patrol duty (the roster publish calls this; it checked availability).

    Still refused: a full role (``RoleFull``) and a clash with another confirmed duty
    (``DutyClash``). Idempotent: an existing confirmed
    duty is returned unchanged; a waitlisted one is confirmed if a seat is free.
    """
    occ = get_occurrence(session, occurrence_id)
    if occ.activity.kind != "patrol":
        raise InvalidInput(f"occurrence {occurrence_id} is not a patrol", "该活动不是巡逻")
    _, slot = signup_target(session, occurrence_id, role_name)
    existing = find_signup(session, None, slot.id, volunteer_id)
    if existing is not None and existing.status == "waitlisted":
        if not _take_seat(session, ROLE_SEATS, slot.id):
            raise RoleFull(f"patrol occurrence {occurrence_id} is full", "该巡逻班次已满")
        existing.status, existing.confirmed_at, existing.waitlist_number = "confirmed", to_db(now()), None
        existing.source = "roster"
        session.flush()
        return existing, True
    return sign_up(session, occurrence_id, role_name, volunteer_id, None, source="roster", waitlist=False)


# --- registrations (lecture residents, tutoring pupils) ---------------------------------------


def register_attendee(
    session: Session, occurrence_id: int, name: str, phone: str | None, request_id: str | None
) -> tuple[Registration, bool, list[Signup]]:
    """Register a resident (lecture) or pupil (tutoring) up to the room capacity, else waitlist them.

    Returns the registration, whether it is new, and tutors promoted because the pupils grew.
    ``request_id`` is a key of the service's own (the demo's residents), unique over the table;
    callers' keys are scoped to the caller and never reach it (``guanyinli.keys``).
    """
    occ = get_occurrence(session, occurrence_id)
    domain.check_registrable(occ.activity.kind, effective_status(occ) == "cancelled", from_db(occ.end), now())
    if request_id:
        found = session.scalars(select(Registration).where(Registration.request_id == request_id)).first()
        if found is not None:
            return found, False, []
    registration = Registration(occurrence_id=occ.id, name=name, phone=phone, request_id=request_id)
    seated = _take_seat(session, HALL_PLACES, occ.id)
    if seated:
        registration.status = "registered"
    else:
        registration.status = "waitlisted"
        registration.waitlist_number = _next_waitlist_number(session, HALL_PLACES, occ.id)
    session.add(registration)
    session.flush()
    session.refresh(occ)
    promoted = _resize_roles(session, occ) if seated else []
    return registration, True, promoted


def get_registration(session: Session, registration_id: int) -> Registration:
    registration = session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(f"registration {registration_id} not found", f"没有编号为{registration_id}的报名")
    return registration


def cancel_registration(session: Session, registration_id: int) -> tuple[Registration, list[Registration]]:
    """Cancel a registration; a freed place goes to the head of the waitlist. Returns it and those promoted."""
    registration = session.scalars(
        select(Registration).where(Registration.id == registration_id).with_for_update()
    ).first()
    if registration is None:
        raise NotFound(f"registration {registration_id} not found", f"没有编号为{registration_id}的报名")
    if registration.status == "cancelled":
        return registration, []
    was_registered = registration.status == "registered"
    registration.status = "cancelled"
    registration.cancelled_at = to_db(now())
    registration.waitlist_number = None
    registration.checked_in_at = None
    session.flush()
    promoted: list[Registration] = []
    if was_registered:
        _release_seat(session, HALL_PLACES, registration.occurrence_id)
        promoted = _promote(session, HALL_PLACES, registration.occurrence_id)
    return registration, promoted


def promote_registrations(session: Session, occ: Occurrence) -> list[Registration]:
    """Fill the hall's free places from its waitlist (after the capacity grew)."""
    return _promote(session, HALL_PLACES, occ.id)


def check_in(session: Session, registration_id: int, at: datetime, undo: bool = False) -> tuple[Registration, bool]:
    """Check a registered resident in at the door (``undo``: out again, a tap by mistake); returns
    the registration and whether this call changed it."""
    registration = get_registration(session, registration_id)
    occ = registration.occurrence
    if undo:
        if registration.checked_in_at is None:
            return registration, False
        registration.checked_in_at = None
    else:
        if registration.checked_in_at is not None:
            return registration, False
        cancelled = effective_status(occ) == "cancelled"
        domain.check_check_in(registration.status, from_db(occ.start), from_db(occ.end), at, cancelled)
        registration.checked_in_at = to_db(at)
    session.flush()
    return registration, True


def door_list(session: Session, occurrence_id: int) -> tuple[Occurrence, list[Registration]]:
    """An occurrence and its live registrations: the registered by name, then the waitlist in order."""
    occ = get_occurrence(session, occurrence_id)
    rows = list(
        session.scalars(
            select(Registration).where(
                Registration.occurrence_id == occ.id, Registration.status.in_(("registered", "waitlisted"))
            )
        )
    )
    registered = sorted((r for r in rows if r.status == "registered"), key=lambda r: (r.name, r.id))
    waiting = sorted((r for r in rows if r.status == "waitlisted"), key=lambda r: r.waitlist_number)
    return occ, registered + waiting


# --- attendance ------------------------------------------------------------------------------


def mark_attendance(
    session: Session, signup_id: int, status: str, hours: float | None = None
) -> tuple[Signup, bool, dict]:
    """Record attended / no_show / excused for a confirmed duty that has started.

    Returns the sign-up, whether anything changed and the facts for ``attendance_recorded``.
    """
    signup = get_signup(session, signup_id)
    stats = _lock_volunteer(session, signup.volunteer_id)
    session.refresh(signup)
    if signup.status != "confirmed":
        raise RuleViolation("conflict", f"sign-up {signup_id} is {signup.status}, not a confirmed duty")
    occ = signup.occurrence
    if effective_status(occ) == "cancelled":
        raise RuleViolation("closed", f"occurrence {occ.id} is cancelled")
    if occ.start > to_db(now()):
        raise RuleViolation("conflict", "attendance is marked once the duty has started")
    facts = domain.attendance_facts(from_db(occ.start), from_db(occ.end), from_db(signup.confirmed_at))
    if hours is not None:
        facts["hours"] = hours
    if status != "attended":
        facts["hours"] = 0.0
    previous = signup.attendance
    if previous == status and signup.hours == facts["hours"]:
        return signup, False, facts
    if previous:
        setattr(stats, previous, getattr(stats, previous) - 1)
        stats.hours -= signup.hours or 0.0
    setattr(stats, status, getattr(stats, status) + 1)
    stats.hours += facts["hours"]
    stats.updated_at = to_db(now())
    signup.attendance = status
    signup.hours = facts["hours"]
    signup.attendance_marked_at = to_db(now())
    signup.updated_at = to_db(now())
    session.flush()
    return signup, True, facts


@dataclass(frozen=True)
class OpenSeat:
    """A role of an occurrence that a volunteer might take, before their skills and time are weighed."""

    occurrence: Occurrence
    role: ActivityRole
    duty: tuple[datetime, datetime]
    seats: int
    taken: int
    waitlisted: int


def open_seats(
    session: Session, occurrences: list[Occurrence | PlannedOccurrence], volunteer_id: int, at: datetime
) -> list[OpenSeat]:
    """The roles of stored, scheduled occurrences whose duty starts after ``at``, on occurrences the
    volunteer holds no confirmed or waitlisted sign-up of; in order of the duties' starts."""
    live = {o.id: o for o in occurrences if o.id is not None and effective_status(o) == "scheduled"}
    if not live:
        return []
    mine = set(
        session.scalars(
            select(Signup.occurrence_id).where(
                Signup.occurrence_id.in_(list(live)),
                Signup.volunteer_id == volunteer_id,
                Signup.status.in_(("confirmed", "waitlisted")),
            )
        )
    )
    waiting = dict(
        session.execute(
            select(Signup.occurrence_role_id, func.count(Signup.id))
            .where(Signup.occurrence_id.in_(list(live)), Signup.status == "waitlisted")
            .group_by(Signup.occurrence_role_id)
        ).all()
    )
    seats = []
    for slot_id, occurrence_id, capacity, confirmed, role in seat_rows(session, sorted(set(live) - mine)):
        occ = live[occurrence_id]
        duty = duty_of(occ, role)
        if duty[0] > at:
            seats.append(OpenSeat(occ, role, duty, capacity, confirmed, waiting.get(slot_id, 0)))
    return sorted(seats, key=lambda s: (s.duty[0], s.occurrence.id, s.role.id))


def confirmed_volunteers(session: Session, occurrence_ids: list[int]) -> dict[int, list[int]]:
    """The confirmed volunteers of each occurrence (any role), in the order they signed up."""
    return _active_volunteers(session, occurrence_ids)


def volunteer_stats(session: Session, volunteer_id: int) -> dict:
    stats = session.get(VolunteerStats, volunteer_id)
    attended, no_show, excused, hours = (
        (stats.attended, stats.no_show, stats.excused, stats.hours) if stats else (0, 0, 0, 0.0)
    )
    confirmed = session.scalar(
        select(func.count(Signup.id)).where(Signup.volunteer_id == volunteer_id, Signup.status == "confirmed")
    )
    return {
        "volunteer_id": volunteer_id,
        "attended": attended,
        "no_show": no_show,
        "excused": excused,
        "hours": round(hours, 2),
        "confirmed_duties": confirmed,
        "no_show_rate": domain.no_show_rate(attended, no_show),
    }


def list_duties(
    session: Session, volunteer_id: int, start: datetime, end: datetime, statuses=("confirmed",)
) -> list[Signup]:
    """A volunteer's sign-ups on occurrences overlapping [start, end), cancelled occurrences included."""
    return list(
        session.scalars(
            select(Signup)
            .join(Occurrence, Signup.occurrence_id == Occurrence.id)
            .where(
                Signup.volunteer_id == volunteer_id,
                Signup.status.in_(statuses),
                Occurrence.start < to_db(end + DUTY_MARGIN),
                Occurrence.end > to_db(start - DUTY_MARGIN),
            )
            .order_by(Occurrence.start, Signup.id)
        )
    )
