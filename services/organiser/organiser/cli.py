"""`guanyinli`: the command line of organisers, talking to the services over RPC.

Exit codes: 0 done; 1 the input or the request was rejected (the reason on stderr); 2 wrong
usage of the command; 3 the broker or a service cannot be reached (`roster solve`, which needs
neither, has its own: see its help). Output is a table, or JSON with ``--json``. The broker is
``AMQP_URI`` (or ``--amqp-uri``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from guanyinli import config, tenancy
from guanyinli.errors import InvalidInput
from guanyinli.timeutil import TZ, local
from organiser import agenda, credentials, i18n, importer
from organiser import board as boards
from organiser.remote import REJECTED, UNREACHABLE, USAGE, Platform, classify

logging.getLogger("amqp").setLevel(logging.ERROR)  # "Received method during closing channel" noise
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)
DEFAULT_TIMEOUT = 30.0
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Rejected(click.ClickException):
    exit_code = REJECTED


class BadInput(click.ClickException):
    """A file the command cannot read: said on stderr, exit code 2 as for wrong usage."""

    exit_code = USAGE


class State:
    def __init__(self, uri: str, timeout: float, as_json: bool, community: str | None = None):
        self.uri = uri
        self.timeout = timeout
        self.as_json = as_json
        self.community = community  # None: the default community (``tenancy.named``)
        self.names = False
        self._stack = contextlib.ExitStack()
        self._cluster = None

    def config(self) -> dict:
        return {"AMQP_URI": self.uri, "serializer": "json"}

    def rpc(self, anonymous: bool = False):
        """The RPC client (``guanyinli.client``), connected on first call; calls carry the command
        line's identity (``organiser.credentials``)."""
        if self._cluster is None:
            from guanyinli.client import Client

            try:
                context_data = {} if anonymous else credentials.context(self._renew, self.community)
            except credentials.NotSignedIn as exc:
                raise Rejected(str(exc)) from None
            self._cluster = self._stack.enter_context(
                Client(self.config(), context_data=context_data, timeout=self.timeout)
            )
        return self._cluster

    def _renew(self, token: str) -> dict:
        from guanyinli.client import Client

        with Client(self.config(), context_data={"identity": token}, timeout=self.timeout) as client:
            return client.organiser.renew_token()

    def platform(self) -> Platform:
        rpc = self.rpc()
        return Platform(rpc.volunteers, rpc.activities, rpc.appeals)

    def close(self) -> None:
        self._stack.close()


def state() -> State:
    return click.get_current_context().find_object(State)


def json_option(fn):
    """``--json`` on every command as well as before it."""

    def set_json(ctx, _param, value):
        if value:
            ctx.find_object(State).as_json = True

    return click.option(
        "--json", "as_json", is_flag=True, expose_value=False, callback=set_json, help="print JSON instead of a table"
    )(fn)


def names_option(fn):
    """``--names``: the board lists who patrols, not only how many."""

    def set_names(ctx, _param, value):
        if value:
            ctx.find_object(State).names = True

    return click.option(
        "--names", is_flag=True, expose_value=False, callback=set_names, help="show who patrols in each cell"
    )(fn)


def emit(data, table: Callable[[object], Table | str] | None = None) -> None:
    if state().as_json or table is None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    rendered = table(data)
    out.print(rendered)


def make_table(title: str | None, columns: list[str], rows: list[list]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


def parse_when(value: str, name: str) -> datetime:
    try:
        return local(datetime.fromisoformat(value))
    except ValueError:
        raise click.BadParameter(f"not an ISO date or date-time: {value!r}", param_hint=name) from None


# --- root ------------------------------------------------------------------------------------


class CommandLine(click.Group):
    """The root group: maps every failure to the documented exit code and one line on stderr."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args=args, prog_name=prog_name or "guanyinli", standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            exc.show()
            sys.exit(USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            err.print("aborted")
            sys.exit(REJECTED)
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            err.print(failure.message, markup=False)
            sys.exit(failure.code)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=CommandLine, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--amqp-uri", default=None, help="broker URI (default: $AMQP_URI, else the local broker)")
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True, help="seconds to wait for an answer")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
@click.option(
    "--community",
    envvar="GUANYINLI_COMMUNITY",
    default=None,
    callback=lambda _ctx, _param, value: _community(value),
    help="the community to work in (default: $GUANYINLI_COMMUNITY, else the installation's default one)",
)
@click.pass_context
def cli(ctx: click.Context, amqp_uri: str | None, timeout: float, as_json: bool, community: str | None):
    """Organise Guanyinli's volunteers, activities and patrol rosters from the command line."""
    ctx.obj = State(amqp_uri or config.amqp_uri(), timeout, as_json, community)
    ctx.call_on_close(ctx.obj.close)


def _community(value: str | None) -> str | None:
    try:
        return tenancy.named(value or None)
    except tenancy.CommunityError as exc:
        raise click.BadParameter(str(exc), param_hint="--community") from None


# --- teams and grids -------------------------------------------------------------------------


@cli.group()
def teams():
    """The community's volunteer teams."""


@teams.command("list")
@json_option
def teams_list():
    """List the teams."""
    emit(
        state().platform().teams(),
        lambda rows: make_table(
            "Teams", ["code", "name", "名称"], [[t["code"], t.get("name"), t.get("name_zh")] for t in rows]
        ),
    )


@cli.group()
def grids():
    """The grids of the community, their leaders and members."""


@grids.command("list")
@json_option
def grids_list():
    """List the grids."""
    emit(
        state().platform().grids(),
        lambda rows: make_table(
            "Grids",
            ["id", "code", "name", "kind", "leader"],
            [[g["id"], g.get("code"), g.get("name"), g.get("kind"), _leader(g)] for g in rows],
        ),
    )


def _leader(grid: dict) -> str:
    leader = grid.get("leader")
    if isinstance(leader, dict):
        return leader.get("name") or str(leader.get("id"))
    return "" if leader is None else str(leader)


@grids.command("show")
@click.argument("grid_id", type=int)
@json_option
def grids_show(grid_id: int):
    """Show one grid with its courtyards, leader and members."""
    grid = state().rpc().volunteers.get_grid(grid_id=grid_id)

    def table(g):
        rows = [[k, _short(v)] for k, v in g.items() if not isinstance(v, list)]
        for key in ("courtyards", "members"):
            for item in g.get(key) or []:
                rows.append([key, _short(item.get("name") if isinstance(item, dict) else item)])
        return make_table(f"Grid {grid_id}", ["field", "value"], rows)

    emit(grid, table)


def _short(value) -> str:
    if isinstance(value, dict):
        return value.get("name") or json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return ", ".join(_short(v) for v in value)
    return "" if value is None else str(value)


# --- volunteers ------------------------------------------------------------------------------


@cli.group()
def volunteers():
    """Volunteers: list, show, add, edit, deactivate, import, availability."""


VOLUNTEER_COLUMNS = ["id", "name", "phone", "teams", "grid", "skills", "active"]


def volunteer_row(v: dict) -> list:
    return [
        v["id"],
        v["name"],
        v.get("phone"),
        ",".join(v.get("teams") or []),
        v.get("grid_id"),
        ",".join(v.get("skills") or []),
        "yes" if v.get("active", True) else "no",
    ]


@volunteers.command("list")
@click.option("--team", help="team code, e.g. voluntary_patrol")
@click.option("--grid", "grid_id", type=int, help="home grid id")
@click.option("--skill", help="skill, e.g. patrol_leader")
@click.option("--active/--inactive", default=None, help="only active (or only deactivated) volunteers")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@json_option
def volunteers_list(team, grid_id, skill, active, limit, offset):
    """List volunteers, filtered and a page at a time."""
    page = (
        state()
        .rpc()
        .volunteers.list_volunteers(team=team, grid_id=grid_id, skill=skill, active=active, limit=limit, offset=offset)
    )

    def table(p):
        shown = (
            f"{p['offset'] + 1}-{p['offset'] + len(p['items'])} of {p['total']}" if p["items"] else f"0 of {p['total']}"
        )
        return make_table(f"Volunteers ({shown})", VOLUNTEER_COLUMNS, [volunteer_row(v) for v in p["items"]])

    emit(page, table)


@volunteers.command("show")
@click.argument("volunteer_id", type=int)
@json_option
def volunteers_show(volunteer_id: int):
    """Show one volunteer."""
    v = state().rpc().volunteers.get_volunteer(volunteer_id=volunteer_id)
    emit(
        v, lambda v: make_table(f"Volunteer {volunteer_id}", ["field", "value"], [[k, _short(x)] for k, x in v.items()])
    )


def volunteer_fields(fn):
    for option in reversed(
        [
            click.option("--email", help="e-mail address"),
            click.option("--team", "teams", multiple=True, help="team code (repeat for several)"),
            click.option("--grid", "grid_id", type=int, help="home grid id (`guanyinli grids list` shows them)"),
            click.option("--alliance", help="alliance code"),
            click.option("--skill", "skills", multiple=True, help="skill or qualification (repeat)"),
        ]
    ):
        fn = option(fn)
    return fn


def _given(**fields) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items() if v not in (None, ())}


