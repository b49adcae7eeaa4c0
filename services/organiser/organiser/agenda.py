"""The organisers' calendar of every programme, as plain data: the week or month shown, its days
with their occurrences, what the forms to create, edit, move and sign up mean, who holds each
role of an occurrence, and the month as a workbook. No HTTP and no click: the page
(``organiser.calendar_pages``) and the command line (``organiser.cli_calendar``) share it."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from guanyinli.errors import InvalidInput
from guanyinli.events import KINDS
from guanyinli.schemas import TEAM_CODE
from guanyinli.timeutil import TZ, iso, local

VIEWS = ("week", "month")
MARKS = ("attended", "no_show", "excused")


@dataclass(frozen=True)
class Window:
    """The days a calendar shows: a week from its Monday, or a month (whole weeks, Monday to Sunday)."""

    view: str
    anchor: date  # the week's Monday, or the month's first day

    @classmethod
    def of(cls, view: str, day: date) -> Window:
        if view not in VIEWS:
            raise InvalidInput("view: week or month", "视图只能是周或月")
        if view == "week":
            return cls(view, day - timedelta(days=day.weekday()))
        return cls(view, day.replace(day=1))

    @property
    def first(self) -> date:
        """The first day shown (a month starts on the Monday of its first week)."""
        return self.anchor - timedelta(days=self.anchor.weekday())

    @property
    def last(self) -> date:
        """The day after the last day shown."""
        if self.view == "week":
            return self.anchor + timedelta(days=7)
        end = next_month(self.anchor)
        return end + timedelta(days=(7 - end.weekday()) % 7)

    @property
    def period(self) -> tuple[datetime, datetime]:
        """The week, or the month's own days, as local datetimes [start, end)."""
        end = self.anchor + timedelta(days=7) if self.view == "week" else next_month(self.anchor)
        return midnight(self.anchor), midnight(end)

    @property
    def shown(self) -> tuple[datetime, datetime]:
        return midnight(self.first), midnight(self.last)

    def previous(self) -> date:
        return (
            self.anchor - timedelta(days=7) if self.view == "week" else (self.anchor - timedelta(days=1)).replace(day=1)
        )

    def following(self) -> date:
        return self.anchor + timedelta(days=7) if self.view == "week" else next_month(self.anchor)

    def focus(self, today: date) -> date:
        """The day another view opens on: today when it is shown here, else the week's or month's first."""
        start, end = (d.date() for d in self.period)
        return today if start <= today < end else self.anchor

    def label(self) -> str:
        if self.view == "month":
            return f"{self.anchor:%Y-%m}"
        return f"{self.anchor} – {self.anchor + timedelta(days=6)}"


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TZ)


def next_month(day: date) -> date:
    first = day.replace(day=1)
    return (first + timedelta(days=32)).replace(day=1)


def parse_month(value: str | None, today: date) -> date:
    """``YYYY-MM`` as the month's first day; empty: this month."""
    if not value:
        return today.replace(day=1)
    try:
        return datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidInput("month: YYYY-MM", "月份格式为 年-月，例如 2026-12") from None


def parse_day(value: str | None, today: date, name: str = "date") -> date:
    if not value:
        return today
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name}: YYYY-MM-DD", "日期格式为 年-月-日") from None


@dataclass(frozen=True)
class Filters:
    """Which activities a calendar shows; each empty means every one."""

    kind: str | None = None
    team: str | None = None
    grid: int | None = None

    @classmethod
    def read(cls, values: Mapping[str, str | None]) -> Filters:
        kind, team, grid = (values.get(k) or None for k in ("kind", "team", "grid"))
        if kind is not None and kind not in KINDS:
            raise InvalidInput(f"kind: one of {', '.join(KINDS)}", "活动类别不对")
        if team is not None and not TEAM_CODE.match(team):  # which teams there are: the community's own
            raise InvalidInput("team: a team code (`guanyinli teams list`)", "队伍代码不对")
        try:
            grid_id = int(grid) if grid is not None else None
        except ValueError:
            raise InvalidInput("grid: a grid number", "网格应为编号") from None
        return cls(kind, team, grid_id)

    def query(self) -> dict:
        """As list_occurrences' arguments and as a page's query string."""
        return {k: v for k, v in (("kind", self.kind), ("team", self.team), ("grid", self.grid)) if v is not None}


