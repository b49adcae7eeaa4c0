"""What a volunteer's phone page reads with the real volunteers service: the open duties they could
take, their own duties with partners and the grid leader to call, and cancelling before the deadline."""

import json
import os
import time
from datetime import timedelta

import pytest
from activities_testkit import as_volunteer, at, iso, next_monday

from activities.exceptions import TooLateToCancel
from guanyinli.errors import Forbidden, InvalidInput
from guanyinli.timeutil import now

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("ACTIVITIES_TEST_VOLUNTEERS") == "standin",
        reason="these run with the real volunteers service (its availability, grid leaders and ledger)",
    ),
]
pytest.importorskip("volunteers.service")

ME, OTHER, THIRD, LEADER = 1, 2, 3, 4


def phone(volunteer_id: int) -> str:
    """The phone ``Directory.add`` registers a volunteer with."""
    return f"139{volunteer_id:08d}"


def occurrence(organiser, title, kind, start, minutes=120, **fields) -> dict:
    """A one-off activity's only occurrence."""
    activity = organiser.create_activity(title=title, kind=kind, start=iso(start), duration_minutes=minutes, **fields)
    (occ,) = organiser.list_occurrences(
        start=iso(start - timedelta(days=1)), end=iso(start + timedelta(days=1)), activity_id=activity["id"]
    )
    return occ


def open_duties(call, volunteer_id, start, end, **kw) -> list[dict]:
    return call(as_volunteer(volunteer_id)).list_open_duties(
        volunteer_id=volunteer_id, start=iso(start), end=iso(end), **kw
    )


def test_open_duties_respect_the_volunteers_own_weekly_cap(organiser, call, volunteers):
    """No cap in the config: ME's own cap of one leaves out the week where ME holds a duty already."""
    for vid in (ME, OTHER):
        volunteers.add(vid)
    call(as_volunteer(ME), service="volunteers").update_volunteer(volunteer_id=ME, max_duties_per_week=1)
    week = next_monday()
    held = occurrence(organiser, "便民维修", "convenience", week + timedelta(days=1, hours=9), courtyard="观音里1号院")
    call(as_volunteer(ME)).sign_up(occurrence_id=held["id"], volunteer_id=ME)
    same_week = occurrence(
        organiser, "清扫楼道", "sanitation", week + timedelta(days=3, hours=9), courtyard="观音里3号院"
    )
    next_week = occurrence(
        organiser, "清扫楼道", "sanitation", week + timedelta(days=10, hours=9), courtyard="观音里3号院"
    )
    window = (week, week + timedelta(days=14))
    assert [d["occurrence_id"] for d in open_duties(call, ME, *window)] == [next_week["id"]]
    theirs = [d["occurrence_id"] for d in open_duties(call, OTHER, *window)]
    assert theirs == [held["id"], same_week["id"], next_week["id"]]


