"""The demo generator: deterministic, realistic, valid, and with a patrol team big enough for a month."""

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest

from guanyinli.schemas import load
from guanyinli.timeutil import TZ
from volunteers import demo, domain, schemas
from volunteers.structure import ALLIANCE_CODES, PATROL_LEADER, PATROL_TEAM, TEAM_CODES, grid_ids

TODAY = date(2026, 3, 1)


@pytest.fixture(scope="module")
def volunteers():
    return demo.generate(today=TODAY)


def test_generation_is_deterministic(volunteers):
    assert demo.generate(today=TODAY) == volunteers
    assert demo.generate(seed=1, today=TODAY) != volunteers


def test_about_300_spread_over_teams_grids_alliances(volunteers):
    assert 280 <= len(volunteers) <= 320
    assert len({v.phone for v in volunteers}) == len({v.name for v in volunteers}) == len(volunteers)
    assert set(Counter(t for v in volunteers for t in v.teams)) == set(TEAM_CODES)
    assert set(Counter(v.grid_id for v in volunteers)) == set(grid_ids())
    assert set(Counter(v.alliance for v in volunteers)) == set(ALLIANCE_CODES)
    leaders = sum(PATROL_LEADER in v.skills for v in volunteers)
    assert 0.17 <= leaders / len(volunteers) <= 0.25
    roles = Counter((v.grid_id, v.grid_role) for v in volunteers if v.grid_role)
    assert all(roles[(g, "leader")] == 1 and roles[(g, "member")] >= 1 for g in grid_ids())


def test_every_demo_volunteer_passes_the_service_schemas(volunteers):
    for v in volunteers:
        fields = {
            k: getattr(v, k) for k in ("name", "phone", "email", "teams", "grid_id", "alliance", "skills", "language")
        }
        load(schemas.CreateVolunteerIn, {k: x for k, x in fields.items() if x is not None})
        loaded = load(schemas.SetAvailabilityIn, {"volunteer_id": 1, "weekly": v.weekly, "dated": v.dated})
        weekly = [
            domain.WeeklyWindow(w["weekday"], domain.parse_minute(w["start"]), domain.parse_minute(w["end"]))
            for w in loaded["weekly"]
        ]
        domain.check_no_overlap(weekly, [domain.DatedWindow(**d) for d in loaded["dated"]])


def test_availability_is_evenings_and_weekends(volunteers):
    starts = Counter((w["weekday"] >= 5, w["start"]) for v in volunteers for w in v.weekly)
    evenings = sum(n for (_, start), n in starts.items() if start >= "18:00")
    weekend_mornings = sum(n for (weekend, start), n in starts.items() if weekend and start < "12:00")
    assert evenings > 0.5 * sum(starts.values()) and weekend_mornings > 100


def _shifts(grid_start: date, days: int = 28):
    for d in range(days):
        day = grid_start + timedelta(days=d)
        if day.weekday() >= 5:
            yield datetime.combine(day, time(8), TZ), datetime.combine(day, time(10), TZ)
        yield datetime.combine(day, time(19), TZ), datetime.combine(day, time(21), TZ)


def greedy_patrol_roster(volunteers, grid: int, first_day: date, max_per_week: int = 3, rest_hours: int = 12):
    """Shifts a simple greedy leaves uncovered (two patrollers, one a leader; weekly cap; rest between).

    Week by week, the shifts with the fewest leaders available are filled first. A greedy can only
    under-estimate what a solver covers, so no gap here means the month is coverable.
    """
    patrol = [v for v in volunteers if v.grid_id == grid and PATROL_TEAM in v.teams]
    end = datetime.combine(first_day + timedelta(days=28), time(0), TZ)
    windows = {}
    for v in patrol:
        weekly = [
            domain.WeeklyWindow(w["weekday"], domain.parse_minute(w["start"]), domain.parse_minute(w["end"]))
            for w in v.weekly
        ]
        dated = [domain.DatedWindow(**d) for d in v.dated]
        windows[v.key] = domain.expand(weekly, dated, datetime.combine(first_day, time(0), TZ), end)
    per_week: Counter = Counter()
    total: Counter = Counter()
    taken: dict[str, list] = {v.key: [] for v in patrol}
    rest = timedelta(hours=rest_hours)
    uncovered = []

    def free(v, start, finish):
        week = (start.date() - first_day).days // 7
        rested = all(start - e >= rest or s - finish >= rest for s, e in taken[v.key])
        return per_week[(v.key, week)] < max_per_week and rested and domain.covers(windows[v.key], start, finish)

    shifts = list(_shifts(first_day))
    for week in range(4):
        todo = [s for s in shifts if (s[0].date() - first_day).days // 7 == week]
        while todo:
            todo.sort(key=lambda s: (sum(PATROL_LEADER in v.skills and free(v, *s) for v in patrol), s[0]))
            start, finish = todo.pop(0)
            candidates = sorted((v for v in patrol if free(v, start, finish)), key=lambda v: (total[v.key], v.key))
            leader = next((v for v in candidates if PATROL_LEADER in v.skills), None)
            others = sorted(
                (v for v in candidates if v is not leader),
                key=lambda v: (PATROL_LEADER in v.skills, total[v.key], v.key),
            )
            if leader is None or not others:
                uncovered.append(start)
                continue
            for v in (leader, others[0]):
                per_week[(v.key, week)] += 1
                total[v.key] += 1
                taken[v.key].append((start, finish))
    return sorted(uncovered)


@pytest.mark.parametrize("today", [TODAY, date(2026, 11, 25)])
def test_a_month_of_patrols_per_grid_is_coverable(today):
    volunteers = demo.generate(today=today)  # time off is placed after `today`
    first_monday = today + timedelta(days=(7 - today.weekday()) % 7)
    gaps = {g: greedy_patrol_roster(volunteers, g, first_monday) for g in grid_ids()}
    assert {g: len(missing) for g, missing in gaps.items() if missing} == {}