@volunteers.command("add")
@click.option("--name", required=True, help="full name")
@click.option("--phone", required=True, help="mobile (+86 optional) or landline with area code")
@volunteer_fields
@json_option
def volunteers_add(name, phone, email, teams, grid_id, alliance, skills):
    """Add a volunteer."""
    created = (
        state()
        .rpc()
        .volunteers.create_volunteer(
            **_given(
                name=name, phone=phone, email=email, teams=teams, grid_id=grid_id, alliance=alliance, skills=skills
            )
        )
    )
    emit(created, lambda v: make_table("Added", VOLUNTEER_COLUMNS, [volunteer_row(v)]))


@volunteers.command("edit")
@click.argument("volunteer_id", type=int)
@click.option("--name", help="full name")
@click.option("--phone", help="phone number")
@volunteer_fields
@json_option
def volunteers_edit(volunteer_id, name, phone, email, teams, grid_id, alliance, skills):
    """Change a volunteer's details (only the options given)."""
    changes = _given(
        name=name, phone=phone, email=email, teams=teams, grid_id=grid_id, alliance=alliance, skills=skills
    )
    if not changes:
        raise click.UsageError("give at least one field to change (see --help)")
    updated = state().rpc().volunteers.update_volunteer(volunteer_id=volunteer_id, **changes)
    emit(updated, lambda v: make_table("Updated", VOLUNTEER_COLUMNS, [volunteer_row(v)]))


@volunteers.command("deactivate")
@click.argument("volunteer_id", type=int)
@click.option("--reason", help="why (kept with the record)")
@json_option
def volunteers_deactivate(volunteer_id, reason):
    """Deactivate a volunteer (the record and history stay)."""
    result = state().rpc().volunteers.deactivate_volunteer(**_given(volunteer_id=volunteer_id, reason=reason))
    emit(result, lambda v: make_table("Deactivated", VOLUNTEER_COLUMNS, [volunteer_row(v)]))


@volunteers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="check every row, create nobody")
@json_option
def volunteers_import(file: Path, dry_run: bool):
    """Import volunteers from a .csv or .xlsx sheet; every rejected row is reported with its reason.

    Columns (English or Chinese headers): name/姓名, phone/电话, email/邮箱, teams/队伍, grid/网格,
    alliance/联盟, skills/技能. Lists are separated by ';' or '、'. Exit code 1 if any row is rejected.
    """
    try:
        rows = importer.read_sheet(file)
    except importer.SheetError as exc:
        raise Rejected(str(exc)) from None
    platform = state().platform()
    ref = importer.Reference.from_lists(platform.teams(), platform.grids(), platform.alliances())
    checked = importer.check_rows(rows, ref)
    created, rejected = [], []
    for row in checked:
        if not row.ok:
            rejected.append({"line": row.line, "name": row.name, "reasons": row.errors})
            continue
        if dry_run:
            created.append({"line": row.line, "name": row.name, "id": None})
            continue
        try:
            volunteer = platform.volunteers.create_volunteer(**row.data)
        except Exception as exc:
            failure = classify(exc)
            if failure is None or failure.code == UNREACHABLE:
                raise
            rejected.append({"line": row.line, "name": row.name, "reasons": [failure.message]})
            continue
        created.append({"line": row.line, "name": row.name, "id": volunteer["id"]})
    report = {"file": str(file), "rows": len(checked), "created": created, "rejected": rejected, "dry_run": dry_run}

    def table(r):
        verb = "would be created" if dry_run else "created"
        lines = make_table(
            f"{len(r['rejected'])} of {r['rows']} rows rejected, {len(r['created'])} {verb}",
            ["line", "name", "reason"],
            [[x["line"], x["name"], "; ".join(x["reasons"])] for x in r["rejected"]],
        )
        return lines

    emit(report, table)
    if rejected:
        sys.exit(REJECTED)


