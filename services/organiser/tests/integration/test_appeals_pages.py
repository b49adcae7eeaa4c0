"""Residents' appeals through the organiser page (/appeals), the volunteers' phone page (/v/appeals) and
`guanyinli appeals`, against the real appeals, volunteers and organiser services: intake, the list and
its filters, reassigning, closing, who sees the resident, and a volunteer refused another's appeal."""

from __future__ import annotations

import json
import re

import pytest
from organiser_testkit import PASSWORD, csrf_of, log_in
from test_visits_pages import signed_in_phone

pytestmark = pytest.mark.integration

RESIDENT = {"resident_name": "李桂兰", "resident_phone": "13911112222", "resident_address": "观音里1号院3号楼302"}
WORDS = "楼道水管漏水，滴到一楼"


@pytest.fixture
def office(platform, rpc, container_factory):
    """The appeals service beside the platform; accounts; grid 6 with a leader and a member, an electrician
    of the convenient service in no grid, a member of grid 7 and a volunteer of no grid."""
    from appeals.service import AppealsService

    container_factory(AppealsService, platform).start()
    rpc("organiser").create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    rpc("organiser").create_account(username="guest", password=PASSWORD, display_name="访客", role="viewer")
    volunteers = rpc("volunteers")

    def person(name, phone, **fields):
        return volunteers.create_volunteer(name=name, phone=phone, **fields)["id"]

    people = {
        "leader": person("网格长老周", "13700000001", teams=["voluntary_patrol"], grid_id=6),
        "member": person("网格员小李", "13700000002", teams=["voluntary_patrol"], grid_id=6),
        "electrician": person(
            "电工老王", "13700000003", teams=["convenient_service"], skills=["electrician"], grid_id=None
        ),
        "outsider": person("七网格小陈", "13700000004", teams=["voluntary_patrol"], grid_id=7),
        "nobody": person("无网格小赵", "13700000005", teams=["voluntary_patrol"], grid_id=8),
    }
    volunteers.assign_grid_leader(grid_id=6, volunteer_id=people["leader"])
    volunteers.add_grid_member(grid_id=6, volunteer_id=people["member"])
    volunteers.add_grid_member(grid_id=7, volunteer_id=people["outsider"])
    return people


def intake(form_html: str, **fields) -> dict:
    data = {
        "csrf": csrf_of(form_html),
        "request_id": re.search(r'name="request_id" value="([^"]+)"', form_html).group(1),
        "category": "repair",
        "grid_id": "6",
        "courtyard": "C01",
        "building": "3号楼",
        "urgency": "urgent",
        "description": WORDS,
        **RESIDENT,
    }
    return {**data, **fields}


