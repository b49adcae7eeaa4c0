"""The two-way service list through the organiser page (/partners) and `guanyinli partners`, against
the real volunteers, activities, appeals and organiser services: partners by alliance, the
community's needs, matches agreed, declined and turned into one activity; contacts only to
organisers; bad form input answered, not crashed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from organiser_testkit import PASSWORD, csrf_of, log_in

from guanyinli.timeutil import local, now

pytestmark = pytest.mark.integration


@pytest.fixture
def two_way(platform, container_factory, rpc):
    """The appeals service running too; accounts; a hospital offering a hall, a non-profit needing
    one, a bakery offering bread to the community's need of goods; matches proposed."""
    from appeals.service import AppealsService

    container_factory(AppealsService, platform).start()
    rpc("organiser").create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    rpc("organiser").create_account(username="guest", password=PASSWORD, display_name="访客", role="viewer")
    appeals = rpc("appeals")
    hospital = appeals.add_partner(
        name="鼓楼医院", alliance="resident_units", kind="unit", contact_person="张主任", contact_phone="13900001111"
    )
    ngo = appeals.add_partner(name="益心社工", alliance="non_profits", kind="non_profit")
    bakery = appeals.add_partner(name="老王面包店", alliance="individual_businesses", kind="business")
    appeals.add_offer(partner_id=hospital["id"], kind="venue", what="多功能厅", words=["hall"], quantity=2)
    appeals.add_offer(partner_id=bakery["id"], kind="goods", what="面包", words=["bread"], quantity=30)
    appeals.add_need(partner_id=ngo["id"], kind="venue", what="讲座场地", words=["hall"], quantity=1)
    appeals.add_need(kind="goods", what="重阳节慰问品", words=["bread"], quantity=20)
    proposed = appeals.propose_matches()
    return {"matches": {m["offer"]["what"]: m for m in proposed}, "hospital": hospital}


def test_the_list_its_matches_and_turning_one_into_an_activity_on_the_page(two_way, web_session, rpc):
    web = web_session
    assert log_in(web).status_code == 303
    page = web.get("/partners")
    assert page.status_code == 200
    text = page.text
    assert "驻区单位" in text and "鼓楼医院" in text and "13900001111" in text  # organisers see the contact
    assert "重阳节慰问品" in text and 'id="community-needs"' in text
    hall = two_way["matches"]["多功能厅"]
    bread = two_way["matches"]["面包"]
    assert f'id="match-{hall["id"]}"' in text and f'id="match-{bread["id"]}"' in text

    csrf = csrf_of(text)
    agreed = web.post(f"/partners/matches/{hall['id']}/agree", data={"csrf": csrf}, allow_redirects=False)
    assert agreed.status_code == 303
    start = local(now()).replace(hour=14, minute=0, second=0, microsecond=0) + timedelta(days=3)
    form = {
        "csrf": csrf,
        "title": "党建联建 健康讲座",
        "kind": "lecture",
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "place": "多功能厅",
        "capacity": "60",
    }
    turned = web.post(f"/partners/matches/{hall['id']}/turn", data=form, allow_redirects=False)
    assert turned.status_code == 303, turned.text
    again = web.post(f"/partners/matches/{hall['id']}/turn", data=form)
    assert again.status_code == 400 and "MatchAlreadyTurned" in again.text  # refused: turned once only
    made = [a for a in rpc("activities").list_activities() if a["title"] == "党建联建 健康讲座"]
    assert len(made) == 1
    declined = web.post(f"/partners/matches/{bread['id']}/decline", data={"csrf": csrf}, allow_redirects=False)
    assert declined.status_code == 303
    after = web.get("/partners").text
    assert "已转为活动" in after and "已谢绝" in after

    bad = web.post(f"/partners/matches/{bread['id']}/turn", data=form | {"start": "tomorrow"})
    assert bad.status_code == 400
    unknown_kind = web.post(f"/partners/matches/{bread['id']}/turn", data=form | {"kind": "party"})
    assert unknown_kind.status_code == 400
    assert web.post("/partners/propose", data={}).status_code == 403  # no CSRF token


def test_viewers_read_without_contacts_and_change_nothing(two_way, web_session):
    web = web_session
    assert log_in(web, username="guest").status_code == 303
    page = web.get("/partners")
    assert page.status_code == 200 and "鼓楼医院" in page.text
    assert "13900001111" not in page.text and "张主任" not in page.text
    assert 'action="/partners/propose"' not in page.text
    refused = web.post("/partners/propose", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403


def test_partners_on_the_command_line(two_way, run_cli):
    def as_json(done):
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    listed = as_json(run_cli("partners", "list", "--json"))
    assert {p["name"] for p in listed} == {"鼓楼医院", "益心社工", "老王面包店"}
    assert len(as_json(run_cli("partners", "offers", "--json"))) == 2
    needs = as_json(run_cli("partners", "needs", "--community", "--json"))
    assert [n["what"] for n in needs] == ["重阳节慰问品"]
    matches = as_json(run_cli("partners", "matches", "--json"))
    assert {m["status"] for m in matches} == {"proposed"}
    table = run_cli("partners", "matches")
    assert table.returncode == 0 and "面包" in table.stdout
    bread = two_way["matches"]["面包"]
    start = (local(now()) + timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
    args = ("partners", "turn", str(bread["id"]), "--title", "重阳节慰问", "--kind", "elderly_visit",
            "--start", start.strftime("%Y-%m-%dT%H:%M"), "--end", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "--place", "福寿养老院")  # fmt: skip
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    assert "is activity" in done.stdout
    twice = run_cli(*args)
    assert twice.returncode == 1 and "MatchAlreadyTurned" in twice.stderr + twice.stdout
    assert (
        run_cli(
            "partners", "turn", str(bread["id"]), "--title", "x", "--kind", "party", "--start", "x", "--end", "y"
        ).returncode
        == 2
    )