@volunteers.group("availability")
def availability():
    """A volunteer's availability."""


def _weekly(value: str) -> dict:
    """'sat 09:00-12:00' -> {"weekday": 5, "start": "09:00", "end": "12:00"}."""
    try:
        day, span = value.split()
        start, end = span.split("-")
        weekday = WEEKDAY_NAMES.index(day.lower()[:3])
        for t in (start, end):
            hours, minutes = t.split(":")
            if not (0 <= int(hours) <= 24 and 0 <= int(minutes) < 60):
                raise ValueError
    except ValueError:
        raise click.BadParameter(f"{value!r}: write it like 'sat 09:00-12:00'", param_hint="--weekly") from None
    return {"weekday": weekday, "start": start, "end": end}


def _dated(kind: str, value: str) -> dict:
    """'2026-12-05T18:00/2026-12-05T22:00' -> a dated window."""
    try:
        start, end = value.split("/")
    except ValueError:
        raise click.BadParameter(f"{value!r}: write START/END", param_hint=f"--{kind}") from None
    return {
        "kind": kind,
        "start": parse_when(start, f"--{kind}").isoformat(),
        "end": parse_when(end, f"--{kind}").isoformat(),
    }


@availability.command("set")
@click.argument("volunteer_id", type=int)
@click.option("--weekly", multiple=True, help="weekly window, e.g. 'sat 09:00-12:00' (repeat)")
@click.option("--off", multiple=True, help="time off, START/END in ISO 8601 (repeat)")
@click.option("--extra", multiple=True, help="extra availability, START/END (repeat)")
@json_option
def availability_set(volunteer_id, weekly, off, extra):
    """Replace a volunteer's availability with the windows given."""
    if not (weekly or off or extra):
        raise click.UsageError("give at least one --weekly, --off or --extra window")
    result = (
        state()
        .rpc()
        .volunteers.set_availability(
            volunteer_id=volunteer_id,
            weekly=[_weekly(w) for w in weekly],
            dated=[_dated("off", w) for w in off] + [_dated("extra", w) for w in extra],
        )
    )
    emit(
        result,
        lambda r: make_table(
            f"Availability of {volunteer_id}", ["field", "value"], [[k, _short(v)] for k, v in r.items()]
        ),
    )


# --- activities ------------------------------------------------------------------------------


@cli.group()
def activities():
    """Activities: list and create."""


@activities.command("list")
@click.option("--kind", help="patrol, tutoring, lecture, elderly_visit, sanitation, convenience, cultural")
@click.option("--team", help="team code")
@click.option("--grid", type=int, help="grid id")
@json_option
def activities_list(kind, team, grid):
    """List active activities."""
    found = state().rpc().activities.list_activities(**_given(kind=kind, team=team, grid=grid))
    emit(
        found,
        lambda rows: make_table(
            "Activities",
            ["id", "title", "kind", "team", "place", "start", "min", "rrule"],
            [
                [
                    a["id"],
                    a["title"],
                    a["kind"],
                    a.get("team"),
                    a.get("place"),
                    a["start"][:16],
                    a["duration_minutes"],
                    a.get("rrule"),
                ]
                for a in rows
            ],
        ),
    )


@activities.command("create")
@click.option("--title", required=True)
@click.option(
    "--kind", required=True, help="patrol, tutoring, lecture, elderly_visit, sanitation, convenience, cultural"
)
@click.option("--start", required=True, help="first start, ISO 8601 (local time if no offset)")
@click.option("--duration", "duration_minutes", type=int, required=True, help="minutes")
@click.option("--team", help="owning team code (default: by kind)")
@click.option("--grid", "grid_id", type=int, help="grid id")
@click.option("--courtyard")
@click.option("--room")
@click.option("--rrule", help="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=SA,SU")
@click.option("--capacity", type=int, help="room capacity (lectures, tutoring)")
@click.option("--role", "roles", multiple=True, help="NAME:NEEDED[:skill,skill] (repeat)")
@click.option("--description")
@json_option
def activities_create(
    title, kind, start, duration_minutes, team, grid_id, courtyard, room, rrule, capacity, roles, description
):
    """Define an activity, once or recurring."""
    try:  # the calendar page's reading, so skills keep their colon (tutoring:math)
        parsed_roles = agenda.parse_roles(roles)
    except InvalidInput:
        raise click.BadParameter("write NAME:NEEDED or NAME:NEEDED:skill,skill", param_hint="--role") from None
    created = (
        state()
        .rpc()
        .activities.create_activity(
            **_given(
                title=title,
                kind=kind,
                start=parse_when(start, "--start").isoformat(),
                duration_minutes=duration_minutes,
                team=team,
                grid_id=grid_id,
                courtyard=courtyard,
                room=room,
                rrule=rrule,
                capacity=capacity,
                description=description,
                roles=parsed_roles or None,
            )
        )
    )
    emit(
        created,
        lambda a: make_table(
            "Created",
            ["id", "title", "kind", "team", "place", "roles"],
            [
                [
                    a["id"],
                    a["title"],
                    a["kind"],
                    a.get("team"),
                    a.get("place"),
                    ", ".join(f"{r['name']}×{r['needed']}" for r in a["roles"]),
                ]
            ],
        ),
    )


# --- roster ----------------------------------------------------------------------------------


@cli.group()
def roster():
    """Patrol rosters: build, show, publish, repair; export a month to a file and solve one from a file."""


def roster_summary(r: dict) -> str:
    counts = boards.layout(r).counts()
    parts = [f"roster {r.get('id')}", f"status {r.get('status')}"]
    if r.get("solver_status"):
        parts.append(f"solver {r['solver_status']}")
    for key in ("objective", "bound"):
        if r.get(key) is not None:
            parts.append(f"{key} {boards.plain_number(r[key])}")
    if r.get("gap") is not None:
        parts.append(f"gap {r['gap']:.1%}")
    parts.append(f"shifts covered {counts['covered']}, short {counts['short']}, empty {counts['empty']}")
    return " · ".join(parts)


