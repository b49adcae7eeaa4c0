"""Rules of the volunteers domain: availability expansion and overlap, the points rule, small helpers."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanyinli.timeutil import TZ
from volunteers import domain
from volunteers.domain import DatedWindow, WeeklyWindow
from volunteers.exceptions import AvailabilityOverlap, PartnerInvalid


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-03-<day> local time; 2026-03-02 is a Monday."""
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ)


MON_EVENING = WeeklyWindow(0, 19 * 60, 21 * 60)
SAT_MORNING = WeeklyWindow(5, 8 * 60, 10 * 60)


# --- expansion ---------------------------------------------------------------------------------


def test_weekly_windows_repeat_every_week():
    windows = domain.expand([MON_EVENING, SAT_MORNING], [], at(2, 0), at(16, 0))
    assert windows == [(at(2, 19), at(2, 21)), (at(7, 8), at(7, 10)), (at(9, 19), at(9, 21)), (at(14, 8), at(14, 10))]


def test_expansion_is_clipped_to_the_range():
    assert domain.expand([MON_EVENING], [], at(2, 20), at(9, 20)) == [(at(2, 20), at(2, 21)), (at(9, 19), at(9, 20))]


def test_time_off_removes_part_or_all_of_a_window():
    off = [DatedWindow("off", at(2, 20), at(3, 0)), DatedWindow("off", at(9, 0), at(10, 0), "travel")]
    assert domain.expand([MON_EVENING], off, at(2, 0), at(16, 0)) == [(at(2, 19), at(2, 20))]


def test_time_off_in_the_middle_splits_a_window():
    off = [DatedWindow("off", at(2, 19, 30), at(2, 20))]
    assert domain.expand([MON_EVENING], off, at(2, 0), at(3, 0)) == [(at(2, 19), at(2, 19, 30)), (at(2, 20), at(2, 21))]


def test_extra_availability_is_added_and_merged_with_touching_windows():
    extra = [DatedWindow("extra", at(2, 17), at(2, 19)), DatedWindow("extra", at(4, 9), at(4, 12))]
    assert domain.expand([MON_EVENING], extra, at(2, 0), at(5, 0)) == [(at(2, 17), at(2, 21)), (at(4, 9), at(4, 12))]


def test_time_off_wins_over_extra_availability():
    dated = [DatedWindow("extra", at(4, 9), at(4, 12)), DatedWindow("off", at(4, 0), at(5, 0))]
    assert domain.expand([], dated, at(2, 0), at(6, 0)) == []


def test_window_until_midnight_and_input_in_other_offsets():
    late = WeeklyWindow(1, 22 * 60, 24 * 60)
    utc_start = at(3, 0).astimezone(tz=None)  # same instant, other offset
    assert domain.expand([late], [], utc_start, at(4, 12)) == [(at(3, 22), at(4, 0))]


def test_covers_needs_one_window_holding_the_whole_duty():
    windows = [(at(2, 19), at(2, 20)), (at(2, 20, 30), at(2, 21))]
    assert domain.covers(windows, at(2, 19), at(2, 20))
    assert not domain.covers(windows, at(2, 19), at(2, 21))


def test_a_month_of_weekly_windows_for_hundreds_is_quick():
    weekly = [WeeklyWindow(d, 18 * 60 + 30, 21 * 60 + 30) for d in range(5)] + [SAT_MORNING]
    start = at(2, 0)
    for _ in range(300):
        windows = domain.expand(weekly, [DatedWindow("off", at(10, 0), at(12, 0))], start, start + timedelta(days=28))
    assert len(windows) == 4 * 6 - 2


# --- overlap -----------------------------------------------------------------------------------


def test_overlapping_weekly_windows_are_rejected_naming_the_field():
    with pytest.raises(AvailabilityOverlap, match=r"^weekly\.2: Monday 20:00-22:00 overlaps weekly\.0"):
        domain.check_no_overlap([MON_EVENING, SAT_MORNING, WeeklyWindow(0, 20 * 60, 22 * 60)], [])


def test_touching_windows_and_other_weekdays_do_not_overlap():
    domain.check_no_overlap([MON_EVENING, WeeklyWindow(0, 21 * 60, 22 * 60), WeeklyWindow(1, 19 * 60, 21 * 60)], [])


def test_overlapping_dated_windows_are_rejected_whatever_their_kind():
    dated = [DatedWindow("off", at(2, 0), at(3, 0)), DatedWindow("extra", at(2, 23), at(3, 2))]
    with pytest.raises(AvailabilityOverlap, match=r"^dated\.1: extra"):
        domain.check_no_overlap([], dated)


