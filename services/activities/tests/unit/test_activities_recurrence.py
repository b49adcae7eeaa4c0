"""Recurrence expansion: RRULE in local time, EXDATE, windows and bad rules."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        ("FREQ=HOURLY;COUNT=3", "FREQ must be"),
        ("FREQ=SECONDLY", "FREQ must be"),
        (
            "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE=" + ",".join(map(str, range(60))),
            "BYHOUR is not allowed",
        ),
        ("FREQ=WEEKLY;BYDAY=SA;BYHOUR=9", "BYHOUR is not allowed"),
        ("FREQ=DAILY;BYMINUTE=0,30", "BYMINUTE is not allowed"),
        ("FREQ=DAILY;BYSECOND=0", "BYSECOND is not allowed"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be at least 1"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "no occurrence"),
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


# --- at most one occurrence a day ------------------------------------------------------------

ONE_DAY = timedelta(days=1)


@pytest.mark.parametrize(
    "rule, message",
    [
        ("FREQ=DAILY;BYHOUR=0,1,2", "BYHOUR has 3 values"),
        ("FREQ=WEEKLY;BYMINUTE=0,15,30,45", "BYMINUTE has 4 values"),
        ("FREQ=HOURLY", "FREQ must be DAILY or longer"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be at least 1"),
    ],
)
def test_a_stored_rule_finer_than_daily_is_a_recurrence_error_when_expanded(rule, message):
    # Stored before the rule was checked at creation: expanding it is refused, typed, at once.
    far = SAT_9 + timedelta(days=3000)
    with pytest.raises(recurrence.RecurrenceError, match=message):
        recurrence.original_starts(SAT_9, rule, HOURS_2, far, far + timedelta(days=400))
    with pytest.raises(recurrence.RecurrenceError, match=message):
        recurrence.is_occurrence(SAT_9, rule, far)


def test_a_stored_rule_is_usable_when_dateutil_parses_it_to_at_most_daily():
    assert recurrence.usable(SAT_9, None) and recurrence.usable(SAT_9, "FREQ=WEEKLY;BYDAY=SA")
    assert recurrence.usable(SAT_9, "FREQ=DAILY;BYHOUR=9")  # refused when created today, harmless once stored
    for rule in ("FREQ=DAILY;BYHOUR=0,1,2", "FREQ=DAILY;INTERVAL=0", "FREQ=MINUTELY", "FREQ=DAILY;BYDAY=XX"):
        assert not recurrence.usable(SAT_9, rule)


def test_an_expansion_past_year_9999_ends_without_error():
    far = datetime(9990, 1, 1, tzinfo=TZ)
    assert recurrence.original_starts(SAT_9, "FREQ=YEARLY;INTERVAL=3000", HOURS_2, far, far + timedelta(days=400)) == []


def test_two_starts_on_one_day_are_refused_while_expanding():
    starts = iter([SAT_9, SAT_9 + ONE_DAY, SAT_9 + ONE_DAY + timedelta(hours=3)])
    with pytest.raises(recurrence.RecurrenceError, match="more than one occurrence a day"):
        list(recurrence._expanded(starts))


def test_a_date_error_of_dateutil_while_expanding_is_a_recurrence_error():
    def overflowing():
        yield SAT_9
        raise OverflowError("date value out of range")

    with pytest.raises(recurrence.RecurrenceError, match="cannot be expanded"):
        list(recurrence._expanded(overflowing()))


DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
# Month days up to 28, so no combination leaves dateutil searching to the year 9999 for a start.
PARTS = {
    "FREQ": st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "MINUTELY"]),
    "INTERVAL": st.integers(0, 4).map(str),
    "BYDAY": st.lists(st.sampled_from(DAYS + ["1MO", "-1FR", "2SA"]), min_size=1, max_size=4).map(",".join),
    "BYMONTHDAY": st.lists(st.integers(-28, 28).filter(bool), min_size=1, max_size=3).map(
        lambda v: ",".join(map(str, v))
    ),
    "BYMONTH": st.lists(st.integers(1, 12), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    "BYSETPOS": st.lists(st.integers(-3, 3).filter(bool), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    "BYHOUR": st.lists(st.integers(0, 23), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    "BYMINUTE": st.lists(st.integers(0, 59), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    "COUNT": st.integers(1, 50).map(str),
}


@st.composite
def rules(draw):
    names = draw(st.lists(st.sampled_from(sorted(set(PARTS) - {"FREQ"})), unique=True, max_size=4))
    return ";".join(f"{name}={draw(PARTS[name])}" for name in ["FREQ", *names])


@settings(max_examples=300, deadline=None)
@given(rules())
def test_an_accepted_rule_never_yields_two_occurrences_on_one_day(rule):
    """Whatever the parts, a rule is refused or dateutil expands it to at most one start a local day."""
    try:
        stored = recurrence.validate(SAT_9, rule)
    except recurrence.RecurrenceError:
        return
    parsed = recurrence._rule(SAT_9, stored)
    starts = parsed.between(SAT_9, SAT_9 + timedelta(days=3 * 366), inc=True)
    days = [s.date() for s in starts]
    assert len(days) == len(set(days))
    assert all(s.timetz() == SAT_9.timetz() for s in starts)
