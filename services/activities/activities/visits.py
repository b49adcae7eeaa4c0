"""Elderly visits' use cases over a session: the register of visited people, planning their visits,
the visitors' notes and who is overdue.

Each planned visit is an ``elderly_visit`` activity of its own with one occurrence, so calendars,
feeds, reminders, attendance and stand-ins treat it as any other duty; ``person_visits`` ties it to
the person. The activity carries a copy of the person's name, address and health notes, kept in step
by ``update_person``, because that is what the existing visit pages show its visitors. The rules are
in ``visit_rules`` (due days, consent) and ``visit_pairs`` (who visits); the RPC in ``visits_service``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities import domain, grid_scope, planning, store, views, visit_rules
from activities.domain import RuleViolation, Viewer
from activities.models import OUTBOX, Activity, Occurrence, PersonVisit, Signup, VisitedPerson
from activities.visit_pairs import Candidate, choose_pair
from guanyinli.errors import Forbidden, InvalidInput, NotFound
from guanyinli.timeutil import TZ, from_db, local, to_db

# Visits the volunteers held this long before a planned window count towards their load.
LOAD_LOOKBACK = timedelta(days=30)
# The phone page lists a visitor's visits from this long ago (time to write the note) to this far ahead.
DUTIES_BEHIND, DUTIES_AHEAD = timedelta(days=14), timedelta(days=45)

PUBLIC_FIELDS = ("category", "name", "grid_id", "courtyard", "home", "frequency_days")
PRIVATE_FIELDS = ("address", "health_notes", "relative_contact")
VISIT_TITLES = {"elder_alone": "探访独居老人", "care_home_resident": "探访养老院长者", "condolence": "慰问困难家庭"}


def get_person(session: Session, person_id: int, lock: bool = False) -> VisitedPerson:
    query = select(VisitedPerson).where(VisitedPerson.id == person_id)
    person = session.scalars(query.with_for_update() if lock else query).first()
    if person is None:
        raise NotFound(f"visited person {person_id} not found")
    return person


def _check_place(data: dict) -> None:
    if data.get("grid_id") is None and not data.get("courtyard") and not data.get("home"):
        raise InvalidInput("place: give a grid, a courtyard or the old people's home")


def _standing(person: VisitedPerson) -> visit_rules.Standing:
    return visit_rules.Standing(person.status, person.consent_at, person.frequency_days)


# --- the register ---------------------------------------------------------------------------------


def add_person(session: Session, data: dict, recorded_by: int | None, now: datetime) -> VisitedPerson:
    """A person in the register; with ``consent`` (by, how, at) recorded at once."""
    _check_place(data)
    stamp = to_db(now)
    person = VisitedPerson(
        **{k: data.get(k) for k in PUBLIC_FIELDS + PRIVATE_FIELDS},
        status="active",
        created_at=stamp,
        updated_at=stamp,
        demo_key=data.get("demo_key"),
    )
    session.add(person)
    session.flush()
    if data.get("consent"):
        record_consent(session, person.id, data["consent"], recorded_by, now)
    return person


def update_person(session: Session, person_id: int, changes: dict, now: datetime) -> VisitedPerson:
    """Change a person's fields; their coming visits carry the new name, place and private details."""
    person = get_person(session, person_id, lock=True)
    for key, value in changes.items():
        setattr(person, key, value)
    _check_place({k: getattr(person, k) for k in ("grid_id", "courtyard", "home")})
    person.updated_at = to_db(now)
    for activity in _coming_activities(session, person.id, now):
        _copy_details(activity, person)
    session.flush()
    return person


