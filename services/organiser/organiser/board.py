"""The roster as organisers read it: grids down, days across, each cell the shifts of that grid and day.

Pure layout from the roster the activities service returns (``get_roster`` / ``build_roster``)
to plain data the CLI table and the web board both draw. A shift is ``covered`` (minimum reached
and a leader where one is needed), ``short`` (someone is there, not enough) or ``empty``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from guanyinli.errors import number_ranges  # noqa: F401  (board.number_ranges: the pages and CLI use it)
from guanyinli.timeutil import local

WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class Person:
    id: int | str
    name: str
    leader: bool = False


@dataclass
class ShiftCell:
    shift_id: str
    grid: int
    start: datetime
    end: datetime
    minimum: int
    maximum: int
    leader_needed: bool
    people: list[Person] = field(default_factory=list)
    reason: str | None = None  # why it is not covered, from the solver's explanation

    @property
    def missing(self) -> int:
        return max(0, self.minimum - len(self.people))

    @property
    def leader_missing(self) -> bool:
        return self.leader_needed and not any(p.leader for p in self.people)

    @property
    def state(self) -> str:
        if not self.people and self.minimum > 0:
            return "empty"
        if self.missing or self.leader_missing:
            return "short"
        return "covered"

    @property
    def hours(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass
class Board:
    grids: list[tuple[int, str]]
    days: list[date]
    cells: dict[tuple[int, date], list[ShiftCell]]

    def shifts(self) -> list[ShiftCell]:
        return [s for cell in self.cells.values() for s in cell]

    def counts(self) -> dict[str, int]:
        found = {"covered": 0, "short": 0, "empty": 0}
        for shift in self.shifts():
            found[shift.state] += 1
        return found

    def gaps(self) -> list[ShiftCell]:
        return sorted((s for s in self.shifts() if s.state != "covered"), key=lambda s: (s.start, s.grid))

    def gap_groups(self, problems: Iterable[str] = ()) -> list[tuple[str, list[ShiftCell]]]:
        """Each reason once with the uncovered shifts it explains: the problems found before solving first
        (in their order, with no shift when none of the gaps is theirs), then reasons met only in gaps,
        then the gaps without a reason (under "")."""
        groups: dict[str, list[ShiftCell]] = {p: [] for p in problems}
        for cell in self.gaps():
            groups.setdefault(cell.reason or "", []).append(cell)
        unexplained = groups.pop("", [])
        return list(groups.items()) + ([("", unexplained)] if unexplained else [])

    def grid_label(self, grid: int) -> str:
        return dict(self.grids).get(grid, str(grid))

    def cell(self, grid: int, day: date) -> list[ShiftCell]:
        return self.cells.get((grid, day), [])

    def day_state(self, grid: int, day: date) -> str:
        """The worst state of the cell's shifts ('none' when the grid has no patrol that day)."""
        states = {s.state for s in self.cell(grid, day)}
        for state in ("empty", "short", "covered"):
            if state in states:
                return state
        return "none"


def plain_number(value: float | None) -> str:
    """A cost or bound as people write it: 11000, not 11000.0 nor 1.1e+04; '' for none."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def volunteer_key(value) -> int | str:
    """Volunteer ids are ints on the wire; the solver's own ids may be strings ('v00012')."""
    text = str(value)
    return int(text) if text.isdigit() else text


def rostered_ids(roster: Mapping) -> set[int]:
    """The platform volunteer ids with a shift in the roster."""
    keys = {volunteer_key(a["volunteer_id"]) for a in roster.get("assignments") or ()}
    return {key for key in keys if isinstance(key, int)}


def volunteer_ids(roster: Mapping) -> set[int]:
    """The platform volunteer ids a roster mentions (assignments, crews, load report), to look up names."""
    found = [a["volunteer_id"] for a in roster.get("assignments") or []]
    for shift in roster.get("shifts") or []:
        found += list(shift.get("volunteer_ids") or [])
    found += [row["volunteer_id"] for row in (roster.get("report") or {}).get("volunteers") or []]
    return {key for key in map(volunteer_key, found) if isinstance(key, int)}


def _first(item: Mapping, *keys, default=None):
    for key in keys:
        if key in item and item[key] is not None:
            return item[key]
    return default


