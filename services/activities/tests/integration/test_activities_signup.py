"""Sign-ups: skills, availability, clashes, seats, waitlist order, promotion and idempotency."""

import pytest
from activities_testkit import as_volunteer, at, iso
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from activities.exceptions import DutyClash, OccurrenceClosed, SkillMissing, VolunteerUnavailable
from guanyinli.errors import Forbidden, NotFound

pytestmark = pytest.mark.integration


@pytest.fixture
def patrol(organiser):
    """A daily evening patrol of grid 4 with one seat for a patroller."""
    organiser.create_activity(
        title="第四网格夜巡",
        kind="patrol",
        grid_id=4,
        start=iso(at(1, 19)),
        duration_minutes=120,
        rrule="FREQ=DAILY;COUNT=7",
        roles=[{"name": "patroller", "needed": 1, "skills": ["patrol"]}],
    )
    return organiser.list_occurrences(start=iso(at(1, 0)), end=iso(at(8, 0)))


def held_rows(calls) -> list[list[str]]:
    """The statements each transaction ran from its UPDATE of a role's seats to its COMMIT (the
    time it holds the role's row, on which every other sign-up for the role waits), while ``calls`` run."""
    log: list[tuple[int, str]] = []

    def statement(conn, cursor, text_, *args):
        log.append((id(conn.connection.dbapi_connection), " ".join(text_.split())))

    def commit(conn):
        log.append((id(conn.connection.dbapi_connection), "COMMIT"))

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    try:
        calls()
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(Engine, "commit", commit)
    held, open_ = [], {}
    for conn, text_ in log:
        if text_.startswith("UPDATE occurrence_roles SET confirmed") and conn not in open_:
            open_[conn] = []
        elif text_ == "COMMIT" and conn in open_:
            held.append(open_.pop(conn))
        elif conn in open_:
            open_[conn].append(text_.split(" (")[0])
    return held


def test_a_sign_up_holds_its_roles_row_only_for_its_own_writes(organiser, volunteers, patrol, events):
    """Once a sign-up has taken its seat (or found the role full), it reads nothing again before
    its commit but its waitlist position: the occurrence, the role and the activity it loaded before
    serve its answer and its event."""
    for vid in (1, 2):
        volunteers.add(vid, skills=["patrol"])
    occ = patrol[0]["id"]
    answers = []
    held = held_rows(lambda: answers.extend(organiser.sign_up(occurrence_id=occ, volunteer_id=v) for v in (1, 2)))
    assert [a["status"] for a in answers] == ["confirmed", "waitlisted"]
    assert answers[1]["waitlist_position"] == 1
    assert events.wait("signup_waitlisted")[0]["waitlist_position"] == 1
    confirmed, waitlisted = held
    assert [s.split(" ")[0] for s in confirmed] == ["INSERT"] * len(confirmed) and len(confirmed) <= 3
    assert waitlisted[0].startswith("UPDATE occurrence_roles SET waitlist_counter")
    reads = [s for s in waitlisted if s.startswith("SELECT")]
    assert len(reads) == 1 and reads[0].startswith("SELECT count(*)") and len(waitlisted) <= 5


def test_full_role_waitlists_in_order_and_cancellation_promotes(organiser, volunteers, patrol, events):
    for vid in (1, 2, 3):
        volunteers.add(vid, skills=["patrol"])
    occ = patrol[0]["id"]
    first = organiser.sign_up(occurrence_id=occ, volunteer_id=1)
    second = organiser.sign_up(occurrence_id=occ, volunteer_id=2)
    third = organiser.sign_up(occurrence_id=occ, volunteer_id=3)
    assert (first["status"], second["status"], third["status"]) == ("confirmed", "waitlisted", "waitlisted")
    assert (second["waitlist_position"], third["waitlist_position"]) == (1, 2)
    assert first["role"] == "patroller" and first["duty_start"] == iso(at(1, 19))
    events.wait("signup_waitlisted", 2)
    assert events.wait("signup_confirmed")[0]["volunteer_id"] == 1

    cancelled = organiser.cancel_sign_up(signup_id=first["id"])
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"]
    promoted = events.wait("signup_promoted")[0]
    assert promoted["volunteer_id"] == 2 and promoted["status"] == "confirmed"
    assert events.wait("signup_cancelled")[0]["volunteer_id"] == 1
    view = organiser.get_occurrence(occurrence_id=occ)["roles"][0]
    assert (view["confirmed"], view["volunteer_ids"], view["waitlist"]) == (1, [2], [3])
    assert (
        organiser.list_duties(volunteer_id=3, start=iso(at(1, 0)), end=iso(at(2, 0)), include_waitlisted=True)[0][
            "waitlist_position"
        ]
        == 1
    )

    # The waitlisted volunteer leaving the queue frees nothing and promotes nobody.
    organiser.cancel_sign_up(signup_id=third["id"])
    assert organiser.cancel_sign_up(signup_id=third["id"])["status"] == "cancelled"  # repeat: no-op
    assert len(events.of("signup_promoted")) == 1 and len(events.wait("signup_cancelled", 2)) == 2


