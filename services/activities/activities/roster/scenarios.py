"""Deterministic roster problems: the Guanyinli month (15 grids, about 300 volunteers of whom the patrol team
is a part, 28 days of evening patrols and weekend morning patrols), scaled copies, and a tighter month
in which grid 7 cannot be covered.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from .model import Problem, Rules, Shift, Volunteer

START = date(2026, 11, 30)  # a Monday
DAYS = 28
COLUMNS = 5  # grids are laid out in rows of five; neighbours share a side
EVENING = (time(19), time(21))
MORNING = (time(8), time(10))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌海波云飞鹏辉"


def grid_neighbours(grids: int) -> dict[int, frozenset[int]]:
    out = {}
    for g in range(1, grids + 1):
        row, col = divmod(g - 1, COLUMNS)
        near = set()
        if col > 0:
            near.add(g - 1)
        if col < COLUMNS - 1 and g + 1 <= grids:
            near.add(g + 1)
        if g - COLUMNS >= 1:
            near.add(g - COLUMNS)
        if g + COLUMNS <= grids:
            near.add(g + COLUMNS)
        out[g] = frozenset(near)
    return out


def patrol_shifts(grids: int, start: date = START, days: int = DAYS) -> tuple[Shift, ...]:
    shifts = []
    for d in range(days):
        day = start + timedelta(days=d)
        for g in range(1, grids + 1):
            if day.weekday() >= 5:
                shifts.append(_shift(g, day, "morning", MORNING))
            shifts.append(_shift(g, day, "evening", EVENING))
    return tuple(shifts)


def _shift(grid: int, day: date, kind: str, hours: tuple[time, time]) -> Shift:
    return Shift(
        id=f"g{grid:02d}-{day:%Y%m%d}-{kind}",
        grid=grid,
        start=datetime.combine(day, hours[0]),
        end=datetime.combine(day, hours[1]),
        min_patrollers=2,
        max_patrollers=3,
        leader_needed=kind == "evening",
        kind=kind,
    )


def guanyinli_month(scale: int = 1, seed: int = 7, start: date = START, days: int = DAYS) -> Problem:
    """About 300 x scale volunteers; per grid 4 leaders and 6 patrollers of the patrol team live there.

    Evening patrols (19:00-21:00) need 2..3 patrollers with a leader; weekend morning patrols (08:00-10:00)
    need 2..3 patrollers, no leader."""
    rng = random.Random(seed * 1000 + scale)
    grids = 15 * scale
    neighbours = grid_neighbours(grids)
    volunteers: list[Volunteer] = []
    n = 0

    def new_id() -> str:
        nonlocal n
        n += 1
        return f"v{n:05d}"

    for g in range(1, grids + 1):
        team = [
            _patroller(rng, new_id(), g, leader=k < 4, neighbours=neighbours, start=start, days=days) for k in range(10)
        ]
        volunteers.extend(_two_leaders_each_evening(rng, team, start, days))
    for _ in range(300 * scale - len(volunteers)):
        volunteers.append(Volunteer(id=new_id(), name=_name(rng), home_grid=rng.randint(1, grids), patrol=False))
    # a few pairs who asked to patrol together, within one home grid
    by_grid: dict[int, list[Volunteer]] = {}
    for v in volunteers:
        if v.patrol:
            by_grid.setdefault(v.home_grid, []).append(v)
    pairs = {}
    for g in rng.sample(sorted(by_grid), k=min(len(by_grid), 8 * scale)):
        a, b = rng.sample(by_grid[g], 2)
        pairs[a.id], pairs[b.id] = b.id, a.id
    volunteers = [replace(v, partners=frozenset({pairs[v.id]})) if v.id in pairs else v for v in volunteers]
    return Problem(
        volunteers=tuple(volunteers),
        shifts=patrol_shifts(grids, start, days),
        grid_neighbours=neighbours,
        rules=Rules(),
        grid_names={g: f"grid {g}" for g in range(1, grids + 1)},
    )


def _two_leaders_each_evening(rng, team: list[Volunteer], start: date, days: int) -> list[Volunteer]:
    """A grid's own leaders can lead every evening: two of them are free on each weekday, and absences or
    other duties never take away all of them on one evening."""
    leaders = [v for v in team if v.leader]
    for d in range(7):
        free = [v for v in leaders if (d, "evening") in v.availability]
        for v in rng.sample([v for v in leaders if v not in free], k=max(0, 2 - len(free))):
            i = team.index(v)
            team[i] = replace(v, availability=v.availability | {(d, "evening")})
    for offset in range(days):
        evening = datetime.combine(start + timedelta(days=offset), EVENING[0])
        leaders = [v for v in team if v.leader]
        free = [
            v
            for v in leaders
            if (evening.weekday(), "evening") in v.availability
            and not any(a <= evening < b for a, b in v.unavailable + v.duties)
        ]
        if not free:
            v = next(v for v in leaders if (evening.weekday(), "evening") in v.availability)
            team[team.index(v)] = replace(v, unavailable=(), duties=())
    return team


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _patroller(rng, vid, grid, leader, neighbours, start, days) -> Volunteer:
    evenings = rng.sample(range(7), k=rng.choice((4, 5, 5, 6, 6, 7, 7)))
    availability = {(d, "evening") for d in evenings}
    availability |= {(d, "morning") for d in (5, 6) if rng.random() < 0.6}
    extra = frozenset()
    if neighbours[grid] and rng.random() < 0.5:
        extra = frozenset({rng.choice(sorted(neighbours[grid]))})
    unavailable = ()
    if rng.random() < 0.3:
        first = start + timedelta(days=rng.randrange(days))
        length = rng.randint(2, 6)
        unavailable = ((datetime.combine(first, time(0)), datetime.combine(first + timedelta(days=length), time(0))),)
    duties = []
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        day = start + timedelta(days=rng.randrange(days))
        duties.append((datetime.combine(day, time(18, 30)), datetime.combine(day, time(20, 30))))
    prefs: dict = {}
    roll = rng.random()
    if roll < 0.3:
        prefs["preferred_days"] = frozenset(rng.sample(range(7), k=rng.randint(3, 5)))
    elif roll < 0.45:
        prefs["preferred_kinds"] = frozenset({"evening"})
    return Volunteer(
        id=vid,
        name=_name(rng),
        home_grid=grid,
        leader=leader,
        grids=extra,
        availability=frozenset(availability),
        unavailable=unavailable,
        duties=tuple(duties),
        max_per_week=4 if leader else None,
        max_shifts=6 if rng.random() < 0.08 else None,
        target=rng.randint(4, 8) if (not leader and rng.random() < 0.1) else None,
        **prefs,
    )


def home_only(problem: Problem) -> Problem:
    """The same problem with nobody allowed to patrol a grid other than their home grid (as the service
    rosters unless neighbour_grids is asked for)."""
    return replace(problem, volunteers=tuple(replace(v, grids=frozenset()) for v in problem.volunteers))


def tight_month(seed: int = 7) -> Problem:
    """The demo month after most of grid 7's patrol team left: 1 leader and 2 patrollers remain there,
    nobody else covers grid 7, and on Saturday 5 December the leader and one patroller are away.
    """
    base = guanyinli_month(1, seed)
    home7 = [v for v in base.volunteers if v.patrol and v.home_grid == 7]
    keep_leader = next(v for v in home7 if v.leader)
    keep = [keep_leader] + [v for v in home7 if not v.leader][:2]
    away = (datetime(2026, 12, 5), datetime(2026, 12, 6))
    volunteers = []
    for v in base.volunteers:
        if v.home_grid == 7 and v.patrol and v not in keep:
            v = replace(v, patrol=False)
        elif v.patrol and v.home_grid != 7 and 7 in v.grids:
            v = replace(v, grids=v.grids - {7})
        if v is keep_leader or v is keep[1]:
            v = replace(v, unavailable=v.unavailable + (away,))
        elif v is keep[2]:
            v = replace(v, availability=None, unavailable=(), duties=())
        volunteers.append(v)
    return replace(base, volunteers=tuple(volunteers))
