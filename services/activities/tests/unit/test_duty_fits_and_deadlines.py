"""Whether a duty fits a volunteer (skills, availability, clashes, the weekly cap) and cancel deadlines."""

from datetime import datetime, timedelta

import pytest

from activities import domain
from activities.dependencies import duty_rules
from activities.exceptions import TooLateToCancel
from guanyinli.timeutil import TZ

MONDAY = datetime(2026, 12, 7, 0, 0, tzinfo=TZ)  # an ISO week starts
DUTY = (MONDAY + timedelta(days=2, hours=19), MONDAY + timedelta(days=2, hours=21))  # Wednesday evening
ALL_WEEK = [(MONDAY - timedelta(days=7), MONDAY + timedelta(days=14))]


def hours(day: int, start: int, end: int) -> tuple[datetime, datetime]:
    """A duty on day ``day`` after MONDAY (negative: the week before) from ``start`` to ``end`` o'clock."""
    base = MONDAY + timedelta(days=day)
    return base + timedelta(hours=start), base + timedelta(hours=end)


def fits(duty=DUTY, required=(), skills=(), available=ALL_WEEK, confirmed=(), cap=None, own=None) -> bool:
    held = [domain.Booked(100 + i, "convenience", a, b) for i, (a, b) in enumerate(confirmed)]
    return domain.duty_fits(duty, required, skills, available, held, domain.WeeklyCaps(cap, {}), own, "lecture")


def test_a_duty_fits_a_free_volunteer_with_the_skills():
    assert fits(required=["first_aid"], skills=["first_aid", "patrol_leader"])
    assert fits(required=["tutoring"], skills=["tutoring:math"])  # a subject meets the family


def test_a_missing_skill_does_not_fit():
    assert not fits(required=["first_aid"], skills=["patrol_leader"])
    assert not fits(required=["tutoring:math"], skills=["tutoring:english"])


def test_one_available_span_must_hold_the_whole_duty():
    assert fits(available=[hours(2, 18, 22)])
    assert fits(available=[DUTY])
    assert not fits(available=[hours(2, 18, 20)])  # the duty runs past it
    assert not fits(available=[hours(2, 18, 20), hours(2, 20, 22)])  # two spans, neither holds it whole
    assert not fits(available=[])


def test_a_clash_with_a_confirmed_duty_does_not_fit_but_touching_does():
    assert not fits(confirmed=[hours(2, 20, 23)])
    assert fits(confirmed=[hours(2, 17, 19), hours(2, 21, 23)])


def test_the_weekly_cap_counts_confirmed_duties_starting_in_the_same_iso_week():
    two_this_week = [hours(0, 9, 11), hours(6, 22, 23)]  # Monday morning and late Sunday
    assert not fits(confirmed=two_this_week, cap=2)
    assert fits(confirmed=two_this_week, cap=3)
    assert fits(confirmed=two_this_week)  # no cap
    # The Sunday before and the Monday after belong to other ISO weeks.
    others = [hours(-1, 22, 24), hours(7, 0, 2)]
    assert fits(confirmed=others, cap=1)
    assert not fits(confirmed=[*others, hours(4, 9, 10)], cap=1)


def test_the_volunteers_own_weekly_cap_holds_when_it_is_the_smaller():
    two_this_week = [hours(0, 9, 11), hours(4, 19, 21)]
    assert not fits(confirmed=two_this_week, own=2)
    assert not fits(confirmed=two_this_week, cap=5, own=2)
    assert not fits(confirmed=two_this_week, cap=2, own=5)  # the platform's is smaller
    assert fits(confirmed=two_this_week, cap=5, own=3)
    assert fits(confirmed=[hours(-1, 9, 11), hours(7, 9, 11)], own=1)  # other weeks


def test_iso_week_and_the_window_of_confirmed_duties_that_weigh_on_a_list():
    assert domain.iso_week(DUTY[0]) == (MONDAY, MONDAY + timedelta(days=7))
    assert domain.iso_week(MONDAY - timedelta(seconds=1)) == (MONDAY - timedelta(days=7), MONDAY)
    late_sunday = hours(6, 23, 26)  # into next week's Monday
    assert domain.weighing_window([DUTY, late_sunday]) == (MONDAY, MONDAY + timedelta(days=7, hours=2))
    assert domain.weighing_window([hours(1, 9, 10), hours(9, 9, 10)]) == (MONDAY, MONDAY + timedelta(days=14))


