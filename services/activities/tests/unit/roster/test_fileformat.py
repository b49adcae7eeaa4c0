"""patrol-roster/1 read into the solver's Problem: each rule of the format as the reader expresses it, and
each instance the format forbids refused with the field named (docs/ROSTER-FORMAT.md)."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta

import pytest

from activities.roster import Assignment, Options, cost_of, fileformat, solve, validate
from activities.roster.fileformat import FormatError

SOLVE = Options(time_limit=2, num_workers=1)


def at(day: int, hour: int, offset: str = "+08:00") -> str:
    """A time of December 2026 (Monday 7 December starts an ISO week)."""
    return f"2026-12-{day:02d}T{hour:02d}:00:00{offset}"


def shift(sid: str, start: str, grid: int = 1, low: int = 0, high: int = 1, leaders: int = 0, hours: int = 2) -> dict:
    end = (datetime.fromisoformat(start) + timedelta(hours=hours)).isoformat()
    return {"id": sid, "grid": grid, "start": start, "end": end, "min": low, "max": high, "leader_required": leaders}


def volunteer(vid: str, available, leader: bool = False, home: int = 1, **extra) -> dict:
    return {"id": vid, "name": f"队员{vid}", "leader": leader, "home_grid": home, "available": list(available), **extra}


def instance(shifts: list[dict], volunteers: list[dict], **top) -> dict:
    return {
        "format": "patrol-roster/1",
        "name": "test month",
        "timezone": "Asia/Shanghai",
        "grids": [{"id": 1, "name": "G1"}, {"id": 2, "name": "G2"}],
        "shifts": shifts,
        "volunteers": volunteers,
        **top,
    }


def pairs(*assigned: tuple[str, str]) -> list[Assignment]:
    return [Assignment(s, v) for s, v in assigned]


def broken(data: dict, *assigned: tuple[str, str]) -> list[str]:
    """The hard rules a roster of (shift, volunteer) pairs breaks in the problem the reader makes of `data`."""
    return sorted({v.rule for v in validate(fileformat.read(data).problem, pairs(*assigned))})


# --- each rule of the format, expressed exactly ---------------------------------------------------


def test_a_volunteer_works_only_the_shifts_listed_in_available_in_any_grid_and_away_from_home_costs():
    month = instance(
        [shift("a", at(7, 19)), shift("b", at(8, 19)), shift("c", at(9, 19), grid=2)],
        [volunteer("v", ["a", "c"], home=1)],
        objective={"fairness_weight": 100, "off_home_weight": 5},
    )
    assert broken(month, ("b", "v")) == ["availability"]
    assert broken(month, ("a", "v")) == [] and broken(month, ("c", "v")) == []  # grid 2 is allowed: it is listed
    read = fileformat.read(month)
    assert fileformat.objective(read, pairs(("a", "v"))) == 0
    assert fileformat.objective(read, pairs(("c", "v"))) == 5  # one assignment off home, at its weight

    only_away = instance([shift("c", at(9, 19), grid=2, low=1)], [volunteer("v", ["c"], home=1)])
    result = solve(fileformat.read(only_away).problem, SOLVE)
    assert result.assignments == (Assignment("c", "v"),) and result.gaps == ()


def test_leader_required_two_needs_two_leaders():
    def month(leaders: list[str]) -> dict:
        people = [volunteer(v, ["s"], leader=True) for v in leaders] + [volunteer(p, ["s"]) for p in ("p1", "p2")]
        return instance([shift("s", at(7, 19), low=2, high=3, leaders=2)], people)

    assert broken(month(["l1", "l2"]), ("s", "l1"), ("s", "p1")) == ["leader"]
    assert broken(month(["l1", "l2"]), ("s", "l1"), ("s", "l2")) == []

    result = solve(fileformat.read(month(["l1", "l2"])).problem, SOLVE)
    assert {"l1", "l2"} <= {a.volunteer_id for a in result.assignments} and result.gaps == ()

    short = solve(fileformat.read(month(["l1"])).problem, SOLVE)
    (gap,) = short.gaps
    assert gap.shift_id == "s" and gap.leader_missing


def test_rest_is_counted_between_starts_and_shifts_never_overlap():
    first, day_later, hour_less, overlapping = at(7, 19), at(8, 19), at(8, 18), at(7, 20)
    month = instance(
        [shift("first", first), shift("day_later", day_later), shift("hour_less", hour_less)],
        [volunteer("v", ["first", "day_later", "hour_less"])],
    )  # rules.min_rest_hours left out: 24
    assert broken(month, ("first", "v"), ("day_later", "v")) == []  # exactly 24 h apart is allowed
    assert broken(month, ("first", "v"), ("hour_less", "v")) == ["rest"]  # 23 h

    no_rest = instance(
        [shift("first", first), shift("overlapping", overlapping), shift("hour_less", hour_less)],
        [volunteer("v", ["first", "overlapping", "hour_less"])],
        rules={"min_rest_hours": 0},
    )
    assert broken(no_rest, ("first", "v"), ("hour_less", "v")) == []
    assert broken(no_rest, ("first", "v"), ("overlapping", "v")) == ["rest"]  # 20:00 starts inside 19:00-21:00


def test_max_per_week_per_volunteer_and_the_default():
    week = [shift("mon", at(7, 19)), shift("wed", at(9, 19)), shift("fri", at(11, 19)), shift("next", at(14, 19))]
    ids = [s["id"] for s in week]
    people = [volunteer("d", ids), volunteer("own", ids, max_per_week=1)]
    month = instance(week, people)  # no rules: 2 a week
    assert broken(month, ("mon", "d"), ("wed", "d")) == []
    assert broken(month, ("mon", "d"), ("wed", "d"), ("fri", "d")) == ["weekly_cap"]
    assert broken(month, ("mon", "d"), ("wed", "d"), ("next", "d")) == []  # the next Monday starts a new week
    assert broken(month, ("mon", "own")) == []
    assert broken(month, ("mon", "own"), ("wed", "own")) == ["weekly_cap"]

    three = instance(week, people, rules={"max_per_week": 3})
    assert broken(three, ("mon", "d"), ("wed", "d"), ("fri", "d")) == []
    assert broken(three, ("mon", "own"), ("wed", "own")) == ["weekly_cap"]  # their own cap wins


def test_iso_weeks_are_taken_in_the_instance_time_zone():
    # Sunday 6 December 08:00 and Monday 7 December 07:00 in Shanghai: two weeks there, one week in UTC
    sunday, monday = at(6, 0, "Z"), at(6, 23, "Z")
    people = [volunteer("v", ["sun", "mon"], max_per_week=1)]
    shanghai = instance([shift("sun", sunday), shift("mon", monday)], people, rules={"min_rest_hours": 12})
    assert broken(shanghai, ("sun", "v"), ("mon", "v")) == []
    starts = {s.id: s.start for s in fileformat.read(shanghai).problem.shifts}
    assert starts == {"sun": datetime(2026, 12, 6, 8), "mon": datetime(2026, 12, 7, 7)}

    utc = {**shanghai, "timezone": "UTC"}
    assert broken(utc, ("sun", "v"), ("mon", "v")) == ["weekly_cap"]


def test_the_objective_is_the_formats_formula_for_a_hand_roster():
    shifts = [shift("s1", at(7, 19)), shift("s2", at(8, 19), grid=2), shift("s3", at(9, 19)), shift("s4", at(10, 19))]
    shifts[3]["grid"] = 2
    for s in shifts:
        s["max"] = 3
    ids = [s["id"] for s in shifts]
    people = [
        volunteer("l1", ids, leader=True, home=1),
        volunteer("l2", ids, leader=True, home=2),
        volunteer("l3", ids, leader=True, home=1),  # no shift: load 0 counts in the leaders' spread
        volunteer("p1", ids, home=1),
        volunteer("p2", ids, home=2),
    ]
    month = instance(shifts, people, rules={"max_per_week": 3}, objective={"fairness_weight": 7, "off_home_weight": 3})
    hand = pairs(("s1", "l1"), ("s2", "l1"), ("s2", "l2"), ("s1", "p1"), ("s3", "p1"), ("s4", "p1"), ("s4", "p2"))
    # leaders' loads 2, 1, 0: spread 2; others' 3, 1: spread 2; off home: l1 on s2, p1 on s4
    formula = 7 * (2 + 2) + 3 * 2
    read = fileformat.read(month)
    assert validate(read.problem, hand) == []
    assert fileformat.objective(read, hand) == formula
    assert cost_of(read.problem, hand) == formula  # the solver minimises that and nothing else


def test_a_roster_is_written_with_its_trace_and_read_back():
    people = [volunteer("l", ["a", "b"], leader=True), volunteer("p", ["a", "b"])]
    month = instance([shift("a", at(7, 19), low=1, leaders=1), shift("b", at(8, 19), low=1)], people)
    read = fileformat.read(month)
    result = solve(read.problem, SOLVE)
    written = json.loads(json.dumps(fileformat.roster(read, result)))
    assert written["format"] == "patrol-roster/1" and written["status"] == "optimal"
    assert sorted(fileformat.assignments(written)) == sorted(result.assignments)
    assert written["objective"] == fileformat.objective(read, result.assignments) == 0
    assert written["trace"] and all(len(point) == 2 for point in written["trace"])
    assert "gaps" not in written and "problems" not in written


# --- what the format forbids, refused with the field named -------------------------------------------


def valid() -> dict:
    return instance(
        [shift("s1", at(7, 19), low=1, high=2, leaders=1), shift("s2", at(8, 19))],
        [volunteer("v1", ["s1"], leader=True), volunteer("v2", ["s1", "s2"])],
    )


def _at(data: dict, path: str):
    """The object holding the field a dotted path names ("volunteers.0.leader"), and the field."""
    *parents, last = path.split(".")
    for key in parents:
        data = data[int(key)] if key.isdigit() else data[key]
    return data, last


def without(path: str):
    def change(data):
        holder, field = _at(data, path)
        del holder[field]

    return change


def setting(path: str, value):
    def change(data):
        holder, field = _at(data, path)
        holder[field] = value

    return change


def twice(kind: str):
    def change(data):
        data[kind].append(copy.deepcopy(data[kind][0]))

    return change


REFUSED = {
    "missing volunteer field": (without("volunteers.0.leader"), "volunteers[0]: field 'leader' is missing"),
    "missing shift field": (without("shifts.1.min"), "shifts[1]: field 'min' is missing"),
    "missing shifts": (without("shifts"), "instance: field 'shifts' is missing"),
    "unknown shift in available": (
        setting("volunteers.1.available", ["s1", "s9"]),
        "volunteers[1].available: unknown shift 's9'",
    ),
    "max below min": (setting("shifts.0.max", 0), "shifts[0].max: 0 is below min 1"),
    "leader_required above max": (
        setting("shifts.0.leader_required", 3),
        "shifts[0].leader_required: 3 is above max 2",
    ),
    "end before start": (setting("shifts.1.end", at(8, 18)), "shifts[1].end: '2026-12-08T18:00:00+08:00' is not after"),
    "no offset": (
        setting("shifts.0.start", "2026-12-07T19:00:00"),
        "shifts[0].start: '2026-12-07T19:00:00' has no UTC",
    ),
    "unknown timezone": (setting("timezone", "Mars/Olympus"), "timezone: unknown IANA zone 'Mars/Olympus'"),
    "duplicate shift ids": (twice("shifts"), "shifts[2].id: shift 's1' appears twice"),
    "duplicate volunteer ids": (twice("volunteers"), "volunteers[2].id: volunteer 'v1' appears twice"),
    "duplicate grid ids": (twice("grids"), "grids[2].id: grid 1 appears twice"),
    "home grid not in grids": (setting("volunteers.0.home_grid", 9), "volunteers[0].home_grid: grid 9 is not in grids"),
    "another format": (setting("format", "patrol-roster/2"), "format: expected 'patrol-roster/1'"),
}


def test_the_valid_instance_of_the_refusals_is_read():
    assert len(fileformat.read(valid()).problem.shifts) == 2


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_what_the_format_forbids_is_refused_with_the_field_named(case):
    change, said = REFUSED[case]
    data = valid()
    change(data)
    with pytest.raises(FormatError, match=re.escape(said)):
        fileformat.read(data)