@pytest.mark.service_config(MAX_DUTIES_PER_WEEK=2)
def test_open_duties_are_those_the_volunteer_could_take(organiser, call, volunteers):
    for vid, skills in ((ME, ["patrol"]), (OTHER, ["first_aid"]), (THIRD, []), (LEADER, [])):
        volunteers.add(vid, skills=skills)
    week = next_monday()  # an ISO week of its own ahead, and the next one for the weekly cap
    patrol_roles = [{"name": "patroller", "needed": 2, "skills": ["patrol"]}]
    fits = occurrence(
        organiser, "第四网格夜巡", "patrol", week + timedelta(days=1, hours=19), grid_id=4, roles=patrol_roles
    )
    medic = occurrence(
        organiser,
        "急救站值守",
        "convenience",
        week + timedelta(days=2, hours=9),
        courtyard="观音里2号院",
        roles=[{"name": "medic", "needed": 1, "skills": ["first_aid"]}],
    )
    away = occurrence(organiser, "清扫楼道", "sanitation", week + timedelta(days=3, hours=14), courtyard="观音里3号院")
    volunteers.set_unavailable(
        ME, iso(week + timedelta(days=3, hours=13)), iso(week + timedelta(days=3, hours=17)), "看病"
    )
    full = occurrence(
        organiser,
        "周末安全巡查",
        "patrol",
        week + timedelta(days=4, hours=19),
        grid_id=5,
        roles=[{"name": "patroller", "needed": 1, "skills": []}],
    )
    organiser.sign_up(occurrence_id=full["id"], volunteer_id=OTHER)
    organiser.sign_up(occurrence_id=full["id"], volunteer_id=THIRD)  # waitlisted: a sign-up of mine would be 2nd
    mine = occurrence(organiser, "早巡", "patrol", week + timedelta(days=5, hours=9), grid_id=4, roles=patrol_roles)
    call(as_volunteer(ME)).sign_up(occurrence_id=mine["id"], volunteer_id=ME)
    clash = occurrence(organiser, "侨乡文化展演", "cultural", week + timedelta(days=5, hours=10), room="社区礼堂")
    called_off = occurrence(
        organiser, "便民维修", "convenience", week + timedelta(days=6, hours=9), courtyard="观音里1号院"
    )
    organiser.cancel_occurrence(occurrence_id=called_off["id"], reason="下雨")
    started = occurrence(organiser, "午间巡逻", "patrol", now() - timedelta(minutes=30), grid_id=4, roles=patrol_roles)
    # The next ISO week: two confirmed duties of mine reach the cap of 2, so a third is not offered.
    for day in (7, 8):
        duty = occurrence(
            organiser, "下周巡逻", "patrol", week + timedelta(days=day, hours=9), grid_id=6, roles=patrol_roles
        )
        organiser.sign_up(occurrence_id=duty["id"], volunteer_id=ME)
    capped = occurrence(
        organiser, "下周清扫", "sanitation", week + timedelta(days=9, hours=19), courtyard="观音里4号院"
    )

    window = (now() - timedelta(hours=1), week + timedelta(days=14))
    offered = open_duties(call, ME, *window)
    assert [(d["occurrence_id"], d["role"]) for d in offered] == [(fits["id"], "patroller"), (full["id"], "patroller")]
    first = offered[0]
    assert first == {
        "occurrence_id": fits["id"],
        "activity_id": fits["activity_id"],
        "title": "第四网格夜巡",
        "kind": "patrol",
        "team": "voluntary_patrol",
        "start": fits["start"],
        "end": fits["end"],
        "duty_start": fits["start"],
        "duty_end": fits["end"],
        "grid_id": 4,
        "courtyard": None,
        "room": None,
        "place": "第4网格",
        "role": "patroller",
        "skills": ["patrol"],
        "seats": 2,
        "taken": 0,
        "full": False,
        "waitlist_position": None,
    }
    assert (offered[1]["seats"], offered[1]["taken"], offered[1]["full"], offered[1]["waitlist_position"]) == (
        1,
        1,
        True,
        2,
    )
    left_out = {medic["id"], away["id"], mine["id"], clash["id"], called_off["id"], started["id"], capped["id"]}
    assert not left_out & {d["occurrence_id"] for d in offered}
    # The others are left out for my reasons, not theirs: OTHER has first aid, no time off, no
    # duties, and the capped week is free for them (the full role they hold is not offered again).
    theirs = {d["occurrence_id"] for d in open_duties(call, OTHER, *window)}
    assert {medic["id"], away["id"], clash["id"], capped["id"]} <= theirs
    assert not {full["id"], called_off["id"], started["id"]} & theirs
    assert [d["occurrence_id"] for d in open_duties(call, ME, *window, kind="sanitation")] == []
    assert [d["occurrence_id"] for d in open_duties(call, OTHER, *window, kind="sanitation")] == [
        away["id"],
        capped["id"],
    ]

    # Organisers read anyone's; a volunteer only their own.
    assert organiser.list_open_duties(volunteer_id=ME, start=iso(window[0]), end=iso(window[1])) == offered
    with pytest.raises(Forbidden):
        call(as_volunteer(OTHER)).list_open_duties(volunteer_id=ME, start=iso(window[0]), end=iso(window[1]))
    with pytest.raises(InvalidInput, match="at most 62 days"):
        open_duties(call, ME, window[0], window[0] + timedelta(days=63))
    volunteers.proxy.deactivate_volunteer(volunteer_id=THIRD)
    assert open_duties(call, THIRD, *window) == []


