"""Volunteers' phone sessions, sign-in codes and printed sign-in links in the organiser database.

``organiser.signin`` decides; these functions read and write its rows (a unit of work per call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from guanyinli.errors import NotFound
from guanyinli.timeutil import from_db, to_db
from organiser import security, signin
from organiser.models import SignInCode, SignInLink, VolunteerSession

TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Me:
    """A signed-in volunteer as a request of the phone page sees them."""

    session_id: int
    volunteer_id: int
    name: str
    grids_led: tuple[int, ...]
    csrf_token: str
    lang: str

    def rpc_user(self) -> dict:
        """Their identity on the calls the page makes for them (``organiser.tokens``)."""
        roles = ["volunteer", "grid_leader"] if self.grids_led else ["volunteer"]
        return {"volunteer_id": self.volunteer_id, "roles": roles, "name": self.name, "grids": list(self.grids_led)}


def _me(row: VolunteerSession) -> Me:
    grids = tuple(int(g) for g in row.grids_led.split(",") if g)
    return Me(row.id, row.volunteer_id, row.name, grids, row.csrf_token, row.lang)


def grids_led(volunteer: dict) -> list[int]:
    """The grids a volunteer leads, from their record's grid roles."""
    return sorted(int(r["grid_id"]) for r in volunteer.get("grid_roles") or () if r.get("role") == "leader")


def open_session(session: Session, volunteer: dict, lang: str, how: str, moment: datetime) -> tuple[str, Me]:
    """A new phone session for a volunteer whose code or link was accepted: (cookie token, me)."""
    token = security.new_token()
    row = VolunteerSession(
        token_digest=security.token_digest(token),
        volunteer_id=int(volunteer["id"]),
        name=volunteer["name"][:100],
        grids_led=",".join(str(g) for g in grids_led(volunteer)),
        csrf_token=security.new_token(),
        lang=lang,
        how=how,
        created_at=to_db(moment),
        last_seen_at=to_db(moment),
    )
    session.add(row)
    session.flush()
    return token, _me(row)


def resume(session: Session, token: str | None, moment: datetime) -> Me | None:
    if not token:
        return None
    row = session.scalar(select(VolunteerSession).where(VolunteerSession.token_digest == security.token_digest(token)))
    if row is None:
        return None
    at = to_db(moment)
    if security.SessionTimes(row.created_at, row.last_seen_at, signin.IDLE, signin.ABSOLUTE).expired(at):
        session.delete(row)
        return None
    if at - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = at
    return _me(row)


def set_language(session: Session, session_id: int, lang: str) -> None:
    row = session.get(VolunteerSession, session_id)
    if row is not None:
        row.lang = lang


def sign_out(session: Session, session_id: int) -> None:
    session.execute(delete(VolunteerSession).where(VolunteerSession.id == session_id))


def sign_out_everywhere(session: Session, volunteer_id: int) -> int:
    """Every phone of the volunteer signed out (a lost phone, a deactivated volunteer)."""
    result = session.execute(delete(VolunteerSession).where(VolunteerSession.volunteer_id == volunteer_id))
    return result.rowcount or 0


def purge(session: Session, moment: datetime, codes_before: datetime) -> int:
    at = to_db(moment)
    result = session.execute(
        delete(VolunteerSession).where(
            (VolunteerSession.last_seen_at <= at - signin.IDLE) | (VolunteerSession.created_at <= at - signin.ABSOLUTE)
        )
    )
    session.execute(delete(SignInCode).where(SignInCode.created_at <= to_db(codes_before)))
    return result.rowcount or 0


# --- codes -----------------------------------------------------------------------------------


def code_requests(session: Session, phone_digest: str, address: str, since: datetime) -> list[signin.CodeRequest]:
    rows = session.execute(
        select(SignInCode.phone_digest, SignInCode.address, SignInCode.created_at).where(
            SignInCode.created_at > to_db(since),
            (SignInCode.phone_digest == phone_digest) | (SignInCode.address == address),
        )
    )
    return [signin.CodeRequest(p, a, from_db(at)) for p, a, at in rows]


