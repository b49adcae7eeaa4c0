"""Rules of the two-way service list, free of the database and the broker: partners of the six
alliances offer venues, skills, volunteer hours and goods; partners and the community need them;
offers are matched to needs.

``propose`` is the matching: each open need against each active offer, scored by the rules below
(kind, shared words, place, time), best first, and never more of an offer handed out than it has
nor more given to a need than it asks for. The same data always gives the same proposals.
Community needs are derived here from what the other services report: appeals of a category that
nobody has taken (``appeal_needs``) and activities short of people (``shortfall_needs``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from appeals.domain import HELPERS
from appeals.exceptions import AllianceUnknown

# The six alliances of the volunteers service (volunteers.structure.ALLIANCES), as data: the
# appeals service does not import another service's package.
ALLIANCES = (
    "community_cadres",
    "resident_units",
    "individual_businesses",
    "in_service_party_members",
    "community_party_members",
    "non_profits",
)
PARTNER_KINDS = ("unit", "business", "non_profit", "person", "other")
RESOURCE_KINDS = ("venue", "skill", "volunteer_hours", "goods", "other")
NEED_SOURCES = ("manual", "appeals", "activity")
NEED_STATUSES = ("open", "closed")
MATCH_STATUSES = ("proposed", "agreed", "turned_into_activity", "declined")
LIVE_MATCHES = ("proposed", "agreed", "turned_into_activity")  # hold part of an offer and of a need

# Which kinds of offer may meet a need of each kind, and how well: the same kind is the better
# fit; an hour of a skilled person is also an hour of a volunteer, not the other way round.
KIND_FIT: dict[str, dict[str, int]] = {
    "venue": {"venue": 3},
    "skill": {"skill": 3},
    "volunteer_hours": {"volunteer_hours": 3, "skill": 1},
    "goods": {"goods": 3},
    "other": {kind: 1 for kind in RESOURCE_KINDS} | {"other": 3},
}
# Points of each rule, in one table: a newcomer changes a weight here and sees it in one test.
WEIGHTS = {"word": 2, "same_grid": 2, "ample": 1}
WORDS_MUST_MATCH = ("skill", "goods")  # kinds of need whose words an offer must share
# Derived needs: hours one unrouted appeal asks of a helper; how far ahead activities are looked at.
HOURS_PER_APPEAL = 2.0
SHORTFALL_DAYS = 14
_WORD = re.compile(r"[\w\u4e00-\u9fff]+")


def check_alliance(code: str) -> str:
    if code not in ALLIANCES:
        raise AllianceUnknown(f"alliance: {code!r} is none of {', '.join(ALLIANCES)}")
    return code


def words(values: Iterable[str]) -> frozenset[str]:
    """The words an offer or need is known by (skills, things), lower-case, without punctuation."""
    found: set[str] = set()
    for value in values:
        found.update(w.lower() for w in _WORD.findall(value or ""))
    return frozenset(found)


@dataclass(frozen=True)
class Offer:
    id: int
    partner_id: int
    kind: str
    quantity: float
    words: frozenset[str] = frozenset()
    what: str = ""
    available_from: date | None = None
    available_until: date | None = None
    grid_id: int | None = None  # None: anywhere in the community


@dataclass(frozen=True)
class Need:
    id: int
    kind: str
    quantity: float
    partner_id: int | None = None  # None: the community's own need
    words: frozenset[str] = frozenset()
    what: str = ""
    by_when: date | None = None
    grid_id: int | None = None


@dataclass(frozen=True)
class Held:
    """A match already made (any status): what it holds of its offer and need, if live."""

    offer_id: int
    need_id: int
    quantity: float
    status: str


@dataclass(frozen=True)
class Proposal:
    offer_id: int
    need_id: int
    quantity: float
    score: int
    reasons: tuple[str, ...] = field(default=())


# --- one rule each: None means "not a match", a number is its points --------------------------


def kind_points(offer: Offer, need: Need) -> int | None:
    return KIND_FIT.get(need.kind, {}).get(offer.kind)


def word_points(offer: Offer, need: Need) -> int | None:
    """Shared words (a need's word found in the offer's words or text). A skill or goods must be
    what was asked for: such a need that names words and shares none is no match (any hall will
    do for a meeting; bread will not do for chairs)."""
    text = offer.what.lower()
    shared = {w for w in need.words if w in offer.words or (w and w in text)}
    if need.kind in WORDS_MUST_MATCH and need.words and not shared:
        return None
    return WEIGHTS["word"] * len(shared)


def place_points(offer: Offer, need: Need) -> int | None:
    """An offer for one grid serves that grid only; one for the whole community serves any."""
    if offer.grid_id is None or need.grid_id is None:
        return 0
    return WEIGHTS["same_grid"] if offer.grid_id == need.grid_id else None


def time_points(offer: Offer, need: Need, today: date) -> int | None:
    """The offer must still be available, and from a day no later than the need's deadline; a
    need whose deadline passed is met by nothing any more."""
    if need.by_when is not None and need.by_when < today:
        return None
    if offer.available_until is not None and offer.available_until < today:
        return None
    if offer.available_from is not None and need.by_when is not None and offer.available_from > need.by_when:
        return None
    return 0


def score(offer: Offer, need: Need, today: date) -> tuple[int, tuple[str, ...]] | None:
    """Points of the pair and the rules that gave them; None when any rule rules it out (or an
    offer would meet its own partner's need)."""
    if need.partner_id is not None and need.partner_id == offer.partner_id:
        return None
    total, reasons = 0, []
    for name, rule in (
        ("kind", kind_points),
        ("words", word_points),
        ("place", place_points),
        ("time", lambda o, n: time_points(o, n, today)),
    ):
        points = rule(offer, need)
        if points is None:
            return None
        if points:
            total += points
            reasons.append(f"{name}+{points}")
    return total, tuple(reasons)


def propose(offers: Iterable[Offer], needs: Iterable[Need], held: Iterable[Held], today: date) -> list[Proposal]:
    """New matches: every pair not matched before (a declined pair is not proposed again), best
    score first (then the need's deadline, the need, the offer: the same data, the same answer).
    Each takes what is left of the offer and of the need, so no offer is promised beyond its
    quantity and no need is given more than it asks."""
    held = list(held)
    offer_left = {o.id: o.quantity for o in offers}
    need_left = {n.id: n.quantity for n in needs}
    offers_by_id = {o.id: o for o in offers}
    needs_by_id = {n.id: n for n in needs}
    seen = {(h.offer_id, h.need_id) for h in held}
    for h in held:
        if h.status in LIVE_MATCHES:
            offer_left[h.offer_id] = offer_left.get(h.offer_id, 0.0) - h.quantity
            need_left[h.need_id] = need_left.get(h.need_id, 0.0) - h.quantity
    pairs = []
    for need in needs_by_id.values():
        for offer in offers_by_id.values():
            if (offer.id, need.id) in seen:
                continue
            scored = score(offer, need, today)
            if scored is not None:
                pairs.append((scored, offer, need))
    pairs.sort(key=lambda p: (-p[0][0], p[2].by_when or date.max, p[2].id, p[1].id))
    proposals = []
    for (points, reasons), offer, need in pairs:
        amount = min(offer_left[offer.id], need_left[need.id])
        if amount <= 0:
            continue
        if offer_left[offer.id] >= need_left[need.id]:
            points, reasons = points + WEIGHTS["ample"], (*reasons, f"ample+{WEIGHTS['ample']}")
        offer_left[offer.id] -= amount
        need_left[need.id] -= amount
        proposals.append(Proposal(offer.id, need.id, round(amount, 2), points, reasons))
    return proposals


# --- the community's needs, derived -----------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """A community need as the other services' data say it is now; ``source_ref`` names it, so a
    refresh finds the one it made before."""

    source: str
    source_ref: str
    kind: str
    what: str
    words: tuple[str, ...]
    quantity: float
    by_when: date | None = None
    grid_id: int | None = None


def appeal_needs(unrouted: Mapping[str, int]) -> list[Derived]:
    """Open appeals nobody has taken, by category: the grid and the teams could not handle them,
    so the community asks its partners for the trade the category wants. Only counts and the
    category go into the need: never an appeal's words or its resident."""
    found = []
    for category in sorted(unrouted):
        count = unrouted[category]
        if count <= 0:
            continue
        team, skills = HELPERS[category]
        found.append(
            Derived(
                source="appeals",
                source_ref=category,
                kind="skill" if skills else "volunteer_hours",
                what=f"{category}: {count} open appeal(s) nobody has taken / {count} 件求助无人承接",
                words=skills or (category,),
                quantity=count * HOURS_PER_APPEAL,
            )
        )
    return found


def shortfall_needs(occurrences: Iterable[Mapping]) -> list[Derived]:
    """Roles of stored, scheduled occurrences with fewer confirmed than needed, each a need of
    volunteer hours (the missing people times the duty's hours). An elderly visit is named by its
    kind only: whom it visits is private."""
    found = []
    for occ in occurrences:
        if occ.get("id") is None or occ.get("status") != "scheduled":
            continue
        for role in occ.get("roles") or ():
            short = role["needed"] - role["confirmed"]
            if short <= 0:
                continue
            start, end = role["duty_start"], role["duty_end"]
            hours = max((end - start).total_seconds() / 3600, 0.5)
            title = "探访 elderly visit" if occ["kind"] == "elderly_visit" else occ["title"]
            found.append(
                Derived(
                    source="activity",
                    source_ref=f"occurrence:{occ['id']}:{role['name']}",
                    kind="skill" if role.get("skills") else "volunteer_hours",
                    what=f"{title} ({role['name']}): short of {short} / 缺 {short} 人",
                    words=tuple(role.get("skills") or ()) + (occ["kind"],),
                    quantity=round(short * hours, 2),
                    by_when=start.date(),
                    grid_id=occ.get("grid_id"),
                )
            )
    return found


# --- who sees what ----------------------------------------------------------------------------

PRIVATE_FIELDS = ("contact_person", "contact_phone")


def shown_partner(caller, partner: dict) -> dict:
    """A partner's contact person and phone for organisers (and services) only."""
    if caller.is_organiser:
        return partner
    return {k: (None if k in PRIVATE_FIELDS else v) for k, v in partner.items()}
