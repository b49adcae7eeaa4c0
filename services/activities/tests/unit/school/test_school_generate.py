"""The term generator: its seed alone makes the term, and the term looks like the weekend school."""

from collections import Counter
from datetime import date

import pytest

from activities.school import Options, cost, generate, solve, validate
from activities.school.index import Index


def test_the_same_seed_makes_the_same_term():
    assert generate.term(seed=3) == generate.term(seed=3)
    assert generate.term(seed=3) != generate.term(seed=4)


def test_the_default_term():
    p = generate.term(seed=1)
    assert (len(p.pupils), len(p.tutors), len(p.sessions)) == (40, 15, 32)
    assert {u for q in p.pupils for u in q.subjects} <= {"math", "chinese", "english", "physics"}
    assert p.pupils_per_tutor == 5


def test_a_saturday_morning_and_a_sunday_afternoon_each_weekend():
    p = generate.term(weekends=3, seed=1)
    assert [(s.id, f"{s.start:%a %H:%M}", f"{s.end:%H:%M}") for s in p.sessions[:2]] == [
        ("w1-sat", "Sat 09:00", "11:30"),
        ("w1-sun", "Sun 14:00", "16:30"),
    ]
    assert (p.sessions[2].start - p.sessions[0].start).days == 7


def test_pupils_need_one_or_two_subjects_their_grade_has():
    p = generate.term(pupils=200, subjects=5, weekends=1, seed=2)
    assert Counter(len(q.subjects) for q in p.pupils).keys() == {1, 2}
    assert all(q.grade >= 8 for q in p.pupils if "physics" in q.subjects)
    assert all(q.grade == 9 for q in p.pupils if "chemistry" in q.subjects)
    assert all(len(set(q.subjects)) == len(q.subjects) for q in p.pupils)


def test_tutors_teach_one_to_three_subjects_and_are_mostly_available():
    p = generate.term(tutors=60, weekends=16, seed=2)
    assert {len(t.subjects) for t in p.tutors} <= {1, 2, 3}
    shares = [len(t.sessions) / len(p.sessions) for t in p.tutors]
    assert 0.6 <= sum(shares) / len(shares) <= 0.9
    assert {t.max_pupils for t in p.tutors} == {None, 3}
    assert any(t.max_sessions for t in p.tutors)


def test_every_subject_has_a_tutor():
    p = generate.term(pupils=10, tutors=5, subjects=5, seed=7)
    assert set().union(*(t.subjects for t in p.tutors)) == set(generate.SUBJECTS)


def test_previous_tutors_teach_the_subject():
    p = generate.term(seed=1)
    teaches = {t.id: t.subjects for t in p.tutors}
    assert p.previous and all(a.subject in teaches[a.tutor_id] for a in p.previous)
    assert generate.term(seed=1, previous=False).previous == ()


def test_pupils_come_on_their_days():
    p = generate.term(seed=1)
    ix = Index.build(p)
    per_session = Counter(ix.sessions[n.session].id for n in ix.needs)
    assert 0 < min(per_session.values())
    coming = {s: len(who) for s, who in p.attendance.items()}
    assert all(0 < n < len(p.pupils) for n in coming.values())


@pytest.mark.parametrize("bad", [{"subjects": 0}, {"subjects": 6}, {"start": date(2027, 3, 8)}])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ValueError):
        generate.term(**bad)


def test_a_generated_term_passes_the_validator():
    p = generate.term(pupils=8, tutors=4, subjects=3, weekends=2, seed=5)
    result = solve(p, Options(time_limit=2, num_workers=1))
    assert validate(p, result.assignments) == []
    assert result.objective == cost(p, result.assignments)
    assert result.covered + len(result.uncovered) == len(Index.build(p).needs)