# --- verdict -----------------------------------------------------------------------------------


def test_verdict_available_inside_a_window():
    assert domain.availability_verdict(True, [MON_EVENING], [], at(2, 19), at(2, 21)) == (True, None)


def test_verdict_names_time_off():
    off = [DatedWindow("off", at(2, 0), at(3, 0), "hospital visit")]
    ok, reason = domain.availability_verdict(True, [MON_EVENING], off, at(2, 19), at(2, 21))
    assert not ok and reason.startswith("time off") and "hospital visit" in reason


def test_verdict_outside_windows_and_inactive():
    assert domain.availability_verdict(True, [MON_EVENING], [], at(3, 19), at(3, 21)) == (
        False,
        "outside the volunteer's availability",
    )
    assert domain.availability_verdict(False, [MON_EVENING], [], at(2, 19), at(2, 21)) == (
        False,
        "volunteer is deactivated",
    )


def test_verdict_without_declared_weekly_windows_is_available_except_time_off():
    assert domain.availability_verdict(True, [], [], at(3, 14), at(3, 16)) == (True, None)
    off = [DatedWindow("off", at(3, 0), at(4, 0))]
    ok, reason = domain.availability_verdict(True, [], off, at(3, 14), at(3, 16))
    assert not ok and reason.startswith("time off")
    assert domain.availability_verdict(False, [], [], at(3, 14), at(3, 16))[0] is False


def test_free_windows_without_weekly_windows_are_all_but_time_off():
    off = [DatedWindow("off", at(3, 0), at(4, 0)), DatedWindow("extra", at(5, 9), at(5, 12))]
    assert domain.free_windows([], off, at(2, 12), at(6, 0)) == [(at(2, 12), at(3, 0)), (at(4, 0), at(6, 0))]
    assert domain.free_windows([MON_EVENING], off, at(2, 0), at(6, 0)) == [
        (at(2, 19), at(2, 21)),
        (at(5, 9), at(5, 12)),
    ]


HALF_HOURS = st.integers(min_value=0, max_value=48)


@st.composite
def availability(draw):
    """Weekly windows, dated windows and a duty in the week of 2026-03-02, on half hours."""
    weekly = []
    for weekday in draw(st.sets(st.integers(0, 6), max_size=4)):
        a, b = sorted(draw(st.tuples(HALF_HOURS, HALF_HOURS).filter(lambda t: t[0] != t[1])))
        weekly.append(WeeklyWindow(weekday, a * 30, b * 30))
    dated = []
    for kind in draw(st.lists(st.sampled_from(["off", "extra"]), max_size=3)):
        first = at(2, 0) + timedelta(minutes=30 * draw(st.integers(0, 7 * 48)))
        dated.append(DatedWindow(kind, first, first + timedelta(minutes=30 * draw(st.integers(1, 96)))))
    start = at(2, 0) + timedelta(minutes=30 * draw(st.integers(0, 7 * 48 - 1)))
    return weekly, dated, start, start + timedelta(minutes=30 * draw(st.integers(1, 12)))


@settings(max_examples=300, deadline=None)
@given(availability())
def test_a_span_of_free_windows_holds_a_duty_exactly_when_the_verdict_says_available(case):
    weekly, dated, start, end = case
    spans = domain.free_windows(weekly, dated, at(1, 0), at(11, 0))
    assert domain.covers(spans, start, end) == domain.availability_verdict(True, weekly, dated, start, end)[0]


# --- points ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "hours", "weekend", "late", "points"),
    [
        ("attended", 2, False, False, 20),
        ("attended", 2, True, False, 30),
        ("attended", 2, False, True, 40),
        ("attended", 2, True, True, 50),
        ("attended", 1.25, False, False, 13),  # 12.5 rounds half up
        ("attended", 0.5, True, False, 8),  # 7.5 rounds half up
        ("no_show", 2, False, True, 0),
        ("excused", 2, True, False, 0),
        ("attended", 0, False, True, 0),
    ],
)
def test_attendance_points(status, hours, weekend, late, points):
    assert domain.attendance_points(status, hours, weekend, late) == points


def test_default_points_of_manual_entries_and_corrections():
    assert domain.default_points(3) == 30
    assert domain.default_points(-1.5) == -15


# --- helpers -----------------------------------------------------------------------------------


