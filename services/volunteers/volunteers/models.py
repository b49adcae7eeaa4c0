"""Tables of the volunteers service: volunteers, their teams and skills, grid roles, availability, ledger.

Teams, grids, courtyards and alliances are each community's reference data (``volunteers.structure``),
checked by the service against that community's; the tables hold their codes and ids. Datetimes are
stored as naive UTC (``guanyinli.timeutil.to_db`` / ``from_db``) so SQLite and PostgreSQL compare
them alike; weekly availability is local wall-clock time (minutes after midnight, Asia/Shanghai).

Two invariants are enforced by the database itself, whatever the number of replicas:
one leader per grid (partial UNIQUE index) and one ledger entry per ``source_key`` (UNIQUE),
which makes event handlers that write the ledger idempotent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from guanyinli import keys, once, outbox
from guanyinli.timeutil import now, to_db
from volunteers.domain import MAX_CAP, MAX_TARGET, TIMES_OF_DAY


def utcnow() -> datetime:
    return to_db(now())


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    pass


once.table("volunteers", Base.metadata)  # RPC requests carried out (guanyinli.once)
keys.table("volunteers", Base.metadata)  # callers' idempotency keys (guanyinli.keys)
OUTBOX = outbox.Outbox("outbox_events_volunteers", Base.metadata)  # events to send (guanyinli.outbox)


class Volunteer(Base):
    __tablename__ = "volunteers"
    __table_args__ = (
        CheckConstraint("grid_id IS NULL OR (grid_id >= 1)", name="ck_volunteers_grid"),
        CheckConstraint("alliance IS NULL OR alliance <> ''", name="ck_volunteers_alliance"),
        CheckConstraint(
            f"max_duties_per_week IS NULL OR (max_duties_per_week BETWEEN 1 AND {MAX_CAP})",
            name="ck_volunteers_max_duties_per_week",
        ),
        CheckConstraint(
            f"target_per_month IS NULL OR (target_per_month BETWEEN 0 AND {MAX_TARGET})",
            name="ck_volunteers_target_per_month",
        ),
        Index("ix_volunteers_grid_active", "grid_id", "active"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    grid_id: Mapped[int | None] = mapped_column(Integer)
    alliance: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(10), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime)
    deactivation_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    demo_key: Mapped[str | None] = mapped_column(String(100), unique=True, doc="natural key of demo data")
    max_duties_per_week: Mapped[int | None] = mapped_column(Integer, doc="their own weekly cap; null: none")
    target_per_month: Mapped[int | None] = mapped_column(Integer, doc="patrols a month; null: a fair share")

    teams: Mapped[list[VolunteerTeam]] = relationship(order_by="VolunteerTeam.team", cascade="all, delete-orphan")
    skills: Mapped[list[VolunteerSkill]] = relationship(order_by="VolunteerSkill.skill", cascade="all, delete-orphan")
    days: Mapped[list[PreferredDay]] = relationship(order_by="PreferredDay.weekday", cascade="all, delete-orphan")
    times: Mapped[list[PreferredTime]] = relationship(cascade="all, delete-orphan")
    partner_links: Mapped[list[Partner]] = relationship(
        foreign_keys="Partner.volunteer_id", order_by="Partner.partner_id", cascade="all, delete-orphan"
    )

    @property
    def team_codes(self) -> list[str]:
        return [t.team for t in self.teams]

    @property
    def skill_names(self) -> list[str]:
        return [s.skill for s in self.skills]

    @property
    def preferred_days(self) -> list[int]:
        return sorted(d.weekday for d in self.days)

    @property
    def preferred_times(self) -> list[str]:
        return sorted((t.time_of_day for t in self.times), key=TIMES_OF_DAY.index)

    @property
    def partners(self) -> list[int]:
        return sorted(p.partner_id for p in self.partner_links)


class VolunteerTeam(Base):
    __tablename__ = "volunteer_teams"
    __table_args__ = (CheckConstraint("team <> ''", name="ck_volunteer_teams_team"),)

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True)
    team: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class VolunteerSkill(Base):
    """A skill or qualification: ``patrol_leader``, ``first_aid``, ``tutoring:math``."""

    __tablename__ = "volunteer_skills"

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class PreferredDay(Base):
    """A weekday (0 = Monday) the volunteer would rather patrol on; none: no preference."""

    __tablename__ = "volunteer_preferred_days"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_volunteer_preferred_days_weekday"),)

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer, primary_key=True)


class PreferredTime(Base):
    """A time of day (morning, afternoon, evening) the volunteer would rather patrol at; none: no preference."""

    __tablename__ = "volunteer_preferred_times"
    __table_args__ = (
        CheckConstraint(_one_of("time_of_day", TIMES_OF_DAY), name="ck_volunteer_preferred_times_time_of_day"),
    )

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True)
    time_of_day: Mapped[str] = mapped_column(String(10), primary_key=True)


class Partner(Base):
    """A volunteer another asked to patrol with (one way: each names their own partners)."""

    __tablename__ = "volunteer_partners"
    __table_args__ = (CheckConstraint("volunteer_id <> partner_id", name="ck_volunteer_partners_not_self"),)

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class GridRole(Base):
    """A volunteer's duty in a grid: its leader (at most one per grid) or a member."""

    __tablename__ = "grid_roles"
    __table_args__ = (
        CheckConstraint("grid_id >= 1", name="ck_grid_roles_grid"),
        CheckConstraint("role IN ('leader', 'member')", name="ck_grid_roles_role"),
        Index(
            "uq_grid_roles_one_leader",
            "grid_id",
            unique=True,
            sqlite_where=text("role = 'leader'"),
            postgresql_where=text("role = 'leader'"),
        ),
    )

    grid_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(10))
    since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WeeklyWindow(Base):
    """A recurring weekly window of availability in local wall-clock time."""

    __tablename__ = "weekly_windows"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_weekly_windows_weekday"),
        CheckConstraint(
            "start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440", name="ck_weekly_windows_time"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer, doc="0 = Monday")
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class DatedWindow(Base):
    """A dated exception to the weekly windows: time off (``off``) or extra availability (``extra``)."""

    __tablename__ = "dated_windows"
    __table_args__ = (
        CheckConstraint("kind IN ('off', 'extra')", name="ck_dated_windows_kind"),
        CheckConstraint("start_at < end_at", name="ck_dated_windows_time"),
        Index("ix_dated_windows_volunteer_start", "volunteer_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(String(200))


class LedgerEntry(Base):
    """One append-only line of the hours and points ledger; corrections are new (negative) entries."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("source_key", name="uq_ledger_entries_source_key"),
        Index("ix_ledger_entries_volunteer_created", "volunteer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    hours: Mapped[float] = mapped_column(Float)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str | None] = mapped_column(String(120), doc="idempotency key of the source")
    team: Mapped[str | None] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    volunteer: Mapped[Volunteer] = relationship()
