"""`guanyinli school`: the weekend school's pupils' register and tutors from the command line.

Registered on the root group by ``organiser.cli``; the rules are the activities service's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import click

from guanyinli.timeutil import TZ, local, now
from organiser.cli import emit, json_option, make_table, state

SUBJECTS = ("math", "chinese", "english", "physics", "chemistry")
WEEKS = 4


def _window(start: str | None, weeks: int) -> dict:
    try:
        day = date.fromisoformat(start) if start else now().date()
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {start!r}", param_hint="--start") from None
    first = datetime.combine(day, datetime.min.time(), tzinfo=TZ)
    return {"start": first.isoformat(), "end": (first + timedelta(weeks=weeks)).isoformat()}


def window_options(fn):
    fn = click.option("--weeks", type=click.IntRange(1, 13), default=WEEKS, show_default=True, help="how many weeks")(
        fn
    )
    return click.option("--start", default=None, help="first day, YYYY-MM-DD (default: today)")(fn)


def _when(value: str) -> str:
    return f"{local(datetime.fromisoformat(value)):%Y-%m-%d %a %H:%M}"


def assignment_rows(rows: list[dict]) -> list[list]:
    return [
        [
            a["id"],
            _when(a["start"]),
            a["pupil_name"],
            a["grade"],
            a["subject_zh"],
            a["tutor_name"] or (f"#{a['tutor_id']}" if a["tutor_id"] else "—"),
            "pinned" if a["pinned"] else "",
            a["reason_zh"] or "",
        ]
        for a in rows
    ]


ASSIGNMENT_COLUMNS = ["id", "session", "pupil", "grade", "subject", "tutor", "pinned", "why no tutor"]


@click.group()
def school():
    """The Lin Honghan weekend school: pupils, tutors assigned to the sessions, subjects short of tutors."""


@school.command("pupils")
@click.option("--all", "include_withdrawn", is_flag=True, help="withdrawn pupils too")
@json_option
def school_pupils(include_withdrawn):
    """The pupils' register (the guardian's contact for organisers only)."""
    pupils = state().platform().activities.list_pupils(include_withdrawn=include_withdrawn)
    emit(
        pupils,
        lambda ps: make_table(
            "Pupils",
            ["id", "name", "grade", "subjects", "guardian", "phone", "active"],
            [
                [
                    p["id"],
                    p["name"],
                    p["grade"],
                    ", ".join(p["subjects"]),
                    p.get("guardian_name"),
                    p.get("guardian_phone"),
                    "yes" if p["active"] else "no",
                ]
                for p in ps
            ],
        ),
    )


@school.command("register")
@click.option("--name", required=True, help="the pupil's name")
@click.option("--grade", type=click.IntRange(1, 9), required=True, help="1-9")
@click.option("--subject", "subjects", type=click.Choice(SUBJECTS), multiple=True, required=True, help="(repeat)")
@click.option("--guardian-name", required=True)
@click.option("--guardian-phone", required=True)
@json_option
def school_register(name, grade, subjects, guardian_name, guardian_phone):
    """Put a pupil on the register."""
    pupil = (
        state()
        .platform()
        .activities.register_pupil(
            name=name, grade=grade, subjects=list(subjects), guardian_name=guardian_name, guardian_phone=guardian_phone
        )
    )
    emit(pupil, lambda p: f"pupil {p['id']} {p['name']} registered")


@school.command("withdraw")
@click.argument("pupil_id", type=int)
@json_option
def school_withdraw(pupil_id):
    """Take a pupil off the register (their coming sessions lose them)."""
    pupil = state().platform().activities.withdraw_pupil(pupil_id=pupil_id)
    emit(pupil, lambda p: f"pupil {p['id']} {p['name']} withdrawn")


@school.command("assign")
@window_options
@click.option("--time-limit", type=click.FloatRange(0.1, 120), default=10.0, show_default=True, help="seconds")
@json_option
def school_assign(start, weeks, time_limit):
    """Assign tutors to the coming sessions (pins kept, the same tutor where possible) and sign them up."""
    answer = state().platform().activities.assign_tutors(**_window(start, weeks), time_limit=time_limit)

    def table(a):
        title = (
            f"{a['covered']} of {a['needs']} pupils' subjects have a tutor over {a['sessions']} sessions "
            f"(solver: {a['status']}, tutor changes: {a['tutor_changes']})"
        )
        return make_table(title, ASSIGNMENT_COLUMNS, assignment_rows(a["assignments"]))

    emit(answer, table)


@school.command("show")
@window_options
@click.option("--tutor", "tutor_id", type=int, default=None, help="one tutor's sessions")
@json_option
def school_show(start, weeks, tutor_id):
    """The assignment: session, pupil, subject, tutor."""
    rows = state().platform().activities.list_assignments(**_window(start, weeks), tutor_id=tutor_id)
    emit(rows, lambda rs: make_table("Weekend school", ASSIGNMENT_COLUMNS, assignment_rows(rs)))


@school.command("pin")
@click.argument("assignment_id", type=int)
@click.option("--tutor", "tutor_id", type=int, default=None, help="give it this tutor (pinned)")
@click.option("--unpin", is_flag=True, help="let a re-assignment choose again")
@json_option
def school_pin(assignment_id, tutor_id, unpin):
    """Pin an assignment's tutor, or change it to another tutor (pinned)."""
    activities = state().platform().activities
    if tutor_id is not None:
        row = activities.change_assignment(assignment_id=assignment_id, tutor_id=tutor_id)
    else:
        row = activities.pin_assignment(assignment_id=assignment_id, pinned=not unpin)
    emit(row, lambda r: make_table(None, ASSIGNMENT_COLUMNS, assignment_rows([r])))


@school.command("lacking")
@window_options
@json_option
def school_lacking(start, weeks):
    """Subjects short of tutors in the coming sessions."""
    needs = state().platform().activities.school_lacking(**_window(start, weeks))
    emit(
        needs,
        lambda ns: (
            make_table(
                "Subjects short of tutors",
                ["session", "subject", "pupils", "seats", "short", "why"],
                [
                    [_when(n["start"]), n["subject_zh"], n["needs"], n["capacity"], n["shortfall"], n["message_zh"]]
                    for n in ns
                ],
            )
            if ns
            else "every subject has enough tutors"
        ),
    )
