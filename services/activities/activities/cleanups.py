"""The clean-up rotation: which places are cleaned when, and a fair spread of the sanitation team over them.

Pure: plain data in (places, weeks, rules, volunteers with their windows), plain data out (slots and
who cleans each). No nameko, no database. The self-managed courtyards run their own rota and are left
out. ``occurrences`` lays each place's clean-ups on the weekly sessions at its kind's cadence;
``spread`` fills their seats by a min-cost flow whose cost grows with the square of each volunteer's
clean-ups, so the seats go first to whoever has the fewest (and, among those, to people living in the
place's grid); ``validate`` checks any plan against the rules without knowing how it was made.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from ortools.graph.python import min_cost_flow

PLACE_KINDS = ("courtyard", "commercial_residential", "green_space")
# Weeks are numbered from a fixed Monday, so a place cleaned every other week keeps its cadence from one
# planned period to the next, whatever Monday the organiser starts a plan on.
EPOCH = date(2024, 1, 1)


@dataclass(frozen=True)
class Place:
    code: str  # C08, B01, GS03: the volunteers service's code
    name: str
    kind: str  # one of PLACE_KINDS
    grid_id: int
    self_managed: bool = False


@dataclass(frozen=True)
class Frequency:
    every_weeks: int  # a clean-up every N weeks
    needed: int  # volunteers a clean-up takes


@dataclass(frozen=True)
class Session:
    """A weekly time clean-ups happen: weekday (0 Monday), local start time, length."""

    weekday: int
    start: time
    minutes: int


# How often each kind of place is cleaned and by how many: courtyards and the buildings every week,
# the green spaces (weeding, watering, litter) every other week.
FREQUENCIES: Mapping[str, Frequency] = {
    "courtyard": Frequency(every_weeks=1, needed=3),
    "commercial_residential": Frequency(every_weeks=1, needed=2),
    "green_space": Frequency(every_weeks=2, needed=2),
}
# Wednesday, Saturday and Sunday mornings from nine: the retired members are free on weekdays, the
# working ones at weekends, and few of either before nine.
SESSIONS: tuple[Session, ...] = (Session(2, time(9), 120), Session(5, time(9), 120), Session(6, time(9), 120))
# The flow's prices. Fairness must outweigh the home grid (AWAY < 2 * FAIRNESS): then moving one
# clean-up from a volunteer with two more than another to that other always lowers the cost, so the
# cheapest spread never leaves such a move open (see ``unfair``).
WEIGHTS: Mapping[str, int] = {"fairness": 2, "away_from_home": 1}
assert WEIGHTS["away_from_home"] < 2 * WEIGHTS["fairness"]


@dataclass(frozen=True)
class Rules:
    frequencies: Mapping[str, Frequency] = field(default_factory=lambda: dict(FREQUENCIES))
    sessions: tuple[Session, ...] = SESSIONS
    max_per_week: int = 2  # clean-ups a volunteer does in a week at most
    max_per_day: int = 1  # a clean-up is a morning's work: one a day


@dataclass(frozen=True)
class Volunteer:
    id: int
    name: str
    home_grid: int | None
    windows: tuple[tuple[datetime, datetime], ...]  # when they are available (naive local time)
    busy: tuple[tuple[datetime, datetime], ...] = ()  # their other duties
    max_per_week: int | None = None  # their own cap, when lower than the rules'


@dataclass(frozen=True)
class Slot:
    """One clean-up of one place; ``kept``: volunteers already on it, left as they are."""

    id: str
    place: Place
    start: datetime
    end: datetime
    needed: int
    kept: tuple[int, ...] = ()


@dataclass(frozen=True)
class Plan:
    slots: tuple[Slot, ...]
    assigned: Mapping[str, tuple[int, ...]]  # slot id -> every volunteer on it, kept ones first
    left_out: tuple[Place, ...]  # the self-managed courtyards

    def counts(self, volunteers: list[Volunteer]) -> dict[int, int]:
        """Clean-ups per volunteer of the team (zero for those with none)."""
        found = Counter(v for ids in self.assigned.values() for v in ids)
        return {v.id: found.get(v.id, 0) for v in volunteers}


# --- the slots ---------------------------------------------------------------------------------


def week_number(day: date) -> int:
    """The week (Monday to Sunday) of ``day``, counted from EPOCH."""
    return (day - EPOCH).days // 7


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def to_clean(places: list[Place]) -> tuple[list[Place], list[Place]]:
    """The places of the rotation and the self-managed ones it leaves to their own rota."""
    return [p for p in places if not p.self_managed], [p for p in places if p.self_managed]


def occurrences(places: list[Place], monday: date, weeks: int, rules: Rules = Rules()) -> list[Slot]:
    """Each place's clean-ups in ``weeks`` weeks from ``monday``, at its kind's cadence.

    A place cleaned every N weeks takes the weeks whose number is its rank in its kind modulo N, so
    the kind's places share the weeks out evenly; the week's clean-ups go round the sessions, starting
    one further each week, so a place is not always on Saturday."""
    rotation, _ = to_clean(places)
    ranks = {p.code: i for kind in PLACE_KINDS for i, p in enumerate(q for q in rotation if q.kind == kind)}
    slots: list[Slot] = []
    for offset in range(weeks):
        first = monday_of(monday) + timedelta(weeks=offset)
        number = week_number(first)
        due = [p for p in rotation if (number - ranks[p.code]) % rules.frequencies[p.kind].every_weeks == 0]
        for k, place in enumerate(due):
            session = rules.sessions[(k + number) % len(rules.sessions)]
            start = datetime.combine(first + timedelta(days=session.weekday), session.start)
            slots.append(
                Slot(
                    id=slot_id(place, start.date()),
                    place=place,
                    start=start,
                    end=start + timedelta(minutes=session.minutes),
                    needed=rules.frequencies[place.kind].needed,
                )
            )
    return sorted(slots, key=lambda s: (s.start, s.place.code))


def slot_id(place: Place, day: date) -> str:
    return f"{place.code}:{day.isoformat()}"


# --- who cleans --------------------------------------------------------------------------------


def _covers(windows, a: datetime, b: datetime) -> bool:
    return any(w0 <= a and b <= w1 for w0, w1 in windows)


def _overlaps(spans, a: datetime, b: datetime) -> bool:
    return any(s0 < b and a < s1 for s0, s1 in spans)


def cap_of(volunteer: Volunteer, rules: Rules) -> int:
    own = volunteer.max_per_week
    return rules.max_per_week if own is None else min(own, rules.max_per_week)


def free_for(volunteer: Volunteer, slot: Slot) -> bool:
    """Available for the whole clean-up and on no other duty then (the rotation's own aside)."""
    return _covers(volunteer.windows, slot.start, slot.end) and not _overlaps(volunteer.busy, slot.start, slot.end)


def spread(slots: list[Slot], volunteers: list[Volunteer], rules: Rules = Rules()) -> dict[str, tuple[int, ...]]:
    """Fill the slots' open seats: as many as can be filled, then the cheapest by ``WEIGHTS``.

    One min-cost flow: source -> volunteer (the k-th clean-up costs fairness * (2k - 1), so a
    volunteer's total grows as the square of their count) -> volunteer's week (their cap) ->
    volunteer's day (``max_per_day``) -> slot (away_from_home outside their grid) -> sink (open seats).
    Kept volunteers count towards every limit and price."""
    kept = {v: [s for s in slots if v in s.kept] for v in {v for s in slots for v in s.kept}}
    flow = min_cost_flow.SimpleMinCostFlow()
    nodes: dict[object, int] = {}

    def node(key) -> int:
        return nodes.setdefault(key, len(nodes))

    source, sink = node("source"), node("sink")
    seats = 0
    for slot in slots:
        open_seats = max(0, slot.needed - len(slot.kept))
        if open_seats:
            flow.add_arc_with_capacity_and_unit_cost(node(("slot", slot.id)), sink, open_seats, 0)
            seats += open_seats
    candidates: list[tuple[int, str]] = []  # (arc, slot id) per volunteer's arc into a slot
    owner: dict[int, int] = {}
    for volunteer in volunteers:
        mine = kept.get(volunteer.id, [])
        open_slots = [
            s for s in slots if volunteer.id not in s.kept and s.needed > len(s.kept) and free_for(volunteer, s)
        ]
        if not open_slots:
            continue
        weeks = Counter(week_number(s.start.date()) for s in mine)
        days = Counter(s.start.date() for s in mine)
        v = node(("v", volunteer.id))
        for k in range(len(mine) + 1, len(mine) + len(open_slots) + 1):
            flow.add_arc_with_capacity_and_unit_cost(source, v, 1, WEIGHTS["fairness"] * (2 * k - 1))
        for slot in open_slots:
            day, week = slot.start.date(), week_number(slot.start.date())
            week_room = cap_of(volunteer, rules) - weeks[week]
            day_room = rules.max_per_day - days[day]
            if week_room <= 0 or day_room <= 0:
                continue
            vw, vd = ("vw", volunteer.id, week), ("vd", volunteer.id, day)
            if vw not in nodes:
                flow.add_arc_with_capacity_and_unit_cost(v, node(vw), week_room, 0)
            if vd not in nodes:
                flow.add_arc_with_capacity_and_unit_cost(node(vw), node(vd), day_room, 0)
            away = 0 if volunteer.home_grid == slot.place.grid_id else WEIGHTS["away_from_home"]
            arc = flow.add_arc_with_capacity_and_unit_cost(node(vd), node(("slot", slot.id)), 1, away)
            candidates.append((arc, slot.id))
            owner[arc] = volunteer.id
    flow.set_node_supply(source, seats)
    flow.set_node_supply(sink, -seats)
    assigned: dict[str, list[int]] = {s.id: list(s.kept) for s in slots}
    if seats and candidates:
        status = flow.solve_max_flow_with_min_cost()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"the clean-up flow ended {status}")
        for arc, sid in candidates:
            if flow.flow(arc):
                assigned[sid].append(owner[arc])
    return {sid: tuple(ids) for sid, ids in assigned.items()}


