"""The patrol-roster/1 checker, one hard rule at a time: a tiny instance where the rule is just kept and one
where it is just broken; then the objective, the claimed objective and malformed input."""

import copy
import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from activities.roster.formatcheck import FormatError, check, main

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shift(sid: str, start: str, hours: float = 2, grid: int = 1, low: int = 1, high: int = 1, leaders: int = 0):
    """A shift starting at `start`, local time in Shanghai unless it carries its own offset."""
    begin = datetime.fromisoformat(start)
    if begin.tzinfo is None:
        begin = begin.replace(tzinfo=SHANGHAI)
    end = begin + timedelta(hours=hours)
    return {
        "id": sid,
        "grid": grid,
        "start": begin.isoformat(),
        "end": end.isoformat(),
        "min": low,
        "max": high,
        "leader_required": leaders,
    }


def vol(vid: str, *available: str, leader: bool = False, home: int = 1, cap: int | None = None):
    return {
        "id": vid,
        "name": f"Volunteer {vid}",
        "leader": leader,
        "home_grid": home,
        "max_per_week": cap,
        "available": list(available),
    }


def instance(shifts, volunteers, **rules) -> dict:
    return {
        "format": "patrol-roster/1",
        "name": "tiny",
        "timezone": "Asia/Shanghai",
        "rules": rules,
        "grids": [{"id": 1, "name": "grid 1"}, {"id": 2, "name": "grid 2"}],
        "shifts": shifts,
        "volunteers": volunteers,
    }


def roster(*pairs: tuple[str, str], **extra) -> dict:
    return {"assignments": [{"shift": s, "volunteer": v} for s, v in pairs], **extra}


def broken(inst: dict, r: dict) -> list[str]:
    return [v.rule for v in check(inst, r).violations]


# 1. coverage


def test_coverage_between_min_and_max():
    inst = instance(
        [shift("s", "2027-01-04T19:00", low=2, high=3)],
        [vol(v, "s") for v in "abcd"],
    )
    assert broken(inst, roster(("s", "a"))) == ["coverage"]
    assert broken(inst, roster(("s", "a"), ("s", "b"))) == []
    assert broken(inst, roster(("s", "a"), ("s", "b"), ("s", "c"))) == []
    assert broken(inst, roster(("s", "a"), ("s", "b"), ("s", "c"), ("s", "d"))) == ["coverage"]


def test_coverage_flags_an_empty_shift_and_says_so():
    inst = instance([shift("g01-2027-01-04-19", "2027-01-04T19:00", low=2, high=3)], [vol("a")])
    (v,) = check(inst, roster()).violations
    assert (v.rule, v.shift, v.volunteer) == ("coverage", "g01-2027-01-04-19", None)
    assert v.message == "grid 1, Mon 4 Jan 19:00-21:00 (g01-2027-01-04-19): 0 patrollers, needs at least 2"
    assert v.message_zh == "grid 1，1月4日（周一）19:00-21:00（g01-2027-01-04-19）：0名巡逻队员，至少需要2名"


# 2. leaders


def test_leaders_at_least_leader_required():
    inst = instance(
        [shift("s", "2027-01-04T19:00", low=2, high=3, leaders=2)],
        [vol("a", "s", leader=True), vol("b", "s", leader=True), vol("c", "s")],
    )
    assert broken(inst, roster(("s", "a"), ("s", "c"))) == ["leader"]
    assert broken(inst, roster(("s", "a"), ("s", "b"))) == []
    assert broken(inst, roster(("s", "a"), ("s", "b"), ("s", "c"))) == []


def test_no_leader_needed():
    inst = instance([shift("s", "2027-01-04T19:00", low=2, high=2)], [vol("a", "s"), vol("b", "s")])
    assert broken(inst, roster(("s", "a"), ("s", "b"))) == []


# 3. availability


def test_availability_by_shift_id():
    inst = instance(
        [shift("mon", "2027-01-04T19:00"), shift("tue", "2027-01-05T19:00")],
        [vol("a", "mon")],
    )
    assert broken(inst, roster(("mon", "a"))) == ["coverage"]  # tue is empty, nothing else
    (v,) = [v for v in check(inst, roster(("tue", "a"))).violations if v.rule != "coverage"]
    assert (v.rule, v.shift, v.volunteer) == ("availability", "tue", "a")


# 4. max per week


