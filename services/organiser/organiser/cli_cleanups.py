"""`guanyinli cleanups plan|show`: the clean-up rotation on the command line, as the /cleanups page shows it."""

from __future__ import annotations

from datetime import date

import click

from guanyinli.timeutil import TZ, iso, now
from organiser.cleanup_pages import DEFAULT_WEEKS, next_monday, table, window
from organiser.cli import emit, json_option, make_table, state


def period_options(fn):
    fn = click.option(
        "--weeks", type=click.IntRange(1, 12), default=DEFAULT_WEEKS, show_default=True, help="weeks planned"
    )(fn)
    return click.option("--start", default=None, help="a day of the first week, YYYY-MM-DD (default: next Monday)")(fn)


def first_day(start: str | None) -> date:
    if not start:
        return next_monday(now().astimezone(TZ).date())
    try:
        return date.fromisoformat(start)
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {start!r}", param_hint="--start") from None


def rotation_tables(view: dict) -> str:
    """The rotation, the counts and the own rota, one table each, as rich renders them."""
    from rich.console import Group

    laid = table(view, "zh")
    rotation = make_table(
        "Clean-up rotation 清洁护绿轮值",
        ["place", *[f"week of {m:%m-%d}" for m in laid["weeks"]]],
        [
            [
                f"{p['name']} ({p['code']})",
                *[
                    "\n".join(
                        f"{c['day']} {'、'.join(c['volunteers'])}"
                        + (f" [{c['missing']} short]" if c["missing"] else "")
                        for c in cell
                    )
                    for cell in p["cells"]
                ],
            ]
            for p in laid["places"]
        ],
    )
    counts = make_table(
        f"Clean-ups per volunteer (most {laid['most']}, fewest {laid['least']})",
        ["id", "name", "clean-ups"],
        [[c["volunteer_id"], c["name"], c["count"]] for c in laid["counts"]],
    )
    own = make_table(
        "Self-managed courtyards: own rota 自管院落自行轮值",
        ["code", "name", "grid"],
        [[c["code"], c["name"], c["grid_id"]] for c in laid["own_rota"]],
    )
    return Group(rotation, counts, own)


@click.group()
def cleanups():
    """The clean-up rotation of the sanitation and green protection team."""


@cleanups.command("plan")
@period_options
@json_option
def cleanups_plan(start, weeks):
    """Plan the rotation (occurrences and sign-ups); planning again adds only what is missing."""
    made = state().rpc().activities.plan_cleanups(start=first_day(start).isoformat(), weeks=weeks)
    emit(made, rotation_tables)
    if not state().as_json:
        click.echo(f"{made['created']} clean-ups and {made['signed_up']} sign-ups made; {len(made['short'])} short")


@cleanups.command("show")
@period_options
@json_option
def cleanups_show(start, weeks):
    """Show the rotation: places by weeks with who cleans, each volunteer's count, the self-managed courtyards."""
    begin, end = window(first_day(start), weeks)
    emit(state().rpc().activities.cleanup_rotation(start=iso(begin), end=iso(end)), rotation_tables)
