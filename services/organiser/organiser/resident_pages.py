"""The residents' own pages, open to anyone (no login): ``/appeal`` to send an appeal once their
mobile number is proved by an SMS code, and ``/appeal/reply/<token>``, the personal link texted when
an appeal is closed, to say whether they are satisfied.

The codes are the volunteers' sign-in codes (``organiser.signin``, the same limits per number and
per address, kept apart by purpose), asked for and checked through ``phone.PhonePages``. Once the
code is right the form carries a pass (``signin.appeal_pass``: the number, the code, 30 minutes) and
the appeal goes to the appeals service as this service (``receive_public_appeal``, one appeal per
code). Nothing a resident types is logged; the number only masked on their own pages.

Outside the default community the pages are at ``/c/<slug>/appeal...`` (``guanyinli.tenancy``):
their links, forms and redirects keep the prefix (``web.under_root``, as every page's), the pass is good in its
community only, and the appeal goes to that community's appeals.
"""

from __future__ import annotations

import logging

from werkzeug.wrappers import Request, Response

from guanyinli import tenancy
from guanyinli.errors import Conflict, InvalidInput, KeyReused, NotFound
from organiser import board, signin, web
from organiser.i18n import translate
from organiser.phone import retry_after, wait_minutes
from organiser.remote import UNREACHABLE, Timed, classify
from organiser.resident_words import CATEGORIES, URGENCIES
from organiser.security import csrf_ok, new_token
from organiser.web import http

log = logging.getLogger(__name__)

APPEAL_CSRF_COOKIE = "gyl_appeal_csrf"
FIELDS = ("category", "place", "building", "urgency", "description", "resident_name", "resident_address")
REQUIRED = ("category", "place", "description", "resident_name")
LIMITS = {"building": 50, "description": 2000, "resident_name": 100, "resident_address": 200}
# A refused reply link: (the page's words, its status). Expired is "gone" (410): it will not come back.
LINK_REFUSALS = {"ReplyLinkUnknown": ("pa_link_unknown", 404), "ReplyLinkUsed": ("pa_link_used", 409)}
LINK_REFUSALS["ReplyLinkExpired"] = ("pa_link_expired", 410)


def places(courtyards: list[dict], grids: list[dict]) -> list[dict]:
    """What a resident chooses where they live from: each courtyard and commercial-residential
    building (its grid known from the volunteers service), then the grids that have none (the
    shops along the street, the units in the area), so nobody needs to know a grid's number."""
    chosen = [
        {"value": c["code"], "name": c["name"], "grid_id": int(c["grid_id"]), "courtyard": c["code"]}
        for c in sorted(courtyards, key=lambda c: (c["kind"] != "courtyard", c["id"]))
    ]
    with_courtyards = {p["grid_id"] for p in chosen}
    chosen += [
        {"value": g["code"], "name": g["name"], "grid_id": int(g["id"]), "courtyard": None}
        for g in sorted(grids, key=lambda g: g["id"])
        if int(g["id"]) not in with_courtyards
    ]
    return chosen


def read_form(form, known_places: list[dict]) -> tuple[dict, list[str]]:
    """The typed values (trimmed, within their lengths) and the fields missing or not one of the choices."""
    values = {k: (form.get(k) or "").strip()[: LIMITS.get(k, 100)] for k in FIELDS}
    missing = [k for k in REQUIRED if not values[k]]
    if values["category"] and values["category"] not in CATEGORIES:
        missing.append("category")
    if values["place"] and values["place"] not in {p["value"] for p in known_places}:
        missing.append("place")
    if values["urgency"] not in URGENCIES:
        values["urgency"] = "normal"
    return values, sorted(set(missing), key=FIELDS.index)


