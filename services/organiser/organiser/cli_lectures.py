"""`guanyinli lectures`: the Lide Shuren lecture hall from the command line: the coming lectures,
a lecture's door list, registering a resident and checking them in (``organiser.lecture_hall``).

Phones: the activities service gives them to organisers; ``show`` prints them masked unless
``--phones`` is given."""

from __future__ import annotations

from datetime import datetime

import click

from guanyinli.timeutil import local, now
from organiser.cli import emit, json_option, make_table, state
from organiser.lecture_hall import UPCOMING_DAYS, LectureHall


def _hall() -> LectureHall:
    return LectureHall(state().platform())


def _at(value: str) -> str:
    return f"{local(datetime.fromisoformat(value)):%Y-%m-%d %H:%M}"


def _duties(duties: list[dict]) -> str:
    return " ".join(f"{d['name']} {d['confirmed']}/{d['capacity']}" for d in duties)


@click.group()
def lectures():
    """The lecture hall: registrations up to the hall's capacity, the waitlist, check-in at the door."""


@lectures.command("list")
@click.option("--days", type=click.IntRange(1, 400), default=UPCOMING_DAYS, show_default=True, help="how far ahead")
@json_option
def lectures_list(days: int):
    """The coming lectures: registered of the seats, waitlist, and setup and reception filled."""
    emit(
        _hall().upcoming(now(), days),
        lambda rows: make_table(
            "Lectures",
            ["id", "start", "title", "registered", "waitlist", "duties"],
            [
                [
                    r["id"],
                    _at(r["start"]),
                    r["title"],
                    f"{r['registered']}/{r['capacity']}",
                    r["waitlisted"],
                    _duties(r["duties"]),
                ]
                for r in rows
            ],
        ),
    )


@lectures.command("show")
@click.argument("occurrence_id", type=int)
@click.option("--find", "query", help="part of a name, or the last (up to 4) digits of a phone")
@click.option("--phones", is_flag=True, help="print phones in full (organisers only get them)")
@json_option
def lectures_show(occurrence_id: int, query: str | None, phones: bool):
    """A lecture's door list: the registered by name, then the waitlist in order."""
    door = _hall().door(occurrence_id, query)
    if not phones:
        door = {**door, "registrations": [{**r, "phone": None} for r in door["registrations"]]}

    def table(d):
        rows = [
            [
                r["id"],
                r["name"],
                (r["phone"] or r["phone_masked"] or "") if phones else (r["phone_masked"] or ""),
                r["status"] if r["status"] == "registered" else f"waitlist #{r['waitlist_position']}",
                _at(r["checked_in_at"]) if r["checked_in_at"] else "",
            ]
            for r in d["registrations"]
        ]
        title = (
            f"{d['title']} · {_at(d['start'])} · registered {d['registered']}/{d['attendee_capacity']}"
            f" · checked in {d['checked_in']} · waitlist {d['waitlisted']}"
        )
        return make_table(title, ["registration", "name", "phone", "status", "checked in"], rows)

    emit(door, table)


@lectures.command("register")
@click.argument("occurrence_id", type=int)
@click.option("--name", required=True, help="the resident's name")
@click.option("--phone", help="their phone (kept private)")
@json_option
def lectures_register(occurrence_id: int, name: str, phone: str | None):
    """Register a resident; when the hall is full they join the waitlist."""
    found = _hall().register(occurrence_id, name, phone)
    emit(
        found,
        lambda r: (
            f"registration {r['id']}: {r['name']} registered"
            if r["status"] == "registered"
            else f"registration {r['id']}: the hall is full, {r['name']} is number {r['waitlist_position']} on the waitlist"
        ),
    )


@lectures.command("checkin")
@click.argument("registration_id", type=int)
@click.option("--undo", is_flag=True, help="check them out again (a mistake)")
@json_option
def lectures_checkin(registration_id: int, undo: bool):
    """Check a registered resident in at the door."""
    found = _hall().check_in(registration_id, undo)
    emit(
        found,
        lambda r: (
            f"{r['name']} checked in at {_at(r['checked_in_at'])}"
            if r["checked_in_at"]
            else f"{r['name']} is no longer checked in"
        ),
    )


@lectures.command("cancel")
@click.argument("registration_id", type=int)
@json_option
def lectures_cancel(registration_id: int):
    """Cancel a registration; the first on the waitlist takes the place."""
    found = _hall().cancel(registration_id)
    emit(found, lambda r: f"registration {r['id']} of {r['name']} cancelled")
