"""Counting checks that prove a month cannot be covered, one test per check (it fires with its numbers in
English and Chinese, and stays silent once the month just fits), and a solver that always answers with a
roster and words: a month short of leaders, a search out of time, and random small months."""

import random
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import combinations

from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model
from roster_cases import problem, shift, vol

from activities.roster import Options, Shift, bounds, cpmodel, fileformat, solve, solver, validate
from activities.roster.explain import without_roster
from activities.roster.index import Index

EVERY_GRID = frozenset({1, 2, 3})


def found(p) -> list[bounds.Shortage]:
    return bounds.shortages(Index.build(p))


def only(p, kind: str) -> bounds.Shortage:
    """The one shortage of the month, which must be of this kind."""
    shortages = found(p)
    assert [s.kind for s in shortages] == [kind]
    return shortages[0]


def cannot_be_covered(p) -> bool:
    """CP-SAT proves that no roster meets the hard rules (None when it cannot tell within 5 s)."""
    built = cpmodel.build(Index.build(p), soft=False)
    cp = cp_model.CpSolver()
    cp.parameters.num_workers = 1
    cp.parameters.max_time_in_seconds = 5
    status = cp.Solve(built.model)
    return {cp_model.INFEASIBLE: True, cp_model.OPTIMAL: False, cp_model.FEASIBLE: False}.get(status)


# what one volunteer can take under the rest rule, which every count relies on


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.integers(0, 96), st.integers(1, 30)), min_size=1, max_size=8),
    st.sampled_from(["start", "end"]),
    st.sampled_from([0, 6, 12, 24]),
)
# 0-3 h frees its volunteer at 12 h, 1-2 h only at 13 h: taking the shift that ends first would lose 12-13 h
@example(spans=[(0, 3), (1, 1), (12, 1)], rest_from="start", rest=12)
def test_spacing_takes_as_many_slots_as_any_choice_the_rest_rule_allows(spans, rest_from, rest):
    """Spacing.most against every subset of the slots that has no pair the index says clash."""
    monday = datetime(2026, 11, 30)
    shifts = [
        Shift(f"s{i}", 1, monday + timedelta(hours=h), monday + timedelta(hours=h + length))
        for i, (h, length) in enumerate(spans)
    ]
    ix = Index.build(problem([vol("a")], shifts, min_rest_hours=rest, rest_from=rest_from))
    clash = ix.conflict_set(ix.rest_of(0))
    slots = range(len(ix.slots))
    best = max(
        len(chosen)
        for size in range(len(ix.slots) + 1)
        for chosen in combinations(slots, size)
        if not any(pair in clash for pair in combinations(chosen, 2))
    )
    spacing = ix.spacing(ix.rest_of(0))
    assert spacing.most(spacing.mask(slots)) == best
    assert spacing.most(spacing.mask(slots), cap=1) == 1


# one test per check


def saturday(volunteers):
    """A morning patrol in grid 1 and an evening patrol in grid 2, 9 hours apart: one each with 12 h of rest."""
    return problem(
        volunteers,
        [shift("morning", 5, "morning", grid=1, need=2, most=2), shift("evening", 5, grid=2, need=2, most=2)],
    )


def test_a_day_needs_more_places_than_its_volunteers_can_take():
    short = only(saturday([vol(v, grids=EVERY_GRID) for v in "abc"]), "day")
    assert (short.short, short.leader_short) == (1, 0)
    assert short.message == (
        "Saturday 5 December: 2 shifts need 4 patroller places, the 3 volunteers available that day can take at "
        "most 3 under the rest rule and their caps"
    )
    assert (
        short.message_zh
        == "12月5日（周六）：2个班次共需4个巡逻名额，当天可用的3名队员在休息规定和个人上限内最多能出3个"
    )
    assert found(saturday([vol(v, grids=EVERY_GRID) for v in "abcd"])) == []


def test_a_day_needs_more_leader_places_than_its_leaders_can_take():
    def month(leaders: int):
        volunteers = [vol(v, grids=EVERY_GRID, leader=i < leaders) for i, v in enumerate("abcd")]
        p = saturday(volunteers)
        return replace(p, shifts=tuple(replace(s, leader_needed=True) for s in p.shifts))

    short = only(month(1), "leader_day")
    assert (short.short, short.leader_short) == (0, 1)
    assert short.message == (
        "Saturday 5 December: 2 shifts need 2 leader places, the 1 leader available that day can take at most 1 "
        "under the rest rule and their caps"
    )
    assert (
        short.message_zh
        == "12月5日（周六）：2个班次共需2个队长名额，当天可用的1名队长在休息规定和个人上限内最多能出1个"
    )
    assert found(month(2)) == []


