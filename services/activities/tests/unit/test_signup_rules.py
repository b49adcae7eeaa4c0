"""The sign-up rules on plain values: seats, the waitlist and its promotions, tutor seats that grow
with pupils, clashes, the weekly caps, and residents' registrations at the lecture hall's door."""

from datetime import datetime, timedelta

import pytest

from activities import domain
from activities.domain import Booked, Seats, SignupCheck, Waiting, WeeklyCaps
from activities.exceptions import (
    DutyClash,
    OccurrenceClosed,
    SkillMissing,
    VolunteerUnavailable,
    WeeklyCapReached,
)
from guanyinli.errors import Conflict, InvalidInput
from guanyinli.timeutil import TZ

MONDAY = datetime(2026, 12, 7, tzinfo=TZ)
DUTY = (MONDAY + timedelta(days=2, hours=14), MONDAY + timedelta(days=2, hours=16))  # Wednesday afternoon
BEFORE = MONDAY


def on(day: int, start: int, end: int, occurrence: int, kind: str = "convenience") -> Booked:
    return Booked(occurrence, kind, MONDAY + timedelta(days=day, hours=start), MONDAY + timedelta(days=day, hours=end))


def misfit(check=None, booked=(), required=(), kind="lecture", now=BEFORE):
    check = check or SignupCheck({"id": 7, "skills": ["first_aid"]}, True)
    return domain.signup_misfit(1, kind, DUTY, required, check, booked, now)


# --- seats ------------------------------------------------------------------------------------


def test_seats_are_free_until_taken_and_no_capacity_is_no_limit():
    assert (Seats(2, 1).free, Seats(2, 1).full) == (1, False)
    assert (Seats(2, 2).free, Seats(2, 2).full) == (0, True)
    assert (Seats(None, 500).free, Seats(None, 500).full) == (None, False)


def test_seats_resized_never_fall_below_those_taken():
    assert Seats(2, 1).resized(4) == Seats(4, 1)
    assert Seats(4, 3).resized(2) == Seats(3, 3)
    assert Seats(4, 3).resized(None) == Seats(None, 3)


def test_tutor_seats_grow_with_pupils_at_the_ratio_never_below_those_needed():
    assert domain.tutor_seats(1, 0, 5) == 1
    assert domain.tutor_seats(1, 6, 5) == 2
    assert domain.tutor_seats(3, 6, 5) == 3
    assert domain.tutor_seats(1, 11, None) == 3  # the default ratio


# --- the waitlist -----------------------------------------------------------------------------


WAITING = [Waiting(30, 3, 13), Waiting(10, 1, 11), Waiting(20, 2, 12)]


def test_free_seats_go_to_the_head_of_the_waitlist_in_order():
    assert [w.id for w in domain.promotions(Seats(3, 1), WAITING)] == [10, 20]
    assert domain.promotions(Seats(3, 3), WAITING) == []
    assert [w.id for w in domain.promotions(Seats(None, 3), WAITING)] == [10, 20, 30]


def test_a_passed_over_head_keeps_their_place_and_the_next_takes_the_seat():
    clashing = {11}
    chosen = domain.promotions(Seats(2, 1), WAITING, lambda w: w.volunteer_id in clashing)
    assert [w.id for w in chosen] == [20]


def test_a_waitlist_position_counts_from_the_head():
    assert [domain.waitlist_position([3, 1, 2], n) for n in (1, 2, 3)] == [1, 2, 3]
    assert domain.waitlist_position([2, 3], 3) == 2  # number 1 left


# --- who may sign up --------------------------------------------------------------------------


def test_a_free_volunteer_with_the_skills_may_sign_up():
    assert misfit(required=["first_aid"]) is None


@pytest.mark.parametrize(
    "check, error",
    [
        (SignupCheck({"id": 7, "skills": ["first_aid"], "active": False}, True), VolunteerUnavailable),
        (SignupCheck({"id": 7, "skills": []}, True), SkillMissing),
        (SignupCheck({"id": 7, "skills": ["first_aid"]}, False, "出差"), VolunteerUnavailable),
    ],
)
def test_each_rule_about_the_volunteer_refuses_with_its_error(check, error):
    assert isinstance(misfit(check, required=["first_aid"]), error)


def test_a_duty_that_is_over_is_closed():
    assert isinstance(misfit(now=DUTY[1]), OccurrenceClosed)


def test_a_clash_with_a_confirmed_duty_refuses_but_touching_does_not():
    assert isinstance(misfit(booked=[on(2, 15, 17, 9)]), DutyClash)
    assert misfit(booked=[on(2, 12, 14, 9), on(2, 16, 18, 10)]) is None
    assert domain.clashing(DUTY, [on(2, 15, 17, 9), on(2, 13, 15, 8), on(3, 14, 16, 4)]) == [8, 9]


def test_another_role_of_the_same_occurrence_is_no_clash():
    assert misfit(booked=[on(2, 13, 16, 1)]) is None  # setup, then reception of the same lecture


