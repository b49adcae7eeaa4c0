"""The Lin Honghan weekend school in the activities service: the pupils' register, a term's assignment
problem gathered from it, the tutors and the tutoring occurrences, solved off the hub, and the assignment
kept with its tutors signed up to their sessions.

The assignment (``activities.school``) is pure and blocks while it works, so it runs in eventlet's OS
thread pool with a time limit, as the patrol roster does. A tutor with a pupil in a session holds a
confirmed sign-up of the session's tutor role with ``source = 'school'``: the session is one of their
duties, in their calendar feed and reminders like any other; a re-assignment cancels the sign-ups it no
longer needs. Pupils are minors: their guardian's name and phone are read by organisers only, and never
go into events, logs or a tutor's answer.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import eventlet.tpool
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from activities import planning, schemas, school, store, views
from activities.exceptions import SkillMissing, VolunteerUnavailable
from activities.models import (
    OUTBOX,
    Occurrence,
    OccurrenceRole,
    SchoolAssignment,
    SchoolPupil,
    Signup,
    StandinOffer,
)
from activities.rostering import naive
from activities.school import wording
from guanyinli.errors import Conflict, Forbidden, InternalError, InvalidInput, NotFound, Unavailable
from guanyinli.identity import ORGANISERS, READERS, own
from guanyinli.rpc import rpc
from guanyinli.schemas import contract
from guanyinli.timeutil import from_db, now, to_db

log = logging.getLogger(__name__)

SOURCE = "school"  # signups.source of a tutor's duty made by the assignment
# signups.source of such a duty the assignment cancelled because it no longer needed the tutor; a duty
# still marked SOURCE and cancelled is one the tutor gave up (cancelled, let go or handed to a stand-in)
RELEASED = "school_released"
SKILL = "tutoring"  # a tutor's skills are tutoring:<subject>
PREVIOUS_DAYS = 120  # how far back earlier assignments keep their tutors (continuity)
PUPIL_FIELDS = ("name", "grade", "subjects", "guardian_name", "guardian_phone")
SCHOOL_ERRORS = (Forbidden, InvalidInput, NotFound)


# --- the register ------------------------------------------------------------------------------


def register_pupil(session: Session, data: dict, by: int | None) -> SchoolPupil:
    pupil = SchoolPupil(**{k: data[k] for k in PUPIL_FIELDS}, active=True, registered_by=by)
    pupil.subjects = ordered(pupil.subjects)
    if data.get("demo_key"):
        pupil.demo_key = data["demo_key"]
    session.add(pupil)
    session.flush()
    return pupil


def get_pupil(session: Session, pupil_id: int) -> SchoolPupil:
    pupil = session.get(SchoolPupil, pupil_id)
    if pupil is None:
        raise NotFound(f"pupil_id: no pupil {pupil_id}", f"没有编号为{pupil_id}的学生")
    return pupil


def update_pupil(session: Session, pupil_id: int, changes: dict) -> SchoolPupil:
    pupil = get_pupil(session, pupil_id)
    for key in PUPIL_FIELDS:
        if key in changes:
            setattr(pupil, key, ordered(changes[key]) if key == "subjects" else changes[key])
    pupil.updated_at = to_db(now())
    session.flush()
    return pupil


def list_pupils(session: Session, include_withdrawn: bool = False, ids: set[int] | None = None) -> list[SchoolPupil]:
    query = select(SchoolPupil).order_by(SchoolPupil.grade, SchoolPupil.name, SchoolPupil.id)
    if not include_withdrawn:
        query = query.where(SchoolPupil.active.is_(True))
    if ids is not None:
        query = query.where(SchoolPupil.id.in_(ids))
    return list(session.scalars(query))


def withdraw_pupil(
    session: Session, pupil_id: int, at: datetime
) -> tuple[SchoolPupil, list[tuple[Occurrence, set[int]]]]:
    """The pupil leaves the register (kept, inactive); their coming sessions' assignments go. Returns the
    occurrences whose tutors' sign-ups are to be brought in line, with the tutors named before."""
    pupil = get_pupil(session, pupil_id)
    if not pupil.active:
        return pupil, []
    pupil.active = False
    pupil.withdrawn_at = pupil.updated_at = to_db(at)
    rows = session.scalars(
        select(SchoolAssignment)
        .join(Occurrence, Occurrence.id == SchoolAssignment.occurrence_id)
        .where(SchoolAssignment.pupil_id == pupil_id, Occurrence.start > to_db(at))
    ).all()
    touched = {oid: named(session, oid) for oid in sorted({row.occurrence_id for row in rows})}
    for row in rows:
        session.delete(row)
    session.flush()
    return pupil, [(session.get(Occurrence, oid), before) for oid, before in touched.items()]


