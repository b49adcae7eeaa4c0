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
    created_at: datetime
    last_seen_at: datetime

    def expires_at(self) -> datetime:
        return min(self.last_seen_at + IDLE, self.created_at + ABSOLUTE)

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


class LoginThrottle:
    """Refuses a username for ``lock`` after ``attempts`` failed logins within ``window``.

    Kept in the process (each replica counts its own): it slows guessing down, argon2 does the rest.
    """

    def __init__(
        self, attempts: int = 5, window: timedelta = timedelta(minutes=10), lock: timedelta = timedelta(minutes=10)
    ):
        self.attempts, self.window, self.lock = attempts, window, lock
        self._failures: dict[str, list[datetime]] = {}
        self._locked: dict[str, datetime] = {}

    def locked(self, username: str, now: datetime) -> bool:
        until = self._locked.get(username.lower())
        if until is None:
            return False
        if now >= until:
            del self._locked[username.lower()]
            return False
        return True

    def failed(self, username: str, now: datetime) -> None:
        key = username.lower()
        recent = [t for t in self._failures.get(key, []) if now - t < self.window] + [now]
        self._failures[key] = recent
        if len(recent) >= self.attempts:
            self._locked[key] = now + self.lock
            self._failures.pop(key, None)
        if len(self._failures) > 10_000:  # names that never log in are not kept for ever
            self._failures = {k: v for k, v in self._failures.items() if now - v[-1] < self.window}

    def succeeded(self, username: str) -> None:
        self._failures.pop(username.lower(), None)