def record_consent(session: Session, person_id: int, consent: dict, recorded_by: int | None, now: datetime):
    """Who agreed to be visited, when and how: planning needs it. Recording it again replaces it and
    takes a withdrawn person back into the register."""
    person = get_person(session, person_id, lock=True)
    if consent["how"] not in visit_rules.CONSENT_WAYS:
        raise InvalidInput(f"how: one of {', '.join(visit_rules.CONSENT_WAYS)}")
    person.consent_by = consent["by"]
    person.consent_how = consent["how"]
    person.consent_at = to_db(consent.get("at") or now)
    person.consent_recorded_by = recorded_by
    person.status, person.withdrawn_at, person.withdrawn_reason = "active", None, None
    person.updated_at = to_db(now)
    session.flush()
    return person


def withdraw(session: Session, person_id: int, reason: str | None, now: datetime) -> tuple[VisitedPerson, list]:
    """Consent withdrawn (or the person moved or died): no more planning, coming visits cancelled.
    Returns the person and the occurrences cancelled (their visitors are told)."""
    person = get_person(session, person_id, lock=True)
    if person.status == "withdrawn":
        return person, []
    person.status, person.withdrawn_at, person.withdrawn_reason = "withdrawn", to_db(now), reason
    person.updated_at = to_db(now)
    cancelled = []
    for activity in _coming_activities(session, person.id, now):
        _, occurrences = store.cancel_activity(session, activity.id, reason or "探访对象已退出登记")
        cancelled += occurrences
    session.flush()
    return person, cancelled


def _coming_activities(session: Session, person_id: int, now: datetime) -> list[Activity]:
    return list(
        session.scalars(
            select(Activity)
            .join(PersonVisit, PersonVisit.activity_id == Activity.id)
            .join(Occurrence, Occurrence.id == PersonVisit.occurrence_id)
            .where(PersonVisit.person_id == person_id, Occurrence.end > to_db(now), Activity.status == "active")
            .order_by(Occurrence.start)
        )
    )


def _copy_details(activity: Activity, person: VisitedPerson) -> None:
    activity.title = VISIT_TITLES[person.category]
    activity.visited_person = person.name
    activity.private_address = person.address
    activity.health_notes = person.health_notes
    activity.grid_id, activity.courtyard, activity.room = person.grid_id, person.courtyard, person.home


# --- who sees what --------------------------------------------------------------------------------


def private_visible(session: Session, viewer: Viewer, person_ids: Iterable[int]) -> set[int]:
    """The people whose private fields ``viewer`` may read: organisers all, a volunteer those they
    have a current or coming visit of, or one that ended lately (``domain.can_see_private``)."""
    ids = set(person_ids)
    if viewer.caller.is_organiser:
        return ids
    if viewer.caller.volunteer_id is None or not ids:
        return set()
    activities = dict(
        session.execute(
            select(PersonVisit.activity_id, PersonVisit.person_id).where(PersonVisit.person_id.in_(ids))
        ).all()
    )
    last: dict[int, datetime] = {}
    for activity_id, end in views.last_visits(session, viewer.caller.volunteer_id, list(activities)).items():
        person_id = activities[activity_id]
        last[person_id] = max(end, last.get(person_id, end))
    return {p for p in ids if viewer.sees_private(last.get(p))}


def visitors_of(session: Session, occurrence_ids: Iterable[int]) -> dict[int, list[int]]:
    """The confirmed visitors of each occurrence."""
    return dict(store.confirmed_volunteers(session, list(occurrence_ids)))


def check_note_writer(session: Session, viewer: Viewer, visit: PersonVisit) -> None:
    """A visit's note is written by its visitors and by organisers, nobody else."""
    if viewer.caller.is_organiser:
        return
    if viewer.caller.volunteer_id not in visitors_of(session, [visit.occurrence_id]).get(visit.occurrence_id, []):
        raise Forbidden(
            f"only the visitors of visit {visit.occurrence_id} or organisers write its note",
            "只有本次探访的志愿者或组织者可以填写记录",
        )


# --- views ----------------------------------------------------------------------------------------


def _local_day(moment: datetime) -> date:
    return local(from_db(moment)).date()


