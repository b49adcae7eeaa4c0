"""The organisers' calendar of every programme (``/calendar``), its occurrences (``/occurrences/<id>``)
and their attendance sheets, the forms that create and edit activities, and the month's export.

Entry points only, over the activities service's RPC as the signed-in account: activities checks
who may do what (organisers change things, viewers look; sign-ups and attendance are for
organisers). What the pages show and what their forms mean is in ``organiser.agenda``.
"""

from __future__ import annotations

from datetime import date, datetime

from werkzeug.wrappers import Response

from guanyinli.errors import InvalidInput
from guanyinli.events import KINDS
from guanyinli.timeutil import iso, local
from organiser import agenda, web
from organiser.i18n import translate
from organiser.pages import directory_words, page
from organiser.web import http

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _refused(lang: str, login, why: str = "calendar_organisers_only") -> Response:
    return web.render(
        "error.html", lang, 403, login=login, title=translate(lang, "not_allowed"), message=translate(lang, why)
    )


class CalendarPages:
    """The calendar's pages, a mixin of ``OrganiserService`` (its ``_platform``, ``clock``)."""

    def _today(self) -> date:
        return local(self.clock.now()).date()

    def _directory(self, lang: str) -> dict:
        """Kinds, teams and grids for the filters and forms, teams named in the page's language."""
        platform = self._platform()
        teams, grids = platform.teams(), platform.grids()
        codes = [t["code"] for t in teams]  # the community's own teams (volunteers.list_teams)
        return {"kinds": KINDS, "teams": codes, "grids": grids, **directory_words(teams, grids, lang)}

    # --- the calendar ------------------------------------------------------------------------

    @http("GET", "/calendar")
    @page()
    def calendar(self, request, login, lang):
        args = request.args
        filters = agenda.Filters.read(args)
        window = agenda.Window.of(args.get("view") or "week", agenda.parse_day(args.get("date"), self._today()))
        start, end = window.shown
        found = self._platform().activities.list_occurrences(start=iso(start), end=iso(end), **filters.query())
        shown = agenda.days(window, found)
        return web.render(
            "calendar.html",
            lang,
            login=login,
            window=window,
            filters=filters,
            query=filters.query(),
            weeks=agenda.weeks(shown),
            today=self._today(),
            done=args.get("done"),
            **self._directory(lang),
        )

    @http("GET", "/calendar/export.xlsx")
    @page()
    def calendar_export(self, request, login, lang):
        """The month's occurrences, roles, who, attendance and hours as a workbook (organisers)."""
        if not login.sees_private:
            return _refused(lang, login)
        month = agenda.parse_month(request.args.get("month"), self._today())
        filters = agenda.Filters.read(request.args)
        content = agenda.workbook(month, *agenda.month_data(self._platform(), month, filters))
        response = Response(content, mimetype=XLSX)
        response.headers["Content-Disposition"] = f'attachment; filename="guanyinli-{month:%Y-%m}.xlsx"'
        response.headers["Cache-Control"] = "no-store"
        return web.secure(response)

    # --- activities: create and edit ---------------------------------------------------------

    @http("GET", "/activities/new")
    @page(change=True)
    def activity_new(self, request, login, lang):
        if not login.can_change:  # its form is of no use to a viewer: said at once, not after filling it in
            return _refused(lang, login, "forbidden")
        day = agenda.parse_day(request.args.get("date"), self._today())
        kind = request.args.get("kind") if request.args.get("kind") in KINDS else "convenience"
        return web.render(
            "activity_form.html",
            lang,
            login=login,
            activity=None,
            form={"kind": kind, "day": day.isoformat(), "at": "09:00", "duration": "120", "repeat": "once"},
            **self._directory(lang),
        )

    @http("POST", "/activities")
    @page(change=True)
    def activity_create(self, request, login, lang):
        form = request.form
        fields = _activity_fields(form)
        fields["rrule"] = agenda.rrule_of(
            form.get("repeat"), form.get("count"), form.get("until"), form.getlist("weekday")
        )
        fields["kind"] = form.get("kind") or ""
        created = self._platform().activities.create_activity(**{k: v for k, v in fields.items() if v is not None})
        return web.redirect("/calendar", date=created["start"][:10], done="activity_saved")

    @http("GET", "/activities/<int:activity_id>/edit")
    @page(change=True)
    def activity_edit(self, request, login, lang, activity_id):
        if not login.can_change:
            return _refused(lang, login, "forbidden")
        found = self._platform().activities.get_activity(activity_id=activity_id)
        start = local(datetime.fromisoformat(found["start"]))
        form = {
            **found,
            "day": start.date().isoformat(),
            "at": f"{start:%H:%M}",
            "duration": found["duration_minutes"],
            "roles_text": agenda.roles_text(found.get("roles") or []),
        }
        return web.render("activity_form.html", lang, login=login, activity=found, form=form, **self._directory(lang))

    @http("POST", "/activities/<int:activity_id>")
    @page(change=True)
    def activity_update(self, request, login, lang, activity_id):
        """Title, place, roles, time and its rule; occurrences the new rule drops are cancelled by activities."""
        form = request.form
        changes = _activity_fields(form)
        if form.get("rrule") is not None:  # the rule as written; empty: once
            changes["rrule"] = form.get("rrule").strip() or None
        if changes.get("team") is None:  # left as it is: a kind's activity always has a team
            changes.pop("team")
        self._platform().activities.update_activity(activity_id=activity_id, changes=changes)
        return web.redirect("/calendar", date=changes["start"][:10], done="activity_saved")

    # --- one occurrence ----------------------------------------------------------------------

    def _occurrence(self, occurrence_id: int, login) -> tuple[dict, list]:
        platform = self._platform()
        occ = platform.activities.get_occurrence(occurrence_id=occurrence_id)
        signups = platform.activities.list_signups(occurrence_ids=[occurrence_id]) if login.sees_private else None
        people = agenda.people_of([occ])
        names = platform.names(people) if people else {}
        return occ, agenda.role_sheets(occ, signups, names)

    @http("GET", "/occurrences/<int:occurrence_id>")
    @page()
    def occurrence_show(self, request, login, lang, occurrence_id):
        occ, roles = self._occurrence(occurrence_id, login)
        choices = []
        if login.can_change and occ["status"] == "scheduled":
            team = {"team": occ["team"]} if occ.get("team") else {}
            choices = sorted(self._platform().all_volunteers(active=True, **team), key=lambda v: v["name"])
        return web.render(
            "occurrence.html",
            lang,
            login=login,
            occ=occ,
            e=agenda.entry(occ),
            roles=roles,
            choices=choices,
            done=request.args.get("done"),
        )

    @http("POST", "/occurrences/<int:occurrence_id>/cancel")
    @page(change=True)
    def occurrence_cancel(self, request, login, lang, occurrence_id):
        """Cancel this one occurrence; its volunteers are told why (occurrence_cancelled)."""
        self._platform().activities.cancel_occurrence(occurrence_id=occurrence_id, reason=_reason(request.form))
        return web.redirect(f"/occurrences/{occurrence_id}", done="occurrence_cancelled")

    @http("POST", "/occurrences/<int:occurrence_id>/move")
    @page(change=True)
    def occurrence_move(self, request, login, lang, occurrence_id):
        """Move this one occurrence (its length kept unless an end is given); told with the reason."""
        form = request.form
        reason = _reason(form)
        start = agenda.local_moment(form.get("day"), form.get("at"), "start")
        end = agenda.local_moment(form.get("day"), form.get("until"), "end") if form.get("until") else None
        place = {k: (form.get(k) or "").strip() or None for k in ("courtyard", "room")}
        self._platform().activities.update_occurrence(
            occurrence_id=occurrence_id,
            start=iso(start),
            end=iso(end) if end else None,
            reason=reason,
            **{k: v for k, v in place.items() if v is not None},
        )
        return web.redirect(f"/occurrences/{occurrence_id}", done="occurrence_moved")

    @http("POST", "/occurrences/<int:occurrence_id>/signup")
    @page(change=True)
    def occurrence_sign_up(self, request, login, lang, occurrence_id):
        """Sign a volunteer up on their behalf (the rules of their own sign-up apply: skills, availability,
        clashes; a full role puts them on its waitlist)."""
        form = request.form
        typed = form.get("volunteer") or ""
        platform = self._platform()
        volunteers = [] if typed.strip().isdigit() else platform.all_volunteers(active=True)
        volunteer_id = agenda.volunteer_typed(typed, volunteers)
        platform.activities.sign_up(
            occurrence_id=occurrence_id, volunteer_id=volunteer_id, role=form.get("role") or None
        )
        return web.redirect(f"/occurrences/{occurrence_id}", done="signed_up_for")

    @http("POST", "/occurrences/<int:occurrence_id>/signups/<int:signup_id>/cancel")
    @page(change=True)
    def occurrence_take_off(self, request, login, lang, occurrence_id, signup_id):
        """Take a volunteer off (at any time, as organisers may): the first on the waitlist gets the seat."""
        self._platform().activities.cancel_sign_up(signup_id=signup_id)
        return web.redirect(f"/occurrences/{occurrence_id}", done="taken_off")

    # --- attendance of one occurrence --------------------------------------------------------

    @http("GET", "/occurrences/<int:occurrence_id>/attendance")
    @page()
    def occurrence_attendance(self, request, login, lang, occurrence_id):
        """A sheet to print (a signature column) and to mark on a phone: attended, absent, hours."""
        if not login.sees_private:
            return _refused(lang, login)
        occ, roles = self._occurrence(occurrence_id, login)
        return web.render(
            "occurrence_attendance.html",
            lang,
            login=login,
            occ=occ,
            e=agenda.entry(occ),
            roles=roles,
            marks=agenda.MARKS,
            printed=local(self.clock.now()),
            done=request.args.get("done"),
        )

    @http("POST", "/occurrences/<int:occurrence_id>/attendance/<int:signup_id>")
    @page(change=True)
    def occurrence_attendance_mark(self, request, login, lang, occurrence_id, signup_id):
        status = request.form.get("status")
        if status not in agenda.MARKS:
            raise InvalidInput("status: attended, no_show or excused", "出勤只能是已到、缺席或请假")
        hours = agenda.hours_of(request.form.get("hours")) if status == "attended" else None
        self._platform().mark_attendance(signup_id, status, hours)
        return web.redirect(f"/occurrences/{occurrence_id}/attendance", done="marked")


def _reason(form) -> str:
    """Why an occurrence is moved or cancelled: its volunteers are told, so it may not be left out."""
    reason = (form.get("reason") or "").strip()
    if not reason:
        raise InvalidInput("reason: say why, for the volunteers", "请填写原因，会告知报名的志愿者")
    return reason


def _activity_fields(form) -> dict:
    """The activity form's fields as create_activity and update_activity take them."""
    start = agenda.local_moment(form.get("day"), form.get("at"), "start")
    duration = agenda.optional_int(form.get("duration"), "duration")
    if duration is None:
        raise InvalidInput("duration: minutes", "请填写时长（分钟）")
    fields = {
        "title": (form.get("title") or "").strip(),
        "start": iso(start),
        "duration_minutes": duration,
        "team": form.get("team") or None,
        "grid_id": agenda.optional_int(form.get("grid_id"), "grid_id"),
        "courtyard": (form.get("courtyard") or "").strip() or None,
        "room": (form.get("room") or "").strip() or None,
        "description": (form.get("description") or "").strip() or None,
        "capacity": agenda.optional_int(form.get("capacity"), "capacity"),
    }
    roles = agenda.parse_roles((form.get("roles") or "").splitlines())
    if roles:
        fields["roles"] = roles
    return fields
