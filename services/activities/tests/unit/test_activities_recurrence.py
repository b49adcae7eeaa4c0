"""Recurrence expansion: RRULE in local time, EXDATE, windows and bad rules."""

from datetime import datetime, timedelta

import pytest

from activities import recurrence
from guanyinli.timeutil import TZ

SAT_9 = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)  # a Saturday
HOURS_2 = timedelta(hours=2)


def test_weekend_rule_expands_saturdays_and_sundays_in_local_time():
    starts = recurrence.original_starts(SAT_9, "FREQ=WEEKLY;BYDAY=SA,SU", HOURS_2, SAT_9, SAT_9 + timedelta(days=14))
    assert [s.strftime("%a %d %H:%M") for s in starts] == [
        "Sat 05 09:00",
        "Sun 06 09:00",
        "Sat 12 09:00",
        "Sun 13 09:00",
    ]
    assert all(s.utcoffset() == timedelta(hours=8) for s in starts)


def test_exdate_is_skipped():
    ex = {datetime(2026, 12, 6, 9, 0, tzinfo=TZ)}
    starts = recurrence.original_starts(SAT_9, "FREQ=WEEKLY;BYDAY=SA,SU", HOURS_2, SAT_9, SAT_9 + timedelta(days=7), ex)
    assert [s.day for s in starts] == [5]


def test_occurrence_running_into_the_window_is_included_and_one_ending_at_its_start_is_not():
    window_start = SAT_9 + timedelta(hours=1)
    assert recurrence.original_starts(SAT_9, None, HOURS_2, window_start, window_start + HOURS_2) == [SAT_9]
    assert recurrence.original_starts(SAT_9, None, HOURS_2, SAT_9 + HOURS_2, SAT_9 + 2 * HOURS_2) == []


def test_date_only_until_includes_that_local_day():
    starts = recurrence.original_starts(SAT_9, "FREQ=DAILY;UNTIL=20261207", HOURS_2, SAT_9, SAT_9 + timedelta(days=30))
    assert [s.day for s in starts] == [5, 6, 7]


@pytest.mark.parametrize(
    "rule, message",
    [
        ("FREQ=MINUTELY", "FREQ must be"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20261231", "COUNT and UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T000000", "UTC"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a valid RRULE"),
    ],
)
def test_bad_rules_are_refused(rule, message):
    with pytest.raises(recurrence.RecurrenceError, match=message):
        recurrence.validate(SAT_9, rule)


def test_prefix_and_case_are_normalised():
    assert recurrence.validate(SAT_9, "rrule:freq=weekly;byday=sa") == "FREQ=WEEKLY;BYDAY=SA"
    assert recurrence.validate(SAT_9, "  ") is None


def test_is_occurrence():
    assert recurrence.is_occurrence(SAT_9, "FREQ=WEEKLY", SAT_9 + timedelta(days=7))
    assert not recurrence.is_occurrence(SAT_9, "FREQ=WEEKLY", SAT_9 + timedelta(days=8))
    assert recurrence.is_occurrence(SAT_9, None, SAT_9)