def visit_facts(session: Session, person_ids: list[int]) -> dict[int, dict]:
    """Per person: the day of their last visit made and of their next visit planned (not cancelled)."""
    facts: dict[int, dict] = {p: {"last_visit": None, "next_planned": None} for p in person_ids}
    if not person_ids:
        return facts
    attended = select(Signup.occurrence_id).where(Signup.attendance == "attended").scalar_subquery()
    rows = session.execute(
        select(
            PersonVisit.person_id, PersonVisit.done_at, Occurrence.start, Occurrence.status, Occurrence.id.in_(attended)
        )
        .join(Occurrence, Occurrence.id == PersonVisit.occurrence_id)
        .where(PersonVisit.person_id.in_(person_ids))
    )
    for person_id, done_at, start, status, was_attended in rows:
        day = _local_day(start)
        fact = facts[person_id]
        if done_at is not None or was_attended:
            fact["last_visit"] = max(day, fact["last_visit"] or day)
        elif status == "scheduled":
            fact["planned"] = [*fact.get("planned", []), day]
    return facts


def _schedule(person: VisitedPerson, fact: dict, today: date) -> dict:
    since = _local_day(person.consent_at) if person.consent_at is not None else None
    due = (
        visit_rules.next_due(person.frequency_days, fact["last_visit"], since)
        if visit_rules.plannable(_standing(person))
        else None
    )
    coming = [
        d for d in fact.get("planned", []) if d >= today and (fact["last_visit"] is None or d > fact["last_visit"])
    ]
    return {
        "last_visit": fact["last_visit"],
        "next_due": due,
        "next_planned": min(coming, default=None),
        "overdue_days": visit_rules.overdue_days(due, today) if due is not None else 0,
    }


def person_view(person: VisitedPerson, private: bool, schedule: dict) -> dict:
    view = {
        "id": person.id,
        **{k: getattr(person, k) for k in PUBLIC_FIELDS},
        "status": person.status,
        "consented": person.consent_at is not None and person.status == "active",
        "withdrawn_at": from_db(person.withdrawn_at),
        **schedule,
        "consent": None,
        "private": None,
    }
    if private:
        view["private"] = {k: getattr(person, k) for k in PRIVATE_FIELDS}
        if person.consent_at is not None:
            view["consent"] = {"by": person.consent_by, "how": person.consent_how, "at": from_db(person.consent_at)}
        view["withdrawn_reason"] = person.withdrawn_reason
    return view


def people_views(session: Session, people: list[VisitedPerson], viewer: Viewer) -> list[dict]:
    ids = [p.id for p in people]
    visible = private_visible(session, viewer, ids)
    facts = visit_facts(session, ids)
    today = local(viewer.now).date()
    return [person_view(p, p.id in visible, _schedule(p, facts[p.id], today)) for p in people]


def list_people(
    session: Session,
    viewer: Viewer,
    category: str | None = None,
    grid_id: int | None = None,
    include_withdrawn: bool = False,
) -> list[dict]:
    """The register for organisers and viewers; for a volunteer only the people they visit (a visit
    current, coming or lately ended), as a visit's visited person is private to its visitors."""
    query = select(VisitedPerson).order_by(VisitedPerson.grid_id, VisitedPerson.name, VisitedPerson.id)
    if category is not None:
        query = query.where(VisitedPerson.category == category)
    if grid_id is not None:
        query = query.where(VisitedPerson.grid_id == grid_id)
    if not include_withdrawn:
        query = query.where(VisitedPerson.status == "active")
    people = list(session.scalars(query))
    if not viewer.caller.may_read_all:
        mine = private_visible(session, viewer, [p.id for p in people])
        people = [p for p in people if p.id in mine or grid_scope.reads_grid(viewer.caller, p.grid_id)]
    return people_views(session, people, viewer)


