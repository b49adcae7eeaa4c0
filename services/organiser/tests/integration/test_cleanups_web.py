"""The clean-up rotation page and command with the real services: plan from the page, read the table and the counts."""

from __future__ import annotations

import json
import re

import pytest
from organiser_testkit import MONDAY, PASSWORD, csrf_of, log_in

from activities import cleanups

pytestmark = pytest.mark.integration

# free on the mornings of every clean-up session
MORNINGS = [{"weekday": s.weekday, "start": "07:00", "end": "12:00"} for s in cleanups.SESSIONS]


@pytest.fixture
def sanitation_team(rpc):
    volunteers = rpc("volunteers")
    made = []
    for i in range(16):
        person = volunteers.create_volunteer(
            name=f"护绿队员{i + 1}", phone=f"1391235{5600 + i}", teams=["sanitation_green"], grid_id=6 + i % 10
        )
        volunteers.set_availability(volunteer_id=person["id"], weekly=MORNINGS)
        made.append(person)
    return made


@pytest.fixture
def accounts(rpc):
    organiser = rpc("organiser")
    organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    organiser.create_account(username="guest", password=PASSWORD, display_name="访客", role="viewer")


def test_organiser_plans_the_rotation_from_the_page(platform, accounts, web_session, sanitation_team):
    assert log_in(web_session).status_code == 303
    empty = web_session.get("/cleanups", params={"start": str(MONDAY), "weeks": "2"})
    assert empty.status_code == 200 and "data-empty" in empty.text
    assert "观音里1号院" in empty.text and "自行轮值" in empty.text  # the self-managed courtyards' own rota
    planned = web_session.post(
        "/cleanups/plan", data={"start": str(MONDAY), "weeks": "2", "csrf": csrf_of(empty.text)}, allow_redirects=False
    )
    assert planned.status_code == 303 and "done=planned" in planned.headers["Location"]
    page = web_session.get(planned.headers["Location"])
    assert page.status_code == 200 and "data-planned" in page.text
    table = page.text.split("data-rotation", 1)[1].split("</table>", 1)[0]
    assert 'data-place="C08"' in table and 'data-place="B01"' in table and 'data-place="GS01"' in table
    assert 'data-place="C01"' not in table  # self-managed: not in the rotation
    assert "护绿队员" in table
    most, least = map(int, re.search(r"data-spread>最多 (\d+) 次，最少 (\d+) 次", page.text).groups())
    assert most - least <= 1 and most > 0  # every member's count within one of the others'

    again = web_session.post(
        "/cleanups/plan", data={"start": str(MONDAY), "weeks": "2", "csrf": csrf_of(page.text)}, allow_redirects=False
    )
    assert "created=0" in again.headers["Location"] and "signed_up=0" in again.headers["Location"]


def test_viewers_see_the_rotation_without_the_plan_button(platform, accounts, web_session, sanitation_team):
    assert log_in(web_session, username="guest").status_code == 303
    page = web_session.get("/cleanups", params={"start": str(MONDAY)})
    assert page.status_code == 200 and 'action="/cleanups/plan"' not in page.text
    refused = web_session.post("/cleanups/plan", data={"start": str(MONDAY), "csrf": csrf_of(page.text)})
    assert refused.status_code == 403
    bad = web_session.get("/cleanups", params={"start": "next week"})
    assert bad.status_code == 400


def test_cli_plans_and_shows_the_rotation(run_cli, sanitation_team):
    planned = run_cli("cleanups", "plan", "--start", str(MONDAY), "--weeks", "1", "--json")
    assert planned.returncode == 0, planned.stderr
    made = json.loads(planned.stdout)
    assert made["created"] > 0 and made["signed_up"] == sum(c["count"] for c in made["counts"])
    assert {o["code"] for o in made["own_rota"]} == {f"C0{i}" for i in range(1, 8)}
    again = run_cli("cleanups", "plan", "--start", str(MONDAY), "--weeks", "1", "--json")
    assert json.loads(again.stdout)["created"] == 0
    shown = run_cli("cleanups", "show", "--start", str(MONDAY), "--weeks", "1")
    assert shown.returncode == 0, shown.stderr
    assert "观音里8号院" in shown.stdout and "护绿队员" in shown.stdout and "观音里1号院" in shown.stdout
    counts = [c["count"] for c in made["counts"]]
    assert max(counts) - min(counts) <= 1
    wrong = run_cli("cleanups", "show", "--weeks", "40")
    assert wrong.returncode == 2 and "weeks" in wrong.stderr