# --- occurrences as the calendar shows them -------------------------------------------------------


@dataclass
class Entry:
    """One occurrence in a calendar cell."""

    id: int | None
    activity_id: int
    title: str
    kind: str
    team: str | None
    place: str
    start: datetime
    end: datetime
    status: str
    confirmed: int
    needed: int
    waitlisted: int
    overridden: bool
    cancel_reason: str | None

    @property
    def short(self) -> bool:
        """Some role has fewer volunteers than it needs."""
        return self.status == "scheduled" and self.confirmed < self.needed


def entry(occurrence: Mapping) -> Entry:
    roles = occurrence.get("roles") or []
    return Entry(
        id=occurrence.get("id"),
        activity_id=occurrence["activity_id"],
        title=occurrence["title"],
        kind=occurrence["kind"],
        team=occurrence.get("team"),
        place=occurrence.get("place") or "",
        start=local(datetime.fromisoformat(occurrence["start"])),
        end=local(datetime.fromisoformat(occurrence["end"])),
        status=occurrence.get("status") or "scheduled",
        confirmed=sum(int(r.get("confirmed") or 0) for r in roles),
        needed=sum(int(r.get("needed") or 0) for r in roles),
        waitlisted=sum(int(r.get("waitlisted") or 0) for r in roles),
        overridden=bool(occurrence.get("overridden")),
        cancel_reason=occurrence.get("cancel_reason"),
    )


@dataclass
class Day:
    day: date
    in_period: bool  # a month view shows the days of the weeks around it greyed
    entries: list[Entry] = field(default_factory=list)


def days(window: Window, occurrences: Iterable[Mapping]) -> list[Day]:
    """Every day shown, each with the occurrences starting on it in time order."""
    shown = []
    current = window.first
    period_start, period_end = (d.date() for d in window.period)
    while current < window.last:
        shown.append(Day(current, period_start <= current < period_end))
        current += timedelta(days=1)
    by_day = {d.day: d for d in shown}
    for occ in occurrences:
        e = entry(occ)
        if e.start.date() in by_day:
            by_day[e.start.date()].entries.append(e)
    for d in shown:
        d.entries.sort(key=lambda e: (e.start, e.title))
    return shown


def weeks(shown: list[Day]) -> list[list[Day]]:
    return [shown[i : i + 7] for i in range(0, len(shown), 7)]


# --- who holds each role of one occurrence --------------------------------------------------------


@dataclass
class Holder:
    volunteer_id: int
    name: str
    signup_id: int | None  # only organisers read sign-ups (activities.list_signups)
    status: str  # confirmed | waitlisted
    waitlist_position: int | None = None
    attendance: str | None = None
    hours: float | None = None


@dataclass
class RoleSheet:
    name: str
    needed: int
    capacity: int
    skills: list[str]
    duty_start: datetime
    duty_end: datetime
    confirmed: list[Holder]
    waitlist: list[Holder]


def role_sheets(occurrence: Mapping, signups: Iterable[Mapping] | None, names: Mapping[int, str]) -> list[RoleSheet]:
    """The occurrence's roles with their volunteers and waitlist in order; the sign-ups (when the caller
    may read them) add their ids, attendance and hours."""
    found = {(s["role"], s["volunteer_id"]): s for s in signups or () if s["status"] in ("confirmed", "waitlisted")}

    def holder(role: str, vid: int, status: str, position: int | None = None) -> Holder:
        s = found.get((role, vid), {})
        return Holder(
            vid,
            names.get(vid, f"#{vid}"),
            s.get("id"),
            status,
            s.get("waitlist_position", position),
            s.get("attendance"),
            s.get("hours"),
        )

    return [
        RoleSheet(
            name=r["name"],
            needed=int(r.get("needed") or 0),
            capacity=int(r.get("capacity") or 0),
            skills=list(r.get("skills") or []),
            duty_start=local(datetime.fromisoformat(r["duty_start"])),
            duty_end=local(datetime.fromisoformat(r["duty_end"])),
            confirmed=[holder(r["name"], v, "confirmed") for v in r.get("volunteer_ids") or []],
            waitlist=[holder(r["name"], v, "waitlisted", i + 1) for i, v in enumerate(r.get("waitlist") or [])],
        )
        for r in occurrence.get("roles") or []
    ]


