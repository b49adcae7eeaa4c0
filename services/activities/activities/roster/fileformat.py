"""`patrol-roster/1` (see docs/ROSTER-FORMAT.md): a month of patrols as a plain JSON object, read into a
Problem the solver takes exactly as written, and a roster written back in the same format.

Every rule of the format is expressed exactly: availability per shift (`Volunteer.shifts`, any grid),
`leader_required` as a number (`Shift.leaders`), rest between starts with no overlap (`Rules.rest_from`),
weekly caps per volunteer in ISO weeks of the instance's time zone (times become naive local times there),
and the objective (`fairness_weight` x the load spread per role + `off_home_weight` x assignments away
from home: every volunteer's target 0, every other soft rule at weight 0). What cannot be expressed is
refused with a FormatError that names the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import rules as R
from .model import Assignment, Problem, RosterResult, Rules, Shift, Volunteer, shift_kind

FORMAT = "patrol-roster/1"
DEFAULT_MAX_PER_WEEK = 2
DEFAULT_REST_HOURS = 24.0
DEFAULT_FAIRNESS, DEFAULT_OFF_HOME = 100, 1


class FormatError(ValueError):
    """An instance or roster this format's reader cannot take, with the field that is wrong."""


@dataclass(frozen=True)
class Instance:
    """A month read from the format: the solver's problem, and what the file said besides."""

    problem: Problem
    name: str
    timezone: str
    fairness_weight: int
    off_home_weight: int


def load(path) -> Instance:
    """Read an instance file; FormatError if it is not JSON or not this format."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise FormatError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from e
    return read(data)


def _field(obj: Mapping, name: str, where: str, kind=None):
    if not isinstance(obj, Mapping) or name not in obj:
        raise FormatError(f"{where}: field '{name}' is missing")
    value = obj[name]
    if kind is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise FormatError(f"{where}.{name}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _new_id(obj: Mapping, where: str, what: str, seen: set[str]) -> str:
    """The object's string id, refused if an earlier one had it; added to `seen`."""
    oid = _field(obj, "id", where, str)
    if oid in seen:
        raise FormatError(f"{where}.id: {what} {oid!r} appears twice")
    seen.add(oid)
    return oid


