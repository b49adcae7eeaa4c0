"""The solver on tiny terms: proven optimal, equal to a brute force, continuity kept, shortages explained."""

import itertools
import random

import pytest
from school_cases import EXACT, plan, problem, pupil, session, sessions, tutor

from activities.school import Options, cost, costs, generate, lacking, solve, subject_needs, validate
from activities.school.greedy import greedy
from activities.school.index import Index
from activities.school.lns import capped, rolling
from activities.school.model import Assignment, Problem, Pupil, Tutor
from activities.school.rules import DEFAULT_WEIGHTS as W
from activities.school.solver import _assignments


def exact(p: Problem):
    """solve, checked: proven optimal, no hard rule broken, its costs the validator's."""
    result = solve(p, EXACT)
    assert result.status == "optimal"
    assert validate(p, result.assignments) == []
    assert result.costs == costs(p, result.assignments)
    assert result.objective == result.bound == cost(p, result.assignments)
    return result


def brute_force(p: Problem) -> int:
    """The least validator cost over every assignment of each need to nobody or any tutor that passes the
    validator."""
    attendance = p.attendance or {}
    needs = [
        (s.id, q.id, u)
        for s in p.sessions
        for q in p.pupils
        if attendance.get(s.id) is None or q.id in attendance[s.id]
        for u in q.subjects
    ]
    best = None
    for choice in itertools.product([None, *(t.id for t in p.tutors)], repeat=len(needs)):
        assignments = [Assignment(*n, t) for n, t in zip(needs, choice, strict=True) if t is not None]
        if validate(p, assignments):
            continue
        c = cost(p, assignments)
        best = c if best is None else min(best, c)
    return best


def tiny(seed: int) -> Problem:
    """Two pupils, two tutors, two or three sessions: at most 6 needs, 3^6 assignments to try."""
    rng = random.Random(seed)
    ss = sessions(rng.choice((2, 3)))
    ids = [s.id for s in ss]
    pupils = [Pupil("p1", 5, tuple(rng.sample(["math", "english"], rng.choice((1, 2))))), Pupil("p2", 5, ("math",))]
    if len(ss) == 3:
        pupils[0] = Pupil("p1", 5, ("math",))
    tutors = [
        Tutor(
            t,
            frozenset(rng.sample(["math", "english"], rng.choice((1, 2)))),
            frozenset(s for s in ids if rng.random() < 0.7),
            max_pupils=rng.choice((None, 1)),
            max_sessions=rng.choice((None, 1, 2)),
        )
        for t in ("a", "b")
    ]
    previous = tuple(Assignment("before", "p1", "math", t) for t in rng.sample(["a", "b", "gone"], rng.choice((0, 1))))
    return Problem(tuple(pupils), tuple(tutors), tuple(ss), pupils_per_tutor=2, previous=previous)


@pytest.mark.parametrize("seed", range(12))
def test_proven_optimal_equals_the_brute_force(seed):
    p = tiny(seed)
    assert exact(p).objective == brute_force(p)


def test_continuity_keeps_the_tutor_when_it_can():
    both = ["s1", "s2"]
    p = problem([pupil("p1")], [tutor("a", available=both), tutor("b", available=both)], sessions(2))
    result = exact(p)
    assert {a.tutor_id for a in result.assignments} in ({"a"}, {"b"})
    assert result.tutor_changes == 0


def test_continuity_keeps_the_previous_tutor():
    both = ["s1", "s2"]
    p = problem(
        [pupil("p1")],
        [tutor("a", available=both), tutor("b", available=both)],
        sessions(2),
        previous=[("p1", "math", "b")],
    )
    result = exact(p)
    assert result.assignments == tuple(plan(("s1", "p1", "math", "b"), ("s2", "p1", "math", "b")))


def test_continuity_does_not_go_back_to_a_tutor_once_changed():
    # a is the previous tutor but misses s2: a, b, a is two changes; a, b, b one (and a more even load than
    # b, b, b, also one change)
    three = ["s1", "s2", "s3"]
    p = problem(
        [pupil("p1")],
        [tutor("a", available=["s1", "s3"]), tutor("b", available=three)],
        sessions(3),
        previous=[("p1", "math", "a")],
    )
    result = exact(p)
    assert [a.tutor_id for a in result.assignments] == ["a", "b", "b"]
    assert result.tutor_changes == 1


def test_continuity_across_a_session_nobody_could_teach():
    # s2 has no tutor: b in s3 is a change from a in s1, which the model must see through the gap
    p = problem(
        [pupil("p1")],
        [tutor("a", available=["s1"]), tutor("b", available=["s3"])],
        sessions(3),
    )
    result = exact(p)
    assert result.tutor_changes == 1 and len(result.uncovered) == 1
    assert result.costs["tutor_change"] == W["tutor_change"]


def test_continuity_across_a_session_the_last_tutor_had_no_room_in():
    # a taught p1 before and is free in s1, but full with p2 (pinned): p1 goes without in s1, and b in s2 is
    # still a change from a
    p = problem(
        [pupil("p1"), pupil("p2")],
        [tutor("a", available=["s1"], max_pupils=1), tutor("b", available=["s2"])],
        sessions(2),
        attendance={"s2": frozenset({"p1"})},
        previous=[("p1", "math", "a")],
        pins=[("s1", "p2", "math", "a")],
    )
    result = exact(p)
    assert result.assignments == tuple(plan(("s1", "p2", "math", "a"), ("s2", "p1", "math", "b")))
    assert result.tutor_changes == 1


