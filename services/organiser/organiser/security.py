"""Passwords, session tokens and CSRF tokens of the organiser web page: plain functions, no I/O.

Passwords are hashed with argon2id. A session is identified by a random token of 256 bits that
only the browser holds; the database keeps its SHA-256, so a copy of the table opens no session.
Each session has its own CSRF token, compared in constant time on every POST. A session ends
after ``IDLE`` without use or ``ABSOLUTE`` after login, whichever comes first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verifying against this when the user is unknown costs the same time as a real check.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown account (``None``) takes as long and fails."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class SessionTimes:
    """When a session ends: ``idle`` after its last use or ``absolute`` after it began (the
    organiser page's limits by default; the volunteers' phone page has longer ones)."""

    created_at: datetime
    last_seen_at: datetime
    idle: timedelta = IDLE
    absolute: timedelta = ABSOLUTE

    def expires_at(self) -> datetime:
        return min(self.last_seen_at + self.idle, self.created_at + self.absolute)

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at()


def cookie_header(name: str, value: str, max_age: int | None, secure: bool) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, Path=/ and Secure unless told otherwise."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


@dataclass(frozen=True)
class LoginFailure:
    username: str  # as typed, folded by ``login_key``
    address: str  # the client's address
    at: datetime


@dataclass(frozen=True)
class ThrottleRules:
    """How many failed logins within ``window`` refuse further tries, counted three ways.

    * ``per_address``: failures from one address, whatever the names: one machine guessing widely.
    * ``per_pair``: failures for one name from one address.
    * ``per_account``: failures for one name from any address. Past it an address that has failed
      for the name waits for its own failures to age out, but an address that has not failed for
      it may still try: a flood of wrong passwords from elsewhere cannot lock the organiser out,
      while each attacking address gets one guess per window instead of ``per_pair``.
    """

    window: timedelta = timedelta(minutes=15)
    per_address: int = 30
    per_pair: int = 5
    per_account: int = 10


def login_key(username: str) -> str:
    """The name failures are counted under: case and surrounding spaces do not make a new name."""
    return username.strip().lower()[:64]


def login_wait(
    rules: ThrottleRules, failures: list[LoginFailure], username: str, address: str, now: datetime
) -> timedelta | None:
    """How long a login for ``username`` from ``address`` must wait, or None when it may try now.

    ``failures``: at least those within the window from ``address`` or for ``username``. A limit
    holds until enough of the failures behind it have left the window.
    """
    name = login_key(username)
    recent = [f for f in failures if now - f.at < rules.window]
    from_address = sorted(f.at for f in recent if f.address == address)
    pair = sorted(f.at for f in recent if f.address == address and login_key(f.username) == name)
    for_account = [f for f in recent if login_key(f.username) == name]
    until: list[datetime] = []
    if len(from_address) >= rules.per_address:
        until.append(from_address[-rules.per_address] + rules.window)
    if len(pair) >= rules.per_pair:
        until.append(pair[-rules.per_pair] + rules.window)
    if len(for_account) >= rules.per_account and pair:
        until.append(pair[-1] + rules.window)
    if not until:
        return None
    return max(until) - now