def ordered(subjects: list[str]) -> list[str]:
    return sorted(dict.fromkeys(subjects), key=wording.order)


def pupil_view(pupil: SchoolPupil, private: bool) -> dict:
    """A pupil as the caller may see them: the guardian's name and phone for organisers only."""
    view = {
        "id": pupil.id,
        "name": pupil.name,
        "grade": pupil.grade,
        "subjects": list(pupil.subjects or ()),
        "active": pupil.active,
    }
    if private:
        view.update(guardian_name=pupil.guardian_name, guardian_phone=pupil.guardian_phone)
    return view


# --- a term's problem ------------------------------------------------------------------------------


def tutor_subjects(skills: list[str] | None) -> frozenset[str]:
    """The subjects of a volunteer's tutoring skills: ``tutoring:math`` teaches maths."""
    return frozenset(s.split(":", 1)[1] for s in skills or () if s.startswith(SKILL + ":"))


def tutor_slot(session: Session, occ: Occurrence) -> OccurrenceRole:
    """The seats of an occurrence's tutor role: the role named tutor, else the one asking for tutoring."""
    slots = list(session.scalars(select(OccurrenceRole).where(OccurrenceRole.occurrence_id == occ.id)))
    for slot in sorted(slots, key=lambda s: (s.role.name != "tutor", SKILL not in (s.role.skills or []), s.id)):
        return slot
    raise InvalidInput(f"occurrence {occ.id} has no tutor role", f"活动场次{occ.id}没有辅导老师岗位")


@dataclass
class Term:
    """What the tables say of a window of the school: the sessions to assign (scheduled, not started), the
    register, pins and earlier tutors, and the tutors' other duties."""

    occurrences: list[Occurrence] = field(default_factory=list)
    duties: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)  # occurrence -> tutor duty
    pupils: list[SchoolPupil] = field(default_factory=list)
    pins: list[school.Pin] = field(default_factory=list)
    pin_rows: dict[school.Pin, int] = field(default_factory=dict)  # pin -> assignment id
    previous: list[school.Assignment] = field(default_factory=list)
    busy: dict[int, list[tuple[datetime, datetime]]] = field(default_factory=lambda: defaultdict(list))
    signed: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # tutor -> occurrences
    gave_up: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # tutor -> occurrences
    pupils_per_tutor: int = school.model.PUPILS_PER_TUTOR


def tutoring_occurrences(session: Session, start: datetime, end: datetime, since: datetime) -> list[Occurrence]:
    """Scheduled tutoring occurrences within [start, end) that start at ``since`` or later."""
    found = store.list_occurrences(session, start, end, kind="tutoring")
    return [
        occ
        for occ in found
        if isinstance(occ, Occurrence)
        and store.effective_status(occ) == "scheduled"
        and occ.start >= to_db(max(start, since))
        and occ.end <= to_db(end)
    ]