def test_intake_list_detail_reassign_close_and_privacy_on_the_organiser_page(office, web_session, rpc):
    web = web_session
    assert log_in(web).status_code == 303
    assert 'href="/appeals"' in web.get("/roster").text
    form = web.get("/appeals/new")
    assert form.status_code == 200 and 'name="request_id"' in form.text
    assert '<option value="C11" >C11</option>' in form.text  # grid 6's second courtyard

    wrong = web.post("/appeals/new", data=intake(form.text, courtyard="C02"))  # a courtyard of grid 7
    assert wrong.status_code == 400 and 'id="form-error"' in wrong.text and "C02" in wrong.text
    assert RESIDENT["resident_name"] in wrong.text, "what was typed stays on the form"
    assert '<option value="C02" selected>' in wrong.text
    assert rpc("appeals").list_appeals() == []

    data = intake(form.text)
    taken = web.post("/appeals/new", data=data, allow_redirects=False)
    assert taken.status_code == 303, taken.text
    again = web.post("/appeals/new", data=data, allow_redirects=False)  # a double submit
    assert again.headers["Location"] == taken.headers["Location"]
    (appeal,) = rpc("appeals").list_appeals()
    assert (appeal["status"], appeal["handler_id"]) == ("assigned", office["member"])
    path = f"/appeals/{appeal['id']}"

    listed = web.get("/appeals")
    assert f'id="appeal-{appeal["id"]}"' in listed.text and "维修" in listed.text and "网格员小李" in listed.text
    assert f'id="appeal-{appeal["id"]}"' in web.get("/appeals?status=open&grid=6&category=repair").text
    for other in ("status=closed", "grid=7", "category=errand", f"handler={office['leader']}"):
        assert f'id="appeal-{appeal["id"]}"' not in web.get(f"/appeals?{other}").text, other
    assert web.get("/appeals?status=lost").status_code == 400

    shown = web.get(path)
    assert shown.status_code == 200 and RESIDENT["resident_phone"] in shown.text and WORDS in shown.text
    choices = re.search(r'<select name="volunteer_id".*?</select>', shown.text, re.S).group(0)
    assert "网格长老周" in choices and "电工老王" in choices and "七网格小陈" not in choices

    refused = web.post(f"{path}/reassign", data={"csrf": csrf_of(shown.text), "volunteer_id": str(office["outsider"])})
    assert refused.status_code == 400 and "HandlerIneligible" in refused.text
    moved = web.post(
        f"{path}/reassign",
        data={"csrf": csrf_of(shown.text), "volunteer_id": str(office["leader"]), "reason": "小李请假"},
        allow_redirects=False,
    )
    assert moved.status_code == 303
    noted = web.post(f"{path}/note", data={"csrf": csrf_of(shown.text), "text": "已电话联系居民"})
    assert noted.status_code == 200 and "已电话联系居民" in noted.text and "小李请假" in noted.text
    assert rpc("appeals").get_appeal(appeal_id=appeal["id"])["handler_id"] == office["leader"]

    guest = type(web)(web.base_url)
    assert log_in(guest, username="guest").status_code == 303
    for page in ("/appeals", path):
        seen = guest.get(page)
        assert seen.status_code == 200 and "维修" in seen.text, page
        for secret in (*RESIDENT.values(), WORDS, "已电话联系居民"):
            assert secret not in seen.text, (page, secret)
    assert "reassign-form" not in guest.get(path).text and "/appeals/new" not in guest.get("/appeals").text
    assert guest.post(f"{path}/close", data={"csrf": csrf_of(guest.get(path).text), "outcome": "x"}).status_code == 403

    closed = web.post(
        f"{path}/close",
        data={
            "csrf": csrf_of(shown.text),
            "outcome": "更换了水管",
            "resident_reply": "谢谢",
            "satisfaction": "5",
            "hours": "2",
        },
    )
    assert closed.status_code == 200 and "已办结" in closed.text and "更换了水管" in closed.text
    assert "reassign-form" not in closed.text
    after = rpc("appeals").get_appeal(appeal_id=appeal["id"])
    assert (after["status"], after["satisfaction"], after["hours"]) == ("closed", 5, 2.0)
    again = web.post(f"{path}/close", data={"csrf": csrf_of(shown.text), "outcome": "再来一次"})
    assert again.status_code == 400 and "AppealClosed" in again.text

    later = rpc("appeals").receive_appeal(category="errand", grid_id=6, description="代买药", **RESIDENT)
    rows = re.findall(r'id="appeal-(\d+)"', web.get("/appeals").text)
    assert rows == [str(later["id"]), str(appeal["id"])], "open appeals on top"


def test_a_volunteer_handles_their_own_appeals_on_the_phone(office, web_session, rpc):
    web = web_session
    assert log_in(web).status_code == 303
    first = rpc("appeals").receive_appeal(category="repair", grid_id=6, description=WORDS, **RESIDENT)
    assert first["handler_id"] == office["member"]

    member = signed_in_phone(web, type(web), web.base_url, office["member"])
    assert 'href="/v/appeals"' in member.get("/v").text
    mine = member.get("/v/appeals")
    assert mine.status_code == 200 and f'id="appeal-{first["id"]}"' in mine.text
    assert f'href="tel:{RESIDENT["resident_phone"]}"' in mine.text and WORDS in mine.text
    accepted = member.post(f"/v/appeals/{first['id']}/accept", data={"csrf": csrf_of(mine.text)})
    assert accepted.status_code == 200 and "已接单" in accepted.text
    back = member.post(
        f"/v/appeals/{first['id']}/hand-back", data={"csrf": csrf_of(mine.text), "reason": "要换水管，我不会"}
    )
    assert back.status_code == 200 and f'id="appeal-{first["id"]}"' not in back.text
    now_with = rpc("appeals").get_appeal(appeal_id=first["id"])["handler_id"]
    assert now_with == office["leader"]

    outsider = signed_in_phone(web, type(web), web.base_url, office["outsider"])
    theirs = outsider.get("/v/appeals")
    assert RESIDENT["resident_phone"] not in theirs.text
    for action in ("accept", "close"):
        refused = outsider.post(
            f"/v/appeals/{first['id']}/{action}", data={"csrf": csrf_of(theirs.text), "outcome": "x"}
        )
        assert refused.status_code == 403 and "这不是您的记录" in refused.text, action
    missing = outsider.post("/v/appeals/999999/accept", data={"csrf": csrf_of(theirs.text)})
    assert missing.status_code == 404

    leader = signed_in_phone(web, type(web), web.base_url, office["leader"])
    page = leader.get("/v/appeals")
    csrf = csrf_of(page.text)
    leader.post(f"/v/appeals/{first['id']}/accept", data={"csrf": csrf})
    noted = leader.post(f"/v/appeals/{first['id']}/note", data={"csrf": csrf, "text": "已联系物业，明天上门"})
    assert "进展已保存" in noted.text
    assert f'action="/v/appeals/{first["id"]}/visited"' in noted.text
    visited = leader.post(f"/v/appeals/{first['id']}/visited", data={"csrf": csrf})
    assert visited.status_code == 200 and "已记录上门" in visited.text
    assert f'action="/v/appeals/{first["id"]}/visited"' not in visited.text
    assert rpc("appeals").get_appeal(appeal_id=first["id"])["visited_at"] is not None
    closed = leader.post(
        f"/v/appeals/{first['id']}/close",
        data={"csrf": csrf, "outcome": "更换了水管", "resident_reply": "谢谢", "satisfaction": "4", "hours": "1.5"},
    )
    assert closed.status_code == 200 and "已办结" in closed.text and f'id="appeal-{first["id"]}"' not in closed.text
    done = rpc("appeals").get_appeal(appeal_id=first["id"])
    assert (done["status"], done["satisfaction"], done["hours"]) == ("closed", 4, 1.5)
    assert [n["kind"] for n in done["notes"]][-3:] == ["note", "visited", "closed"]
    again = leader.post(f"/v/appeals/{first['id']}/close", data={"csrf": csrf, "outcome": "x"})
    assert again.status_code == 409 and "已办结" in again.text


