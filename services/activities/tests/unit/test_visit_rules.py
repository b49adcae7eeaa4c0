"""Visits planned at each person's frequency, consent before planning, overdue days."""

from datetime import date, datetime, timedelta

from activities import visit_rules
from activities.visit_rules import Standing, due_dates, next_due, overdue_days, plannable
from guanyinli.timeutil import TZ

D = date(2026, 3, 2)


def days(*offsets):
    return [date.fromordinal(D.toordinal() + o) for o in offsets]


def test_never_visited_is_due_at_the_start_then_every_frequency():
    assert due_dates(7, None, [], D, days(28)[0]) == days(0, 7, 14, 21)


def test_the_cadence_runs_on_from_the_last_visit():
    assert due_dates(14, days(-3)[0], [], D, days(30)[0]) == days(11, 25)


def test_overdue_at_the_start_is_due_on_the_start():
    assert due_dates(7, days(-20)[0], [], D, days(10)[0]) == days(0, 7)


def test_planning_the_same_window_again_adds_nothing():
    first = due_dates(7, None, [], D, days(28)[0])
    assert due_dates(7, None, first, D, days(28)[0]) == []


def test_a_longer_window_adds_only_the_days_after_the_plan():
    first = due_dates(7, None, [], D, days(14)[0])
    assert due_dates(7, None, first, D, days(28)[0]) == days(14, 21)


def test_a_visit_planned_long_before_the_window_does_not_hold_it_back():
    assert due_dates(30, None, days(-40), D, days(5)[0]) == days(0)


def test_a_visit_over_but_not_yet_marked_made_is_not_planned_again_the_next_day():
    assert due_dates(7, days(-14)[0], days(-1), D, days(14)[0]) == days(6, 13)


def test_a_visit_made_after_the_last_planned_one_moves_the_cadence():
    assert due_dates(7, days(3)[0], days(0), D, days(20)[0]) == days(10, 17)


def test_next_due_is_the_consent_day_when_never_visited():
    assert next_due(14, None, D) == D
    assert next_due(14, days(1)[0], D) == days(15)[0]


def test_overdue_days_count_from_the_day_after_the_due_day():
    assert overdue_days(D, D) == 0
    assert overdue_days(D, days(3)[0]) == 3
    assert overdue_days(D, days(-3)[0]) == 0


def test_no_consent_no_planning():
    assert not plannable(Standing("active", None, 7))
    assert not plannable(Standing("withdrawn", datetime(2026, 1, 1), 7))
    assert plannable(Standing("active", datetime(2026, 1, 1), 7))


def test_a_visit_is_missed_once_over_unless_made_attended_or_cancelled():
    at = datetime(2026, 12, 7, 16, tzinfo=TZ)
    over, coming = at - timedelta(minutes=1), at + timedelta(minutes=1)
    assert visit_rules.missed("scheduled", over, done=False, attended=False, now=at)
    assert visit_rules.missed("scheduled", at, done=False, attended=False, now=at)
    assert not visit_rules.missed("scheduled", coming, done=False, attended=False, now=at)
    assert not visit_rules.missed("scheduled", over, done=True, attended=False, now=at)
    assert not visit_rules.missed("scheduled", over, done=False, attended=True, now=at)
    assert not visit_rules.missed("cancelled", over, done=False, attended=False, now=at)