def test_a_volunteer_cancels_until_the_deadline_then_only_an_organiser_does(organiser, call, volunteers, clock):
    for vid in (ME, OTHER, THIRD):
        volunteers.add(vid)
    start = at(3, 19)
    patrol = occurrence(
        organiser, "夜巡", "patrol", start, grid_id=4, roles=[{"name": "patroller", "needed": 2, "skills": []}]
    )
    mine, other, waiting = (
        call(as_volunteer(v)).sign_up(occurrence_id=patrol["id"], volunteer_id=v) for v in (ME, OTHER, THIRD)
    )
    assert waiting["status"] == "waitlisted"
    deadline = start - timedelta(hours=24)  # patrols: 24 hours (CANCEL_DEADLINES)
    duties = call(as_volunteer(ME)).list_duties(volunteer_id=ME, start=iso(at(0, 0)), end=iso(at(7, 0)))
    assert duties[0]["cancel_until"] == iso(deadline)
    queued = call(as_volunteer(THIRD)).list_duties(
        volunteer_id=THIRD, start=iso(at(0, 0)), end=iso(at(7, 0)), include_waitlisted=True
    )
    assert (queued[0]["status"], queued[0]["cancel_until"], queued[0]["waitlist_position"]) == ("waitlisted", None, 1)

    clock.set(deadline + timedelta(minutes=1))
    with pytest.raises(TooLateToCancel) as refused:
        call(as_volunteer(ME)).cancel_sign_up(signup_id=mine["id"])
    assert str(refused.value).startswith(f"cancel deadline {iso(deadline)} has passed")
    assert "I can't come" in str(refused.value)
    assert organiser.get_occurrence(occurrence_id=patrol["id"])["roles"][0]["volunteer_ids"] == [ME, OTHER]
    # A waitlist place is left at any time; an organiser cancels a duty at any time.
    assert call(as_volunteer(THIRD)).cancel_sign_up(signup_id=waiting["id"])["status"] == "cancelled"
    assert organiser.cancel_sign_up(signup_id=mine["id"])["status"] == "cancelled"

    clock.set(deadline)  # up to the deadline itself, the volunteer cancels
    assert call(as_volunteer(OTHER)).cancel_sign_up(signup_id=other["id"])["status"] == "cancelled"
    assert organiser.get_occurrence(occurrence_id=patrol["id"])["roles"][0]["volunteer_ids"] == []


@pytest.mark.service_config(CANCEL_DEADLINES="lecture:2 other:48")
def test_the_deadline_follows_the_kind_as_configured(organiser, call, volunteers, clock):
    volunteers.add(ME)
    lecture = occurrence(organiser, "立德树人讲堂", "lecture", at(3, 19), capacity=80, room="社区讲堂")
    fair = occurrence(organiser, "侨乡文化节", "cultural", at(3, 9), courtyard="观音里2号院")
    me = call(as_volunteer(ME))
    setup = me.sign_up(occurrence_id=lecture["id"], volunteer_id=ME, role="setup")
    helper = me.sign_up(occurrence_id=fair["id"], volunteer_id=ME)
    setup_start = at(3, 18)  # the setup duty starts an hour before the lecture
    duties = {d["id"]: d for d in me.list_duties(volunteer_id=ME, start=iso(at(0, 0)), end=iso(at(7, 0)))}
    assert duties[setup["id"]]["cancel_until"] == iso(setup_start - timedelta(hours=2))
    assert duties[helper["id"]]["cancel_until"] == iso(at(3, 9) - timedelta(hours=48))
    clock.set(setup_start - timedelta(hours=3))
    with pytest.raises(TooLateToCancel):
        me.cancel_sign_up(signup_id=helper["id"])
    assert me.cancel_sign_up(signup_id=setup["id"])["status"] == "cancelled"


