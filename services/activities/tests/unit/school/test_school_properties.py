"""Properties over random small terms: every assignment passes the validator, the model is priced as the validator
prices it, CP-SAT on its own (no warm start) never ends worse than the greedy, and a window of sessions is
priced as the whole term less a constant."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from school_cases import least_objective, sessions

from activities.school import Options, cost, costs, cpmodel, lns, solve, validate
from activities.school.greedy import greedy
from activities.school.index import Index
from activities.school.model import Assignment, Pin, Problem, Pupil, Tutor
from activities.school.solver import _assignments

SUBJECTS = ("math", "english", "physics")
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
ALONE = Options(time_limit=5, num_workers=1, warm_start=False)  # small terms: proven optimal well within this


@st.composite
def terms(draw) -> Problem:
    ss = sessions(draw(st.integers(1, 3)))
    ids = [s.id for s in ss]
    pupils = tuple(
        Pupil(f"p{i}", 5, tuple(draw(st.lists(st.sampled_from(SUBJECTS), min_size=1, max_size=2, unique=True))))
        for i in range(draw(st.integers(1, 3)))
    )
    tutors = tuple(
        Tutor(
            f"t{j}",
            frozenset(draw(st.sets(st.sampled_from(SUBJECTS), min_size=1, max_size=2))),
            frozenset(draw(st.sets(st.sampled_from(ids)))),
            max_pupils=draw(st.none() | st.integers(1, 2)),
            max_sessions=draw(st.none() | st.integers(0, 2)),
        )
        for j in range(draw(st.integers(1, 3)))
    )
    attendance = draw(
        st.none() | st.fixed_dictionaries({s: st.frozensets(st.sampled_from([p.id for p in pupils])) for s in ids})
    )
    previous = tuple(
        Assignment("before", p.id, u, draw(st.sampled_from([t.id for t in tutors] + ["gone"])))
        for p in pupils
        for u in p.subjects
        if draw(st.booleans())
    )
    # pins drawn at random: some the rules allow, some they forbid (left out, with reasons)
    pins = tuple(
        Pin(draw(st.sampled_from(pupils)).id, draw(st.sampled_from(SUBJECTS)), draw(st.sampled_from(ids)), t.id)
        for t in tutors
        if draw(st.booleans())
    )
    return Problem(pupils, tutors, tuple(ss), attendance, draw(st.integers(1, 3)), previous, pins)


def hard_rules_kept(p: Problem, assignments, unkept) -> None:
    """No hard rule broken but the pins the index left out, each reported with its reason."""
    left_out = {u.pin for u in unkept}
    assert all(u.reason and u.reason_zh for u in unkept)
    for v in validate(p, assignments):
        assert v.rule == "pinned", v.message
        assert Pin(v.pupil_id, v.subject, v.session_id, v.tutor_id) in left_out


@SETTINGS
@given(terms())
def test_the_model_alone_passes_the_validator_and_beats_the_greedy(p):
    result = solve(p, ALONE)
    assert result.status == "optimal"
    hard_rules_kept(p, result.assignments, result.unkept_pins)
    assert result.costs == costs(p, result.assignments)
    assert result.objective == cost(p, result.assignments) == result.bound
    ix = Index.build(p)
    baseline = _assignments(ix, greedy(ix))
    hard_rules_kept(p, baseline, result.unkept_pins)
    assert result.objective <= cost(p, baseline)
    assert all(u.reason and u.reason_zh for u in result.uncovered)
    assert result.covered + len(result.uncovered) == len(ix.needs)


@SETTINGS
@given(terms())
def test_the_warm_started_solve_is_as_good(p):
    alone, warm = solve(p, ALONE), solve(p, Options(time_limit=5, num_workers=1))
    hard_rules_kept(p, warm.assignments, warm.unkept_pins)
    assert warm.status == "optimal" and warm.objective == alone.objective == cost(p, warm.assignments)


@st.composite
def windows(draw):
    """A term of four or five sessions, a window of one to three consecutive of them, and a seed for the
    assignment around it."""
    p = draw(terms())
    ss = sessions(draw(st.integers(4, 5)))
    ids = [s.id for s in ss]
    tutors = tuple(
        Tutor(
            t.id, t.subjects, frozenset(draw(st.sets(st.sampled_from(ids), min_size=1))), t.max_pupils, t.max_sessions
        )
        for t in p.tutors
    )
    p = Problem(p.pupils, tutors, tuple(ss), p.attendance, p.pupils_per_tutor, p.previous, p.pins)
    width = draw(st.integers(1, 3))
    first = draw(st.integers(0, len(ss) - width))
    return p, list(range(first, first + width))


@SETTINGS
@given(windows())
def test_a_window_is_priced_as_the_whole_term_less_a_constant(case):
    p, inside = case
    ix = Index.build(p)
    whole = cpmodel.build(ix)
    around = greedy(ix)
    window = lns.restrict(ix, around, inside)
    own = cpmodel.build(window.ix)
    best = lns.solve_window(window, window.own(around), 5, 1)
    assert best is not None
    rest = {q for q in around if ix.needs[q[0]].session not in inside}
    pinned = set(window.ix.pinned.items())
    # the window's best, its greedy, and nothing but its pins, each against what was there
    for alternative in (best, greedy(window.ix), pinned):
        moved = rest | window.pairs(alternative)
        hard_rules_kept(p, _assignments(ix, moved), ix.unkept)
        whole_gain = cpmodel.objective(whole, moved) - cpmodel.objective(whole, around)
        own_gain = cpmodel.objective(own, alternative) - cpmodel.objective(own, window.own(around))
        assert whole_gain == own_gain
        assert least_objective(cpmodel.build(window.ix), alternative) == cpmodel.objective(own, alternative)
        assert cost(p, _assignments(ix, moved)) == cpmodel.objective(whole, moved)
    assert cpmodel.objective(own, best) <= cpmodel.objective(own, window.own(around))


@SETTINGS
@given(windows())
def test_windows_never_make_the_term_worse(case):
    p, _ = case
    ix = Index.build(p)
    b = cpmodel.build(ix)
    start = greedy(ix)
    better = lns.improve(ix, b, start, deadline=float("inf"))
    hard_rules_kept(p, _assignments(ix, better), ix.unkept)
    assert cost(p, _assignments(ix, better)) <= cost(p, _assignments(ix, start))