def test_weekly_maximum_from_the_rules():
    shifts = [shift(d, f"2027-01-{n:02d}T19:00") for d, n in (("mon", 4), ("wed", 6), ("fri", 8), ("mon2", 11))]
    volunteers = [vol("a", "mon", "wed", "fri", "mon2")]
    assert broken(instance(shifts, volunteers), roster(("mon", "a"), ("wed", "a"), ("mon2", "a"))) == [
        "coverage"  # fri
    ]
    two_weeks = instance(shifts, volunteers)
    assert broken(two_weeks, roster(("mon", "a"), ("wed", "a"), ("fri", "a"), ("mon2", "a"))) == ["max_per_week"]
    assert broken(instance(shifts, volunteers, max_per_week=3), roster(*((s, "a") for s in ("mon", "wed", "fri")))) == [
        "coverage"  # mon2
    ]


def test_own_weekly_maximum_wins_over_the_rules():
    shifts = [shift("mon", "2027-01-04T19:00"), shift("wed", "2027-01-06T19:00"), shift("fri", "2027-01-08T19:00")]
    all_three = roster(("mon", "a"), ("wed", "a"), ("fri", "a"))
    assert broken(instance(shifts, [vol("a", "mon", "wed", "fri", cap=3)]), all_three) == []
    one = instance(shifts[:2], [vol("a", "mon", "wed", cap=1)], max_per_week=3)
    (v,) = check(one, roster(("mon", "a"), ("wed", "a"))).violations
    assert (v.rule, v.shift, v.volunteer) == ("max_per_week", None, "a")
    assert v.message == "Volunteer a (a): 2 shifts in ISO week 2027-W01 (from Monday 4 Jan), at most 1"
    assert v.message_zh == "Volunteer a（a）：2027年第1周（1月4日起）有2个班次，上限1个"


def test_weeks_run_monday_to_sunday():
    shifts = [shift("sun", "2027-01-10T19:00"), shift("mon", "2027-01-11T19:00")]
    assert broken(instance(shifts, [vol("a", "sun", "mon", cap=1)]), roster(("sun", "a"), ("mon", "a"))) == []


def test_weeks_are_taken_in_the_instance_timezone():
    # Monday 11 January 07:00 in Shanghai is Sunday 10 January 23:00 in UTC: the Sunday evening before (11:00 UTC)
    # is in another Shanghai week, though both fall on the same UTC Sunday
    shifts = [shift("sun", "2027-01-10T19:00"), shift("mon", "2027-01-11T07:00")]
    assert (
        broken(instance(shifts, [vol("a", "sun", "mon", cap=1)], min_rest_hours=12), roster(("sun", "a"), ("mon", "a")))
        == []
    )
    # and a start written in UTC is moved to Shanghai before its week is taken: this one is Monday 11 January
    # 07:00 there, in the same week as Monday evening, though written as a Sunday
    shifts = [shift("early", "2027-01-10T23:00:00+00:00"), shift("mon", "2027-01-11T19:00")]
    assert broken(
        instance(shifts, [vol("a", "early", "mon", cap=1)], min_rest_hours=12), roster(("early", "a"), ("mon", "a"))
    ) == ["max_per_week"]


# 5. rest


def rest_between(first: str, second: str, **rules) -> list[str]:
    inst = instance([shift("a", first), shift("b", second)], [vol("v", "a", "b")], **rules)
    return broken(inst, roster(("a", "v"), ("b", "v")))


def test_rest_exactly_24_hours_is_allowed():
    assert rest_between("2027-01-04T19:00", "2027-01-05T19:00") == []  # consecutive evenings
    assert rest_between("2027-01-09T08:00", "2027-01-10T08:00") == []  # Saturday and Sunday mornings
    assert rest_between("2027-01-09T08:00", "2027-01-10T19:00") == []  # Saturday morning, Sunday evening


def test_rest_23_hours_59_is_refused():
    assert rest_between("2027-01-04T19:00", "2027-01-05T18:59") == ["rest"]


@pytest.mark.parametrize(
    "first, second",
    [
        ("2027-01-08T19:00", "2027-01-09T08:00"),  # Friday evening, Saturday morning: 13 h
        ("2027-01-09T08:00", "2027-01-09T19:00"),  # Saturday morning and evening: 11 h
        ("2027-01-09T19:00", "2027-01-10T08:00"),  # Saturday evening, Sunday morning: 13 h
        ("2027-01-10T08:00", "2027-01-10T19:00"),  # Sunday morning and evening: 11 h
    ],
)
def test_rest_forbids_the_format_examples(first, second):
    assert rest_between(first, second) == ["rest"]


