"""`guanyinli calendar`, `occurrence`, `activities edit` and `attendance show`: the calendar of every
programme on the command line, as the organiser page has it (``organiser.agenda`` holds what both share).

Registered on the root group by importing this module (the last import of ``organiser.cli``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from guanyinli.errors import InvalidInput
from guanyinli.events import KINDS
from guanyinli.timeutil import TZ, iso
from organiser import agenda
from organiser.cli import (
    Rejected,
    _given,
    activities,
    attendance,
    cli,
    emit,
    json_option,
    make_table,
    parse_when,
    state,
)


def _today():
    return datetime.now(TZ).date()


def _filters(kind, team, grid) -> agenda.Filters:
    return agenda.Filters(kind, team, grid)


def filter_options(fn):
    fn = click.option("--grid", type=click.IntRange(min=1), help="grid id")(fn)
    fn = click.option("--team", help="team code (`guanyinli teams list`: the community's own)")(fn)
    return click.option("--kind", type=click.Choice(KINDS), help="kind of activity")(fn)


def _checked(call):
    """``call()``, an InvalidInput of the shared parsing said as a bad option (exit code 2)."""
    try:
        return call()
    except InvalidInput as exc:
        raise click.UsageError(str(exc)) from None


# --- the calendar ----------------------------------------------------------------------------------


@cli.group("calendar", invoke_without_command=True)
@click.option("--week", "week", help="the week of this day, YYYY-MM-DD (default: this week)")
@click.option("--month", "month", help="a month, YYYY-MM")
@filter_options
@json_option
@click.pass_context
def calendar(ctx: click.Context, week, month, kind, team, grid):
    """Every activity's occurrences of a week or a month, by day; `calendar export` writes a month to Excel."""
    if ctx.invoked_subcommand is not None:
        return
    if week and month:
        raise click.UsageError("--week or --month, not both")
    if month:
        window = agenda.Window.of("month", _checked(lambda: agenda.parse_month(month, _today())))
    else:
        window = agenda.Window.of("week", _checked(lambda: agenda.parse_day(week, _today(), "--week")))
    start, end = window.period
    found = (
        state().rpc().activities.list_occurrences(start=iso(start), end=iso(end), **_filters(kind, team, grid).query())
    )
    emit(found, lambda rows: calendar_table(window, rows))


def calendar_table(window: agenda.Window, rows: list[dict]):
    entries = [agenda.entry(o) for o in rows]
    return make_table(
        f"Calendar {window.label()}",
        ["id", "day", "time", "title", "kind", "team", "place", "seats", "waitlist", "status"],
        [
            [
                e.id if e.id is not None else "",
                f"{e.start:%Y-%m-%d %a}",
                f"{e.start:%H:%M}-{e.end:%H:%M}",
                e.title,
                e.kind,
                e.team,
                e.place,
                f"{e.confirmed}/{e.needed}",
                e.waitlisted or "",
                e.status + (f": {e.cancel_reason}" if e.cancel_reason else "") + (" (moved)" if e.overridden else ""),
            ]
            for e in entries
        ],
    )


@calendar.command("export")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.xlsx")
@filter_options
@json_option
def calendar_export(month, out_path: Path, kind, team, grid):
    """Write a month's occurrences, roles, who, attendance and hours to an Excel workbook."""
    first = _checked(lambda: agenda.parse_month(month, _today()))
    occurrences, signups, names = agenda.month_data(state().platform(), first, _filters(kind, team, grid))
    out_path.write_bytes(agenda.workbook(first, occurrences, signups, names))
    summary = {
        "file": str(out_path),
        "month": f"{first:%Y-%m}",
        "occurrences": len(occurrences),
        "signups": len(signups),
    }
    emit(summary, lambda s: f"{s['file']}: {s['occurrences']} occurrences, {s['signups']} sign-ups of {s['month']}")


# --- one occurrence ---------------------------------------------------------------------------------


@cli.group("occurrence")
def occurrence():
    """One occurrence: who is on it, cancel or move it, sign a volunteer up or take them off."""


def _sheet(occurrence_id: int) -> tuple[dict, list[agenda.RoleSheet]]:
    platform = state().platform()
    occ = platform.activities.get_occurrence(occurrence_id=occurrence_id)
    signups = platform.activities.list_signups(occurrence_ids=[occurrence_id])
    people = agenda.people_of([occ])
    return occ, agenda.role_sheets(occ, signups, platform.names(people) if people else {})


def _holders_json(occ: dict, roles: list[agenda.RoleSheet]) -> dict:
    return {
        **occ,
        "people": [{"role": r.name, **vars(h)} for r in roles for h in r.confirmed + r.waitlist],
    }


def holders_table(data: dict):
    e = agenda.entry(data)
    title = f"{e.title} {e.start:%Y-%m-%d %H:%M}-{e.end:%H:%M} {e.place} [{e.status}]"
    return make_table(
        title,
        ["sign-up", "role", "volunteer", "name", "status", "attendance", "hours"],
        [
            [
                p["signup_id"],
                p["role"],
                p["volunteer_id"],
                p["name"],
                p["status"] + (f" #{p['waitlist_position']}" if p["status"] == "waitlisted" else ""),
                p["attendance"] or "",
                "" if p["hours"] is None else p["hours"],
            ]
            for p in data["people"]
        ],
    )


