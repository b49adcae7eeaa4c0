"""Residents' appeals on the organiser page (``/appeals``: the list, the community office's intake, one
appeal with its trail and the organisers' actions) and on the volunteers' phone page (``/v/appeals``:
the appeals routed to them, and taking one in for their own grid). Entry points only: routing, who may
act on an appeal and who sees the resident are the appeals service's (``appeals.domain``).
"""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.wrappers import Request, Response

from guanyinli.errors import Forbidden, InvalidInput, NotFound
from organiser import web
from organiser.appeal_words import CATEGORIES, SATISFACTION, STATUSES, URGENCIES
from organiser.pages import page
from organiser.phone import phone_page
from organiser.remote import REJECTED, classify
from organiser.security import new_token
from organiser.web import http

LISTED = 500  # the most appeals one list page asks for (the service's page limit)
INTAKE_FIELDS = ("courtyard", "building", "resident_address")


def _text(form: Mapping[str, str], name: str) -> str | None:
    return (form.get(name) or "").strip() or None


def _number(form: Mapping[str, str], name: str, kind=int):
    value = _text(form, name)
    try:
        return kind(value) if value is not None else None
    except ValueError:
        raise InvalidInput(f"{name}: a number", f"{name}：请填写数字") from None


def read_intake(form: Mapping[str, str]) -> dict:
    """The intake form as ``receive_appeal`` takes it; optional fields left empty are left out."""
    data = {
        "category": form.get("category") or "",
        "grid_id": _number(form, "grid_id"),
        "urgency": form.get("urgency") or "normal",
        "description": _text(form, "description") or "",
        "resident_name": _text(form, "resident_name") or "",
        "resident_phone": _text(form, "resident_phone") or "",
        "request_id": _text(form, "request_id"),
    }
    if data["grid_id"] is None:
        raise InvalidInput("grid_id: required", "请选择网格")
    data.update({name: _text(form, name) for name in INTAKE_FIELDS if _text(form, name)})
    return data


def read_closing(form: Mapping[str, str]) -> dict:
    """The closing form as ``close_appeal`` takes it (without the appeal's id)."""
    return {
        "outcome": _text(form, "outcome") or "",
        "resident_reply": _text(form, "resident_reply"),
        "satisfaction": _number(form, "satisfaction"),
        "hours": _number(form, "hours", float) or 0.0,
    }


def open_first(appeals: list[dict]) -> list[dict]:
    """Open appeals before closed ones, each newest first as the service lists them."""
    return [a for a in appeals if a["status"] != "closed"] + [a for a in appeals if a["status"] == "closed"]


def form_failure(exc: Exception, lang: str) -> tuple[int, str]:
    """A refused intake as the form shows it: (HTTP status, the service's words); anything else raised."""
    failure = classify(exc)
    if failure is None or failure.code != REJECTED:
        raise exc
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 400
    return status, failure.message_zh if lang == "zh" and failure.message_zh else failure.message


def intake_form(grids: list, typed: Mapping | None, error: str | None) -> dict:
    """What both intake forms show: the grids to choose from, what was typed (after a refusal, with the
    same request id, so that sending it again still takes the appeal in once) and the refusal."""
    typed = typed or {}
    return {
        "grids": grids,
        "typed": typed,
        "request_id": typed.get("request_id") or f"web-{new_token()[:32]}",
        "error": error,
        "categories": CATEGORIES,
        "urgencies": URGENCIES,
    }


