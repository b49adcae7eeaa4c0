"""The organiser pages of the Lide Shuren lecture hall: the coming lectures (``/lectures``) and each
lecture's door list (``/lectures/<occurrence_id>``), made for a phone at the door: large buttons to
check residents in, a search by name or the last four digits of a phone, registering a walk-in at
the desk, the waitlist, and a printed sheet. Organisers change things; viewers look. Phones show
masked unless an organiser asks for them (``?phones=1``): the activities service gives them to
organisers only.

Entry points only, joined to ``OrganiserService`` through its bases; the calls are in
``organiser.lecture_hall``, the rules in the activities service.
"""

from __future__ import annotations

from datetime import datetime

from guanyinli.errors import InvalidInput
from guanyinli.timeutil import local
from organiser import web
from organiser.lecture_hall import DUTY_ROLES, LectureHall
from organiser.pages import page
from organiser.web import http


def _when(value: str) -> datetime:
    return local(datetime.fromisoformat(value))


def _number(value: str | None, name: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise InvalidInput(f"{name}: a number", f"{name}：请填数字") from None


class LecturePages:
    """``/lectures``: the coming lectures; ``/lectures/<id>``: its door list and duties; ``/print``: the sheet."""

    def _hall(self) -> LectureHall:
        return LectureHall(self._platform())

    @http("GET", "/lectures")
    @page()
    def lectures(self, request, login, lang):
        rows = self._hall().upcoming(self.clock.now())
        return web.render("lectures.html", lang, login=login, rows=rows, when=_when)

    @http("GET", "/lectures/<int:occurrence_id>")
    @page()
    def lecture_door(self, request, login, lang, occurrence_id):
        hall = self._hall()
        query = (request.args.get("q") or "").strip()[:50]
        phones = login.sees_private and request.args.get("phones") == "1"
        return web.render(
            "lecture.html",
            lang,
            login=login,
            lecture=hall.lecture(occurrence_id),
            door=hall.door(occurrence_id, query),
            query=query,
            phones=phones,
            when=_when,
            duty_roles=DUTY_ROLES,
            done=request.args.get("done"),
        )

    @http("GET", "/lectures/<int:occurrence_id>/print")
    @page()
    def lecture_print(self, request, login, lang, occurrence_id):
        """The door list on paper: the registered with a box to tick and a line to sign, then the waitlist."""
        hall = self._hall()
        return web.render(
            "lecture_print.html",
            lang,
            login=login,
            lecture=hall.lecture(occurrence_id),
            door=hall.door(occurrence_id),
            when=_when,
        )

    @http("POST", "/lectures/<int:occurrence_id>/register")
    @page(change=True)
    def lecture_register(self, request, login, lang, occurrence_id):
        """A resident registered at the desk, checked in at once when a place was free: they are here."""
        name = (request.form.get("name") or "").strip()
        if not name:
            raise InvalidInput("name: required", "请填写姓名")
        hall = self._hall()
        found = hall.register(occurrence_id, name, (request.form.get("phone") or "").strip() or None)
        done = "lecture_waitlisted_done"
        if found["status"] == "registered":
            hall.check_in(found["id"])
            done = "lecture_registered_done"
        return web.redirect(f"/lectures/{occurrence_id}", done=done)

    @http("POST", "/lectures/<int:occurrence_id>/checkin/<int:registration_id>")
    @page(change=True)
    def lecture_check_in(self, request, login, lang, occurrence_id, registration_id):
        undo = request.form.get("undo") == "1"
        self._hall().check_in(registration_id, undo)
        done = "lecture_undone" if undo else "lecture_checked_in_done"
        return web.redirect(f"/lectures/{occurrence_id}", q=request.form.get("q") or None, done=done)

    @http("POST", "/lectures/<int:occurrence_id>/cancel/<int:registration_id>")
    @page(change=True)
    def lecture_cancel(self, request, login, lang, occurrence_id, registration_id):
        self._hall().cancel(registration_id)
        return web.redirect(f"/lectures/{occurrence_id}", done="lecture_cancelled_done")

    @http("POST", "/lectures/<int:occurrence_id>/duty")
    @page(change=True)
    def lecture_duty(self, request, login, lang, occurrence_id):
        """Setup or reception filled by the organiser: the volunteer signed up on their behalf."""
        role = request.form.get("role")
        if role not in DUTY_ROLES:
            raise InvalidInput(f"role: {' or '.join(DUTY_ROLES)}")
        volunteer_id = _number(request.form.get("volunteer_id"), "volunteer_id")
        self._hall().add_to_duty(occurrence_id, role, volunteer_id)
        return web.redirect(f"/lectures/{occurrence_id}", done="lecture_duty_done")