def plan(
    places: list[Place], monday: date, weeks: int, volunteers: list[Volunteer], rules: Rules = Rules(), kept=None
) -> Plan:
    """The rotation of ``weeks`` weeks from ``monday``; ``kept`` (slot id -> volunteer ids) are the
    volunteers already on a slot (a plan made before), who stay."""
    kept = kept or {}
    slots = [
        Slot(s.id, s.place, s.start, s.end, s.needed, tuple(kept.get(s.id, ())))
        for s in occurrences(places, monday, weeks, rules)
    ]
    return Plan(tuple(slots), spread(slots, volunteers, rules), tuple(to_clean(places)[1]))


# --- the validator: knows the rules, not the flow ----------------------------------------------


def validate(
    plan: Plan, places: list[Place], monday: date, weeks: int, volunteers: list[Volunteer], rules: Rules = Rules()
) -> list[str]:
    """Every broken rule of a plan, in words; an empty list for a good plan."""
    return (
        coverage(plan, places, monday, weeks, rules)
        + feasibility(plan, volunteers, rules)
        + unfilled(plan, volunteers, rules)
        + unfair(plan, volunteers, rules)
    )


def coverage(plan: Plan, places: list[Place], monday: date, weeks: int, rules: Rules) -> list[str]:
    """Each place of the rotation cleaned once in every run of its cadence's weeks; none self-managed."""
    problems = [f"{s.place.code} is self-managed but in the rotation" for s in plan.slots if s.place.self_managed]
    first = week_number(monday_of(monday))
    for place in places:
        if place.self_managed:
            continue
        every = rules.frequencies[place.kind].every_weeks
        cleaned = Counter(week_number(s.start.date()) - first for s in plan.slots if s.place.code == place.code)
        if any(not 0 <= w < weeks for w in cleaned) or any(n > 1 for n in cleaned.values()):
            problems.append(f"{place.code}: cleaned outside the period or twice a week: {sorted(cleaned)}")
        for begin in range(0, weeks - every + 1):
            held = sum(cleaned[w] for w in range(begin, begin + every))
            if held != 1:
                problems.append(f"{place.code}: {held} clean-ups in weeks {begin + 1}-{begin + every}, not one")
    return problems


