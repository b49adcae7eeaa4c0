"""Rules of the volunteers service as plain Python: availability, points, changes. No I/O here.

Times are aware datetimes in Asia/Shanghai (``guanyinli.timeutil.TZ``); weekly windows are local
wall-clock minutes after midnight. Asia/Shanghai has no daylight saving, so a weekly window is the
same span of hours every week.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from guanyinli.timeutil import TZ, local
from volunteers.exceptions import AvailabilityOverlap, PartnerInvalid

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_WINDOW_RANGE = timedelta(days=100)

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class WeeklyWindow:
    """Available every week on ``weekday`` (0 = Monday) from ``start_minute`` to ``end_minute``."""

    weekday: int
    start_minute: int
    end_minute: int

    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {format_minute(self.start_minute)}-{format_minute(self.end_minute)}"


@dataclass(frozen=True)
class DatedWindow:
    """A dated exception: ``off`` (time off, wins over everything) or ``extra`` availability."""

    kind: str
    start: datetime
    end: datetime
    note: str | None = None


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_minute(value: str) -> int:
    """'19:30' -> 1170; '24:00' is the end of the day."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


# --- validation --------------------------------------------------------------------------------


def check_no_overlap(weekly: Sequence[WeeklyWindow], dated: Sequence[DatedWindow]) -> None:
    """Reject overlapping windows, naming the field: weekly on one weekday, dated whatever their kind.

    Windows that only touch (one ends when the next starts) do not overlap.
    """
    for i, a in enumerate(weekly):
        for j in range(i):
            b = weekly[j]
            if a.weekday == b.weekday and a.start_minute < b.end_minute and b.start_minute < a.end_minute:
                raise AvailabilityOverlap(f"weekly.{i}: {a.label()} overlaps weekly.{j} ({b.label()})")
    for i, a in enumerate(dated):
        for j in range(i):
            b = dated[j]
            if a.start < b.end and b.start < a.end:
                raise AvailabilityOverlap(
                    f"dated.{i}: {a.kind} {a.start.isoformat()}..{a.end.isoformat()} overlaps "
                    f"dated.{j} ({b.kind} {b.start.isoformat()}..{b.end.isoformat()})"
                )


