"""Elderly visits through the organiser page (/visits), the volunteers' phone page (/v/visits) and
`guanyinli visits`, against the real services: the register, planning, overdue, notes and privacy."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from organiser_testkit import PASSWORD, csrf_of, log_in

from guanyinli.timeutil import iso, now

pytestmark = pytest.mark.integration
ADDRESS = "观音里3号院 5幢2单元301"


@pytest.fixture
def register(platform, rpc):
    """Accounts, five volunteers of the convenient service free every afternoon, and a register of three:
    one to plan (孙奶奶), one without consent (周爷爷), one never visited since consent 20 days ago (吴奶奶)."""
    rpc("organiser").create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    rpc("organiser").create_account(username="guest", password=PASSWORD, display_name="访客", role="viewer")
    volunteers, activities = rpc("volunteers"), rpc("activities")
    ids = []
    for i in range(5):
        vid = volunteers.create_volunteer(
            name=f"探访员{i + 1}", phone=f"1391234{7800 + i}", teams=["convenient_service"]
        )["id"]
        volunteers.set_availability(
            volunteer_id=vid, weekly=[{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)]
        )
        ids.append(vid)
    late = activities.add_visited_person(
        category="care_home_resident",
        name="吴奶奶",
        home="鼓楼区福寿养老院",
        frequency_days=14,
        consent={"by": "女儿 吴敏", "how": "relative", "at": iso(now() - timedelta(days=20))},
    )
    return {"volunteers": ids, "late": late}


def signed_in_phone(organiser, web_cls, base_url, vid):
    """A phone signed in as the volunteer through a printed sign-in link."""
    show = organiser.get(f"/volunteers/{vid}")
    sheet = organiser.post(f"/volunteers/{vid}/signin-link", data={"csrf": csrf_of(show.text)})
    path = re.search(r'id="signin-url">https?://[^/]+(/v/link/[\w-]+)<', sheet.text).group(1)
    phone = web_cls(base_url)
    page = phone.get(path)
    assert phone.post(path, data={"csrf": csrf_of(page.text)}, allow_redirects=False).status_code == 303
    return phone


def test_register_plan_overdue_notes_and_privacy_on_the_pages(register, web_session, rpc):
    web = web_session
    assert log_in(web).status_code == 303
    form = web.get("/visits/new")
    assert form.status_code == 200 and 'name="consent_by"' in form.text
    added = web.post(
        "/visits/new",
        data={
            "csrf": csrf_of(form.text),
            "name": "孙奶奶",
            "category": "elder_alone",
            "frequency_days": "7",
            "grid_id": "8",
            "courtyard": "观音里3号院",
            "address": ADDRESS,
            "health_notes": "高血压，需提前电话告知",
            "relative_contact": "儿子 13900001111",
            "consent_by": "本人",
            "consent_how": "in_person",
        },
        allow_redirects=False,
    )
    assert added.status_code == 303, added.text
    person_path = added.headers["Location"].split("?")[0]
    sun = int(person_path.rsplit("/", 1)[1])
    web.post(
        "/visits/new",
        data={
            "csrf": csrf_of(form.text),
            "name": "周爷爷",
            "category": "elder_alone",
            "frequency_days": "14",
            "grid_id": "9",
        },
    )
    register_page = web.get("/visits")
    assert f'id="person-{register["late"]["id"]}" class="overdue' in register_page.text
    assert "逾期 20 天" in register_page.text and "未登记同意" in register_page.text

    planned = web.post("/visits/plan", data={"csrf": csrf_of(register_page.text), "days": "14"}, allow_redirects=False)
    assert planned.status_code == 303 and "planned=" in planned.headers["Location"]
    visits = {p["id"]: p for p in rpc("activities").list_visited_people()}
    assert visits[sun]["next_planned"] and visits[register["late"]["id"]]["next_planned"]
    zhou = next(p for p in visits.values() if p["name"] == "周爷爷")
    assert zhou["next_planned"] is None, "no consent, no planning"

    person = web.get(person_path)
    assert ADDRESS in person.text and "探访员" in person.text
    history = rpc("activities").get_visited_person(person_id=sun)["visits"]
    first = history[-1]
    visitor, partner = first["visitor_ids"]
    outsider = next(v for v in register["volunteers"] if all(v not in h["visitor_ids"] for h in history))

    guest = type(web)(web.base_url)
    assert log_in(guest, username="guest").status_code == 303
    shown = guest.get(person_path)
    assert shown.status_code == 200 and ADDRESS not in shown.text and "13900001111" not in shown.text
    assert "/visits/plan" not in guest.get("/visits").text

    phone = signed_in_phone(web, type(web), web.base_url, visitor)
    mine = phone.get("/v/visits")
    assert mine.status_code == 200 and "孙奶奶" in mine.text and ADDRESS in mine.text
    saved = phone.post(
        f"/v/visits/{first['occurrence_id']}/note",
        data={"csrf": csrf_of(mine.text), "note": "精神很好，提醒按时吃药", "done": "1"},
    )
    assert saved.status_code == 200 and "探访记录已保存" in saved.text
    assert "精神很好" in web.get(person_path).text

    other = signed_in_phone(web, type(web), web.base_url, outsider)
    theirs = other.get("/v/visits")
    assert "孙奶奶" not in theirs.text and ADDRESS not in theirs.text
    refused = other.post(f"/v/visits/{first['occurrence_id']}/note", data={"csrf": csrf_of(theirs.text), "note": "x"})
    assert refused.status_code == 403
    assert "精神很好" not in other.get("/v/visits").text
    assert partner != outsider


def test_visits_on_the_command_line(register, run_cli):
    def as_json(result):
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    added = as_json(
        run_cli(
            "visits",
            "add",
            "--name",
            "郑爷爷",
            "--category",
            "elder_alone",
            "--every",
            "7",
            "--grid",
            "6",
            "--address",
            ADDRESS,
            "--consent-by",
            "本人",
            "--json",
        )
    )
    assert added["consented"] and added["private"]["address"] == ADDRESS
    overdue = as_json(run_cli("visits", "overdue", "--json"))
    assert [p["name"] for p in overdue] == ["吴奶奶"] and overdue[0]["overdue_days"] == 20
    start = (now() + timedelta(days=1)).date().isoformat()
    planned = as_json(run_cli("visits", "plan", "--start", start, "--days", "14", "--json"))
    assert {p["person_id"] for p in planned} == {added["id"], register["late"]["id"]}
    assert all(len(p["visitor_ids"]) == 2 for p in planned)
    assert as_json(run_cli("visits", "plan", "--start", start, "--days", "14", "--json")) == []
    table = run_cli("visits", "list")
    assert table.returncode == 0 and "郑爷爷" in table.stdout and "吴奶奶" in table.stdout
    refused = run_cli("visits", "add", "--name", "无名", "--category", "elder_alone", "--every", "7")
    assert refused.returncode == 1 and "place" in refused.stderr
    assert run_cli("visits", "plan", "--days", "0").returncode == 2
