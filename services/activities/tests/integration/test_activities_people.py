"""Lecture registrations, tutor ratio, private visit fields, attendance and the roster's duty assignment."""

from datetime import datetime, timedelta

import pytest
from activities_testkit import as_volunteer, at, iso
from sqlalchemy.orm import Session

from activities import store
from activities.exceptions import DutyClash, RoleFull
from guanyinli.db import make_engine
from guanyinli.errors import Conflict, Forbidden, InvalidInput
from guanyinli.timeutil import now

pytestmark = pytest.mark.integration
VIEWER = {"roles": ["viewer"], "name": "查看者"}


def test_lecture_registrations_fill_the_room_then_waitlist(organiser, call):
    organiser.create_activity(
        title="立德树人讲堂：老年人防诈骗",
        kind="lecture",
        room="立德树人讲堂",
        capacity=2,
        start=iso(at(5, 14)),
        duration_minutes=90,
    )
    occ = organiser.list_occurrences(start=iso(at(5, 0)), end=iso(at(6, 0)))[0]
    resident = call(None)
    a = resident.register_attendee(occurrence_id=occ["id"], name="李阿姨", phone="13912345678", request_id="r-a")
    assert (
        resident.register_attendee(occurrence_id=occ["id"], name="李阿姨", phone="13912345678", request_id="r-a") == a
    )
    b = resident.register_attendee(occurrence_id=occ["id"], name="张大爷")
    c = resident.register_attendee(occurrence_id=occ["id"], name="陈先生")
    d = resident.register_attendee(occurrence_id=occ["id"], name="赵女士")
    assert [x["status"] for x in (a, b, c, d)] == ["registered", "registered", "waitlisted", "waitlisted"]
    assert (c["waitlist_position"], d["waitlist_position"]) == (1, 2)
    view = organiser.get_occurrence(occurrence_id=occ["id"])
    assert (view["attendees"], view["attendee_capacity"], view["attendees_waitlisted"]) == (2, 2, 2)
    with pytest.raises(Forbidden):
        resident.cancel_registration(registration_id=a["id"])
    organiser.cancel_registration(registration_id=a["id"])
    view = organiser.get_occurrence(occurrence_id=occ["id"])
    assert (view["attendees"], view["attendees_waitlisted"]) == (2, 1)
    with pytest.raises(InvalidInput, match="phone"):
        resident.register_attendee(occurrence_id=occ["id"], name="王", phone="12345")


def test_tutor_seats_grow_with_registered_pupils(organiser, volunteers, events):
    for vid in (1, 2):
        volunteers.add(vid, skills=["tutoring"])
    organiser.create_activity(
        title="林宏汉周末爱心学堂",
        kind="tutoring",
        room="社区活动中心 201",
        start=iso(at(2, 9)),
        duration_minutes=120,
        pupils_per_tutor=2,
    )
    occ = organiser.list_occurrences(start=iso(at(2, 0)), end=iso(at(3, 0)))[0]
    assert occ["roles"][0]["capacity"] == 1
    assert organiser.sign_up(occurrence_id=occ["id"], volunteer_id=1)["status"] == "confirmed"
    assert organiser.sign_up(occurrence_id=occ["id"], volunteer_id=2)["status"] == "waitlisted"
    for name in ("小明", "小红", "小刚"):
        organiser.register_attendee(occurrence_id=occ["id"], name=name)
    # Three pupils at two per tutor: a second tutor seat opens and the waitlisted tutor takes it.
    role = organiser.get_occurrence(occurrence_id=occ["id"])["roles"][0]
    assert (role["capacity"], role["confirmed"], role["volunteer_ids"]) == (2, 2, [1, 2])
    assert events.wait("signup_promoted")[0]["volunteer_id"] == 2


def test_visit_private_fields_only_for_organisers_and_assigned_visitors(organiser, call, volunteers):
    for vid in (1, 2, 3):
        volunteers.add(vid)
    visit = organiser.create_activity(
        title="探望独居老人",
        kind="elderly_visit",
        team="convenient_service",
        grid_id=9,
        start=iso(at(3, 15)),
        duration_minutes=60,
        rrule="FREQ=WEEKLY;COUNT=4",
        visited_person="孙奶奶",
        private_address="观音里 12 幢 3 单元 402",
        health_notes="高血压，行动不便",
    )
    assert visit["private"]["address"] == "观音里 12 幢 3 单元 402"
    occ = organiser.list_occurrences(start=iso(at(3, 0)), end=iso(at(4, 0)))[0]
    organiser.sign_up(occurrence_id=occ["id"], volunteer_id=1)
    organiser.sign_up(occurrence_id=occ["id"], volunteer_id=2)
    assert occ["roles"][0]["needed"] == 2
    for user, sees in ((as_volunteer(1), True), (as_volunteer(2), True), (as_volunteer(3), False), (VIEWER, False)):
        proxy = call(user)
        got = proxy.get_occurrence(occurrence_id=occ["id"])["private"]
        assert (got is not None) == sees, user
        listed = proxy.list_occurrences(start=iso(at(3, 0)), end=iso(at(4, 0)))[0]["private"]
        assert (listed is not None) == sees
        assert (proxy.get_activity(activity_id=visit["id"])["private"] is not None) == sees
        if sees:
            assert got == {
                "visited_person": "孙奶奶",
                "address": "观音里 12 幢 3 单元 402",
                "health_notes": "高血压，行动不便",
            }
    # The fields belong to the visit (one person, one address): a visitor sees them on its other
    # occurrences too, as get_activity shows them; someone never assigned sees them on none.
    later = at(10, 0), at(11, 0)
    assert call(as_volunteer(1)).list_occurrences(start=iso(later[0]), end=iso(later[1]))[0]["private"] is not None
    assert call(as_volunteer(3)).list_occurrences(start=iso(later[0]), end=iso(later[1]))[0]["private"] is None


