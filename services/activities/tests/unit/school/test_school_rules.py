"""One tiny test per rule: given a pupil, a tutor and a session or two, this rule alone forbids it or costs N."""

import pytest
from school_cases import EXACT, broken, costs, plan, problem, pupil, session, sessions, tutor

from activities.school import SOFT_RULES, Options, solve, validate
from activities.school.model import PUPILS_PER_TUTOR
from activities.school.rules import DEFAULT_WEIGHTS as W

S1 = sessions(1)

# hard rules: the validator flags the assignment, the solver never makes it (the need stays uncovered instead)


def test_a_tutor_teaches_only_their_subjects():
    p = problem([pupil("p1", "english")], [tutor("a", ["math"])], S1)
    assert broken(p, plan(("s1", "p1", "english", "a"))) == ["subject"]
    result = solve(p, EXACT)
    assert result.assignments == ()
    (gap,) = result.uncovered
    assert gap.reason == "pupil p1's English on Saturday 6 March morning: no tutor teaches English"
    assert gap.reason_zh == "3月6日（周六）上午，学生p1的英语：没有老师能教英语"


def test_a_tutor_teaches_only_when_available():
    p = problem([pupil("p1")], [tutor("a", available=["s2"])], [*S1, session("s2", 1)], attendance={"s2": frozenset()})
    assert broken(p, plan(("s1", "p1", "math", "a"))) == ["availability"]
    result = solve(p, EXACT)
    assert result.assignments == ()
    assert result.uncovered[0].reason.endswith("no maths tutor is free then")
    assert result.uncovered[0].reason_zh.endswith("当时没有有空的数学老师")


def test_at_most_pupils_per_tutor_in_a_session():
    p = problem([pupil("p1"), pupil("p2")], [tutor("a")], S1, pupils_per_tutor=1)
    assert broken(p, plan(("s1", "p1", "math", "a"), ("s1", "p2", "math", "a"))) == ["capacity"]
    result = solve(p, EXACT)
    assert len(result.assignments) == 1 and len(result.uncovered) == 1
    assert result.uncovered[0].reason.endswith(
        "maths on Saturday 6 March morning: 2 pupils need it, the maths tutors free then can take 1: 1 short"
    )


def test_a_tutors_own_limit_of_pupils():
    p = problem([pupil("p1"), pupil("p2")], [tutor("a", max_pupils=1)], S1)
    assert broken(p, plan(("s1", "p1", "math", "a"), ("s1", "p2", "math", "a"))) == ["capacity"]
    assert len(solve(p, EXACT).assignments) == 1


def test_a_pupil_taught_two_subjects_by_one_tutor_counts_once():
    p = problem([pupil("p1", "math", "english")], [tutor("a", ["math", "english"])], S1, pupils_per_tutor=1)
    assert validate(p, plan(("s1", "p1", "math", "a"), ("s1", "p1", "english", "a"))) == []
    assert len(solve(p, EXACT).assignments) == 2


def test_a_tutors_sessions_in_the_term():
    p = problem([pupil("p1")], [tutor("a", available=["s1", "s2"], max_sessions=1)], sessions(2))
    assert broken(p, plan(("s1", "p1", "math", "a"), ("s2", "p1", "math", "a"))) == ["term_cap"]
    result = solve(p, EXACT)
    assert len(result.assignments) == 1
    assert result.uncovered[0].reason.endswith(
        "the maths tutors free then are full with other pupils or at their number of sessions in the term"
    )


def test_one_tutor_per_need():
    p = problem([pupil("p1")], [tutor("a"), tutor("b")], S1)
    assert broken(p, plan(("s1", "p1", "math", "a"), ("s1", "p1", "math", "b"))) == ["duplicate"]
    assert broken(p, plan(("s1", "p1", "math", "a"), ("s1", "p1", "math", "a"))) == ["duplicate"]