def test_rest_is_between_starts_in_any_order():
    inst = instance([shift("sat", "2027-01-09T08:00"), shift("fri", "2027-01-08T19:00")], [vol("v", "sat", "fri")])
    (v,) = check(inst, roster(("sat", "v"), ("fri", "v"))).violations
    assert (v.rule, v.shift, v.volunteer) == ("rest", "sat", "v")
    assert v.message == (
        "Volunteer v (v): grid 1, Fri 8 Jan 19:00-21:00 (fri) and grid 1, Sat 9 Jan 08:00-10:00 (sat) "
        "start 13 h apart, less than 24 h"
    )
    assert v.message_zh == (
        "Volunteer v（v）：grid 1，1月8日（周五）19:00-21:00（fri）与grid 1，1月9日（周六）08:00-10:00（sat）"
        "开始时间相隔13小时，不足24小时"
    )


def test_rest_from_the_rules():
    assert rest_between("2027-01-08T19:00", "2027-01-09T08:00", min_rest_hours=12) == []
    assert rest_between("2027-01-08T19:00", "2027-01-09T08:00", min_rest_hours=13.5) == ["rest"]


def test_two_shifts_at_the_same_time_are_refused_even_without_rest():
    inst = instance(
        [shift("g1", "2027-01-04T19:00", grid=1), shift("g2", "2027-01-04T19:00", grid=2)],
        [vol("v", "g1", "g2")],
        min_rest_hours=0,
    )
    assert broken(inst, roster(("g1", "v"), ("g2", "v"))) == ["rest"]


def test_overlapping_shifts_are_refused_though_they_start_far_enough_apart():
    long_afternoon = shift("a", "2027-01-04T14:00", hours=4)  # to 18:00
    short_afternoon = shift("a", "2027-01-04T14:00", hours=3)  # to 17:00
    dusk = shift("d", "2027-01-04T17:00", hours=3)
    overlapping = instance([long_afternoon, dusk], [vol("v", "a", "d")], min_rest_hours=2)
    (v,) = check(overlapping, roster(("a", "v"), ("d", "v"))).violations
    assert v.rule == "rest" and v.message.endswith(" overlap") and v.message_zh.endswith("时间重叠")
    touching = instance([short_afternoon, dusk], [vol("v", "a", "d")], min_rest_hours=2)
    assert broken(touching, roster(("a", "v"), ("d", "v"))) == []


def test_rest_checks_every_close_pair_not_only_neighbours():
    inst = instance(
        [shift("x", "2027-01-04T08:00"), shift("y", "2027-01-04T14:00"), shift("z", "2027-01-04T19:00")],
        [vol("v", "x", "y", "z", cap=3)],
    )
    rest = [(v.shift, v.message) for v in check(inst, roster(("x", "v"), ("y", "v"), ("z", "v"))).violations]
    assert [s for s, _ in rest] == ["y", "z", "z"]


# 6. integrity


def test_unknown_ids():
    inst = instance([shift("s", "2027-01-04T19:00")], [vol("a", "s")])
    checked = check(inst, roster(("s", "a"), ("nope", "a"), ("s", "nobody")))
    assert [(v.rule, v.shift, v.volunteer) for v in checked.violations] == [
        ("integrity", "nope", "a"),
        ("integrity", "s", "nobody"),
    ]
    assert checked.violations[0].message == "assignments[1]: unknown shift 'nope'"


def test_a_pair_twice_is_flagged_and_counted_once():
    inst = instance([shift("s", "2027-01-04T19:00")], [vol("a", "s")])
    checked = check(inst, roster(("s", "a"), ("s", "a")))
    assert [(v.rule, v.shift, v.volunteer) for v in checked.violations] == [("integrity", "s", "a")]
    assert checked.spread == {"leaders": 0, "others": 0}


# objective


def test_objective_counts_volunteers_with_no_shift():
    inst = instance(
        [shift("mon", "2027-01-04T19:00"), shift("tue", "2027-01-05T19:00")],
        [vol("a", "mon", "tue"), vol("b", "mon", "tue"), vol("lead", "mon", leader=True)],
    )
    checked = check(inst, roster(("mon", "a"), ("tue", "a")))
    assert checked.spread == {"leaders": 0, "others": 2}
    assert (checked.off_home, checked.objective) == (0, 200)