def three_evenings(volunteers, need: int = 1, leader: bool = False):
    """Monday to Wednesday evening, each in a grid of its own."""
    return problem(volunteers, [shift(f"s{d}", d, grid=d + 1, need=need, most=need, leader=leader) for d in range(3)])


def test_a_week_needs_more_places_than_its_volunteers_can_take():
    def month(volunteers: int):
        return three_evenings([vol(v, grids=EVERY_GRID, max_per_week=1) for v in "abc"[:volunteers]])

    short = only(month(2), "week")
    assert (short.short, short.leader_short) == (1, 0)
    assert short.message == (
        "week 49 (Monday 30 November to Sunday 6 December): 3 shifts need 3 patroller places, the 2 volunteers "
        "available that week can take at most 2 within their weekly caps and the rest rule"
    )
    assert short.message_zh == (
        "第49周（11月30日至12月6日）：3个班次共需3个巡逻名额，当周可用的2名队员在每周上限和休息规定内最多能出2个"
    )
    assert found(month(3)) == []


def test_a_week_needs_more_leader_places_than_its_leaders_can_take():
    def month(leader_cap: int):
        leader = vol("a", grids=EVERY_GRID, leader=True, max_per_week=leader_cap)
        return three_evenings([leader] + [vol(v, grids=EVERY_GRID) for v in "bcdef"], need=2, leader=True)

    short = only(month(2), "leader_week")
    assert (short.short, short.leader_short) == (0, 1)
    assert short.message == (
        "week 49 (Monday 30 November to Sunday 6 December): 3 shifts need 3 leader places, the 1 leader "
        "available that week can take at most 2 within their weekly caps and the rest rule"
    )
    assert short.message_zh == (
        "第49周（11月30日至12月6日）：3个班次共需3个队长名额，当周可用的1名队长在每周上限和休息规定内最多能出2个"
    )
    assert found(month(3)) == []


def two_mondays(volunteers, need: int = 1, leader: bool = False):
    return problem(volunteers, [shift(f"s{d}", d, need=need, most=need, leader=leader) for d in (0, 7)])


def test_the_period_needs_more_places_than_the_caps_over_it_allow():
    short = only(two_mondays([vol("a", max_shifts=1)]), "period")
    assert (short.short, short.leader_short) == (1, 0)
    assert short.message == (
        "the whole period (Monday 30 November to Monday 7 December): 2 shifts need 2 patroller places, "
        "the 1 volunteer can take at most 1 within their caps"
    )
    assert (
        short.message_zh
        == "整个排班期（11月30日至12月7日）：2个班次共需2个巡逻名额，可用的1名队员在各自上限内最多能出1个"
    )
    assert found(two_mondays([vol("a", max_shifts=2)])) == []


def test_the_period_needs_more_leader_places_than_the_leaders_caps_allow():
    def month(leader_cap: int):
        return two_mondays([vol("a", leader=True, max_shifts=leader_cap), vol("b"), vol("c")], need=2, leader=True)

    short = only(month(1), "leader_period")
    assert (short.short, short.leader_short) == (0, 1)
    assert short.message == (
        "the whole period (Monday 30 November to Monday 7 December): 2 shifts need 2 leader places, "
        "the 1 leader can take at most 1 within their caps"
    )
    assert (
        short.message_zh
        == "整个排班期（11月30日至12月7日）：2个班次共需2个队长名额，可用的1名队长在各自上限内最多能出1个"
    )
    assert found(month(2)) == []


def test_a_grids_week_counts_the_leaders_each_shift_needs():
    def month(leaders: int):
        two_leaders = [
            replace(shift(d, i, need=3, most=3, leader=True), leaders=2) for i, d in enumerate(("mon", "tue"))
        ]
        patrollers = [vol("p"), vol("q")]
        return problem([vol(f"l{i}", leader=True, max_per_week=1) for i in range(leaders)] + patrollers, two_leaders)

    short = only(month(3), "grid_week")
    assert (short.short, short.leader_short) == (0, 1)
    assert short.message == "grid 1, week of Monday 30 November: needs 4 leader places, its leaders can give 3"
    assert short.message_zh == "1号网格，11月30日所在的一周：需要4个队长名额，队长们最多能出3个"
    assert found(month(4)) == []


