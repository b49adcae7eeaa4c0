"""Use cases of the two-way service list over one SQLAlchemy session (the caller's transaction).

What other services know (unrouted appeals are this service's own; activities short of people
and the joint activity made are the activities service's) is asked for before the transaction
and handed in as data (``partners_service``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appeals import partners_domain as pd
from appeals.exceptions import (
    MatchAlreadyTurned,
    MatchNotFound,
    MatchStateInvalid,
    NeedDerived,
    NeedNotFound,
    OfferNotFound,
    PartnerInactive,
    PartnerNotFound,
)
from appeals.models import Appeal, Match, Need, Offer, Partner
from guanyinli.errors import InvalidInput
from guanyinli.timeutil import from_db, to_db


def _words(values: Iterable[str]) -> str:
    return " ".join(sorted(pd.words(values)))


# --- views ---------------------------------------------------------------------------------------


def _held(session: Session, column, ids: Iterable[int]) -> dict[int, float]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = session.execute(
        select(column, func.sum(Match.quantity))
        .where(column.in_(ids), Match.status.in_(pd.LIVE_MATCHES))
        .group_by(column)
    )
    return {k: float(v or 0) for k, v in rows}


def offer_views(session: Session, offers: list[Offer]) -> list[dict]:
    promised = _held(session, Match.offer_id, [o.id for o in offers])
    return [
        {
            "id": o.id,
            "partner_id": o.partner_id,
            "partner_name": o.partner.name,
            "kind": o.kind,
            "what": o.what,
            "words": o.words.split(),
            "quantity": o.quantity,
            "promised": promised.get(o.id, 0.0),
            "available_from": o.available_from,
            "available_until": o.available_until,
            "grid_id": o.grid_id,
            "active": o.active,
        }
        for o in offers
    ]


def need_views(session: Session, needs: list[Need]) -> list[dict]:
    met = _held(session, Match.need_id, [n.id for n in needs])
    partner_ids = {n.partner_id for n in needs if n.partner_id is not None}
    names = (
        dict(session.execute(select(Partner.id, Partner.name).where(Partner.id.in_(partner_ids))).all())
        if partner_ids
        else {}
    )
    return [
        {
            "id": n.id,
            "partner_id": n.partner_id,
            "partner_name": names.get(n.partner_id),
            "kind": n.kind,
            "what": n.what,
            "words": n.words.split(),
            "quantity": n.quantity,
            "met": met.get(n.id, 0.0),
            "by_when": n.by_when,
            "grid_id": n.grid_id,
            "source": n.source,
            "source_ref": n.source_ref,
            "status": n.status,
        }
        for n in needs
    ]


def partner_view(session: Session, partner: Partner, include_inactive: bool = False) -> dict:
    offers = [o for o in partner.offers if include_inactive or o.active]
    needs = list(
        session.scalars(
            select(Need)
            .where(Need.partner_id == partner.id, *(() if include_inactive else (Need.status == "open",)))
            .order_by(Need.id)
        )
    )
    return {
        "id": partner.id,
        "name": partner.name,
        "alliance": partner.alliance,
        "kind": partner.kind,
        "contact_person": partner.contact_person,
        "contact_phone": partner.contact_phone,
        "note": partner.note,
        "active": partner.active,
        "offers": offer_views(session, offers),
        "needs": need_views(session, needs),
    }


def match_views(session: Session, matches: list[Match]) -> list[dict]:
    offers = {v["id"]: v for v in offer_views(session, list({m.offer.id: m.offer for m in matches}.values()))}
    needs = {v["id"]: v for v in need_views(session, list({m.need.id: m.need for m in matches}.values()))}
    return [
        {
            "id": m.id,
            "offer": offers[m.offer_id],
            "need": needs[m.need_id],
            "quantity": m.quantity,
            "score": m.score,
            "reasons": m.reasons.split(),
            "status": m.status,
            "activity_id": m.activity_id,
            "proposed_at": from_db(m.proposed_at),
            "decided_at": from_db(m.decided_at),
            "note": m.note,
        }
        for m in matches
    ]


# --- partners ------------------------------------------------------------------------------------


def get_partner(session: Session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise PartnerNotFound(f"partner_id: no partner {partner_id}")
    return partner


def add_partner(session: Session, data: dict, at: datetime) -> dict:
    pd.check_alliance(data["alliance"])
    partner = Partner(**data, active=True, created_at=to_db(at))
    session.add(partner)
    session.flush()
    return partner_view(session, partner)


def update_partner(session: Session, partner_id: int, changes: dict) -> dict:
    partner = get_partner(session, partner_id)
    if "alliance" in changes:
        pd.check_alliance(changes["alliance"])
    for key, value in changes.items():
        if key in ("name", "alliance", "kind", "active") and value is None:
            continue  # required fields are not cleared
        setattr(partner, key, value)
    session.flush()
    return partner_view(session, partner)


def list_partners(session: Session, alliance: str | None, include_inactive: bool) -> list[dict]:
    query = select(Partner).order_by(Partner.alliance, Partner.name, Partner.id)
    if alliance is not None:
        pd.check_alliance(alliance)
        query = query.where(Partner.alliance == alliance)
    if not include_inactive:
        query = query.where(Partner.active.is_(True))
    return [partner_view(session, p, include_inactive) for p in session.scalars(query)]


# --- offers and needs ----------------------------------------------------------------------------


def _active_partner(session: Session, partner_id: int) -> Partner:
    partner = get_partner(session, partner_id)
    if not partner.active:
        raise PartnerInactive(f"partner_id: partner {partner_id} no longer takes part")
    return partner


def _check_window(first: date | None, last: date | None, names: str) -> None:
    if first is not None and last is not None and first > last:
        raise InvalidInput(f"{names}: the first day comes after the last")


def add_offer(session: Session, data: dict) -> dict:
    partner = _active_partner(session, data["partner_id"])
    offer = Offer(**(data | {"words": _words(data.get("words") or ())}), active=True)
    offer.partner = partner
    session.add(offer)
    session.flush()
    return offer_views(session, [offer])[0]


def get_offer(session: Session, offer_id: int) -> Offer:
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise OfferNotFound(f"offer_id: no offer {offer_id}")
    return offer


def update_offer(session: Session, offer_id: int, changes: dict) -> dict:
    offer = get_offer(session, offer_id)
    for key, value in changes.items():
        if key in ("kind", "what", "quantity", "active") and value is None:
            continue
        setattr(offer, key, _words(value or ()) if key == "words" else value)
    _check_window(offer.available_from, offer.available_until, "available_from, available_until")
    session.flush()
    return offer_views(session, [offer])[0]


def list_offers(session: Session, partner_id: int | None, kind: str | None, include_inactive: bool) -> list[dict]:
    query = select(Offer).join(Partner).order_by(Offer.id)
    if partner_id is not None:
        query = query.where(Offer.partner_id == partner_id)
    if kind is not None:
        query = query.where(Offer.kind == kind)
    if not include_inactive:
        query = query.where(Offer.active.is_(True), Partner.active.is_(True))
    return offer_views(session, list(session.scalars(query)))


def add_need(session: Session, data: dict, at: datetime) -> dict:
    if data.get("partner_id") is not None:
        _active_partner(session, data["partner_id"])
    need = Need(**(data | {"words": _words(data.get("words") or ())}), source="manual", updated_at=to_db(at))
    session.add(need)
    session.flush()
    return need_views(session, [need])[0]


def get_need(session: Session, need_id: int) -> Need:
    need = session.get(Need, need_id)
    if need is None:
        raise NeedNotFound(f"need_id: no need {need_id}")
    return need


def update_need(session: Session, need_id: int, changes: dict, at: datetime) -> dict:
    need = get_need(session, need_id)
    if need.source != "manual" and set(changes) - {"status"}:
        raise NeedDerived(f"need_id: need {need_id} comes from {need.source}; a refresh keeps it up to date")
    for key, value in changes.items():
        if key in ("kind", "what", "quantity", "status") and value is None:
            continue
        setattr(need, key, _words(value or ()) if key == "words" else value)
    need.updated_at = to_db(at)
    session.flush()
    return need_views(session, [need])[0]


def list_needs(
    session: Session, partner_id: int | None, community: bool, source: str | None, status: str | None
) -> list[dict]:
    query = select(Need).order_by(Need.by_when.is_(None), Need.by_when, Need.id)
    if partner_id is not None:
        query = query.where(Need.partner_id == partner_id)
    if community:
        query = query.where(Need.partner_id.is_(None))
    if source is not None:
        query = query.where(Need.source == source)
    if status is not None:
        query = query.where(Need.status == status)
    return need_views(session, list(session.scalars(query)))


# --- community needs, derived --------------------------------------------------------------------


def unrouted_by_category(session: Session) -> dict[str, int]:
    """Open appeals nobody has (``unrouted``), by category: what the grid and its teams could not take."""
    rows = session.execute(
        select(Appeal.category, func.count()).where(Appeal.status == "unrouted").group_by(Appeal.category)
    )
    return {category: count for category, count in rows}


def refresh_derived(session: Session, derived: list[pd.Derived], sources: Iterable[str], at: datetime) -> dict:
    """Upsert the derived needs by (source, source_ref); those of ``sources`` no longer derived are
    closed. Running it twice over the same data changes nothing the second time."""
    sources = tuple(sources)
    existing = {
        (n.source, n.source_ref): n
        for n in session.scalars(select(Need).where(Need.source.in_(sources)).with_for_update())
    }
    counts = {"opened": 0, "updated": 0, "closed": 0}
    fresh = set()
    for d in derived:
        key = (d.source, d.source_ref)
        fresh.add(key)
        values = {
            "kind": d.kind,
            "what": d.what[:200],
            "words": _words(d.words),
            "quantity": d.quantity,
            "by_when": d.by_when,
            "grid_id": d.grid_id,
            "status": "open",
        }
        need = existing.get(key)
        if need is None:
            session.add(Need(source=d.source, source_ref=d.source_ref, partner_id=None, updated_at=to_db(at), **values))
            counts["opened"] += 1
        elif any(getattr(need, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(need, k, v)
            need.updated_at = to_db(at)
            counts["updated"] += 1
    for key, need in existing.items():
        if key not in fresh and need.status == "open":
            need.status = "closed"
            need.updated_at = to_db(at)
            counts["closed"] += 1
    session.flush()
    return counts


# --- matches -------------------------------------------------------------------------------------


def _offer_data(o: Offer) -> pd.Offer:
    return pd.Offer(
        o.id, o.partner_id, o.kind, o.quantity, frozenset(o.words.split()), o.what, o.available_from,
        o.available_until, o.grid_id,
    )  # fmt: skip


def _need_data(n: Need) -> pd.Need:
    return pd.Need(n.id, n.kind, n.quantity, n.partner_id, frozenset(n.words.split()), n.what, n.by_when, n.grid_id)


def propose_matches(session: Session, today: date, at: datetime) -> list[dict]:
    """Store ``partners_domain.propose``'s new matches for the open needs and active offers."""
    offers = session.scalars(
        select(Offer).join(Partner).where(Offer.active.is_(True), Partner.active.is_(True)).order_by(Offer.id)
    ).all()
    needs = session.scalars(select(Need).where(Need.status == "open").order_by(Need.id)).all()
    held = [pd.Held(m.offer_id, m.need_id, m.quantity, m.status) for m in session.scalars(select(Match))]
    proposals = pd.propose([_offer_data(o) for o in offers], [_need_data(n) for n in needs], held, today)
    made = []
    for p in proposals:
        match = Match(
            offer_id=p.offer_id,
            need_id=p.need_id,
            quantity=p.quantity,
            score=p.score,
            reasons=" ".join(p.reasons),
            status="proposed",
            proposed_at=to_db(at),
        )
        session.add(match)
        made.append(match)
    session.flush()
    return match_views(session, made)


