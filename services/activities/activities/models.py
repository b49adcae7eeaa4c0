"""Tables of the activities service: activities, their occurrences, seats, sign-ups and attendance.

Datetimes are stored as naive UTC (``guanyinli.timeutil.to_db`` / ``from_db``) so SQLite and
PostgreSQL compare them alike. Seats are counted in ``occurrence_roles.confirmed`` and guarded by
``CHECK (confirmed <= capacity)``: every sign-up takes its seat with a conditional
``UPDATE ... WHERE confirmed < capacity``, so a role cannot be overbooked whatever the number of
replicas or the backend. Cancelled activities, occurrences and sign-ups keep their rows.

For the iCal feeds: ``sequence`` and ``updated_at`` on ``activities`` and ``occurrences`` are
bumped on every change of time, place or status (iCalendar SEQUENCE and DTSTAMP/LAST-MODIFIED).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from guanyinli import keys, once, outbox
from guanyinli.timeutil import now, to_db


def utcnow() -> datetime:
    return to_db(now())


class Base(DeclarativeBase):
    pass


once.table("activities", Base.metadata)  # RPC requests carried out (guanyinli.once)
keys.table("activities", Base.metadata)  # callers' idempotency keys (guanyinli.keys)
OUTBOX = outbox.Outbox("outbox_events", Base.metadata)  # events to send (guanyinli.outbox)


class Activity(Base):
    """Something that happens once or on a recurrence rule, with the roles it needs."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("grid_id IS NULL OR (grid_id >= 1)", name="ck_activities_grid"),
        CheckConstraint("duration_minutes > 0", name="ck_activities_duration"),
        CheckConstraint("status IN ('active', 'cancelled')", name="ck_activities_status"),
        Index("ix_activities_kind_status", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    team: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    grid_id: Mapped[int | None] = mapped_column(Integer, index=True)
    courtyard: Mapped[str | None] = mapped_column(String(100))
    room: Mapped[str | None] = mapped_column(String(100))
    # First start (naive UTC); the recurrence rule is expanded in Asia/Shanghai local time.
    dtstart: Mapped[datetime] = mapped_column(DateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    rrule: Mapped[str | None] = mapped_column(Text, doc="RFC 5545 RRULE value, e.g. FREQ=WEEKLY;BYDAY=SA,SU")
    # Lectures: room capacity for resident registrations. Tutoring: pupils per tutor.
    capacity: Mapped[int | None] = mapped_column(Integer)
    pupils_per_tutor: Mapped[int | None] = mapped_column(Integer)
    # Elderly visits: private, shown only to assigned visitors and organisers.
    visited_person: Mapped[str | None] = mapped_column(String(100))
    private_address: Mapped[str | None] = mapped_column(String(300))
    health_notes: Mapped[str | None] = mapped_column(Text)
    # Elderly visits: whether a visitor's personal iCal feed shows the title, place and (to visitors
    # who may see them) the visited person and address; else a neutral "home visit" without a place.
    feed_shows_details: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(20), default="active")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    demo_key: Mapped[str | None] = mapped_column(String(100), unique=True, doc="natural key of demo data")

    roles: Mapped[list[ActivityRole]] = relationship(
        back_populates="activity", order_by="ActivityRole.id", cascade="all, delete-orphan"
    )
    exdates: Mapped[list[ActivityExdate]] = relationship(
        back_populates="activity", order_by="ActivityExdate.original_start", cascade="all, delete-orphan"
    )


class ActivityRole(Base):
    """A role of an activity: how many volunteers it needs, with which skills, and its duty window."""

    __tablename__ = "activity_roles"
    __table_args__ = (
        UniqueConstraint("activity_id", "name", name="uq_activity_roles_name"),
        CheckConstraint("needed >= 0", name="ck_activity_roles_needed"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))
    needed: Mapped[int] = mapped_column(Integer)
    skills: Mapped[list] = mapped_column(JSON, default=list)
    # Duty window relative to the occurrence: starts offset minutes after its start (negative =
    # before) and lasts duration minutes (NULL = until the occurrence ends).
    start_offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)

    activity: Mapped[Activity] = relationship(back_populates="roles")