def test_objective_of_an_empty_group_is_zero():
    inst = instance([shift("mon", "2027-01-04T19:00")], [vol("a", "mon")])
    checked = check(inst, roster(("mon", "a")))
    assert checked.spread == {"leaders": 0, "others": 0} and checked.objective == 0


def test_objective_counts_shifts_away_from_home():
    inst = instance(
        [shift("g1", "2027-01-04T19:00", grid=1), shift("g2", "2027-01-05T19:00", grid=2)],
        [vol("a", "g1", "g2", home=1), vol("b", "g1", "g2", home=2, leader=True)],
    )
    checked = check(inst, roster(("g1", "b"), ("g2", "a")))
    assert (checked.spread, checked.off_home, checked.objective) == ({"leaders": 0, "others": 0}, 2, 2)
    checked = check(inst, roster(("g1", "a"), ("g2", "a")))
    assert (checked.spread, checked.off_home, checked.objective) == ({"leaders": 0, "others": 0}, 1, 1)


def test_objective_weights_come_from_the_instance():
    inst = instance(
        [shift("g1", "2027-01-04T19:00", grid=1), shift("g2", "2027-01-05T19:00", grid=2)],
        [vol("a", "g1", "g2"), vol("b", "g1", "g2"), vol("l", "g1", leader=True)],
    )
    r = roster(("g1", "a"), ("g2", "a"))  # spread others 2, leaders 0, off home 1
    assert check(inst, r).objective == 201
    inst["objective"] = {"fairness_weight": 10, "off_home_weight": 3}
    assert check(inst, r).objective == 23
    inst["objective"] = {"off_home_weight": 3}
    assert check(inst, r).objective == 203


def test_claimed_objective():
    inst = instance([shift("s", "2027-01-04T19:00")], [vol("a", "s"), vol("b", "s")])
    assert check(inst, roster(("s", "a"))).claimed_ok is None
    assert check(inst, roster(("s", "a"), objective=100)).claimed_ok is True
    assert check(inst, roster(("s", "a"), objective=100.0)).claimed_ok is True
    assert check(inst, roster(("s", "a"), objective=99)).claimed_ok is False


# reading


def test_unknown_fields_are_ignored():
    inst = instance([shift("s", "2027-01-04T19:00")], [vol("a", "s")])
    inst["colour"] = "red"
    inst["shifts"][0]["kind"] = "evening"
    inst["volunteers"][0]["phone"] = "secret"
    assert check(inst, roster(("s", "a"), trace=[[0.1, 3]], solver="x")).violations == []


def test_defaults_when_rules_and_objective_are_absent():
    inst = instance(
        [shift(f"d{n}", f"2027-01-{n:02d}T19:00") for n in (4, 5, 6)],
        [vol("a", "d4", "d5", "d6"), vol("b", "d4")],
    )
    del inst["rules"]
    checked = check(inst, roster(("d4", "a"), ("d5", "a"), ("d6", "a")))
    assert [v.rule for v in checked.violations] == ["max_per_week"]  # 2 a week; 24 h rest kept
    assert checked.objective == 300


def mutate(path: str, value=None, delete: bool = False):
    """A change to a valid tiny instance: `path` like shifts.0.start."""

    def apply(inst):
        *parents, last = path.split(".")
        obj = inst
        for key in parents:
            obj = obj[int(key)] if isinstance(obj, list) else obj[key]
        key = int(last) if isinstance(obj, list) else last
        if delete:
            del obj[key]
        else:
            obj[key] = value
        return inst

    return apply