def visit_views(session: Session, visits: list[PersonVisit], viewer: Viewer) -> list[dict]:
    """Visits with their visitors; the note only to organisers and to that visit's visitors."""
    visitors = visitors_of(session, [v.occurrence_id for v in visits])
    attended = attended_visits(session, [v.occurrence_id for v in visits])
    return [
        {
            "occurrence_id": v.occurrence_id,
            "person_id": v.person_id,
            "due_on": v.due_on,
            "start": from_db(v.occurrence.start),
            "end": from_db(v.occurrence.end),
            "status": store.effective_status(v.occurrence),
            "visitor_ids": visitors.get(v.occurrence_id, []),
            "done": v.done_at is not None,
            "done_at": from_db(v.done_at),
            "missed": visit_rules.missed(
                store.effective_status(v.occurrence),
                from_db(v.occurrence.end),
                v.done_at is not None,
                v.occurrence_id in attended,
                viewer.now,
            ),
            "note": v.note
            if viewer.caller.is_organiser or viewer.caller.volunteer_id in visitors.get(v.occurrence_id, [])
            else None,
            "note_at": from_db(v.note_at),
        }
        for v in visits
    ]


def attended_visits(session: Session, occurrence_ids: list[int]) -> set[int]:
    """The visits someone's attendance was marked for (made, whether or not the visitors said so)."""
    if not occurrence_ids:
        return set()
    return set(
        session.scalars(
            select(Signup.occurrence_id).where(
                Signup.occurrence_id.in_(occurrence_ids), Signup.attendance == "attended"
            )
        )
    )


def person_detail(session: Session, person_id: int, viewer: Viewer) -> dict:
    """A person with the history of their visits, newest first."""
    person = get_person(session, person_id)
    visits = list(
        session.scalars(
            select(PersonVisit)
            .join(Occurrence, Occurrence.id == PersonVisit.occurrence_id)
            .where(PersonVisit.person_id == person_id)
            .order_by(Occurrence.start.desc())
        )
    )
    return {**people_views(session, [person], viewer)[0], "visits": visit_views(session, visits, viewer)}


def overdue(session: Session, today: date, viewer: Viewer) -> list[dict]:
    """Active people with consent whose visit is late on ``today``, the latest first (a grid leader's
    grids only)."""
    people = list(
        session.scalars(
            select(VisitedPerson).where(VisitedPerson.status == "active", VisitedPerson.consent_at.is_not(None))
        )
    )
    people = [p for p in people if grid_scope.reads_grid(viewer.caller, p.grid_id)]
    facts = visit_facts(session, [p.id for p in people])
    late = []
    for person in people:
        schedule = _schedule(person, facts[person.id], today)
        if schedule["overdue_days"] > 0:
            late.append(person_view(person, False, schedule))
    return sorted(late, key=lambda v: (-v["overdue_days"], v["name"], v["id"]))


def missed(session: Session, since: date, viewer: Viewer) -> list[dict]:
    """Visits since ``since`` that are over, were not cancelled, and nobody marked made or attended:
    the organiser cancels and plans them again (``visit_rules.missed``). Active people of the caller's
    grids; no private fields, no notes."""
    rows = list(
        session.scalars(
            select(PersonVisit)
            .join(Occurrence, Occurrence.id == PersonVisit.occurrence_id)
            .join(VisitedPerson, VisitedPerson.id == PersonVisit.person_id)
            .where(
                VisitedPerson.status == "active",
                PersonVisit.done_at.is_(None),
                Occurrence.status == "scheduled",
                Occurrence.start >= to_db(datetime.combine(since, datetime.min.time(), tzinfo=TZ)),
                Occurrence.end <= to_db(viewer.now),
            )
            .order_by(Occurrence.start, PersonVisit.id)
        )
    )
    rows = [v for v in rows if grid_scope.reads_grid(viewer.caller, v.person.grid_id)]
    shown = visit_views(session, rows, viewer)
    return [
        {**view, "note": None, "person_name": visit.person.name, "grid_id": visit.person.grid_id}
        for visit, view in zip(rows, shown, strict=True)
        if view["missed"]
    ]