# --- expansion ---------------------------------------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals, sorted; touching intervals are joined."""
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def subtract(intervals: Sequence[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """``intervals`` (merged, sorted) minus every hole."""
    result = list(intervals)
    for h_start, h_end in merge(holes):
        kept: list[Interval] = []
        for start, end in result:
            if h_end <= start or end <= h_start:
                kept.append((start, end))
                continue
            if start < h_start:
                kept.append((start, h_start))
            if h_end < end:
                kept.append((h_end, end))
        result = kept
    return result


def _at(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TZ) + timedelta(minutes=minute)


def weekly_occurrences(weekly: Iterable[WeeklyWindow], start: datetime, end: datetime) -> list[Interval]:
    """The weekly windows as concrete local intervals meeting [start, end) (not clipped)."""
    by_day: dict[int, list[WeeklyWindow]] = {}
    for w in weekly:
        by_day.setdefault(w.weekday, []).append(w)
    start, end = local(start), local(end)
    out: list[Interval] = []
    day = start.date()
    while day <= end.date():
        for w in by_day.get(day.weekday(), ()):
            s, e = _at(day, w.start_minute), _at(day, w.end_minute)
            if s < end and start < e:
                out.append((s, e))
        day += timedelta(days=1)
    return out


def expand(
    weekly: Iterable[WeeklyWindow], dated: Iterable[DatedWindow], start: datetime, end: datetime
) -> list[Interval]:
    """Concrete windows in [start, end): weekly windows plus extra dated availability, minus time off.

    Adjacent windows are merged (Monday 18:00-19:00 and 19:00-21:00 is one window 18:00-21:00),
    and the result is clipped to [start, end) and sorted.
    """
    start, end = local(start), local(end)
    dated = list(dated)
    available = weekly_occurrences(weekly, start, end)
    available += [(local(d.start), local(d.end)) for d in dated if d.kind == "extra"]
    windows = subtract(merge(available), [(local(d.start), local(d.end)) for d in dated if d.kind == "off"])
    return [(max(s, start), min(e, end)) for s, e in windows if s < end and start < e]


def covers(windows: Iterable[Interval], start: datetime, end: datetime) -> bool:
    """True when one window holds all of [start, end) (windows as returned by ``expand``)."""
    return any(s <= start and end <= e for s, e in windows)


def availability_verdict(
    active: bool, weekly: Sequence[WeeklyWindow], dated: Sequence[DatedWindow], start: datetime, end: datetime
) -> tuple[bool, str | None]:
    """Whether a volunteer can take a duty in [start, end), and if not, why (for people to read).

    A volunteer who has declared no weekly window has not said when they are available: they can
    take any duty outside their time off (a new volunteer signing up is not turned away). Once
    weekly windows are declared, the duty must fall inside one window (or extra availability).
    """
    if not active:
        return False, "volunteer is deactivated"
    start, end = local(start), local(end)
    if weekly and covers(expand(weekly, dated, start, end), start, end):
        return True, None
    for d in dated:
        if d.kind == "off" and local(d.start) < end and start < local(d.end):
            note = f" ({d.note})" if d.note else ""
            return False, f"time off {local(d.start).isoformat()}..{local(d.end).isoformat()}{note}"
    if not weekly:
        return True, None
    return False, "outside the volunteer's availability"


def free_windows(
    weekly: Sequence[WeeklyWindow], dated: Iterable[DatedWindow], start: datetime, end: datetime
) -> list[Interval]:
    """The spans of [start, end) in which ``availability_verdict`` says yes for every duty that one
    span holds whole: the expanded windows once weekly windows are declared, else all of [start,
    end) but time off. (``expand`` alone is the roster's rule: nothing undeclared.)"""
    if weekly:
        return expand(weekly, dated, start, end)
    start, end = local(start), local(end)
    return subtract([(start, end)], [(local(d.start), local(d.end)) for d in dated if d.kind == "off"])


# --- points ------------------------------------------------------------------------------------

POINTS_PER_HOUR = 10
WEEKEND_FACTOR = 1.5
LATE_NOTICE_BONUS = 20


def attendance_points(status: str, hours: float, weekend: bool, late_notice: bool) -> int:
    """Points for one recorded attendance.

    * ``attended``: 10 points per hour, times 1.5 when the duty falls on a weekend, rounded half
      up to a whole point, plus 20 when the volunteer filled in at late notice (signed up less than
      48 hours before the start).
    * ``no_show`` and ``excused``: nothing (0).
    """
    if status != "attended" or hours <= 0:
        return 0
    base = hours * POINTS_PER_HOUR * (WEEKEND_FACTOR if weekend else 1)
    return math.floor(base + 0.5 + 1e-9) + (LATE_NOTICE_BONUS if late_notice else 0)


def default_points(hours: float) -> int:
    """Points of a manual ledger entry when the caller gives none: 10 per hour, rounded half up."""
    sign = -1 if hours < 0 else 1
    return sign * math.floor(abs(hours) * POINTS_PER_HOUR + 0.5 + 1e-9)


# --- volunteers --------------------------------------------------------------------------------


def changed_fields(before: dict, after: dict) -> list[str]:
    """Names of the fields whose value differs (lists compared as sets)."""
    changed = []
    for key, value in after.items():
        old = before.get(key)
        if isinstance(value, list | tuple) and isinstance(old, list | tuple):
            if sorted(value) != sorted(old):
                changed.append(key)
        elif value != old:
            changed.append(key)
    return sorted(changed)


def normalize_phone(phone: str) -> str:
    """One spelling per number, so uniqueness means something: '+86 138-1234-5678' -> '13812345678'.

    Landlines keep their area code without separators ('025-8456 1234' -> '02584561234').
    """
    digits = phone.replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        digits = digits[1:]
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    return digits


def skill_matches(skills: Iterable[str], wanted: str) -> bool:
    """``tutoring`` matches ``tutoring:math``; ``tutoring:math`` matches only itself."""
    return any(s == wanted or s.startswith(wanted + ":") for s in skills)


def rank(rows: Sequence[dict], key: str = "points") -> list[dict]:
    """Competition ranking (1, 2, 2, 4) of rows already sorted by ``key`` descending."""
    ranked = []
    previous = None
    for position, row in enumerate(rows, start=1):
        if previous is None or row[key] != previous[1]:
            previous = (position, row[key])
        ranked.append({**row, "rank": previous[0]})
    return ranked


# --- the volunteer's own roster settings -------------------------------------------------------------
# What the patrol roster asks of each volunteer beyond availability: their own weekly cap, the patrols a
# month organisers aim to give them, the days and times of day they would rather patrol, and up to three
# volunteers they would like to patrol with. Caps are hard limits; the rest are wishes the roster weighs.

MAX_CAP = 14  # duties a week: twice a day
MAX_TARGET = 62  # patrols a month: twice a day
MAX_PARTNERS = 3
# A duty's time of day by its start (the activities service's rule): morning before 12:00, afternoon
# before 18:00, evening from 18:00.
TIMES_OF_DAY = ("morning", "afternoon", "evening")


def check_partners(volunteer_id: int, partners: Sequence[int], active: dict[int, bool]) -> list[int]:
    """The partners a volunteer names, sorted and without repeats, once each is another volunteer who
    exists and is active (``active``: id -> active, of those found). ``PartnerInvalid`` names the first
    that is not, by its place in the list."""
    for i, partner in enumerate(partners):
        if partner == volunteer_id:
            raise PartnerInvalid(f"partners.{i}: a volunteer is not their own partner", "不能把自己设为搭档")
        if partner not in active:
            raise PartnerInvalid(f"partners.{i}: no volunteer {partner}", f"没有编号为{partner}的志愿者")
        if not active[partner]:
            raise PartnerInvalid(f"partners.{i}: volunteer {partner} is deactivated", f"志愿者{partner}已停用")
    chosen = sorted(set(partners))
    if len(chosen) > MAX_PARTNERS:
        raise PartnerInvalid(f"partners: at most {MAX_PARTNERS}, not {len(chosen)}", f"最多{MAX_PARTNERS}位搭档")
    return chosen


def ordered_times(times: Iterable[str]) -> list[str]:
    """Times of day without repeats, from morning to evening."""
    return sorted(set(times), key=TIMES_OF_DAY.index)


# --- who sees a volunteer's contacts and settings --------------------------------------------------

CONTACT_FIELDS = ("phone", "email")
# The roster settings: for the volunteer, their grid leader, organisers and viewers, not other volunteers.
SETTINGS_FIELDS = ("max_duties_per_week", "target_per_month", "preferred_days", "preferred_times", "partners")
# What a volunteer may change of their own record; the rest (teams, grid, skills, their target) is the
# organisers'.
SELF_SERVICE_FIELDS = frozenset(
    {"phone", "email", "language", "max_duties_per_week", "preferred_days", "preferred_times", "partners"}
)


def sees_contacts(caller, person_id: int, person_grid_id: int | None, led_grids: frozenset[int]) -> bool:
    """Phone and e-mail: organisers (and services), the volunteer, and the leader of their grid."""
    return caller.acts_for(person_id) or (person_grid_id is not None and person_grid_id in led_grids)


def without_contacts(view: dict) -> dict:
    return {**view, **{f: None for f in CONTACT_FIELDS if f in view}}


def shown(caller, view: dict, led_grids: frozenset[int]) -> dict:
    """A volunteer's view as this caller may see it: without contacts for those who do not see them
    (``sees_contacts``), and without the roster settings for other volunteers as well."""
    if sees_contacts(caller, view["id"], view.get("grid_id"), led_grids):
        return view
    hidden = without_contacts(view)
    if caller.may_read_all:
        return hidden
    return {**hidden, **{f: None for f in SETTINGS_FIELDS if f in view}}


def shown_grid(caller, grid: dict, led_grids: frozenset[int]) -> dict:
    """A grid's leader and members with phones only for organisers, the person, and the grid's leader."""
    leads = grid["id"] in led_grids

    def person(p: dict | None) -> dict | None:
        if p is None or leads or caller.acts_for(p["id"]):
            return p
        return without_contacts(p)

    out = {**grid, "leader": person(grid.get("leader"))}
    if "members" in grid:
        out["members"] = [person(p) for p in grid["members"]]
    return out


def grid_scope(caller, grid_id: int | None, led_grids: frozenset[int]) -> int | None:
    """The grid a listing of volunteers is narrowed to: any for viewers and organisers; a grid
    leader's own grid (the one asked for, or theirs when they lead one). None means no narrowing;
    raises ValueError with the reason when the caller may not list that."""
    if caller.may_read_all:
        return grid_id
    if grid_id is not None:
        if grid_id not in led_grids:
            raise ValueError(f"grid_id: a grid leader lists the volunteers of their own grid, not grid {grid_id}")
        return grid_id
    if len(led_grids) == 1:
        return next(iter(led_grids))
    raise ValueError("grid_id: name the grid you lead" if led_grids else "you lead no grid")
