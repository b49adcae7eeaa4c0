"""The weekend school's problem as the service gathers it (activities.schooling.problem_from): who may teach
what and when, from skills, availability windows, own sign-ups and other duties; then a small term of it
solved to optimality."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from activities import school
from activities.schooling import Term, problem_from, tutor_subjects
from guanyinli.timeutil import TZ

SATURDAY = datetime(2027, 3, 6, 9, tzinfo=TZ)


def term(weekends: int = 2, pupils=(("math",), ("math", "english"))) -> Term:
    t = Term()
    for w in range(weekends):
        for d in (0, 1):
            occ = SimpleNamespace(id=10 * w + d + 1)
            start = SATURDAY + timedelta(days=7 * w + d)
            t.occurrences.append(occ)
            t.duties[occ.id] = (start, start + timedelta(hours=2))
    t.pupils = [SimpleNamespace(id=i + 1, grade=4, subjects=list(s)) for i, s in enumerate(pupils)]
    return t


def all_weekends() -> list[tuple[datetime, datetime]]:
    return [(SATURDAY - timedelta(hours=1), SATURDAY + timedelta(days=30))]


def test_a_tutor_teaches_the_subjects_of_their_tutoring_skills():
    assert tutor_subjects(["tutoring:math", "first_aid", "tutoring", "tutoring:english"]) == {"math", "english"}
    assert tutor_subjects(None) == frozenset()


def test_a_volunteer_without_a_subject_skill_is_no_tutor():
    p = problem_from(term(), [{"id": 1, "skills": ["tutoring"]}, {"id": 2, "skills": ["tutoring:math"]}], {})
    assert [t.id for t in p.tutors] == ["2"]


def test_free_when_a_window_holds_the_session_or_they_signed_up_and_no_other_duty_overlaps():
    t = term()
    t.signed[3] = {11}  # signed up of their own accord for the second Saturday, outside their windows
    t.busy[2] = [(SATURDAY + timedelta(hours=1), SATURDAY + timedelta(hours=3))]  # a patrol that first morning
    people = [{"id": v, "skills": ["tutoring:math"]} for v in (1, 2, 3)]
    sessions_of = {t.id: t.sessions for t in problem_from(t, people, {1: all_weekends(), 2: all_weekends()}).tutors}
    assert sessions_of["1"] == {"1", "2", "11", "12"}
    assert sessions_of["2"] == {"2", "11", "12"}
    assert sessions_of["3"] == {"11"}


def test_pins_of_tutors_no_longer_there_are_left_out():
    t = term()
    t.pins = [school.Pin("1", "math", "1", "1"), school.Pin("1", "math", "2", "9")]
    p = problem_from(t, [{"id": 1, "skills": ["tutoring:math"]}], {1: all_weekends()})
    assert p.pins == (school.Pin("1", "math", "1", "1"),)


def test_a_small_term_is_solved_to_optimality_keeping_last_terms_tutor():
    t = term()
    t.previous = [school.Assignment("old", "1", "math", "2")]
    people = [{"id": 1, "skills": ["tutoring:math", "tutoring:english"]}, {"id": 2, "skills": ["tutoring:math"]}]
    p = problem_from(t, people, {1: all_weekends(), 2: all_weekends()})
    result = school.solve(p, school.Options(time_limit=10))
    assert result.status == "optimal" and result.objective == result.bound
    assert school.validate(p, result.assignments) == []
    assert result.covered == 12 and not result.uncovered
    assert {a.tutor_id for a in result.assignments if a.pupil_id == "1"} == {"2"}  # continuity from last term
