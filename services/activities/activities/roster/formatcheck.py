"""The independent checker of `patrol-roster/1` (docs: ROSTER-FORMAT.md): an instance and a roster, as the JSON
objects they are, in; every broken hard rule and the objective out.

It reads the format's words alone and shares no code with the solver, so that a solver's mistake (or the
reader that turns an instance into the solver's problem) shows up here.

    python -m activities.roster.formatcheck INSTANCE.json ROSTER.json [--zh]

prints the violations and the objective; exit 0 when no hard rule is broken, 1 when some are, 2 when a file
cannot be read as the format.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FORMAT = "patrol-roster/1"
RULES = ("integrity", "coverage", "leader", "availability", "max_per_week", "rest")
DEFAULTS = {"max_per_week": 2, "min_rest_hours": 24, "fairness_weight": 100, "off_home_weight": 1}
WEEKDAYS_ZH = "一二三四五六日"


class FormatError(ValueError):
    """The instance or the roster cannot be read as `patrol-roster/1`; the message names the field."""


@dataclass(frozen=True)
class FormatViolation:
    rule: str  # one of RULES
    message: str
    message_zh: str
    shift: str | None = None
    volunteer: str | None = None


@dataclass(frozen=True)
class Checked:
    violations: list[FormatViolation]
    objective: int
    spread: dict[str, int]  # {"leaders": n, "others": n}
    off_home: int
    claimed_ok: bool | None  # None when the roster claims no objective

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class _Shift:
    id: str
    grid: int | str
    start: datetime  # in the instance's timezone
    end: datetime
    begins: float  # POSIX seconds, for the rest rule
    ends: float
    min: int
    max: int
    leaders: int
    week: tuple[int, int]  # ISO (year, week) of the start, in the instance's timezone


@dataclass(frozen=True)
class _Volunteer:
    id: str
    name: str
    leader: bool
    home: int | str | None
    cap: int
    available: frozenset[str]


@dataclass(frozen=True)
class _Month:
    grid_names: dict[int | str, str]
    shifts: dict[str, _Shift]  # in the instance's order
    volunteers: dict[str, _Volunteer]
    rest_seconds: float
    fairness_weight: int
    off_home_weight: int
    words: dict[str, tuple[str, str]] = field(default_factory=dict)  # shift id -> how it is said, when first said


# reading


_REQUIRED = object()
_KINDS = {
    "an integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "a number": lambda x: isinstance(x, int | float) and not isinstance(x, bool),
    "a boolean": lambda x: isinstance(x, bool),
    "a string": lambda x: isinstance(x, str),
    "a list": lambda x: isinstance(x, list),
    "an object": lambda x: isinstance(x, dict),
    "an integer or a string": lambda x: isinstance(x, int | str) and not isinstance(x, bool),
}


def _field(obj: Any, key: str, where: str, kind: str, default: Any = _REQUIRED) -> Any:
    """obj[key], checked to be of `kind`; `default` when absent or null, else FormatError naming where.key."""
    if not isinstance(obj, dict):
        raise FormatError(f"{where}: expected an object, got {obj!r:.60}")
    value = obj.get(key)
    if value is None:
        if default is _REQUIRED:
            raise FormatError(f"{where}.{key}: missing")
        return default
    if not _KINDS[kind](value):
        raise FormatError(f"{where}.{key}: expected {kind}, got {value!r:.60}")
    if kind in ("an integer", "a number") and value < 0:
        raise FormatError(f"{where}.{key}: must not be negative, got {value!r}")
    return value


def _moment(obj: dict, key: str, where: str, zone: tzinfo) -> datetime:
    text = _field(obj, key, where, "a string")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FormatError(f"{where}.{key}: not an ISO 8601 date and time: {text!r}") from None
    if moment.utcoffset() is None:
        raise FormatError(f"{where}.{key}: {text!r} has no UTC offset")
    return moment.astimezone(zone)


def _zone(instance: dict) -> tzinfo:
    name = _field(instance, "timezone", "instance", "a string")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FormatError(f"instance.timezone: unknown time zone {name!r}") from None


def _entries(instance: dict, key: str, kind: str = "a string") -> Iterator[tuple[str, Any, Any]]:
    """(where, id, entry) for each entry of the list instance[key], each id once."""
    seen = set()
    for i, raw in enumerate(_field(instance, key, "instance", "a list")):
        ident = _field(raw, "id", f"{key}[{i}]", kind)
        where = f"{key}[{i}] ({ident})"
        if ident in seen:
            raise FormatError(f"{where}.id: appears twice")
        seen.add(ident)
        yield where, ident, raw


def _read_shifts(instance: dict, zone: tzinfo, grids: dict) -> dict[str, _Shift]:
    shifts: dict[str, _Shift] = {}
    for where, sid, raw in _entries(instance, "shifts"):
        grid = _field(raw, "grid", where, "an integer or a string")
        if grid not in grids:
            raise FormatError(f"{where}.grid: {grid!r} is not in grids")
        start, end = _moment(raw, "start", where, zone), _moment(raw, "end", where, zone)
        if end <= start:
            raise FormatError(f"{where}.end: not after its start")
        low, high = _field(raw, "min", where, "an integer"), _field(raw, "max", where, "an integer")
        if low > high:
            raise FormatError(f"{where}.min: {low} is more than max {high}")
        year, week, _ = start.isocalendar()
        shifts[sid] = _Shift(
            id=sid,
            grid=grid,
            start=start,
            end=end,
            begins=start.timestamp(),
            ends=end.timestamp(),
            min=low,
            max=high,
            leaders=_field(raw, "leader_required", where, "an integer"),
            week=(year, week),
        )
    return shifts


def _read_volunteers(instance: dict, grids: dict, shifts: dict, default_cap: int) -> dict[str, _Volunteer]:
    volunteers: dict[str, _Volunteer] = {}
    known = frozenset(shifts)
    for where, vid, raw in _entries(instance, "volunteers"):
        if "home_grid" not in raw:
            raise FormatError(f"{where}.home_grid: missing")
        home = raw["home_grid"]  # null: lives outside the grids, so every shift is away from home
        if home is not None and not (_KINDS["an integer or a string"](home) and home in grids):
            raise FormatError(f"{where}.home_grid: {home!r} is not in grids")
        try:
            available = frozenset(_field(raw, "available", where, "a list"))
        except TypeError:
            raise FormatError(f"{where}.available: expected a list of shift ids") from None
        unknown = available - known
        if unknown:
            raise FormatError(f"{where}.available: unknown shift {sorted(map(str, unknown))[0]!r}")
        volunteers[vid] = _Volunteer(
            id=vid,
            name=_field(raw, "name", where, "a string", vid),
            leader=_field(raw, "leader", where, "a boolean"),
            home=home,
            cap=_field(raw, "max_per_week", where, "an integer", default_cap),
            available=available,
        )
    return volunteers


def _read_instance(instance: Any) -> _Month:
    if not isinstance(instance, dict):
        raise FormatError("instance: expected a JSON object")
    if instance.get("format") != FORMAT:
        raise FormatError(f"instance.format: expected {FORMAT!r}, got {instance.get('format')!r}")
    zone = _zone(instance)
    rules = _field(instance, "rules", "instance", "an object", {})
    weights = _field(instance, "objective", "instance", "an object", {})
    grids = {
        gid: _field(raw, "name", where, "a string", f"grid {gid}")
        for where, gid, raw in _entries(instance, "grids", "an integer or a string")
    }
    shifts = _read_shifts(instance, zone, grids)
    default_cap = _field(rules, "max_per_week", "rules", "an integer", DEFAULTS["max_per_week"])
    return _Month(
        grid_names=grids,
        shifts=shifts,
        volunteers=_read_volunteers(instance, grids, shifts, default_cap),
        rest_seconds=_field(rules, "min_rest_hours", "rules", "a number", DEFAULTS["min_rest_hours"]) * 3600,
        fairness_weight=_field(weights, "fairness_weight", "objective", "an integer", DEFAULTS["fairness_weight"]),
        off_home_weight=_field(weights, "off_home_weight", "objective", "an integer", DEFAULTS["off_home_weight"]),
    )


def _read_roster(roster: Any) -> tuple[list[tuple[str, str]], int | float | None]:
    if not isinstance(roster, dict):
        raise FormatError("roster: expected a JSON object")
    pairs = []
    for i, raw in enumerate(_field(roster, "assignments", "roster", "a list")):
        pair = (raw.get("shift"), raw.get("volunteer")) if isinstance(raw, dict) else None
        if pair is None or type(pair[0]) is not str or type(pair[1]) is not str:  # say what is wrong with it
            where = f"assignments[{i}]"
            pair = (_field(raw, "shift", where, "a string"), _field(raw, "volunteer", where, "a string"))
        pairs.append(pair)
    claimed = roster.get("objective")
    if claimed is not None and not _KINDS["a number"](claimed):
        raise FormatError(f"roster.objective: expected a number, got {claimed!r:.60}")
    return pairs, claimed


# words


def _words(month: _Month, s: _Shift) -> tuple[str, str]:
    """grid 3, Mon 4 Jan 19:00-21:00 (g03-2027-01-04-19), and in Chinese; made once a shift (a roster far off
    breaks thousands of rules)."""
    said = month.words.get(s.id)
    if said is None:
        grid, start, end = month.grid_names[s.grid], s.start, s.end
        day_zh = f"{start.month}月{start.day}日（周{WEEKDAYS_ZH[start.weekday()]}）"
        said = month.words[s.id] = (
            f"{grid}, {start:%a} {start.day} {start:%b %H:%M}-{end:%H:%M} ({s.id})",
            f"{grid}，{day_zh}{start:%H:%M}-{end:%H:%M}（{s.id}）",
        )
    return said


def _said(month: _Month, s: _Shift) -> str:
    return _words(month, s)[0]


def _said_zh(month: _Month, s: _Shift) -> str:
    return _words(month, s)[1]


def _who(v: _Volunteer) -> str:
    return f"{v.name} ({v.id})"


def _who_zh(v: _Volunteer) -> str:
    return f"{v.name}（{v.id}）"


def _hours(seconds: float) -> tuple[str, str]:
    """13 h / 23 h 59 min, in English and Chinese."""
    minutes = round(seconds / 60)
    h, m = divmod(minutes, 60)
    if m == 0:
        return f"{h} h", f"{h}小时"
    return f"{h} h {m} min", f"{h}小时{m}分"


# the hard rules, one function each


def _integrity(
    month: _Month, pairs: list[tuple[str, str]]
) -> tuple[list[FormatViolation], list[tuple[_Shift, _Volunteer]]]:
    """Unknown ids and repeated pairs; returns the known pairs, each once, for the other rules."""
    out = []
    kept = []
    shifts, volunteers = month.shifts, month.volunteers
    for i, (sid, vid) in enumerate(pairs):
        if sid in shifts and vid in volunteers:
            continue
        for kind, kind_zh, known, key in (("shift", "班次", shifts, sid), ("volunteer", "志愿者", volunteers, vid)):
            if key not in known:
                out.append(
                    FormatViolation(
                        "integrity",
                        f"assignments[{i}]: unknown {kind} {key!r}",
                        f"第{i + 1}条安排：{kind_zh}{key}不存在",
                        sid,
                        vid,
                    )
                )
    for (sid, vid), n in Counter(pairs).items():
        if sid not in month.shifts or vid not in month.volunteers:
            continue
        s, v = month.shifts[sid], month.volunteers[vid]
        kept.append((s, v))
        if n > 1:
            out.append(
                FormatViolation(
                    "integrity",
                    f"{_who(v)} is on {_said(month, s)} {n} times",
                    f"{_who_zh(v)}在{_said_zh(month, s)}上排了{n}次",
                    sid,
                    vid,
                )
            )
    return out, kept


def _coverage(month: _Month, crews: dict[str, list[_Volunteer]]) -> list[FormatViolation]:
    out = []
    for s in month.shifts.values():
        n = len(crews.get(s.id, ()))
        if n < s.min:
            bound, bound_zh = f"needs at least {s.min}", f"至少需要{s.min}名"
        elif n > s.max:
            bound, bound_zh = f"at most {s.max}", f"最多{s.max}名"
        else:
            continue
        out.append(
            FormatViolation(
                "coverage",
                f"{_said(month, s)}: {n} patrollers, {bound}",
                f"{_said_zh(month, s)}：{n}名巡逻队员，{bound_zh}",
                s.id,
            )
        )
    return out


def _leader(month: _Month, crews: dict[str, list[_Volunteer]]) -> list[FormatViolation]:
    out = []
    for s in month.shifts.values():
        n = sum(v.leader for v in crews.get(s.id, ()))
        if n < s.leaders:
            out.append(
                FormatViolation(
                    "leader",
                    f"{_said(month, s)}: {n} leaders, needs {s.leaders}",
                    f"{_said_zh(month, s)}：队长{n}名，需要{s.leaders}名",
                    s.id,
                )
            )
    return out


def _availability(month: _Month, kept: list[tuple[_Shift, _Volunteer]]) -> list[FormatViolation]:
    return [
        FormatViolation(
            "availability",
            f"{_who(v)} on {_said(month, s)}: not among the shifts they are available for",
            f"{_who_zh(v)}排在{_said_zh(month, s)}：不在其可排的班次内",
            s.id,
            v.id,
        )
        for s, v in kept
        if s.id not in v.available
    ]


def _max_per_week(month: _Month, own: dict[str, list[_Shift]]) -> list[FormatViolation]:
    out = []
    for vid, shifts in own.items():
        v = month.volunteers[vid]
        for (year, week), n in sorted(Counter(s.week for s in shifts).items()):
            if n > v.cap:
                monday = date.fromisocalendar(year, week, 1)
                out.append(
                    FormatViolation(
                        "max_per_week",
                        f"{_who(v)}: {n} shifts in ISO week {year}-W{week:02d} (from Monday {monday.day} "
                        f"{monday:%b}), at most {v.cap}",
                        f"{_who_zh(v)}：{year}年第{week}周（{monday.month}月{monday.day}日起）有{n}个班次，"
                        f"上限{v.cap}个",
                        volunteer=vid,
                    )
                )
    return out


def _rest(month: _Month, own: dict[str, list[_Shift]]) -> list[FormatViolation]:
    """Each pair of one volunteer's shifts that start less than min_rest_hours apart or overlap.

    Sorted by start, a shift can only clash with the later ones starting before both its end and the end of
    its rest, so each volunteer is a walk over neighbours, not over every pair."""
    out = []
    rest = month.rest_seconds
    rest_en, rest_zh = _hours(rest)
    for vid, shifts in own.items():
        v = month.volunteers[vid]
        shifts = sorted(shifts, key=lambda s: s.begins)
        for i, a in enumerate(shifts):
            until = max(a.begins + rest, a.ends)
            for b in shifts[i + 1 :]:
                if b.begins >= until:
                    break
                apart = b.begins - a.begins
                if apart < rest:
                    gap_en, gap_zh = _hours(apart)
                    why = f"start {gap_en} apart, less than {rest_en}"
                    why_zh = f"开始时间相隔{gap_zh}，不足{rest_zh}"
                else:
                    why, why_zh = "overlap", "时间重叠"
                out.append(
                    FormatViolation(
                        "rest",
                        f"{_who(v)}: {_said(month, a)} and {_said(month, b)} {why}",
                        f"{_who_zh(v)}：{_said_zh(month, a)}与{_said_zh(month, b)}{why_zh}",
                        b.id,
                        vid,
                    )
                )
    return out


# the objective


def _spread(loads: Counter, group: list[_Volunteer]) -> int:
    if not group:
        return 0
    counts = [loads[v.id] for v in group]
    return max(counts) - min(counts)


def check(instance: dict, roster: dict) -> Checked:
    """Every hard rule the roster breaks, and its objective as the format defines it.

    The objective counts each known (shift, volunteer) pair once, whatever else is broken."""
    month = _read_instance(instance)
    pairs, claimed = _read_roster(roster)
    violations, kept = _integrity(month, pairs)
    crews: dict[str, list[_Volunteer]] = defaultdict(list)
    own: dict[str, list[_Shift]] = defaultdict(list)
    for s, v in kept:
        crews[s.id].append(v)
        own[v.id].append(s)
    violations += _coverage(month, crews)
    violations += _leader(month, crews)
    violations += _availability(month, kept)
    violations += _max_per_week(month, own)
    violations += _rest(month, own)

    loads = Counter({vid: len(shifts) for vid, shifts in own.items()})
    everyone = month.volunteers.values()
    spread = {
        "leaders": _spread(loads, [v for v in everyone if v.leader]),
        "others": _spread(loads, [v for v in everyone if not v.leader]),
    }
    off_home = sum(s.grid != v.home for s, v in kept)
    objective = month.fairness_weight * (spread["leaders"] + spread["others"]) + month.off_home_weight * off_home
    return Checked(
        violations=violations,
        objective=objective,
        spread=spread,
        off_home=off_home,
        claimed_ok=None if claimed is None else claimed == objective,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a patrol-roster/1 roster against its instance.")
    parser.add_argument("instance", help="the instance, a JSON file")
    parser.add_argument("roster", help="the roster, a JSON file with assignments")
    parser.add_argument("--zh", action="store_true", help="say the violations in Chinese")
    args = parser.parse_args(argv)
    try:
        with open(args.instance, encoding="utf-8") as f:
            instance = json.load(f)
        with open(args.roster, encoding="utf-8") as f:
            roster = json.load(f)
        checked = check(instance, roster)
    except (OSError, ValueError) as e:  # FormatError and json's JSONDecodeError are ValueErrors
        print(f"cannot check: {e}", file=sys.stderr)
        return 2
    for v in checked.violations:
        print(f"{v.rule}: {v.message_zh if args.zh else v.message}")
    per_rule = Counter(v.rule for v in checked.violations)
    print(
        f"{len(checked.violations)} violations"
        + (" (" + ", ".join(f"{r} {per_rule[r]}" for r in RULES if per_rule[r]) + ")" if per_rule else "")
    )
    line = (
        f"objective {checked.objective}: spread leaders {checked.spread['leaders']}, "
        f"others {checked.spread['others']}, off home {checked.off_home}"
    )
    if checked.claimed_ok is not None:
        line += f"; claimed {roster['objective']}, {'equal' if checked.claimed_ok else 'DIFFERENT'}"
    print(line)
    return 1 if checked.violations else 0


if __name__ == "__main__":
    sys.exit(main())
