"""Plain dicts of activities, occurrences and sign-ups for RPC answers and event payloads.

Built inside the unit of work from fresh queries (seat counters change under the ORM's feet),
with the elderly-visit private fields only for callers entitled to them (``domain.can_see_private``:
organisers, and visitors with a current or coming visit of it or one that ended lately).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities import domain
from activities.domain import Viewer
from activities.models import Activity, Occurrence, Registration, Signup
from activities.store import (
    OpenSeat,
    PlannedOccurrence,
    duty_of,
    effective_place,
    effective_status,
    seat_rows,
    waitlist_position,
)
from guanyinli.events import attendance_key
from guanyinli.timeutil import from_db


def _private(activity: Activity, visible: set[int]) -> dict | None:
    if activity.kind != "elderly_visit" or activity.id not in visible:
        return None
    return {
        "visited_person": activity.visited_person,
        "address": activity.private_address,
        "health_notes": activity.health_notes,
    }


def last_visits(session: Session, volunteer_id: int, activity_ids: list[int]) -> dict[int, datetime]:
    """End of the volunteer's last confirmed visit (a scheduled occurrence) per activity."""
    if not activity_ids:
        return {}
    rows = session.execute(
        select(Occurrence.activity_id, func.max(Occurrence.end))
        .join(Signup, Signup.occurrence_id == Occurrence.id)
        .where(
            Signup.volunteer_id == volunteer_id,
            Signup.status == "confirmed",
            Occurrence.status == "scheduled",
            Occurrence.activity_id.in_(activity_ids),
        )
        .group_by(Occurrence.activity_id)
    )
    return {activity_id: from_db(end) for activity_id, end in rows}


def private_visible(session: Session, activities: list[Activity], viewer: Viewer) -> set[int]:
    """Ids of the elderly visits among ``activities`` whose private fields ``viewer`` may see."""
    visits = sorted({a.id for a in activities if a.kind == "elderly_visit"})
    if not visits or viewer.caller.is_organiser:
        return set(visits)
    if viewer.caller.volunteer_id is None:
        return set()
    last = last_visits(session, viewer.caller.volunteer_id, visits)
    return {a for a in visits if viewer.sees_private(last.get(a))}


def activity_view(session: Session, activity: Activity, viewer: Viewer) -> dict:
    visible = private_visible(session, [activity], viewer)
    return {
        "id": activity.id,
        "title": activity.title,
        "kind": activity.kind,
        "team": activity.team,
        "description": activity.description,
        "grid_id": activity.grid_id,
        "courtyard": activity.courtyard,
        "room": activity.room,
        "place": domain.place_text(activity.grid_id, activity.courtyard, activity.room),
        "start": from_db(activity.dtstart),
        "duration_minutes": activity.duration_minutes,
        "rrule": activity.rrule,
        "exdates": [from_db(e.original_start) for e in activity.exdates],
        "capacity": activity.capacity,
        "pupils_per_tutor": activity.pupils_per_tutor,
        "roles": [
            {
                "name": r.name,
                "needed": r.needed,
                "skills": list(r.skills or []),
                "start_offset_minutes": r.start_offset_minutes,
                "duration_minutes": r.duration_minutes,
            }
            for r in activity.roles
        ],
        "status": activity.status,
        "cancelled_at": from_db(activity.cancelled_at),
        "cancel_reason": activity.cancel_reason,
        "sequence": activity.sequence,
        "created_at": from_db(activity.created_at),
        "updated_at": from_db(activity.updated_at),
        "feed_shows_details": bool(activity.feed_shows_details),
        "private": _private(activity, visible),
    }


def _planned_slots(occ: PlannedOccurrence) -> list[SimpleNamespace]:
    """Seats of an occurrence not stored yet: the activity's roles, nobody signed up."""
    activity = occ.activity
    return [
        SimpleNamespace(
            id=None,
            capacity=domain.seats_for(role.name, role.needed, activity.kind, 0, activity.pupils_per_tutor),
            confirmed=0,
            ActivityRole=role,
        )
        for role in activity.roles
    ]