def test_only_pupils_who_come_and_subjects_they_need():
    p = problem([pupil("p1"), pupil("p2")], [tutor("a", ["math", "english"])], S1, attendance={"s1": frozenset({"p1"})})
    assert broken(p, plan(("s1", "p2", "math", "a"))) == ["not_needed"]
    assert broken(p, plan(("s1", "p1", "english", "a"))) == ["not_needed"]
    assert solve(p, EXACT).assignments == tuple(plan(("s1", "p1", "math", "a")))


def test_unknown_ids():
    p = problem([pupil("p1")], [tutor("a")], S1)
    assert broken(p, plan(("s1", "p1", "math", "zz"))) == ["unknown"]


def test_pins_hold():
    # b taught p1 before, but the organiser pinned a
    p = problem(
        [pupil("p1")], [tutor("a"), tutor("b")], S1, previous=[("p1", "math", "b")], pins=[("s1", "p1", "math", "a")]
    )
    assert broken(p, plan(("s1", "p1", "math", "b"))) == ["pinned"]
    result = solve(p, EXACT)
    assert result.assignments == tuple(plan(("s1", "p1", "math", "a")))
    assert result.costs["tutor_change"] == W["tutor_change"]


def test_a_pin_the_rules_forbid_is_left_out_with_its_reason():
    p = problem([pupil("p1")], [tutor("a", ["english"]), tutor("b")], S1, pins=[("s1", "p1", "math", "a")])
    result = solve(p, EXACT)
    assert result.assignments == tuple(plan(("s1", "p1", "math", "b")))
    (unkept,) = result.unkept_pins
    assert (
        unkept.reason == "pin of tutor a for pupil p1's maths on Saturday 6 March morning: the tutor does not teach it"
    )
    assert unkept.reason_zh == "3月6日（周六）上午，指定老师a辅导学生p1的数学：该老师不教这门课"


def test_pins_beyond_a_tutors_seats_keep_the_first():
    p = problem(
        [pupil("p1"), pupil("p2")],
        [tutor("a", max_pupils=1), tutor("b")],
        S1,
        pins=[("s1", "p1", "math", "a"), ("s1", "p2", "math", "a")],
    )
    result = solve(p, EXACT)
    assert result.assignments == tuple(plan(("s1", "p1", "math", "a"), ("s1", "p2", "math", "b")))
    assert [u.pin.pupil_id for u in result.unkept_pins] == ["p2"]
    assert result.unkept_pins[0].reason.endswith("the tutor already has 1 pinned pupils then")


# soft rules: exactly their weight, priced identically by the validator and the CP-SAT model


def test_uncovered_need():
    p = problem([pupil("p1")], [tutor("a")], S1)
    assert costs(p, []) == {"uncovered_need": W["uncovered_need"]}
    assert costs(p, plan(("s1", "p1", "math", "a"))) == {}


def test_tutor_change_against_the_previous_weeks():
    p = problem([pupil("p1")], [tutor("a"), tutor("b")], S1, previous=[("p1", "math", "b")])
    assert costs(p, plan(("s1", "p1", "math", "a"))) == {
        "tutor_change": W["tutor_change"],
        "fair_spread": W["fair_spread"],
    }
    assert costs(p, plan(("s1", "p1", "math", "b"))) == {"fair_spread": W["fair_spread"]}


def test_tutor_change_against_the_last_of_several_previous():
    p = problem([pupil("p1")], [tutor("a")], S1, previous=[("p1", "math", "a"), ("p1", "math", "b")])
    assert costs(p, plan(("s1", "p1", "math", "a"))) == {"tutor_change": W["tutor_change"]}


def test_tutor_change_when_the_previous_tutor_has_left():
    p = problem([pupil("p1")], [tutor("a")], S1, previous=[("p1", "math", "gone")])
    assert costs(p, plan(("s1", "p1", "math", "a"))) == {"tutor_change": W["tutor_change"]}


