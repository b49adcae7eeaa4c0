"""Grid leaders reading /visits and /cleanups of their grids from their phone session, missed visits on
/visits, a visit marked made by mistake taken back, and a tutor's pupils on their phone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from organiser_testkit import MONDAY, PASSWORD, csrf_of, log_in, school_tutors, weekend_school
from test_visits_pages import ADDRESS, register, signed_in_phone  # noqa: F401 - the fixture

from guanyinli.timeutil import iso, now

pytestmark = pytest.mark.integration


def grid_leader(web, rpc, vid: int, grid: int):
    """A phone session of volunteer ``vid`` after they became the leader of ``grid``."""
    rpc("volunteers").assign_grid_leader(grid_id=grid, volunteer_id=vid)
    return signed_in_phone(web, type(web), web.base_url, vid)


def test_a_grid_leader_reads_the_visits_of_their_grid_only(register, web_session, rpc):  # noqa: F811
    activities = rpc("activities")
    eight = activities.add_visited_person(
        category="elder_alone", name="孙奶奶", grid_id=8, frequency_days=7, address=ADDRESS, health_notes="高血压"
    )
    activities.add_visited_person(category="elder_alone", name="周爷爷", grid_id=9, frequency_days=7)
    assert log_in(web_session).status_code == 303
    phone = grid_leader(web_session, rpc, register["volunteers"][0], 8)

    assert 'href="/visits" id="grid-visits"' in phone.get("/v").text
    page = phone.get("/visits")
    assert page.status_code == 200 and "孙奶奶" in page.text and "周爷爷" not in page.text
    assert 'id="back-to-phone"' in page.text and 'action="/logout"' not in page.text
    assert "吴奶奶" not in page.text  # no grid: not theirs
    assert ADDRESS not in page.text and "高血压" not in page.text
    assert "/visits/plan" not in page.text and 'id="leader-note"' in page.text
    person = phone.get(f"/visits/{eight['id']}")
    assert person.status_code == 200 and "孙奶奶" in person.text and ADDRESS not in person.text
    assert f"/visits/{eight['id']}/edit" not in person.text
    # Not a grid leader: the organisers' sign-in, as before.
    other = signed_in_phone(web_session, type(web_session), web_session.base_url, register["volunteers"][1])
    assert other.get("/visits", allow_redirects=False).status_code == 303


def test_a_grid_leader_reads_the_clean_ups_of_their_grid_only(platform, web_session, rpc):
    rpc("organiser").create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    volunteers = rpc("volunteers")
    for n in range(12):
        person = volunteers.create_volunteer(
            name=f"清洁队员{n}", phone=f"1390000{n:04d}", teams=["sanitation_green"], grid_id=6 + n % 10
        )
        volunteers.set_availability(
            volunteer_id=person["id"], weekly=[{"weekday": d, "start": "07:00", "end": "12:00"} for d in (5, 6)]
        )
    plan = rpc("activities").plan_cleanups(start=str(MONDAY), weeks=2)
    grid = plan["rows"][0]["grid_id"]
    mine = {r["place"] for r in plan["rows"] if r["grid_id"] == grid}
    others = {r["place"] for r in plan["rows"]} - mine
    assert log_in(web_session).status_code == 303
    phone = grid_leader(web_session, rpc, 1, grid)

    page = phone.get("/cleanups", params={"start": str(MONDAY), "weeks": "2"})
    assert page.status_code == 200
    assert all(name in page.text for name in mine) and not any(name in page.text for name in others)
    assert "/cleanups/plan" not in page.text


def test_missed_visits_are_listed_and_cancelled_and_a_made_mark_taken_back(register, web_session, rpc):  # noqa: F811
    activities = rpc("activities")
    assert log_in(web_session).status_code == 303
    activities.add_visited_person(
        category="elder_alone", name="孙奶奶", grid_id=8, frequency_days=7, consent={"by": "本人", "how": "in_person"}
    )
    start = (now() + timedelta(days=1)).date()
    planned = activities.plan_visits(start=start.isoformat(), end=(start + timedelta(days=7)).isoformat())
    first, second = planned
    for visit in {p["occurrence_id"]: p for p in planned}.values():  # held yesterday, in effect
        activities.update_occurrence(occurrence_id=visit["occurrence_id"], start=iso(now() - timedelta(days=1)))

    page = web_session.get("/visits")
    assert f'id="missed-{first["occurrence_id"]}"' in page.text and "未完成的探访" in page.text
    cancelled = web_session.post(
        f"/visits/missed/{first['occurrence_id']}/cancel", data={"csrf": csrf_of(page.text)}, allow_redirects=False
    )
    assert cancelled.status_code == 303
    assert activities.get_occurrence(occurrence_id=first["occurrence_id"])["status"] == "cancelled"
    assert f'id="missed-{first["occurrence_id"]}"' not in web_session.get("/visits").text

    # The other one: marked made by mistake on the phone, then taken back there.
    visitor = second["visitor_ids"][0]
    phone = signed_in_phone(web_session, type(web_session), web_session.base_url, visitor)
    mine = phone.get("/v/visits")
    phone.post(f"/v/visits/{second['occurrence_id']}/note", data={"csrf": csrf_of(mine.text), "done": "1"})
    assert f'id="missed-{second["occurrence_id"]}"' not in web_session.get("/visits").text
    mine = phone.get("/v/visits")
    assert f"/v/visits/{second['occurrence_id']}/reopen" in mine.text
    back = phone.post(f"/v/visits/{second['occurrence_id']}/reopen", data={"csrf": csrf_of(mine.text)})
    assert back.status_code == 200 and "已撤销" in back.text
    assert f'id="missed-{second["occurrence_id"]}"' in web_session.get("/visits").text
    # and the organiser, from the person's page
    activities.record_visit_note(occurrence_id=second["occurrence_id"], done=True)
    person = web_session.get(f"/visits/{second['person_id']}")
    reopened = web_session.post(
        f"/visits/made/{second['occurrence_id']}/reopen",
        data={"csrf": csrf_of(person.text)},
        allow_redirects=False,
    )
    assert reopened.status_code == 303 and f"/visits/{second['person_id']}" in reopened.headers["Location"]
    assert not activities.get_visited_person(person_id=second["person_id"])["visits"][0]["done"]


def test_a_tutor_sees_their_pupils_on_the_phone_without_guardians(platform, web_session, rpc):
    organiser = rpc("organiser")
    organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    (tutor,) = school_tutors(rpc("volunteers"), [("数学老师", ["tutoring:math", "tutoring:chinese"])], "1361111")
    weekend_school(rpc("activities"))
    activities = rpc("activities")
    activities.register_pupil(
        name="小明", grade=3, subjects=["math", "chinese"], guardian_name="王建军", guardian_phone="15800001234"
    )
    start = f"{MONDAY}T00:00:00+08:00"
    answer = activities.assign_tutors(start=start, end=f"{MONDAY + timedelta(days=14)}T00:00:00+08:00", time_limit=5)
    occurrence = answer["assignments"][0]["occurrence_id"]
    assert log_in(web_session).status_code == 303
    phone = signed_in_phone(web_session, type(web_session), web_session.base_url, tutor)

    home = phone.get("/v")
    assert home.status_code == 200 and f'id="pupils-{occurrence}"' in home.text
    assert "小明 · 3年级 · 数学、语文" in home.text or "小明 · 3年级 · 语文、数学" in home.text
    assert "15800001234" not in home.text and "王建军" not in home.text


def test_missed_visits_and_reopen_on_the_command_line(register, rpc, run_cli):  # noqa: F811
    activities = rpc("activities")
    start = (now() + timedelta(days=1)).date()
    (visit,) = activities.plan_visits(start=start.isoformat(), end=(start + timedelta(days=7)).isoformat())
    activities.update_occurrence(occurrence_id=visit["occurrence_id"], start=iso(now() - timedelta(days=1)))

    listed = run_cli("visits", "missed", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [v["occurrence_id"] for v in json.loads(listed.stdout)] == [visit["occurrence_id"]]
    table = run_cli("visits", "missed")
    assert table.returncode == 0 and "吴奶奶" in table.stdout
    activities.record_visit_note(occurrence_id=visit["occurrence_id"], done=True)
    assert json.loads(run_cli("visits", "missed", "--json").stdout) == []
    reopened = run_cli("visits", "reopen", str(visit["occurrence_id"]))
    assert reopened.returncode == 0 and "no longer marked made" in reopened.stdout
    assert run_cli("visits", "reopen", "999999").returncode == 1