def add_code(
    session: Session, phone_digest: str, code_digest: str, volunteer_id: int | None, address: str, moment: datetime
) -> int:
    """A new code for the number; earlier unused codes of it stop counting (only the latest works)."""
    session.execute(
        update(SignInCode)
        .where(SignInCode.phone_digest == phone_digest, SignInCode.used_at.is_(None))
        .values(used_at=to_db(moment))
    )
    row = SignInCode(
        phone_digest=phone_digest,
        code_digest=code_digest,
        volunteer_id=volunteer_id,
        address=address,
        created_at=to_db(moment),
        expires_at=to_db(moment + signin.CODE_TTL),
        tries=0,
    )
    session.add(row)
    session.flush()
    return row.id


def latest_code(session: Session, phone_digest: str) -> tuple[int, signin.IssuedCode] | None:
    row = session.scalar(
        select(SignInCode)
        .where(SignInCode.phone_digest == phone_digest)
        .order_by(SignInCode.created_at.desc(), SignInCode.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    issued = signin.IssuedCode(
        row.code_digest, row.volunteer_id, from_db(row.expires_at), row.tries, row.used_at is not None
    )
    return row.id, issued


def count_try(session: Session, code_id: int) -> None:
    session.execute(update(SignInCode).where(SignInCode.id == code_id).values(tries=SignInCode.tries + 1))


def use_code(session: Session, code_id: int, moment: datetime) -> bool:
    """Mark the code used; False when another request used it first (a guarded update)."""
    result = session.execute(
        update(SignInCode)
        .where(SignInCode.id == code_id, SignInCode.used_at.is_(None), SignInCode.tries < signin.MAX_TRIES)
        .values(used_at=to_db(moment), tries=SignInCode.tries + 1)
    )
    return (result.rowcount or 0) == 1


# --- printed links ---------------------------------------------------------------------------


def link_view(row: SignInLink, moment: datetime) -> dict:
    expires = from_db(row.expires_at)
    return {
        "id": row.id,
        "volunteer_id": row.volunteer_id,
        "created_by": row.created_by,
        "created_at": from_db(row.created_at),
        "expires_at": expires,
        "revoked_at": from_db(row.revoked_at),
        "last_used_at": from_db(row.last_used_at),
        "live": row.revoked_at is None and moment < expires,
    }


def add_link(session: Session, volunteer_id: int, created_by: str, moment: datetime) -> tuple[str, dict]:
    """A new personal sign-in link; the volunteer's earlier links are revoked (one sheet at a time)."""
    revoke_links(session, volunteer_id, moment)
    token = security.new_token()
    row = SignInLink(
        token_digest=security.token_digest(token),
        volunteer_id=volunteer_id,
        created_by=created_by,
        created_at=to_db(moment),
        expires_at=to_db(moment + timedelta(days=signin.LINK_DAYS)),
    )
    session.add(row)
    session.flush()
    return token, link_view(row, moment)


def revoke_links(session: Session, volunteer_id: int, moment: datetime) -> int:
    result = session.execute(
        update(SignInLink)
        .where(SignInLink.volunteer_id == volunteer_id, SignInLink.revoked_at.is_(None))
        .values(revoked_at=to_db(moment))
    )
    return result.rowcount or 0


def links_of(session: Session, volunteer_id: int, moment: datetime) -> list[dict]:
    rows = session.scalars(
        select(SignInLink).where(SignInLink.volunteer_id == volunteer_id).order_by(SignInLink.id.desc()).limit(5)
    )
    return [link_view(r, moment) for r in rows]


def use_link(session: Session, token: str, moment: datetime) -> int:
    """The volunteer a live link signs in; NotFound for an unknown, revoked or expired one."""
    row = session.scalar(select(SignInLink).where(SignInLink.token_digest == security.token_digest(token)))
    if row is None or row.revoked_at is not None or to_db(moment) >= row.expires_at:
        raise NotFound("this sign-in link is not valid (revoked or expired): ask an organiser for a new one")
    row.last_used_at = to_db(moment)
    return row.volunteer_id