def test_visit_private_fields_end_days_after_the_visitors_last_visit(organiser, call, volunteers, clock):
    """A visitor sees the private fields while a visit of theirs is current or coming and for
    VISIT_DETAILS_DAYS_AFTER (7) days after their last one; organisers always (time from the clock)."""
    for vid in (1, 2, 3, 4):
        volunteers.add(vid)
    visit = organiser.create_activity(
        title="探望独居老人",
        kind="elderly_visit",
        grid_id=9,
        start=iso(at(3, 15)),
        duration_minutes=60,
        rrule="FREQ=WEEKLY;COUNT=2",
        visited_person="孙奶奶",
        private_address="观音里 12 幢 3 单元 402",
        health_notes="高血压，行动不便",
    )
    first, second = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(20, 0)))
    for vid in (1, 2):
        organiser.sign_up(occurrence_id=first["id"], volunteer_id=vid)
    organiser.sign_up(occurrence_id=second["id"], volunteer_id=3)
    cancelled = organiser.sign_up(occurrence_id=second["id"], volunteer_id=4)
    organiser.cancel_sign_up(signup_id=cancelled["id"])

    def seen(vid: int) -> tuple[bool, bool, bool]:
        proxy = call(as_volunteer(vid))
        window = iso(at(0, 0)), iso(at(20, 0))
        return (
            proxy.get_activity(activity_id=visit["id"])["private"] is not None,
            proxy.get_occurrence(occurrence_id=second["id"])["private"] is not None,
            all(o["private"] is not None for o in proxy.list_occurrences(start=window[0], end=window[1])),
        )

    first_end, second_end = datetime.fromisoformat(first["end"]), datetime.fromisoformat(second["end"])
    expected = {
        at(0, 9): {1: True, 2: True, 3: True, 4: False},  # coming visits
        first_end + timedelta(days=7): {1: True, 2: True, 3: True, 4: False},
        first_end + timedelta(days=7, seconds=1): {1: False, 2: False, 3: True, 4: False},
        second_end + timedelta(days=7): {1: False, 2: False, 3: True, 4: False},
        second_end + timedelta(days=7, seconds=1): {1: False, 2: False, 3: False, 4: False},
    }
    for moment, sees in expected.items():
        clock.set(moment)
        assert {vid: seen(vid) for vid in sees} == {vid: (s, s, s) for vid, s in sees.items()}, moment
        assert organiser.get_activity(activity_id=visit["id"])["private"]["health_notes"] == "高血压，行动不便"


@pytest.mark.service_config(VISIT_DETAILS_DAYS_AFTER=0)
def test_visit_private_fields_end_with_the_visit_when_no_days_are_configured(organiser, call, volunteers, clock):
    volunteers.add(1)
    visit = organiser.create_activity(
        title="探望独居老人", kind="elderly_visit", grid_id=9, start=iso(at(2, 15)), duration_minutes=60,
        visited_person="孙奶奶", private_address="观音里 12 幢 3 单元 402",
    )  # fmt: skip
    (occ,) = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(5, 0)))
    organiser.sign_up(occurrence_id=occ["id"], volunteer_id=1)
    end = datetime.fromisoformat(occ["end"])
    clock.set(end)
    assert call(as_volunteer(1)).get_activity(activity_id=visit["id"])["private"]["address"]
    clock.set(end + timedelta(seconds=1))
    assert call(as_volunteer(1)).get_activity(activity_id=visit["id"])["private"] is None