def board_tables(b: boards.Board, with_names: bool = False) -> list[Table]:
    """The board one week (Monday to Sunday) per table: a month side by side needs 200 columns or more,
    and a terminal of 80 squeezes every day out."""
    weeks: dict[tuple[int, int], list] = {}
    for day in b.days:
        weeks.setdefault(day.isocalendar()[:2], []).append(day)
    return [board_table(b, days, with_names) for days in weeks.values()]


def board_table(b: boards.Board, days: list, with_names: bool = False) -> Table:
    table = Table(box=box.SIMPLE_HEAVY, show_lines=False, title=f"{days[0]:%Y-%m-%d} – {days[-1]:%m-%d}")
    table.add_column("grid", no_wrap=True)
    style = {"covered": "green", "short": "yellow", "empty": "bold red"}
    for day in days:
        table.add_column(f"{day:%m-%d}\n{boards.weekday(day)}", justify="center", no_wrap=not with_names)
    for grid, name in b.grids:
        cells = []
        for day in days:
            shifts = b.cell(grid, day)
            lines = []
            for s in shifts:
                mark = "" if s.state == "covered" else (" !" if s.state == "short" else " ✗")
                lines.append(
                    f"[{style[s.state]}]{len(s.people)}/{s.minimum}{'L' if not s.leader_missing and s.leader_needed else ''}{mark}[/]"
                )
                if with_names:
                    lines += [("★" if p.leader else "") + escape(p.name) for p in s.people]
            cells.append("\n".join(lines) if lines else "·")
        table.add_row(name, *cells)
    return table


def show_roster(r: dict, names: dict[int, str] | None = None, grid_names: dict[int, str] | None = None) -> None:
    if state().as_json:
        emit(r)
        return
    b = boards.layout(r, names, grid_names)
    out.print(roster_summary(r))
    for table in board_tables(b, state().names):
        out.print(table)
    out.print("cell: assigned/minimum, L = leader present, ! short, ✗ nobody" + (", ★ leader" if state().names else ""))
    print_problems(r, b)


def print_problems(r: dict, b: boards.Board) -> None:
    """What cannot be covered: each reason once (a shortage found before solving is often the reason of
    gaps too) with the uncovered shifts it explains, then the suggested relaxations."""
    groups = b.gap_groups(r.get("problems") or [])
    if groups:
        out.print("[bold]Cannot be covered:[/]")
    for reason, cells in groups:
        out.print(f"  • {escape(reason or 'other gaps')}")
        if cells:
            out.print("      " + "; ".join(gap_label(b, c) for c in cells))
    for s in r.get("suggestions") or []:
        out.print(f"  → {escape(str(s.get('description') or s))}")


def gap_label(b: boards.Board, c: boards.ShiftCell) -> str:
    """G07 12-08 Tue 19:00 1/2 no leader"""
    return (
        f"{b.grid_label(c.grid)} {c.start:%m-%d} {boards.weekday(c.start.date())} {c.start:%H:%M} "
        f"{len(c.people)}/{c.minimum}{' no leader' if c.leader_missing else ''}"
    )