@occurrence.command("show")
@click.argument("occurrence_id", type=int)
@json_option
def occurrence_show(occurrence_id):
    """Who is signed up for each role, and the waitlist in order."""
    emit(_holders_json(*_sheet(occurrence_id)), holders_table)


def _occurrence_line(o: dict):
    e = agenda.entry(o)
    reason = f" ({o['cancel_reason']})" if o.get("cancel_reason") else ""
    return f"occurrence {o['id']}: {e.title} {e.start:%Y-%m-%d %H:%M}-{e.end:%H:%M} {e.place} {e.status}{reason}"


@occurrence.command("cancel")
@click.argument("occurrence_id", type=int)
@click.option("--reason", required=True, help="why: told to its volunteers")
@json_option
def occurrence_cancel(occurrence_id, reason):
    """Cancel one occurrence; its volunteers are told, their calendars follow."""
    emit(state().rpc().activities.cancel_occurrence(occurrence_id=occurrence_id, reason=reason), _occurrence_line)


@occurrence.command("move")
@click.argument("occurrence_id", type=int)
@click.option("--start", required=True, help="new start, ISO 8601 (local time if no offset)")
@click.option("--end", help="new end (default: the same length)")
@click.option("--courtyard")
@click.option("--room")
@click.option("--reason", required=True, help="why: told to its volunteers")
@json_option
def occurrence_move(occurrence_id, start, end, courtyard, room, reason):
    """Move one occurrence (time or place); its volunteers are told why, their calendars follow."""
    moved = (
        state()
        .rpc()
        .activities.update_occurrence(
            occurrence_id=occurrence_id,
            start=parse_when(start, "--start").isoformat(),
            reason=reason,
            **_given(end=parse_when(end, "--end").isoformat() if end else None, courtyard=courtyard, room=room),
        )
    )
    emit(moved, _occurrence_line)


@occurrence.command("signup")
@click.argument("occurrence_id", type=int)
@click.argument("volunteer")
@click.option("--role", help="role name (needed when the occurrence has several)")
@json_option
def occurrence_signup(occurrence_id, volunteer, role):
    """Sign VOLUNTEER (a number or a name) up on their behalf: confirmed while seats last, else waitlisted."""
    platform = state().platform()
    found = [] if volunteer.strip().isdigit() else platform.all_volunteers(active=True)
    try:
        volunteer_id = agenda.volunteer_typed(volunteer, found)
    except InvalidInput as exc:
        raise Rejected(str(exc)) from None
    signup = platform.activities.sign_up(occurrence_id=occurrence_id, volunteer_id=volunteer_id, **_given(role=role))
    emit(signup, _signup_line)


def _signup_line(s: dict) -> str:
    place = f" #{s['waitlist_position']}" if s.get("waitlist_position") else ""
    return f"sign-up {s['id']}: volunteer {s['volunteer_id']} {s['role']} {s['status']}{place}"


@occurrence.command("remove")
@click.argument("signup_id", type=int)
@json_option
def occurrence_remove(signup_id):
    """Take a volunteer off (their sign-up id, from `occurrence show`); the waitlist's first gets the seat."""
    emit(state().rpc().activities.cancel_sign_up(signup_id=signup_id), _signup_line)


# --- activities edit, attendance show ----------------------------------------------------------------


@activities.command("edit")
@click.argument("activity_id", type=int)
@click.option("--title")
@click.option("--start", help="first start, ISO 8601 (local time if no offset)")
@click.option("--duration", "duration_minutes", type=int, help="minutes")
@click.option("--grid", "grid_id", type=click.IntRange(min=1), help="grid id")
@click.option("--courtyard")
@click.option("--room")
@click.option("--rrule", help="RFC 5545 RRULE; 'none': once")
@click.option("--capacity", type=int)
@click.option("--role", "roles", multiple=True, help="NAME:NEEDED[:skill,skill] (repeat): the roles from now on")
@click.option("--description")
@json_option
def activities_edit(
    activity_id, title, start, duration_minutes, grid_id, courtyard, room, rrule, capacity, roles, description
):
    """Change an activity: title, place, roles, time or its rule (occurrences it drops are cancelled)."""
    changes = _given(
        title=title,
        start=parse_when(start, "--start").isoformat() if start else None,
        duration_minutes=duration_minutes,
        grid_id=grid_id,
        courtyard=courtyard,
        room=room,
        capacity=capacity,
        description=description,
        roles=_checked(lambda: agenda.parse_roles(roles)) or None,
    )
    if rrule is not None:
        changes["rrule"] = None if rrule.lower() == "none" else rrule
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    changed = state().rpc().activities.update_activity(activity_id=activity_id, changes=changes)
    emit(
        changed,
        lambda a: make_table(
            "Changed",
            ["id", "title", "kind", "place", "start", "min", "rrule", "roles"],
            [
                [
                    a["id"],
                    a["title"],
                    a["kind"],
                    a.get("place"),
                    a["start"][:16],
                    a["duration_minutes"],
                    a.get("rrule"),
                    ", ".join(f"{r['name']}×{r['needed']}" for r in a["roles"]),
                ]
            ],
        ),
    )


@attendance.command("show")
@click.argument("occurrence_id", type=int)
@json_option
def attendance_show(occurrence_id):
    """One occurrence's attendance sheet: its confirmed volunteers with sign-up ids to mark, attendance and hours."""
    occ, roles = _sheet(occurrence_id)
    data = _holders_json(occ, roles)
    data["people"] = [p for p in data["people"] if p["status"] == "confirmed"]
    emit(data, holders_table)