def occurrence_views(session: Session, occurrences: list[Occurrence | PlannedOccurrence], viewer: Viewer) -> list[dict]:
    if not occurrences:
        return []
    ids = [o.id for o in occurrences if o.id is not None]
    visible = private_visible(session, [o.activity for o in occurrences], viewer)
    slots: dict[int, list] = defaultdict(list)
    for row in seat_rows(session, ids):
        slots[row.occurrence_id].append(row)
    people: dict[int, dict[str, list[int]]] = defaultdict(lambda: {"confirmed": [], "waitlisted": []})
    for slot_id, volunteer_id, status in session.execute(
        select(Signup.occurrence_role_id, Signup.volunteer_id, Signup.status)
        .where(Signup.occurrence_id.in_(ids), Signup.status.in_(("confirmed", "waitlisted")))
        .order_by(Signup.waitlist_number, Signup.id)
    ):
        people[slot_id][status].append(volunteer_id)
    queued = dict(
        session.execute(
            select(Registration.occurrence_id, func.count(Registration.id))
            .where(Registration.occurrence_id.in_(ids), Registration.status == "waitlisted")
            .group_by(Registration.occurrence_id)
        ).all()
    )
    fresh = {
        row.id: row
        for row in session.execute(
            select(Occurrence.id, Occurrence.attendees, Occurrence.attendee_capacity).where(Occurrence.id.in_(ids))
        )
    }
    views = []
    for occ in occurrences:
        activity = occ.activity
        roles = []
        stored = occ.id is not None
        for row in slots[occ.id] if stored else _planned_slots(occ):
            role = row.ActivityRole
            duty = duty_of(occ, role)
            confirmed_ids = people[row.id]["confirmed"]
            roles.append(
                {
                    "name": role.name,
                    "needed": role.needed,
                    "capacity": row.capacity,
                    "confirmed": row.confirmed,
                    "waitlisted": len(people[row.id]["waitlisted"]),
                    "skills": list(role.skills or []),
                    "duty_start": duty[0],
                    "duty_end": duty[1],
                    "volunteer_ids": confirmed_ids,
                    "waitlist": people[row.id]["waitlisted"],
                }
            )
        grid_id, courtyard, room = effective_place(occ)
        status = effective_status(occ)
        views.append(
            {
                "id": occ.id,
                "activity_id": activity.id,
                "title": activity.title,
                "kind": activity.kind,
                "team": activity.team,
                "description": activity.description,
                "original_start": from_db(occ.original_start),
                "start": from_db(occ.start),
                "end": from_db(occ.end),
                "overridden": occ.overridden,
                "recurring": activity.rrule is not None,
                "grid_id": grid_id,
                "courtyard": courtyard,
                "room": room,
                "place": domain.place_text(grid_id, courtyard, room),
                "status": status,
                "cancelled_at": from_db(occ.cancelled_at or (activity.cancelled_at if status == "cancelled" else None)),
                "cancel_reason": occ.cancel_reason or (activity.cancel_reason if status == "cancelled" else None),
                "sequence": occ.sequence,
                "activity_sequence": activity.sequence,
                "updated_at": from_db(max(occ.updated_at, activity.updated_at)),
                "roles": roles,
                "attendee_capacity": (fresh[occ.id] if stored else occ).attendee_capacity,
                "attendees": (fresh[occ.id] if stored else occ).attendees,
                "attendees_waitlisted": queued.get(occ.id, 0),
                "private": _private(activity, visible),
            }
        )
    return views


def occurrence_ref(occ: Occurrence) -> dict:
    """The occurrence part of event payloads."""
    grid_id, courtyard, room = effective_place(occ)
    return {
        "occurrence_id": occ.id,
        "activity_id": occ.activity_id,
        "title": occ.activity.title,
        "kind": occ.activity.kind,
        "start": from_db(occ.start),
        "end": from_db(occ.end),
        "place": domain.place_text(grid_id, courtyard, room),
    }


_UNKNOWN = object()


def signup_view(session: Session, signup: Signup, position: Any = _UNKNOWN, fresh: bool = False) -> dict:
    """A sign-up as answered. ``position``: its waitlist position when the caller counted it
    already; ``fresh``: the row was read or written in this transaction (no refresh needed)."""
    if not fresh:
        session.refresh(signup)
    occ = signup.occurrence
    role = signup.occurrence_role.role
    duty = duty_of(occ, role)
    return {
        "id": signup.id,
        "occurrence_id": occ.id,
        "activity_id": occ.activity_id,
        "role": role.name,
        "volunteer_id": signup.volunteer_id,
        "status": signup.status,
        "waitlist_position": waitlist_position(session, signup) if position is _UNKNOWN else position,
        "source": signup.source,
        "duty_start": duty[0],
        "duty_end": duty[1],
        "created_at": from_db(signup.created_at),
        "confirmed_at": from_db(signup.confirmed_at),
        "cancelled_at": from_db(signup.cancelled_at),
        "attendance": signup.attendance,
        "hours": signup.hours,
    }


def duty_view(session: Session, signup: Signup, deadlines: Mapping[str, float] | None = None) -> dict:
    """A sign-up with what a calendar needs of its occurrence, and until when its volunteer may
    cancel it themselves (``cancel_until``: confirmed duties of scheduled occurrences, given ``deadlines``)."""
    view = signup_view(session, signup)
    occ = signup.occurrence
    activity = occ.activity
    grid_id, courtyard, room = effective_place(occ)
    view.update(
        {
            "title": activity.title,
            "kind": activity.kind,
            "team": activity.team,
            "original_start": from_db(occ.original_start),
            "occurrence_start": from_db(occ.start),
            "occurrence_end": from_db(occ.end),
            "grid_id": grid_id,
            "courtyard": courtyard,
            "room": room,
            "place": domain.place_text(grid_id, courtyard, room),
            "occurrence_status": effective_status(occ),
            "sequence": occ.sequence + activity.sequence,
            "updated_at": from_db(max(occ.updated_at, activity.updated_at, signup.updated_at)),
            "cancel_until": domain.cancel_until(view["duty_start"], activity.kind, deadlines)
            if deadlines is not None and view["status"] == "confirmed" and effective_status(occ) == "scheduled"
            else None,
        }
    )
    return view