@contextlib.contextmanager
def progress_events(uri: str) -> Iterator[list[dict]]:
    """Collect ``activities`` ``roster_progress`` events while the block runs (a consumer thread)."""
    from kombu import Connection, Consumer, Queue
    from nameko.standalone.events import get_event_exchange

    received: list[dict] = []
    stop = threading.Event()
    ready = threading.Event()

    def consume():
        try:
            with Connection(uri) as conn:
                exchange = get_event_exchange("activities", {})
                queue = Queue(exclusive=True, auto_delete=True, exchange=exchange, routing_key="roster_progress")
                with Consumer(
                    conn,
                    queues=[queue],
                    callbacks=[lambda body, msg: (received.append(body), msg.ack())],
                    accept=["json"],
                ):
                    ready.set()
                    while not stop.is_set():
                        try:
                            conn.drain_events(timeout=0.2)
                        except TimeoutError:
                            continue
        except Exception:  # the bar then shows elapsed time only; the build itself reports errors
            pass
        finally:
            ready.set()

    thread = threading.Thread(target=consume, name="roster-progress", daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield received
    finally:
        stop.set()
        thread.join(2)


def progress_line(event: dict) -> str:
    line = f"{event.get('solutions', 0)} solutions"
    if event.get("objective") is not None:
        line += f", objective {boards.plain_number(event['objective'])}"
    if event.get("gap") is not None:
        line += f", gap {event['gap']:.1%}"
    return line + (", done" if event.get("done") else "")


@roster.command("build")
@click.option("--start", required=True, help="first day, YYYY-MM-DD")
@click.option("--days", type=click.IntRange(1, 62), default=28, show_default=True, help="number of days")
@click.option(
    "--grid",
    "grids",
    type=click.IntRange(min=1),
    multiple=True,
    help="only these grids (repeat; `guanyinli grids list` shows them)",
)
@click.option("--time-limit", type=click.FloatRange(0.5, 120), default=10.0, show_default=True, help="solver seconds")
@click.option("--coverage", type=click.Choice(["auto", "hard", "soft"]), default="auto", show_default=True)
@click.option("--neighbour-grids", is_flag=True, help="let volunteers patrol the grids next to their home grid")
@click.option("--max-per-week", type=click.IntRange(1, 14), help="most patrols a week for each volunteer [default: 3]")
@click.option(
    "--min-rest-hours",
    type=click.FloatRange(0, 72),
    help="least hours between two patrols of one volunteer [default: 12]",
)
@names_option
@json_option
def roster_build(start, days, grids, time_limit, coverage, neighbour_grids, max_per_week, min_rest_hours):
    """Build a draft patrol roster, with a live progress bar from the solver's progress events.

    The rule options try what-ifs ("if everyone patrolled once a week at most"); a draft changes nothing
    until it is published.
    """
    first = parse_when(start, "--start").replace(hour=0, minute=0, second=0, microsecond=0)
    end = first + timedelta(days=days)
    options = {"time_limit": time_limit, "coverage": coverage}
    if neighbour_grids:
        options["neighbour_grids"] = True
    for key, value in (("max_per_week", max_per_week), ("min_rest_hours", min_rest_hours)):
        if value is not None:
            options[key] = value
    st = state()
    platform = st.platform()
    result: dict = {}
    failure: list[BaseException] = []

    def call():
        try:
            result.update(platform.build_roster(first, end, list(grids), options))
        except BaseException as exc:  # re-raised in the main thread
            failure.append(exc)

    # The RPC proxy's connection is used from this thread only; events arrive on their own.
    with progress_events(st.uri) as events:
        worker = threading.Thread(target=call, name="build-roster", daemon=True)
        started = time.monotonic()
        worker.start()
        live = err.is_terminal and not st.as_json
        printed = 0
        with Progress(
            TextColumn("[bold]solving"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=err,
            disable=not live,
        ) as bar:
            task = bar.add_task("solve", total=time_limit, status="waiting for the solver")
            while worker.is_alive() or printed < len(events):
                worker.join(0.1)
                elapsed = time.monotonic() - started
                status = "waiting for the solver"
                if events:
                    last = events[-1]
                    elapsed = max(elapsed, float(last.get("elapsed") or 0))
                    status = progress_line(last)
                bar.update(task, completed=min(elapsed, time_limit), status=status)
                if not live and not st.as_json:
                    for e in events[printed:]:
                        err.print(f"progress: {progress_line(e)}", markup=False)
                printed = len(events)
            bar.update(task, completed=time_limit)
    if failure:
        raise failure[0]
    result.setdefault("progress_events", len(events))
    show_roster(result, _names_for(platform, result), _grid_names(platform))


@roster.command("solve")
@click.argument("month", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="file to write the roster to (patrol-roster/1 JSON)",
)
@click.option(
    "--time-limit", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True, help="seconds to search"
)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="solver threads")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True, help="seed of the search")
@click.option(
    "--lang",
    type=click.Choice(["en", "zh"]),
    default="en",
    show_default=True,
    help="language of the report (zh: reasons and capacity problems in Chinese)",
)
@json_option
def roster_solve(month, out_path, time_limit, workers, seed, lang):
    """Roster a month from a file on this machine: no broker, no database, no sign-in.

    MONTH is a patrol-roster/1 file (docs/ROSTER-FORMAT.md), such as `roster export` writes. While the
    solver searches, a line for every better roster goes to stderr (seconds, objective, bound). The
    roster is written to --out with the trace of the search, checked as written, and reported: the
    objective and its parts (spread of load among leaders and among the others, assignments off
    home), the shifts left short with the reasons, capacity problems, and the checker's verdict.

    \b
    Exit codes:
      0  the roster is complete and every rule holds
      3  the roster is written but leaves shifts short: the month cannot be covered (reasons given)
      2  MONTH cannot be read (the message names the field), or an option is wrong
      1  the checker finds a rule broken in the written roster (a fault of the solver: please report it)

    \b
    Example: guanyinli roster solve december.json --time-limit 30 --out december-roster.json
    """
    from organiser import rosterfile  # the solver and OR-Tools load for this command only

    try:
        month_data, instance = rosterfile.read_month(month)
        if not out_path.parent.is_dir():
            raise rosterfile.BadInput(f"--out {out_path}: the directory {out_path.parent} does not exist")
        click.echo(
            i18n.translate(lang, "solve_solving").format(
                name=instance.name or month.name,
                shifts=len(instance.problem.shifts),
                volunteers=len(instance.problem.volunteers),
                seconds=f"{time_limit:g}",
            ),
            err=True,
        )
        result = rosterfile.solve(
            instance,
            lambda *point: click.echo(rosterfile.progress_line(*point, lang=lang), err=True),
            time_limit=time_limit,
            workers=workers,
            seed=seed,
        )
        written = rosterfile.write(out_path, instance, result)
    except rosterfile.BadInput as exc:
        raise BadInput(str(exc)) from None
    verdict = rosterfile.check(month_data, written, lang)
    found = rosterfile.report(instance, result, written, verdict, month, out_path, lang)
    if state().as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(rosterfile.lines(found, lang)))
    sys.exit(verdict.code)


@roster.command("export")
@click.option("--start", required=True, help="first day, YYYY-MM-DD")
@click.option("--days", type=click.IntRange(1, 62), default=28, show_default=True, help="number of days")
@click.option(
    "--grid",
    "grids",
    type=click.IntRange(min=1),
    multiple=True,
    help="only these grids (repeat; `guanyinli grids list` shows them)",
)
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="file to write (default: print it)"
)
@json_option
def roster_export(start, days, grids, out_path):
    """Write the month a build would roster as a patrol-roster/1 file, for `roster solve` or any solver.

    The same patrols, volunteers and availability as `roster build` with the service's default rules;
    volunteers by name, nothing else personal. Organisers and viewers may export.

    \b
    Example: guanyinli roster export --start 2026-12-07 --days 28 --out december.json
    """
    first = parse_when(start, "--start").replace(hour=0, minute=0, second=0, microsecond=0)
    if out_path is not None and not out_path.parent.is_dir():
        raise BadInput(f"--out {out_path}: the directory {out_path.parent} does not exist")
    month = state().platform().export_roster_month(first, first + timedelta(days=days), list(grids))
    text = json.dumps(month, ensure_ascii=False, indent=1)
    if out_path is None:
        click.echo(text)
        return
    try:
        out_path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{out_path}: cannot be written ({exc.strerror or exc})") from None
    emit(
        {
            "out": str(out_path),
            "name": month["name"],
            "shifts": len(month["shifts"]),
            "volunteers": len(month["volunteers"]),
        },
        lambda m: f"{m['name']}: {m['shifts']} shifts, {m['volunteers']} volunteers written to {m['out']}",
    )


def _names_for(platform: Platform, r: dict) -> dict[int, str]:
    ids = boards.volunteer_ids(r)
    try:
        return platform.names(ids) if ids else {}
    except Exception:  # names are a nicety: the board still reads with ids
        return {}


def _grid_names(platform: Platform) -> dict[int, str]:
    """Grid codes (G07) label the rows: the full names are too wide for a terminal."""
    try:
        return {int(g["id"]): g.get("code") or str(g["id"]) for g in platform.grids()}
    except Exception:
        return {}