class ActivityExdate(Base):
    """An original start the recurrence skips (iCalendar EXDATE)."""

    __tablename__ = "activity_exdates"
    __table_args__ = (UniqueConstraint("activity_id", "original_start", name="uq_activity_exdates"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    original_start: Mapped[datetime] = mapped_column(DateTime)

    activity: Mapped[Activity] = relationship(back_populates="exdates")


class Occurrence(Base):
    """One materialised occurrence (activity, original start): its override, status and counters.

    ``start``/``end`` are the effective times (an override moves them; ``original_start`` is the
    iCalendar RECURRENCE-ID). Place columns override the activity's when not NULL.
    """

    __tablename__ = "occurrences"
    __table_args__ = (
        UniqueConstraint("activity_id", "original_start", name="uq_occurrences_original"),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="ck_occurrences_status"),
        CheckConstraint("grid_id IS NULL OR (grid_id >= 1)", name="ck_occurrences_grid"),
        CheckConstraint("attendee_capacity IS NULL OR attendees <= attendee_capacity", name="ck_occurrences_attendees"),
        CheckConstraint("attendees >= 0", name="ck_occurrences_attendees_positive"),
        Index("ix_occurrences_window", "start", "end"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    original_start: Mapped[datetime] = mapped_column(DateTime)
    start: Mapped[datetime] = mapped_column(DateTime)
    end: Mapped[datetime] = mapped_column(DateTime)
    grid_id: Mapped[int | None] = mapped_column(Integer)
    courtyard: Mapped[str | None] = mapped_column(String(100))
    room: Mapped[str | None] = mapped_column(String(100))
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    # Registered residents (lectures) or pupils (tutoring), against the room capacity.
    attendee_capacity: Mapped[int | None] = mapped_column(Integer)
    attendees: Mapped[int] = mapped_column(Integer, default=0)
    attendee_queue: Mapped[int] = mapped_column(Integer, default=0, doc="last waitlist number handed out")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    activity: Mapped[Activity] = relationship()
    roles: Mapped[list[OccurrenceRole]] = relationship(
        back_populates="occurrence", order_by="OccurrenceRole.id", cascade="all, delete-orphan", passive_deletes=True
    )


class OccurrenceRole(Base):
    """The seats of one role in one occurrence: the database guards ``confirmed <= capacity``."""

    __tablename__ = "occurrence_roles"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "role_id", name="uq_occurrence_roles"),
        CheckConstraint("confirmed >= 0 AND confirmed <= capacity", name="ck_occurrence_roles_seats"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("activity_roles.id", ondelete="CASCADE"))
    capacity: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)
    waitlist_counter: Mapped[int] = mapped_column(Integer, default=0, doc="last waitlist number handed out")

    occurrence: Mapped[Occurrence] = relationship(back_populates="roles")
    role: Mapped[ActivityRole] = relationship()


class Signup(Base):
    """A volunteer's duty (confirmed), place in the queue (waitlisted), or cancelled duty."""

    __tablename__ = "signups"
    __table_args__ = (
        UniqueConstraint("occurrence_role_id", "volunteer_id", name="uq_signups_volunteer"),
        UniqueConstraint("occurrence_role_id", "waitlist_number", name="uq_signups_waitlist_number"),
        CheckConstraint("status IN ('confirmed', 'waitlisted', 'cancelled')", name="ck_signups_status"),
        CheckConstraint(
            "attendance IS NULL OR attendance IN ('attended', 'no_show', 'excused')", name="ck_signups_attendance"
        ),
        Index("ix_signups_volunteer_status", "volunteer_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    occurrence_role_id: Mapped[int] = mapped_column(ForeignKey("occurrence_roles.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    waitlist_number: Mapped[int | None] = mapped_column(Integer, doc="order in the role's waitlist")
    source: Mapped[str] = mapped_column(String(20), default="signup", doc="signup | roster | rotation")
    request_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attendance: Mapped[str | None] = mapped_column(String(20))
    hours: Mapped[float | None] = mapped_column(Float)
    attendance_marked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Status changes so far (confirmed, waitlisted, cancelled, signed up again): personal iCal
    # feeds add it into SEQUENCE, which must go up on every change. Bumped by the listener below.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    occurrence: Mapped[Occurrence] = relationship()
    occurrence_role: Mapped[OccurrenceRole] = relationship()


@event.listens_for(Signup, "before_update")
def _count_status_change(mapper, connection, signup: Signup) -> None:
    if inspect(signup).attrs.status.history.has_changes():
        signup.sequence = (signup.sequence or 0) + 1


class Registration(Base):
    """A resident registered for a lecture (or a pupil for a tutoring session), or on its waitlist."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "waitlist_number", name="uq_registrations_waitlist_number"),
        CheckConstraint("status IN ('registered', 'waitlisted', 'cancelled')", name="ck_registrations_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    waitlist_number: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime, doc="when they came in at the door")

    occurrence: Mapped[Occurrence] = relationship()


class VolunteerStats(Base):
    """Attendance counts per volunteer (no-show rate); its row also serialises one volunteer's sign-ups."""

    __tablename__ = "volunteer_stats"

    volunteer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    attended: Mapped[int] = mapped_column(Integer, default=0)
    no_show: Mapped[int] = mapped_column(Integer, default=0)
    excused: Mapped[int] = mapped_column(Integer, default=0)
    hours: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FeedToken(Base):
    """Personal iCal feed tokens: a token names its row and carries a MAC under FEED_SECRET, so no
    token is stored; ``token_hash`` (SHA-256 of the token as issued) finds links of the earlier
    form, which carried the MAC alone."""

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(Integer, index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Roster(Base):
    """A patrol roster of a period: a draft, published (its duties exist as sign-ups) or superseded.

    The solver's answer is kept whole in ``result`` (assignments, gaps, report): it is read as a
    document and never queried by its parts; the duties themselves are ``signups`` rows.
    """

    __tablename__ = "rosters"
    __table_args__ = (
        CheckConstraint(
            "status IN ('solving', 'draft', 'published', 'superseded', 'failed')", name="ck_rosters_status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[datetime] = mapped_column(DateTime)
    end: Mapped[datetime] = mapped_column(DateTime)
    grids: Mapped[list] = mapped_column(JSON, default=list)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="solving")
    job_id: Mapped[str] = mapped_column(String(40))
    request_key: Mapped[str | None] = mapped_column(
        String(100), unique=True, doc="request_id, or the RPC request's correlation id: a redelivery continues this row"
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("rosters.id"), doc="the roster a repair replaced")
    result: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", doc="bumped by every change of the assignments (swaps guard on it)"
    )


class RosterSwap(Base):
    """A swap of two rostered shifts between two volunteers (see ``domain.Swap`` for its states).

    A volunteer's swap is a proposal (``proposed``) until the other volunteer or an organiser
    accepts or declines it, or its proposer withdraws it; it expires when either shift starts
    (``expires_at``). An organiser's swap is ``accepted`` at once. A swap that would break a hard
    rule is kept ``rejected`` with the rule in ``reason``, which also holds why one was declined.
    """

    __tablename__ = "roster_swaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id", ondelete="CASCADE"), index=True)
    volunteer_a: Mapped[int] = mapped_column(Integer)
    shift_a: Mapped[str] = mapped_column(String(40))
    volunteer_b: Mapped[int] = mapped_column(Integer)
    shift_b: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    proposed_by: Mapped[int | None] = mapped_column(Integer, doc="the volunteer who proposed it; null: an organiser")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, doc="the start of the earlier of its two shifts")
    decided_by: Mapped[str | None] = mapped_column(String(100), doc="who accepted, declined or withdrew it")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class StandinOffer(Base):
    """A volunteer cannot come to a confirmed duty: the duty is offered to others (``domain.Offer``).

    The volunteer keeps the duty (their sign-up stays confirmed) until someone takes it: then that
    sign-up is cancelled and ``new_signup_id`` confirmed in the same transaction, the seat handed
    over. One live (open or unfilled) offer per sign-up at a time; ``alert_at`` is when organisers
    hear of an offer nobody took (``alerted_at``: when they were told, once).
    """

    __tablename__ = "standin_offers"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'taken', 'unfilled', 'withdrawn')", name="ck_standin_offers_status"),
        Index(
            "uq_standin_offers_live",
            "signup_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'unfilled')"),
            postgresql_where=text("status IN ('open', 'unfilled')"),
        ),
        Index("ix_standin_offers_status_alert", "status", "alert_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signup_id: Mapped[int] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    occurrence_role_id: Mapped[int] = mapped_column(ForeignKey("occurrence_roles.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int] = mapped_column(Integer, doc="the volunteer who cannot come")
    status: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str | None] = mapped_column(String(300), doc="why, in their words: organisers and the volunteer")
    cause: Mapped[str] = mapped_column(
        String(100), doc="cant_come, or the volunteers event that made it (availability_changed:<event id>)"
    )
    grid_id: Mapped[int | None] = mapped_column(Integer)
    grid_leader_id: Mapped[int | None] = mapped_column(Integer, doc="the grid's leader when the offer was made")
    candidate_ids: Mapped[list] = mapped_column(JSON, default=list, doc="who fitted when it was offered")
    taken_by: Mapped[int | None] = mapped_column(Integer)
    new_signup_id: Mapped[int | None] = mapped_column(ForeignKey("signups.id"))
    alert_at: Mapped[datetime] = mapped_column(DateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, doc="taken or withdrawn")

    signup: Mapped[Signup] = relationship(foreign_keys=[signup_id])
    occurrence: Mapped[Occurrence] = relationship()
    occurrence_role: Mapped[OccurrenceRole] = relationship()