class AppealPages:
    """The organisers' pages of appeals (organisers act; viewers read, without the resident)."""

    def _appeals(self):
        return self._platform().appeals

    def _appeal_form(self, lang, login, grids, typed: Mapping | None = None, error=None, status=200) -> Response:
        return web.render("appeal_form.html", lang, status, login=login, **intake_form(grids, typed, error))

    @http("GET", "/appeals")
    @page()
    def appeals_list(self, request, login, lang):
        args = request.args
        grid = _number(args, "grid")
        handler = _number(args, "handler")
        status = args.get("status") or None
        if status not in (None, "open", *STATUSES):
            raise InvalidInput(f"status: open or one of {', '.join(STATUSES)}")
        category = args.get("category") or None
        found = self._appeals().list_appeals(grid_id=grid, status=status, handler_id=handler, limit=LISTED)
        if category:
            found = [a for a in found if a["category"] == category]
        platform = self._platform()
        ids = {a["handler_id"] for a in found if a["handler_id"]}
        return web.render(
            "appeals.html",
            lang,
            login=login,
            appeals=open_first(found),
            names=platform.names(ids) if ids else {},
            grids=platform.grids(),
            chosen={"grid": grid, "status": status, "category": category, "handler": handler},
            categories=CATEGORIES,
            statuses=STATUSES,
        )

    @http("GET", "/appeals/new")
    @page(change=True)
    def appeals_new(self, request, login, lang):
        return self._appeal_form(lang, login, self._platform().grids())

    @http("POST", "/appeals/new")
    @page(change=True)
    def appeals_receive(self, request, login, lang):
        try:
            appeal = self._appeals().receive_appeal(**read_intake(request.form))
        except Exception as exc:
            status, message = form_failure(exc, lang)
            return self._appeal_form(lang, login, self._platform().grids(), request.form, message, status)
        return web.redirect(f"/appeals/{appeal['id']}", done="received")

    @http("GET", "/appeals/<int:appeal_id>")
    @page()
    def appeals_show(self, request, login, lang, appeal_id):
        platform = self._platform()
        appeal = self._appeals().get_appeal(appeal_id=appeal_id)
        ids = {n["volunteer_id"] for n in appeal["notes"] if n.get("volunteer_id")}
        if appeal["handler_id"]:
            ids.add(appeal["handler_id"])
        open_ = appeal["status"] != "closed"
        return web.render(
            "appeal.html",
            lang,
            login=login,
            a=appeal,
            names=platform.names(ids) if ids else {},
            choices=self._eligible(appeal) if login.can_change and open_ else None,
            satisfaction=SATISFACTION,
            done=request.args.get("done"),
        )

    def _eligible(self, appeal: dict) -> list[tuple[str, int, str]]:
        """Whom an organiser may give the appeal to, as (group, id, name): the grid's leader and members,
        then active volunteers of the team (with a skill) the category needs. The service checks again."""
        from appeals.domain import HELPERS  # carried in the organiser's image; loaded by this page only

        platform = self._platform()
        grid = platform.volunteers.get_grid(grid_id=appeal["grid_id"])
        people = [grid["leader"]] if grid.get("leader") else []
        people += grid.get("members") or []
        found = [("appeals_grid_people", int(p["id"]), p.get("name") or f"#{p['id']}") for p in people]
        team, skills = HELPERS[appeal["category"]]
        seen = {vid for _, vid, _ in found}
        for v in platform.all_volunteers(team=team, active=True):
            if int(v["id"]) not in seen and (not skills or set(skills) & set(v.get("skills") or ())):
                found.append(("appeals_helpers", int(v["id"]), v["name"]))
        return [c for c in found if c[1] != appeal["handler_id"]]

    @http("POST", "/appeals/<int:appeal_id>/reassign")
    @page(change=True)
    def appeals_reassign(self, request, login, lang, appeal_id):
        volunteer = _number(request.form, "volunteer_id")
        if volunteer is None:
            raise InvalidInput("volunteer_id: whom to give it to", "请选择改派给谁")
        self._appeals().reassign_appeal(
            appeal_id=appeal_id, volunteer_id=volunteer, reason=_text(request.form, "reason")
        )
        return web.redirect(f"/appeals/{appeal_id}", done="reassigned")

    @http("POST", "/appeals/<int:appeal_id>/note")
    @page(change=True)
    def appeals_note(self, request, login, lang, appeal_id):
        self._appeals().add_appeal_note(appeal_id=appeal_id, text=_text(request.form, "text") or "")
        return web.redirect(f"/appeals/{appeal_id}", done="noted")

    @http("POST", "/appeals/<int:appeal_id>/close")
    @page(change=True)
    def appeals_close(self, request, login, lang, appeal_id):
        """Closed by the community office for the handler (a call from them, a visit reported in person)."""
        self._appeals().close_appeal(appeal_id=appeal_id, **read_closing(request.form))
        return web.redirect(f"/appeals/{appeal_id}", done="closed")


class AppealPhonePages:
    """The handler's own appeals on their phone, and taking one in for their grid."""

    @http("GET", "/v/appeals")
    @phone_page
    def v_appeals(self, request: Request, me, lang) -> Response:
        mine = self.appeals.list_appeals(handler_id=me.volunteer_id, status="open", limit=100)
        return self._v_render(
            "appeals.html", lang, me, appeals=mine, satisfaction=SATISFACTION, notice=request.args.get("done")
        )

    def _my_grids(self, me) -> list[dict]:
        """The grids the volunteer is a member or the leader of (those they may take appeals in for),
        each with its courtyards' names."""
        record = self.volunteers.get_volunteer(volunteer_id=me.volunteer_id)
        ids = sorted({int(r["grid_id"]) for r in record.get("grid_roles") or ()})
        return [self.volunteers.get_grid(grid_id=g) for g in ids]

    def _v_appeal_form(self, lang, me, grids, typed=None, error=None, status=200) -> Response:
        if not grids:
            return self._v_message(lang, me, "v_appeals_new", "v_appeal_not_your_grid", 403)
        return self._v_render("appeal_form.html", lang, me, status, **intake_form(grids, typed, error))

    @http("GET", "/v/appeals/new")
    @phone_page
    def v_appeals_new(self, request: Request, me, lang) -> Response:
        return self._v_appeal_form(lang, me, self._my_grids(me))

    @http("POST", "/v/appeals/new")
    @phone_page
    def v_appeals_receive(self, request: Request, me, lang) -> Response:
        try:
            self.appeals.receive_appeal(**read_intake(request.form))
        except Exception as exc:
            status, message = form_failure(exc, lang)
            return self._v_appeal_form(lang, me, self._my_grids(me), request.form, message, status)
        return web.redirect("/v/appeals", done="appeal_received")

    @http("POST", "/v/appeals/<int:appeal_id>/<string:action>")
    @phone_page
    def v_appeal_act(self, request: Request, me, lang, appeal_id: int, action: str) -> Response:
        form = request.form
        if action == "accept":
            self.appeals.accept_appeal(appeal_id=appeal_id)
            done = "appeal_accepted"
        elif action == "hand-back":
            self.appeals.hand_back_appeal(appeal_id=appeal_id, reason=_text(form, "reason") or "")
            done = "appeal_handed_back"
        elif action == "visited":
            self.appeals.mark_appeal_visited(appeal_id=appeal_id, note=_text(form, "text"))
            done = "appeal_visited"
        elif action == "note":
            self.appeals.add_appeal_note(appeal_id=appeal_id, text=_text(form, "text") or "")
            done = "appeal_noted"
        elif action == "close":
            self.appeals.close_appeal(appeal_id=appeal_id, **read_closing(form))
            done = "appeal_closed"
        else:
            return self._v_message(lang, me, "v_not_found", "v_not_found_next", 404)
        return web.redirect("/v/appeals", done=done)
