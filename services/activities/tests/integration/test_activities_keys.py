"""Callers' keys (request_id) are scoped to the caller and fingerprinted; redeliveries get their first answer."""

import pytest
from activities_testkit import ORGANISER, as_volunteer, at, iso
from sqlalchemy import create_engine, text

from guanyinli.config import normalize_url
from guanyinli.errors import KeyReused
from guanyinli.testing import deliver_twice, signed

pytestmark = pytest.mark.integration

OTHER_ORGANISER = {"roles": ["organiser"], "name": "社区干部 李明"}


def lecture(organiser, days: int, title: str) -> dict:
    organiser.create_activity(
        title=title, kind="lecture", room="立德树人讲堂", capacity=30, start=iso(at(days, 14)), duration_minutes=90
    )
    return organiser.list_occurrences(start=iso(at(days, 0)), end=iso(at(days + 1, 0)), kind="lecture")[0]


def registrations(services) -> list[tuple]:
    engine = create_engine(normalize_url(services["DB_URIS"]["activities"]))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT occurrence_id, name, phone FROM registrations"))]
    finally:
        engine.dispose()


def test_a_request_id_reused_for_another_lecture_never_answers_with_another_residents_data(organiser, call, services):
    """The issue's case: residents without a token share one scope, and the reused key is refused."""
    fraud, health = lecture(organiser, 3, "老年人防诈骗"), lecture(organiser, 4, "健康讲座")
    li = call(None).register_attendee(occurrence_id=fraud["id"], name="李阿姨", phone="13912345678", request_id="1")
    with pytest.raises(KeyReused) as refused:
        call(None).register_attendee(occurrence_id=health["id"], name="张大爷", phone="13800000000", request_id="1")
    assert "李阿姨" not in str(refused.value.args) and "13912345678" not in str(refused.value.args)
    assert "request_id" in str(refused.value)  # told why, and what to do: a new request_id
    zhang = call(None).register_attendee(occurrence_id=health["id"], name="张大爷", phone="13800000000", request_id="2")
    assert (zhang["occurrence_id"], zhang["name"], zhang["status"]) == (health["id"], "张大爷", "registered")
    # A signed-in caller's "1" is a key of theirs: an independent registration.
    own = call(as_volunteer(5)).register_attendee(occurrence_id=health["id"], name="王老师", request_id="1")
    assert own["name"] == "王老师" and own["id"] not in (li["id"], zhang["id"])
    assert sorted(registrations(services)) == sorted(
        [
            (fraud["id"], "李阿姨", "13912345678"),
            (health["id"], "张大爷", "13800000000"),
            (health["id"], "王老师", None),
        ]
    )


def test_the_same_key_and_arguments_get_the_first_answer_and_make_one_activity(organiser, call):
    arguments = dict(title="环境整治", kind="sanitation", room="3号院", start=iso(at(3, 9)), duration_minutes=90)
    first = organiser.create_activity(**arguments, request_id="week-49-cleanup")
    assert organiser.create_activity(**arguments, request_id="week-49-cleanup") == first
    with pytest.raises(KeyReused):
        organiser.create_activity(**{**arguments, "room": "5号院"}, request_id="week-49-cleanup")
    assert [a["id"] for a in organiser.list_activities()] == [first["id"]]


def test_a_key_of_one_caller_does_not_collide_with_the_same_string_of_another(organiser, call):
    mine = organiser.create_activity(
        title="环境整治", kind="sanitation", room="3号院", start=iso(at(3, 9)), duration_minutes=90, request_id="k"
    )
    theirs = call(OTHER_ORGANISER).create_activity(
        title="便民服务", kind="convenience", room="服务站", start=iso(at(4, 9)), duration_minutes=60, request_id="k"
    )
    assert theirs["id"] != mine["id"] and theirs["title"] == "便民服务"
    assert sorted(a["title"] for a in organiser.list_activities()) == ["便民服务", "环境整治"]


def test_a_redelivered_sign_up_gets_its_first_answer_again(organiser, volunteers, events, services):
    volunteers.add(1, skills=["patrol"])
    organiser.create_activity(
        title="第四网格夜巡",
        kind="patrol",
        grid_id=4,
        start=iso(at(1, 19)),
        duration_minutes=120,
        roles=[{"name": "patroller", "needed": 1, "skills": ["patrol"]}],
    )
    occ = organiser.list_occurrences(start=iso(at(1, 0)), end=iso(at(2, 0)))[0]
    first, again = deliver_twice(
        services, "activities", "sign_up", signed(as_volunteer(1)), occurrence_id=occ["id"], volunteer_id=1
    )
    assert first["status"] == "confirmed" and again == first
    keyed = deliver_twice(
        services,
        "activities",
        "create_activity",
        signed(ORGANISER),
        title="便民服务",
        kind="convenience",
        room="服务站",
        start=iso(at(2, 9)),
        duration_minutes=60,
        request_id="convenience-1",
    )
    assert keyed[0] == keyed[1] and keyed[0]["title"] == "便民服务"
    assert [a["title"] for a in organiser.list_activities()].count("便民服务") == 1
    assert [e["signup_id"] for e in events.wait("signup_confirmed")] == [first["id"]]