def test_tutor_change_between_sessions():
    p = problem([pupil("p1")], [tutor("a", available=["s1", "s2"])], sessions(2))
    assert costs(p, plan(("s1", "p1", "math", "a"), ("s2", "p1", "math", "a"))) == {}
    q = problem([pupil("p1")], [tutor("a", available=["s1", "s2"]), tutor("b", available=["s1", "s2"])], sessions(2))
    assert costs(q, plan(("s1", "p1", "math", "a"), ("s2", "p1", "math", "b"))) == {"tutor_change": W["tutor_change"]}


def test_tutor_change_counts_against_the_last_tutor_across_an_uncovered_session():
    three = ["s1", "s2", "s3"]
    p = problem([pupil("p1")], [tutor("a", available=three), tutor("b", available=three)], sessions(3))
    back = plan(("s1", "p1", "math", "a"), ("s3", "p1", "math", "a"))
    assert costs(p, back) == {"uncovered_need": W["uncovered_need"], "fair_spread": 2 * W["fair_spread"]}
    other = plan(("s1", "p1", "math", "a"), ("s3", "p1", "math", "b"))
    assert costs(p, other) == {"uncovered_need": W["uncovered_need"], "tutor_change": W["tutor_change"]}


def test_tutor_change_skips_the_sessions_a_pupil_misses():
    p = problem(
        [pupil("p1")],
        [tutor("a", available=["s1", "s2", "s3"])],
        sessions(3),
        attendance={"s2": frozenset()},
    )
    assert costs(p, plan(("s1", "p1", "math", "a"), ("s3", "p1", "math", "a"))) == {}


def test_split_pupil():
    p = problem(
        [pupil("p1", "math", "english")],
        [tutor("a", ["math"]), tutor("b", ["english"]), tutor("c", ["math", "english"])],
        S1,
    )
    split = plan(("s1", "p1", "math", "a"), ("s1", "p1", "english", "b"))
    assert costs(p, split) == {"split_pupil": W["split_pupil"], "fair_spread": W["fair_spread"]}
    one = plan(("s1", "p1", "math", "c"), ("s1", "p1", "english", "c"))
    assert costs(p, one) == {"fair_spread": W["fair_spread"]}


def test_fair_spread():
    p = problem([pupil("p1")], [tutor("a", available=["s1", "s2"]), tutor("b", available=["s1", "s2"])], sessions(2))
    assert costs(p, plan(("s1", "p1", "math", "a"), ("s2", "p1", "math", "a"))) == {"fair_spread": 2 * W["fair_spread"]}
    assert costs(p, plan(("s1", "p1", "math", "a"), ("s2", "p1", "math", "b"))) == {"tutor_change": W["tutor_change"]}


def test_fair_spread_leaves_out_tutors_who_could_teach_no_need():
    p = problem([pupil("p1")], [tutor("a"), tutor("b", ["physics"]), tutor("c", available=["s9"])], S1)
    assert costs(p, plan(("s1", "p1", "math", "a"))) == {}


def test_a_weight_can_be_overridden():
    p = problem([pupil("p1")], [tutor("a")], S1, previous=[("p1", "math", "gone")], weights={"tutor_change": 7})
    assert costs(p, plan(("s1", "p1", "math", "a"))) == {"tutor_change": 7}


def test_an_unknown_weight_is_refused():
    p = problem([pupil("p1")], [tutor("a")], S1, weights={"tutor_chnage": 7})
    with pytest.raises(ValueError, match="tutor_chnage"):
        solve(p, Options(time_limit=1, num_workers=1))


@pytest.mark.parametrize("rule", SOFT_RULES, ids=lambda r: r.name)
def test_every_weight_is_a_positive_integer(rule):
    assert isinstance(rule.weight, int) and rule.weight > 0 and rule.unit


def test_covering_a_need_outweighs_every_other_cost_it_brings():
    others = W["tutor_change"] + W["split_pupil"] + 2 * W["fair_spread"]
    assert W["uncovered_need"] > others


def test_the_default_ratio_is_the_services():
    from activities.domain import DEFAULT_PUPILS_PER_TUTOR

    assert PUPILS_PER_TUTOR == DEFAULT_PUPILS_PER_TUTOR
