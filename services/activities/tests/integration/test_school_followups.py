"""The school's assignment follows a tutor who leaves a session at once: cancelled, let go or handed to a
stand-in, the pupil shows as needing a tutor (or the stand-in as tutor) before the next assign_tutors."""

from __future__ import annotations

from datetime import timedelta

import eventlet
import pytest
from activities_testkit import as_volunteer, iso, next_monday
from test_school import pupil, tutors, weekend_school, window

from conftest import REAL_VOLUNTEERS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(REAL_VOLUNTEERS is None, reason="the school reads its tutors from the real volunteers service"),
]


def assigned(organiser) -> tuple[dict, int, dict]:
    """One weekend, one pupil of maths: the first session's row, its tutor and their duty there."""
    organiser.assign_tutors(**window(1), time_limit=5)
    row = organiser.list_assignments(**window(1))[0]
    tutor = row["tutor_id"]
    (duty,) = [
        d for d in organiser.list_duties(volunteer_id=tutor, **window(1)) if d["occurrence_id"] == row["occurrence_id"]
    ]
    return row, tutor, duty


def row_of(organiser, row: dict) -> dict:
    return next(r for r in organiser.list_assignments(**window(1)) if r["id"] == row["id"])


def test_a_tutor_who_cancels_leaves_the_pupil_needing_a_tutor(call, organiser):
    tutors(call, ("math",), ("math",))
    weekend_school(organiser, weekends=1, pupils_per_tutor=5)
    pupil(organiser, "小明", 3, ["math"])
    row, tutor, duty = assigned(organiser)
    organiser.pin_assignment(assignment_id=row["id"])
    call(as_volunteer(tutor)).cancel_sign_up(signup_id=duty["id"])

    now = row_of(organiser, row)
    assert now["tutor_id"] is None and not now["pinned"]
    assert now["reason"] == "the tutor gave up this session" and now["reason_zh"]
    others = [r for r in organiser.list_assignments(**window(1)) if r["occurrence_id"] != row["occurrence_id"]]
    assert all(r["tutor_id"] is not None for r in others), "the other session keeps its tutor"
    assert row["id"] not in {r["id"] for r in organiser.list_assignments(**window(1), tutor_id=tutor)}


def test_a_stand_in_who_teaches_the_subject_becomes_the_tutor(call, organiser):
    first, second, chinese = tutors(call, ("math",), ("math",), ("chinese",))
    weekend_school(organiser, weekends=1, pupils_per_tutor=5)
    pupil(organiser, "小明", 3, ["math"])
    row, tutor, duty = assigned(organiser)
    taker = second if tutor == first else first
    offer = call(as_volunteer(tutor)).cant_come(signup_id=duty["id"], reason="出差")
    assert row_of(organiser, row)["tutor_id"] == tutor, "still theirs until someone takes it"
    call(as_volunteer(taker)).accept_standin(offer_id=offer["offer_id"], volunteer_id=taker)

    now = row_of(organiser, row)
    assert (now["tutor_id"], now["reason"]) == (taker, None)
    mine = call(as_volunteer(taker)).list_assignments(**window(1), tutor_id=taker)
    assert row["id"] in {r["id"] for r in mine} and "guardian_phone" not in str(mine)


def test_a_stand_in_who_does_not_teach_the_subject_leaves_it_open(call, organiser):
    math, chinese = tutors(call, ("math",), ("chinese",))
    weekend_school(organiser, weekends=1, pupils_per_tutor=5)
    pupil(organiser, "小明", 3, ["math"])
    row, tutor, duty = assigned(organiser)
    offer = call(as_volunteer(math)).cant_come(signup_id=duty["id"])
    call(as_volunteer(chinese)).accept_standin(offer_id=offer["offer_id"], volunteer_id=chinese)

    now = row_of(organiser, row)
    assert now["tutor_id"] is None and now["reason"] == "the stand-in does not teach this subject"


def test_a_tutor_let_go_leaves_the_pupil_needing_a_tutor(call, organiser):
    (math,) = tutors(call, ("math",))
    weekend_school(organiser, weekends=1, pupils_per_tutor=5)
    pupil(organiser, "小明", 3, ["math"])
    row, tutor, duty = assigned(organiser)
    directory = call({"roles": ["organiser"]}, service="volunteers")
    away = {"kind": "off", "start": iso(next_monday()), "end": iso(next_monday() + timedelta(days=8))}
    directory.set_availability(volunteer_id=math, dated=[away])

    with eventlet.Timeout(20):
        while row_of(organiser, row)["tutor_id"] is not None:  # the volunteers service's event, handled
            eventlet.sleep(0.1)
    assert row_of(organiser, row)["reason"] == "the tutor gave up this session"
