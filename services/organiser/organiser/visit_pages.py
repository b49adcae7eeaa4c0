"""Elderly visits on the organiser page (``/visits``: the register, who is overdue, a person's visits
and notes, planning) and on the volunteers' phone page (``/v/visits``: their visits, the note after
one). Entry points only: the rules and who sees what are the activities service's (``visits``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from werkzeug.wrappers import Request, Response

from guanyinli.errors import InvalidInput
from organiser import web
from organiser.grid_leader_pages import leader_or_organiser_page
from organiser.pages import page
from organiser.phone import phone_page
from organiser.visit_words import CATEGORIES, CONSENT_WAYS
from organiser.web import http

FREQUENCIES = (7, 14, 30)  # offered on the form; the register takes any number of days up to 90
PLAN_DAYS = 28
MISSED_DAYS = 60  # how far back the register page looks for missed visits
MISSED_REASON = "未能探访，重新安排 (missed, to be planned again)"
TEXT_FIELDS = ("name", "courtyard", "home", "address", "health_notes", "relative_contact")


def read_person(form: Mapping[str, str], adding: bool) -> dict:
    """The add/edit form as ``add_visited_person``/``update_visited_person`` take it; an empty text
    field clears it when editing and is left out when adding."""
    data: dict = {}
    for name in TEXT_FIELDS:
        value = (form.get(name) or "").strip()
        if value or not adding:
            data[name] = value or None
    category = form.get("category")
    if category not in CATEGORIES:
        raise InvalidInput(f"category: one of {', '.join(CATEGORIES)}")
    data["category"] = category
    try:
        data["frequency_days"] = int(form.get("frequency_days") or "")
        grid = (form.get("grid_id") or "").strip()
        data["grid_id"] = int(grid) if grid else None
    except ValueError:
        raise InvalidInput("frequency_days, grid_id: numbers") from None
    if adding and form.get("consent_by"):
        data["consent"] = read_consent(form)
    if not data.get("name"):
        raise InvalidInput("name: required")
    return data


def read_consent(form: Mapping[str, str]) -> dict:
    by, how = (form.get("consent_by") or "").strip(), form.get("consent_how")
    if not by or how not in CONSENT_WAYS:
        raise InvalidInput(f"consent: who agreed, and how ({', '.join(CONSENT_WAYS)})")
    return {"by": by, "how": how}


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        raise InvalidInput("a date, YYYY-MM-DD") from None


class VisitPages:
    """The organisers' pages of the register (organisers change it; viewers read, without private fields)."""

    def _visit_form(self, lang, login, person: dict | None, status: int = 200) -> Response:
        grids = self._platform().grids()
        return web.render(
            "visit_form.html",
            lang,
            status,
            login=login,
            person=person,
            grids=grids,
            categories=CATEGORIES,
            ways=CONSENT_WAYS,
            frequencies=FREQUENCIES,
        )

    @http("GET", "/visits")
    @leader_or_organiser_page
    def visits_register(self, request, login, lang):
        today = self.clock.now().date()
        people = self._platform().activities.list_visited_people(include_withdrawn=bool(request.args.get("all")))
        overdue = {
            p["id"]: p["overdue_days"] for p in self._platform().activities.overdue_visits(today=today.isoformat())
        }
        missed = self._platform().activities.missed_visits(since=(today - timedelta(days=MISSED_DAYS)).isoformat())
        ids = {v for visit in missed for v in visit["visitor_ids"]}
        return web.render(
            "visits.html",
            lang,
            login=login,
            people=people,
            overdue=overdue,
            missed=missed,
            names=self._platform().names(ids) if ids else {},
            today=today,
            plan_days=PLAN_DAYS,
            planned=request.args.get("planned"),
            done=request.args.get("done"),
        )

    @http("POST", "/visits/plan")
    @page(change=True)
    def visits_plan(self, request, login, lang):
        today = self.clock.now().date()
        start = _day(request.form.get("start"), today)
        try:
            days = int(request.form.get("days") or PLAN_DAYS)
        except ValueError:
            raise InvalidInput("days: a number") from None
        planned = self._platform().activities.plan_visits(
            start=start.isoformat(), end=(start + timedelta(days=days)).isoformat()
        )
        return web.redirect("/visits", planned=str(len(planned)))

    @http("POST", "/visits/missed/<int:occurrence_id>/cancel")
    @page(change=True)
    def visits_cancel_missed(self, request, login, lang, occurrence_id):
        """A missed visit cancelled, so the next plan visits the person first."""
        self._platform().activities.cancel_occurrence(occurrence_id=occurrence_id, reason=MISSED_REASON)
        return web.redirect("/visits", done="missed_cancelled")

    @http("POST", "/visits/made/<int:occurrence_id>/reopen")
    @page(change=True)
    def visits_reopen(self, request, login, lang, occurrence_id):
        visit = self._platform().activities.reopen_visit(occurrence_id=occurrence_id)
        return web.redirect(f"/visits/{visit['person_id']}", done="reopened")

    @http("GET", "/visits/new")
    @page(change=True)
    def visits_new(self, request, login, lang):
        return self._visit_form(lang, login, None)

    @http("POST", "/visits/new")
    @page(change=True)
    def visits_add(self, request, login, lang):
        data = read_person(request.form, adding=True)
        person = self._platform().activities.add_visited_person(**data)
        return web.redirect(f"/visits/{person['id']}", done="added")

    @http("GET", "/visits/<int:person_id>")
    @leader_or_organiser_page
    def visits_person(self, request, login, lang, person_id):
        person = self._platform().activities.get_visited_person(person_id=person_id)
        ids = {v for visit in person["visits"] for v in visit["visitor_ids"]}
        names = self._platform().names(ids) if ids else {}
        return web.render(
            "visit_person.html",
            lang,
            login=login,
            p=person,
            names=names,
            ways=CONSENT_WAYS,
            done=request.args.get("done"),
        )

    @http("GET", "/visits/<int:person_id>/edit")
    @page(change=True)
    def visits_edit(self, request, login, lang, person_id):
        return self._visit_form(lang, login, self._platform().activities.get_visited_person(person_id=person_id))

    @http("POST", "/visits/<int:person_id>")
    @page(change=True)
    def visits_update(self, request, login, lang, person_id):
        changes = read_person(request.form, adding=False)
        self._platform().activities.update_visited_person(person_id=person_id, changes=changes)
        return web.redirect(f"/visits/{person_id}", done="saved")

    @http("POST", "/visits/<int:person_id>/consent")
    @page(change=True)
    def visits_consent(self, request, login, lang, person_id):
        self._platform().activities.record_consent(person_id=person_id, consent=read_consent(request.form))
        return web.redirect(f"/visits/{person_id}", done="consent")

    @http("POST", "/visits/<int:person_id>/withdraw")
    @page(change=True)
    def visits_withdraw(self, request, login, lang, person_id):
        reason = (request.form.get("reason") or "").strip() or None
        self._platform().activities.withdraw_visited_person(person_id=person_id, reason=reason)
        return web.redirect(f"/visits/{person_id}", done="withdrawn")


class VisitPhonePages:
    """The visitors' own page of their visits, on their phone."""

    @http("GET", "/v/visits")
    @phone_page
    def v_visits(self, request: Request, me, lang) -> Response:
        visits = self.activities.list_visit_duties(volunteer_id=me.volunteer_id)
        return self._v_render("visits.html", lang, me, visits=visits, notice=request.args.get("done"))

    @http("POST", "/v/visits/<int:occurrence_id>/note")
    @phone_page
    def v_visit_note(self, request: Request, me, lang, occurrence_id: int) -> Response:
        note = (request.form.get("note") or "").strip() or None
        done = request.form.get("done") == "1"
        self.activities.record_visit_note(occurrence_id=occurrence_id, note=note, done=done)
        return web.redirect("/v/visits", done="visit_note")

    @http("POST", "/v/visits/<int:occurrence_id>/reopen")
    @phone_page
    def v_visit_reopen(self, request: Request, me, lang, occurrence_id: int) -> Response:
        """A visit marked made by mistake, taken back by its visitor."""
        self.activities.reopen_visit(occurrence_id=occurrence_id)
        return web.redirect("/v/visits", done="visit_reopened")