def test_my_duties_show_partners_by_name_and_only_the_grid_leaders_phone(organiser, call, volunteers, events):
    for vid in (ME, OTHER, THIRD, LEADER):
        volunteers.add(vid)
    volunteers.proxy.assign_grid_leader(grid_id=4, volunteer_id=LEADER)
    roles = [{"name": "patroller", "needed": 2, "skills": []}]
    patrol = occurrence(organiser, "第四网格夜巡", "patrol", at(2, 19), grid_id=4, roles=roles)
    for vid in (ME, OTHER, THIRD):  # THIRD waits: not a partner
        organiser.sign_up(occurrence_id=patrol["id"], volunteer_id=vid)
    talk = occurrence(organiser, "立德树人讲堂", "lecture", at(3, 19), capacity=80, room="社区讲堂")
    organiser.sign_up(occurrence_id=talk["id"], volunteer_id=ME, role="reception")
    done = occurrence(organiser, "午间巡逻", "patrol", now() - timedelta(minutes=90), grid_id=4, roles=roles)
    attended = organiser.sign_up(occurrence_id=done["id"], volunteer_id=ME)
    organiser.mark_attendance(signup_id=attended["id"], status="attended")
    ledger_deadline = time.monotonic() + 10  # the ledger credits the points on attendance_recorded
    while not volunteers.proxy.get_ledger(volunteer_id=ME)["entries"] and time.monotonic() < ledger_deadline:
        time.sleep(0.05)
    credited = volunteers.proxy.get_ledger(volunteer_id=ME)["entries"][0]

    answer = call(as_volunteer(ME)).list_duties(volunteer_id=ME, start=iso(at(-1, 0)), end=iso(at(7, 0)))
    by_occurrence = {d["occurrence_id"]: d for d in answer}
    night = by_occurrence[patrol["id"]]
    assert night["partners"] == [{"volunteer_id": OTHER, "name": f"志愿者{OTHER}"}]
    assert night["grid_leader"] == {"volunteer_id": LEADER, "name": f"志愿者{LEADER}", "phone": phone(LEADER)}
    assert night["points"] is None and night["cancel_until"] == iso(at(1, 19))
    assert by_occurrence[talk["id"]]["grid_leader"] is None and by_occurrence[talk["id"]]["partners"] == []
    past = by_occurrence[done["id"]]
    assert (past["attendance"], past["hours"], past["points"]) == ("attended", credited["hours"], credited["points"])
    assert past["points"] > 0
    # No phone but the grid leader's reaches the volunteer, whoever else shares their duties.
    text = json.dumps(answer, ensure_ascii=False)
    assert phone(LEADER) in text
    assert [p for p in (phone(v) for v in (ME, OTHER, THIRD)) if p in text] == []
    # The other volunteer on the patrol sees ME as partner, by name only, and the same leader.
    theirs = call(as_volunteer(OTHER)).list_duties(volunteer_id=OTHER, start=iso(at(0, 0)), end=iso(at(7, 0)))
    assert theirs[0]["partners"] == [{"volunteer_id": ME, "name": f"志愿者{ME}"}]
    assert phone(ME) not in json.dumps(theirs)
    with pytest.raises(Forbidden):
        call(as_volunteer(OTHER)).list_duties(volunteer_id=ME, start=iso(at(0, 0)), end=iso(at(7, 0)))


def test_the_service_does_not_start_with_deadlines_it_cannot_read(container_factory, service_config):
    from activities.service import ActivitiesService

    container = container_factory(ActivitiesService, {**service_config, "CANCEL_DEADLINES": "patrol:forever"})
    with pytest.raises(ValueError, match="CANCEL_DEADLINES: patrol: 'forever'"):
        container.start()
