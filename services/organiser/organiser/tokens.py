"""Identity tokens the organiser service signs for its accounts (``guanyinli.identity``).

The organiser service is the platform's account authority: its page makes every call to the
other services with a short token for the signed-in account, and the command line trades an
organiser's password for a longer one (``issue_token``) that it caches and renews
(``renew_token``) while the account stays active.
"""

from __future__ import annotations

import threading
import time

from guanyinli.identity import Issuer, person_subject

ISSUER = "organiser"
PAGE_TOKEN_SECONDS = 300  # a page's calls: minted per account, reused until half of it is gone
LOGIN_TOKEN_SECONDS = 12 * 3600  # the command line's login: renewed while the account is active


def account_subject(username: str, community: str | None = None) -> str:
    return person_subject((), None, username, community)


def subject_of(user: dict, community: str | None = None) -> str:
    """An organiser page account, or a volunteer signed in on their phone page; ``@<slug>`` after it
    in a community other than the default one."""
    if "account" in user:
        return account_subject(user["account"], community)
    return person_subject(user["roles"], int(user["volunteer_id"]), None, community)


def account_of(subject: str, community: str | None = None) -> str | None:
    """The account name of a subject ``account_subject`` made, or None for any other subject."""
    if not subject.startswith("account:"):
        return None
    name = subject.split(":", 1)[1]
    if community is not None:
        suffix = f"@{community}"
        if not name.endswith(suffix):
            return None
        name = name[: -len(suffix)]
    return name or None


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

    def issue(self, user: dict, seconds: int, community: str | None = None) -> str:
        """A token for ``user``; ``community``: its claim (``claim``), None in the default community."""
        return self.issuer.issue(
            subject_of(user, community),
            user["roles"],
            seconds=seconds,
            volunteer_id=user.get("volunteer_id"),
            grid_ids=user.get("grids") or (),
            name=user.get("name"),
            community=community,
        )

    def token_for(self, user: dict, community: str | None = None) -> str:
        key = (subject_of(user, community), tuple(user["roles"]), user.get("name"), tuple(user.get("grids") or ()))
        now = self.clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now < cached[1]:
                return cached[0]
        token = self.issue(user, PAGE_TOKEN_SECONDS, community)
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[key] = (token, now + PAGE_TOKEN_SECONDS / 2)
        return token

    def forget(self, username: str, community: str | None = None) -> None:
        """Drop an account's cached page tokens (it was deactivated or changed)."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == account_subject(username, community)]:
                del self._cache[key]
