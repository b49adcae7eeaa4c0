"""The two-way service list on the organiser page (``/partners``): partners by alliance with what
they offer and need, the community's needs, and the matches with their agree, decline and turn
into an activity forms. Entry points only: the rules and who sees a partner's contact are the
appeals service's (``appeals.partners_domain``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from guanyinli.errors import InvalidInput
from guanyinli.timeutil import TZ, iso
from organiser import web
from organiser.pages import page
from organiser.partner_words import ACTIVITY_KINDS, ALLIANCES
from organiser.remote import Timed
from organiser.web import http


def _when(value: str | None, name: str) -> str:
    try:
        return iso(datetime.fromisoformat((value or "").strip()).replace(tzinfo=TZ))
    except ValueError:
        raise InvalidInput(f"{name}: a day and time, YYYY-MM-DDTHH:MM") from None


def _number(value: str | None, name: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name}: a whole number") from None


def read_turn(form: Mapping[str, str]) -> dict:
    """The turn-into-an-activity form as ``turn_match_into_activity`` takes it."""
    kind = form.get("kind")
    if kind not in ACTIVITY_KINDS:
        raise InvalidInput(f"kind: one of {', '.join(ACTIVITY_KINDS)}")
    title = (form.get("title") or "").strip()
    if not title:
        raise InvalidInput("title: required")
    return {
        "title": title,
        "kind": kind,
        "start": _when(form.get("start"), "start"),
        "end": _when(form.get("end"), "end"),
        "place": (form.get("place") or "").strip() or None,
        "volunteers_needed": _number(form.get("volunteers_needed"), "volunteers_needed"),
        "capacity": _number(form.get("capacity"), "capacity"),
    }


class PartnerPages:
    """``/partners``: organisers change; viewers read (the appeals service hides contacts from others)."""

    def _appeals(self) -> Timed:
        return Timed(self.appeals, "appeals", self.settings.rpc_timeout)

    @http("GET", "/partners")
    @page()
    def partners_page(self, request, login, lang):
        appeals = self._appeals()
        partners = appeals.list_partners()
        by_alliance = {code: [p for p in partners if p["alliance"] == code] for code in ALLIANCES}
        args = request.args
        return web.render(
            "partners.html",
            lang,
            login=login,
            by_alliance=by_alliance,
            community=appeals.list_needs(community=True),
            matches=appeals.list_matches(),
            kinds=ACTIVITY_KINDS,
            done=args.get("done"),
            counts={k: args.get(k) for k in ("n", "opened", "updated", "closed")},
        )

    @http("POST", "/partners/refresh")
    @page(change=True)
    def partners_refresh(self, request, login, lang):
        found = self._appeals().refresh_community_needs()
        return web.redirect(
            "/partners", done="refreshed", opened=found["opened"], updated=found["updated"], closed=found["closed"]
        )

    @http("POST", "/partners/propose")
    @page(change=True)
    def partners_propose(self, request, login, lang):
        return web.redirect("/partners", done="proposed", n=len(self._appeals().propose_matches()))

    @http("POST", "/partners/matches/<int:match_id>/agree")
    @page(change=True)
    def partners_agree(self, request, login, lang, match_id):
        self._appeals().agree_match(match_id=match_id)
        return web.redirect("/partners", done="agreed")

    @http("POST", "/partners/matches/<int:match_id>/decline")
    @page(change=True)
    def partners_decline(self, request, login, lang, match_id):
        reason = (request.form.get("reason") or "").strip() or None
        self._appeals().decline_match(match_id=match_id, reason=reason)
        return web.redirect("/partners", done="declined")

    @http("POST", "/partners/matches/<int:match_id>/turn")
    @page(change=True)
    def partners_turn(self, request, login, lang, match_id):
        turned = self._appeals().turn_match_into_activity(match_id=match_id, **read_turn(request.form))
        return web.redirect("/partners", done="turned", n=turned["activity_id"])
