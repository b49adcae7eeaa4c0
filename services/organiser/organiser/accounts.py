"""Organiser accounts and web sessions in the organiser database (a unit of work per call)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from guanyinli.errors import Conflict, InvalidInput
from guanyinli.timeutil import from_db, now, to_db
from organiser import security
from organiser.models import Account, WebSession

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


def create_account(session: Session, username: str, password: str, display_name: str, role: str) -> dict:
    try:
        digest = security.hash_password(password)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Conflict(f"username: {username!r} is taken")
    account = Account(
        username=username,
        display_name=display_name,
        password_hash=digest,
        role=role,
        active=True,
        created_at=to_db(now()),
    )
    session.add(account)
    session.flush()
    return account_view(account)


def list_accounts(session: Session) -> list[dict]:
    return [account_view(a) for a in session.scalars(select(Account).order_by(Account.id))]


def authenticate(session: Session, username: str, password: str) -> Login | None:
    """The active account with this password, without opening a web session (``issue_token``)."""
    account = session.scalar(select(Account).where(Account.username == username))
    stored = account.password_hash if account is not None and account.active else None
    if not security.verify_password(stored, password):
        return None
    return Login(0, account.id, account.username, account.display_name, account.role, "", "zh")


def active_login(session: Session, username: str) -> Login | None:
    """The account as it is now, if still active (``renew_token``)."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None or not account.active:
        return None
    return Login(0, account.id, account.username, account.display_name, account.role, "", "zh")


def log_in(session: Session, username: str, password: str, lang: str) -> tuple[str, Login] | None:
    """Check the password and open a session: (cookie token, login), or None."""
    account = session.scalar(select(Account).where(Account.username == username))
    stored = account.password_hash if account is not None and account.active else None
    if not security.verify_password(stored, password):
        return None
    if security.needs_rehash(account.password_hash):
        account.password_hash = security.hash_password(password)
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
