"""Stand-ins as plain rules: who fits a duty, what becomes of a duty its volunteer drops, and the
states of an offer (open, taken, unfilled, withdrawn)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from activities.domain import (
    Booked,
    Caller,
    Helper,
    Offer,
    OpenDuty,
    alert_time,
    cancel_deadline,
    check_standin_offer,
    check_standin_take,
    check_standin_withdraw,
    drop_out,
    fits,
    misfit,
    week_span,
    weekly_cap,
)
from activities.exceptions import (
    DutyClash,
    OccurrenceClosed,
    SkillMissing,
    StandinClosed,
    StandinTaken,
    VolunteerUnavailable,
    WeeklyCapReached,
)
from guanyinli.errors import Conflict, Forbidden
from guanyinli.timeutil import TZ

# Wednesday 9 December 2026, 19:00-21:00: an evening patrol.
START = datetime(2026, 12, 9, 19, 0, tzinfo=TZ)
END = START + timedelta(hours=2)
PATROL = OpenDuty(occurrence_id=10, kind="patrol", start=START, end=END, weekly_cap=3)
MEDIC = OpenDuty(occurrence_id=20, kind="convenience", start=START, end=END, skills=("first_aid",))
ORGANISER = Caller(volunteer_id=9000, roles=frozenset({"organiser"}))


def patrol(occurrence_id: int, day: int, hour: int = 19) -> Booked:
    start = datetime(2026, 12, day, hour, 0, tzinfo=TZ)
    return Booked(occurrence_id, "patrol", start, start + timedelta(hours=2))


def volunteer(volunteer_id: int) -> Caller:
    return Caller(volunteer_id=volunteer_id, roles=frozenset({"volunteer"}))


# --- the fits rule -----------------------------------------------------------------------------------


def test_an_active_available_volunteer_without_duties_fits():
    assert fits(PATROL, Helper(7))
    assert misfit(PATROL, Helper(7)) is None


def test_an_inactive_volunteer_does_not_fit():
    assert isinstance(misfit(PATROL, Helper(7, active=False)), VolunteerUnavailable)


def test_skills_of_the_role_are_needed_and_a_family_skill_counts():
    assert isinstance(misfit(MEDIC, Helper(7, skills=("patrol_leader",))), SkillMissing)
    assert fits(MEDIC, Helper(7, skills=("first_aid",)))
    tutoring = OpenDuty(30, "tutoring", START, END, skills=("tutoring",))
    assert fits(tutoring, Helper(7, skills=("tutoring:math",)))


def test_a_volunteer_the_volunteers_service_says_is_away_does_not_fit_and_hears_why():
    problem = misfit(PATROL, Helper(7, available=False, reason="探亲"))
    assert isinstance(problem, VolunteerUnavailable) and "探亲" in str(problem)


def test_a_volunteer_already_on_the_occurrence_does_not_fit():
    assert isinstance(misfit(PATROL, Helper(7, duties=(patrol(10, 9),))), Conflict)


def test_an_overlapping_confirmed_duty_is_a_clash_and_one_just_before_is_not():
    overlapping = Booked(40, "lecture", START + timedelta(hours=1), END + timedelta(hours=1))
    assert isinstance(misfit(PATROL, Helper(7, duties=(overlapping,))), DutyClash)
    before = Booked(41, "lecture", START - timedelta(hours=2), START)
    assert fits(PATROL, Helper(7, duties=(before,)))


def test_the_weekly_cap_counts_duties_of_the_same_kind_in_the_same_local_week():
    # Monday 7 to Sunday 13 December is one week; the 6th and the 14th are not in it.
    three = (patrol(11, 7), patrol(12, 8), patrol(13, 10))
    assert isinstance(misfit(PATROL, Helper(7, duties=three)), WeeklyCapReached)
    assert fits(PATROL, Helper(7, duties=three[:2]))
    around = (patrol(14, 6), patrol(15, 14), patrol(16, 14, hour=8))
    assert fits(PATROL, Helper(7, duties=three[:2] + around))
    other_kind = tuple(Booked(50 + n, "sanitation", b.start, b.end) for n, b in enumerate(three))
    assert fits(PATROL, Helper(7, duties=other_kind))
    assert fits(MEDIC, Helper(7, skills=("first_aid",), duties=three))  # no cap for that kind


def test_the_volunteers_own_cap_counts_their_duties_of_every_kind_that_week():
    lecture = Booked(60, "lecture", datetime(2026, 12, 12, 9, 0, tzinfo=TZ), datetime(2026, 12, 12, 11, 0, tzinfo=TZ))
    one_each = (patrol(11, 7), lecture)
    refused = misfit(PATROL, Helper(7, duties=one_each, max_per_week=2))
    assert isinstance(refused, WeeklyCapReached) and "their own limit" in str(refused) and refused.message_zh
    assert fits(PATROL, Helper(7, duties=one_each, max_per_week=3))
    assert fits(PATROL, Helper(7, duties=one_each))  # no cap of their own: the kind's cap of 3 patrols
    assert fits(MEDIC, Helper(7, skills=("first_aid",), duties=(patrol(14, 6), patrol(15, 14)), max_per_week=1))
    three = (patrol(11, 7), patrol(12, 8), patrol(13, 10))
    assert isinstance(misfit(PATROL, Helper(7, duties=three, max_per_week=5)), WeeklyCapReached)  # the kind's


def test_a_duty_of_their_own_is_asked_only_what_is_about_the_volunteer():
    """Re-checking a volunteer's own duty: their duty on it and their week are not held against them."""
    own = (patrol(10, 9), patrol(11, 7), patrol(12, 8), patrol(13, 10))
    assert misfit(PATROL, Helper(7, duties=own), taking=False) is None
    assert isinstance(misfit(PATROL, Helper(7, available=False, duties=own), taking=False), VolunteerUnavailable)
    assert isinstance(misfit(MEDIC, Helper(7), taking=False), SkillMissing)