def test_a_grids_week_counts_the_rest_rule():
    """One volunteer cannot take a Friday evening and the Saturday morning after it (11 h of rest, 12 asked)."""
    p = problem([vol("a", leader=True)], [shift("fri", 4, leader=True), shift("sat", 5, "morning")])
    short = only(p, "grid_week")
    assert short.message == "grid 1, week of Friday 4 December: needs 2 patroller places, its patrollers can give 1"
    assert found(replace(p, rules=replace(p.rules, min_rest_hours=11))) == []


def test_a_wider_shortage_is_said_only_beyond_what_narrower_ones_explain():
    """Saturday is one place short, which makes its week one short too: said once, for the day. With one
    shift a week each, the week is two short, and that is news."""

    def month(cap: int):
        p = saturday([vol(v, grids=EVERY_GRID, max_per_week=cap) for v in "abc"])
        return replace(p, shifts=p.shifts + (shift("monday", 0, grid=3),))

    assert [s.kind for s in found(month(2))] == ["day"]
    day, week = found(month(1))
    assert (day.kind, day.short, week.kind, week.short) == ("day", 1, "week", 2)


# a month with too few leaders


def leader_month(volunteers=60, grids=4, days=14, leaders=0.12, seed=1) -> dict:
    """A `patrol-roster/1` month of evening patrols, each needing a leader, among few leaders: every leader
    could take most evenings of every grid, but at two a week they cannot lead half of them."""
    rng = random.Random(seed)
    start = date(2026, 11, 30)
    shifts = [
        {
            "id": f"g{g}-{start + timedelta(days=d):%m%d}",
            "grid": g,
            "start": f"{start + timedelta(days=d)}T19:00:00+08:00",
            "end": f"{start + timedelta(days=d)}T21:00:00+08:00",
            "min": 2,
            "max": 3,
            "leader_required": 1,
        }
        for d in range(days)
        for g in range(1, grids + 1)
    ]
    people = []
    for i in range(volunteers):
        leader = i < round(volunteers * leaders)
        home = i % grids + 1
        mine = [s["id"] for s in shifts if (leader or s["grid"] == home) and rng.random() < 0.8]
        people.append({"id": f"v{i:02d}", "name": f"志愿者{i}", "leader": leader, "home_grid": home, "available": mine})
    return {
        "format": "patrol-roster/1",
        "name": "few leaders",
        "timezone": "Asia/Shanghai",
        "grids": [{"id": g, "name": f"G{g}"} for g in range(1, grids + 1)],
        "shifts": shifts,
        "volunteers": people,
    }


def test_a_month_short_of_leaders_is_explained_by_its_weeks():
    p = fileformat.read(leader_month()).problem
    shortages = found(p)
    assert [s.kind for s in shortages] == ["leader_week", "leader_week"]
    assert shortages[0].message == (
        "week 49 (Monday 30 November to Sunday 6 December): 28 shifts need 28 leader places, the 7 leaders "
        "available that week can take at most 14 within their weekly caps and the rest rule"
    )
    assert shortages[1].message_zh == (
        "第50周（12月7日至12月13日）：28个班次共需28个队长名额，当周可用的7名队长在每周上限和休息规定内最多能出14个"
    )


def test_a_month_short_of_leaders_gets_a_roster_with_its_gaps_explained():
    p = fileformat.read(leader_month()).problem
    result = solve(p, Options(time_limit=2, num_workers=1))
    assert result.status == "feasible_with_gaps"
    assert result.assignments and validate(p, result.assignments, coverage=False) == []
    assert sum(g.leader_missing for g in result.gaps) >= 2 * (28 - 14)  # the leader places the weeks lack
    assert all(g.reason.startswith(("week 49 ", "week 50 ")) and "第" in g.reason_zh for g in result.gaps)
    assert result.problems[0].startswith("week 49 (") and result.problems_zh[0].startswith("第49周")


# the search out of time


def test_a_search_out_of_time_answers_with_the_greedy_roster(monkeypatch):
    """When the search ends with no roster at all (what CP-SAT says when its time runs out first), the greedy
    roster is the answer, its gaps marked, and the problems say why in words."""
    p = problem(
        [vol("a"), vol("b", shifts=frozenset({"mon"})), vol("c", shifts=frozenset({"mon"}))],
        [shift("mon", 0), shift("tue", 1), shift("wed", 2)],
        max_per_week=1,
    )
    assert found(p) == []
    monkeypatch.setattr(
        solver,
        "run",
        lambda ix, soft, options, progress, started, hint, found: without_roster(ix, found, "unknown", started),
    )
    result = solve(p, Options(time_limit=1, num_workers=1))
    assert result.status == "feasible_with_gaps" and result.assignments
    assert validate(p, result.assignments, coverage=False) == []
    assert len(result.gaps) == 1 and result.gaps[0].reason
    assert result.problems == (
        "no complete roster was found within 1 s: the roster leaves 1 shift short, marked as gaps; more time may "
        "cover them",
    )
    assert result.problems_zh == ("在1秒内没有找到完整的排班：排班中有1个班次人手不足，已标出；给更多时间也许能补上",)

    hard = solve(p, Options(time_limit=1, num_workers=1, coverage="hard"))
    assert hard.status == "unknown" and hard.assignments == () and hard.problems and hard.gaps


