"""Rules of appeals, free of the database and the broker: categories, who may handle one, who gets it.

Grids, courtyards and who is on duty are data of the volunteers service, asked for over RPC; the
rules here take what it answered. ``choose_handler`` is the routing: the grid's own people first
(they know the courtyards and the residents), then convenient-service volunteers with the skill the
category needs, and among equals whoever has the fewest open appeals, so the load spreads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

CATEGORIES = (
    "errand",
    "agent",
    "government_affairs_at_home",
    "repair",
    "safety_hazard",
    "environment",
    "elevator",
    "neighbours",
    "other",
)
URGENCIES = ("normal", "urgent")
# Who took the appeal in: the community office (organisers, other services), a grid member or leader
# at the door, or the resident themselves through the public form with their phone verified by SMS.
SOURCES = ("office", "grid", "resident")
STATUSES = ("unrouted", "assigned", "accepted", "closed")
OPEN_STATUSES = ("unrouted", "assigned", "accepted")
HANDLED_STATUSES = ("assigned", "accepted")  # someone has it: counts towards their load

# Who besides the grid may take a category: a team of the volunteers service and, where the work
# needs one, the skills of which any will do. Errands, acting as agent and government affairs at
# home are the convenient-service team's everyday work; repairs want a trade.
HELPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "errand": ("convenient_service", ()),
    "agent": ("convenient_service", ()),
    "government_affairs_at_home": ("convenient_service", ()),
    "repair": ("convenient_service", ("electrician", "plumbing")),
    "safety_hazard": ("convenient_service", ("electrician",)),
    "elevator": ("convenient_service", ("electrician",)),
    "environment": ("sanitation_green", ()),
    "neighbours": ("convenient_service", ()),
    "other": ("convenient_service", ()),
}
# "Available now": free for this long from the moment the appeal is routed, time to get there.
AVAILABLE_FOR = timedelta(hours=1)
MAX_HOURS = 24.0  # hours one appeal may credit to its handler at closing

# Priorities of the kinds of candidate: lower goes first.
GRID_LEADER, GRID_MEMBER, HELPER = "grid_leader", "grid_member", "helper"
KIND_ORDER = {GRID_MEMBER: 0, GRID_LEADER: 1, HELPER: 2}


@dataclass(frozen=True)
class Candidate:
    volunteer_id: int
    kind: str  # GRID_MEMBER, GRID_LEADER or HELPER


def candidates(grid: Mapping, available_ids: Iterable[int], helper_ids: Iterable[int] = ()) -> list[Candidate]:
    """Who may take an appeal of ``grid`` now: its leader and members among the available volunteers,
    then the available helpers (team and skill of the category) who hold no role in the grid.

    ``grid`` is the volunteers service's ``get_grid`` answer (``leader``, ``members``)."""
    available = set(available_ids)
    leader = (grid.get("leader") or {}).get("id")
    found: dict[int, Candidate] = {}
    for member in grid.get("members") or ():
        if member["id"] in available and member["id"] != leader:
            found[member["id"]] = Candidate(member["id"], GRID_MEMBER)
    if leader is not None and leader in available:
        found[leader] = Candidate(leader, GRID_LEADER)
    for vid in helper_ids:
        found.setdefault(vid, Candidate(vid, HELPER))
    return list(found.values())


def choose_handler(
    found: Iterable[Candidate], open_counts: Mapping[int, int], excluded: Iterable[int] = ()
) -> Candidate | None:
    """The one to route an appeal to, or None when nobody may take it now.

    Members of the grid before its leader (the leader keeps time for the grid's other work) and
    both before helpers from outside; within a kind the fewest open appeals, then the lower id, so
    that the same data always gives the same answer. ``excluded``: who handed this appeal back."""
    skip = set(excluded)
    eligible = [c for c in found if c.volunteer_id not in skip]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (KIND_ORDER[c.kind], open_counts.get(c.volunteer_id, 0), c.volunteer_id))


def grid_roles(volunteer: Mapping) -> dict[int, str]:
    """A volunteer's roles by grid, from the volunteers service's record."""
    return {r["grid_id"]: r["role"] for r in volunteer.get("grid_roles") or ()}


def may_handle(volunteer: Mapping, grid_id: int, category: str) -> bool:
    """Whether an organiser may give an appeal of that grid and category to this volunteer: an active
    person of the grid, or an active volunteer of the category's helping team."""
    if not volunteer.get("active"):
        return False
    if grid_id in grid_roles(volunteer):
        return True
    team, skills = HELPERS[category]
    if team not in (volunteer.get("teams") or ()):
        return False
    return not skills or bool(set(skills) & set(volunteer.get("skills") or ()))


def courtyard_codes(grid: Mapping) -> set[str]:
    return {c["code"] if isinstance(c, Mapping) else c for c in grid.get("courtyards") or ()}


# What only the handler and organisers see: the resident's contact, and the words of the appeal and
# of its closing, which name people and flats as often as not.
PRIVATE_FIELDS = ("resident_name", "resident_phone", "resident_address", "description", "outcome", "resident_reply")


def sees_resident(caller, appeal: Mapping) -> bool:
    """The resident's name, phone and address: for organisers (and services) and the appeal's
    handler; grid views, viewers and everyone else see category, place and times only."""
    if caller.is_organiser:
        return True
    return caller.volunteer_id is not None and caller.volunteer_id == appeal.get("handler_id")


def shown(caller, appeal: dict) -> dict:
    """The appeal as ``caller`` may see it: category, place, status and times only unless ``sees_resident``."""
    if sees_resident(caller, appeal):
        return appeal
    return {k: (None if k in PRIVATE_FIELDS else v) for k, v in appeal.items() if k != "notes"} | {"notes": []}


def source_of(caller) -> str:
    """Where an appeal taken in by ``caller`` came from: the office, or a grid's own people."""
    return "office" if caller.is_organiser else "grid"


# --- references and the resident's reply link -------------------------------------------------

REFERENCE_PREFIX = "GY"
_REFERENCE = re.compile(rf"^{REFERENCE_PREFIX}(\d{{6,}})$")
REPLY_LINK_DAYS = 14  # the text's link to say how it went: two weeks, then the handler's word stands
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def reference(appeal_id: int) -> str:
    """What a resident is told to quote: GY000042."""
    return f"{REFERENCE_PREFIX}{appeal_id:06d}"


def mobile(phone: str | None) -> str | None:
    """The mainland mobile number a text can go to, or None (a landline: no link, the handler asks)."""
    found = _MOBILE.match((phone or "").replace(" ", "").replace("-", ""))
    return found.group(1) if found else None


def reply_token(key: bytes, appeal_id: int, nonce: str) -> str:
    """The resident's link token: random (``nonce``), and made again from the row and the service's
    key to resend the same link after a failed text; the row alone (a copy of the database) does
    not give it."""
    mac = hmac.new(key, f"appeal-reply\x1f{appeal_id}\x1f{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def token_digest(token: str) -> str:
    """The digest a link's token is found by."""
    return hashlib.sha256(token.encode()).hexdigest()


class ReplyRefused(Exception):
    """Why a reply link does not take an answer: ``unknown``, ``used`` or ``expired``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_reply_link(expires_at: datetime | None, used_at: datetime | None, now: datetime) -> None:
    """A link takes one answer, within its days; ``ReplyRefused`` otherwise."""
    if expires_at is None:
        raise ReplyRefused("unknown")
    if used_at is not None:
        raise ReplyRefused("used")
    if now >= expires_at:
        raise ReplyRefused("expired")