def people_of(occurrences: Iterable[Mapping]) -> set[int]:
    return {
        v
        for occ in occurrences
        for r in occ.get("roles") or []
        for v in (r.get("volunteer_ids") or []) + (r.get("waitlist") or [])
    }


def volunteer_typed(text: str, volunteers: Iterable[Mapping]) -> int:
    """A volunteer an organiser typed: their number, or their name when exactly one volunteer has it."""
    text = (text or "").strip()
    if text.isdigit():
        return int(text)
    matches = [int(v["id"]) for v in volunteers if v.get("name") == text]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InvalidInput(f"volunteer: no volunteer is called {text!r}", f"没有名叫“{text}”的志愿者")
    raise InvalidInput(
        f"volunteer: {len(matches)} volunteers are called {text!r}; type the number",
        f"有{len(matches)}位“{text}”，请填编号",
    )


# --- forms -----------------------------------------------------------------------------------------


def parse_roles(specs: Iterable[str]) -> list[dict]:
    """Roles written NAME:NEEDED or NAME:NEEDED:skill,skill (one a line on the page, repeated on the
    command line)."""
    roles = []
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        parts = spec.split(":", 2)  # skills may hold a colon themselves (tutoring:math)
        if len(parts) not in (2, 3) or not parts[1].strip().isdigit():
            raise InvalidInput(
                f"roles: {spec!r}: write NAME:NEEDED or NAME:NEEDED:skill,skill", f"岗位“{spec}”应写作 名称:人数"
            )
        role = {"name": parts[0].strip(), "needed": int(parts[1])}
        if len(parts) == 3 and parts[2].strip():
            role["skills"] = [s.strip() for s in parts[2].split(",") if s.strip()]
        roles.append(role)
    return roles


def roles_text(roles: Iterable[Mapping]) -> str:
    """Roles as ``parse_roles`` reads them, one a line."""
    lines = []
    for r in roles:
        line = f"{r['name']}:{r['needed']}"
        if r.get("skills"):
            line += ":" + ",".join(r["skills"])
        lines.append(line)
    return "\n".join(lines)


def local_moment(day: str | None, at: str | None, name: str) -> datetime:
    """A date and a time of a form (Asia/Shanghai)."""
    try:
        return datetime.combine(date.fromisoformat((day or "").strip()), time.fromisoformat((at or "").strip()), TZ)
    except ValueError:
        raise InvalidInput(
            f"{name}: a date (YYYY-MM-DD) and a time (HH:MM)", "请填写日期（年-月-日）和时间（时:分）"
        ) from None


FREQUENCIES = {"once": None, "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY"}


