"""Varied months of patrols in the `patrol-roster/1` format (docs: ROSTER-FORMAT.md), each made from a MonthSpec
and its seed alone, and FAMILY, the fixed months that benchmark tables and best-known files name.

    python -m activities.roster.generate NAME... | --all  [--out DIR]    one JSON file per month, NAME.json
    python -m activities.roster.generate --list                          the family as a table

The layout: grids 1..G on a ring (or a line); a volunteer lives in a home grid and may patrol the grids within
`reach` of it. A grid that cannot cover itself (one of the 1 - home_cover share) has fewer residents, who are
seldom free on two weekdays of their own, and in every week one of its shifts has fewer residents available
than its minimum: visitors are needed there, which costs off-home assignments.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict, deque
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

FORMAT = "patrol-roster/1"
ZONE = ZoneInfo("Asia/Shanghai")
ALL = "all"  # reach: every grid

EVENING = (time(19), time(21))  # every day
MORNING = (time(8), time(10))  # Saturdays and Sundays
AFTERNOONS = ((time(14), time(17)), (time(14), time(18)))  # a 3 h or a 4 h one, where a day has one
DUSK = (time(17), time(20))  # overlaps the evening and the 4 h afternoon

THIN = 0.4  # residents of a grid that cannot cover itself, against 1 for one that can
HARD_RESIDENTS = 0.3  # residents of a hard grid, against its kind's usual
HARD_DENSITY = 0.5  # how often a hard grid's residents are free, against the month's density
BLIND = 0.1  # how often a visited grid's residents are free on its two blind weekdays, against usual
SPREAD = (0.5, 1.5)  # one volunteer's density is the month's times a factor drawn from this range
MARGIN = 1  # at each slot, a shift can have this many more leaders (if it needs any) and patrollers than it needs


@dataclass(frozen=True)
class MonthSpec:
    """What a month is made of; `month` draws the rest from `seed`."""

    name: str
    seed: int
    volunteers: int  # 30..3000
    grids: int
    days: int = 28
    start: date = date(2027, 1, 4)  # a Monday
    leader_share: float = 0.3  # 0.1..0.5 of the volunteers are leaders
    density: float = 0.4  # chance a volunteer is free at a given time slot
    home_cover: float = 1.0  # share of grids whose residents are meant to cover them alone
    reach: int | str = 1  # grids each side of home a volunteer may patrol, or ALL
    layout: str = "ring"  # or "line": the end grids have fewer neighbours
    mornings: bool = True  # weekend mornings 08:00-10:00 beside the evenings 19:00-21:00
    morning_leaders: bool = True  # False: mornings need no leader, whatever `leaders` says
    afternoons: float = 0.0  # chance a grid has a 14:00-17:00 or 14:00-18:00 shift on a day
    dusks: float = 0.0  # chance a grid has a 17:00-20:00 shift on a day
    crew: tuple[tuple[int, int, int], ...] = ((2, 3, 1),)  # (min, max, weight) per shift
    leaders: tuple[tuple[int, int], ...] = ((1, 1),)  # (leader_required, weight) per shift
    hard_grids: int = 0  # grids with few residents, seldom free
    own_caps: float = 0.0  # share of volunteers with their own max_per_week, 1 or 3
    max_per_week: int = 2
    min_rest_hours: int = 24
    drop: float = 0.1  # chance a shift away from home is left out when its volunteer is free at its time
    infeasible: str = ""  # why no roster meets the hard rules: "leaders", "places" or "local"; "" if none known

    def __post_init__(self) -> None:
        problems = []
        if not 30 <= self.volunteers <= 3000:
            problems.append("volunteers: 30..3000")
        if not 1 <= self.grids <= 999:
            problems.append("grids: 1..999")
        if self.days < 1:
            problems.append("days: at least 1")
        if self.start.weekday() != 0:
            problems.append("start: a Monday")
        if not 0.1 <= self.leader_share <= 0.5:
            problems.append("leader_share: 0.1..0.5")
        if not 0 < self.density <= 1:
            problems.append("density: above 0, at most 1")
        if not 0 <= self.home_cover <= 1:
            problems.append("home_cover: 0..1")
        if not (self.reach == ALL or (isinstance(self.reach, int) and self.reach >= 0)):
            problems.append(f"reach: a number of grids or {ALL!r}")
        if self.layout not in ("ring", "line"):
            problems.append("layout: ring or line")
        if not 0 <= self.hard_grids <= self.grids:
            problems.append("hard_grids: 0..grids")
        if not self.crew or any(not 1 <= low <= high for low, high, _ in self.crew):
            problems.append("crew: (min, max, weight) with 1 <= min <= max")
        if problems:
            raise ValueError(f"{self.name}: " + "; ".join(problems))


@dataclass(frozen=True)
class _Shift:
    id: str
    grid: int
    start: datetime
    end: datetime
    min: int
    max: int
    leaders: int


def neighbours(spec: MonthSpec) -> dict[int, tuple[int, ...]]:
    """The grids a resident of each grid may patrol besides their own, nearest first."""
    grids = range(1, spec.grids + 1)
    if spec.reach == ALL:
        return {g: tuple(h for h in grids if h != g) for g in grids}
    out = {}
    for g in grids:
        near: list[int] = []
        for k in range(1, spec.reach + 1):
            for h in (g - k, g + k):
                if spec.layout == "ring":
                    h = (h - 1) % spec.grids + 1
                if 1 <= h <= spec.grids and h != g and h not in near:
                    near.append(h)
        out[g] = tuple(near)
    return out


def cover_grids(spec: MonthSpec) -> list[int]:
    """The grids meant to cover themselves, spread evenly so that each other grid has one near (on a line too)."""
    n = round(spec.home_cover * spec.grids)
    return sorted({1 + int((i + 0.5) * spec.grids / n) for i in range(n)})


def _shifts(spec: MonthSpec, rng: random.Random) -> list[_Shift]:
    """The month's shifts by start, then grid; drawn first, so a spec's shifts need no volunteers."""
    crews = [c[:2] for c in spec.crew]
    crew_weights = [c[2] for c in spec.crew]
    needs = [n for n, _ in spec.leaders]
    need_weights = [w for _, w in spec.leaders]
    width = max(2, len(str(spec.grids)))
    out = []
    for d in range(spec.days):
        day = spec.start + timedelta(days=d)
        patterns = []  # (hours, chance a grid has it)
        if spec.mornings and day.weekday() >= 5:
            patterns.append((MORNING, 1.0))
        if spec.afternoons:
            patterns.append((rng.choice(AFTERNOONS), spec.afternoons))
        if spec.dusks:
            patterns.append((DUSK, spec.dusks))
        patterns.append((EVENING, 1.0))
        for (begin, finish), chance in patterns:
            for g in range(1, spec.grids + 1):
                if chance < 1 and rng.random() >= chance:
                    continue
                low, high = rng.choices(crews, crew_weights)[0]
                led = spec.morning_leaders or (begin, finish) != MORNING
                need = rng.choices(needs, need_weights)[0] if led else 0
                out.append(
                    _Shift(
                        id=f"g{g:0{width}d}-{day.isoformat()}-{begin.hour:02d}",
                        grid=g,
                        start=datetime.combine(day, begin, ZONE),
                        end=datetime.combine(day, finish, ZONE),
                        min=low,
                        max=high,
                        leaders=min(high, need),
                    )
                )
    return out


def _apportion(total: int, weights: dict[int, float]) -> dict[int, int]:
    """`total` split in proportion to the weights, largest remainders first (ties to the lower key)."""
    whole = sum(weights.values())
    exact = {k: total * w / whole for k, w in weights.items()}
    counts = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def month(spec: MonthSpec) -> dict:
    """The instance of one month, as its JSON object; the same spec gives the same object."""
    rng = random.Random(spec.seed)
    shifts = _shifts(spec, rng)
    near = neighbours(spec)
    covering = set(cover_grids(spec))
    visited = {g for g in range(1, spec.grids + 1) if g not in covering}
    hard = set(rng.sample(range(1, spec.grids + 1), spec.hard_grids))

    weights = {}
    for g in range(1, spec.grids + 1):
        weights[g] = (1.0 if g in covering or not covering else THIN) * (HARD_RESIDENTS if g in hard else 1.0)
    residents = _apportion(spec.volunteers, weights)
    homes = [g for g, n in residents.items() for _ in range(n)]
    rng.shuffle(homes)
    # each grid has its share of the leaders: drawn from everyone, a grid short of leaders would make a month
    # infeasible by chance
    by_grid = defaultdict(list)
    for i, home in enumerate(homes):
        by_grid[home].append(i)
    leaders = set()
    for g, n in _apportion(round(spec.leader_share * spec.volunteers), residents).items():
        leaders.update(rng.sample(by_grid[g], n))
    caps = {i: rng.choice((1, 3)) for i in rng.sample(range(spec.volunteers), round(spec.own_caps * spec.volunteers))}
    blind = {g: set(rng.sample(range(7), 2)) for g in sorted(visited)}

    slots: dict[tuple[datetime, datetime], dict[int, int]] = defaultdict(dict)  # grid -> shift position
    for pos, s in enumerate(shifts):
        slots[s.start, s.end][s.grid] = pos
    available: list[set[int]] = []
    for home in homes:
        density = spec.density * (HARD_DENSITY if home in hard else 1.0) * rng.uniform(*SPREAD)
        mine = set()
        for (start, _), here in slots.items():
            chance = density * (BLIND if start.weekday() in blind.get(home, ()) else 1.0)
            if rng.random() >= min(chance, 0.95):
                continue
            for g in (home, *near[home]):
                if g in here and (g == home or rng.random() >= spec.drop):
                    mine.add(here[g])
        available.append(mine)
    _leave_short(spec, rng, shifts, by_grid, available, blind)
    _fill(rng, shifts, near, visited, homes, leaders, available)

    return {
        "format": FORMAT,
        "name": spec.name,
        "timezone": ZONE.key,
        "generator": {
            "program": "activities.roster.generate",
            "spec": {
                **asdict(spec),
                "start": spec.start.isoformat(),
                "crew": [list(c) for c in spec.crew],
                "leaders": [list(n) for n in spec.leaders],
            },
            "cover_grids": sorted(covering),
            "hard_grids": sorted(hard),
        },
        "rules": {"max_per_week": spec.max_per_week, "min_rest_hours": spec.min_rest_hours},
        "objective": {"fairness_weight": 100, "off_home_weight": 1},
        "grids": [{"id": g, "name": f"grid {g}"} for g in range(1, spec.grids + 1)],
        "shifts": [
            {
                "id": s.id,
                "grid": s.grid,
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "min": s.min,
                "max": s.max,
                "leader_required": s.leaders,
            }
            for s in shifts
        ],
        "volunteers": [
            {
                "id": f"v{i + 1:04d}",
                "name": f"Volunteer {i + 1}",
                "leader": i in leaders,
                "home_grid": home,
                "max_per_week": caps.get(i),
                "available": [shifts[pos].id for pos in sorted(available[i])],
            }
            for i, home in enumerate(homes)
        ],
    }


def _leave_short(spec, rng, shifts, residents, available, blind) -> None:
    """In every week, one shift of each visited grid (those with blind days; on one of them where it has a shift
    then) gets fewer residents available than its minimum, so that no visited grid can be covered by its own."""
    weekly = defaultdict(list)
    for pos, s in enumerate(shifts):
        weekly[s.grid, (s.start.date() - spec.start).days // 7].append(pos)
    for (g, _), positions in sorted(weekly.items()):
        if g not in blind:
            continue
        on_blind = [p for p in positions if shifts[p].start.weekday() in blind[g]]
        pos = rng.choice(on_blind or positions)
        free = [i for i in residents[g] if pos in available[i]]
        keep = set(rng.sample(free, min(len(free), shifts[pos].min - 1)))
        for i in free:
            if i not in keep:
                available[i].discard(pos)


def _fill(rng, shifts, near, visited, homes, leaders, available) -> None:
    """At every time slot, each shift can be given MARGIN more leaders (where it needs some) and MARGIN more
    patrollers than it needs, all distinct people: where not, people who may patrol its grid (no residents of a
    visited grid) are added, those not yet free then first, as if they had offered that time too.

    Random availability alone leaves a few slots of any large month with too few people or leaders in some
    neighbourhood, which would make the month infeasible for no reason a reader sees. A shift left short of
    residents on purpose (`_leave_short`) stays so, and so does a visited grid nobody may visit (reach 0)."""
    may = defaultdict(list)  # grid -> volunteers who may be listed for it
    for i, home in enumerate(homes):
        for g in (home, *near[home]):
            if g != home or home not in visited:
                may[g].append(i)
    listed = defaultdict(set)
    for i, mine in enumerate(available):
        for pos in mine:
            listed[pos].add(i)
    by_slot = defaultdict(list)
    for pos, s in enumerate(shifts):
        by_slot[s.start, s.end].append(pos)
    for positions in by_slot.values():
        for only_leaders in (True, False):
            demand = {}
            for pos in positions:
                need = shifts[pos].leaders if only_leaders else shifts[pos].min
                demand[pos] = need + MARGIN if need else 0
            who = {pos: {i for i in listed[pos] if i in leaders or not only_leaders} for pos in positions}
            free = set().union(*who.values())
            for pos, missing in _unplaced(demand, who).items():
                grid = shifts[pos].grid
                others = [i for i in may[grid] if i not in listed[pos] and (i in leaders or not only_leaders)]
                rng.shuffle(others)
                others.sort(key=lambda i: i in free)
                for i in others[:missing]:
                    available[i].add(pos)
                    listed[pos].add(i)
                    free.add(i)


def _unplaced(demand: dict[int, int], who: dict[int, set[int]]) -> dict[int, int]:
    """How many places of each shift stay empty when as many as can be are filled, one person a place
    (a largest matching, grown one augmenting path at a time)."""
    owner: dict[int, int] = {}  # person -> shift
    out = {}
    for pos in sorted(demand, key=lambda p: len(who[p])):
        for n in range(demand[pos]):
            if not _augment(pos, who, owner):
                out[pos] = demand[pos] - n
                break
    return out


def _augment(pos: int, who: dict[int, set[int]], owner: dict[int, int]) -> bool:
    """Give shift `pos` one more person, moving others along a shortest path of shifts; False if none can."""
    reached_by = {}  # person -> shift they were reached from
    entered = {pos: None}  # shift -> person through whom it was reached
    queue = deque([pos])
    while queue:
        p = queue.popleft()
        for i in who[p]:
            if i in reached_by:
                continue
            reached_by[i] = p
            q = owner.get(i)
            if q is None:
                while i is not None:  # each person on the path moves to the shift that reached them
                    p = reached_by[i]
                    owner[i] = p
                    i = entered[p]
                return True
            if q not in entered:
                entered[q] = i
                queue.append(q)
    return False


MIXED_CREWS = ((1, 2, 1), (2, 3, 3), (3, 4, 1))
MIXED_LEADERS = ((0, 3), (1, 4), (2, 1))

# Names are stable: benchmark tables and best-known files key on them. "-x" ends the name of a month no roster
# can satisfy (for the reason in `infeasible`, shown by a simple count).
FAMILY: tuple[MonthSpec, ...] = (
    MonthSpec("m30-l40", 301, 30, 2, leader_share=0.4, density=0.5, layout="line"),
    MonthSpec("m30-l13-x", 302, 30, 2, leader_share=0.13, density=0.5, layout="line", infeasible="leaders"),
    MonthSpec("m60-l30", 601, 60, 3, density=0.4),
    MonthSpec(
        "m60-l50-full-x", 602, 60, 5, leader_share=0.5, density=0.5, reach=ALL, crew=((3, 4, 1),), infeasible="places"
    ),
    MonthSpec("m120-l12-x", 1201, 120, 6, leader_share=0.12, density=0.4, infeasible="leaders"),
    MonthSpec("m120-l30-mix", 1202, 120, 6, afternoons=0.3, crew=MIXED_CREWS, leaders=MIXED_LEADERS, own_caps=0.2),
    MonthSpec(
        "m120-l30-rest12",
        1203,
        120,
        6,
        density=0.35,
        min_rest_hours=12,
        afternoons=0.25,
        home_cover=0.5,
        leaders=((0, 1), (1, 3)),
    ),
    MonthSpec(
        "m120-l35-overlap",
        1204,
        120,
        6,
        leader_share=0.35,
        min_rest_hours=2,
        afternoons=0.4,
        dusks=0.4,
        leaders=((0, 1), (1, 2)),
    ),
    MonthSpec("m120-l30-r0-x", 1205, 120, 6, home_cover=0.5, reach=0, infeasible="local"),
    # the Guanyinli month: 300 volunteers, 15 grids, 28 days of evening and weekend-morning patrols, 30 % leaders,
    # availability per shift, and 10 of the 15 grids not coverable by their own volunteers
    MonthSpec("m300-l30-u10", 3001, 300, 15, home_cover=1 / 3, morning_leaders=False),
    MonthSpec("m300-l50-easy", 3002, 300, 15, leader_share=0.5, density=0.7),
    MonthSpec("m300-l20-x", 3003, 300, 15, leader_share=0.2, infeasible="leaders"),
    MonthSpec("m300-l35-d15", 3004, 300, 15, leader_share=0.35, density=0.15, reach=2, leaders=((0, 1), (1, 2))),
    MonthSpec("m300-l30-hard", 3005, 300, 15, hard_grids=3),
    MonthSpec("m300-l30-u15", 3006, 300, 15, home_cover=0.0, reach=2, morning_leaders=False),
    MonthSpec("m300-l30-all", 3007, 300, 15, density=0.3, reach=ALL, drop=0.3),
    MonthSpec("m300-l30-line", 3008, 300, 15, home_cover=1 / 3, layout="line"),
    MonthSpec(
        "m300-l30-caps", 3009, 300, 15, own_caps=0.4, min_rest_hours=12, afternoons=0.2, leaders=((0, 1), (1, 3))
    ),
    MonthSpec(
        "m600-l30-mix",
        6001,
        600,
        30,
        home_cover=2 / 3,
        hard_grids=2,
        afternoons=0.3,
        dusks=0.1,
        crew=MIXED_CREWS,
        leaders=MIXED_LEADERS,
        own_caps=0.2,
    ),
    MonthSpec(
        "m600-l25-u20",
        6002,
        600,
        30,
        leader_share=0.25,
        density=0.35,
        home_cover=1 / 3,
        reach=2,
        leaders=((0, 1), (1, 2)),
    ),
    MonthSpec("m1000-l30", 10001, 1000, 50, home_cover=0.5, hard_grids=3),
    MonthSpec(
        "m1000-l30-mix",
        10002,
        1000,
        50,
        min_rest_hours=12,
        afternoons=0.25,
        dusks=0.1,
        crew=MIXED_CREWS,
        leaders=MIXED_LEADERS,
        home_cover=2 / 3,
    ),
    MonthSpec(
        "m3000-l30",
        30001,
        3000,
        60,
        home_cover=2 / 3,
        hard_grids=4,
        own_caps=0.1,
        density=0.3,
        crew=((2, 3, 2), (3, 4, 1)),
    ),
)
BY_NAME = {s.name: s for s in FAMILY}


def shift_count(spec: MonthSpec) -> int:
    return len(_shifts(spec, random.Random(spec.seed)))


def dumps(instance: dict) -> str:
    """JSON with one grid, shift or volunteer a line: small enough to ship, plain enough to read and diff."""
    lines = ["{"]
    items = list(instance.items())
    for n, (key, value) in enumerate(items):
        comma = "," if n < len(items) - 1 else ""
        if isinstance(value, list) and value:
            rows = [json.dumps(x, ensure_ascii=False) for x in value]
            lines.append(f"  {json.dumps(key)}: [\n    " + ",\n    ".join(rows) + f"\n  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def table(specs: tuple[MonthSpec, ...] = FAMILY) -> str:
    head = ("name", "volunteers", "grids", "shifts", "leaders", "density", "home_cover", "reach", "rest", "infeasible")
    rows = [
        (
            s.name,
            s.volunteers,
            s.grids,
            shift_count(s),
            f"{s.leader_share:.2f}",
            f"{s.density:.2f}",
            f"{s.home_cover:.2f}",
            f"{s.reach} {s.layout}" if s.reach != ALL else ALL,
            f"{s.min_rest_hours} h",
            s.infeasible or "-",
        )
        for s in specs
    ]
    widths = [max(len(str(r[i])) for r in (head, *rows)) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in (head, *rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write months of patrols in the patrol-roster/1 format.")
    parser.add_argument("names", nargs="*", help="months of the family, by name")
    parser.add_argument("--all", action="store_true", help="every month of the family")
    parser.add_argument("--out", default=".", help="the folder to write NAME.json into (default: here)")
    parser.add_argument("--list", action="store_true", help="print the family as a table")
    args = parser.parse_args(argv)
    if args.list:
        print(table())
        return 0
    unknown = [n for n in args.names if n not in BY_NAME]
    if unknown or not (args.names or args.all):
        parser.error(f"unknown month {unknown[0]!r} (see --list)" if unknown else "name a month, or --all")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for spec in FAMILY if args.all else [BY_NAME[n] for n in args.names]:
        path = out / f"{spec.name}.json"
        path.write_text(dumps(month(spec)), encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