def test_grid_people_take_appeals_in_for_their_own_grid_on_the_phone(office, web_session, rpc):
    web = web_session
    assert log_in(web).status_code == 303
    outsider = signed_in_phone(web, type(web), web.base_url, office["outsider"])
    form = outsider.get("/v/appeals/new")
    assert form.status_code == 200 and '<option value="7"' in form.text and '<option value="6"' not in form.text
    assert '<option value="C02" >C02 观音里2号院</option>' in form.text and "C01" not in form.text
    taken = outsider.post(
        "/v/appeals/new", data=intake(form.text, grid_id="7", courtyard="C02", category="errand"), allow_redirects=False
    )
    assert taken.status_code == 303 and "appeal_received" in taken.headers["Location"]
    (appeal,) = rpc("appeals").list_appeals(grid_id=7)
    assert appeal["handler_id"] == office["outsider"], "the grid's only person takes it"

    forged = outsider.post("/v/appeals/new", data=intake(form.text, grid_id="6", request_id="other-key"))
    assert forged.status_code == 403 and 'id="form-error"' in forged.text
    bad_phone = outsider.post(
        "/v/appeals/new", data=intake(form.text, grid_id="7", resident_phone="12", request_id="k3")
    )
    assert bad_phone.status_code == 400 and 'value="12"' in bad_phone.text
    assert len(rpc("appeals").list_appeals()) == 1

    nobody = signed_in_phone(web, type(web), web.base_url, office["nobody"])
    assert nobody.get("/v/appeals/new").status_code == 403


def test_appeals_on_the_command_line(office, run_cli, rpc):
    def as_json(result):
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    received = as_json(
        run_cli(
            "appeals",
            "receive",
            "--category",
            "elevator",
            "--grid",
            "6",
            "--courtyard",
            "C11",
            "--description",
            "电梯困人",
            "--resident-name",
            RESIDENT["resident_name"],
            "--resident-phone",
            RESIDENT["resident_phone"],
            "--urgency",
            "urgent",
            "--json",
        )
    )
    assert received["handler_id"] == office["member"] and received["urgency"] == "urgent"
    table = run_cli("appeals", "list", "--status", "open", "--grid", "6")
    assert table.returncode == 0 and "elevator" in table.stdout and "C11" in table.stdout
    shown = run_cli("appeals", "show", str(received["id"]))
    assert shown.returncode == 0 and "电梯困人" in shown.stdout and "received" in shown.stdout

    refused = run_cli("appeals", "reassign", str(received["id"]), str(office["outsider"]))
    assert refused.returncode == 1 and "HandlerIneligible" in refused.stderr
    moved = run_cli("appeals", "reassign", str(received["id"]), str(office["electrician"]), "--reason", "要电工")
    assert moved.returncode == 0 and f"volunteer {office['electrician']}" in moved.stdout

    closed = run_cli(
        "appeals", "close", str(received["id"]), "--outcome", "已救出", "--satisfaction", "5", "--hours", "1"
    )
    assert closed.returncode == 0 and "closed" in closed.stdout, closed.stderr
    assert rpc("appeals").get_appeal(appeal_id=received["id"])["hours"] == 1.0
    again = run_cli("appeals", "close", str(received["id"]), "--outcome", "x")
    assert again.returncode == 1 and "AppealClosed" in again.stderr
    assert run_cli("appeals", "show", "999999").returncode == 1
    assert run_cli("appeals", "close", str(received["id"])).returncode == 2  # --outcome missing
    assert run_cli("appeals", "close", "1", "--outcome", "x", "--satisfaction", "9").returncode == 2
    assert as_json(run_cli("appeals", "list", "--status", "closed", "--json"))[0]["id"] == received["id"]