def rrule_of(repeat: str | None, count: str | None, until: str | None, weekdays: Iterable[str] = ()) -> str | None:
    """The RRULE of the page's repeat fields: how often, and how many times or until which day."""
    freq = FREQUENCIES.get(repeat or "once", "invalid")
    if freq == "invalid":
        raise InvalidInput("repeat: once, daily, weekly or monthly", "重复方式不对")
    if freq is None:
        return None
    rule = f"FREQ={freq}"
    days = [d for d in weekdays if d in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")]
    if days and freq == "WEEKLY":
        rule += ";BYDAY=" + ",".join(days)
    if (count or "").strip():
        if not count.strip().isdigit() or not 1 <= int(count) <= 500:
            raise InvalidInput("count: 1 to 500 times", "次数为 1 到 500")
        return f"{rule};COUNT={int(count)}"
    if (until or "").strip():
        last = parse_day(until, date.today(), "until")
        return f"{rule};UNTIL={last:%Y%m%d}"  # a date: inclusive of that local day
    raise InvalidInput("count or until: how many times, or until which day", "请填写重复次数或截止日期")


def optional_int(value: str | None, name: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name}: a number", "应填数字") from None


def hours_of(value: str | None) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        hours = float(value)
    except ValueError:
        raise InvalidInput("hours: a number, e.g. 1.5", "时长应为数字，例如 1.5") from None
    if not 0 <= hours <= 24:
        raise InvalidInput("hours: 0 to 24", "时长为 0 到 24 小时")
    return hours


# --- the month as a workbook ----------------------------------------------------------------------

SUMMARY_COLUMNS = (
    ("date", "日期"),
    ("time", "时间"),
    ("activity", "活动"),
    ("kind", "类别"),
    ("team", "队伍"),
    ("place", "地点"),
    ("status", "状态"),
    ("reason", "原因"),
    ("confirmed", "已报名"),
    ("needed", "需要"),
    ("waitlisted", "候补"),
    ("attended", "到场"),
    ("hours", "时长合计"),
)
PEOPLE_COLUMNS = (
    ("date", "日期"),
    ("time", "时间"),
    ("activity", "活动"),
    ("occurrence", "场次编号"),
    ("role", "岗位"),
    ("volunteer_id", "志愿者编号"),
    ("volunteer", "志愿者"),
    ("signup", "报名状态"),
    ("attendance", "出勤"),
    ("hours", "时长"),
)


def month_rows(
    occurrences: list[Mapping], signups: list[Mapping], names: Mapping[int, str]
) -> tuple[list[list], list[list]]:
    """The month's summary (one row per occurrence) and its people (one row per sign-up, or per role
    that has nobody yet)."""
    by_occurrence: dict[int, list[Mapping]] = {}
    for s in signups:
        by_occurrence.setdefault(s["occurrence_id"], []).append(s)
    summary, people = [], []
    for occ in occurrences:
        e = entry(occ)
        mine = by_occurrence.get(occ.get("id"), [])
        attended = [s for s in mine if s.get("attendance") == "attended"]
        when = (e.start.date().isoformat(), f"{e.start:%H:%M}-{e.end:%H:%M}")
        summary.append(
            [
                *when,
                e.title,
                e.kind,
                e.team or "",
                e.place,
                e.status,
                e.cancel_reason or "",
                e.confirmed,
                e.needed,
                e.waitlisted,
                len(attended),
                round(sum(float(s.get("hours") or 0) for s in attended), 2),
            ]
        )
        for role in occ.get("roles") or []:
            held = [s for s in mine if s["role"] == role["name"]]
            for s in held:
                vid = s["volunteer_id"]
                people.append(
                    [
                        *when,
                        e.title,
                        occ.get("id"),
                        role["name"],
                        vid,
                        names.get(vid, f"#{vid}"),
                        s["status"],
                        s.get("attendance") or "",
                        s.get("hours") if s.get("hours") is not None else "",
                    ]
                )
            if not held:
                people.append([*when, e.title, occ.get("id"), role["name"], "", "", "", "", ""])
    return summary, people


def workbook(month: date, occurrences: list[Mapping], signups: list[Mapping], names: Mapping[int, str]) -> bytes:
    """The month's occurrences and who did what, as an .xlsx file (headers in Chinese and English)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    summary, people = month_rows(occurrences, signups, names)
    book = Workbook()
    sheets = (
        (book.active, f"{month:%Y-%m} 活动", SUMMARY_COLUMNS, summary),
        (book.create_sheet(), f"{month:%Y-%m} 人员", PEOPLE_COLUMNS, people),
    )
    for sheet, title, columns, rows in sheets:
        sheet.title = title
        sheet.append([f"{zh} {en}" for en, zh in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
        for i, (en, zh) in enumerate(columns):
            width = max([len(zh) * 2 + len(en) + 1] + [len(str(r[i])) * 2 for r in rows[:200]])
            sheet.column_dimensions[sheet.cell(1, i + 1).column_letter].width = min(width, 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def month_data(platform, month: date, filters: Filters) -> tuple[list[dict], list[dict], dict[int, str]]:
    """The month's occurrences, their sign-ups and the names of their volunteers, over RPC (organisers)."""
    start, end = midnight(month), midnight(next_month(month))
    occurrences = platform.activities.list_occurrences(start=iso(start), end=iso(end), **filters.query())
    ids = [o["id"] for o in occurrences if o.get("id") is not None]
    signups = []
    for i in range(0, len(ids), 2000):
        signups += platform.activities.list_signups(occurrence_ids=ids[i : i + 2000])
    people = {s["volunteer_id"] for s in signups}
    names = platform.names(people) if people else {}
    return occurrences, signups, names
