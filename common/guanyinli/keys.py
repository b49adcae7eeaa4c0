"""Callers' idempotency keys: the same key and the same arguments get the first answer, other arguments a refusal.

A method that creates something takes an optional key of the caller's (``request_id``): a caller
that lost an answer asks again with the same key, and nothing is made twice. Each service keeps
the keys it was given in ``request_keys_<service>``, one row per **(caller scope, method, key)**,
with a **fingerprint** of the request (a hash of its loaded arguments, the key itself left out)
and, once the method returned, its **answer** (the dumped result, JSON). The row is written with
the worker's first write, in the same commit (as ``guanyinli.once`` writes the correlation id),
and the answer in a short transaction of its own right after the method returned, before the
reply goes out.

The rule (``settle``), before the method runs:

* no row: the method runs and its first write claims the key;
* a row with another fingerprint: ``KeyReused`` (a ``Conflict``): the key was used for another
  request, and nothing of that request is told;
* a row with the same fingerprint and an answer: that answer, and the method does not run;
* a row with the same fingerprint and no answer (the first request is still under way, or its
  answer was over ``MAX_ANSWER``, or its process stopped between its commit and keeping the
  answer): ``RequestRepeated``, and nothing is done again; except for a method declared
  ``rerun`` (``sign_up``), whose repeat finds what its first run made (the volunteer's live
  sign-up) and so runs again, its answer then kept with the key.

Two requests with one key that both pass the look-up race for the row: the loser's commit fails
on the key, its work is rolled back, and it is settled as above (``KeyTaken``).

The **scope** is the caller's token subject (``Identity.scope``): the same key string from two
callers is two keys, so no caller ever gets another's answer through a key. Callers without a
token share the scope ``anonymous``; there the fingerprint alone stands between one resident and
another's data. A key reused with other arguments is refused; with the same arguments the first
answer is handed back, so a method that takes a key from anonymous callers must answer nothing
beyond what its arguments carried and facts of the record it made (its id, status, place in the
queue): whoever sends the same arguments under the same key then learns nothing they did not
send (``register_attendee``: the resident's own name and phone, the registration's id and status).

Arguments that are secrets (a password) are left out of the fingerprint (``omit``), so that no
unsalted hash of them is stored; such a method's answer must not carry them either. Errors are not
kept: a refused request wrote nothing, claimed nothing, and runs again when asked again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from guanyinli import once
from guanyinli.errors import Conflict, KeyReused, RequestRepeated
from guanyinli.timeutil import now, to_db

KEEP = timedelta(days=14)
MAX_ANSWER = 64 * 1024  # bytes of JSON: a larger answer is not kept (a repeat then gets RequestRepeated)
CLAIM_KEY = "guanyinli_key_claim"  # session.info: the Claim to record at commit
RECORDED_KEY = "guanyinli_key_recorded"  # session.info: the commit carries the key's row

_metadata = MetaData()


@dataclass(frozen=True)
class Claim:
    """One keyed request: whose key, for which method, and what it asked."""

    scope: str
    method: str
    key: str
    fingerprint: str
    field: str = "request_id"  # the argument's name, for messages


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


def fingerprint(arguments: Mapping[str, Any], omit: Iterable[str] = ()) -> str:
    """A hash of the loaded arguments (keys in any order; ``omit`` left out), hex."""
    left_out = set(omit)
    kept = {k: v for k, v in arguments.items() if k not in left_out}
    text = json.dumps(kept, sort_keys=True, default=_plain, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def claim_for(
    scope: str, method: str, field: str, arguments: Mapping[str, Any], omit: Iterable[str] = ()
) -> Claim | None:
    """The claim of a request whose argument ``field`` is its key; None when it carries no key."""
    key = arguments.get(field)
    if key is None or key == "":
        return None
    return Claim(scope, method, str(key), fingerprint(arguments, (field, *omit)), field)


def encode_answer(answer: Any) -> str | None:
    """The answer as kept (JSON), or None when it cannot be kept (too large, not JSON)."""
    try:
        text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return text if len(text.encode("utf-8")) <= MAX_ANSWER else None


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    answer: str | None


RUN, ANSWER, RERUN = "run", "answer", "rerun"


def settle(claim: Claim, stored: Stored | None, rerun: bool = False) -> tuple[str, Any]:
    """What a keyed request gets, given the row its key has (see the module's text):
    ``(RUN, None)`` run it and claim the key; ``(ANSWER, answer)`` answer it so; ``(RERUN, None)``
    run it again without claiming (``rerun``: a method whose repeat finds what its first run made,
    for a key whose answer was not kept); or a refusal raised."""
    if stored is None:
        return RUN, None
    if stored.fingerprint != claim.fingerprint:
        raise KeyReused(
            f"{claim.field} {claim.key!r} was used for another request of {claim.method}:"
            f" use a new {claim.field} for a new request",
            f"{claim.field}「{claim.key}」已用于另一个{claim.method}请求：新的请求请用新的{claim.field}",
        )
    if stored.answer is not None:
        return ANSWER, json.loads(stored.answer)
    if rerun:
        return RERUN, None
    raise RequestRepeated(
        f"{claim.field} {claim.key!r} of {claim.method} was carried out already (or is under way) and its"
        " answer was not kept: read the current state instead",
        f"{claim.field}「{claim.key}」的{claim.method}请求已办理（或正在办理），结果未保留：请查询当前状态",
    )


class KeyTaken(Conflict):
    """The key's row was written by another request between this one's look-up and its commit."""


# --- the table -----------------------------------------------------------------------------------


def table_name(service: str) -> str:
    return f"request_keys_{service}"


def table(service: str, metadata: MetaData = _metadata) -> Table:
    """The service's table, in ``metadata`` (each service's models put it in theirs, for its migrations)."""
    name = table_name(service)
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(
        name,
        metadata,
        Column("scope", String(200), primary_key=True, doc="the caller's token subject, or 'anonymous'"),
        Column("method", String(100), primary_key=True),
        Column("key", String(100), primary_key=True, doc="the caller's key (request_id)"),
        Column("fingerprint", String(64), nullable=False, doc="sha256 of the request's arguments"),
        Column("answer", Text, nullable=True, doc="the dumped result, JSON; null until kept, or too large"),
        Column("created_at", DateTime, nullable=False, index=True, doc="naive UTC"),
    )


def create_table(op, service: str) -> None:
    """For a service's migration (``op`` is alembic's): the table as first created."""
    import sqlalchemy as sa

    name = table_name(service)
    op.create_table(
        name,
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "method", "key"),
    )
    op.create_index(f"ix_{name}_created_at", name, ["created_at"], unique=False)


def drop_table(op, service: str) -> None:
    name = table_name(service)
    op.drop_index(f"ix_{name}_created_at", table_name=name)
    op.drop_table(name)


def _where(tbl: Table, claim: Claim):
    return (tbl.c.scope == claim.scope) & (tbl.c.method == claim.method) & (tbl.c.key == claim.key)


def look_up(session: Session, tbl: Table, claim: Claim) -> Stored | None:
    row = session.execute(select(tbl.c.fingerprint, tbl.c.answer).where(_where(tbl, claim))).first()
    return None if row is None else Stored(row.fingerprint, row.answer)


def keep_answer(session: Session, tbl: Table, claim: Claim, answer: str) -> None:
    session.execute(update(tbl).where(_where(tbl, claim)).values(answer=answer))


class Recorder:
    """Session hooks of one service's sessionmaker: write the claimed key with the first write.

    Registered after ``once.Recorder``, whose hooks note the writes (``once.WROTE_KEY``).
    """

    def __init__(self, factory: sessionmaker, service: str):
        self.table = table(service)
        self.pruned_at = time.monotonic()  # the first prune an hour after start
        event.listen(factory, "before_commit", self._committing)

    def _committing(self, session: Session) -> None:
        claim = session.info.get(CLAIM_KEY)
        if claim is None or session.in_nested_transaction():
            return
        session.flush()
        if not session.info.get(once.WROTE_KEY):
            return
        try:
            session.execute(
                insert(self.table).values(
                    scope=claim.scope,
                    method=claim.method,
                    key=claim.key,
                    fingerprint=claim.fingerprint,
                    created_at=to_db(now()),
                )
            )
        except IntegrityError:
            raise KeyTaken(f"{claim.field} {claim.key!r} of {claim.method} was taken by another request") from None
        session.info[RECORDED_KEY] = True
        if time.monotonic() - self.pruned_at > once.PRUNE_EVERY:
            self.pruned_at = time.monotonic()
            session.execute(delete(self.table).where(self.table.c.created_at < to_db(now() - KEEP)))