# --- planning -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueVisit:
    """A visit the register asks for: who, which day, and when it would run."""

    person_id: int
    day: date
    start: datetime
    end: datetime


def visit_window(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, visit_rules.VISIT_TIME, tzinfo=TZ)
    return start, start + timedelta(minutes=visit_rules.VISIT_MINUTES)


def first_plannable_day(start: date, now: datetime) -> date:
    """Visits are planned from ``start``, but never at a time already past."""
    today = local(now).date()
    first = today if local(now) < visit_window(today)[0] else today + timedelta(days=1)
    return max(start, first)


def due_visits(session: Session, start: date, end: date, now: datetime) -> list[DueVisit]:
    """The visits [start, end) lacks, person by person at their frequency (only with consent)."""
    first = first_plannable_day(start, now)
    people = list(
        session.scalars(
            select(VisitedPerson)
            .where(VisitedPerson.status == "active", VisitedPerson.consent_at.is_not(None))
            .order_by(VisitedPerson.id)
        )
    )
    facts = visit_facts(session, [p.id for p in people])
    due = []
    for person in people:
        fact = facts[person.id]
        for day in visit_rules.due_dates(
            person.frequency_days, fact["last_visit"], fact.get("planned", []), first, end
        ):
            due.append(DueVisit(person.id, day, *visit_window(day)))
    return sorted(due, key=lambda d: (d.day, d.person_id))


def previous_pair(session: Session, person_id: int) -> list[int]:
    """The visitors of the person's latest visit that had any."""
    rows = session.execute(
        select(PersonVisit.occurrence_id)
        .join(Occurrence, Occurrence.id == PersonVisit.occurrence_id)
        .where(PersonVisit.person_id == person_id, Occurrence.status == "scheduled")
        .order_by(Occurrence.start.desc())
    ).scalars()
    ids = list(rows)
    visitors = visitors_of(session, ids)
    return next((visitors[i] for i in ids if visitors.get(i)), [])