def test_week_span_runs_monday_to_monday_local():
    monday, next_monday = week_span(START)
    assert (monday, next_monday) == (datetime(2026, 12, 7, tzinfo=TZ), datetime(2026, 12, 14, tzinfo=TZ))


def test_weekly_caps_and_cancel_deadlines_come_from_settings_with_defaults():
    assert weekly_cap("patrol") == 3 and weekly_cap("lecture") is None
    assert weekly_cap("patrol", {"patrol": 2}) == 2
    assert cancel_deadline("patrol") == timedelta(hours=24)
    assert cancel_deadline("lecture", {"lecture": 6}) == timedelta(hours=6)


def test_a_dropped_duty_is_offered_when_rostered_or_close_and_cancelled_otherwise():
    day = timedelta(hours=24)
    assert drop_out(True, START, START - timedelta(days=5), day) == "standin"
    assert drop_out(False, START, START - timedelta(hours=23), day) == "standin"
    assert drop_out(False, START, START - timedelta(hours=25), day) == "cancel"


# --- the offer ---------------------------------------------------------------------------------------


def offer(status: str = "open", taken_by: int | None = None) -> Offer:
    return Offer(id=3, volunteer_id=5, status=status, duty_start=START, taken_by=taken_by)


def test_the_alert_is_twelve_hours_before_or_at_once_when_that_has_passed():
    early = START - timedelta(days=2)
    assert alert_time(START, early) == START - timedelta(hours=12)
    late = START - timedelta(hours=3)
    assert alert_time(START, late) == late
    assert alert_time(START, early, timedelta(hours=30)) == START - timedelta(hours=30)


def test_only_a_confirmed_duty_that_has_not_started_is_offered():
    check_standin_offer("confirmed", START, START - timedelta(minutes=1))
    with pytest.raises(OccurrenceClosed):
        check_standin_offer("confirmed", START, START)
    with pytest.raises(Conflict, match="waitlisted"):
        check_standin_offer("waitlisted", START, START - timedelta(hours=1))
    with pytest.raises(OccurrenceClosed, match="cancelled"):
        check_standin_offer("confirmed", START, START - timedelta(hours=1), scheduled=False)


def test_an_open_or_unfilled_offer_is_taken_by_another_volunteer_before_the_duty():
    before = START - timedelta(hours=1)
    check_standin_take(offer("open"), 6, before)
    check_standin_take(offer("unfilled"), 6, before)  # organisers were told; it may still be taken
    assert offer("unfilled").live and not offer("taken").live and not offer("withdrawn").live


def test_a_taken_offer_says_so_with_thanks_a_withdrawn_or_started_one_is_closed():
    before = START - timedelta(hours=1)
    with pytest.raises(StandinTaken, match="already taken, thank you") as taken:
        check_standin_take(offer("taken", taken_by=6), 7, before)
    assert "谢谢" in taken.value.message_zh
    with pytest.raises(StandinClosed, match="withdrawn"):
        check_standin_take(offer("withdrawn"), 7, before)
    with pytest.raises(StandinClosed, match="started"):
        check_standin_take(offer("open"), 7, START)


def test_the_volunteer_who_offered_it_cannot_take_it_back_that_way():
    with pytest.raises(Conflict, match="withdraw"):
        check_standin_take(offer("open"), 5, START - timedelta(hours=1))


def test_the_offering_volunteer_or_an_organiser_withdraws_a_live_offer_and_nobody_else():
    check_standin_withdraw(volunteer(5), offer("open"))
    check_standin_withdraw(ORGANISER, offer("unfilled"))
    check_standin_withdraw(volunteer(5), offer("withdrawn"))  # again: no error, nothing changes
    with pytest.raises(Forbidden):
        check_standin_withdraw(volunteer(6), offer("open"))
    with pytest.raises(StandinClosed, match="taken"):
        check_standin_withdraw(volunteer(5), offer("taken", taken_by=6))