class HandledEvent(Base):
    """Events of other services this one acted on, by ``event_id``: written in the same transaction
    as what the event changed, so a redelivered event finds its row and changes nothing."""

    __tablename__ = "handled_events"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(50))
    handled_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class VisitedPerson(Base):
    """Someone the community visits (``activities.visit_rules``): an elder living alone, a resident of
    an old people's home it visits, a family visited with condolences.

    Address, health notes and a relative's contact are private: organisers and the visitors of a
    current or recent visit of the person read them (``domain.can_see_private``). Visits are planned
    only while consent is recorded and not withdrawn.
    """

    __tablename__ = "visited_people"
    __table_args__ = (
        CheckConstraint(
            "category IN ('elder_alone', 'care_home_resident', 'condolence')", name="ck_visited_people_category"
        ),
        CheckConstraint("status IN ('active', 'withdrawn')", name="ck_visited_people_status"),
        CheckConstraint("frequency_days BETWEEN 1 AND 90", name="ck_visited_people_frequency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    grid_id: Mapped[int | None] = mapped_column(Integer, index=True)
    courtyard: Mapped[str | None] = mapped_column(String(100))
    home: Mapped[str | None] = mapped_column(String(100), doc="the old people's home, for its residents")
    frequency_days: Mapped[int] = mapped_column(Integer, doc="visited every this many days")
    status: Mapped[str] = mapped_column(String(20), default="active")
    consent_by: Mapped[str | None] = mapped_column(String(100), doc="who agreed: the person or a relative")
    consent_at: Mapped[datetime | None] = mapped_column(DateTime)
    consent_how: Mapped[str | None] = mapped_column(String(20))
    consent_recorded_by: Mapped[int | None] = mapped_column(Integer)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(300))
    health_notes: Mapped[str | None] = mapped_column(Text)
    relative_contact: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    demo_key: Mapped[str | None] = mapped_column(String(100), unique=True, doc="natural key of demo data")


class PersonVisit(Base):
    """One planned visit of a person: its own ``elderly_visit`` activity and occurrence, and what the
    visitors wrote after it (private, as the person's health notes)."""

    __tablename__ = "person_visits"
    __table_args__ = (UniqueConstraint("person_id", "due_on", name="uq_person_visits_due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("visited_people.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), unique=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), unique=True)
    due_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    note_by: Mapped[int | None] = mapped_column(Integer)
    note_at: Mapped[datetime | None] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime, doc="when the visitors marked it made")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    person: Mapped[VisitedPerson] = relationship()
    occurrence: Mapped[Occurrence] = relationship()