def test_changed_fields_compares_lists_as_sets():
    before = {"name": "王芳", "teams": ["a", "b"], "grid_id": 3}
    assert domain.changed_fields(before, {"name": "王芳", "teams": ["b", "a"], "grid_id": 4}) == ["grid_id"]


def test_skill_family_matches_qualified_skills():
    assert domain.skill_matches(["first_aid", "tutoring:math"], "tutoring")
    assert domain.skill_matches(["tutoring:math"], "tutoring:math")
    assert not domain.skill_matches(["tutoring:math"], "tutoring:english")
    assert not domain.skill_matches(["first_aid_trainer"], "first_aid")


def test_rank_shares_places_on_ties():
    rows = [{"points": 50}, {"points": 40}, {"points": 40}, {"points": 10}]
    assert [r["rank"] for r in domain.rank(rows)] == [1, 2, 2, 4]


def test_minutes_round_trip():
    assert domain.parse_minute("19:30") == 1170
    assert domain.format_minute(domain.parse_minute("24:00")) == "24:00"


def test_phone_numbers_have_one_spelling():
    assert domain.normalize_phone("+8613812345678") == "13812345678"
    assert domain.normalize_phone("86 138-1234-5678") == "13812345678"
    assert domain.normalize_phone("13812345678") == "13812345678"
    assert domain.normalize_phone("025-8456 1234") == "02584561234"


# --- roster settings ---------------------------------------------------------------------------


def test_partners_are_other_active_volunteers_sorted_once_each():
    assert domain.check_partners(1, [7, 3, 7], {3: True, 7: True}) == [3, 7]
    assert domain.check_partners(1, [], {}) == []


@pytest.mark.parametrize(
    ("partners", "message"),
    [
        ([2, 1], "partners.1: a volunteer is not their own partner"),
        ([2, 99], "partners.1: no volunteer 99"),
        ([4], "partners.0: volunteer 4 is deactivated"),
        ([2, 3, 5, 6], "partners: at most 3, not 4"),
    ],
)
def test_partners_refused_name_the_place_in_the_list(partners, message):
    known = {2: True, 3: True, 4: False, 5: True, 6: True}
    with pytest.raises(PartnerInvalid) as error:
        domain.check_partners(1, partners, known)
    assert str(error.value) == message and error.value.message_zh


def test_times_of_day_run_from_morning_to_evening():
    assert domain.ordered_times(["evening", "morning", "evening"]) == ["morning", "evening"]


def test_a_volunteer_changes_their_cap_days_times_and_partners_but_not_their_target():
    assert {"max_duties_per_week", "preferred_days", "preferred_times", "partners"} <= domain.SELF_SERVICE_FIELDS
    assert not {"target_per_month", "teams", "skills", "grid_id"} & domain.SELF_SERVICE_FIELDS


class Caller:
    """The parts of ``guanyinli.identity.Identity`` the visibility rules ask."""

    def __init__(self, volunteer_id=None, organiser=False, viewer=False):
        self.volunteer_id, self.organiser, self.may_read_all = volunteer_id, organiser, organiser or viewer

    def acts_for(self, volunteer_id):
        return self.organiser or self.volunteer_id == volunteer_id


VIEW = {
    "id": 5,
    "grid_id": 6,
    "phone": "13900000005",
    "email": None,
    "max_duties_per_week": 2,
    "target_per_month": 6,
    "preferred_days": [1, 3],
    "preferred_times": ["evening"],
    "partners": [7],
}
SETTINGS = {k: VIEW[k] for k in domain.SETTINGS_FIELDS}


def test_roster_settings_are_shown_to_the_volunteer_their_grid_leader_organisers_and_viewers_only():
    def settings(view):
        return {k: view[k] for k in domain.SETTINGS_FIELDS}

    assert settings(domain.shown(Caller(5), VIEW, frozenset())) == SETTINGS
    assert settings(domain.shown(Caller(8), VIEW, frozenset({6}))) == SETTINGS  # their grid's leader
    assert settings(domain.shown(Caller(organiser=True), VIEW, frozenset())) == SETTINGS
    viewer = domain.shown(Caller(viewer=True), VIEW, frozenset())
    assert settings(viewer) == SETTINGS and viewer["phone"] is None
    other = domain.shown(Caller(8), VIEW, frozenset({7}))
    assert settings(other) == dict.fromkeys(domain.SETTINGS_FIELDS) and other["phone"] is None