def visit_loads(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    """Confirmed elderly visits per volunteer from ``LOAD_LOOKBACK`` before ``start`` until ``end``."""
    rows = session.execute(
        select(Signup.volunteer_id, func.count(Signup.id))
        .join(Occurrence, Occurrence.id == Signup.occurrence_id)
        .join(Activity, Activity.id == Occurrence.activity_id)
        .where(
            Activity.kind == "elderly_visit",
            Signup.status == "confirmed",
            Occurrence.status == "scheduled",
            Occurrence.start >= to_db(start - LOAD_LOOKBACK),
            Occurrence.start < to_db(end),
        )
        .group_by(Signup.volunteer_id)
    )
    return dict(rows.all())


def plan(
    session: Session,
    due: list[DueVisit],
    free: dict[date, list[dict]],
    window: tuple[datetime, datetime],
    created_by: int | None,
) -> list[dict]:
    """Create each due visit not made meanwhile and sign its pair up.

    ``free`` holds, per day, the volunteers the volunteers service found available at the visit's
    time (records with ``id``, ``teams``, ``grid_id``); those with a clashing duty are left out
    here. Returns what was planned, a pair or no pair (too few free) per visit.
    """
    planning.hold(session, "visits")  # a plan made meanwhile is seen below, its visits left out
    loads: dict[int, int] = defaultdict(int, visit_loads(session, *window))
    planned = []
    for visit in due:
        person = get_person(session, visit.person_id)
        taken = session.scalar(
            select(PersonVisit.id).where(PersonVisit.person_id == person.id, PersonVisit.due_on == visit.day)
        )
        if taken is not None or not visit_rules.plannable(_standing(person)):
            continue
        occ = create_visit(session, person, visit, created_by)
        duty = (from_db(occ.start), from_db(occ.end))
        held = store.booked(session, [int(r["id"]) for r in free.get(visit.day, [])], *duty)
        candidates = [
            Candidate(int(r["id"]), tuple(r.get("teams") or ()), r.get("grid_id"), loads[int(r["id"])])
            for r in free.get(visit.day, [])
            if not set(domain.clashing(duty, held.get(int(r["id"]), ()))) - {occ.id}
        ]
        pair = choose_pair(previous_pair(session, person.id), candidates, person.grid_id) or ()
        for volunteer_id in pair:
            signup, changed = store.sign_up(session, occ.id, "visitor", volunteer_id, None, source="visit_plan")
            loads[volunteer_id] += 1
            if changed:
                OUTBOX.add(session, "signup_confirmed", views.signup_event(session, signup))
        planned.append({"person_id": person.id, "occurrence_id": occ.id, "day": visit.day, "visitor_ids": list(pair)})
    return planned


def create_visit(session: Session, person: VisitedPerson, visit: DueVisit, created_by: int | None) -> Occurrence:
    data = {
        "title": VISIT_TITLES[person.category],
        "kind": "elderly_visit",
        "team": "convenient_service",
        "start": visit.start,
        "duration_minutes": visit_rules.VISIT_MINUTES,
        "grid_id": person.grid_id,
        "courtyard": person.courtyard,
        "room": person.home,
        "visited_person": person.name,
        "private_address": person.address,
        "health_notes": person.health_notes,
    }
    activity = store.create_activity(session, data, created_by)
    occ = store.ensure_occurrence(session, activity.id, visit.start)
    session.add(PersonVisit(person_id=person.id, activity_id=activity.id, occurrence_id=occ.id, due_on=visit.day))
    session.flush()
    return occ


# --- the visitors' notes --------------------------------------------------------------------------


def get_visit(session: Session, occurrence_id: int) -> PersonVisit:
    visit = session.scalar(select(PersonVisit).where(PersonVisit.occurrence_id == occurrence_id))
    if visit is None:
        raise NotFound(f"occurrence {occurrence_id} is not a planned visit of the register")
    return visit


def record_note(session: Session, occurrence_id: int, note: str | None, done: bool, viewer: Viewer) -> PersonVisit:
    """The visitors' (or an organiser's) note after a visit, and whether it was made."""
    visit = get_visit(session, occurrence_id)
    check_note_writer(session, viewer, visit)
    if store.effective_status(visit.occurrence) == "cancelled":
        raise RuleViolation("closed", f"visit {occurrence_id} was cancelled")
    stamp = to_db(viewer.now)
    if note is not None:
        visit.note, visit.note_by, visit.note_at = note, viewer.caller.volunteer_id, stamp
    if done and visit.done_at is None:
        visit.done_at = stamp
    session.flush()
    return visit


def reopen(session: Session, occurrence_id: int, viewer: Viewer) -> PersonVisit:
    """Take back a visit marked made by mistake: it no longer counts as the person's last visit, so
    they may be overdue again; the note stays."""
    visit = get_visit(session, occurrence_id)
    check_note_writer(session, viewer, visit)
    visit.done_at = None
    session.flush()
    return visit


def visit_duties(session: Session, volunteer_id: int, viewer: Viewer) -> list[dict]:
    """A visitor's visits of the register, recent and coming, each with the person as they may see them."""
    rows = list(
        session.scalars(
            select(PersonVisit)
            .join(Occurrence, Occurrence.id == PersonVisit.occurrence_id)
            .join(Signup, Signup.occurrence_id == Occurrence.id)
            .where(
                Signup.volunteer_id == volunteer_id,
                Signup.status == "confirmed",
                Occurrence.start >= to_db(viewer.now - DUTIES_BEHIND),
                Occurrence.start < to_db(viewer.now + DUTIES_AHEAD),
            )
            .order_by(Occurrence.start)
        )
    )
    people = {v.person_id: get_person(session, v.person_id) for v in rows}
    shown = {p["id"]: p for p in people_views(session, list(people.values()), viewer)}
    return [
        {**view, "person": shown[visit.person_id]}
        for visit, view in zip(rows, visit_views(session, rows, viewer), strict=True)
    ]
