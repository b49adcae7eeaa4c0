"""`guanyinli partners`: the two-way service list: partners, offers, needs, matches, and a match turned into an activity."""

from __future__ import annotations

import click

from guanyinli.timeutil import iso
from organiser.cli import emit, json_option, make_table, parse_when, state
from organiser.partner_words import ACTIVITY_KINDS, ALLIANCES, MATCH_STATUSES, RESOURCE_KINDS


@click.group()
def partners():
    """The two-way service list of the six alliances' partners."""


def _appeals():
    return state().rpc().appeals


@partners.command("list")
@click.option("--alliance", type=click.Choice(ALLIANCES))
@click.option("--all", "include_inactive", is_flag=True, help="withdrawn partners too")
@json_option
def partners_list(alliance, include_inactive):
    """Partners by alliance, with how many offers and open needs each has."""
    emit(
        _appeals().list_partners(alliance=alliance, include_inactive=include_inactive),
        lambda rows: make_table(
            f"{len(rows)} partners",
            ["id", "alliance", "name", "contact", "offers", "needs", "active"],
            [
                [
                    p["id"],
                    p["alliance"],
                    p["name"],
                    " ".join(x for x in (p.get("contact_person"), p.get("contact_phone")) if x),
                    len(p["offers"]),
                    len(p["needs"]),
                    "yes" if p["active"] else "no",
                ]
                for p in rows
            ],
        ),
    )


@partners.command("offers")
@click.option("--partner", "partner_id", type=int, help="partner id")
@click.option("--kind", type=click.Choice(RESOURCE_KINDS))
@json_option
def partners_offers(partner_id, kind):
    """What partners offer, with how much live matches hold."""
    emit(
        _appeals().list_offers(partner_id=partner_id, kind=kind),
        lambda rows: make_table(
            f"{len(rows)} offers",
            ["id", "partner", "kind", "what", "quantity", "promised", "grid", "from", "until"],
            [
                [
                    o["id"],
                    o["partner_name"],
                    o["kind"],
                    o["what"],
                    o["quantity"],
                    o["promised"],
                    o.get("grid_id") or "all",
                    o.get("available_from"),
                    o.get("available_until"),
                ]
                for o in rows
            ],  # fmt: skip
        ),
    )


@partners.command("needs")
@click.option("--community", is_flag=True, help="the community's needs only")
@click.option("--refresh", is_flag=True, help="derive the community's needs again first (appeals, activities)")
@click.option("--status", type=click.Choice(("open", "closed")), default="open", show_default=True)
@json_option
def partners_needs(community, refresh, status):
    """Needs of partners and of the community, soonest deadline first."""
    if refresh:
        found = _appeals().refresh_community_needs()
        if not state().as_json:
            click.echo(f"refreshed: {found['opened']} new, {found['updated']} changed, {found['closed']} closed")
    emit(
        _appeals().list_needs(community=community, status=status),
        lambda rows: make_table(
            f"{len(rows)} needs",
            ["id", "of", "kind", "what", "quantity", "met", "by", "grid", "source"],
            [
                [
                    n["id"],
                    n.get("partner_name") or "community",
                    n["kind"],
                    n["what"],
                    n["quantity"],
                    n["met"],
                    n.get("by_when"),
                    n.get("grid_id"),
                    n["source"],
                ]
                for n in rows
            ],  # fmt: skip
        ),
    )


def _matches_table(rows: list[dict]):
    return make_table(
        f"{len(rows)} matches",
        ["id", "status", "score", "offer", "need", "quantity", "activity"],
        [
            [
                m["id"],
                m["status"],
                m["score"],
                f"{m['offer']['partner_name']}: {m['offer']['what']}",
                f"{m['need'].get('partner_name') or 'community'}: {m['need']['what']}",
                m["quantity"],
                m.get("activity_id"),
            ]
            for m in rows
        ],  # fmt: skip
    )


@partners.command("matches")
@click.option("--status", type=click.Choice(MATCH_STATUSES))
@click.option("--propose", is_flag=True, help="propose new matches first")
@json_option
def partners_matches(status, propose):
    """Matches of offers to needs (``--propose``: match the open needs first)."""
    if propose:
        made = _appeals().propose_matches()
        if not state().as_json:
            click.echo(f"{len(made)} new matches proposed")
    emit(_appeals().list_matches(status=status), _matches_table)


@partners.command("turn")
@click.argument("match_id", type=int)
@click.option("--title", required=True)
@click.option("--kind", type=click.Choice(ACTIVITY_KINDS), required=True)
@click.option("--start", required=True, help="YYYY-MM-DDTHH:MM, local time")
@click.option("--end", required=True, help="YYYY-MM-DDTHH:MM, local time")
@click.option("--place", help="room or place")
@click.option("--volunteers", "volunteers_needed", type=click.IntRange(1, 200), help="volunteers needed")
@click.option("--capacity", type=click.IntRange(1, 5000), help="seats for residents (a lecture needs them)")
@click.option("--request-id", help="your key: asking again with it makes nothing twice")
@json_option
def partners_turn(match_id, title, kind, start, end, place, volunteers_needed, capacity, request_id):
    """Turn a match into a joint activity (once; a second time is refused)."""
    turned = _appeals().turn_match_into_activity(
        match_id=match_id,
        title=title,
        kind=kind,
        start=iso(parse_when(start, "--start")),
        end=iso(parse_when(end, "--end")),
        place=place,
        volunteers_needed=volunteers_needed,
        capacity=capacity,
        request_id=request_id,
    )
    emit(turned, lambda m: f"match {m['id']} is activity {m['activity_id']}")