class SchoolPupil(Base):
    """A pupil on the weekend school's register. Pupils are minors: the guardian's name and phone are
    private, read only by organisers (and given back to whoever registers the pupil)."""

    __tablename__ = "school_pupils"
    __table_args__ = (CheckConstraint("grade BETWEEN 1 AND 9", name="ck_school_pupils_grade"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    grade: Mapped[int] = mapped_column(Integer)
    subjects: Mapped[list] = mapped_column(JSON, default=list, doc="subject codes of school.wording.SUBJECTS")
    guardian_name: Mapped[str] = mapped_column(String(100))
    guardian_phone: Mapped[str] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    registered_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    demo_key: Mapped[str | None] = mapped_column(String(100), unique=True, doc="natural key of demo data")


class SchoolAssignment(Base):
    """Who teaches a pupil a subject in one tutoring occurrence (tutor NULL: nobody could, and why).

    A pinned row is the organiser's choice and stays through every re-assignment; the tutor of an
    assigned row holds a confirmed sign-up (``source = 'school'``) of the occurrence's tutor role.
    """

    __tablename__ = "school_assignments"
    __table_args__ = (UniqueConstraint("occurrence_id", "pupil_id", "subject", name="uq_school_assignments_need"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), index=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("school_pupils.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(20))
    tutor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(300), doc="why no tutor, when tutor_id is NULL")
    reason_zh: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class PlanningLock(Base):
    """One row per kind of plan (``cleanups``, ``visits``, ``school``), held ``FOR UPDATE`` while a plan
    is made, so two organisers planning at once run one after the other (``activities.planning``)."""

    __tablename__ = "planning_locks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