def test_repeated_requests_are_idempotent(call, volunteers, patrol, events, services):
    volunteers.add(1, skills=["patrol"])
    volunteer = call(as_volunteer(1))
    occ = patrol[1]["id"]
    a = volunteer.sign_up(occurrence_id=occ, volunteer_id=1, request_id="req-1")
    b = volunteer.sign_up(occurrence_id=occ, volunteer_id=1, request_id="req-1")
    c = volunteer.sign_up(occurrence_id=occ, volunteer_id=1)
    assert a == b == c
    volunteer.cancel_sign_up(signup_id=a["id"])
    # The same request id after a cancellation is still the same request: its first answer...
    assert volunteer.sign_up(occurrence_id=occ, volunteer_id=1, request_id="req-1") == a
    # ...while a new request signs up again, reusing the row.
    again = volunteer.sign_up(occurrence_id=occ, volunteer_id=1, request_id="req-2")
    assert again["status"] == "confirmed" and again["id"] == a["id"]
    assert len(events.wait("signup_confirmed", 2)) == 2
    engine = create_engine(services["DB_URIS"]["activities"])
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT confirmed FROM occurrence_roles WHERE occurrence_id = :o"), {"o": occ}).scalar()
            == 1
        )
    engine.dispose()


def test_skills_availability_and_identity_are_checked(call, organiser, volunteers, patrol):
    volunteers.add(1, skills=["patrol"])
    volunteers.add(2, skills=["first_aid"])
    volunteers.add(3, skills=["patrol"], active=False)
    volunteers.set_unavailable(1, iso(at(2, 0)), iso(at(3, 0)), "回老家探亲")
    with pytest.raises(SkillMissing, match="patrol"):
        organiser.sign_up(occurrence_id=patrol[0]["id"], volunteer_id=2)
    with pytest.raises(VolunteerUnavailable, match="回老家探亲"):
        organiser.sign_up(occurrence_id=patrol[1]["id"], volunteer_id=1)
    with pytest.raises(VolunteerUnavailable, match="not active"):
        organiser.sign_up(occurrence_id=patrol[0]["id"], volunteer_id=3)
    with pytest.raises(NotFound, match="77"):
        organiser.sign_up(occurrence_id=patrol[0]["id"], volunteer_id=77)
    with pytest.raises(NotFound, match="role 'driver'"):
        organiser.sign_up(occurrence_id=patrol[0]["id"], volunteer_id=1, role="driver")
    with pytest.raises(Forbidden):
        call(as_volunteer(2)).sign_up(occurrence_id=patrol[0]["id"], volunteer_id=1)
    with pytest.raises(Forbidden):
        call(None).sign_up(occurrence_id=patrol[0]["id"], volunteer_id=1)
    assert call(as_volunteer(1)).sign_up(occurrence_id=patrol[0]["id"], volunteer_id=1)["status"] == "confirmed"


def test_clash_with_another_confirmed_duty(organiser, volunteers, patrol):
    volunteers.add(1, skills=["patrol", "reception"])
    organiser.create_activity(
        title="立德树人讲堂：反诈宣传",
        kind="lecture",
        room="立德树人讲堂",
        capacity=40,
        start=iso(at(1, 21)),
        duration_minutes=60,
    )
    lecture = organiser.list_occurrences(start=iso(at(1, 0)), end=iso(at(2, 0)), kind="lecture")[0]
    organiser.sign_up(occurrence_id=patrol[0]["id"], volunteer_id=1)  # 19:00-21:00
    # Reception starts 20:30: overlaps the patrol.
    with pytest.raises(DutyClash):
        organiser.sign_up(occurrence_id=lecture["id"], volunteer_id=1, role="reception")
    # Once the patrol duty is cancelled the reception duty is fine; a cancelled occurrence clashes with nothing.
    duty = organiser.list_duties(volunteer_id=1, start=iso(at(1, 0)), end=iso(at(2, 0)))[0]
    organiser.cancel_occurrence(occurrence_id=duty["occurrence_id"])
    assert organiser.sign_up(occurrence_id=lecture["id"], volunteer_id=1, role="reception")["status"] == "confirmed"


