"""The register of visited people: planning at each person's frequency with the same pair, who sees
the private fields and the notes, and who is overdue."""

from datetime import datetime, time, timedelta

import pytest
from activities_testkit import ORGANISER, as_volunteer, iso

from guanyinli.errors import Forbidden
from guanyinli.timeutil import TZ, now

pytestmark = pytest.mark.integration
VIEWER = {"roles": ["viewer"], "name": "查看者"}
CONSENT = {"by": "本人", "how": "in_person"}
VOLUNTEERS = (1, 2, 3, 4, 5)  # two pairs and one who visits nobody


def person(organiser, name, frequency, grid=9, consent=CONSENT, **extra):
    return organiser.add_visited_person(
        category="elder_alone",
        name=name,
        grid_id=grid,
        courtyard="观音里5号院",
        frequency_days=frequency,
        address=f"观音里5号院{name}家",
        health_notes="高血压",
        relative_contact="女儿 13900000000",
        consent=consent,
        **extra,
    )


def pairs(organiser, planned, person_id):
    return [tuple(sorted(p["visitor_ids"])) for p in planned if p["person_id"] == person_id]


@pytest.fixture
def register(organiser, volunteers):
    for vid in VOLUNTEERS:
        volunteers.add(vid)
    return {
        "weekly": person(organiser, "孙奶奶", 7),
        "fortnightly": person(organiser, "周爷爷", 14, grid=8),
        "no_consent": person(organiser, "吴奶奶", 7, consent=None),
    }


def window(days):
    first = (now() + timedelta(days=1)).date()
    return first, first + timedelta(days=days)


def test_plan_respects_frequency_keeps_pairs_and_is_idempotent(organiser, register):
    start, end = window(28)
    planned = organiser.plan_visits(start=start.isoformat(), end=end.isoformat())
    weekly, fortnightly = register["weekly"]["id"], register["fortnightly"]["id"]
    days = {p["person_id"]: [] for p in planned}
    for p in planned:
        days[p["person_id"]].append(p["day"])
    assert days[weekly] == [(start + timedelta(days=7 * i)).isoformat() for i in range(4)]
    assert days[fortnightly] == [(start + timedelta(days=14 * i)).isoformat() for i in range(2)]
    assert register["no_consent"]["id"] not in days, "no consent, no planning"
    assert set(pairs(organiser, planned, weekly)) == {(1, 2)}, "the same pair each week"
    assert set(pairs(organiser, planned, fortnightly)) == {(3, 4)}, "the fairest two for the second person"
    occurrence = organiser.get_occurrence(occurrence_id=planned[0]["occurrence_id"])
    assert occurrence["kind"] == "elderly_visit"
    assert sorted(occurrence["roles"][0]["volunteer_ids"]) == sorted(planned[0]["visitor_ids"])
    assert organiser.plan_visits(start=start.isoformat(), end=end.isoformat()) == []
    longer = organiser.plan_visits(start=start.isoformat(), end=(end + timedelta(days=7)).isoformat())
    assert [(p["person_id"], p["day"]) for p in longer] == [(weekly, end.isoformat()), (fortnightly, end.isoformat())]
    assert (pairs(organiser, longer, weekly), pairs(organiser, longer, fortnightly)) == ([(1, 2)], [(3, 4)])
    listed = {p["id"]: p for p in organiser.list_visited_people()}
    assert listed[weekly]["next_planned"] == start.isoformat()


def test_one_of_the_pair_away_the_other_stays_with_the_fairest_partner(organiser, register, volunteers):
    start, end = window(14)
    organiser.plan_visits(start=start.isoformat(), end=end.isoformat())
    away = datetime.combine(end, time(0), tzinfo=TZ)
    volunteers.set_unavailable(1, iso(away), iso(away + timedelta(days=7)), "回老家")
    planned = organiser.plan_visits(start=start.isoformat(), end=(end + timedelta(days=7)).isoformat())
    assert pairs(organiser, planned, register["weekly"]["id"]) == [(2, 5)], "2 stays; 5 has no visit yet"
    assert pairs(organiser, planned, register["fortnightly"]["id"]) == [(3, 4)], "both free: the same pair"


