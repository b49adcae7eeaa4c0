"""The Lide Shuren lecture hall: registrations up to the hall's capacity, the waitlist and its
promotions, the door list and check-in, phones for organisers only, the duties filled from
sign-ups, and a weekly cap that sign-ups keep as open duties do."""

from datetime import timedelta

import pytest
from activities_testkit import as_volunteer, at, iso, next_monday

from activities.exceptions import OccurrenceClosed, WeeklyCapReached
from guanyinli.errors import Conflict, Forbidden

pytestmark = pytest.mark.integration
VIEWER = {"roles": ["viewer"], "name": "查看者"}


def lecture(organiser, capacity: int, day: int = 3, title: str = "立德树人讲堂：老年人防诈骗") -> dict:
    organiser.create_activity(
        title=title, kind="lecture", room="立德树人讲堂", capacity=capacity, start=iso(at(day, 14)), duration_minutes=90
    )
    return organiser.list_occurrences(start=iso(at(day, 0)), end=iso(at(day + 1, 0)), kind="lecture")[0]


def test_past_capacity_residents_wait_and_a_cancellation_promotes_the_head(organiser, call):
    occ = lecture(organiser, capacity=2)
    resident = call(None)
    names = ["李阿姨", "张大爷", "陈先生", "赵女士"]
    rows = [
        resident.register_attendee(occurrence_id=occ["id"], name=n, phone=f"1391234{i:04d}")
        for i, n in enumerate(names)
    ]
    assert [r["status"] for r in rows] == ["registered", "registered", "waitlisted", "waitlisted"]
    organiser.cancel_registration(registration_id=rows[1]["id"])
    door = organiser.door_list(occurrence_id=occ["id"])
    assert [(r["name"], r["status"], r["waitlist_position"]) for r in door["registrations"]] == [
        ("李阿姨", "registered", None),
        ("陈先生", "registered", None),
        ("赵女士", "waitlisted", 1),
    ]
    assert (door["registered"], door["waitlisted"], door["attendee_capacity"]) == (2, 1, 2)
    # The capacity grows: the waitlist moves up without anyone cancelling.
    organiser.update_activity(activity_id=occ["activity_id"], changes={"capacity": 3})
    assert organiser.door_list(occurrence_id=occ["id"])["waitlisted"] == 0


def test_check_in_at_the_door_opens_two_hours_before(organiser, call, clock):
    occ = lecture(organiser, capacity=1)
    resident = call(None)
    li = resident.register_attendee(occurrence_id=occ["id"], name="李阿姨", phone="13912345678")
    wang = resident.register_attendee(occurrence_id=occ["id"], name="王先生", phone="13800001111")
    start = at(3, 14)
    clock.set(start - timedelta(hours=3))
    with pytest.raises(OccurrenceClosed):
        organiser.check_in(registration_id=li["id"])
    clock.set(start - timedelta(minutes=20))
    done = organiser.check_in(registration_id=li["id"])
    assert done["checked_in_at"] is not None
    assert organiser.check_in(registration_id=li["id"]) == done  # a second tap changes nothing
    with pytest.raises(Conflict):
        organiser.check_in(registration_id=wang["id"])  # waitlisted: no place yet
    with pytest.raises(Forbidden):
        call(VIEWER).check_in(registration_id=li["id"])
    assert organiser.door_list(occurrence_id=occ["id"])["checked_in"] == 1
    assert organiser.check_in(registration_id=li["id"], undo=True)["checked_in_at"] is None


def test_phones_go_to_organisers_viewers_see_them_masked(organiser, call):
    occ = lecture(organiser, capacity=5)
    mine = call(None).register_attendee(occurrence_id=occ["id"], name="李阿姨", phone="13912345678")
    assert mine["phone"] == "13912345678"  # the resident's own answer
    assert organiser.door_list(occurrence_id=occ["id"])["registrations"][0]["phone"] == "13912345678"
    seen = call(VIEWER).door_list(occurrence_id=occ["id"])["registrations"][0]
    assert (seen["phone"], seen["phone_masked"]) == (None, "139****5678")
    for caller in (None, as_volunteer(3)):
        with pytest.raises(Forbidden):
            call(caller).door_list(occurrence_id=occ["id"])


def test_concurrent_cancellations_and_registrations_never_overbook(organiser, call):
    occ = lecture(organiser, capacity=5)
    resident = call(None)
    first = [resident.register_attendee(occurrence_id=occ["id"], name=f"居民{n}") for n in range(12)]
    cancels = [organiser.cancel_registration.call_async(registration_id=r["id"]) for r in first[:3]]
    joins = [resident.register_attendee.call_async(occurrence_id=occ["id"], name=f"新居民{n}") for n in range(10)]
    for reply in cancels + joins:
        reply.result()
    door = organiser.door_list(occurrence_id=occ["id"])
    assert door["registered"] == 5
    assert door["waitlisted"] == 12 + 10 - 3 - 5
    waiting = [r["waitlist_position"] for r in door["registrations"] if r["status"] == "waitlisted"]
    assert waiting == list(range(1, door["waitlisted"] + 1))


def test_setup_and_reception_are_filled_from_sign_ups(organiser, call, volunteers):
    for vid in (1, 2, 3):
        volunteers.add(vid)
    occ = lecture(organiser, capacity=30, day=2)
    for vid in (1, 2):
        call(as_volunteer(vid)).sign_up(occurrence_id=occ["id"], volunteer_id=vid, role="setup")
    assert organiser.sign_up(occurrence_id=occ["id"], volunteer_id=3, role="reception")["status"] == "confirmed"
    roles = {r["name"]: r for r in organiser.get_occurrence(occurrence_id=occ["id"])["roles"]}
    assert (roles["setup"]["confirmed"], roles["setup"]["capacity"], roles["reception"]["volunteer_ids"]) == (2, 2, [3])


@pytest.mark.service_config(MAX_DUTIES_PER_WEEK=1)
def test_sign_up_keeps_the_weekly_cap_of_open_duties(organiser, call, volunteers):
    volunteers.add(1)
    week = next_monday()
    talks = []
    for day in (1, 3):
        organiser.create_activity(
            title=f"讲座{day}",
            kind="lecture",
            room="立德树人讲堂",
            capacity=10,
            start=iso(week + timedelta(days=day, hours=14)),
            duration_minutes=60,
        )
    talks = organiser.list_occurrences(start=iso(week), end=iso(week + timedelta(days=7)), kind="lecture")
    me = call(as_volunteer(1))
    me.sign_up(occurrence_id=talks[0]["id"], volunteer_id=1, role="setup")
    open_ = me.list_open_duties(volunteer_id=1, start=iso(week), end=iso(week + timedelta(days=7)))
    assert open_ == []
    with pytest.raises(WeeklyCapReached):
        me.sign_up(occurrence_id=talks[1]["id"], volunteer_id=1, role="setup")
