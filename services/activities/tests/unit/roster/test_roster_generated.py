"""The solver on months made by the generator (roster/generate.py), judged by the format's independent
checker (roster/formatcheck.py): every roster it writes keeps every rule but coverage, and a month it cannot
cover is explained in words, in English and in Chinese."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.roster import Options, bounds, formatcheck, generate, solve
from activities.roster import fileformat as F
from activities.roster.index import Index

COVERAGE = ("coverage", "leader")


def written(data: dict, limit: float = 0.5) -> tuple[dict, object]:
    """The month solved with one worker and written in the format, and the solver's result."""
    instance = F.read(data)
    result = solve(instance.problem, Options(time_limit=limit, num_workers=1))
    return F.roster(instance, result), result


months = st.builds(
    generate.MonthSpec,
    name=st.just("prop"),
    seed=st.integers(0, 10_000),
    volunteers=st.integers(30, 45),
    grids=st.integers(2, 3),
    days=st.integers(3, 8),
    leader_share=st.sampled_from([0.1, 0.2, 0.3, 0.5]),
    density=st.sampled_from([0.15, 0.3, 0.5, 0.8]),
    home_cover=st.sampled_from([0.0, 0.5, 1.0]),
    reach=st.sampled_from([0, 1, generate.ALL]),
    afternoons=st.sampled_from([0.0, 0.3]),
    dusks=st.sampled_from([0.0, 0.3]),
    crew=st.sampled_from([((2, 3, 1),), generate.MIXED_CREWS]),
    leaders=st.sampled_from([((1, 1),), generate.MIXED_LEADERS, ((0, 1),)]),
    own_caps=st.sampled_from([0.0, 0.3]),
    min_rest_hours=st.sampled_from([2, 12, 24]),
)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(months)
def test_every_written_roster_keeps_the_rules_and_its_objective(spec):
    data = generate.month(spec)
    roster, result = written(data)
    checked = formatcheck.check(data, roster)
    assert [v for v in checked.violations if v.rule not in COVERAGE] == []
    assert checked.claimed_ok is True  # the objective written is the format's, as the checker computes it
    assert result.status != "unknown" and roster["assignments"] is not None
    if any(v.rule in COVERAGE for v in checked.violations):
        # a month it cannot cover says why, in both languages, and marks the gaps
        assert result.gaps and result.problems and result.problems_zh
        assert all(g.reason and g.reason_zh for g in result.gaps)
        assert roster["gaps"] and all(g["reason"] for g in roster["gaps"])


def test_the_family_months_that_cannot_be_covered_are_explained_by_counting():
    for spec in generate.FAMILY:
        if not spec.infeasible or spec.volunteers > 300:
            continue
        data = generate.month(spec)
        found = bounds.shortages(Index.build(F.read(data).problem))
        assert found, f"{spec.name}: no count explains why it cannot be covered ({spec.infeasible})"
        assert all(s.message and s.message_zh for s in found)


def test_a_small_family_month_is_rostered_completely_and_the_checker_agrees():
    data = generate.month(generate.BY_NAME["m30-l40"])
    roster, result = written(data, limit=2)
    checked = formatcheck.check(data, roster)
    assert checked.ok and not result.gaps
    assert roster["objective"] == checked.objective
    assert [t for t, _ in roster["trace"]] == sorted(t for t, _ in roster["trace"])
    assert roster["trace"][-1][1] == checked.objective


def test_a_month_too_large_for_the_whole_model_keeps_to_the_blocks(monkeypatch):
    # the largest months (above BOUND_MAX_PAIRS) get neither the bound worker nor the whole model's search
    from activities.roster import solver as S

    monkeypatch.setattr(S, "BOUND_MAX_PAIRS", 10)
    monkeypatch.setattr(S, "FINISH_SHARES", ((10, 0.5),))
    monkeypatch.setattr(S, "FINISH_MIN_LIMIT", 0.5)
    monkeypatch.setattr(S, "BOUND_MIN_LIMIT", 0.5)
    data = generate.month(generate.BY_NAME["m120-l30-mix"])  # six grids: the blocks' search
    roster, result = written(data, limit=1.0)
    checked = formatcheck.check(data, roster)
    assert [v for v in checked.violations if v.rule not in COVERAGE] == []
    assert result.status in ("feasible", "feasible_with_gaps", "optimal")
