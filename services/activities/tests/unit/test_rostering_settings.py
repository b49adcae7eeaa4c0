"""A volunteer's roster settings (volunteers service) as the solver's input: caps, targets for the
roster's period, preferred days and times of day, partners."""

from datetime import datetime

import pytest

from activities import domain
from activities.roster import Rules, Shift, shift_kind
from activities.rostering import problem_from
from guanyinli.timeutil import TZ

SHIFT = Shift("1", 3, datetime(2026, 12, 7, 19), datetime(2026, 12, 7, 21), 2, 3, True, "evening")


def person(vid: int, **settings) -> dict:
    return {"id": vid, "name": f"队员{vid}", "grid_id": 3, "skills": [], **settings}


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=TZ)


@pytest.mark.parametrize(
    ("start", "end", "per_month", "target"),
    [
        (at(3, 1), at(4, 1), 8, 8),  # a whole month: the target itself
        (at(2, 1), at(3, 1), 8, 8),  # a short month too
        (at(3, 2), at(3, 9), 8, 2),  # a week of 31 days: 1.8
        (at(3, 16), at(4, 16), 10, 10),  # half of March and half of April: 5.16 + 5.0
        (at(3, 1), at(3, 15), 3, 1),  # 1.35
        (at(3, 1), at(5, 1), 6, 12),
        (at(3, 1), at(3, 15), 0, 0),
    ],
)
def test_a_target_a_month_is_the_share_of_each_month_the_roster_covers(start, end, per_month, target):
    assert domain.period_target(per_month, start, end) == target


def test_no_target_stays_none():
    assert domain.period_target(None, at(3, 1), at(4, 1)) is None


def test_a_shifts_time_of_day_is_that_of_its_start():
    assert [shift_kind(datetime(2026, 3, 2, h)) for h in (6, 11, 12, 17, 18, 23)] == [
        "morning",
        "morning",
        "afternoon",
        "afternoon",
        "evening",
        "evening",
    ]


def test_the_problem_carries_each_volunteers_settings():
    team = [
        person(
            1,
            max_duties_per_week=1,
            target_per_month=4,
            preferred_days=[5, 6],
            preferred_times=["morning", "afternoon"],
            partners=[2, 99],  # 99 is not in the patrol team: left out
        ),
        person(2, max_duties_per_week=9, partners=[]),
        person(3),  # no settings at all (a record from before they existed)
    ]
    problem = problem_from([SHIFT], team, {}, {}, [], Rules(max_per_week=3), period=(at(3, 2), at(3, 9)))
    one, two, three = problem.volunteers
    assert (one.max_per_week, one.target) == (1, 1)  # 4 a month: a week of March is 0.9
    assert one.preferred_days == {5, 6} and one.preferred_kinds == {"morning", "afternoon"}
    assert one.partners == {"2"}
    assert two.max_per_week == 3  # the roster's cap is the smaller
    assert (three.max_per_week, three.target, three.preferred_days, three.partners) == (None, None, set(), set())
    without_period = problem_from([SHIFT], team, {}, {}, [], Rules())
    assert without_period.volunteers[0].target is None