def gather(session: Session, start: datetime, end: datetime, at: datetime) -> Term:
    term = Term(occurrences=tutoring_occurrences(session, start, end, at))
    ids = {occ.id for occ in term.occurrences}
    for occ in term.occurrences:
        term.duties[occ.id] = store.duty_of(occ, tutor_slot(session, occ).role)
    ratios = {occ.activity.pupils_per_tutor for occ in term.occurrences if occ.activity.pupils_per_tutor}
    term.pupils_per_tutor = min(ratios, default=school.model.PUPILS_PER_TUTOR)
    term.pupils = list_pupils(session)
    term.gave_up = dropped_out(session, term.occurrences)
    rows = session.execute(
        select(SchoolAssignment, Occurrence.start)
        .join(Occurrence, Occurrence.id == SchoolAssignment.occurrence_id)
        .where(
            SchoolAssignment.tutor_id.is_not(None),
            Occurrence.start >= to_db(start - timedelta(days=PREVIOUS_DAYS)),
            Occurrence.start < to_db(end),
        )
        .order_by(Occurrence.start, SchoolAssignment.id)
    )
    for row, _ in rows:
        session_id, pupil_id, tutor_id = str(row.occurrence_id), str(row.pupil_id), str(row.tutor_id)
        if row.occurrence_id not in ids:
            term.previous.append(school.Assignment(session_id, pupil_id, row.subject, tutor_id))
        elif row.pinned:
            pin = school.Pin(pupil_id, row.subject, session_id, tutor_id)
            term.pins.append(pin)
            term.pin_rows[pin] = row.id
    if term.occurrences:
        first = min(d[0] for d in term.duties.values())
        last = max(d[1] for d in term.duties.values())
        duties = session.execute(
            select(Signup.volunteer_id, Signup.occurrence_id, Occurrence)
            .join(Occurrence, Occurrence.id == Signup.occurrence_id)
            .where(Signup.status == "confirmed", Occurrence.start < to_db(last), Occurrence.end > to_db(first))
        )
        for vid, oid, occ in duties:
            if oid in ids:  # holding the duty (signed up, assigned, a stand-in): free for it whatever their hours
                term.signed[vid].add(oid)
                continue
            term.busy[vid].append((from_db(occ.start), from_db(occ.end)))
    return term


def dropped_out(session: Session, occurrences: list[Occurrence]) -> dict[int, set[int]]:
    """The tutors who gave up a duty the assignment gave them, per occurrence: left out of it from now on.
    Their pupils' rows lose them (and a pin on them), for the solve to fill."""
    ids = [occ.id for occ in occurrences]
    gave_up: dict[int, set[int]] = defaultdict(set)
    for vid, oid in session.execute(
        select(Signup.volunteer_id, Signup.occurrence_id).where(
            Signup.occurrence_id.in_(ids), Signup.status == "cancelled", Signup.source == SOURCE
        )
    ):
        gave_up[vid].add(oid)
    for row in session.scalars(select(SchoolAssignment).where(SchoolAssignment.occurrence_id.in_(ids))):
        if row.tutor_id is not None and row.occurrence_id in gave_up.get(row.tutor_id, ()):
            row.tutor_id, row.pinned = None, False
            row.reason, row.reason_zh = GAVE_UP
    session.flush()
    return gave_up


def problem_from(term: Term, tutors: list[dict], windows: dict[int, list[tuple[datetime, datetime]]]) -> school.Problem:
    """The solver's input: a tutor is free for a session when one of their availability windows holds its
    duty (or they hold the duty already) and no other duty of theirs overlaps it, unless they gave it up."""
    sessions = [
        school.Session(str(occ.id), naive(term.duties[occ.id][0]), naive(term.duties[occ.id][1]))
        for occ in term.occurrences
    ]
    staff = []
    for person in tutors:
        subjects = tutor_subjects(person.get("skills"))
        if not subjects:
            continue
        vid, own = person["id"], windows.get(person["id"], [])
        free = set()
        for occ in term.occurrences:
            a, b = term.duties[occ.id]
            held = occ.id in term.signed.get(vid, ()) or any(w0 <= a and b <= w1 for w0, w1 in own)
            if occ.id in term.gave_up.get(vid, ()):
                continue
            if held and not any(x < b and a < y for x, y in term.busy.get(vid, ())):
                free.add(str(occ.id))
        staff.append(school.Tutor(str(vid), subjects, frozenset(free)))
    known = {t.id for t in staff}
    return school.Problem(
        pupils=tuple(school.Pupil(str(p.id), p.grade, tuple(p.subjects)) for p in term.pupils),
        tutors=tuple(staff),
        sessions=tuple(sessions),
        pupils_per_tutor=term.pupils_per_tutor,
        previous=tuple(term.previous),
        pins=tuple(p for p in term.pins if p.tutor_id in known),
    )


# --- the assignment kept ---------------------------------------------------------------------------