@pytest.mark.parametrize(
    "change, names",
    [
        (mutate("shifts", delete=True), "instance.shifts: missing"),
        (mutate("volunteers", delete=True), "instance.volunteers: missing"),
        (mutate("grids", delete=True), "instance.grids: missing"),
        (mutate("timezone", delete=True), "instance.timezone: missing"),
        (mutate("timezone", "Mars/Olympus"), "instance.timezone: unknown time zone 'Mars/Olympus'"),
        (mutate("format", "patrol-roster/2"), "instance.format: expected 'patrol-roster/1'"),
        (mutate("shifts.0.start", delete=True), "shifts[0] (s).start: missing"),
        (mutate("shifts.0.end", "2027-01-04T21:00"), "shifts[0] (s).end: '2027-01-04T21:00' has no UTC offset"),
        (mutate("shifts.0.end", "tomorrow"), "shifts[0] (s).end: not an ISO 8601 date and time"),
        (mutate("shifts.0.end", "2027-01-04T18:00:00+08:00"), "shifts[0] (s).end: not after its start"),
        (mutate("shifts.0.min", delete=True), "shifts[0] (s).min: missing"),
        (mutate("shifts.0.min", 4), "shifts[0] (s).min: 4 is more than max 3"),
        (mutate("shifts.0.max", "3"), "shifts[0] (s).max: expected an integer, got '3'"),
        (mutate("shifts.0.leader_required", delete=True), "shifts[0] (s).leader_required: missing"),
        (mutate("shifts.0.grid", 9), "shifts[0] (s).grid: 9 is not in grids"),
        (mutate("shifts.1.id", "s"), "shifts[1] (s).id: appears twice"),
        (mutate("volunteers.0.leader", delete=True), "volunteers[0] (a).leader: missing"),
        (mutate("volunteers.0.leader", 1), "volunteers[0] (a).leader: expected a boolean, got 1"),
        (mutate("volunteers.0.home_grid", delete=True), "volunteers[0] (a).home_grid: missing"),
        (mutate("volunteers.0.home_grid", 9), "volunteers[0] (a).home_grid: 9 is not in grids"),
        (mutate("volunteers.0.available", delete=True), "volunteers[0] (a).available: missing"),
        (mutate("volunteers.0.available", ["s", "ghost"]), "volunteers[0] (a).available: unknown shift 'ghost'"),
        (mutate("volunteers.0.max_per_week", -1), "volunteers[0] (a).max_per_week: must not be negative"),
        (mutate("volunteers.1.id", "a"), "volunteers[1] (a).id: appears twice"),
        (mutate("grids.1.id", 1), "grids[1] (1).id: appears twice"),
        (mutate("rules.max_per_week", 2.5), "rules.max_per_week: expected an integer, got 2.5"),
        (mutate("objective", {"fairness_weight": "high"}), "objective.fairness_weight: expected an integer"),
    ],
)
def test_a_malformed_instance_names_its_field(change, names):
    inst = instance(
        [shift("s", "2027-01-04T19:00", low=2, high=3), shift("t", "2027-01-05T19:00")],
        [vol("a", "s"), vol("b", "s")],
    )
    with pytest.raises(FormatError, match="^" + re.escape(names)):
        check(change(copy.deepcopy(inst)), roster(("s", "a")))


@pytest.mark.parametrize(
    "r, names",
    [
        ({}, "roster.assignments: missing"),
        ({"assignments": [{"shift": "s"}]}, "assignments[0].volunteer: missing"),
        ({"assignments": ["s/a"]}, "assignments[0]: expected an object"),
        ({"assignments": [], "objective": "low"}, "roster.objective: expected a number"),
    ],
)
def test_a_malformed_roster_names_its_field(r, names):
    inst = instance([shift("s", "2027-01-04T19:00")], [vol("a", "s")])
    with pytest.raises(FormatError, match="^" + re.escape(names)):
        check(inst, r)


def test_format_error_is_a_value_error():
    assert issubclass(FormatError, ValueError)


# the command line


def write(tmp_path, name: str, obj) -> str:
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return str(path)


def test_command_line_exit_codes(tmp_path, capsys):
    inst = write(tmp_path, "i.json", instance([shift("s", "2027-01-04T19:00", low=2, high=3)], [vol("a", "s")]))
    good = write(tmp_path, "good.json", {"assignments": [], "objective": 0})
    assert main([write(tmp_path, "i0.json", instance([], [vol("a")])), good]) == 0
    assert "objective 0: spread leaders 0, others 0, off home 0; claimed 0, equal" in capsys.readouterr().out

    assert main([inst, write(tmp_path, "r.json", roster(("s", "a"), objective=5))]) == 1
    out = capsys.readouterr().out
    assert "coverage: grid 1, Mon 4 Jan 19:00-21:00 (s): 1 patrollers, needs at least 2" in out
    assert "1 violations (coverage 1)" in out and "claimed 5, DIFFERENT" in out

    assert main([inst, write(tmp_path, "bad.json", "{not json")]) == 2
    assert main([inst, str(tmp_path / "missing.json")]) == 2
    assert main([inst, write(tmp_path, "empty.json", {})]) == 2
    assert "roster.assignments: missing" in capsys.readouterr().err
