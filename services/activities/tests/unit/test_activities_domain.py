"""Rules of activities, sign-ups and attendance, on plain values."""

from datetime import datetime, timedelta

import pytest

from activities import domain
from activities.domain import Caller, RuleViolation
from guanyinli.timeutil import TZ

START = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)  # Saturday
END = START + timedelta(hours=2)


def test_lecture_gets_setup_and_reception_duties_besides_given_roles():
    roles = domain.roles_for("lecture", [{"name": "host", "needed": 1}])
    assert [r["name"] for r in roles] == ["host", "setup", "reception"]
    setup = roles[1]
    assert domain.duty_window(START, END, setup["start_offset_minutes"], setup["duration_minutes"]) == (
        START - timedelta(hours=1),
        START,
    )
    reception = roles[2]
    assert domain.duty_window(START, END, reception["start_offset_minutes"], reception["duration_minutes"]) == (
        START - timedelta(minutes=30),
        END,
    )


def test_a_visit_needs_two_visitors_and_odd_pairs_are_refused():
    assert domain.roles_for("elderly_visit", None)[0] == {
        "name": "visitor",
        "needed": 2,
        "skills": [],
        "start_offset_minutes": 0,
        "duration_minutes": None,
    }
    with pytest.raises(RuleViolation, match="pairs"):
        domain.roles_for("elderly_visit", [{"name": "visitor", "needed": 3}])


def test_tutor_seats_follow_the_pupil_ratio():
    assert domain.seats_for("tutor", 1, "tutoring", 0, 5) == 1
    assert domain.seats_for("tutor", 1, "tutoring", 5, 5) == 1
    assert domain.seats_for("tutor", 1, "tutoring", 6, 5) == 2
    assert domain.seats_for("tutor", 1, "tutoring", 11, None) == 3
    assert domain.seats_for("patroller", 2, "patrol", 11, None) == 2


def test_team_defaults_from_kind_if_the_community_has_that_team():
    assert domain.team_for("patrol", None) == "voluntary_patrol"  # Guanyinli's demo data: every usual team
    assert domain.team_for("lecture", None) is None
    assert domain.team_for("patrol", None, {"voluntary_patrol", "chess_club"}) == "voluntary_patrol"
    assert domain.team_for("patrol", None, {"chess_club"}) is None  # a community without a patrol team
    assert domain.team_for("cultural", "chess_club", {"chess_club"}) == "chess_club"


def test_a_patrol_needs_a_grid():
    with pytest.raises(RuleViolation, match="grid"):
        domain.check_place("patrol", None, "一号院", None)
    domain.check_place("lecture", None, None, "立德树人讲堂")


VISIT_END = datetime(2026, 3, 10, 11, 0, tzinfo=TZ)


def test_private_fields_for_organisers_always():
    organiser = Caller(roles=frozenset({"organiser"}))
    assert domain.can_see_private(organiser, None, VISIT_END + timedelta(days=400))
    assert domain.Viewer(Caller(roles=frozenset({"system"})), VISIT_END).sees_private(None)


def test_private_fields_for_a_visitor_with_a_current_or_coming_visit():
    visitor = Caller(volunteer_id=4)
    assert domain.can_see_private(visitor, VISIT_END, VISIT_END - timedelta(days=30))  # coming
    assert domain.can_see_private(visitor, VISIT_END, VISIT_END - timedelta(minutes=30))  # under way


def test_private_fields_until_days_after_the_last_visit_then_never():
    visitor = Caller(volunteer_id=4)
    last_day = VISIT_END + timedelta(days=domain.VISIT_DETAILS_DAYS_AFTER)
    assert domain.VISIT_DETAILS_DAYS_AFTER == 7
    assert domain.can_see_private(visitor, VISIT_END, last_day)
    assert not domain.can_see_private(visitor, VISIT_END, last_day + timedelta(seconds=1))
    assert domain.can_see_private(visitor, VISIT_END, VISIT_END + timedelta(days=2), days_after=2)
    assert not domain.can_see_private(visitor, VISIT_END, VISIT_END + timedelta(days=1, seconds=1), days_after=1)
    assert not domain.can_see_private(visitor, VISIT_END, VISIT_END + timedelta(seconds=1), days_after=0)


def test_no_private_fields_without_a_visit_or_an_identity():
    assert not domain.can_see_private(Caller(volunteer_id=6), None, VISIT_END)
    assert not domain.can_see_private(Caller(), VISIT_END, VISIT_END)
    assert not domain.Viewer(Caller(volunteer_id=6), VISIT_END, days_after=3).sees_private(None)


def test_a_volunteer_acts_for_themselves_only():
    assert Caller(volunteer_id=3).acts_for(3) and not Caller(volunteer_id=3).acts_for(4)
    assert Caller(roles=frozenset({"organiser"})).acts_for(4)


def test_attendance_facts_weekend_and_late_notice():
    facts = domain.attendance_facts(START, END, START - timedelta(hours=47))
    assert facts == {"hours": 2.0, "weekend": True, "late_notice": True}
    weekday = START + timedelta(days=2)
    assert domain.attendance_facts(weekday, weekday + timedelta(minutes=90), weekday - timedelta(days=3)) == {
        "hours": 1.5,
        "weekend": False,
        "late_notice": False,
    }


def test_no_show_rate_ignores_excused():
    assert domain.no_show_rate(3, 1) == 0.25
    assert domain.no_show_rate(0, 0) is None


def test_a_subject_skill_meets_the_general_requirement():
    assert domain.missing_skills(["tutoring"], ["tutoring:math"]) == []
    assert domain.missing_skills(["tutoring:math"], ["tutoring:english"]) == ["tutoring:math"]
    assert domain.missing_skills(["tutoring", "first_aid"], ["tutoringx"]) == ["first_aid", "tutoring"]


# --- listing occurrences ---------------------------------------------------------------------

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=TZ)


def test_a_volunteers_listing_writes_rows_only_near_now_and_an_organisers_any():
    far = NOW + timedelta(days=300)
    for caller in (Caller(), Caller(volunteer_id=5, roles=frozenset({"volunteer"}))):
        rows = domain.listing_rows(caller, far, far + timedelta(days=7), NOW)
        assert rows(NOW) and rows(NOW - domain.MATERIALISE_BEHIND)
        assert not rows(NOW - domain.MATERIALISE_BEHIND - timedelta(seconds=1))
        assert rows(NOW + domain.MATERIALISE_AHEAD - timedelta(seconds=1)) and not rows(NOW + domain.MATERIALISE_AHEAD)
        assert not rows(far)
    for roles in ({"organiser"}, {"system"}):
        rows = domain.listing_rows(Caller(roles=frozenset(roles)), far, far + timedelta(days=400), NOW)
        assert rows is domain.EVERYTHING and rows(far)


@pytest.mark.parametrize(
    "start, end, message",
    [
        (NOW, NOW, "end: must be after start"),
        (NOW, NOW + timedelta(days=401), "end: the window is at most 400 days"),
        (NOW + timedelta(days=3700), NOW + timedelta(days=3710), "start, end: a listing lies within"),
        (NOW - timedelta(days=3700), NOW - timedelta(days=3690), "start, end: a listing lies within"),
    ],
)
def test_a_listing_window_is_bounded_for_everyone(start, end, message):
    for caller in (Caller(), Caller(roles=frozenset({"organiser"}))):
        with pytest.raises(RuleViolation, match=message) as raised:
            domain.listing_rows(caller, start, end, NOW)
        assert raised.value.code == "invalid"