def get_match(session: Session, match_id: int, for_update: bool = False) -> Match:
    query = select(Match).where(Match.id == match_id)
    if for_update:
        query = query.with_for_update()
    match = session.scalars(query).first()
    if match is None:
        raise MatchNotFound(f"match_id: no match {match_id}")
    return match


def list_matches(session: Session, status: str | None, need_id: int | None, offer_id: int | None) -> list[dict]:
    query = select(Match).order_by(Match.id)
    if status is not None:
        query = query.where(Match.status == status)
    if need_id is not None:
        query = query.where(Match.need_id == need_id)
    if offer_id is not None:
        query = query.where(Match.offer_id == offer_id)
    return match_views(session, list(session.scalars(query)))


def decide(session: Session, match_id: int, status: str, at: datetime, author: str, note: str | None = None) -> dict:
    """Agree to a proposed match, or decline a proposed or agreed one (which frees what it held)."""
    match = get_match(session, match_id, for_update=True)
    if match.status == "turned_into_activity":
        raise MatchAlreadyTurned(f"match_id: match {match_id} is activity {match.activity_id} already")
    allowed = {"agreed": ("proposed",), "declined": ("proposed", "agreed")}[status]
    if match.status not in allowed:
        raise MatchStateInvalid(f"match_id: match {match_id} is {match.status}")
    match.status, match.decided_at, match.decided_by = status, to_db(at), author
    if note is not None:
        match.note = note
    session.flush()
    return match_views(session, [match])[0]


def turnable(session: Session, match_id: int) -> dict:
    """The match about to become an activity, read: proposed or agreed, else a typed refusal."""
    match = get_match(session, match_id)
    if match.status == "turned_into_activity":
        raise MatchAlreadyTurned(f"match_id: match {match_id} is activity {match.activity_id} already")
    if match.status == "declined":
        raise MatchStateInvalid(f"match_id: match {match_id} was declined")
    return match_views(session, [match])[0]


def record_turned(session: Session, match_id: int, activity_id: int, at: datetime, author: str) -> dict:
    """Write the joint activity's id on the match, once: a match that became another activity
    meanwhile is refused, the same activity again is the same answer."""
    match = get_match(session, match_id, for_update=True)
    if match.status == "turned_into_activity" and match.activity_id != activity_id:
        raise MatchAlreadyTurned(f"match_id: match {match_id} is activity {match.activity_id} already")
    if match.status == "declined":
        raise MatchStateInvalid(f"match_id: match {match_id} was declined")
    if match.status != "turned_into_activity":
        match.status, match.activity_id = "turned_into_activity", activity_id
        match.decided_at, match.decided_by = to_db(at), author
    session.flush()
    return match_views(session, [match])[0]
