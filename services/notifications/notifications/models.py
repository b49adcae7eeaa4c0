"""Tables of the notifications service: contacts, preferences, duties, reminders and the outbox.

Datetimes are stored as naive UTC (``guanyinli.timeutil.to_db``/``from_db``) on both backends.

``sign_in_messages`` records the sign-in codes sent by text message, without the codes.

The outbox is two tables. ``notifications`` holds one row per message a volunteer should get,
unique on (source, volunteer, kind): the same event handled twice inserts nothing the second
time. ``deliveries`` holds the per-channel send jobs of a notification (unique on notification
and channel) with their status, attempts, backoff and claim lease.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanyinli import keys, once


class Base(DeclarativeBase):
    pass


once.table("notifications", Base.metadata)  # RPC requests carried out (guanyinli.once)
keys.table("notifications", Base.metadata)  # callers' idempotency keys (guanyinli.keys)


class Contact(Base):
    """What we know of a volunteer to reach them: from volunteer events, or asked over RPC."""

    __tablename__ = "contacts"

    volunteer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    as_of: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class Preference(Base):
    """How a volunteer wants to be told; a volunteer without a row has the defaults."""

    __tablename__ = "preferences"

    volunteer_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    channels: Mapped[str] = mapped_column(String(100), nullable=False)  # comma-separated, may be empty
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" local; NULL: no quiet hours
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    mode: Mapped[str] = mapped_column(String(10), nullable=False)  # immediate | digest
    digest_period: Mapped[str | None] = mapped_column(String(20))  # last weekly digest built
    # reminder leads wanted, comma-separated, may be empty; NULL: every lead the service knows
    reminders: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class Duty(Base):
    """A duty of one volunteer (a confirmed sign-up or a roster shift) that reminders are due for."""

    __tablename__ = "duties"
    __table_args__ = (UniqueConstraint("volunteer_id", "duty_key", name="uq_duties_volunteer_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    duty_key: Mapped[str] = mapped_column(String(100), nullable=False)  # signup:<id> | shift:<id>
    occurrence_id: Mapped[int | None] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    place: Mapped[str | None] = mapped_column(String(200))
    start_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    end_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    as_of: Mapped[datetime] = mapped_column(DateTime, nullable=False)  # time of the event that set it


class Reminder(Base):
    """A reminder scheduled in the database; the poller turns it into a notification when due."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("duty_id", "lead", "start_at", name="uq_reminders_duty_lead_start"),
        Index("ix_reminders_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    duty_id: Mapped[int] = mapped_column(ForeignKey("duties.id", ondelete="CASCADE"), nullable=False)
    volunteer_id: Mapped[int] = mapped_column(Integer, nullable=False)
    lead: Mapped[str] = mapped_column(String(8), nullable=False)  # 24h | 2h
    start_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)  # the duty start it reminds of
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # scheduled | queued | cancelled


class Notification(Base):
    """The outbox: one message for one volunteer, unique on (source, volunteer, kind)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("source_id", "volunteer_id", "kind", name="uq_notifications_source_volunteer_kind"),
        Index("ix_notifications_volunteer_status", "volunteer_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(160), nullable=False)  # event id, reminder:…, digest:…
    volunteer_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    context: Mapped[str] = mapped_column(Text, nullable=False)  # JSON handed to the template
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # queued | held | digested | muted
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class Delivery(Base):
    """Sending one notification over one channel: claimed with a lease, retried with backoff."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", name="uq_deliveries_notification_channel"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    # pending | sending | sent | dead | skipped | expired
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SignInMessage(Base):
    """A sign-in code sent by text message (``send_sign_in_code``), one per caller's request_id, so
    that a repeated request sends nothing again. Neither the code nor the whole number is kept."""

    __tablename__ = "sign_in_messages"
    __table_args__ = (UniqueConstraint("scope", "request_id", name="uq_sign_in_messages_scope_request"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(200), nullable=False)  # the caller (token subject)
    request_id: Mapped[str] = mapped_column(String(100), nullable=False)
    phone_masked: Mapped[str] = mapped_column(String(20), nullable=False)  # 139****4770
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