def save(session: Session, term: Term, result: school.Result, by: str | None) -> None:
    """The result as the sessions' assignment rows: each need with its tutor, or none and why. A kept pin
    comes back as it was; a pin the rules no longer allow (its tutor away, the subject no longer needed)
    gives way to the solver's answer, and the answer names it."""
    ids = [occ.id for occ in term.occurrences]
    existing = {
        (r.occurrence_id, r.pupil_id, r.subject): r
        for r in session.scalars(select(SchoolAssignment).where(SchoolAssignment.occurrence_id.in_(ids)))
    }
    wanted: dict[tuple[int, int, str], tuple[int | None, str | None, str | None]] = {}
    for a in result.assignments:
        wanted[int(a.session_id), int(a.pupil_id), a.subject] = (int(a.tutor_id), None, None)
    for u in result.uncovered:
        wanted[int(u.session_id), int(u.pupil_id), u.subject] = (None, u.reason[:300], u.reason_zh[:300])
    before = defaultdict(set)
    for (oid, _, _), row in existing.items():
        if row.tutor_id is not None:
            before[oid].add(row.tutor_id)
    stamp = to_db(now())
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
    for key, (tutor_id, reason, reason_zh) in wanted.items():
        row = existing.get(key)
        if row is None:
            row = SchoolAssignment(occurrence_id=key[0], pupil_id=key[1], subject=key[2], pinned=False)
            session.add(row)
        if (row.tutor_id, row.reason) != (tutor_id, reason):
            row.pinned = row.pinned and row.tutor_id == tutor_id
            row.tutor_id, row.reason, row.reason_zh = tutor_id, reason, reason_zh
            row.updated_at, row.updated_by = stamp, by
    session.flush()
    for oid in ids:  # the term's rows were read in another transaction
        sync_signups(session, session.get(Occurrence, oid), before[oid])


def named(session: Session, occurrence_id: int) -> set[int]:
    """The tutors the assignment names in one occurrence."""
    return set(
        session.scalars(
            select(SchoolAssignment.tutor_id).where(
                SchoolAssignment.occurrence_id == occurrence_id, SchoolAssignment.tutor_id.is_not(None)
            )
        )
    )


def sync_signups(session: Session, occ: Occurrence, before: set[int]) -> None:
    """Bring the tutors' sign-ups of one occurrence in line with its assignment: a confirmed duty for each
    tutor it names (a seat opened for them where the role is full); the duty it gave a tutor it named
    ``before`` and names no longer is cancelled (RELEASED). Other sign-ups (their own, a stand-in's) stay."""
    slot = tutor_slot(session, occ)
    wanted = named(session, occ.id)
    held = {s.volunteer_id: s for s in session.scalars(select(Signup).where(Signup.occurrence_role_id == slot.id))}
    for vid in sorted(before - wanted):
        signup = held.get(vid)
        if signup is not None and signup.status == "confirmed" and signup.source == SOURCE:
            signup, changed, promoted = store.cancel_sign_up(session, signup.id)
            signup.source = RELEASED
            if changed:
                OUTBOX.add(session, "signup_cancelled", views.signup_event(session, signup))
            for p in promoted:
                OUTBOX.add(session, "signup_promoted", views.signup_event(session, p))
    for vid in sorted(wanted):
        signup = held.get(vid)
        if signup is not None and signup.status == "confirmed":
            continue
        if signup is not None and signup.status == "waitlisted":  # the assignment gives them a seat now
            store.cancel_sign_up(session, signup.id)
        session.execute(
            update(OccurrenceRole)
            .where(OccurrenceRole.id == slot.id, OccurrenceRole.confirmed >= OccurrenceRole.capacity)
            .values(capacity=OccurrenceRole.confirmed + 1)
            .execution_options(synchronize_session=False)
        )
        signup, changed = store.sign_up(session, occ.id, slot.role.name, vid, None, source=SOURCE, waitlist=False)
        if changed:
            OUTBOX.add(session, "signup_confirmed", views.signup_event(session, signup))


GAVE_UP = ("the tutor gave up this session", "原定老师已取消本场")
STAND_IN_LACKS = ("the stand-in does not teach this subject", "替班老师不教这一科")


