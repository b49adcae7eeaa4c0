"""Tables of the appeals service: appeals and the trail of what happened to each.

Grids, courtyards and volunteers belong to the volunteers service; an appeal holds their ids and
codes only. The resident's name, phone and address live in the appeal's row and leave the service
only in answers to those allowed to see them (``domain.shown``), never in events or logs.
Datetimes are naive UTC (``guanyinli.timeutil.to_db`` / ``from_db``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from appeals.domain import CATEGORIES, SOURCES, STATUSES, URGENCIES
from appeals.partners_domain import (
    ALLIANCES,
    MATCH_STATUSES,
    NEED_SOURCES,
    NEED_STATUSES,
    PARTNER_KINDS,
    RESOURCE_KINDS,
)
from appeals.time_limits import LEVELS, STAGES
from guanyinli import keys, once, outbox


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    pass


once.table("appeals", Base.metadata)  # RPC requests carried out (guanyinli.once)
keys.table("appeals", Base.metadata)  # callers' idempotency keys (guanyinli.keys)
OUTBOX = outbox.Outbox("outbox_events_appeals", Base.metadata)  # events to send (guanyinli.outbox)

NOTE_KINDS = (
    "received",
    "assigned",
    "accepted",
    "handed_back",
    "reassigned",
    "note",
    "visited",
    "closed",
    "resident_replied",
)


class Appeal(Base):
    __tablename__ = "appeals"
    __table_args__ = (
        CheckConstraint(_one_of("category", CATEGORIES), name="ck_appeals_category"),
        CheckConstraint(_one_of("urgency", URGENCIES), name="ck_appeals_urgency"),
        CheckConstraint(_one_of("status", STATUSES), name="ck_appeals_status"),
        CheckConstraint(_one_of("source", SOURCES), name="ck_appeals_source"),
        UniqueConstraint("reply_token_digest", name="uq_appeals_reply_token_digest"),
        CheckConstraint("satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)", name="ck_appeals_satisfaction"),
        Index("ix_appeals_grid_status", "grid_id", "status"),
        Index("ix_appeals_handler_status", "handler_id", "status"),
        Index("ix_appeals_next_check_at", "next_check_at"),
        # the monthly report reads a month's appeals and those open or closed since (appeals.report)
        Index("ix_appeals_received_at", "received_at"),
        Index("ix_appeals_closed_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(10))
    grid_id: Mapped[int] = mapped_column(Integer)
    courtyard: Mapped[str | None] = mapped_column(String(20), nullable=True)
    building: Mapped[str | None] = mapped_column(String(50), nullable=True)
    description: Mapped[str] = mapped_column(Text)
    resident_name: Mapped[str] = mapped_column(String(100))
    resident_phone: Mapped[str] = mapped_column(String(30))
    resident_address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(10))
    handler_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_by: Mapped[str] = mapped_column(String(100), doc="subject of who took it in")
    received_at: Mapped[datetime] = mapped_column(DateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    visited_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    resident_reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    next_check_at: Mapped[datetime | None] = mapped_column(
        DateTime, nullable=True, doc="when the escalation timer looks at it again; null: nothing can become due"
    )
    source: Mapped[str] = mapped_column(
        String(10), default="office", server_default="office", doc="office, grid or resident"
    )
    # The resident's link to answer after closing (``domain.reply_token``): its nonce, the digest
    # it is found by, how long it takes an answer, when it took one, when its text went out.
    reply_nonce: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reply_token_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reply_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reply_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reply_sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resident_replied_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    notes: Mapped[list[AppealNote]] = relationship(
        back_populates="appeal", order_by="AppealNote.id", cascade="all, delete-orphan"
    )
    escalations: Mapped[list[AppealEscalation]] = relationship(
        back_populates="appeal", order_by="AppealEscalation.id", cascade="all, delete-orphan"
    )


class AppealNote(Base):
    """One step of an appeal's trail: taken in, routed, accepted, handed back (and why), a progress note."""

    __tablename__ = "appeal_notes"
    __table_args__ = (CheckConstraint(_one_of("kind", NOTE_KINDS), name="ck_appeal_notes_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime)
    author: Mapped[str] = mapped_column(String(100), doc="subject of who did it")
    volunteer_id: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="the volunteer it concerns: the new handler, or who handed back"
    )
    text: Mapped[str | None] = mapped_column(Text, nullable=True)

    appeal: Mapped[Appeal] = relationship(back_populates="notes")


class AppealEscalation(Base):
    """One step of the escalation ladder fired for an appeal (``time_limits.EscalationKey``): the unique
    key makes a second insert of the same step, by another replica or after a restart, a no-op."""

    __tablename__ = "appeal_escalations"
    __table_args__ = (
        UniqueConstraint("appeal_id", "stage", "level", name="uq_appeal_escalations_step"),
        CheckConstraint(_one_of("stage", STAGES), name="ck_appeal_escalations_stage"),
        CheckConstraint(_one_of("level", LEVELS), name="ck_appeal_escalations_level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(DateTime, doc="when the step became due")
    deadline: Mapped[datetime] = mapped_column(DateTime, doc="the stage's deadline")
    fired_at: Mapped[datetime] = mapped_column(DateTime)
    recipient_id: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="the volunteer told: the handler or the grid leader; null for the community office"
    )

    appeal: Mapped[Appeal] = relationship(back_populates="escalations")


# --- the two-way service list ------------------------------------------------------------------


class Partner(Base):
    """A partner unit of one of the six alliances: a unit in the area, a business, a non-profit.
    Its contact person and phone go only to organisers (``partners_domain.shown_partner``)."""

    __tablename__ = "partners"
    __table_args__ = (
        CheckConstraint(_one_of("alliance", ALLIANCES), name="ck_partners_alliance"),
        CheckConstraint(_one_of("kind", PARTNER_KINDS), name="ck_partners_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    alliance: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    contact_person: Mapped[str | None] = mapped_column(String(100), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    offers: Mapped[list[Offer]] = relationship(back_populates="partner", order_by="Offer.id")


class Offer(Base):
    """What a partner offers: a venue, a skill, volunteer hours, goods. ``quantity`` is hours
    (skill, volunteer hours), times (venue) or pieces (goods)."""

    __tablename__ = "partner_offers"
    __table_args__ = (
        CheckConstraint(_one_of("kind", RESOURCE_KINDS), name="ck_partner_offers_kind"),
        CheckConstraint("quantity > 0", name="ck_partner_offers_quantity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(String(200))
    words: Mapped[str] = mapped_column(String(500), default="", doc="skills and things, space-separated")
    quantity: Mapped[float] = mapped_column(Float)
    available_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    available_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    grid_id: Mapped[int | None] = mapped_column(Integer, nullable=True, doc="null: community-wide")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    partner: Mapped[Partner] = relationship(back_populates="offers")


class Need(Base):
    """What a partner or the community needs. A community need comes from an organiser
    (``manual``), from appeals nobody has taken (``appeals``, ref: the category) or from an
    activity short of people (``activity``, ref: ``occurrence:<id>:<role>``)."""

    __tablename__ = "partner_needs"
    __table_args__ = (
        CheckConstraint(_one_of("kind", RESOURCE_KINDS), name="ck_partner_needs_kind"),
        CheckConstraint(_one_of("source", NEED_SOURCES), name="ck_partner_needs_source"),
        CheckConstraint(_one_of("status", NEED_STATUSES), name="ck_partner_needs_status"),
        CheckConstraint("quantity > 0", name="ck_partner_needs_quantity"),
        UniqueConstraint("source", "source_ref", name="uq_partner_needs_source_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(String(200))
    words: Mapped[str] = mapped_column(String(500), default="")
    quantity: Mapped[float] = mapped_column(Float)
    by_when: Mapped[date | None] = mapped_column(Date, nullable=True)
    grid_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(10))
    source_ref: Mapped[str | None] = mapped_column(String(100), nullable=True, doc="unique per source; null: manual")
    status: Mapped[str] = mapped_column(String(10), default="open")
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Match(Base):
    """An offer proposed for a need, agreed or declined, and at most once turned into an activity."""

    __tablename__ = "partner_matches"
    __table_args__ = (
        CheckConstraint(_one_of("status", MATCH_STATUSES), name="ck_partner_matches_status"),
        UniqueConstraint("offer_id", "need_id", name="uq_partner_matches_pair"),
        UniqueConstraint("activity_id", name="uq_partner_matches_activity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("partner_offers.id"), index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("partner_needs.id"), index=True)
    quantity: Mapped[float] = mapped_column(Float)
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(25), default="proposed")
    activity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    proposed_at: Mapped[datetime] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(String(300), nullable=True)

    offer: Mapped[Offer] = relationship()
    need: Mapped[Need] = relationship()