def test_one_tutor_for_both_subjects_of_a_pupil():
    p = problem(
        [pupil("p1", "math", "english")],
        [tutor("a", ["math"]), tutor("b", ["english"]), tutor("c", ["math", "english"])],
        [session("s1")],
    )
    assert {a.tutor_id for a in exact(p).assignments} == {"c"}


def test_an_impossible_term_gets_its_best_partial_cover_with_reasons():
    # three pupils need maths, one tutor with two seats; nobody teaches physics
    p = problem(
        [pupil("p1"), pupil("p2"), pupil("p3", "math", "physics", grade=8)],
        [tutor("a")],
        [session("s1")],
        pupils_per_tutor=2,
    )
    result = exact(p)
    assert len(result.assignments) == 2 and validate(p, result.assignments) == []
    reasons = sorted(u.reason.split(": ", 1)[1] for u in result.uncovered)
    assert reasons == [
        "maths on Saturday 6 March morning: 3 pupils need it, the maths tutors free then can take 2: 1 short",
        "no tutor teaches physics",
    ]
    assert all(u.reason_zh for u in result.uncovered)
    assert result.bound == result.objective == 2 * W["uncovered_need"]


def test_the_subjects_lacking_tutors_are_counted_before_any_search():
    s1, s2 = session("s1"), session("s2", afternoon=True)
    p = problem(
        [pupil("p1"), pupil("p2"), pupil("p3", "math", "english")],
        [tutor("a", ["math", "english"], ["s1", "s2"], max_pupils=2), tutor("b", ["english"], ["s2"])],
        [s1, s2],
    )
    rows = subject_needs(p)
    assert [(r.session_id, r.subject, r.needs, r.capacity, r.shortfall) for r in rows] == [
        ("s1", "math", 3, 2, 1),
        ("s1", "english", 1, 2, 0),
        ("s2", "math", 3, 2, 1),
        ("s2", "english", 1, 7, 0),
    ]
    (first, second) = lacking(p)
    assert (
        first.message
        == "maths on Saturday 6 March morning: 3 pupils need it, the maths tutors free then can take 2: 1 short"
    )
    assert first.message_zh == "3月6日（周六）上午数学：3名学生需要，当时有空的数学老师最多能带2名，缺1名"
    assert second.session_id == "s2" and second.message_zh.startswith("3月7日（周日）下午数学")
    assert [r.session_id for r in lacking(p, since=s2.start)] == ["s2"]


def test_no_tutor_free_in_words():
    p = problem([pupil("p1")], [tutor("a", available=[])], [session("s1")])
    (row,) = lacking(p)
    assert row.message == "maths on Saturday 6 March morning: 1 pupil need it, no maths tutor is free then: 1 short"
    assert row.message_zh == "3月6日（周六）上午数学：1名学生需要，当时没有有空的数学老师，缺1名"


def test_a_tutors_last_session_is_kept_for_their_pin():
    # a may teach one session and is pinned in s2: the session-by-session warm start must not use a in s1
    both = ["s1", "s2"]
    p = problem(
        [pupil("p1")],
        [tutor("a", available=both, max_sessions=1), tutor("b", available=both)],
        sessions(2),
        previous=[("p1", "math", "a")],
        pins=[("s2", "p1", "math", "a")],
    )
    ix = Index.build(p)
    warm = _assignments(ix, rolling(ix, deadline=float("inf")))
    assert validate(p, warm) == []
    assert warm == tuple(plan(("s1", "p1", "math", "b"), ("s2", "p1", "math", "a")))
    assert validate(p, _assignments(ix, greedy(ix))) == []
    assert exact(p).assignments == warm


def test_a_capped_tutors_sessions_go_where_nobody_else_can_teach():
    # a may teach one session and taught p1 before; b is free in s1 only. One session at a time, a would stay
    # with p1 in s1 and leave s2 without anyone; a solve of coverage alone keeps a for s2.
    p = problem(
        [pupil("p1")],
        [tutor("a", available=["s1", "s2"], max_sessions=1), tutor("b", available=["s1"])],
        sessions(2),
        previous=[("p1", "math", "a")],
    )
    ix = Index.build(p)
    alone = _assignments(ix, rolling(ix, deadline=float("inf")))
    assert alone == tuple(plan(("s1", "p1", "math", "a")))
    planned = _assignments(ix, rolling(capped(ix, deadline=float("inf")), deadline=float("inf")))
    assert planned == tuple(plan(("s1", "p1", "math", "b"), ("s2", "p1", "math", "a")))
    assert exact(p).assignments == planned


def test_the_greedy_prefers_the_previous_tutor():
    p = problem([pupil("p1")], [tutor("a"), tutor("b")], [session("s1")], previous=[("p1", "math", "b")])
    ix = Index.build(p)
    assert _assignments(ix, greedy(ix)) == tuple(plan(("s1", "p1", "math", "b")))


def test_runs_in_a_native_thread_pool():
    """As a service will run it: in eventlet's tpool, CP-SAT's threads its own."""
    from eventlet import tpool

    p = generate.term(pupils=6, tutors=3, subjects=2, weekends=2, seed=8)
    result = tpool.execute(solve, p, Options(time_limit=2, num_workers=2))
    assert result.status == "optimal" and validate(p, result.assignments) == []
    assert result.objective == result.bound == cost(p, result.assignments)
