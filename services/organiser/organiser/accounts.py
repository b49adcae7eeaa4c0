"""Organiser accounts, web sessions and failed logins in the organiser database (a unit of work per call).

Password hashes are made and checked outside these functions (``dependencies.Hasher``, in OS
threads), so no database connection is held while argon2 runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from guanyinli.errors import Conflict, NotFound
from guanyinli.timeutil import from_db, now, to_db
from organiser import security
from organiser.models import Account, LoginFailure, Revocation, WebSession

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class Login:
    """A live session as a request sees it."""

    session_id: int
    account_id: int
    username: str
    display_name: str
    role: str
    csrf_token: str
    lang: str

    @property
    def can_change(self) -> bool:
        return self.role == "organiser"

    @property
    def sees_private(self) -> bool:
        return self.role == "organiser"

    def rpc_user(self) -> dict:
        """Who the account is, for the identity token its calls carry (``organiser.tokens``)."""
        return {"roles": [self.role], "name": self.display_name, "account": self.username}


def account_view(account: Account) -> dict:
    return {
        "id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "active": account.active,
        "created_at": from_db(account.created_at),
        "last_login_at": from_db(account.last_login_at),
    }


def create_account(session: Session, username: str, password_hash: str, display_name: str, role: str) -> dict:
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Conflict(f"username: {username!r} is taken")
    account = Account(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        role=role,
        active=True,
        created_at=to_db(now()),
    )
    session.add(account)
    session.flush()
    return account_view(account)


def list_accounts(session: Session) -> list[dict]:
    return [account_view(a) for a in session.scalars(select(Account).order_by(Account.id))]


def active_login(session: Session, username: str) -> Login | None:
    """The account as it is now, if still active (``renew_token``)."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None or not account.active:
        return None
    return Login(0, account.id, account.username, account.display_name, account.role, "", "zh")


def password_hash_of(session: Session, username: str) -> str | None:
    """The stored hash of an active account, None for an unknown or inactive one."""
    account = session.scalar(select(Account).where(Account.username == username))
    return account.password_hash if account is not None and account.active else None


def open_session(session: Session, username: str, lang: str, new_hash: str | None = None) -> tuple[str, Login] | None:
    """A session for an account whose password was checked: (cookie token, login), or None when the
    account is gone or inactive by now. ``new_hash`` replaces a hash of weaker parameters."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None or not account.active:
        return None
    if new_hash is not None:
        account.password_hash = new_hash
    moment = to_db(now())
    account.last_login_at = moment
    token = security.new_token()
    web = WebSession(
        token_digest=security.token_digest(token),
        account_id=account.id,
        csrf_token=security.new_token(),
        lang=lang,
        created_at=moment,
        last_seen_at=moment,
    )
    session.add(web)
    session.flush()
    return token, _login(web, account)


def _login(web: WebSession, account: Account) -> Login:
    return Login(web.id, account.id, account.username, account.display_name, account.role, web.csrf_token, web.lang)


def resume(session: Session, token: str | None, moment: datetime | None = None) -> Login | None:
    """The login a cookie token stands for, if the session is alive; expired ones are removed."""
    if not token:
        return None
    web = session.scalar(select(WebSession).where(WebSession.token_digest == security.token_digest(token)))
    if web is None:
        return None
    moment = to_db(moment or now())
    times = security.SessionTimes(web.created_at, web.last_seen_at)
    if times.expired(moment) or not web.account.active:
        session.delete(web)
        return None
    if moment - web.last_seen_at >= TOUCH_EVERY:
        web.last_seen_at = moment
    return _login(web, web.account)


def set_language(session: Session, session_id: int, lang: str) -> None:
    web = session.get(WebSession, session_id)
    if web is not None:
        web.lang = lang


def log_out(session: Session, session_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.id == session_id))


def purge_expired(session: Session, moment: datetime | None = None) -> int:
    """Remove sessions past either limit; returns how many."""
    moment = to_db(moment or now())
    result = session.execute(
        delete(WebSession).where(
            (WebSession.last_seen_at <= moment - security.IDLE) | (WebSession.created_at <= moment - security.ABSOLUTE)
        )
    )
    return result.rowcount or 0


# --- failed logins (security.login_wait decides) ---------------------------------------------


def login_failures(session: Session, username: str, address: str, since: datetime) -> list[security.LoginFailure]:
    """Failed logins since ``since`` from ``address`` or for ``username``."""
    name = security.login_key(username)
    rows = session.scalars(
        select(LoginFailure).where(
            LoginFailure.at > to_db(since), (LoginFailure.address == address) | (LoginFailure.username == name)
        )
    )
    return [security.LoginFailure(r.username, r.address, from_db(r.at)) for r in rows]


def record_login_failure(session: Session, username: str, address: str, moment: datetime) -> None:
    session.add(LoginFailure(username=security.login_key(username), address=address, at=to_db(moment)))


def forget_login_failures(session: Session, username: str, address: str) -> None:
    """After a successful login: the typing errors of that name from that address no longer count."""
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.username == security.login_key(username), LoginFailure.address == address
        )
    )


def purge_login_failures(session: Session, before: datetime) -> int:
    result = session.execute(delete(LoginFailure).where(LoginFailure.at <= to_db(before)))
    return result.rowcount or 0


# --- revoked identities ------------------------------------------------------------------------

REVOCATIONS_KEPT = timedelta(days=91)  # longer than the longest token (`guanyinli token --hours` 2160)


def revoke(session: Session, subject: str, reason: str | None, moment: datetime) -> dict:
    """Tokens of ``subject`` issued up to ``moment`` no longer count; returns the revocation."""
    row = session.get(Revocation, subject)
    if row is None:
        row = Revocation(subject=subject, before=to_db(moment), reason=reason)
        session.add(row)
    else:
        row.before, row.reason = to_db(moment), reason
    session.flush()
    return revocation_view(row)


def revocation_view(row: Revocation) -> dict:
    before = from_db(row.before)
    return {"subject": row.subject, "before": before, "before_ts": before.timestamp(), "reason": row.reason}


def list_revocations(session: Session, moment: datetime) -> list[dict]:
    session.execute(delete(Revocation).where(Revocation.before < to_db(moment - REVOCATIONS_KEPT)))
    return [revocation_view(r) for r in session.scalars(select(Revocation).order_by(Revocation.subject))]


def deactivate(session: Session, username: str) -> dict:
    """The account can no longer log in; its web sessions end (its tokens are revoked by the caller)."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise NotFound(f"username: no account {username!r}")
    account.active = False
    session.execute(delete(WebSession).where(WebSession.account_id == account.id))
    session.flush()
    return account_view(account)