def _by_volunteer(plan: Plan) -> dict[int, list[Slot]]:
    slots = {s.id: s for s in plan.slots}
    mine: dict[int, list[Slot]] = defaultdict(list)
    for sid, ids in plan.assigned.items():
        for v in ids:
            mine[v].append(slots[sid])
    return mine


def _has_room(volunteer: Volunteer, slot: Slot, theirs: list[Slot], rules: Rules) -> bool:
    """Could the volunteer take this slot on top of their clean-ups ``theirs``?"""
    if not free_for(volunteer, slot) or any(s.id == slot.id for s in theirs):
        return False
    if _overlaps([(s.start, s.end) for s in theirs], slot.start, slot.end):
        return False
    day, week = slot.start.date(), week_number(slot.start.date())
    if sum(s.start.date() == day for s in theirs) >= rules.max_per_day:
        return False
    return sum(week_number(s.start.date()) == week for s in theirs) < cap_of(volunteer, rules)


def feasibility(plan: Plan, volunteers: list[Volunteer], rules: Rules) -> list[str]:
    """Seats, availability, clashes, one a day and the weekly cap (kept volunteers are not judged)."""
    team = {v.id: v for v in volunteers}
    problems = []
    for slot in plan.slots:
        ids = plan.assigned.get(slot.id, ())
        if len(ids) > max(slot.needed, len(slot.kept)) or len(set(ids)) != len(ids):
            problems.append(f"{slot.id}: {len(ids)} volunteers for {slot.needed} seats")
        if not set(slot.kept) <= set(ids):
            problems.append(f"{slot.id}: a kept volunteer was taken off")
    for vid, theirs in _by_volunteer(plan).items():
        volunteer = team.get(vid)
        if volunteer is None:
            problems.append(f"volunteer {vid} is not in the team")
            continue
        for slot in theirs:
            if vid in slot.kept:
                continue
            others = [s for s in theirs if s.id != slot.id]
            if not _has_room(volunteer, slot, others, rules):
                problems.append(f"volunteer {vid} cannot take {slot.id} (unavailable, a clash, or over a limit)")
    return problems


def unfilled(plan: Plan, volunteers: list[Volunteer], rules: Rules) -> list[str]:
    """A slot short of volunteers while someone of the team could still take it."""
    mine = _by_volunteer(plan)
    return [
        f"{slot.id} is short while volunteer {v.id} is free for it"
        for slot in plan.slots
        if len(plan.assigned.get(slot.id, ())) < slot.needed
        for v in volunteers
        if _has_room(v, slot, mine.get(v.id, []), rules)
    ]


def unfair(plan: Plan, volunteers: list[Volunteer], rules: Rules) -> list[str]:
    """Fair where availability allows: no clean-up could move from a volunteer with two or more than
    another to that other (free then, with room that day and week)."""
    mine = _by_volunteer(plan)
    counts = plan.counts(volunteers)
    problems = []
    for a in volunteers:
        for b in volunteers:
            if counts[a.id] < counts[b.id] + 2:
                continue
            for slot in mine.get(a.id, []):
                if a.id not in slot.kept and _has_room(b, slot, mine.get(b.id, []), rules):
                    problems.append(
                        f"{slot.id} could go from volunteer {a.id} ({counts[a.id]}) to {b.id} ({counts[b.id]})"
                    )
    return problems
