"""Organisers' sheets: the sign-ups of occurrences with attendance, and a move told with its reason."""

import pytest
from activities_testkit import as_volunteer, at, iso

from guanyinli.errors import Forbidden

pytestmark = pytest.mark.integration


def test_signups_of_occurrences_by_role_with_the_waitlist_in_order(organiser, volunteers, call):
    for vid in (1, 2, 3):
        volunteers.add(vid)
    organiser.create_activity(
        title="卫生清扫",
        kind="sanitation",
        grid_id=3,
        courtyard="二号院",
        start=iso(at(1, 8)),
        duration_minutes=60,
        rrule="FREQ=DAILY;COUNT=2",
        roles=[{"name": "cleaner", "needed": 1}],
    )
    first, second = organiser.list_occurrences(start=iso(at(1, 0)), end=iso(at(3, 0)))
    signups = [organiser.sign_up(occurrence_id=first["id"], volunteer_id=v) for v in (1, 2, 3)]
    organiser.sign_up(occurrence_id=second["id"], volunteer_id=3)
    organiser.cancel_sign_up(signup_id=signups[2]["id"])

    found = organiser.list_signups(occurrence_ids=[first["id"], second["id"]])
    assert [(s["occurrence_id"], s["volunteer_id"], s["status"]) for s in found] == [
        (first["id"], 1, "confirmed"),
        (first["id"], 2, "waitlisted"),
        (second["id"], 3, "confirmed"),
    ]
    assert found[1]["waitlist_position"] == 1 and found[0]["attendance"] is None
    everyone = organiser.list_signups(occurrence_ids=[first["id"]], include_cancelled=True)
    assert [s["status"] for s in everyone] == ["confirmed", "waitlisted", "cancelled"]
    with pytest.raises(Forbidden):  # who did which duty is for organisers
        call(as_volunteer(1)).list_signups(occurrence_ids=[first["id"]])


def test_a_move_tells_its_volunteers_why(organiser, volunteers, events):
    volunteers.add(1)
    organiser.create_activity(
        title="便民服务", kind="convenience", room="服务站", start=iso(at(2, 9)), duration_minutes=60
    )
    occ = organiser.list_occurrences(start=iso(at(2, 0)), end=iso(at(3, 0)))[0]
    organiser.sign_up(occurrence_id=occ["id"], volunteer_id=1)
    organiser.update_occurrence(occurrence_id=occ["id"], start=iso(at(2, 14)), reason="上午停电")
    changed = events.wait("occurrence_changed")[0]
    assert changed["reason"] == "上午停电" and changed["volunteer_ids"] == [1]
    assert changed["start"] == iso(at(2, 14)) and changed["previous_start"] == iso(at(2, 9))