# --- one weekly cap ---------------------------------------------------------------------------


def test_the_platforms_weekly_cap_counts_duties_of_any_kind():
    two = [on(0, 9, 10, 2, "patrol"), on(4, 9, 10, 3, "convenience")]
    check = SignupCheck({"id": 7}, True, caps=WeeklyCaps(overall=2, per_kind={}))
    assert isinstance(misfit(check, booked=two), WeeklyCapReached)
    assert misfit(SignupCheck({"id": 7}, True, caps=WeeklyCaps(overall=3, per_kind={})), booked=two) is None


def test_the_cap_of_a_kind_counts_that_kind_only():
    patrols = [on(0, 19, 21, 2, "patrol"), on(1, 19, 21, 3, "patrol"), on(3, 19, 21, 4, "patrol")]
    check = SignupCheck({"id": 7}, True, caps=WeeklyCaps())  # WEEKLY_CAPS: three patrols a week
    assert isinstance(misfit(check, booked=patrols, kind="patrol"), WeeklyCapReached)
    assert misfit(check, booked=patrols, kind="lecture") is None


def test_the_volunteers_own_cap_holds_and_duties_of_other_weeks_do_not_count():
    check = SignupCheck({"id": 7, "max_duties_per_week": 1}, True, caps=WeeklyCaps(per_kind={}))
    assert isinstance(misfit(check, booked=[on(5, 9, 10, 2)]), WeeklyCapReached)
    assert misfit(check, booked=[on(-1, 9, 10, 2), on(7, 9, 10, 3)]) is None


def test_without_caps_only_the_clash_counts_as_for_the_roster():
    check = SignupCheck({"id": 7, "max_duties_per_week": 1}, True)
    assert misfit(check, booked=[on(0, 9, 10, 2), on(1, 9, 10, 3)]) is None


def test_open_duties_and_sign_ups_ask_the_same_cap():
    held = [on(0, 9, 10, 2, "patrol"), on(1, 9, 10, 3, "patrol")]
    caps = WeeklyCaps(overall=2, per_kind={})
    assert not domain.duty_fits(DUTY, (), (), [(MONDAY, MONDAY + timedelta(days=7))], held, caps, None, "lecture")
    assert isinstance(misfit(SignupCheck({"id": 7}, True, caps=caps), booked=held), WeeklyCapReached)


# --- registrations and the door -----------------------------------------------------------------

LECTURE = (MONDAY + timedelta(days=5, hours=14), MONDAY + timedelta(days=5, hours=16))


def test_registrations_are_for_lectures_and_tutoring_that_are_on():
    domain.check_registrable("lecture", False, LECTURE[1], LECTURE[0])
    with pytest.raises(InvalidInput):
        domain.check_registrable("patrol", False, LECTURE[1], LECTURE[0])
    with pytest.raises(OccurrenceClosed):
        domain.check_registrable("lecture", True, LECTURE[1], LECTURE[0])
    with pytest.raises(OccurrenceClosed):
        domain.check_registrable("lecture", False, LECTURE[1], LECTURE[1])


def test_check_in_is_for_the_registered_from_two_hours_before_until_the_end():
    domain.check_check_in("registered", *LECTURE, LECTURE[0] - timedelta(hours=2))
    domain.check_check_in("registered", *LECTURE, LECTURE[1] - timedelta(minutes=1))
    with pytest.raises(OccurrenceClosed):
        domain.check_check_in("registered", *LECTURE, LECTURE[0] - timedelta(hours=3))
    with pytest.raises(OccurrenceClosed):
        domain.check_check_in("registered", *LECTURE, LECTURE[1])
    with pytest.raises(Conflict):
        domain.check_check_in("waitlisted", *LECTURE, LECTURE[0])
    with pytest.raises(OccurrenceClosed):
        domain.check_check_in("registered", *LECTURE, LECTURE[0], cancelled=True)


def test_phones_are_masked_to_their_last_four_digits_and_found_by_them():
    assert domain.mask_phone("13912345678") == "139****5678"
    assert domain.mask_phone(None) is None
    assert domain.door_matches("李建国", "13912345678", "5678")
    assert not domain.door_matches("李建国", "13912345678", "1234")
    assert not domain.door_matches("李建国", "13912345678", "45678")  # no more than the masked phone shows
    assert domain.door_matches("李建国", None, "建国") and not domain.door_matches("李建国", None, "王")
    assert domain.door_matches("李建国", None, " ")


def test_a_sign_up_is_cancelled_until_the_duty_is_over_and_its_attendance_marked():
    domain.check_cancellable(5, None, DUTY[1], DUTY[0])
    with pytest.raises(Conflict):
        domain.check_cancellable(5, "attended", DUTY[1], DUTY[0])
    with pytest.raises(OccurrenceClosed):
        domain.check_cancellable(5, None, DUTY[1], DUTY[1])