def follow_tutors(session: Session, occurrence_id: int, subjects: Mapping[int, frozenset[str]] | None = None) -> int:
    """The assignment rows of one session after a tutor's duty left them outside the assignment (they
    cancelled it, were let go, or handed it to a stand-in): a row whose tutor no longer holds the duty
    goes to the stand-in who took it over when ``subjects`` (tutor -> subjects, known to the caller)
    says they teach its subject, else shows the pupil as needing a tutor and why. The next
    ``assign_tutors`` fills it; until then the page and the tutors' phones say what is so. Returns the
    rows changed."""
    rows = list(
        session.scalars(
            select(SchoolAssignment).where(
                SchoolAssignment.occurrence_id == occurrence_id, SchoolAssignment.tutor_id.is_not(None)
            )
        )
    )
    if not rows:
        return 0
    holding = set(store.confirmed_volunteers(session, [occurrence_id]).get(occurrence_id, ()))
    taken_over = dict(
        session.execute(
            select(StandinOffer.volunteer_id, StandinOffer.taken_by).where(
                StandinOffer.occurrence_id == occurrence_id, StandinOffer.status == "taken"
            )
        ).all()
    )
    stamp, changed = to_db(now()), 0
    for row in rows:
        if row.tutor_id in holding:
            continue
        taker = taken_over.get(row.tutor_id)
        if taker in holding and row.subject in (subjects or {}).get(taker, ()):
            row.tutor_id, row.reason, row.reason_zh = taker, None, None
        else:
            row.tutor_id = None
            row.reason, row.reason_zh = STAND_IN_LACKS if taker in holding else GAVE_UP
        row.pinned, row.updated_at, row.updated_by = False, stamp, None
        changed += 1
    session.flush()
    return changed


def get_assignment(session: Session, assignment_id: int) -> SchoolAssignment:
    row = session.get(SchoolAssignment, assignment_id)
    if row is None:
        raise NotFound(f"assignment_id: no assignment {assignment_id}", f"没有编号为{assignment_id}的辅导安排")
    return row


def coming(session: Session, row: SchoolAssignment, at: datetime) -> Occurrence:
    occ = session.get(Occurrence, row.occurrence_id)
    if occ.start <= to_db(at) or store.effective_status(occ) != "scheduled":
        raise Conflict(
            f"assignment_id: the session of assignment {row.id} has started or is cancelled",
            "该辅导场次已开始或已取消，不能再更改",
        )
    return occ


def list_assignments(session: Session, start: datetime, end: datetime, tutor_id: int | None = None) -> list[dict]:
    """The assignment rows of sessions overlapping [start, end) as views, tutor names left to the caller."""
    query = (
        select(SchoolAssignment, Occurrence, SchoolPupil)
        .join(Occurrence, Occurrence.id == SchoolAssignment.occurrence_id)
        .join(SchoolPupil, SchoolPupil.id == SchoolAssignment.pupil_id)
        .where(Occurrence.start < to_db(end), Occurrence.end > to_db(start))
        .order_by(Occurrence.start, Occurrence.id, SchoolPupil.grade, SchoolPupil.name, SchoolAssignment.subject)
    )
    if tutor_id is not None:
        query = query.where(SchoolAssignment.tutor_id == tutor_id)
    return [assignment_view(*r) for r in session.execute(query)]


def assignment_view(row: SchoolAssignment, occ: Occurrence, pupil: SchoolPupil) -> dict:
    """One pupil's subject in one session: never the guardian's contact."""
    return {
        "id": row.id,
        "occurrence_id": occ.id,
        "title": occ.activity.title,
        "start": from_db(occ.start),
        "end": from_db(occ.end),
        "pupil_id": pupil.id,
        "pupil_name": pupil.name,
        "grade": pupil.grade,
        "subject": row.subject,
        "subject_zh": wording.subject_zh(row.subject),
        "tutor_id": row.tutor_id,
        "tutor_name": None,  # the volunteers service's to say (SchoolMixin._named)
        "pinned": row.pinned,
        "reason": row.reason,
        "reason_zh": row.reason_zh,
    }


def need_view(need: school.SubjectNeed, occurrences: dict[str, Occurrence]) -> dict:
    occ = occurrences[need.session_id]
    return {
        "occurrence_id": occ.id,
        "start": from_db(occ.start),
        "subject": need.subject,
        "subject_zh": wording.subject_zh(need.subject),
        "needs": need.needs,
        "capacity": need.capacity,
        "shortfall": need.shortfall,
        "message": need.message,
        "message_zh": need.message_zh,
    }


