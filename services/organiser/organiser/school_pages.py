"""The weekend school's page (``/school``): the pupils' register, the coming sessions' tutors (re-assign, pin,
change a tutor) and the subjects short of tutors.

Entry points only: the rules are the activities service's (``activities.schooling``), called as the
signed-in account, so a viewer reads the register without the guardians' contacts and cannot change it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from guanyinli.errors import InvalidInput
from guanyinli.timeutil import TZ, local, now
from organiser import web
from organiser.pages import page
from organiser.web import http

SUBJECTS = ("math", "chinese", "english", "physics", "chemistry")  # activities.school.wording's codes
WEEKS = 4  # the page shows and assigns this many weeks from its first day
MAX_WEEKS = 13


def tutored(assignments: list[dict]) -> dict[int, list[dict]]:
    """A tutor's assignment rows as their phone shows them: per session, each pupil once with their grade
    and the subjects this tutor helps them with (the rows carry no guardian's contact to leave out)."""
    sessions: dict[int, dict[int, dict]] = {}
    for row in assignments:
        pupils = sessions.setdefault(row["occurrence_id"], {})
        pupil = pupils.setdefault(row["pupil_id"], {"name": row["pupil_name"], "grade": row["grade"], "subjects": []})
        pupil["subjects"].append((row["subject_zh"] or row["subject"], row["subject"]))  # (Chinese, code)
    return {occ: sorted(p.values(), key=lambda p: (p["grade"], p["name"])) for occ, p in sessions.items()}


def window(first: str | None, weeks: str | None) -> tuple[datetime, datetime]:
    """[start, end) of the page: from a day (default: today), some weeks (default WEEKS)."""
    try:
        day = date.fromisoformat(first) if first else now().date()
        count = int(weeks) if weeks else WEEKS
    except ValueError:
        raise InvalidInput("start, weeks: a day (YYYY-MM-DD) and a number of weeks", "请填写日期和周数") from None
    if not 1 <= count <= MAX_WEEKS:
        raise InvalidInput(f"weeks: 1..{MAX_WEEKS}", f"周数：1至{MAX_WEEKS}")
    start = datetime.combine(day, datetime.min.time(), tzinfo=TZ)
    return start, start + timedelta(weeks=count)


def pupil_form(form) -> dict:
    """``register_pupil``'s (and ``update_pupil``'s) fields from the form; the service checks the values."""
    try:
        grade = int(form.get("grade", ""))
    except ValueError:
        raise InvalidInput("grade: 1-9", "年级：1至9") from None
    return {
        "name": (form.get("name") or "").strip(),
        "grade": grade,
        "subjects": [s for s in SUBJECTS if s in form.getlist("subject")],
        "guardian_name": (form.get("guardian_name") or "").strip(),
        "guardian_phone": (form.get("guardian_phone") or "").strip(),
    }


def sessions(assignments: list[dict]) -> list[dict]:
    """The assignment as the page's table: one block per session, its rows by pupil."""
    blocks: dict[int, dict] = {}
    for a in assignments:
        block = blocks.setdefault(
            a["occurrence_id"],
            {
                "occurrence_id": a["occurrence_id"],
                "title": a["title"],
                "start": local(datetime.fromisoformat(a["start"])),
                "rows": [],
            },
        )
        block["rows"].append(a)
    return sorted(blocks.values(), key=lambda b: (b["start"], b["occurrence_id"]))


def tutor_choices(tutors: list[dict]) -> dict[str, list[tuple[int, str]]]:
    """Per subject, the active volunteers with its tutoring skill, by name."""
    out: dict[str, list[tuple[int, str]]] = {s: [] for s in SUBJECTS}
    for v in tutors:
        for skill in v.get("skills") or ():
            head, _, subject = skill.partition(":")
            if head == "tutoring" and subject in out:
                out[subject].append((int(v["id"]), v["name"]))
    return {s: sorted(choices, key=lambda c: (c[1], c[0])) for s, choices in out.items()}


class SchoolPages:
    """@http entry points of the weekend school; they join ``OrganiserService`` through its bases."""

    @http("GET", "/school")
    @page()
    def school(self, request, login, lang):
        start, end = window(request.args.get("start"), request.args.get("weeks"))
        platform = self._platform()
        window_args = {"start": start.isoformat(), "end": end.isoformat()}
        pupils = platform.activities.list_pupils()
        assignments = platform.activities.list_assignments(**window_args)
        lacking = platform.activities.school_lacking(**window_args)
        editing = None
        if request.args.get("edit"):
            editing = next((p for p in pupils if str(p["id"]) == request.args["edit"]), None)
        choices = tutor_choices(platform.all_volunteers(skill="tutoring", active=True)) if login.can_change else {}
        return web.render(
            "school.html",
            lang,
            login=login,
            start=start.date(),
            weeks=(end - start).days // 7,
            pupils=pupils,
            editing=editing,
            subjects=SUBJECTS,
            sessions=sessions(assignments),
            lacking=lacking,
            choices=choices,
            done=request.args.get("done"),
        )

    def _back(self, form, done: str):
        return web.redirect("/school", start=form.get("start") or None, weeks=form.get("weeks") or None, done=done)

    @http("POST", "/school/pupils")
    @page(change=True)
    def school_pupil_add(self, request, login, lang):
        self._platform().activities.register_pupil(**pupil_form(request.form))
        return self._back(request.form, "pupil_registered")

    @http("POST", "/school/pupils/<int:pupil_id>")
    @page(change=True)
    def school_pupil_edit(self, request, login, lang, pupil_id):
        self._platform().activities.update_pupil(pupil_id=pupil_id, changes=pupil_form(request.form))
        return self._back(request.form, "pupil_saved")

    @http("POST", "/school/pupils/<int:pupil_id>/withdraw")
    @page(change=True)
    def school_pupil_withdraw(self, request, login, lang, pupil_id):
        self._platform().activities.withdraw_pupil(pupil_id=pupil_id)
        return self._back(request.form, "pupil_withdrawn")

    @http("POST", "/school/assign")
    @page(change=True)
    def school_assign(self, request, login, lang):
        start, end = window(request.form.get("start"), request.form.get("weeks"))
        self._platform().activities.assign_tutors(start=start.isoformat(), end=end.isoformat())
        return self._back(request.form, "tutors_assigned")

    @http("POST", "/school/assignments/<int:assignment_id>/pin")
    @page(change=True)
    def school_pin(self, request, login, lang, assignment_id):
        pinned = request.form.get("pinned") != "0"
        self._platform().activities.pin_assignment(assignment_id=assignment_id, pinned=pinned)
        return self._back(request.form, "assignment_pinned" if pinned else "assignment_unpinned")

    @http("POST", "/school/assignments/<int:assignment_id>/change")
    @page(change=True)
    def school_change(self, request, login, lang, assignment_id):
        try:
            tutor_id = int(request.form.get("tutor_id", ""))
        except ValueError:
            raise InvalidInput("tutor_id: choose a tutor", "请选择一位老师") from None
        self._platform().activities.change_assignment(assignment_id=assignment_id, tutor_id=tutor_id)
        return self._back(request.form, "tutor_changed")