class ResidentPages:
    """Mixed into ``OrganiserService`` beside ``phone.PhonePages``, whose code helpers it uses."""

    def _pa_render(self, request: Request, template: str, lang: str, status: int = 200, **context) -> Response:
        """A page of the flow; its forms carry the browser's token (kept while the cookie lasts, so
        going back and sending a form again is not refused)."""
        token = request.cookies.get(APPEAL_CSRF_COOKIE) or new_token()
        response = web.render(f"appeal/{template}", lang, status, csrf=token, **context)
        web.set_cookie(response, APPEAL_CSRF_COOKIE, token, 3600, self.settings.secure_cookies)
        return response

    def _pa_community(self, request: Request) -> str | None:
        """The community of the page's ``/c/<slug>`` prefix; None for the default community."""
        return tenancy.named(request.environ.get(tenancy.ENVIRON_KEY), self.config)

    def _pa_csrf_ok(self, request: Request) -> bool:
        return csrf_ok(request.cookies.get(APPEAL_CSRF_COOKIE), request.form.get("csrf"))

    def _pa_message(self, request: Request, lang: str, title: str, status: int, next_step: str) -> Response:
        return self._pa_render(
            request, "message.html", lang, status, title=translate(lang, title), message=translate(lang, next_step)
        )

    def _appeals(self) -> Timed:
        return Timed(self.appeals, "appeals", self.settings.rpc_timeout)

    def _places(self) -> list[dict]:
        """The courtyards, buildings and grids, asked of the volunteers service as this service."""
        volunteers = Timed(self.volunteers, "volunteers", self.settings.rpc_timeout)
        return places(volunteers.list_courtyards(), volunteers.list_grids())

    def _pa_form(self, request, lang: str, status: int, phone: str, appeal_pass: str, values=None, why=None, **words):
        return self._pa_render(
            request,
            "form.html",
            lang,
            status,
            masked=signin.masked(phone),
            appeal_pass=appeal_pass,
            places=self._places(),
            categories=CATEGORIES,
            urgencies=URGENCIES,
            v=values or {"urgency": "normal"},
            why=why,
            **words,
        )

    # --- the number, proved by a code ----------------------------------------------------------

    @http("GET", "/appeal")
    def pa_start(self, request: Request) -> Response:
        return self._pa_render(request, "phone.html", web.language(request))

    @http("GET", "/appeal/lang/<code>")
    def pa_language(self, request: Request, code: str) -> Response:
        lang = code if code in ("zh", "en") else "zh"
        response = web.redirect("/appeal")
        web.set_cookie(response, web.LANG_COOKIE, lang, 365 * 86400, self.settings.secure_cookies)
        return response

    @http("POST", "/appeal/code")
    def pa_send_code(self, request: Request) -> Response:
        """A code texted to the number, within the limits per number and per address."""
        lang = web.language(request)
        if not self._pa_csrf_ok(request):
            return self._pa_render(request, "phone.html", lang, 403, why="pa_form_expired")
        phone = signin.mobile_number(request.form.get("phone"))
        if phone is None:
            return self._pa_render(
                request, "phone.html", lang, 400, why="pa_phone_invalid", typed=request.form.get("phone")
            )
        wait = self._code_wait(request, phone, "appeal")
        if wait is not None:
            return retry_after(
                self._pa_render(request, "phone.html", lang, 429, why="pa_code_wait", minutes=wait_minutes(wait)), wait
            )
        if not self._new_code(request, phone, "appeal", lang):
            return self._pa_render(request, "phone.html", lang, 503, why="pa_sms_down")
        return self._pa_render(request, "code.html", lang, phone=phone, masked=signin.masked(phone))

    @http("POST", "/appeal/verify")
    def pa_verify_code(self, request: Request) -> Response:
        lang = web.language(request)
        if not self._pa_csrf_ok(request):
            return self._pa_render(request, "phone.html", lang, 403, why="pa_form_expired")
        phone = signin.mobile_number(request.form.get("phone"))
        if phone is None:
            return self._pa_render(request, "phone.html", lang, 400, why="pa_phone_invalid")
        reason, _, code_id = self._spend_code(phone, (request.form.get("code") or "").strip(), "appeal")
        if reason is not None:
            page = "code.html" if reason == "code_wrong" else "phone.html"
            return self._pa_render(
                request, page, lang, 401, why=f"pa_{reason}", phone=phone, masked=signin.masked(phone)
            )
        appeal_pass = signin.appeal_pass(
            self.settings.signin_key, phone, code_id, self.clock.now(), self._pa_community(request)
        )
        try:
            return self._pa_form(request, lang, 200, phone, appeal_pass)
        except Exception as exc:  # the places could not be asked for: the code is spent, say so
            if classify(exc) is None:
                raise
            return self._pa_message(request, lang, "pa_unreachable", 503, "pa_unreachable_next")

    # --- the appeal ----------------------------------------------------------------------------

    @http("POST", "/appeal")
    def pa_submit(self, request: Request) -> Response:
        """The appeal to the appeals service, once per code: a second submission with the same pass
        gets the first reference back (the same words) or is refused (other words)."""
        lang = web.language(request)
        if not self._pa_csrf_ok(request):
            return self._pa_render(request, "phone.html", lang, 403, why="pa_form_expired")
        appeal_pass = request.form.get("pass") or ""
        proved = signin.read_appeal_pass(
            self.settings.signin_key, appeal_pass, self.clock.now(), self._pa_community(request)
        )
        if proved is None:
            return self._pa_render(request, "phone.html", lang, 403, why="pa_pass_expired")
        phone, code_id = proved
        try:
            known = self._places()
            values, missing = read_form(request.form, known)
            if missing:
                fields = ("、" if lang == "zh" else ", ").join(translate(lang, f"pa_{_label(k)}") for k in missing)
                return self._pa_form(request, lang, 400, phone, appeal_pass, values, why="pa_missing", fields=fields)
            place = next(p for p in known if p["value"] == values["place"])
            answer = self._appeals().receive_public_appeal(
                category=values["category"],
                grid_id=place["grid_id"],
                courtyard=place["courtyard"],
                building=values["building"] or None,
                urgency=values["urgency"],
                description=values["description"],
                resident_name=values["resident_name"],
                resident_phone=phone,
                resident_address=values["resident_address"] or None,
                request_id=f"appeal-code-{code_id}",
            )
        except KeyReused:
            return self._pa_message(request, lang, "pa_refused", 409, "pa_code_spent")
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            log.warning("a resident's appeal was not taken in: %s", type(exc).__name__)
            if failure.code == UNREACHABLE:
                return self._pa_message(request, lang, "pa_unreachable", 503, "pa_unreachable_next")
            if isinstance(exc, (InvalidInput, Conflict, NotFound)):
                return self._pa_form(request, lang, 400, phone, appeal_pass, request.form, why="pa_refused")
            raise
        return self._pa_render(request, "done.html", lang, answer=answer, when=_when(lang, answer["acknowledge_by"]))

    # --- the reply link --------------------------------------------------------------------------

    @http("GET", "/appeal/reply/<string:token>")
    def pa_reply_page(self, request: Request, token: str) -> Response:
        """One form; a link preview or scanner that opens the link answers nothing."""
        return self._pa_render(request, "reply.html", web.language(request), token=token)

    @http("POST", "/appeal/reply/<string:token>")
    def pa_reply(self, request: Request, token: str) -> Response:
        lang = web.language(request)
        if not self._pa_csrf_ok(request):
            return self._pa_render(request, "reply.html", lang, 403, token=token, why="pa_form_expired")
        satisfaction = request.form.get("satisfaction") or ""
        reply = (request.form.get("reply") or "").strip()[:2000] or None
        if satisfaction not in ("1", "2", "3", "4", "5"):
            return self._pa_render(request, "reply.html", lang, 400, token=token, why="pa_reply_choose", reply=reply)
        try:
            answer = self._appeals().record_resident_reply(token=token, satisfaction=int(satisfaction), reply=reply)
        except Exception as exc:
            refusal = LINK_REFUSALS.get(type(exc).__name__)
            if refusal is None and isinstance(exc, InvalidInput):  # not a token's shape at all
                refusal = LINK_REFUSALS["ReplyLinkUnknown"]
            if refusal is not None:
                return self._pa_message(request, lang, refusal[0], refusal[1], refusal[0] + "_next")
            failure = classify(exc)
            if failure is None:
                raise
            return self._pa_message(request, lang, "pa_unreachable", 503, "pa_unreachable_next")
        return self._pa_render(request, "thanks.html", lang, reference=answer["reference"])


def _when(lang: str, value: str) -> str:
    """A deadline as a resident reads it: 12月8日 10:00, or 8 Dec 10:00."""
    at = board.when(value)
    if lang == "zh":
        return f"{at.month}月{at.day}日 {at:%H:%M}"
    return f"{at.day} {at:%b %H:%M}"


def _label(field: str) -> str:
    """The words key of a form field."""
    return {"resident_name": "name", "resident_address": "address"}.get(field, field)