def with_people(duties: list[dict], confirmed: dict[int, list[int]], found: dict) -> list[dict]:
    """Duties of one volunteer with the people of each: ``partners`` (the other confirmed volunteers
    of the occurrence, by name, never their contacts), the ``grid_leader`` of its grid (with the
    phone: the volunteer on duty calls them) and the ledger's ``points`` of an attended duty.

    ``confirmed``: volunteer ids by occurrence; ``found``: what volunteers.lookup answered."""
    names = {v["id"]: v["name"] for v in found["volunteers"]}
    leaders = {
        g["grid_id"]: {"volunteer_id": g["id"], "name": g["name"], "phone": g["phone"]} for g in found["grid_leaders"]
    }
    points = {(e["source_key"], e["volunteer_id"]): e["points"] for e in found["entries"]}
    return [
        {
            **duty,
            "partners": [
                {"volunteer_id": vid, "name": names.get(vid)}
                for vid in confirmed.get(duty["occurrence_id"], [])
                if vid != duty["volunteer_id"]
            ],
            "grid_leader": leaders.get(duty["grid_id"]),
            "points": points.get((attendance_key(duty["id"]), duty["volunteer_id"]))
            if duty["attendance"] == "attended"
            else None,
        }
        for duty in duties
    ]


def open_duty_view(seat: OpenSeat) -> dict:
    """A role a volunteer could take: the occurrence, the duty, and its seats (with the waitlist place
    a sign-up would get when they are all taken)."""
    occ, role = seat.occurrence, seat.role
    activity = occ.activity
    grid_id, courtyard, room = effective_place(occ)
    full = seat.taken >= seat.seats
    return {
        "occurrence_id": occ.id,
        "activity_id": activity.id,
        "title": activity.title,
        "kind": activity.kind,
        "team": activity.team,
        "start": from_db(occ.start),
        "end": from_db(occ.end),
        "duty_start": seat.duty[0],
        "duty_end": seat.duty[1],
        "grid_id": grid_id,
        "courtyard": courtyard,
        "room": room,
        "place": domain.place_text(grid_id, courtyard, room),
        "role": role.name,
        "skills": list(role.skills or []),
        "seats": seat.seats,
        "taken": seat.taken,
        "full": full,
        "waitlist_position": seat.waitlisted + 1 if full else None,
    }


def signup_event(session: Session, signup: Signup, position: Any = _UNKNOWN) -> dict:
    """Payload of signup_* events (``position``: the waitlist position when counted already)."""
    return {
        **occurrence_ref(signup.occurrence),
        "signup_id": signup.id,
        "volunteer_id": signup.volunteer_id,
        "role": signup.occurrence_role.role.name,
        "status": signup.status,
        "waitlist_position": waitlist_position(session, signup) if position is _UNKNOWN else position,
    }


def registration_view(
    session: Session, registration: Registration, phone: bool = True, waiting: list[int] | None = None
) -> dict:
    """A registration; ``phone``: with the phone itself (the resident's own answer, organisers),
    else only its masked form. ``waiting``: the numbers of the occurrence's waitlist when the caller read them already."""
    position = waitlist_position(session, registration) if waiting is None else None
    if waiting is not None and registration.status == "waitlisted":
        position = domain.waitlist_position(waiting, registration.waitlist_number)
    return {
        "id": registration.id,
        "occurrence_id": registration.occurrence_id,
        "name": registration.name,
        "phone": registration.phone if phone else None,
        "phone_masked": domain.mask_phone(registration.phone),
        "status": registration.status,
        "waitlist_position": position,
        "checked_in_at": from_db(registration.checked_in_at),
        "created_at": from_db(registration.created_at),
    }


def door_list_view(
    session: Session, occ: Occurrence, registrations: list[Registration], phones: bool, query: str | None = None
) -> dict:
    """A lecture's door list: the occurrence, its registrations matching ``query`` (``domain.door_matches``;
    phones only for ``phones``) and the counts of them all."""
    waiting = [r.waitlist_number for r in registrations if r.status == "waitlisted"]
    rows = [registration_view(session, r, phones, waiting) for r in registrations]
    found = [row for r, row in zip(registrations, rows, strict=True) if domain.door_matches(r.name, r.phone, query)]
    return {
        **occurrence_ref(occ),
        "room": effective_place(occ)[2],
        "attendee_capacity": occ.attendee_capacity,
        "registered": sum(r["status"] == "registered" for r in rows),
        "waitlisted": sum(r["status"] == "waitlisted" for r in rows),
        "checked_in": sum(r["checked_in_at"] is not None for r in rows),
        "registrations": found,
    }