@roster.command("list")
@json_option
def roster_list():
    """List the rosters (drafts and published), newest first, with what sets them apart."""
    emit(
        state().platform().list_rosters(),
        lambda rows: roster_list_table([roster_row(r) for r in rows]),
    )


def roster_list_table(rows: list[list]) -> Table:
    """The rosters as a table; status and solver wrap at their spaces, no word is cut."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    table = make_table("Rosters", [], rows=[])
    table.pad_edge = False
    for k, column in enumerate(("id", "status", "from", "days", "grids", "solver", "cost", "gap", "short")):
        words = [column] + [w for row in cells for w in row[k].split()]
        table.add_column(column, min_width=max(map(len, words)))
    for row in cells:
        table.add_row(*row)
    return table


def roster_row(r: dict) -> list:
    """One roster in the list, narrow enough for an 80-column terminal: what an organiser compares drafts
    by, and for a repair the roster it replaced (the time it was made is in --json)."""
    status = r.get("status") or ""
    if r.get("parent_id"):
        status += f"\nrepair of {r['parent_id']}\n{r.get('changed') or 0} changed"
    start, end = (str(r.get(k) or "")[:10] for k in ("start", "end"))
    try:
        days = (date.fromisoformat(end) - date.fromisoformat(start)).days
    except ValueError:
        days = None
    return [
        r["id"],
        status,
        start,
        days,
        boards.number_ranges(r.get("grids") or []),
        (r.get("solver_status") or "").replace("_", " ") or None,
        None if r.get("objective") is None else boards.plain_number(r["objective"]),
        None if r.get("gap") is None else f"{r['gap']:.1%}",
        r.get("shifts_short"),
    ]


@roster.command("show")
@click.argument("roster_id", type=int)
@names_option
@json_option
def roster_show(roster_id):
    """Show a roster as a grid-by-day table, with what cannot be covered."""
    platform = state().platform()
    r = platform.get_roster(roster_id)
    show_roster(r, _names_for(platform, r), _grid_names(platform))


@roster.command("report")
@click.argument("roster_id", type=int)
@click.option(
    "--top", default=10, show_default=True, type=click.IntRange(0, 1000), help="volunteers furthest from their target"
)
@json_option
def roster_report(roster_id, top):
    """A roster's report: cost per soft rule, load by role, coverage by grid, who is furthest from their target."""
    platform = state().platform()
    if state().as_json:
        emit(platform.roster_report(roster_id))
        return
    r = platform.get_roster(roster_id)
    grids = _grid_names(platform)
    out.print(roster_summary(r))
    for table in report_tables(r, _names_for(platform, r), grids, top):
        out.print(table)
    print_problems(r, boards.layout(r, grid_names=grids))


def report_tables(r: dict, names: dict[int, str], grids: dict[int, str], top: int = 10) -> list[Table]:
    """The report of a roster as tables; a roster still solving (or failed) has none."""
    report = r.get("report")
    if not report:
        return []
    costs = {rule: cost for rule, cost in (report.get("costs") or {}).items() if cost}
    total = sum(costs.values())
    tables = [
        make_table(
            "Cost per soft rule",
            ["rule", "cost", "share"],
            [
                [rule, boards.plain_number(cost), f"{cost / total:.0%}"]
                for rule, cost in sorted(costs.items(), key=lambda c: -c[1])
            ]
            + [["total", boards.plain_number(total), ""]],
        )
    ]
    load = report.get("load") or {}
    tables.append(
        make_table(
            "Load by role (shifts per volunteer; leaders are meant to carry more)",
            ["role", "volunteers", "min", "mean", "max", "shifts - own target"],
            [
                [role, x.get("volunteers"), x.get("min"), x.get("mean"), x.get("max")]
                + [f"{x.get('min_over_target'):+d} to {x.get('max_over_target'):+d}"]
                for role, x in sorted(load.items())
            ],
        )
    )
    coverage = report.get("coverage") or {}
    tables.append(
        make_table(
            "Coverage by grid",
            ["grid", "shifts", "covered", "places", "filled", "missing"],
            [
                [grids.get(int(g), g), c.get("shifts"), c.get("covered"), c.get("places"), c.get("filled")]
                + [c.get("missing")]
                for g, c in sorted(coverage.items(), key=lambda gc: int(gc[0]))
            ],
        )
    )
    if top:
        furthest = sorted(boards.fairness_rows(r, names), key=lambda p: (-abs(p["delta"]), p["name"]))[:top]
        tables.append(
            make_table(
                f"Furthest from their own target (top {top})",
                ["volunteer", "role", "shifts", "target", "difference"],
                [[p["name"], p["role"], p["shifts"], p["target"], f"{p['delta']:+d}"] for p in furthest],
            )
        )
    return tables


@roster.command("publish")
@click.argument("roster_id", type=int)
@json_option
def roster_publish(roster_id):
    """Publish a draft roster: volunteers get their duties (and see them in their calendars)."""
    result = state().platform().publish_roster(roster_id)
    emit(result, lambda r: f"roster {roster_id} published: {roster_summary(r)}")


@roster.command("repair")
@click.argument("roster_id", type=int)
@click.option(
    "--volunteer", "volunteer", required=True, help="the volunteer who dropped out: number, or name in the roster"
)
@names_option
@json_option
def roster_repair(roster_id, volunteer):
    """Re-plan a roster after a volunteer drops out, changing as few assignments as possible."""
    platform = state().platform()
    (volunteer_id,) = _typed(platform, roster_id, {"--volunteer": volunteer})
    r = platform.repair_roster(roster_id, volunteer_id)
    show_roster(r, _names_for(platform, r), _grid_names(platform))