def assignment_answer(term: Term, problem: school.Problem, result: school.Result) -> dict:
    """assign_tutors' numbers: sessions, needs covered, the objective and its bound, tutor changes, and the
    pins the rules no longer allow (by assignment id)."""
    return {
        "status": result.status,
        "sessions": len(problem.sessions),
        "needs": result.covered + len(result.uncovered),
        "covered": result.covered,
        "objective": result.objective,
        "bound": result.bound,
        "tutor_changes": result.tutor_changes,
        "wall_time": round(result.wall_time, 3),
        "costs": dict(result.costs),
        "unkept_pins": [
            {"assignment_id": term.pin_rows[u.pin], "reason": u.reason, "reason_zh": u.reason_zh}
            for u in result.unkept_pins
            if u.pin in term.pin_rows
        ],
    }


# --- the mixin ------------------------------------------------------------------------------------------


class SchoolMixin:
    """RPC of the weekend school: the pupils' register, the tutors' assignment, its pins and changes."""

    def _term(self, start: datetime, end: datetime) -> tuple[Term, school.Problem]:
        """The window's sessions and register from our tables, the tutors and their hours over RPC."""
        now = self.clock()
        term = self._work(lambda s: gather(s, start, end, now))
        if not term.occurrences:
            return term, problem_from(term, [], {})
        tutors = self.volunteers.tutors()
        first = min(d[0] for d in term.duties.values())
        last = max(d[1] for d in term.duties.values())
        windows = self.volunteers.windows_of(first, last, [t["id"] for t in tutors])
        return term, problem_from(term, tutors, windows)

    def _named(self, views: list[dict]) -> list[dict]:
        """The assignment views with their tutors' names, in one call to the volunteers service."""
        ids = {v["tutor_id"] for v in views if v["tutor_id"] is not None}
        if ids:
            names = {v["id"]: v["name"] for v in self.volunteers.lookup(ids, (), ())["volunteers"]}
            for view in views:
                view["tutor_name"] = names.get(view["tutor_id"])
        return views

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.RegisterPupilIn,
        response=schemas.Pupil(),
        errors=SCHOOL_ERRORS,
        key="request_id",
    )
    def register_pupil(self, name, grade, subjects, guardian_name, guardian_phone, request_id=None):
        """Put a pupil on the weekend school's register (an organiser, for the guardian too).

        The answer, for whoever registers them, holds the guardian's name and phone."""
        self._organiser()
        data = {"name": name, "grade": grade, "subjects": subjects}
        data.update(guardian_name=guardian_name, guardian_phone=guardian_phone)
        return self._work(lambda s: pupil_view(register_pupil(s, data, self.caller.volunteer_id), True))

    @rpc
    @contract(access=ORGANISERS, request=schemas.UpdatePupilIn, response=schemas.Pupil(), errors=SCHOOL_ERRORS)
    def update_pupil(self, pupil_id, changes):
        """Change a pupil's name, grade, subjects or guardian; the next assignment follows."""
        self._organiser()
        return self._work(lambda s: pupil_view(update_pupil(s, pupil_id, changes), True))

    @rpc
    @contract(
        access=own("organisers every pupil with the guardian; viewers every pupil, a tutor their own, without it"),
        request=schemas.ListPupilsIn,
        response=schemas.Pupil(many=True),
    )
    def list_pupils(self, include_withdrawn=False):
        """The pupils' register by grade and name (a volunteer: the pupils they tutor).

        The guardian's name and phone only to organisers."""
        private = self.caller.is_organiser

        def work(session):
            ids = None
            if not self.caller.may_read_all:
                ids = set(
                    session.scalars(
                        select(SchoolAssignment.pupil_id).where(SchoolAssignment.tutor_id == self.caller.volunteer_id)
                    )
                )
            return [pupil_view(p, private) for p in list_pupils(session, include_withdrawn, ids)]

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.PupilIdIn,
        response=schemas.Pupil(),
        errors=SCHOOL_ERRORS,
        emits=("signup_cancelled", "signup_promoted"),
    )
    def withdraw_pupil(self, pupil_id):
        """Take a pupil off the register: their coming sessions lose them, and tutors they leave idle
        their assigned duty."""
        self._organiser()
        now = self.clock()

        def work(session):
            pupil, touched = withdraw_pupil(session, pupil_id, now)
            for occ, before in touched:
                sync_signups(session, occ, before)
            return pupil_view(pupil, True)

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.AssignTutorsIn,
        response=schemas.SchoolAssignmentOut(),
        errors=SCHOOL_ERRORS + (Unavailable, Conflict),
        emits=("signup_confirmed", "signup_cancelled", "signup_promoted"),
    )
    def assign_tutors(self, start, end, time_limit=10.0):
        """Assign tutors to the weekend school's coming sessions in [start, end) and sign them up.

        Every active pupil comes to every tutoring session; each subject they need gets a tutor with that
        subject skill (tutoring:<subject>) who is free then, at most the activity's pupils per tutor, the
        same tutor as last time where possible, pins kept. Sessions that have started are left as they
        are. Needs no tutor can take are kept with their reason. The assigned tutors get a confirmed duty
        (signup_confirmed); tutors a re-assignment no longer needs lose the one it gave them. A tutor who
        gave up a session's duty (cancelled it, was let go, handed it to a stand-in) is not given it again;
        a pin the rules no longer allow is listed in unkept_pins and gives way.
        """
        self._organiser()
        term, problem = self._term(start, end)
        if not term.occurrences:
            raise InvalidInput(
                "start, end: no coming tutoring session in this window; create the weekend school's activity first",
                "该时间段没有待进行的辅导场次，请先创建周末学堂活动",
            )
        options = school.Options(time_limit=time_limit)
        result = eventlet.tpool.execute(school.solve, problem, options)
        kept = tuple(p for p in problem.pins if p not in {u.pin for u in result.unkept_pins})
        # the independent check of every assignment before anything is kept
        broken = school.validate(replace(problem, pins=kept), result.assignments)
        if broken:
            log.error("school assignment breaks hard rules: %s", broken)
            raise InternalError(f"the assignment breaks {broken[0].rule}: {broken[0].message}")

        def work(session):
            planning.hold(session, "school")  # an assignment saved meanwhile is read again under the lock
            save(session, term, result, self.caller.name)
            return list_assignments(session, start, end)

        return {**assignment_answer(term, problem, result), "assignments": self._named(self._work(work))}

    @rpc
    @contract(
        access=own("organisers and viewers every assignment; a volunteer their own"),
        request=schemas.ListAssignmentsIn,
        response=schemas.SchoolAssignment(many=True),
        errors=(Forbidden, Unavailable),
    )
    def list_assignments(self, start, end, tutor_id=None):
        """The weekend school's assignment of [start, end): session, pupil, subject, tutor, pinned."""
        if not self.caller.may_read_all:
            tutor_id = self.caller.volunteer_id if tutor_id is None else tutor_id
            self._for_volunteer(tutor_id)
        return self._named(self._work(lambda s: list_assignments(s, start, end, tutor_id)))

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.PinAssignmentIn,
        response=schemas.SchoolAssignment(),
        errors=SCHOOL_ERRORS + (Conflict,),
    )
    def pin_assignment(self, assignment_id, pinned=True):
        """Pin a pupil's tutor for a session (a re-assignment keeps them), or unpin it."""
        self._organiser()
        now = self.clock()

        def work(session):
            row = get_assignment(session, assignment_id)
            occ = coming(session, row, now)
            if pinned and row.tutor_id is None:
                raise Conflict("assignment_id: no tutor to pin; change it to a tutor instead", "尚无老师，无法固定")
            row.pinned = pinned
            session.flush()
            return [assignment_view(row, occ, session.get(SchoolPupil, row.pupil_id))]

        return self._named(self._work(work))[0]

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.ChangeAssignmentIn,
        response=schemas.SchoolAssignment(),
        errors=SCHOOL_ERRORS + (Conflict, SkillMissing, VolunteerUnavailable, Unavailable),
        emits=("signup_confirmed", "signup_cancelled", "signup_promoted"),
    )
    def change_assignment(self, assignment_id, tutor_id):
        """Give a pupil's subject in a session another tutor, pinned so that a re-assignment keeps it.

        The tutor must have the subject skill, be free then and have a seat left (the activity's pupils
        per tutor); they get the session as a confirmed duty, and the former tutor loses the one the
        assignment gave them when no other pupil of the session is theirs."""
        self._organiser()
        now = self.clock()

        def look(session):
            row = get_assignment(session, assignment_id)
            occ = coming(session, row, now)
            return row.subject, store.duty_of(occ, tutor_slot(session, occ).role)

        subject, duty = self._work(look)
        record, availability = self.volunteers.volunteer_and_availability(tutor_id, *duty)
        if subject not in tutor_subjects(record.get("skills")):
            raise SkillMissing(
                f"tutor_id: volunteer {tutor_id} has no skill {SKILL}:{subject}",
                f"该志愿者没有{wording.subject_zh(subject)}辅导技能",
            )
        if not record.get("active", True) or not availability.get("available"):
            raise VolunteerUnavailable(
                f"tutor_id: volunteer {tutor_id} is not free then ({availability.get('reason') or 'inactive'})",
                "该志愿者当时没空",
            )

        def work(session):
            row = get_assignment(session, assignment_id)
            occ = coming(session, row, now)
            ratio = occ.activity.pupils_per_tutor or school.model.PUPILS_PER_TUTOR
            theirs = set(
                session.scalars(
                    select(SchoolAssignment.pupil_id).where(
                        SchoolAssignment.occurrence_id == occ.id,
                        SchoolAssignment.tutor_id == tutor_id,
                        SchoolAssignment.id != row.id,
                    )
                )
            )
            if row.pupil_id not in theirs and len(theirs) >= ratio:
                raise Conflict(
                    f"tutor_id: volunteer {tutor_id} already teaches {len(theirs)} pupils in this session",
                    f"该老师本场已带{len(theirs)}名学生",
                )
            before = named(session, occ.id)
            row.tutor_id, row.pinned, row.reason, row.reason_zh = tutor_id, True, None, None
            row.updated_at, row.updated_by = to_db(now), self.caller.name
            session.flush()
            sync_signups(session, occ, before)
            return [assignment_view(row, occ, session.get(SchoolPupil, row.pupil_id))]

        return self._named(self._work(work))[0]

    @rpc
    @contract(
        access=READERS,
        request=schemas.SchoolWindowIn,
        response=schemas.SchoolNeed(many=True),
        errors=(InvalidInput, Unavailable),
    )
    def school_lacking(self, start, end):
        """The subjects that lack tutors in the coming sessions of [start, end): per session and subject,
        the pupils who need it, the seats of the qualified tutors free then and the shortfall."""
        term, problem = self._term(start, end)
        occurrences = {str(occ.id): occ for occ in term.occurrences}
        return [need_view(n, occurrences) for n in school.lacking(problem)]


