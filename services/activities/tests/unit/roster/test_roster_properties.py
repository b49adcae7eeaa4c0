"""Properties over random small problems: every roster passes the validator, every failure is explained."""

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from roster_cases import MONDAY

from activities.roster import (
    Options,
    Problem,
    Rules,
    Shift,
    Volunteer,
    check_capacity,
    cost_of,
    repair,
    solve,
    validate,
)
from activities.roster.repair import changed_problem

FAST = Options(time_limit=0.5, num_workers=1)
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw) -> Problem:
    grids = draw(st.integers(1, 2))
    days = draw(st.integers(2, 7))
    shifts = []
    for d in range(days):
        for g in range(1, grids + 1):
            kinds = ["evening"] + (["morning"] if (MONDAY + timedelta(days=d)).weekday() >= 5 else [])
            for kind in kinds:
                start = MONDAY + timedelta(days=d, hours=19 if kind == "evening" else 8)
                need = draw(st.integers(0, 2))
                shifts.append(
                    Shift(
                        f"g{g}-{d}-{kind}",
                        g,
                        start,
                        start + timedelta(hours=2),
                        need,
                        need + draw(st.integers(0, 1)),
                        draw(st.booleans()) and need > 0,
                        kind,
                    )
                )
    volunteers = []
    for i in range(draw(st.integers(1, 6))):
        home = draw(st.integers(1, grids))
        away_day = draw(st.none() | st.integers(0, days - 1))
        volunteers.append(
            Volunteer(
                id=f"v{i}",
                name=f"志愿者{i}",
                home_grid=home,
                leader=draw(st.booleans()),
                patrol=draw(st.booleans()) or i == 0,
                grids=frozenset(draw(st.sets(st.integers(1, grids), max_size=1))),
                availability=draw(
                    st.none() | st.frozensets(st.tuples(st.integers(0, 6), st.sampled_from(["evening", "morning"])))
                ),
                unavailable=()
                if away_day is None
                else ((MONDAY + timedelta(days=away_day), MONDAY + timedelta(days=away_day + 1)),),
                max_per_week=draw(st.none() | st.integers(1, 3)),
                partners=frozenset({"v0"}) if i == 1 and draw(st.booleans()) else frozenset(),
            )
        )
    rules = Rules(min_rest_hours=draw(st.sampled_from([0, 12])), max_weekends_in_row=1)
    return Problem(tuple(volunteers), tuple(shifts), {1: frozenset({2}), 2: frozenset({1})}, rules)


@SETTINGS
@given(problems())
def test_every_roster_passes_the_validator(p):
    result = solve(p, FAST)
    assert validate(p, result.assignments, coverage=False) == []
    if result.status in ("optimal", "feasible"):
        assert validate(p, result.assignments) == []
    if result.assignments or result.status != "unknown":
        assert result.objective == cost_of(p, result.assignments)
    short = {v.shift_id for v in validate(p, result.assignments) if v.rule in ("coverage", "leader")}
    assert short <= {g.shift_id for g in result.gaps}
    assert all(g.reason for g in result.gaps)
    if result.gaps:
        assert result.suggestions


@SETTINGS
@given(problems())
def test_infeasible_inputs_get_explanations(p):
    result = solve(p, Options(time_limit=0.5, num_workers=1, coverage="hard"))
    assert result.status in ("optimal", "feasible", "infeasible")
    if result.status == "infeasible":
        assert result.problems and result.suggestions and result.assignments == ()
    if check_capacity(p):
        assert result.status == "infeasible"


@SETTINGS
@given(problems(), st.integers(0, 6))
def test_a_repaired_roster_passes_the_validator(p, day):
    before = solve(p, FAST)
    vid = p.volunteers[0].id
    away = {vid: [(MONDAY + timedelta(days=day), MONDAY + timedelta(days=day + 1))]}
    result = repair(p, before.assignments, unavailable=away, options=FAST)
    after = changed_problem(p, unavailable=away)
    assert validate(after, result.assignments, coverage=False) == []
    if not result.gaps:
        assert validate(after, result.assignments) == []
    assert result.changed >= 0


def test_problem_times_are_naive_local():
    assert MONDAY == datetime(2026, 11, 30)