# --- cancel deadlines --------------------------------------------------------------------------


def test_default_deadlines_per_kind_and_other_for_the_rest():
    deadlines = domain.cancel_deadlines(None)
    assert {k: deadlines[k] for k in ("patrol", "tutoring", "elderly_visit", "lecture", "sanitation")} == {
        "patrol": 24,
        "tutoring": 24,
        "elderly_visit": 24,
        "lecture": 12,
        "sanitation": 12,
    }
    assert deadlines["convenience"] == deadlines["cultural"] == deadlines["other"] == 24


def test_the_setting_replaces_kinds_it_names_and_other_covers_kinds_named_nowhere():
    deadlines = domain.cancel_deadlines("lecture:6 other:48 patrol:1.5")
    assert (deadlines["lecture"], deadlines["patrol"], deadlines["tutoring"]) == (6, 1.5, 24)
    assert deadlines["cultural"] == deadlines["convenience"] == 48
    assert domain.cancel_deadlines({"sanitation": 0})["sanitation"] == 0
    assert domain.cancel_deadlines("") == domain.cancel_deadlines(None)


@pytest.mark.parametrize(
    "setting, message",
    [
        ("picnic:12", "'picnic' is not a kind"),
        ("lecture", "lecture: None is not a number"),
        ("lecture:soon", "lecture: 'soon' is not a number"),
        ("lecture:-1", "hours from 0 to 720"),
        ("lecture:nan", "hours from 0 to 720"),
        ({"patrol": None}, "patrol: None is not a number"),
    ],
)
def test_a_setting_that_cannot_be_read_is_refused_naming_the_entry(setting, message):
    with pytest.raises(ValueError, match=message):
        domain.cancel_deadlines(setting)


def test_cancel_until_is_the_kinds_hours_before_the_duty_starts():
    deadlines = domain.cancel_deadlines(None)
    start = datetime(2026, 12, 11, 18, 0, tzinfo=TZ)
    assert domain.cancel_until(start, "patrol", deadlines) == datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    assert domain.cancel_until(start, "lecture", deadlines) == datetime(2026, 12, 11, 6, 0, tzinfo=TZ)
    assert domain.cancel_until(start, "a_kind_of_tomorrow", deadlines) == datetime(2026, 12, 10, 18, 0, tzinfo=TZ)


def test_cancelling_up_to_the_deadline_passes_and_after_it_says_the_deadline_in_both_languages():
    deadlines = domain.cancel_deadlines(None)
    start = datetime(2026, 12, 11, 18, 0, tzinfo=TZ)
    deadline = datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    domain.check_cancel_in_time(start, "patrol", deadlines, deadline)
    with pytest.raises(TooLateToCancel) as refused:
        domain.check_cancel_in_time(start, "patrol", deadlines, deadline + timedelta(seconds=1))
    assert str(refused.value).startswith("cancel deadline 2026-12-10T18:00:00+08:00 has passed")
    assert "I can't come" in str(refused.value)
    assert "2026-12-10T18:00:00+08:00" in refused.value.message_zh and "我来不了" in refused.value.message_zh
    # The deadline is said in local time whatever the clock's offset.
    with pytest.raises(TooLateToCancel, match=r"^cancel deadline 2026-12-10T18:00:00\+08:00 has passed"):
        domain.check_cancel_in_time(start.astimezone(tz=None), "patrol", deadlines, start)


def test_the_service_reads_its_duty_rules_from_the_config():
    rules = duty_rules({"CANCEL_DEADLINES": "patrol:36", "MAX_DUTIES_PER_WEEK": 3})
    assert (rules.cancel_deadlines["patrol"], rules.max_per_week) == (36, 3)
    assert duty_rules({"MAX_DUTIES_PER_WEEK": ""}).max_per_week is None
    assert duty_rules({}).cancel_deadlines == domain.cancel_deadlines(None)
    for bad in (0, "two", -1, True):
        with pytest.raises(ValueError, match="MAX_DUTIES_PER_WEEK"):
            duty_rules({"MAX_DUTIES_PER_WEEK": bad})
    with pytest.raises(ValueError, match="CANCEL_DEADLINES"):
        duty_rules({"CANCEL_DEADLINES": "patrol:forever"})
