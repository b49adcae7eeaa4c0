"""Generated months: one seed gives one month, every month of the family is a valid patrol-roster/1 instance of
the size and shares its spec asks for, and the months said infeasible are so by a count redone here."""

import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from activities.roster.formatcheck import check
from activities.roster.generate import ALL, BY_NAME, FAMILY, MonthSpec, dumps, main, month

UP_TO_1000 = [s for s in FAMILY if s.volunteers <= 1000]
BIGGER = [s for s in FAMILY if s.volunteers > 1000]


def test_one_seed_one_month_whatever_the_global_random():
    spec = BY_NAME["m120-l30-mix"]
    random.seed(1)
    first = dumps(month(spec))
    state = random.getstate()
    second = dumps(month(spec))
    assert random.getstate() == state
    assert first == second
    assert dumps(month(replace(spec, seed=spec.seed + 1))) != first


def test_the_family_covers_what_a_benchmark_needs():
    assert len(FAMILY) >= 22 and len(BY_NAME) == len(FAMILY)
    assert all(re.fullmatch(r"m\d+-l\d+(-[a-z0-9]+)*", s.name) for s in FAMILY)
    sizes = Counter(s.volunteers for s in FAMILY)
    assert {30, 60, 120, 300, 600, 1000, 3000} <= set(sizes) and sizes[300] >= 3
    assert min(s.leader_share for s in FAMILY) <= 0.15 and max(s.leader_share for s in FAMILY) == 0.5
    assert min(s.density for s in FAMILY) <= 0.15 and max(s.density for s in FAMILY) >= 0.7
    assert {1.0, 0.0} <= {s.home_cover for s in FAMILY} and any(abs(s.home_cover - 1 / 3) < 1e-9 for s in FAMILY)
    assert any(s.afternoons for s in FAMILY) and any(s.dusks for s in FAMILY)
    assert any(s.hard_grids for s in FAMILY) and any(s.own_caps for s in FAMILY)
    assert {12, 24} <= {s.min_rest_hours for s in FAMILY}
    assert {0, ALL} <= {s.reach for s in FAMILY} and {"ring", "line"} == {s.layout for s in FAMILY}
    reasons = Counter(s.infeasible for s in FAMILY)
    assert reasons["leaders"] >= 2 and reasons["places"] >= 1
    assert all(s.name.endswith("-x") == bool(s.infeasible) for s in FAMILY)


def test_the_guanyinli_month():
    """300 volunteers, 15 grids, 28 days of evening and weekend-morning patrols, 30 % leaders, availability per
    shift, and 10 of the 15 grids not coverable by their own volunteers."""
    spec = BY_NAME["m300-l30-u10"]
    inst = month(spec)
    assert (spec.volunteers, spec.grids, spec.days, spec.leader_share) == (300, 15, 28, 0.3)
    assert len(inst["generator"]["cover_grids"]) == 5
    hours = Counter(s["start"][11:16] + "-" + s["end"][11:16] for s in inst["shifts"])
    assert hours == {"19:00-21:00": 15 * 28, "08:00-10:00": 15 * 8}
    assert infeasible_by(inst) == set()


@pytest.mark.parametrize("spec", UP_TO_1000, ids=lambda s: s.name)
def test_a_month_of_the_family(spec):
    assert_month(spec, month(spec))


@pytest.mark.parametrize("spec", BIGGER, ids=lambda s: s.name)
def test_a_big_month_of_the_family(spec):
    assert_month(spec, month(spec))


def test_a_spec_out_of_range_is_refused():
    with pytest.raises(ValueError, match="volunteers: 30..3000"):
        MonthSpec(name="tiny", seed=1, volunteers=10, grids=2)
    with pytest.raises(ValueError, match="start: a Monday"):
        MonthSpec(name="tuesday", seed=1, volunteers=30, grids=2, start=date(2027, 1, 5))
    with pytest.raises(ValueError, match="reach"):
        MonthSpec(name="far", seed=1, volunteers=30, grids=2, reach=-1)


