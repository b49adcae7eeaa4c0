"""Tables of the organiser service: organiser accounts, their web sessions and failed logins.

Datetimes are stored as naive UTC (``guanyinli.timeutil.to_db`` / ``from_db``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from guanyinli import keys, once, outbox

ROLES = ("organiser", "viewer")


class Base(DeclarativeBase):
    pass


once.table("organiser", Base.metadata)  # RPC requests carried out (guanyinli.once)
OUTBOX = outbox.Outbox("outbox_events_organiser", Base.metadata)  # events to send (guanyinli.outbox)
keys.table("organiser", Base.metadata)  # callers' idempotency keys (guanyinli.keys)


class Account(Base):
    """Someone who may log in to the organiser page.

    ``organiser``: sees volunteers' contact details, builds, publishes and repairs rosters, marks
    attendance. ``viewer``: sees the board and reports without private data and changes nothing.
    """

    __tablename__ = "organiser_accounts"
    __table_args__ = (CheckConstraint("role IN ('organiser', 'viewer')", name="ck_organiser_accounts_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="organiser")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    sessions: Mapped[list[WebSession]] = relationship(back_populates="account", cascade="all, delete-orphan")


class WebSession(Base):
    """A logged-in browser. Only the SHA-256 of the cookie's token is kept."""

    __tablename__ = "organiser_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("organiser_accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    lang: Mapped[str] = mapped_column(String(5), nullable=False, default="zh")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    account: Mapped[Account] = relationship(back_populates="sessions")


class LoginFailure(Base):
    """A failed login, kept for the throttle's window (``security.ThrottleRules``) so a restart forgets none.

    ``username`` is as ``security.login_key`` folds it, whether or not such an account exists.
    """

    __tablename__ = "organiser_login_failures"
    __table_args__ = (
        Index("ix_organiser_login_failures_username_at", "username", "at"),
        Index("ix_organiser_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class Revocation(Base):
    """Identity tokens of ``subject`` issued at or before ``before`` no longer count.

    Kept for ``REVOCATIONS_KEPT`` (longer than any token lives); services read them when they
    start (``organiser.list_revocations``) and hear new ones as ``identity_revoked`` events.
    """

    __tablename__ = "identity_revocations"

    subject: Mapped[str] = mapped_column(String(120), primary_key=True)
    before: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class VolunteerSession(Base):
    """A volunteer's phone signed in to their page (``organiser.signin``). Only the SHA-256 of the
    cookie's token is kept."""

    __tablename__ = "volunteer_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    volunteer_id: Mapped[int] = mapped_column(Integer, index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    grids_led: Mapped[str] = mapped_column(String(100), nullable=False, default="")  # "3,7"
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    lang: Mapped[str] = mapped_column(String(5), nullable=False, default="zh")
    how: Mapped[str] = mapped_column(String(8), nullable=False)  # sms or link
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SignInCode(Base):
    """A one-time code asked for a number. Kept for the rate limit's window whether or not the
    number is a volunteer's; the number and the code only as keyed digests."""

    __tablename__ = "signin_codes"
    __table_args__ = (
        Index("ix_signin_codes_phone_at", "phone_digest", "created_at"),
        Index("ix_signin_codes_address_at", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    code_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    volunteer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    tries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class SignInLink(Base):
    """A personal sign-in link an organiser printed for a volunteer who cannot receive SMS.

    Only the SHA-256 of its token is kept, so a lost sheet is revoked and a new one printed."""

    __tablename__ = "signin_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    volunteer_id: Mapped[int] = mapped_column(Integer, index=True, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
