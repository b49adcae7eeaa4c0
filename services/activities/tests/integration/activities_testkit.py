"""Helpers of the activities integration tests: caller identities and local times."""

from __future__ import annotations

from datetime import datetime, timedelta

from guanyinli.timeutil import now

ORGANISER = {"volunteer_id": 9000, "roles": ["organiser"], "name": "网格长 王芳"}

# A weekly elderly visit of grid 9 with its private details (create_activity's fields, but ``start``).
ELDERLY_VISIT = {
    "title": "探访独居老人",
    "kind": "elderly_visit",
    "grid_id": 9,
    "courtyard": "观音里5号院",
    "duration_minutes": 60,
    "rrule": "FREQ=WEEKLY;COUNT=4",
    "visited_person": "张桂兰",
    "private_address": "观音里5号院2栋302室",
    "health_notes": "糖尿病, 行动不便; 需提醒服药",
}


class TestClock:
    """The activities service's clock (``self.clock``): real time until a test sets it."""

    __test__ = False

    def __init__(self):
        self.current: datetime | None = None

    def now(self) -> datetime:
        return self.current if self.current is not None else now()

    def __call__(self) -> datetime:
        return self.now()

    def set(self, moment: datetime | None) -> None:
        self.current = moment


def as_volunteer(volunteer_id: int) -> dict:
    return {"volunteer_id": volunteer_id, "roles": ["volunteer"]}


def at(days: int, hour: int, minute: int = 0) -> datetime:
    """A local time ``days`` from today (Asia/Shanghai)."""
    base = now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return base.replace(hour=hour, minute=minute)


def next_monday() -> datetime:
    """00:00 of next Monday (Asia/Shanghai), one to seven days ahead: a week of tests from it is one ISO
    week, so weekly caps fall alike whatever day the tests run."""
    today = now().replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 - today.weekday())


def iso(dt: datetime) -> str:
    return dt.isoformat()
