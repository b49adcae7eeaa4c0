"""The weekend school over RPC: the pupils' register, tutors assigned and signed up, continuity, pins kept on
a re-assignment, what lacks tutors, and the guardian's phone kept from tutors.

Runs the real activities and volunteers services on both databases; the terms are small (a few pupils, two
weekends) so each is solved to optimality in well under a second.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from activities_testkit import as_volunteer, iso, next_monday

from activities.exceptions import SkillMissing
from conftest import REAL_VOLUNTEERS
from guanyinli.errors import Forbidden, InvalidInput

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(REAL_VOLUNTEERS is None, reason="the school reads its tutors from the real volunteers service"),
]

WEEKENDS = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in (5, 6)]


def tutors(call, *subjects: tuple[str, ...]) -> list[int]:
    """One tutor per tuple of subject codes, free every weekend day."""
    directory = call({"roles": ["organiser"]}, service="volunteers")
    ids = []
    for n, codes in enumerate(subjects):
        record = directory.create_volunteer(
            name=f"辅导老师{n + 1}", phone=f"1360000{n:04d}", skills=[f"tutoring:{c}" for c in codes]
        )
        directory.set_availability(volunteer_id=record["id"], weekly=WEEKENDS)
        ids.append(record["id"])
    return ids


def weekend_school(organiser, weekends: int = 2, pupils_per_tutor: int = 2) -> int:
    saturday = next_monday() + timedelta(days=5, hours=9)
    activity = organiser.create_activity(
        title="林宏汉周末爱心学堂",
        kind="tutoring",
        room="社区活动中心 二楼教室",
        start=iso(saturday),
        duration_minutes=120,
        rrule=f"FREQ=WEEKLY;BYDAY=SA,SU;COUNT={2 * weekends}",
        pupils_per_tutor=pupils_per_tutor,
        roles=[{"name": "tutor", "needed": 1, "skills": ["tutoring"]}],
    )
    return activity["id"]


def window(weeks: int = 2) -> dict:
    monday = next_monday()
    return {"start": iso(monday), "end": iso(monday + timedelta(days=7 * weeks))}


def pupil(organiser, name: str, grade: int, subjects: list[str], n: int = 0) -> dict:
    return organiser.register_pupil(
        name=name, grade=grade, subjects=subjects, guardian_name=f"{name}的妈妈", guardian_phone=f"1590000{n:04d}"
    )


def by_session(assignments: list[dict]) -> dict[int, list[dict]]:
    out = defaultdict(list)
    for a in assignments:
        out[a["occurrence_id"]].append(a)
    return out


def test_register_assign_covers_every_subject_and_the_tutors_get_their_duties(call, organiser, events):
    math_english, chinese = tutors(call, ("math", "english"), ("chinese",))
    weekend_school(organiser, pupils_per_tutor=3)
    pupils = [
        pupil(organiser, "小明", 3, ["math", "chinese"], 1),
        pupil(organiser, "小红", 5, ["english"], 2),
        pupil(organiser, "小刚", 4, ["math"], 3),
    ]
    assert pupils[0]["guardian_phone"] == "15900000001"  # whoever registers the pupil gets it back

    answer = organiser.assign_tutors(**window(), time_limit=5)
    assert answer["status"] == "optimal" and answer["sessions"] == 4
    assert answer["needs"] == answer["covered"] == 16 and answer["objective"] == answer["bound"]
    teaches = {math_english: {"math", "english"}, chinese: {"chinese"}}
    for rows in by_session(answer["assignments"]).values():
        assert len(rows) == 4
        for a in rows:
            assert a["subject"] in teaches[a["tutor_id"]] and a["reason"] is None
        per_tutor = defaultdict(set)
        for a in rows:
            per_tutor[a["tutor_id"]].add(a["pupil_id"])
        assert max(len(p) for p in per_tutor.values()) <= 3  # pupils_per_tutor
    assert "guardian_phone" not in answer["assignments"][0]

    duties = organiser.list_duties(volunteer_id=chinese, **window())
    assert {d["occurrence_id"] for d in duties} == set(by_session(answer["assignments"]))
    signed = events.wait_for("signup_confirmed", lambda e: e["volunteer_id"] == chinese)
    assert "guardian_phone" not in str(signed) and "小明" not in str(signed)

    again = organiser.assign_tutors(**window(), time_limit=5)
    assert {(a["id"], a["tutor_id"]) for a in again["assignments"]} == {
        (a["id"], a["tutor_id"]) for a in answer["assignments"]
    }
    assert len(organiser.list_duties(volunteer_id=chinese, **window())) == 4


def test_the_same_tutor_week_after_week(call, organiser):
    first, second = tutors(call, ("math",), ("math",))
    weekend_school(organiser, pupils_per_tutor=5)
    xiaoming = pupil(organiser, "小明", 3, ["math"])
    monday = next_monday()
    week1 = {"start": iso(monday), "end": iso(monday + timedelta(days=7))}
    week2 = {"start": iso(monday + timedelta(days=7)), "end": iso(monday + timedelta(days=14))}

    one = organiser.assign_tutors(**week1, time_limit=5)
    (tutor,) = {a["tutor_id"] for a in one["assignments"]}
    two = organiser.assign_tutors(**week2, time_limit=5)
    assert {a["tutor_id"] for a in two["assignments"]} == {tutor} and two["tutor_changes"] == 0
    listed = organiser.list_assignments(**window())
    assert [a["pupil_id"] for a in listed] == [xiaoming["id"]] * 4
    assert {first, second} >= {a["tutor_id"] for a in listed}


def test_a_changed_tutor_is_pinned_and_kept_on_a_re_assignment(call, organiser, events):
    first, second, chinese = tutors(call, ("math",), ("math",), ("chinese",))
    weekend_school(organiser, pupils_per_tutor=5)
    pupil(organiser, "小明", 3, ["math"])
    answer = organiser.assign_tutors(**window(), time_limit=5)
    last = answer["assignments"][-1]
    tutor = last["tutor_id"]
    other = second if tutor == first else first

    changed = organiser.change_assignment(assignment_id=last["id"], tutor_id=other)
    assert changed["tutor_id"] == other and changed["pinned"]
    assert last["occurrence_id"] in {d["occurrence_id"] for d in organiser.list_duties(volunteer_id=other, **window())}
    assert last["occurrence_id"] not in {
        d["occurrence_id"] for d in organiser.list_duties(volunteer_id=tutor, **window())
    }
    assert (
        events.wait_for("signup_cancelled", lambda e: e["volunteer_id"] == tutor)["occurrence_id"]
        == last["occurrence_id"]
    )

    again = organiser.assign_tutors(**window(), time_limit=5)
    kept = {a["occurrence_id"]: a for a in again["assignments"]}[last["occurrence_id"]]
    assert kept["tutor_id"] == other and kept["pinned"] and again["unkept_pins"] == []

    unpinned = organiser.pin_assignment(assignment_id=last["id"], pinned=False)
    assert not unpinned["pinned"]
    with pytest.raises(SkillMissing):
        organiser.change_assignment(assignment_id=last["id"], tutor_id=chinese)


def test_subjects_short_of_tutors_are_listed_with_the_reason(call, organiser):
    tutors(call, ("math",))
    weekend_school(organiser, weekends=1)
    pupil(organiser, "小华", 9, ["math", "physics"])
    lacking = organiser.school_lacking(**window(1))
    assert {(n["subject"], n["shortfall"]) for n in lacking} == {("physics", 1)}
    assert "物理" in lacking[0]["message_zh"]
    later = next_monday() + timedelta(days=70)
    with pytest.raises(InvalidInput):  # no session to assign then
        organiser.assign_tutors(start=iso(later), end=iso(later + timedelta(days=7)))
    answer = organiser.assign_tutors(**window(1), time_limit=5)
    assert answer["covered"] == 2 and answer["needs"] == 4
    short = [a for a in answer["assignments"] if a["tutor_id"] is None]
    assert {a["subject"] for a in short} == {"physics"} and all(a["reason_zh"] for a in short)


def test_the_guardians_phone_is_for_organisers_only(call, organiser):
    (tutor,) = tutors(call, ("math",))
    weekend_school(organiser, weekends=1)
    registered = pupil(organiser, "小明", 3, ["math"], 7)
    pupil(organiser, "小丽", 2, ["chinese"], 8)  # nobody teaches her: not the tutor's pupil
    organiser.assign_tutors(**window(1), time_limit=5)

    mine = call(as_volunteer(tutor))
    (seen,) = mine.list_pupils()
    assert seen["id"] == registered["id"] and "guardian_phone" not in seen and "guardian_name" not in seen
    assert all("15900000007" not in str(a) for a in mine.list_assignments(**window(1)))
    assert {a["tutor_id"] for a in mine.list_assignments(**window(1))} == {tutor}
    with pytest.raises(Forbidden):
        mine.list_assignments(**window(1), tutor_id=tutor + 1)
    with pytest.raises(Forbidden):
        mine.register_pupil(name="x", grade=1, subjects=["math"], guardian_name="y", guardian_phone="13900000000")
    listed = {p["id"]: p for p in organiser.list_pupils()}
    assert listed[registered["id"]]["guardian_phone"] == "15900000007"
    with pytest.raises(Forbidden):
        mine.update_pupil(pupil_id=registered["id"], changes={"grade": 4})
    edited = organiser.update_pupil(pupil_id=registered["id"], changes={"grade": 4, "subjects": ["english", "math"]})
    assert edited["grade"] == 4 and edited["subjects"] == ["math", "english"]
    with pytest.raises(InvalidInput):
        organiser.update_pupil(pupil_id=registered["id"], changes={"subjects": ["astrology"]})

    withdrawn = organiser.withdraw_pupil(pupil_id=registered["id"])
    assert not withdrawn["active"]
    assert {(a["pupil_name"], a["tutor_id"]) for a in organiser.list_assignments(**window(1))} == {("小丽", None)}
    assert organiser.list_duties(volunteer_id=tutor, **window(1)) == []


def test_the_demo_term_is_registered_once_and_assigned(call, organiser, db_urls):
    from sqlalchemy.orm import Session

    from activities import demo, schooling
    from guanyinli.db import make_engine

    monday = next_monday().date()
    engine = make_engine(db_urls["activities"])
    for _ in range(2):
        with Session(engine) as session, session.begin():
            demo.load(session, monday)
    engine.dispose()
    assert len(organiser.list_pupils()) == len(schooling.DEMO_PUPILS)
    tutors(call, ("math", "physics"), ("chinese", "english"), ("math", "english"), ("math", "chinese"))

    answer = organiser.assign_tutors(**window(4), time_limit=3)
    assert answer["sessions"] == 8 and answer["covered"] > 0
    short = {a["subject"] for a in answer["assignments"] if a["tutor_id"] is None}
    assert short <= {"chemistry", "math", "chinese", "english"}  # chemistry: nobody teaches it
    assert "chemistry" in {n["subject"] for n in organiser.school_lacking(**window(4))}


def test_a_tutor_who_gives_up_a_session_is_not_signed_up_for_it_again(call, organiser):
    first, second = tutors(call, ("math",), ("math",))
    weekend_school(organiser, weekends=1, pupils_per_tutor=5)
    pupil(organiser, "小明", 3, ["math"])
    answer = organiser.assign_tutors(**window(1), time_limit=5)
    gone = answer["assignments"][0]
    tutor = gone["tutor_id"]
    (duty,) = [
        d for d in organiser.list_duties(volunteer_id=tutor, **window(1)) if d["occurrence_id"] == gone["occurrence_id"]
    ]
    call(as_volunteer(tutor)).cancel_sign_up(signup_id=duty["id"])

    again = organiser.assign_tutors(**window(1), time_limit=5)
    now = {a["occurrence_id"]: a["tutor_id"] for a in again["assignments"]}
    assert now[gone["occurrence_id"]] == ({first, second} - {tutor}).pop()
    held = {d["occurrence_id"] for d in organiser.list_duties(volunteer_id=tutor, **window(1))}
    assert gone["occurrence_id"] not in held
