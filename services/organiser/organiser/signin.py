"""Rules of one-time SMS codes of the organiser site: a volunteer's sign-in to the phone page (with
personal links and sessions), and a resident proving their number to send an appeal.

Plain functions over plain data (no I/O). A code is 6 digits, valid ``CODE_TTL``, good for
``MAX_TRIES`` guesses; asking for codes is limited per number and per address
(``CodeRules``). The database keeps keyed digests only (HMAC-SHA256 with a key of this
installation): a copy of the table gives neither the codes nor, without the key, the numbers.
A number's codes are kept apart by purpose (``phone_digest``): a resident's code for an appeal
signs nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

CODE_TTL = timedelta(minutes=5)
MAX_TRIES = 5
CODE_DIGITS = 6
LINK_DAYS = 180  # a printed sign-in link lasts half a year unless revoked

# A volunteer's phone stays signed in: older volunteers should not have to sign in every week.
IDLE = timedelta(days=30)
ABSOLUTE = timedelta(days=90)

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def mobile_number(text: str | None) -> str | None:
    """A mainland mobile number as stored ('13912347700'), from what a person types
    ('139 1234 7700', '+86-139-1234-7700'); None when it is not one."""
    digits = re.sub(r"[\s\-()]", "", text or "")
    if digits.startswith("+"):
        digits = digits[1:]
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if _MOBILE.match(digits) else None


def masked(phone: str) -> str:
    """'139****7700': enough for a person to recognise their number, not to learn it."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_format_ok(code: str | None) -> bool:
    return bool(code) and len(code) == CODE_DIGITS and code.isdigit()


def digest(key: bytes, *parts: str) -> str:
    """A keyed digest of a number, or of a number and its code."""
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


PURPOSES = ("sign_in", "appeal")


def phone_digest(key: bytes, phone: str, purpose: str = "sign_in") -> str:
    """The digest a number's codes for ``purpose`` are kept under."""
    if purpose not in PURPOSES:
        raise ValueError(f"no codes for {purpose!r}")
    return digest(key, phone) if purpose == "sign_in" else digest(key, purpose, phone)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class CodeRequest:
    phone_digest: str
    address: str
    at: datetime


@dataclass(frozen=True)
class CodeRules:
    """How often codes may be asked for within ``window``: per number (``per_phone``, and not twice
    within ``resend_after``) and per address (``per_address``: one machine trying many numbers)."""

    window: timedelta = timedelta(hours=1)
    per_phone: int = 5
    per_address: int = 20
    resend_after: timedelta = timedelta(seconds=60)


def code_wait(
    rules: CodeRules, requests: list[CodeRequest], phone_digest: str, address: str, now: datetime
) -> timedelta | None:
    """How long before another code may be asked for this number from this address; None: now.

    ``requests``: at least those within the window for the number or from the address. The answer
    depends only on the counts, never on whether the number belongs to a volunteer.
    """
    recent = [r for r in requests if now - r.at < rules.window]
    for_phone = sorted(r.at for r in recent if r.phone_digest == phone_digest)
    from_address = sorted(r.at for r in recent if r.address == address)
    until: list[datetime] = []
    if for_phone and now - for_phone[-1] < rules.resend_after:
        until.append(for_phone[-1] + rules.resend_after)
    if len(for_phone) >= rules.per_phone:
        until.append(for_phone[-rules.per_phone] + rules.window)
    if len(from_address) >= rules.per_address:
        until.append(from_address[-rules.per_address] + rules.window)
    return max(until) - now if until else None


@dataclass(frozen=True)
class IssuedCode:
    """A code as the database holds it."""

    code_digest: str
    volunteer_id: int | None  # None: the number is nobody's, and no SMS went out
    expires_at: datetime
    tries: int
    used: bool


class CodeRefused(Exception):
    """Why a code was not accepted: ``reason`` is a key of the page's words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_code(key: bytes, issued: IssuedCode | None, phone: str, code: str, now: datetime) -> int:
    """The volunteer a right code signs in; ``CodeRefused`` otherwise.

    Reasons as ``verify_code``. A number that belongs to nobody gets ``code_wrong`` like any
    wrong guess, so the answers reveal nothing about who is a volunteer.
    """
    verify_code(key, issued, phone, code, now)
    if issued.volunteer_id is None:
        raise CodeRefused("code_wrong")
    return issued.volunteer_id


def verify_code(key: bytes, issued: IssuedCode | None, phone: str, code: str, now: datetime) -> None:
    """Whether ``code`` is the number's latest code, unused, in time and within its tries;
    ``CodeRefused`` otherwise. Reasons: ``code_wrong`` (the caller counts a try),
    ``code_expired``, ``code_used_up`` (tries spent: ask for a new code)."""
    if issued is None or issued.used:
        raise CodeRefused("code_wrong")
    if issued.tries >= MAX_TRIES:
        raise CodeRefused("code_used_up")
    if now >= issued.expires_at:
        raise CodeRefused("code_expired")
    if not code_format_ok(code) or not same(issued.code_digest, digest(key, phone, code)):
        raise CodeRefused("code_wrong")


# --- a resident's number, proved for an appeal ---------------------------------------------------

PASS_TTL = timedelta(minutes=30)  # time to fill the appeal form in once the code was right


def _pass_purpose(community: str | None) -> str:
    return "appeal-pass" if community is None else f"appeal-pass:{community}"


def appeal_pass(key: bytes, phone: str, code_id: int, now: datetime, community: str | None = None) -> str:
    """What the appeal form carries once a resident's code was right: their number, the code it was
    proved with (one appeal per code) and until when, under a keyed digest; outside the default
    community (``community`` None) the digest names the community, whose code ids are its own."""
    body = f"{phone}.{code_id}.{int((now + PASS_TTL).timestamp())}"
    return f"{body}.{digest(key, _pass_purpose(community), body)}"


def read_appeal_pass(
    key: bytes, text: str | None, now: datetime, community: str | None = None
) -> tuple[str, int] | None:
    """(number, code id) of a pass ``appeal_pass`` made for the community and still in time; None otherwise."""
    parts = (text or "").split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        return None
    phone, code_id, until, mac = parts
    expected = digest(key, _pass_purpose(community), f"{phone}.{code_id}.{until}")
    if not same(mac, expected) or now.timestamp() >= int(until):
        return None
    return phone, int(code_id)