# --- demo ---------------------------------------------------------------------------------------------------

# The demo term's pupils (invented): name, grade, subjects, guardian. The weekend school of activities.demo
# runs every Saturday and Sunday morning; scripts/demo_duties.py assigns its tutors once the services run.
DEMO_PUPILS = [
    ("王小明", 3, ["math", "chinese"], "王建军"),
    ("李思雨", 4, ["english"], "李红"),
    ("张子涵", 5, ["math"], "张伟"),
    ("刘一诺", 2, ["chinese"], "刘芳"),
    ("陈浩然", 6, ["math", "english"], "陈静"),
    ("杨欣怡", 1, ["chinese"], "杨磊"),
    ("赵天宇", 8, ["physics", "math"], "赵丽"),
    ("黄梓萱", 7, ["english", "chinese"], "黄勇"),
    ("周俊杰", 9, ["physics"], "周敏"),
    ("吴雨桐", 5, ["english"], "吴强"),
    ("徐嘉怡", 3, ["math"], "徐娟"),
    ("孙浩宇", 6, ["chinese", "math"], "孙涛"),
    ("胡可馨", 4, ["math"], "胡斌"),
    ("朱子轩", 9, ["chemistry", "math"], "朱霞"),
]


def demo_pupils(session: Session, monday) -> int:
    """The demo term's register (idempotent by demo_key); returns the pupils added."""
    added = 0
    for n, (name, grade, subjects, guardian) in enumerate(DEMO_PUPILS):
        key = f"demo:{monday.isoformat()}:pupil:{n}"
        if session.scalar(select(SchoolPupil.id).where(SchoolPupil.demo_key == key)) is not None:
            continue
        data = {"name": name, "grade": grade, "subjects": subjects, "guardian_name": guardian}
        register_pupil(session, {**data, "guardian_phone": f"1580000{n:04d}", "demo_key": key}, None)
        added += 1
    return added
