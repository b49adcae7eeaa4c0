"""Identity tokens the organiser service signs for its accounts (``guanyinli.identity``).

The organiser service is the platform's account authority: its page makes every call to the
other services with a short token for the signed-in account, and the command line trades an
organiser's password for a longer one (``issue_token``) that it caches and renews
(``renew_token``) while the account stays active.
"""

from __future__ import annotations

import threading
import time

from guanyinli.identity import Issuer

ISSUER = "organiser"
PAGE_TOKEN_SECONDS = 300  # a page's calls: minted per account, reused until half of it is gone
LOGIN_TOKEN_SECONDS = 12 * 3600  # the command line's login: renewed while the account is active


def account_subject(username: str) -> str:
    return f"account:{username}"


def subject_of(user: dict) -> str:
    """An organiser page account, or a volunteer signed in on their phone page."""
    if "account" in user:
        return account_subject(user["account"])
    return f"volunteer:{int(user['volunteer_id'])}"


class AccountTokens:
    """Signs, and caches for half their life, the page tokens of accounts."""

    def __init__(self, config: dict, clock=time.time):
        self.config = config
        self.clock = clock
        self._issuer: Issuer | None = None
        self._cache: dict[tuple, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def issuer(self) -> Issuer:
        if self._issuer is None:
            self._issuer = Issuer.from_config(ISSUER, self.config)
            self._issuer.clock = self.clock
        return self._issuer

    def issue(self, user: dict, seconds: int) -> str:
        return self.issuer.issue(
            subject_of(user),
            user["roles"],
            seconds=seconds,
            volunteer_id=user.get("volunteer_id"),
            grid_ids=user.get("grids") or (),
            name=user.get("name"),
        )

    def token_for(self, user: dict) -> str:
        key = (subject_of(user), tuple(user["roles"]), user.get("name"), tuple(user.get("grids") or ()))
        now = self.clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now < cached[1]:
                return cached[0]
        token = self.issue(user, PAGE_TOKEN_SECONDS)
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[key] = (token, now + PAGE_TOKEN_SECONDS / 2)
        return token

    def forget(self, username: str) -> None:
        """Drop an account's cached page tokens (it was deactivated or changed)."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == account_subject(username)]:
                del self._cache[key]