def test_rules_that_only_clash_together_say_so_beside_the_roster():
    p = problem(
        [vol("a"), vol("b", shifts=frozenset({"mon"})), vol("c", shifts=frozenset({"mon"}))],
        [shift("mon", 0), shift("tue", 1), shift("wed", 2)],
        max_per_week=1,
    )
    result = solve(p, Options(time_limit=1, num_workers=1))
    assert result.status == "feasible_with_gaps" and len(result.assignments) == 2
    assert result.problems == (
        "every count fits, but the rules together (weekly caps, rest, leaders) cannot cover every shift: "
        "the roster leaves 1 shift short, marked as gaps",
    )
    assert result.problems_zh[0].startswith("各项人数都够")


# random small months

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def months(draw):
    """A small month read from `patrol-roster/1`: evening patrols every day and morning patrols at weekends in
    2-4 grids over 3-10 days, 4-30 volunteers, some leaders, each available for a random part of the shifts
    and some with a cap over the period."""
    grids = draw(st.integers(2, 4))
    days = draw(st.integers(3, 10))
    start = date(2026, 12, 3)  # a Thursday: short months cross a weekend and a week's end
    shifts = []
    for d in range(days):
        day = start + timedelta(days=d)
        for g in range(1, grids + 1):
            for kind, hour in [("e", 19)] + ([("m", 8)] if day.weekday() >= 5 else []):
                low = draw(st.integers(1, 2))
                shifts.append(
                    {
                        "id": f"g{g}-{d}{kind}",
                        "grid": g,
                        "start": f"{day}T{hour:02d}:00:00+08:00",
                        "end": f"{day}T{hour + 2:02d}:00:00+08:00",
                        "min": low,
                        "max": low + draw(st.integers(0, 1)),
                        "leader_required": draw(st.integers(0, min(2, low))),
                    }
                )
    rng = draw(st.randoms(use_true_random=False))
    volunteers = []
    for i in range(draw(st.integers(4, 30))):
        share = draw(st.sampled_from([0.3, 0.6, 0.9]))
        volunteers.append(
            {
                "id": f"v{i}",
                "name": f"志愿者{i}",
                "leader": draw(st.booleans()),
                "home_grid": draw(st.integers(1, grids)),
                "max_per_week": draw(st.none() | st.integers(1, 3)),
                "available": [s["id"] for s in shifts if rng.random() < share],
            }
        )
    month = {
        "format": "patrol-roster/1",
        "name": "random",
        "timezone": "Asia/Shanghai",
        "rules": {"max_per_week": draw(st.integers(1, 3)), "min_rest_hours": draw(st.sampled_from([0, 12, 24]))},
        "grids": [{"id": g, "name": f"G{g}"} for g in range(1, grids + 1)],
        "shifts": shifts,
        "volunteers": volunteers,
    }
    p = fileformat.read(month).problem
    caps = draw(st.lists(st.none() | st.integers(1, 4), min_size=len(p.volunteers), max_size=len(p.volunteers)))
    return replace(p, volunteers=tuple(replace(v, max_shifts=cap) for v, cap in zip(p.volunteers, caps, strict=True)))


@SETTINGS
@given(months())
def test_every_answer_is_a_roster_and_its_gaps_are_explained(p):
    result = solve(p, Options(time_limit=1, num_workers=1))
    event(result.status)
    assert result.status != "unknown"
    assert validate(p, result.assignments, coverage=False) == []
    if result.gaps:
        event("gaps, problems found by counting" if found(p) else "gaps, problems in words after the search")
        assert result.problems or all(g.reason for g in result.gaps)
        assert len(result.problems_zh) == len(result.problems)


@SETTINGS
@given(months())
def test_a_month_the_counts_refuse_cannot_be_covered(p):
    shortages = found(p)
    for kind in {s.kind for s in shortages}:
        event(kind)
    if shortages:
        proven = cannot_be_covered(p)
        assume(proven is not None)
        assert proven
