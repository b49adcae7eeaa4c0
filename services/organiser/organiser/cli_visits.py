"""`guanyinli visits`: the register of people the community visits, who is overdue, and planning."""

from __future__ import annotations

from datetime import date, timedelta

import click

from guanyinli.timeutil import now
from organiser.cli import emit, json_option, make_table, state
from organiser.visit_words import CATEGORIES, CONSENT_WAYS


@click.group()
def visits():
    """Elderly visits: the register, overdue visits, planning."""


def _day(value: str | None, name: str) -> date:
    try:
        return date.fromisoformat(value) if value else now().date()
    except ValueError:
        raise click.BadParameter(f"not a date YYYY-MM-DD: {value!r}", param_hint=name) from None


def _people_table(title: str):
    def table(rows: list[dict]):
        return make_table(
            title,
            [
                "id",
                "name",
                "category",
                "grid",
                "place",
                "every",
                "last visit",
                "next due",
                "overdue",
                "planned",
                "consent",
            ],
            [
                [
                    p["id"],
                    p["name"],
                    p["category"],
                    p.get("grid_id"),
                    " ".join(x for x in (p.get("courtyard"), p.get("home")) if x),
                    f"{p['frequency_days']} d",
                    p.get("last_visit") or "never",
                    p.get("next_due"),
                    f"{p['overdue_days']} d" if p["overdue_days"] else "",
                    p.get("next_planned"),
                    "yes" if p["consented"] else p["status"] if p["status"] == "withdrawn" else "NO",
                ]
                for p in rows
            ],
        )

    return table


@visits.command("list")
@click.option("--category", type=click.Choice(CATEGORIES))
@click.option("--grid", type=int, help="grid id")
@click.option("--all", "include_withdrawn", is_flag=True, help="withdrawn people too")
@json_option
def visits_list(category, grid, include_withdrawn):
    """The register with each person's last visit, next due day and next planned visit."""
    found = (
        state().rpc().activities.list_visited_people(category=category, grid=grid, include_withdrawn=include_withdrawn)
    )
    emit(found, _people_table("Visited people"))


@visits.command("overdue")
@click.option("--today", help="the day to judge by, YYYY-MM-DD (default: today)")
@json_option
def visits_overdue(today):
    """People whose visit is late, the latest first."""
    day = _day(today, "--today")
    emit(state().rpc().activities.overdue_visits(today=day.isoformat()), _people_table(f"Overdue on {day}"))


@visits.command("missed")
@click.option("--since", help="first day to look at, YYYY-MM-DD (default: 60 days ago)")
@json_option
def visits_missed(since):
    """Visits over with nobody saying they were made: cancel one on /visits, then plan again."""
    day = _day(since, "--since") if since else now().date() - timedelta(days=60)
    emit(
        state().rpc().activities.missed_visits(since=day.isoformat()),
        lambda rows: make_table(
            f"{len(rows)} visits missed since {day}",
            ["occurrence", "start", "person", "grid", "visitors"],
            [
                [
                    v["occurrence_id"],
                    v["start"][:16],
                    v["person_name"],
                    v.get("grid_id"),
                    ", ".join(map(str, v["visitor_ids"])),
                ]
                for v in rows
            ],
        ),
    )


@visits.command("reopen")
@click.argument("occurrence_id", type=int)
@json_option
def visits_reopen(occurrence_id):
    """Take back "made" on a visit marked so by mistake."""
    visit = state().rpc().activities.reopen_visit(occurrence_id=occurrence_id)
    emit(visit, lambda v: f"visit {v['occurrence_id']} is no longer marked made")


@visits.command("plan")
@click.option("--start", help="first day, YYYY-MM-DD (default: today)")
@click.option("--days", type=click.IntRange(1, 92), default=28, show_default=True)
@json_option
def visits_plan(start, days):
    """Plan the visits the coming days lack, each person at their frequency with the same pair where possible."""
    first = _day(start, "--start")
    planned = (
        state().rpc().activities.plan_visits(start=first.isoformat(), end=(first + timedelta(days=days)).isoformat())
    )
    emit(
        planned,
        lambda rows: make_table(
            f"{len(rows)} visits planned",
            ["day", "person", "occurrence", "visitors"],
            [
                [v["day"], v["person_id"], v["occurrence_id"], ", ".join(map(str, v["visitor_ids"])) or "none free"]
                for v in rows
            ],
        ),
    )


@visits.command("add")
@click.option("--name", required=True)
@click.option("--category", type=click.Choice(CATEGORIES), required=True)
@click.option("--every", "frequency_days", type=click.IntRange(1, 90), required=True, help="visit every N days")
@click.option("--grid", "grid_id", type=int, help="grid id")
@click.option("--courtyard")
@click.option("--home", help="the old people's home, for its residents")
@click.option("--address", help="private")
@click.option("--health-notes", help="private")
@click.option("--relative", "relative_contact", help="private: a relative's name and phone")
@click.option("--consent-by", help="who agreed (the person, or a relative); without it nothing is planned")
@click.option("--consent-how", type=click.Choice(CONSENT_WAYS), default="in_person", show_default=True)
@json_option
def visits_add(name, category, frequency_days, consent_by, consent_how, **fields):
    """Add someone to the register (consent recorded at once with --consent-by)."""
    given = {k: v for k, v in fields.items() if v is not None}
    consent = {"by": consent_by, "how": consent_how} if consent_by else None
    person = (
        state()
        .rpc()
        .activities.add_visited_person(
            name=name, category=category, frequency_days=frequency_days, consent=consent, **given
        )
    )
    emit(person, lambda p: f"added {p['name']} (#{p['id']}), every {p['frequency_days']} days")