def when(value) -> datetime:
    return local(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def leaders_of(roster: Mapping) -> set[int]:
    """Volunteers the roster counts as leaders (from its report's load per volunteer)."""
    report = roster.get("report") or {}
    found = set()
    for row in report.get("volunteers") or []:
        if row.get("role") == "leader":
            found.add(volunteer_key(row["volunteer_id"]))
    found.update(volunteer_key(v) for v in roster.get("leader_ids") or [])
    return found


def layout(
    roster: Mapping,
    names: Mapping[int | str, str] | None = None,
    grid_names: Mapping[int, str] | None = None,
    lang: str = "en",
) -> Board:
    """Lay out a roster. ``names``: volunteer id -> name; ``grid_names``: grid id -> name; ``lang``: of
    the solver's reasons (``zh`` takes ``reason_zh`` where the roster has it)."""
    names = names or {}
    grid_names = grid_names or {}
    leaders = leaders_of(roster)
    by_shift: dict[str, list[int]] = {}
    for a in roster.get("assignments") or []:
        by_shift.setdefault(str(a["shift_id"]), []).append(volunteer_key(a["volunteer_id"]))
    key = "reason_zh" if lang == "zh" else "reason"
    reasons = {str(g["shift_id"]): g.get(key) or g.get("reason") for g in roster.get("gaps") or []}

    cells: dict[tuple[int, date], list[ShiftCell]] = {}
    grids: set[int] = set(int(g) for g in roster.get("grids") or [])
    days: set[date] = set()
    for raw in roster.get("shifts") or []:
        shift_id = str(_first(raw, "shift_id", "id"))
        grid = int(_first(raw, "grid_id", "grid"))
        start, end = when(raw["start"]), when(raw["end"])
        people_ids = _first(raw, "volunteer_ids", default=None)
        if people_ids is None:
            people_ids = by_shift.get(shift_id, [])
        shift_leaders = {volunteer_key(v) for v in raw.get("leader_ids") or []} | leaders
        keys = [volunteer_key(v) for v in people_ids]
        people = [Person(v, names.get(v, f"#{v}"), v in shift_leaders) for v in keys]
        people.sort(key=lambda p: (not p.leader, p.name))
        cell = ShiftCell(
            shift_id=shift_id,
            grid=grid,
            start=start,
            end=end,
            minimum=int(_first(raw, "min_patrollers", "minimum", "min", default=0)),
            maximum=int(_first(raw, "max_patrollers", "maximum", "max", default=0)),
            leader_needed=bool(_first(raw, "leader_needed", default=False)),
            people=people,
            reason=reasons.get(shift_id) or raw.get("reason"),
        )
        cells.setdefault((grid, start.date()), []).append(cell)
        grids.add(grid)
        days.add(start.date())
    for cell in cells.values():
        cell.sort(key=lambda s: s.start)
    span = _span(roster, days)
    return Board(
        grids=[(g, grid_names.get(g) or f"{g}") for g in sorted(grids)],
        days=span,
        cells=cells,
    )


def _span(roster: Mapping, days: Iterable[date]) -> list[date]:
    days = sorted(days)
    first = when(roster["start"]).date() if roster.get("start") else (days[0] if days else None)
    last = (when(roster["end"]) - timedelta(seconds=1)).date() if roster.get("end") else (days[-1] if days else None)
    if first is None or last is None:
        return []
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def weekday(day: date, lang: str = "en") -> str:
    return (WEEKDAYS_ZH if lang == "zh" else WEEKDAYS_EN)[day.weekday()]


def fairness_rows(roster: Mapping, names: Mapping[int, str] | None = None) -> list[dict]:
    """Per volunteer: role, shifts, target and the difference, most over target first."""
    names = names or {}
    rows = []
    for row in (roster.get("report") or {}).get("volunteers") or []:
        vid = volunteer_key(row["volunteer_id"])
        shifts, target = int(row.get("shifts", 0)), int(row.get("target", 0))
        rows.append(
            {
                "volunteer_id": vid,
                "name": names.get(vid, f"#{vid}"),
                "role": row.get("role", "patroller"),
                "shifts": shifts,
                "target": target,
                "delta": shifts - target,
            }
        )
    rows.sort(key=lambda r: (-r["delta"], r["role"], r["name"]))
    return rows


class NotInRoster(LookupError):
    """No single shift of the volunteer's on that day or at that time, or no single volunteer of the roster
    by what was typed; ``message_zh`` says it in Chinese."""

    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message_zh = message_zh


def shift_on(r: Mapping, volunteer_id: int, when: datetime, name: str) -> dict:
    """The volunteer's shift in roster `r` on the day of `when`, or starting at `when` if it has a time.
    NotInRoster, naming the argument `name`, when there is none or more than one."""
    key = f"{when:%Y-%m-%d}" if when.time() == datetime.min.time() else f"{when:%Y-%m-%dT%H:%M}"
    mine = {a["shift_id"] for a in r.get("assignments") or () if volunteer_key(a["volunteer_id"]) == volunteer_id}
    found = [s for s in r.get("shifts") or () if s["shift_id"] in mine and str(s["start"]).startswith(key)]
    when_said = key.replace("T", " ")
    if not found:
        raise NotInRoster(
            f"{name}: volunteer {volunteer_id} has no shift on {when_said} in roster {r['id']}",
            f"志愿者{volunteer_id}在排班表{r['id']}中{when_said}没有班次",
        )
    if len(found) > 1:
        starts = ", ".join(str(s["start"])[:16] for s in found)
        raise NotInRoster(
            f"{name}: volunteer {volunteer_id} has {len(found)} shifts that day ({starts}): give the time",
            f"志愿者{volunteer_id}当天有{len(found)}个班次（{starts}），请填写时间",
        )
    return found[0]


def volunteer_in(text: str, names: Mapping[int, str], name: str) -> int:
    """A volunteer from what an organiser typed: a number, "73 徐洋" as the roster page suggests it, or a
    name that only one of `names` (the roster's people, id -> name) has. NotInRoster, naming the field
    `name`, otherwise."""
    text = (text or "").strip()
    number = re.match(r"\d+", text)
    if number:
        return int(number.group())
    found = sorted(vid for vid, called in names.items() if called == text)
    if len(found) == 1:
        return found[0]
    if not text:
        raise NotInRoster(f"{name}: give a volunteer's number or name", "请填写志愿者编号或姓名")
    if not found:
        raise NotInRoster(
            f"{name}: nobody called {text} has a shift in this roster", f"本排班表中没有名为{text}的志愿者"
        )
    ids = ", ".join(map(str, found))
    raise NotInRoster(
        f"{name}: {len(found)} people called {text} ({ids}): give the number",
        f"本排班表中有{len(found)}名{text}（编号{ids}），请填写编号",
    )


def shift_label(s: Mapping, grids: Mapping[int, str]) -> str:
    """G07 2026-12-12 19:00"""
    start = str(s["start"])
    return f"{grids.get(s['grid_id'], s['grid_id'])} {start[:10]} {start[11:16]}"