@roster.command("swap")
@click.argument("roster_id", type=int)
@click.argument("volunteer_a")
@click.argument("day_a", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]))
@click.argument("volunteer_b")
@click.argument("day_b", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]))
@json_option
def roster_swap(roster_id, volunteer_a, day_a, volunteer_b, day_b):
    """Swap two volunteers' shifts: VOLUNTEER_A takes VOLUNTEER_B's shift of DAY_B and B takes A's of DAY_A.

    Checked against the hard rules first (grid, availability, rest, weekly cap, a leader on each patrol);
    a swap that would break one is refused with the rule it breaks (exit code 1). In a published roster
    both volunteers' duties change at once.

    A volunteer is their number, or their name when only one person of the roster has it. A day is
    YYYY-MM-DD, or YYYY-MM-DDTHH:MM for a volunteer with two patrols that day.

    Example: guanyinli roster swap 3 12 2026-12-08 王芳 2026-12-10
    """
    platform = state().platform()
    volunteer_a, volunteer_b = _typed(platform, roster_id, {"VOLUNTEER_A": volunteer_a, "VOLUNTEER_B": volunteer_b})
    try:
        swap, shift_a, shift_b = platform.swap_on_days(roster_id, volunteer_a, day_a, volunteer_b, day_b)
    except LookupError as exc:
        raise Rejected(str(exc)) from None
    names = _names_for(platform, {"assignments": [{"volunteer_id": volunteer_a}, {"volunteer_id": volunteer_b}]})
    grids = _grid_names(platform)

    def said(s: dict) -> str:
        a, b = (names.get(v, str(v)) for v in (volunteer_a, volunteer_b))
        return (
            f"swap {s['swap_id']} {s['status']}: {a} takes {boards.shift_label(shift_b, grids)}, "
            f"{b} takes {boards.shift_label(shift_a, grids)}"
        )

    emit(swap, said)


SWAP_STATUSES = ("proposed", "accepted", "declined", "withdrawn", "rejected", "expired")


@roster.command("swaps")
@click.argument("roster_id", type=int)
@click.option("--status", type=click.Choice(SWAP_STATUSES), help="only these (proposed: waiting for an answer)")
@json_option
def roster_swaps(roster_id, status):
    """List a roster's swaps, newest first: who proposed which shift for which, and where each stands.

    A volunteer's swap waits (proposed) until the other volunteer or an organiser accepts it, and
    expires when either shift starts; an organiser's swap (roster swap) is accepted at once.
    """
    platform = state().platform()
    rows = platform.list_swaps(roster_id, status)
    r = platform.get_roster(roster_id)
    shifts = {s["shift_id"]: s for s in r.get("shifts") or ()}
    ids = {v for x in rows for v in (x["volunteer_a"], x["volunteer_b"])}
    names = platform.names(ids) if ids and not state().as_json else {}
    grids = _grid_names(platform)

    def label(shift_id: str) -> str:
        return boards.shift_label(shifts[shift_id], grids) if shift_id in shifts else shift_id

    def table(found: list[dict]) -> Table:
        return make_table(
            f"Swaps of roster {roster_id}",
            ["swap", "status", "A", "A's shift", "B", "B's shift", "proposed by", "answered by"],
            [
                [x["swap_id"], x["status"], names.get(x["volunteer_a"], x["volunteer_a"]), label(x["shift_a"])]
                + [names.get(x["volunteer_b"], x["volunteer_b"]), label(x["shift_b"])]
                + [
                    "organiser" if x["proposed_by"] is None else names.get(x["proposed_by"], x["proposed_by"]),
                    x.get("decided_by"),
                ]
                for x in found
            ],
        )

    emit(rows, table)


def _typed(platform: Platform, roster_id: int, typed: dict[str, str]) -> list[int]:
    """Volunteers given by number or by name (Platform.volunteers_typed); exit 1 naming the argument."""
    try:
        return platform.volunteers_typed(roster_id, typed)
    except LookupError as exc:
        raise Rejected(str(exc)) from None


# --- attendance, leaderboard, feeds ----------------------------------------------------------


@cli.group()
def attendance():
    """Attendance of duties."""


@attendance.command("mark")
@click.argument("signup_id", type=int)
@click.argument("status", type=click.Choice(["attended", "no_show", "excused"]))
@click.option("--hours", type=float, help="hours served (default: the duty's length)")
@json_option
def attendance_mark(signup_id, status, hours):
    """Mark a duty attended, no_show or excused."""
    result = state().platform().mark_attendance(signup_id, status, hours)
    emit(
        result,
        lambda s: make_table(
            "Attendance",
            ["sign-up", "volunteer", "role", "start", "attendance", "hours"],
            [[s["id"], s["volunteer_id"], s["role"], s["duty_start"][:16], s.get("attendance"), s.get("hours")]],
        ),
    )


@attendance.command("sheet")
@click.argument("day", required=False)
@json_option
def attendance_sheet(day):
    """The duties of a day (default today) with their sign-up ids, to mark attendance."""
    when = parse_when(day, "DAY").date() if day else datetime.now(TZ).date()
    rows = state().platform().attendance_sheet(when)
    emit(
        rows,
        lambda rows: make_table(
            f"Duties on {when}",
            ["sign-up", "time", "activity", "role", "volunteer", "attendance"],
            [
                [
                    d["id"],
                    f"{d['duty_start'][11:16]}-{d['duty_end'][11:16]}",
                    d["title"],
                    d["role"],
                    d["volunteer_name"],
                    d.get("attendance") or "",
                ]
                for d in rows
            ],
        ),
    )


@cli.command("leaderboard")
@click.option("--team", help="team code")
@click.option("--grid", type=int, help="grid id")
@click.option("--since", help="count entries from this date (YYYY-MM-DD)")
@json_option
def leaderboard(team, grid, since):
    """Volunteers ranked by points, with their hours."""
    since_iso = parse_when(since, "--since").isoformat() if since else None
    rows = state().rpc().volunteers.leaderboard(**_given(team=team, grid=grid, since=since_iso))
    items = rows["items"] if isinstance(rows, dict) and "items" in rows else rows
    emit(
        rows,
        lambda _: make_table(
            "Leaderboard",
            ["rank", "volunteer", "name", "points", "hours"],
            [
                [r.get("rank", i + 1), r.get("volunteer_id"), r.get("name"), r.get("points"), r.get("hours")]
                for i, r in enumerate(items)
            ],
        ),
    )