def test_attendance_emits_hours_and_keeps_the_no_show_rate(organiser, volunteers, events, call):
    for vid in (1, 2, 3):
        volunteers.add(vid)
    # Started half an hour ago: signing up now is late notice; attendance may be marked.
    start = now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    organiser.create_activity(
        title="观音里清洁家园", kind="sanitation", courtyard="三号院", start=iso(start), duration_minutes=120
    )
    occ = organiser.list_occurrences(start=iso(start), end=iso(start + timedelta(hours=1)), kind="sanitation")[0]
    signups = [organiser.sign_up(occurrence_id=occ["id"], volunteer_id=v) for v in (1, 2, 3)]
    marked = organiser.mark_attendance(signup_id=signups[0]["id"], status="attended")
    assert marked["attendance"] == "attended" and marked["hours"] == 2.0
    organiser.mark_attendance(signup_id=signups[1]["id"], status="no_show")
    organiser.mark_attendance(signup_id=signups[2]["id"], status="excused")
    organiser.mark_attendance(signup_id=signups[0]["id"], status="attended")  # unchanged: no event
    recorded = events.wait("attendance_recorded", 3)
    first = recorded[0]
    assert (first["volunteer_id"], first["status"], first["hours"], first["late_notice"]) == (1, "attended", 2.0, True)
    assert first["team"] == "sanitation_green" and first["weekend"] == (start.weekday() >= 5)
    assert [r["hours"] for r in recorded] == [2.0, 0.0, 0.0] and len(events.of("attendance_recorded")) == 3

    stats = call(as_volunteer(2)).volunteer_stats(volunteer_id=2)
    assert (stats["no_show"], stats["no_show_rate"]) == (1, 1.0)
    assert organiser.volunteer_stats(volunteer_id=3)["no_show_rate"] is None  # excused is not due
    # A correction moves the counts.
    organiser.mark_attendance(signup_id=signups[1]["id"], status="attended", hours=1.5)
    stats = organiser.volunteer_stats(volunteer_id=2)
    assert (stats["attended"], stats["no_show"], stats["hours"], stats["no_show_rate"]) == (1, 0, 1.5, 0.0)
    with pytest.raises(Forbidden):
        call(as_volunteer(1)).mark_attendance(signup_id=signups[0]["id"], status="attended")
    with pytest.raises(Conflict, match="attendance"):
        organiser.cancel_sign_up(signup_id=signups[0]["id"])


def test_attendance_waits_for_the_duty_to_start(organiser, volunteers):
    volunteers.add(1)
    organiser.create_activity(
        title="便民服务", kind="convenience", courtyard="五号院", start=iso(at(2, 9)), duration_minutes=60
    )
    occ = organiser.list_occurrences(start=iso(at(2, 0)), end=iso(at(3, 0)))[0]
    signup = organiser.sign_up(occurrence_id=occ["id"], volunteer_id=1)
    with pytest.raises(Conflict, match="started"):
        organiser.mark_attendance(signup_id=signup["id"], status="attended")


def test_roster_assigns_patrol_duties_through_the_store(organiser, services):
    organiser.create_activity(
        title="第二网格夜巡", kind="patrol", grid_id=2, start=iso(at(1, 19)), duration_minutes=120
    )
    organiser.create_activity(title="第三网格夜巡", kind="patrol", grid_id=3, start=iso(at(1, 20)), duration_minutes=60)
    grid2, grid3 = (organiser.list_activities(grid=g)[0]["id"] for g in (2, 3))
    # The session holds the database (SQLite: the write lock) so no RPC inside it.
    engine = make_engine(services["DB_URIS"]["activities"])
    with Session(engine) as session, session.begin():
        occ = store.ensure_occurrence(session, grid2, at(1, 19))
        first, changed = store.assign_patrol_duty(session, occ.id, 11)
        assert (first.status, first.source, changed) == ("confirmed", "roster", True)
        assert store.assign_patrol_duty(session, occ.id, 11) == (first, False)
        store.assign_patrol_duty(session, occ.id, 12)
        with pytest.raises(RoleFull):
            store.assign_patrol_duty(session, occ.id, 13)
        other = store.ensure_occurrence(session, grid3, at(1, 20))
        with pytest.raises(DutyClash):
            store.assign_patrol_duty(session, other.id, 11)
        occ_id = occ.id
    engine.dispose()
    assert organiser.get_occurrence(occurrence_id=occ_id)["roles"][0]["volunteer_ids"] == [11, 12]


def test_concurrent_registrations_fill_the_room_exactly(organiser, call):
    organiser.create_activity(
        title="立德树人讲堂：垃圾分类",
        kind="lecture",
        room="立德树人讲堂",
        capacity=10,
        start=iso(at(4, 14)),
        duration_minutes=60,
    )
    occ = organiser.list_occurrences(start=iso(at(4, 0)), end=iso(at(5, 0)))[0]
    resident = call(None)
    replies = [resident.register_attendee.call_async(occurrence_id=occ["id"], name=f"居民{n}") for n in range(60)]
    answers = [r.result() for r in replies]
    assert sum(a["status"] == "registered" for a in answers) == 10
    assert sorted(a["waitlist_position"] for a in answers if a["status"] == "waitlisted") == list(range(1, 51))
    view = organiser.get_occurrence(occurrence_id=occ["id"])
    assert (view["attendees"], view["attendees_waitlisted"]) == (10, 50)
