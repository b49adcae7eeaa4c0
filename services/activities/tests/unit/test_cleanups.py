"""The clean-up rotation: its slots, each rule of its spread alone, and properties against its validator."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from activities import cleanups
from activities.cleanups import Frequency, Place, Plan, Rules, Slot, Volunteer

MONDAY = date(2026, 12, 7)
COURTYARD = Place("C08", "观音里8号院", "courtyard", 8)
OWN_ROTA = Place("C01", "观音里1号院", "courtyard", 6, self_managed=True)
BUILDING = Place("B01", "观音里商住楼甲栋", "commercial_residential", 1)
GREENS = [Place(f"GS0{i}", f"绿地{i}", "green_space", 4 + i) for i in range(1, 4)]
PLACES = [COURTYARD, OWN_ROTA, BUILDING, *GREENS]
ALWAYS = ((datetime(2026, 1, 1), datetime(2028, 1, 1)),)


def person(vid: int, grid: int | None = None, windows=ALWAYS, **more) -> Volunteer:
    return Volunteer(vid, f"志愿者{vid}", grid, windows, **more)


def one_slot(needed: int = 1, grid: int = 8, day: int = 5, code: str = "C08") -> Slot:
    start = datetime.combine(MONDAY + timedelta(days=day), time(8))
    place = Place(code, code, "courtyard", grid)
    return Slot(cleanups.slot_id(place, start.date()), place, start, start + timedelta(hours=2), needed)


# --- the slots -----------------------------------------------------------------------------------


def test_self_managed_courtyards_are_left_out():
    slots = cleanups.occurrences(PLACES, MONDAY, 4)
    assert "C01" not in {s.place.code for s in slots}
    assert cleanups.plan(PLACES, MONDAY, 4, []).left_out == (OWN_ROTA,)


def test_each_kind_at_its_cadence_on_the_sessions():
    slots = cleanups.occurrences(PLACES, MONDAY, 4)
    per_place = {p.code: sum(s.place.code == p.code for s in slots) for p in PLACES}
    assert per_place == {"C08": 4, "C01": 0, "B01": 4, "GS01": 2, "GS02": 2, "GS03": 2}
    assert {(s.start.weekday(), s.start.time()) for s in slots} <= {(2, time(9)), (5, time(9)), (6, time(9))}
    assert all(s.end - s.start == timedelta(hours=2) for s in slots)
    assert {s.needed for s in slots if s.place.kind == "courtyard"} == {3}


def test_cadence_carries_over_from_one_period_to_the_next():
    first = cleanups.occurrences(GREENS, MONDAY, 2)
    later = cleanups.occurrences(GREENS, MONDAY + timedelta(weeks=2), 2)
    # the same weeks (the day within a week goes round the sessions)
    weeks = [(s.place.code, cleanups.monday_of(s.start.date()) + timedelta(weeks=2)) for s in first]
    assert sorted(weeks) == sorted((s.place.code, cleanups.monday_of(s.start.date())) for s in later)


def test_a_start_mid_week_plans_from_its_monday():
    assert cleanups.occurrences(PLACES, MONDAY + timedelta(days=3), 1) == cleanups.occurrences(PLACES, MONDAY, 1)


# --- each rule of the spread alone ---------------------------------------------------------------


def test_seats_are_filled_up_to_the_need():
    slot = one_slot(needed=2)
    assert cleanups.spread([slot], [person(1), person(2), person(3)]) == {slot.id: (1, 2)}


def test_unavailable_volunteer_is_not_used():
    slot = one_slot()
    away = person(1, windows=((slot.end, slot.end + timedelta(hours=4)),))
    assert cleanups.spread([slot], [away]) == {slot.id: ()}


def test_other_duty_clashes():
    slot = one_slot()
    assert cleanups.spread([slot], [person(1, busy=((slot.start, slot.start + timedelta(hours=1)),))]) == {slot.id: ()}


def test_one_clean_up_a_day():
    a, b = one_slot(code="C08"), one_slot(code="C09")
    b = Slot(b.id, b.place, a.end, a.end + timedelta(hours=2), 1)
    assigned = cleanups.spread([a, b], [person(1)])
    assert sorted(len(v) for v in assigned.values()) == [0, 1]


def test_weekly_cap_and_own_cap():
    slots = [one_slot(day=5, code="C08"), one_slot(day=6, code="C09")]
    assert sum(map(len, cleanups.spread(slots, [person(1)], Rules(max_per_week=1)).values())) == 1
    assert sum(map(len, cleanups.spread(slots, [person(1, max_per_week=1)]).values())) == 1
    assert sum(map(len, cleanups.spread(slots, [person(1)]).values())) == 2


def test_home_grid_is_preferred():
    slot = one_slot(grid=8)
    assert cleanups.spread([slot], [person(1, grid=6), person(2, grid=8)]) == {slot.id: (2,)}


def test_fairness_outweighs_the_home_grid():
    slots = [one_slot(day=5, code="C08"), one_slot(day=6, code="C09")]
    assigned = cleanups.spread(slots, [person(1, grid=8), person(2, grid=6)])
    assert sorted(assigned.values()) == [(1,), (2,)]


def test_kept_volunteers_stay_and_count():
    kept = one_slot(day=5, code="C08")
    kept = Slot(kept.id, kept.place, kept.start, kept.end, 1, kept=(1,))
    other = one_slot(day=6, code="C09")
    assert cleanups.spread([kept, other], [person(1), person(2)]) == {kept.id: (1,), other.id: (2,)}


# --- the validator catches what it should --------------------------------------------------------


def test_validator_names_unfair_and_unfilled_plans():
    slots = [one_slot(day=d, code=f"C0{d}") for d in (2, 3, 4)]
    team = [person(1), person(2)]
    unfair = Plan(tuple(slots), {s.id: (1,) for s in slots}, ())
    assert cleanups.unfair(unfair, team, Rules(max_per_week=3))
    short = Plan(tuple(slots), {slots[0].id: (1,), slots[1].id: (), slots[2].id: (2,)}, ())
    assert cleanups.unfilled(short, team, Rules())
    capped = Plan(tuple(slots), {slots[0].id: (1,), slots[1].id: (1,), slots[2].id: (1,)}, ())
    assert cleanups.feasibility(capped, team, Rules(max_per_week=2))


def test_validator_names_a_missed_and_a_self_managed_place():
    slots = cleanups.occurrences(PLACES, MONDAY, 2)
    missing = Plan(tuple(s for s in slots if s.place.code != "B01"), {}, ())
    assert any(p.startswith("B01") for p in cleanups.coverage(missing, PLACES, MONDAY, 2, Rules()))
    own = one_slot(code="C01")
    own = Slot(own.id, OWN_ROTA, own.start, own.end, 1)
    assert cleanups.coverage(Plan((*slots, own), {}, ()), PLACES, MONDAY, 2, Rules())


# --- properties ----------------------------------------------------------------------------------

places = st.lists(
    st.builds(
        Place,
        code=st.just(""),
        name=st.just(""),
        kind=st.sampled_from(cleanups.PLACE_KINDS),
        grid_id=st.integers(1, 15),
        self_managed=st.booleans(),
    ),
    min_size=1,
    max_size=8,
).map(lambda ps: [Place(f"P{i:02d}", f"地点{i}", p.kind, p.grid_id, p.self_managed) for i, p in enumerate(ps)])


@st.composite
def volunteer(draw, vid: int) -> Volunteer:
    """A volunteer free on some of the weekend mornings of the period, maybe busy on one."""
    mornings = [datetime.combine(MONDAY + timedelta(weeks=w, days=d), time(7)) for w in range(4) for d in (5, 6)]
    free = draw(st.lists(st.sampled_from(mornings), unique=True))
    busy = draw(st.lists(st.sampled_from(mornings), max_size=1))
    return Volunteer(
        vid,
        f"志愿者{vid}",
        draw(st.none() | st.integers(1, 15)),
        tuple((m, m + timedelta(hours=4)) for m in sorted(free)),
        tuple((m + timedelta(hours=1), m + timedelta(hours=2)) for m in busy),
        draw(st.none() | st.integers(1, 2)),
    )


@st.composite
def teams(draw) -> list[Volunteer]:
    size = draw(st.integers(0, 10))
    return [draw(volunteer(vid)) for vid in range(1, size + 1)]


frequencies = st.fixed_dictionaries(
    {
        kind: st.builds(Frequency, every_weeks=st.integers(1, 3), needed=st.integers(1, 3))
        for kind in cleanups.PLACE_KINDS
    }
)


@settings(max_examples=150, deadline=None)
@given(places, teams(), st.integers(1, 4), frequencies)
def test_every_plan_passes_its_validator(places, team, weeks, freq):
    rules = Rules(frequencies=freq)
    made = cleanups.plan(places, MONDAY, weeks, team, rules)
    assert cleanups.validate(made, places, MONDAY, weeks, team, rules) == []
    assert all(not s.place.self_managed for s in made.slots)


@settings(max_examples=100, deadline=None)
@given(places, st.integers(1, 12), st.integers(1, 4))
def test_a_team_free_all_the_time_is_spread_within_one(places, size, weeks):
    team = [person(vid) for vid in range(1, size + 1)]
    made = cleanups.plan(places, MONDAY, weeks, team)
    counts = made.counts(team).values()
    assert max(counts) - min(counts) <= 1
    assert cleanups.validate(made, places, MONDAY, weeks, team) == []
