"""The lecture hall on the organiser page and the command line, against the running services: the
coming lectures, the door list with check-in, the waitlist, phones for organisers only, the duties."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from organiser_testkit import PASSWORD, csrf_of, door_open_lecture, log_in

from guanyinli.timeutil import iso

pytestmark = pytest.mark.integration


@pytest.fixture
def hall(platform, rpc) -> dict:
    """A lecture starting in an hour (its door open) in a hall of three, with four residents: one waits."""
    rpc("organiser").create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    rpc("organiser").create_account(username="guest", password=PASSWORD, display_name="访客", role="viewer")
    people = [
        ("李秀英", "13900001111"),
        ("王建国", "13900002222"),
        ("张桂兰", "13900003333"),
        ("刘德明", "13900004444"),
    ]
    occ, regs = door_open_lecture(rpc("activities"), "立德树人讲堂：老年人防诈骗", 3, people)
    return {"occurrence": occ, "registrations": regs, "start": datetime.fromisoformat(occ["start"])}


def test_the_list_shows_seats_waitlist_and_duties(hall, web_session):
    assert log_in(web_session).status_code == 303
    page = web_session.get("/lectures")
    assert page.status_code == 200 and "立德树人讲堂：老年人防诈骗" in page.text
    row = page.text.split(f'data-occurrence="{hall["occurrence"]["id"]}"')[1].split("</tr>")[0]
    assert "3 / 3" in row and "已满" in row and '<td class="num">1</td>' in row
    assert "场地布置 0/2" in row and "接待 0/2" in row
    assert web_session.get("/lectures/999999").status_code == 404


def test_a_door_list_is_for_lectures_only(hall, web_session, rpc):
    activities = rpc("activities")
    start = hall["start"] + timedelta(days=1)
    activities.create_activity(
        title="便民维修", kind="convenience", room="服务站", start=iso(start), duration_minutes=60
    )
    other = activities.list_occurrences(start=iso(start), end=iso(start + timedelta(hours=1)), kind="convenience")[0]
    assert log_in(web_session).status_code == 303
    refused = web_session.get(f"/lectures/{other['id']}")
    assert refused.status_code == 404 and "不是讲座" in refused.text


def test_check_in_at_the_door_search_cancel_and_register_at_the_desk(hall, web_session, rpc):
    assert log_in(web_session).status_code == 303
    occ_id = hall["occurrence"]["id"]
    door = web_session.get(f"/lectures/{occ_id}")
    assert door.status_code == 200
    assert "139****1111" in door.text and "13900001111" not in door.text  # masked until asked
    assert "候补第1位" in door.text
    assert "13900001111" in web_session.get(f"/lectures/{occ_id}?phones=1").text
    found = web_session.get(f"/lectures/{occ_id}?q=2222")
    assert "王建国" in found.text and "李秀英" not in found.text
    assert "李秀英" not in web_session.get(f"/lectures/{occ_id}?q=02222").text  # four digits at most

    li = hall["registrations"][0]
    done = web_session.post(f"/lectures/{occ_id}/checkin/{li['id']}", data={"csrf": csrf_of(door.text)})
    assert done.status_code == 200 and "已签到。" in done.text
    assert rpc("activities").door_list(occurrence_id=occ_id)["checked_in"] == 1

    wang = hall["registrations"][1]
    cancelled = web_session.post(f"/lectures/{occ_id}/cancel/{wang['id']}", data={"csrf": csrf_of(door.text)})
    assert "已取消报名。" in cancelled.text and "候补第1位" not in cancelled.text  # 刘德明 took the place
    desk = web_session.post(
        f"/lectures/{occ_id}/register", data={"csrf": csrf_of(door.text), "name": "陈淑珍", "phone": ""}
    )
    assert "讲堂已满，已列入候补。" in desk.text and "陈淑珍" in desk.text
    listed = rpc("activities").door_list(occurrence_id=occ_id)
    assert [(r["name"], r["status"]) for r in listed["registrations"]] == [
        ("刘德明", "registered"),
        ("张桂兰", "registered"),
        ("李秀英", "registered"),
        ("陈淑珍", "waitlisted"),
    ]
    printed = web_session.get(f"/lectures/{occ_id}/print")
    assert printed.status_code == 200 and "签名" in printed.text and "139****4444" in printed.text
    assert "✔" in printed.text


def test_viewers_see_masked_phones_and_change_nothing(hall, web_session):
    assert log_in(web_session, username="guest").status_code == 303
    occ_id = hall["occurrence"]["id"]
    door = web_session.get(f"/lectures/{occ_id}?phones=1")
    assert door.status_code == 200 and "139****1111" in door.text and "13900001111" not in door.text
    assert "/checkin/" not in door.text
    li = hall["registrations"][0]
    refused = web_session.post(f"/lectures/{occ_id}/checkin/{li['id']}", data={"csrf": csrf_of(door.text)})
    assert refused.status_code == 403


def test_an_organiser_fills_the_reception_duty(hall, web_session, rpc):
    volunteers = rpc("volunteers")
    vid = volunteers.create_volunteer(name="接待员甲", phone="13912347777")["id"]
    start = hall["start"]
    window = {"kind": "extra", "start": iso(start - timedelta(hours=2)), "end": iso(start + timedelta(hours=3))}
    volunteers.set_availability(volunteer_id=vid, dated=[window])
    assert log_in(web_session).status_code == 303
    occ_id = hall["occurrence"]["id"]
    door = web_session.get(f"/lectures/{occ_id}")
    added = web_session.post(
        f"/lectures/{occ_id}/duty", data={"csrf": csrf_of(door.text), "role": "reception", "volunteer_id": str(vid)}
    )
    assert "已安排。" in added.text and "接待员甲" in added.text.split('id="duties"')[1]


def test_the_command_line_lists_shows_registers_and_checks_in(hall, run_cli):
    occ_id = hall["occurrence"]["id"]
    listed = run_cli("lectures", "list")
    assert listed.returncode == 0, listed.stderr
    assert "立德树人讲堂：老年人防诈骗" in listed.stdout and "3/3" in listed.stdout
    shown = run_cli("lectures", "show", str(occ_id))
    assert shown.returncode == 0 and "139****1111" in shown.stdout and "13900001111" not in shown.stdout
    assert "waitlist #1" in shown.stdout
    assert "13900001111" in run_cli("lectures", "show", str(occ_id), "--phones").stdout
    registered = run_cli("lectures", "register", str(occ_id), "--name", "周玉兰", "--phone", "13900005555", "--json")
    answer = json.loads(registered.stdout)
    assert (answer["status"], answer["waitlist_position"]) == ("waitlisted", 2)
    li = hall["registrations"][0]
    checked = run_cli("lectures", "checkin", str(li["id"]))
    assert checked.returncode == 0 and "李秀英 checked in" in checked.stdout
    waiting = run_cli("lectures", "checkin", str(answer["id"]))
    assert waiting.returncode == 1 and "waitlisted" in waiting.stderr
    found = json.loads(run_cli("lectures", "show", str(occ_id), "--find", "李", "--json").stdout)
    assert [r["name"] for r in found["registrations"]] == ["李秀英"] and found["checked_in"] == 1
    assert run_cli("lectures", "show", "999999").returncode == 1