def test_no_sign_up_on_a_cancelled_or_finished_occurrence(organiser, volunteers, patrol):
    volunteers.add(1, skills=["patrol"])
    organiser.cancel_occurrence(occurrence_id=patrol[2]["id"])
    with pytest.raises(OccurrenceClosed):
        organiser.sign_up(occurrence_id=patrol[2]["id"], volunteer_id=1)
    organiser.create_activity(title="早巡", kind="patrol", grid_id=4, start=iso(at(-1, 6)), duration_minutes=60)
    past = organiser.list_occurrences(start=iso(at(-1, 0)), end=iso(at(0, 0)))[0]
    with pytest.raises(OccurrenceClosed, match="over"):
        organiser.sign_up(occurrence_id=past["id"], volunteer_id=1)


def test_list_duties_shows_the_volunteers_calendar(call, organiser, volunteers, patrol):
    volunteers.add(1, skills=["patrol"])
    for occ in patrol[:3]:
        organiser.sign_up(occurrence_id=occ["id"], volunteer_id=1)
    organiser.update_occurrence(occurrence_id=patrol[1]["id"], start=iso(at(2, 20)))
    organiser.cancel_occurrence(occurrence_id=patrol[2]["id"])
    duties = call(as_volunteer(1)).list_duties(volunteer_id=1, start=iso(at(0, 0)), end=iso(at(8, 0)))
    assert [(d["duty_start"], d["occurrence_status"]) for d in duties] == [
        (iso(at(1, 19)), "scheduled"),
        (iso(at(2, 20)), "scheduled"),
        (iso(at(3, 19)), "cancelled"),
    ]
    assert duties[1]["original_start"] == iso(at(2, 19)) and duties[1]["sequence"] == 1
    assert duties[0]["title"] == "第四网格夜巡" and duties[0]["place"] == "第4网格"
    with pytest.raises(Forbidden):
        call(as_volunteer(2)).list_duties(volunteer_id=1, start=iso(at(0, 0)), end=iso(at(8, 0)))


def test_promotion_passes_over_a_volunteer_who_took_a_clashing_duty(organiser, volunteers, patrol):
    for vid in (1, 2, 3):
        volunteers.add(vid, skills=["patrol"])
    organiser.create_activity(title="第五网格夜巡", kind="patrol", grid_id=5, start=iso(at(1, 20)), duration_minutes=60)
    other = organiser.list_occurrences(start=iso(at(1, 0)), end=iso(at(2, 0)), grid=5)[0]
    first = organiser.sign_up(occurrence_id=patrol[0]["id"], volunteer_id=1)
    assert organiser.sign_up(occurrence_id=patrol[0]["id"], volunteer_id=2)["status"] == "waitlisted"
    assert organiser.sign_up(occurrence_id=patrol[0]["id"], volunteer_id=3)["status"] == "waitlisted"
    organiser.sign_up(occurrence_id=other["id"], volunteer_id=2)  # 20:00-21:00, inside 19:00-21:00
    organiser.cancel_sign_up(signup_id=first["id"])
    role = organiser.get_occurrence(occurrence_id=patrol[0]["id"])["roles"][0]
    assert (role["volunteer_ids"], role["waitlist"]) == ([3], [2])


def test_more_seats_promote_the_waitlist(organiser, volunteers, patrol, events):
    for vid in (1, 2, 3):
        volunteers.add(vid, skills=["patrol"])
    for vid in (1, 2, 3):
        organiser.sign_up(occurrence_id=patrol[0]["id"], volunteer_id=vid)
    organiser.update_activity(
        activity_id=patrol[0]["activity_id"],
        changes={"roles": [{"name": "patroller", "needed": 2, "skills": ["patrol"]}]},
    )
    assert [e["volunteer_id"] for e in events.wait("signup_promoted")] == [2]
    role = organiser.get_occurrence(occurrence_id=patrol[0]["id"])["roles"][0]
    assert (role["capacity"], role["volunteer_ids"], role["waitlist"]) == (2, [1, 2], [3])