def _whole(value, where: str, lowest: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < lowest:
        raise FormatError(f"{where}: expected a whole number of at least {lowest}, got {value!r}")
    return int(value)


def _time(value, where: str, zone: ZoneInfo) -> datetime:
    if not isinstance(value, str):
        raise FormatError(f"{where}: expected an ISO 8601 time with offset, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as e:
        raise FormatError(f"{where}: not an ISO 8601 time: {value!r}") from e
    if moment.tzinfo is None:
        raise FormatError(f"{where}: {value!r} has no UTC offset (the format needs one, e.g. +08:00)")
    return moment.astimezone(zone).replace(tzinfo=None)


def read(data: Mapping) -> Instance:
    """A `patrol-roster/1` instance (a decoded JSON object) as the solver's Problem. Unknown fields are
    ignored, as the format asks; anything the format forbids or leaves undefined raises FormatError."""
    if not isinstance(data, Mapping):
        raise FormatError("the instance must be a JSON object")
    if data.get("format") != FORMAT:
        raise FormatError(f"format: expected {FORMAT!r}, got {data.get('format')!r}")
    tz_name = data.get("timezone", "Asia/Shanghai")
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as e:
        raise FormatError(f"timezone: unknown IANA zone {tz_name!r}") from e
    rules_in = data.get("rules") or {}
    objective = data.get("objective") or {}
    if not isinstance(rules_in, Mapping) or not isinstance(objective, Mapping):
        raise FormatError("rules and objective must be JSON objects")
    max_per_week = _whole(rules_in.get("max_per_week", DEFAULT_MAX_PER_WEEK), "rules.max_per_week")
    rest = rules_in.get("min_rest_hours", DEFAULT_REST_HOURS)
    if isinstance(rest, bool) or not isinstance(rest, (int, float)) or rest < 0:
        raise FormatError(f"rules.min_rest_hours: expected a number of hours, at least 0, got {rest!r}")
    fairness = _whole(objective.get("fairness_weight", DEFAULT_FAIRNESS), "objective.fairness_weight")
    off_home = _whole(objective.get("off_home_weight", DEFAULT_OFF_HOME), "objective.off_home_weight")

    grids_in = _field(data, "grids", "instance", list)
    names: dict[int, str] = {}
    for i, g in enumerate(grids_in):
        gid = _field(g, "id", f"grids[{i}]", int)
        if gid in names:
            raise FormatError(f"grids[{i}].id: grid {gid} appears twice")
        names[gid] = str(g.get("name") or f"grid {gid}")

    shifts: list[Shift] = []
    seen: set[str] = set()
    for i, s in enumerate(_field(data, "shifts", "instance", list)):
        where = f"shifts[{i}]"
        sid = _new_id(s, where, "shift", seen)
        grid = _field(s, "grid", where, int)
        if grid not in names:
            raise FormatError(f"{where}.grid: grid {grid} is not in grids")
        start = _time(_field(s, "start", where), f"{where}.start", zone)
        end = _time(_field(s, "end", where), f"{where}.end", zone)
        if end <= start:
            raise FormatError(f"{where}.end: {s['end']!r} is not after start {s['start']!r}")
        low = _whole(_field(s, "min", where), f"{where}.min")
        high = _whole(_field(s, "max", where), f"{where}.max")
        leaders = _whole(s.get("leader_required", 0), f"{where}.leader_required")
        if high < low:
            raise FormatError(f"{where}.max: {high} is below min {low}")
        if leaders > high:
            raise FormatError(f"{where}.leader_required: {leaders} is above max {high}")
        shifts.append(
            Shift(
                sid,
                grid,
                start,
                end,
                low,
                high,
                leader_needed=leaders > 0,
                kind=shift_kind(start),
                leaders=max(1, leaders),
            )
        )

    everywhere = frozenset(names)
    volunteers: list[Volunteer] = []
    ids: set[str] = set()
    for i, v in enumerate(_field(data, "volunteers", "instance", list)):
        where = f"volunteers[{i}]"
        vid = _new_id(v, where, "volunteer", ids)
        home = _field(v, "home_grid", where, int)
        if home not in names:
            raise FormatError(f"{where}.home_grid: grid {home} is not in grids")
        available = _field(v, "available", where, list)
        unknown = [a for a in available if a not in seen]
        if unknown:
            raise FormatError(f"{where}.available: unknown shift {unknown[0]!r}")
        cap = v.get("max_per_week")
        volunteers.append(
            Volunteer(
                vid,
                str(v.get("name") or vid),
                home,
                leader=bool(_field(v, "leader", where, bool)),
                grids=everywhere,
                max_per_week=None if cap is None else _whole(cap, f"{where}.max_per_week"),
                target=0,
                shifts=frozenset(available),
            )
        )
    # Places left uncovered (a roster with gaps) must cost more than anything leaving one could save.
    cover = max(1000, 10 * (2 * fairness + off_home))
    weights = {rule.name: 0 for rule in R.SOFT_RULES} | {
        "role_spread": fairness,
        "away_from_home": off_home,
        "uncovered_place": cover,
        "missing_leader": cover,
    }
    rules = Rules(max_per_week=max_per_week, min_rest_hours=float(rest), rest_from="start", weights=weights)
    problem = Problem(tuple(volunteers), tuple(shifts), rules=rules, grid_names=names)
    return Instance(problem, str(data.get("name") or ""), tz_name, fairness, off_home)


def objective(instance: Instance, assignments: Iterable[Assignment]) -> int:
    """The format's objective of a roster (its gaps left out: the format prices only spread and off_home)."""
    costs = R.evaluate(instance.problem, assignments, {v.id: 0 for v in instance.problem.volunteers})
    return costs["role_spread"] + costs["away_from_home"]


def roster(instance: Instance, result: RosterResult) -> dict:
    """The roster of a solver result in the format, with the solver's own fields beside it: status, bound,
    trace of [seconds, objective], the gaps left and the reasons (readers may ignore them)."""
    out = {
        "format": FORMAT,
        "name": instance.name,
        "assignments": [{"shift": a.shift_id, "volunteer": a.volunteer_id} for a in result.assignments],
        "status": result.status,
        "trace": [[round(t, 3), obj] for t, obj, _ in result.trajectory],
    }
    if result.assignments or result.status != "infeasible":
        out["objective"] = objective(instance, result.assignments)
        out["bound"] = min(result.bound, out["objective"])
    if result.gaps:
        # the trace is the solver's cost, which counts each place or leader left uncovered at this weight
        out["gap_weight"] = R.weights(instance.problem.rules)["uncovered_place"]
        out["gaps"] = [
            {
                "shift": g.shift_id,
                "missing": g.missing,
                "leader_missing": g.leader_missing,
                "reason": g.reason,
                "reason_zh": g.reason_zh,
            }
            for g in result.gaps
        ]
    if result.problems:
        out["problems"] = list(result.problems)
        out["problems_zh"] = list(result.problems_zh)
    return out


def assignments(data: Mapping) -> list[Assignment]:
    """The assignments of a roster object in the format."""
    rows = _field(data, "assignments", "roster", list)
    return [
        Assignment(_field(a, "shift", f"assignments[{i}]", str), _field(a, "volunteer", f"assignments[{i}]", str))
        for i, a in enumerate(rows)
    ]


def instance_of(problem: Problem, name: str = "", timezone: str = "Asia/Shanghai") -> dict:
    """A problem of the service as a `patrol-roster/1` instance: who may take which shift (team, grids,
    weekly availability, absences and other duties resolved per shift), leaders, caps and rest. Volunteers
    who may take none of the shifts are left out.

    The format measures rest between starts, the service from the end of one shift to the start of the
    next: with shifts of one length L that is the same rule at rest + L hours. The service's other soft
    rules (targets, preferences, partners, weekends, close shifts) have no place in the format."""
    from .index import Index  # the index resolves availability exactly as the solver does

    ix = Index.build(problem)
    zone = ZoneInfo(timezone)
    lengths = {(s.end - s.start).total_seconds() / 3600 for s in problem.shifts}
    rests = {R.rest_hours(v, problem.rules) for v in ix.volunteers}
    if problem.rules.rest_from == "start":
        rest = problem.rules.min_rest_hours
    elif len(lengths) <= 1 and len(rests) <= 1:
        rest = (rests.pop() if rests else problem.rules.min_rest_hours) + (lengths.pop() if lengths else 0)
    else:
        raise FormatError(
            "the rest rule cannot be written in patrol-roster/1: the service counts rest from the end of a shift, "
            "the format between starts, and the shifts differ in length or volunteers in their rest"
        )

    def iso(moment: datetime) -> str:
        return moment.replace(tzinfo=zone).isoformat()

    # Who can take none of the shifts is not part of the month: the format's spread counts every volunteer
    # listed, and a volunteer of another grid, or away all month, would hold the least load at 0 for nothing
    # (the service's own report leaves them out as well).
    people = [vi for vi in range(len(ix.volunteers)) if ix.eligible[vi]]
    grids = sorted({s.grid for s in problem.shifts} | {ix.volunteers[vi].home_grid for vi in people})
    weights = R.weights(problem.rules)
    return {
        "format": FORMAT,
        "name": name,
        "timezone": timezone,
        "generator": "exported from the activities service (its own soft rules are not part of the format)",
        "rules": {"max_per_week": problem.rules.max_per_week, "min_rest_hours": rest},
        "objective": {"fairness_weight": weights["role_spread"], "off_home_weight": weights["away_from_home"]},
        "grids": [{"id": g, "name": problem.grid_name(g)} for g in grids],
        "shifts": [
            {
                "id": s.id,
                "grid": s.grid,
                "start": iso(s.start),
                "end": iso(s.end),
                "min": s.min_patrollers,
                "max": s.max_patrollers,
                "leader_required": s.leaders_needed,
            }
            for s in problem.shifts
        ],
        "volunteers": [
            {
                "id": ix.volunteers[vi].id,
                "name": ix.volunteers[vi].name,
                "leader": ix.volunteers[vi].leader,
                "home_grid": ix.volunteers[vi].home_grid,
                "max_per_week": ix.weekly_cap[vi],
                "available": [ix.shifts[si].id for si in ix.eligible[vi]],
            }
            for vi in people
        ],
    }