def test_private_fields_only_to_organisers_and_the_persons_visitors(organiser, register, call, events):
    start, end = window(7)
    planned = organiser.plan_visits(start=start.isoformat(), end=end.isoformat())
    weekly = register["weekly"]["id"]
    visitor = next(p["visitor_ids"][0] for p in planned if p["person_id"] == weekly)
    outsider = next(v for v in VOLUNTEERS if all(v not in p["visitor_ids"] for p in planned))
    assert organiser.list_visited_people()[0]["private"] is not None
    seen = {p["id"]: p for p in call(as_volunteer(visitor)).list_visited_people()}
    assert seen[weekly]["private"] == {
        "address": "观音里5号院孙奶奶家",
        "health_notes": "高血压",
        "relative_contact": "女儿 13900000000",
    }
    assert list(seen) == [weekly], "a volunteer lists only the people they visit"
    assert call(as_volunteer(outsider)).list_visited_people() == []
    read = call(VIEWER).list_visited_people()
    assert len(read) == 3 and all(row["private"] is None and row["consent"] is None for row in read)
    assert "观音里5号院孙奶奶家" not in str(read) and "13900000000" not in str(read)
    with pytest.raises(Forbidden):
        call(as_volunteer(outsider)).get_visited_person(person_id=weekly)
    assert call(as_volunteer(visitor)).get_visited_person(person_id=weekly)["private"]["address"]
    # The visit itself, as any duty is read: its private fields follow the same rule.
    occurrence_id = next(p["occurrence_id"] for p in planned if p["person_id"] == weekly)
    assert call(as_volunteer(outsider)).get_occurrence(occurrence_id=occurrence_id)["private"] is None
    for activity in call(as_volunteer(outsider)).list_activities(kind="elderly_visit"):
        assert activity["private"] is None and "孙奶奶" not in str(activity)
    organiser.update_visited_person(person_id=weekly, changes={"address": "观音里5号院3栋101室"})
    shown = call(as_volunteer(visitor)).get_occurrence(occurrence_id=occurrence_id)["private"]
    assert shown["address"] == "观音里5号院3栋101室" and shown["visited_person"] == "孙奶奶"
    confirmed = events.wait("signup_confirmed", count=4)
    assert not [e for e in confirmed if "孙奶奶" in str(e) or "高血压" in str(e) or "13900000000" in str(e)]


def test_notes_only_by_and_to_the_visitors_and_organisers(organiser, register, call):
    start, end = window(7)
    planned = organiser.plan_visits(start=start.isoformat(), end=end.isoformat())
    visit = next(p for p in planned if p["person_id"] == register["weekly"]["id"])
    a, b = visit["visitor_ids"]
    outsider = next(v for v in VOLUNTEERS if v not in visit["visitor_ids"])
    with pytest.raises(Forbidden):
        call(as_volunteer(outsider)).record_visit_note(occurrence_id=visit["occurrence_id"], note="看过了")
    written = call(as_volunteer(a)).record_visit_note(
        occurrence_id=visit["occurrence_id"], note="精神不错，血压偏高", done=True
    )
    assert written["done"] and written["note"] == "精神不错，血压偏高"
    history = organiser.get_visited_person(person_id=visit["person_id"])["visits"]
    assert [v["note"] for v in history] == ["精神不错，血压偏高"]
    duties = call(as_volunteer(b)).list_visit_duties(volunteer_id=b)
    assert [d["note"] for d in duties] == ["精神不错，血压偏高"]
    assert duties[0]["person"]["private"]["address"] == "观音里5号院孙奶奶家"
    with pytest.raises(Forbidden):
        call(as_volunteer(outsider)).list_visit_duties(volunteer_id=a)
    reader = call(VIEWER).get_visited_person(person_id=visit["person_id"])
    assert reader["private"] is None and reader["visits"][0]["note"] is None
    listed = {p["id"]: p for p in organiser.list_visited_people()}
    assert listed[visit["person_id"]]["last_visit"] == start.isoformat()


def test_overdue_people_and_withdrawal(organiser, register, call):
    today = now().date()
    late = person(organiser, "郑爷爷", 7, consent={**CONSENT, "at": iso(now() - timedelta(days=20))})
    overdue = organiser.overdue_visits(today=today.isoformat())
    assert [(p["id"], p["overdue_days"]) for p in overdue] == [(late["id"], 20)]
    assert overdue[0]["private"] is None
    assert call(VIEWER).overdue_visits(today=today.isoformat())[0]["id"] == late["id"]
    with pytest.raises(Forbidden):
        call(as_volunteer(1)).overdue_visits(today=today.isoformat())
    start, end = window(14)
    planned = organiser.plan_visits(start=start.isoformat(), end=end.isoformat())
    assert any(p["person_id"] == late["id"] and p["day"] == start.isoformat() for p in planned)
    fortnightly = register["fortnightly"]["id"]
    withdrawn = organiser.withdraw_visited_person(person_id=fortnightly, reason="搬去女儿家")
    assert withdrawn["status"] == "withdrawn" and not withdrawn["consented"]
    for p in planned:
        if p["person_id"] == fortnightly:
            assert organiser.get_occurrence(occurrence_id=p["occurrence_id"])["status"] == "cancelled"
    assert fortnightly not in {p["id"] for p in organiser.list_visited_people()}
    again = organiser.plan_visits(start=start.isoformat(), end=(end + timedelta(days=14)).isoformat())
    assert fortnightly not in {p["person_id"] for p in again}
    back = organiser.record_consent(person_id=fortnightly, consent={"by": "女儿 周敏", "how": "relative"})
    assert back["consented"] and back["consent"]["how"] == "relative"
    assert ORGANISER["roles"] == ["organiser"]