@cli.command("feed-links")
@click.argument("volunteer_id", type=int)
@click.option("--issue", is_flag=True, help="create the personal link if the volunteer has none yet")
@click.option("--public", "with_public", is_flag=True, help="also list the public calendars (teams, grids, kinds)")
@json_option
def feed_links(volunteer_id, issue, with_public):
    """Print a volunteer's calendar subscription links (https and webcal://).

    Exit code 1 when the volunteer has no personal link yet (then use --issue).
    """
    links = state().platform().feed_urls(volunteer_id, issue=issue)

    def table(found):
        # Links are printed whole, one per line: a table would cut them to the terminal's width.
        lines = [f"Calendars of volunteer {volunteer_id}"]
        if found.get("personal"):
            lines += [f"  personal  {found['personal']['webcal']}", f"            {found['personal']['https']}"]
        if with_public:
            lines += [f"  {p['name']}  {p['webcal']}" for p in found.get("public") or []]
        return "\n".join(lines)

    emit(links, table)
    if not links.get("personal"):
        err.print(f"volunteer {volunteer_id} has no personal calendar link yet: run again with --issue")
        sys.exit(REJECTED)


# --- organiser accounts ----------------------------------------------------------------------


@cli.group()
def organisers():
    """Accounts of the organiser web page."""


@organisers.command("add")
@click.argument("name")
@click.option("--display-name", help="name shown on the page (default: NAME)")
@click.option(
    "--role",
    type=click.Choice(["organiser", "viewer"]),
    default="organiser",
    show_default=True,
    help="viewer: sees boards and reports without private data, changes nothing",
)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (for scripts)")
@json_option
def organisers_add(name, display_name, role, password_stdin):
    """Create an account for the organiser web page (asks for the password twice)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    account = (
        state()
        .rpc()
        .organiser.create_account(username=name, password=password, display_name=display_name or name, role=role)
    )
    emit(account, lambda a: f"account {a['username']} ({a['role']}) created")


@organisers.command("deactivate")
@click.argument("name")
@json_option
def organisers_deactivate(name):
    """End an account: it can no longer log in, its page sessions end, its tokens stop counting."""
    account = state().rpc().organiser.deactivate_account(username=name)
    emit(account, lambda a: f"account {a['username']} deactivated; its sessions and tokens no longer count")


@organisers.command("list")
@json_option
def organisers_list():
    """List the accounts of the organiser web page."""
    emit(
        state().rpc().organiser.list_accounts(),
        lambda rows: make_table(
            "Organiser accounts",
            ["id", "username", "name", "role", "active", "last login"],
            [
                [
                    a["id"],
                    a["username"],
                    a["display_name"],
                    a["role"],
                    "yes" if a["active"] else "no",
                    a.get("last_login_at") or "",
                ]
                for a in rows
            ],
        ),
    )


# --- identity --------------------------------------------------------------------------------


@cli.command("login")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (for scripts)")
@json_option
def login(username, password_stdin):
    """Sign in with an organiser page account; later commands carry its token (12 hours, renewed)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, err=True)
    community = state().community
    where = {} if community is None else {"community": community}
    answer = state().rpc(anonymous=True).organiser.issue_token(username=username, password=password, **where)
    path = credentials.save_login(answer, community)
    emit(
        {"username": username, "roles": answer["roles"], "expires": answer["expires"], "saved": str(path)},
        lambda a: f"signed in as {username} ({', '.join(a['roles'])}) until {a['expires']}; token in {a['saved']}",
    )


@cli.command("logout")
def logout():
    """Forget the token of `guanyinli login`."""
    click.echo("signed out" if credentials.forget_login(state().community) else "was not signed in")


@cli.command("revoke")
@click.argument("subject")
@click.option("--reason", help="why, kept with the revocation")
@json_option
def revoke(subject, reason):
    """Make every token of SUBJECT issued until now stop counting on every service.

    SUBJECT as tokens name it: account:NAME, volunteer:ID, system:NAME (a `guanyinli token --role
    system --name NAME`), service:NAME. Tokens issued afterwards count again. With --community,
    that community's SUBJECT (the service adds its @SLUG).
    """
    found = state().rpc().organiser.revoke_identity(**_given(subject=subject, reason=reason))
    emit(found, lambda r: f"tokens of {r['subject']} issued until {r['before']} no longer count")


@cli.command("token")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["organiser", "viewer", "grid_leader", "volunteer", "system"]),
    default=["organiser"],
    show_default=True,
    help="role the token grants (repeat for several)",
)
@click.option("--volunteer-id", type=int, help="the volunteer the token is for (volunteer, grid_leader)")
@click.option("--grid", "grids", type=int, multiple=True, help="a grid a grid leader leads (repeat)")
@click.option("--name", default=None, help="who or what holds the token, e.g. the appeals system")
@click.option("--hours", type=float, default=12, show_default=True, help="how long it is valid")
@click.option(
    "--community",
    default=None,
    callback=lambda _ctx, _param, value: _community(value),
    help="the community it is for (default: the command line's --community)",
)
def token(roles, volunteer_id, grids, name, hours, community):
    """Print an identity token for a program outside nameko (signed with the operator's key).

    Put it in context data: Client(uri, context_data={"identity": TOKEN}). Needs the operator's
    tools key (IDENTITY_TOOLS_KEY, $IDENTITY_KEYS_DIR/tools.key, or a local run's var/keys).
    """
    if not credentials.has_tools_key():
        raise Rejected("no operator key here (IDENTITY_TOOLS_KEY): sign in with `guanyinli login` instead")
    if not 0 < hours <= 24 * 90:
        raise click.BadParameter("between 0 and 2160 hours", param_hint="--hours")
    click.echo(
        credentials.tools_token(
            list(roles),
            volunteer_id=volunteer_id,
            grid_ids=grids,
            name=name,
            seconds=int(hours * 3600),
            community=community or state().community,
        )
    )


# --- programmes: their command groups live in modules of their own, built on the helpers above ---

from organiser import (  # noqa: E402
    cli_appeals_report,  # noqa: E402, F401  (adds `appeals report`)
    cli_calendar,  # noqa: E402,F401 - its commands join the groups above as it is imported
    cli_lectures,
    cli_school,
)
from organiser.cli_appeals import appeals  # noqa: E402
from organiser.cli_cleanups import cleanups  # noqa: E402
from organiser.cli_partners import partners  # noqa: E402
from organiser.cli_visits import visits  # noqa: E402

for group in (cli_school.school, visits, cli_lectures.lectures, cleanups, appeals, partners):
    cli.add_command(group)


# --- entry point -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``guanyinli = "organiser.cli:main"``)."""
    cli.main(args=argv, prog_name="guanyinli")


if __name__ == "__main__":  # pragma: no cover
    main()