def test_command_line(tmp_path, capsys):
    assert main(["--list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:4] == ["name", "volunteers", "grids", "shifts"]
    assert [line.split()[0] for line in listing[1:]] == [s.name for s in FAMILY]
    assert listing[1 + FAMILY.index(BY_NAME["m300-l30-u10"])].split()[:4] == ["m300-l30-u10", "300", "15", "540"]

    assert main(["m30-l40", "m60-l30", "--out", str(tmp_path / "months")]) == 0
    written = (tmp_path / "months" / "m30-l40.json").read_text(encoding="utf-8")
    assert written == dumps(month(BY_NAME["m30-l40"])) and json.loads(written) == month(BY_NAME["m30-l40"])
    assert (tmp_path / "months" / "m60-l30.json").exists()
    with pytest.raises(SystemExit):
        main(["m31-nothing"])


# what every month must be


def assert_month(spec: MonthSpec, inst: dict) -> None:
    checked = check(inst, {"assignments": []})  # reads it as the format, or raises
    assert {v.rule for v in checked.violations} <= {"coverage", "leader"}
    assert json.loads(dumps(inst)) == inst
    assert inst["format"] == "patrol-roster/1" and inst["name"] == spec.name and inst["timezone"] == "Asia/Shanghai"
    assert inst["rules"] == {"max_per_week": spec.max_per_week, "min_rest_hours": spec.min_rest_hours}
    assert inst["generator"]["spec"]["name"] == spec.name

    grids = [g["id"] for g in inst["grids"]]
    assert grids == list(range(1, spec.grids + 1)) and all(g["name"] == f"grid {g['id']}" for g in inst["grids"])
    assert_shifts(spec, inst["shifts"])
    assert_volunteers(spec, inst)
    assert_home_cover(spec, inst)
    assert infeasible_by(inst) == ({spec.infeasible} if spec.infeasible else set())


def assert_shifts(spec: MonthSpec, shifts: list[dict]) -> None:
    ids = [s["id"] for s in shifts]
    assert len(set(ids)) == len(ids)
    first, last = datetime.fromisoformat(f"{spec.start}T00:00+08:00"), spec.start + timedelta(days=spec.days)
    crews = {(low, high) for low, high, _ in spec.crew}
    needs = {n for n, _ in spec.leaders}
    hours = Counter()
    for s in shifts:
        start, end = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
        assert start.utcoffset() == end.utcoffset() == timedelta(hours=8)
        assert first <= start < end and start.date() < last
        assert s["id"] == f"g{s['grid']:02d}-{start.date()}-{start.hour:02d}"
        assert (s["min"], s["max"]) in crews
        morning = start.hour == 8
        assert s["leader_required"] in ({0} if morning and not spec.morning_leaders else needs | {s["max"]})
        assert s["leader_required"] <= s["max"]
        hours[start.strftime("%H:%M-") + end.strftime("%H:%M"), start.weekday() >= 5] += 1
    assert hours["19:00-21:00", False] + hours["19:00-21:00", True] == spec.grids * spec.days
    weekend_days = sum((spec.start + timedelta(days=d)).weekday() >= 5 for d in range(spec.days))
    assert hours["08:00-10:00", True] == (spec.grids * weekend_days if spec.mornings else 0)
    afternoons = sum(n for (h, _), n in hours.items() if h in ("14:00-17:00", "14:00-18:00"))
    assert (afternoons > 0) == (spec.afternoons > 0)
    assert (hours["17:00-20:00", False] + hours["17:00-20:00", True] > 0) == (spec.dusks > 0)
    assert sum(hours.values()) == len(shifts)


def within_reach(spec: MonthSpec, home: int, grid: int) -> bool:
    if spec.reach == ALL:
        return True
    apart = abs(home - grid)
    if spec.layout == "ring":
        apart = min(apart, spec.grids - apart)
    return apart <= spec.reach


def assert_volunteers(spec: MonthSpec, inst: dict) -> None:
    volunteers = inst["volunteers"]
    assert [v["id"] for v in volunteers] == [f"v{n:04d}" for n in range(1, spec.volunteers + 1)]
    assert all(v["name"] == f"Volunteer {v['id'][1:].lstrip('0')}" for v in volunteers)
    assert sum(v["leader"] for v in volunteers) == round(spec.leader_share * spec.volunteers)
    own = [v["max_per_week"] for v in volunteers if v["max_per_week"] is not None]
    assert len(own) == round(spec.own_caps * spec.volunteers) and set(own) <= {1, 3}
    order = {s["id"]: n for n, s in enumerate(inst["shifts"])}
    grid_of = {s["id"]: s["grid"] for s in inst["shifts"]}
    for v in volunteers:
        positions = [order[a] for a in v["available"]]
        assert positions == sorted(set(positions))
        assert all(within_reach(spec, v["home_grid"], grid_of[a]) for a in v["available"])

    # how often a volunteer is free: measured on their home evenings, where nothing else changes the chance
    ordinary = set(inst["generator"]["cover_grids"]) - set(inst["generator"]["hard_grids"])
    if spec.volunteers >= 120 and ordinary:
        evenings = {s["id"] for s in inst["shifts"] if s["start"][11:16] == "19:00"}
        counted = [v for v in volunteers if v["home_grid"] in ordinary]
        free = sum(1 for v in counted for a in v["available"] if a in evenings and grid_of[a] == v["home_grid"])
        assert free / (len(counted) * spec.days) == pytest.approx(spec.density, abs=0.06)


def assert_home_cover(spec: MonthSpec, inst: dict) -> None:
    """A grid meant not to cover itself has, in every week, a shift fewer of its residents may take than it needs."""
    cover = set(inst["generator"]["cover_grids"])
    assert len(cover) == round(spec.home_cover * spec.grids)
    residents = Counter(v["home_grid"] for v in inst["volunteers"])
    listing = defaultdict(int)
    for v in inst["volunteers"]:
        for a in v["available"]:
            listing[a, v["home_grid"]] += 1
    short_weeks = defaultdict(set)
    for s in inst["shifts"]:
        if listing[s["id"], s["grid"]] < s["min"]:
            short_weeks[s["grid"]].add(week(s))
    weeks = {week(s) for s in inst["shifts"]}
    for g in range(1, spec.grids + 1):
        if g not in cover:
            assert short_weeks[g] == weeks, f"grid {g}"
    hard = set(inst["generator"]["hard_grids"])
    if cover and len(cover) < spec.grids:
        visited = [residents[g] for g in range(1, spec.grids + 1) if g not in cover and g not in hard]
        covering = [residents[g] for g in cover - hard]
        if visited and covering:
            assert max(visited) < min(covering)


# infeasibility by counting


def week(shift: dict) -> tuple[int, int]:
    return tuple(datetime.fromisoformat(shift["start"]).isocalendar()[:2])


def infeasible_by(inst: dict) -> set[str]:
    """The simple counts that prove no roster exists:
    - local: a shift with fewer volunteers (or leaders) listing it than it needs;
    - leaders / places: a week whose leader places (patroller places) outnumber what the leaders (everyone) can
      give, each at most min(weekly cap, the distinct start times they are free at that week)."""
    shifts = {s["id"]: s for s in inst["shifts"]}
    out = set()
    people, leaders = Counter(), Counter()
    can, can_lead = Counter(), Counter()
    for v in inst["volunteers"]:
        cap = inst["rules"]["max_per_week"] if v["max_per_week"] is None else v["max_per_week"]
        starts = defaultdict(set)
        for a in v["available"]:
            people[a] += 1
            leaders[a] += v["leader"]
            starts[week(shifts[a])].add(shifts[a]["start"])
        for w, times in starts.items():
            can[w] += min(cap, len(times))
            can_lead[w] += min(cap, len(times)) if v["leader"] else 0
    places, leader_places = Counter(), Counter()
    for s in inst["shifts"]:
        places[week(s)] += s["min"]
        leader_places[week(s)] += s["leader_required"]
        if people[s["id"]] < s["min"] or leaders[s["id"]] < s["leader_required"]:
            out.add("local")
    if any(leader_places[w] > can_lead[w] for w in leader_places):
        out.add("leaders")
    if any(places[w] > can[w] for w in places):
        out.add("places")
    return out
