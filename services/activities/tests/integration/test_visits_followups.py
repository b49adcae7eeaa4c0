"""The register as a grid leader reads it (their grids, no private fields), visits missed and a visit
marked made by mistake taken back."""

from datetime import datetime, timedelta

import pytest
from activities_testkit import as_volunteer
from test_visits_register import CONSENT, VOLUNTEERS, person, window

from guanyinli.errors import Forbidden
from guanyinli.timeutil import TZ, now

pytestmark = pytest.mark.integration

LEADER_OF_8 = {"volunteer_id": 5, "roles": ["volunteer", "grid_leader"], "grid_ids": [8], "name": "网格长 陈"}
PRIVATE = ("周爷爷家", "吴奶奶家", "高血压", "13900000000")


@pytest.fixture
def register(organiser, volunteers):
    for vid in VOLUNTEERS:
        volunteers.add(vid)
    late = {**CONSENT, "at": (now() - timedelta(days=20)).isoformat()}
    return {
        "nine": person(organiser, "孙奶奶", 7, grid=9, consent=late),
        "eight": person(organiser, "周爷爷", 14, grid=8, consent=late),
        "eight_new": person(organiser, "吴奶奶", 7, grid=8, consent=None),
    }


def test_a_grid_leader_reads_their_grids_without_private_fields(organiser, register, call):
    leader = call(LEADER_OF_8)
    listed = leader.list_visited_people()
    assert {p["id"] for p in listed} == {register["eight"]["id"], register["eight_new"]["id"]}
    assert all(p["private"] is None and p["consent"] is None for p in listed)
    assert not any(word in str(listed) for word in PRIVATE)

    today = now().date().isoformat()
    assert {p["id"] for p in organiser.overdue_visits(today=today)} == {register["nine"]["id"], register["eight"]["id"]}
    late = leader.overdue_visits(today=today)
    assert [p["id"] for p in late] == [register["eight"]["id"]] and late[0]["private"] is None
    assert call({**LEADER_OF_8, "grid_ids": []}).overdue_visits(today=today) == []
    with pytest.raises(Forbidden):
        call(as_volunteer(1)).overdue_visits(today=today)
    with pytest.raises(Forbidden):
        leader.get_visited_person(person_id=register["nine"]["id"])
    theirs = leader.get_visited_person(person_id=register["eight"]["id"])
    assert theirs["private"] is None and not any(word in str(theirs) for word in PRIVATE)


def test_a_missed_visit_shows_until_cancelled_and_is_then_planned_again(organiser, register, call, clock):
    start, end = window(7)
    planned = organiser.plan_visits(start=start.isoformat(), end=end.isoformat())
    visit = next(p for p in planned if p["person_id"] == register["eight"]["id"])
    since = start.isoformat()
    assert organiser.missed_visits(since=since) == []

    clock.set(datetime.combine(start + timedelta(days=1), datetime.min.time(), tzinfo=TZ))
    missed = organiser.missed_visits(since=since)
    assert {m["occurrence_id"] for m in missed} == {p["occurrence_id"] for p in planned}
    ours = next(m for m in missed if m["occurrence_id"] == visit["occurrence_id"])
    assert ours["person_name"] == "周爷爷" and ours["grid_id"] == 8 and ours["missed"] and ours["note"] is None
    assert [m["person_id"] for m in call(LEADER_OF_8).missed_visits(since=since)] == [register["eight"]["id"]]
    history = organiser.get_visited_person(person_id=register["eight"]["id"])["visits"]
    assert history[0]["missed"]

    a = visit["visitor_ids"][0]
    call(as_volunteer(a)).record_visit_note(occurrence_id=visit["occurrence_id"], note="见过了", done=True)
    assert visit["occurrence_id"] not in {m["occurrence_id"] for m in organiser.missed_visits(since=since)}
    assert organiser.get_visited_person(person_id=register["eight"]["id"])["last_visit"] == start.isoformat()

    # Marked made by mistake: the visitor takes it back; it is missed again and no longer the last visit.
    outsider = next(v for v in VOLUNTEERS if v not in visit["visitor_ids"])
    with pytest.raises(Forbidden):
        call(as_volunteer(outsider)).reopen_visit(occurrence_id=visit["occurrence_id"])
    reopened = call(as_volunteer(a)).reopen_visit(occurrence_id=visit["occurrence_id"])
    assert not reopened["done"] and reopened["missed"] and reopened["note"] == "见过了"
    assert organiser.get_visited_person(person_id=register["eight"]["id"])["last_visit"] is None
    assert visit["occurrence_id"] in {m["occurrence_id"] for m in organiser.missed_visits(since=since)}

    # The organiser cancels the missed visit and plans again: the person comes first.
    organiser.cancel_occurrence(occurrence_id=visit["occurrence_id"], reason="未能探访")
    assert visit["occurrence_id"] not in {m["occurrence_id"] for m in organiser.missed_visits(since=since)}
    replan = organiser.plan_visits(start=(start + timedelta(days=1)).isoformat(), end=end.isoformat())
    assert [p["day"] for p in replan if p["person_id"] == register["eight"]["id"]] == [
        (start + timedelta(days=1)).isoformat()
    ]
