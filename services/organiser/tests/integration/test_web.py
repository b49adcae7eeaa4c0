"""The organiser page over plain HTTP: login, sessions that expire, CSRF, roles, the pages' content."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import eventlet
import eventlet.event
import eventlet.tpool
import pytest
from organiser_testkit import MONDAY, PASSWORD, browser_at, csrf_of, duty_under_way, log_in, swappable
from sqlalchemy import create_engine, text

from guanyinli.errors import KeyReused
from guanyinli.rpc import ServiceRpcProxy, rpc
from guanyinli.testing import signed
from guanyinli.timeutil import now, to_db
from organiser import security
from organiser.service import LOGIN_RULES, OrganiserService

pytestmark = pytest.mark.integration


def build(web, data: dict):
    """Start a build from the page and follow its page until it shows the roster (or why not)."""
    started = web.post("/roster/build", data=data, allow_redirects=False)
    assert started.status_code == 303 and re.fullmatch(r"/roster/builds/[\w-]+", started.headers["Location"])
    for _ in range(900):  # the build's page looks again every 2 s in a browser
        page = web.get(started.headers["Location"])
        if 'id="building"' not in page.text:
            return page
        eventlet.sleep(0.1)
    raise AssertionError("the build did not finish")


@pytest.fixture
def accounts(rpc):
    organiser = rpc("organiser")
    organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    organiser.create_account(username="guest", password=PASSWORD, display_name="访客", role="viewer")


def test_an_account_asked_again_with_its_request_id_is_made_once(rpc):
    organiser = rpc("organiser")
    first = organiser.create_account(username="liming", password=PASSWORD, display_name="李明", request_id="acct-1")
    assert (
        organiser.create_account(username="liming", password=PASSWORD, display_name="李明", request_id="acct-1")
        == first
    )
    with pytest.raises(KeyReused):
        organiser.create_account(username="zhaoli", password=PASSWORD, request_id="acct-1")
    assert [a["username"] for a in organiser.list_accounts()] == ["liming"]


@pytest.fixture
def organiser_web(platform, accounts, web_session):
    assert log_in(web_session).status_code == 303
    return web_session


def test_pages_need_a_login_and_come_back_after_it(platform, accounts, web_session):
    page = web_session.get("/attendance?day=2026-12-07", allow_redirects=False)
    assert page.status_code == 303 and page.headers["Location"].startswith("/login?next=%2Fattendance")
    form = web_session.get(page.headers["Location"])
    assert form.status_code == 200 and "请先登录" in form.text
    done = web_session.post(
        "/login",
        data={
            "username": "wangfang",
            "password": PASSWORD,
            "csrf": csrf_of(form.text),
            "next": "/attendance?day=2026-12-07",
        },
        allow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["Location"] == "/attendance?day=2026-12-07"
    assert web_session.get("/attendance?day=2026-12-07").status_code == 200


def test_login_refuses_wrong_passwords_foreign_forms_and_open_redirects(platform, accounts, web_session):
    assert log_in(web_session, password="wrong password!").status_code == 401
    assert log_in(web_session, username="nobody").status_code == 401
    web_session.get("/login")
    forged = web_session.post("/login", data={"username": "wangfang", "password": PASSWORD, "csrf": "guess"})
    assert forged.status_code == 403
    form = web_session.get("/login")
    outward = web_session.post(
        "/login",
        data={"username": "wangfang", "password": PASSWORD, "csrf": csrf_of(form.text), "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert outward.status_code == 303 and outward.headers["Location"] == "/roster"


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil", "/%5Cevil", "https://evil", "/%0A/evil"])
def test_login_sends_only_to_paths_of_the_site(platform, accounts, web_session, target):
    form = web_session.get(f"/login?next={target}")
    assert 'name="next" value="/roster"' in form.text
    done = web_session.post(
        "/login",
        data={"username": "wangfang", "password": PASSWORD, "csrf": csrf_of(form.text), "next": unquote(target)},
        allow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["Location"] == "/roster"


def test_session_cookie_flags_and_security_headers(platform, accounts, web_session):
    response = log_in(web_session)
    cookie = response.headers["Set-Cookie"]
    assert "gyl_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
    page = web_session.get("/roster")
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_cookies_are_secure_by_default(container_factory, service_config, web_session):
    container_factory(OrganiserService, service_config).start()  # no ORGANISER_SECURE_COOKIES override
    assert "; Secure" in web_session.get("/login").headers["Set-Cookie"]


def test_every_post_needs_the_session_csrf_token(organiser_web, patrol_team):
    page = organiser_web.get("/roster")
    token = csrf_of(page.text)
    missing = organiser_web.post("/roster/build", data={"start": str(MONDAY), "days": "7", "time_limit": "2"})
    assert missing.status_code == 403
    wrong = organiser_web.post(
        "/roster/build", data={"start": str(MONDAY), "days": "7", "time_limit": "2", "csrf": token[:-2] + "xx"}
    )
    assert wrong.status_code == 403
    built = build(
        organiser_web, {"start": str(MONDAY), "days": "7", "time_limit": "2", "grid": ["6", "7"], "csrf": token}
    )
    assert built.status_code == 200 and re.search(r"/roster/\d+/publish", built.text)
    logout_forged = organiser_web.post("/logout", data={"csrf": "x"})
    assert logout_forged.status_code == 403


def test_board_publish_and_repair(organiser_web, patrol_team, rpc):
    token = csrf_of(organiser_web.get("/roster").text)
    built = build(
        organiser_web, {"start": str(MONDAY), "days": "7", "time_limit": "2", "grid": ["6", "7"], "csrf": token}
    )
    assert built.status_code == 200
    html = built.text
    assert html.count('class="shift covered"') == 14 and "G06" in html and "G07" in html
    assert "巡逻员" in html and 'class="chart"' in html and "<svg" in html
    roster_id = int(re.search(r"/roster/(\d+)/publish", html).group(1))
    assert f"/roster/{roster_id}/repair" not in html and f"/roster/{roster_id}/swap" in html  # a draft: no repair
    published = organiser_web.post(f"/roster/{roster_id}/publish", data={"csrf": token})
    assert published.status_code == 200 and "排班表已发布" in published.text and "status-published" in published.text
    assert f"/roster/{roster_id}/repair" in published.text and f"/roster/{roster_id}/publish" not in published.text
    assert rpc("activities").get_roster(roster_id=roster_id)["status"] == "published"
    again = organiser_web.post(f"/roster/{roster_id}/publish", data={"csrf": token})
    assert again.status_code == 200 and "status-published" in again.text  # publishing again changes nothing

    before = rpc("activities").get_roster(roster_id=roster_id)
    a, day_a, b, day_b = swappable(before, [p["id"] for p in patrol_team[:6:2]])  # grid 6's leaders
    swap = {"csrf": token, "volunteer_a": a, "day_a": day_a, "volunteer_b": b, "day_b": day_b}
    assert f'<option value="{a} {next(p["name"] for p in patrol_team if p["id"] == a)}">' in published.text
    name_b = next(p["name"] for p in patrol_team if p["id"] == b)
    # by number and by name (as the page suggests them), and with the patrol's time
    swapped = organiser_web.post(f"/roster/{roster_id}/swap", data=swap | {"volunteer_b": name_b, "time_a": "19:00"})
    assert swapped.status_code == 200 and "已换班" in swapped.text
    after = rpc("activities").get_roster(roster_id=roster_id)
    moved = {(x["shift_id"], x["volunteer_id"]) for x in after["assignments"]} ^ {
        (x["shift_id"], x["volunteer_id"]) for x in before["assignments"]
    }
    assert len(moved) == 4 and {v for _, v in moved} == {a, b}
    grid7 = patrol_team[1]["id"]
    on = next(
        s["start"][:10]
        for s in after["shifts"]
        for x in after["assignments"]
        if x["shift_id"] == s["shift_id"] and x["volunteer_id"] == grid7
    )
    refused = organiser_web.post(
        f"/roster/{roster_id}/swap", data=swap | {"volunteer_b": grid7, "day_a": day_b, "day_b": on}
    )
    # the service's refusal in the page's language: grid 7's volunteer may not patrol grid 6
    assert refused.status_code == 400 and "换班申请" in refused.text and "不在其可巡逻的网格内" in refused.text
    assert "<h1>未能办理</h1>" in refused.text  # refused by the rules, not an error
    organiser_web.get("/lang/en")
    in_english = organiser_web.post(
        f"/roster/{roster_id}/swap", data=swap | {"volunteer_b": grid7, "day_a": day_b, "day_b": on}
    )
    assert (
        in_english.status_code == 400 and "SwapRejected" in in_english.text and "not one they patrol" in in_english.text
    )
    organiser_web.get("/lang/zh")
    nothing = organiser_web.post(f"/roster/{roster_id}/swap", data=swap | {"day_a": "2026-12-01"})
    assert nothing.status_code == 400 and "2026-12-01没有班次" in nothing.text
    at_a_time = organiser_web.post(f"/roster/{roster_id}/swap", data=swap | {"time_a": "08:00"})
    assert at_a_time.status_code == 400 and f"{day_a} 08:00没有班次" in at_a_time.text  # the evening is at 19:00
    garbled = organiser_web.post(f"/roster/{roster_id}/swap", data=swap | {"time_b": "7pm"})
    assert garbled.status_code == 400 and "时间为时:分" in garbled.text and "<h1>请检查填写的内容</h1>" in garbled.text

    dropped = patrol_team[0]
    nobody = organiser_web.post(f"/roster/{roster_id}/repair", data={"csrf": token, "volunteer_id": "无名氏"})
    assert nobody.status_code == 400 and "本排班表中没有名为无名氏的志愿者" in nobody.text
    repaired = organiser_web.post(
        f"/roster/{roster_id}/repair", data={"csrf": token, "volunteer_id": f"{dropped['id']} {dropped['name']}"}
    )
    assert repaired.status_code == 200 and "排班表已调整" in repaired.text
    assert dropped["name"] + "<" not in repaired.text.split('id="board"')[1].split("</table>")[0]
    repair_id = rpc("activities").list_rosters()[0]["id"]

    listed = organiser_web.get("/roster").text.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", listed, re.S)
    assert [int(re.search(r"/roster/(\d+)", row).group(1)) for row in rows] == [repair_id, roster_id]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[0], re.S)]
    # grid 6 keeps two leaders, three evenings a week each, for seven evenings: one patrol has no leader,
    # and the repair fills every other place the leaver left
    repaired_row = rpc("activities").get_roster(roster_id=repair_id)
    gaps = repaired_row["gaps"]
    assert len(gaps) == 1 and gaps[0]["leader_missing"] and gaps[0]["grid"] == 6
    assert (
        cells[2] == "6-7"
        and cells[3] == f"已发布 (调整自 {roster_id}, {repaired_row['changed']} 处改动)"
        and cells[7] == "1"
    )
    assert 'class="num warn"' in rows[0] and 'class="num warn"' not in rows[1]
    assert f'href="/roster/{roster_id}"' in rows[0]
    # statuses in the page's language: the repaired roster has one gap, the one it replaced is superseded
    assert cells[4] == "可行，有缺口" and "已被取代" in rows[1]
    organiser_web.get("/lang/en", allow_redirects=False)
    english = organiser_web.get("/roster")
    assert "feasible with gaps" in english.text and "superseded" in english.text


def test_viewers_see_what_the_readme_promises_and_change_nothing(platform, accounts, web_session, patrol_team, rpc):
    """README: viewers see the rosters, the board and its reports without phone numbers, e-mail or
    calendar links, and change nothing; the attendance sheet is for organisers."""
    activities = rpc("activities")
    window = {
        "start": f"{MONDAY}T00:00:00+08:00",
        "end": f"{MONDAY + timedelta(days=7)}T00:00:00+08:00",
        "grids": [6, 7],
    }
    roster_id = activities.build_roster(**window, options={"time_limit": 2})["id"]
    activities.publish_roster(roster_id=roster_id)
    volunteer = patrol_team[0]
    assert log_in(web_session, username="guest").status_code == 303

    index = web_session.get("/roster")  # the list of rosters, without the build form
    assert index.status_code == 200 and f'href="/roster/{roster_id}"' in index.text and "已发布" in index.text
    assert "/roster/build" not in index.text and "只读账户" in index.text and 'href="/attendance"' not in index.text

    board = web_session.get(f"/roster/{roster_id}")  # the board, its fairness chart and gaps
    assert board.status_code == 200 and 'id="board"' in board.text and 'class="chart"' in board.text
    assert "巡逻员" in board.text and 'class="shift covered"' in board.text
    assert f"/roster/{roster_id}/repair" not in board.text and f"/roster/{roster_id}/swap" not in board.text
    assert 'id="rostered"' not in board.text
    assert web_session.get("/roster/9999").status_code == 404

    listing = web_session.get("/volunteers")
    assert listing.status_code == 200 and volunteer["name"] in listing.text and volunteer["phone"] not in listing.text
    assert "仅组织者可见" in listing.text
    detail = web_session.get(f"/volunteers/{volunteer['id']}")
    assert detail.status_code == 200 and volunteer["name"] in detail.text
    assert (
        volunteer["phone"] not in detail.text
        and "webcal://" not in detail.text
        and 'id="issue-feed"' not in detail.text
    )

    sheet = web_session.get(f"/attendance?day={MONDAY}")
    assert sheet.status_code == 403 and "签到表仅组织者可见" in sheet.text

    token = csrf_of(index.text)
    writes = {
        "/roster/build": {"start": str(MONDAY)},
        f"/roster/{roster_id}/publish": {},
        f"/roster/{roster_id}/repair": {"volunteer_id": volunteer["id"]},
        f"/roster/{roster_id}/swap": {"volunteer_a": volunteer["id"], "day_a": str(MONDAY)},
        "/attendance/1": {"status": "attended"},
        f"/volunteers/{volunteer['id']}/feed": {},
    }
    for path, form in writes.items():
        refused = web_session.post(path, data={**form, "csrf": token})
        assert refused.status_code == 403 and "只能查看" in refused.text, path
    assert activities.list_rosters()[0]["id"] == roster_id  # nothing was built or repaired
    assert activities.feed_urls(volunteer_id=volunteer["id"])["personal"] is None  # no link was issued
    assert web_session.post("/logout", data={"csrf": token}, allow_redirects=False).status_code == 303


def test_organisers_see_contact_details_and_the_subscribe_link(organiser_web, patrol_team):
    volunteer = patrol_team[0]
    listing = organiser_web.get("/volunteers?team=voluntary_patrol&grid=6")
    assert volunteer["phone"] in listing.text and patrol_team[1]["name"] not in listing.text  # grid 7
    row = listing.text.split(volunteer["phone"])[1].split("</tr>")[0]
    # team, grid and skills in words, not as codes
    assert "义务巡逻队" in row and "G06 观音里第六综合网格" in row and "巡逻带队" in row and "patrol_leader" not in row
    detail = organiser_web.get(f"/volunteers/{volunteer['id']}")
    assert detail.status_code == 200 and volunteer["phone"] in detail.text
    assert "<dd>义务巡逻队</dd>" in detail.text and "<dd>巡逻带队</dd>" in detail.text
    assert 'id="issue-feed"' in detail.text and "webcal://" not in detail.text
    issued = organiser_web.post(f"/volunteers/{volunteer['id']}/feed", data={"csrf": csrf_of(detail.text)})
    assert issued.status_code == 200
    link = re.search(r'id="webcal">(webcal://[^<]+)</a>', issued.text).group(1)
    assert "/feeds/volunteers/" in link and "<svg" in issued.text and 'class="qr"' in issued.text
    assert organiser_web.post(f"/volunteers/{volunteer['id']}/feed", data={}).status_code == 403


def test_organisers_set_a_volunteers_roster_settings_on_their_page(organiser_web, patrol_team, rpc):
    me, partner, other_grid = patrol_team[0], patrol_team[2], patrol_team[1]  # grids 6, 6 and 7
    page = organiser_web.get(f"/volunteers/{me['id']}")
    assert page.status_code == 200 and 'id="settings-form"' in page.text and "按平台规定" in page.text
    form = page.text.split('id="settings-form"')[1]
    assert f'<option value="{partner["id"]}">{partner["name"]} (#{partner["id"]})</option>' in form
    offered = {int(i) for i in re.findall(r'<option value="(\d+)"', form)}
    assert offered == {p["id"] for p in patrol_team if p["grid_id"] == 6} - {me["id"]}  # their grid's team, not them
    assert other_grid["id"] not in offered

    saved = organiser_web.post(
        f"/volunteers/{me['id']}/settings",
        data={
            "csrf": csrf_of(page.text),
            "max_duties_per_week": "2",
            "target_per_month": "6",
            "day": ["5", "6"],
            "time": "morning",
            "partner": [str(partner["id"]), "", ""],
        },
        allow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["Location"] == f"/volunteers/{me['id']}?done=settings_saved"
    record = rpc("volunteers").get_volunteer(volunteer_id=me["id"])
    assert (record["max_duties_per_week"], record["target_per_month"]) == (2, 6)
    assert (record["preferred_days"], record["preferred_times"], record["partners"]) == (
        [5, 6],
        ["morning"],
        [partner["id"]],
    )
    shown = organiser_web.get(saved.headers["Location"])
    assert "排班设置已保存" in shown.text and "周六、周日" in shown.text and "上午" in shown.text
    assert f"<dd>{partner['name']}</dd>" in shown.text and 'name="day" value="5" checked' in shown.text
    assert f'<option value="{partner["id"]}" selected>' in shown.text

    refused = organiser_web.post(
        f"/volunteers/{me['id']}/settings",
        data={"csrf": csrf_of(shown.text), "max_duties_per_week": "0", "partner": str(me["id"])},
    )
    assert refused.status_code == 400 and "max_duties_per_week" in refused.text
    alone = organiser_web.post(
        f"/volunteers/{me['id']}/settings", data={"csrf": csrf_of(shown.text), "partner": str(me["id"])}
    )
    assert alone.status_code == 400 and "不能把自己设为搭档" in alone.text
    assert rpc("volunteers").get_volunteer(volunteer_id=me["id"]) == record  # neither changed anything

    cleared = organiser_web.post(f"/volunteers/{me['id']}/settings", data={"csrf": csrf_of(shown.text)})
    assert cleared.status_code == 200  # redirected to the page
    record = rpc("volunteers").get_volunteer(volunteer_id=me["id"])
    assert (record["max_duties_per_week"], record["target_per_month"], record["preferred_days"]) == (None, None, [])
    assert record["partners"] == []


def test_viewers_see_roster_settings_without_the_form(platform, accounts, web_session, patrol_team, rpc):
    me = patrol_team[0]
    rpc("volunteers").update_volunteer(volunteer_id=me["id"], max_duties_per_week=3, preferred_times=["evening"])
    assert log_in(web_session, username="guest").status_code == 303
    page = web_session.get(f"/volunteers/{me['id']}")
    assert 'id="roster-settings"' in page.text and "3 次" in page.text and "晚上" in page.text
    assert 'id="settings-form"' not in page.text
    refused = web_session.post(
        f"/volunteers/{me['id']}/settings", data={"csrf": csrf_of(page.text), "max_duties_per_week": "9"}
    )
    assert refused.status_code == 403
    assert rpc("volunteers").get_volunteer(volunteer_id=me["id"])["max_duties_per_week"] == 3


def test_language_switch_is_remembered(organiser_web):
    assert "巡逻排班" in organiser_web.get("/roster").text
    switched = organiser_web.get(
        "/lang/en", headers={"Referer": organiser_web.base_url + "/volunteers"}, allow_redirects=False
    )
    assert switched.headers["Location"] == "/volunteers"
    page = organiser_web.get("/roster")
    assert "Patrol roster" in page.text and 'lang="en"' in page.text
    assert "巡逻排班" in organiser_web.get("/roster?lang=zh").text


def test_sessions_expire_when_idle_and_end_at_logout(organiser_web, platform):
    engine = create_engine(platform["DB_URIS"]["organiser"])
    assert organiser_web.get("/roster", allow_redirects=False).status_code == 200
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE organiser_sessions SET last_seen_at = :then"), {"then": to_db(now() - timedelta(hours=3))}
        )
    expired = organiser_web.get("/roster", allow_redirects=False)
    assert expired.status_code == 303 and "why=session_expired" in expired.headers["Location"]
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM organiser_sessions")).scalar() == 0

    assert log_in(organiser_web).status_code == 303
    token = csrf_of(organiser_web.get("/roster").text)
    assert organiser_web.post("/logout", data={"csrf": token}, allow_redirects=False).status_code == 303
    assert organiser_web.get("/roster", allow_redirects=False).status_code == 303
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM organiser_sessions")).scalar() == 0
    engine.dispose()


def test_unknown_roster_and_bad_input_read_as_pages(organiser_web):
    missing = organiser_web.get("/roster/9999")
    assert missing.status_code == 404 and "9999" in missing.text
    token = csrf_of(organiser_web.get("/roster").text)
    bad = organiser_web.post("/roster/build", data={"start": "next week", "csrf": token})
    assert bad.status_code == 400 and "start" in bad.text


def test_static_files_stay_inside_their_folder(platform, web_session):
    assert web_session.get("/static/app.css").status_code == 200
    assert web_session.get("/static/../service.py").status_code == 404
    assert web_session.get("/static/%2e%2e/service.py").status_code == 404


def test_password_hashes_are_argon2_and_never_sent(platform, accounts, rpc):
    engine = create_engine(platform["DB_URIS"]["organiser"])
    with engine.begin() as conn:
        hashes = [row[0] for row in conn.execute(text("SELECT password_hash FROM organiser_accounts"))]
    engine.dispose()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all("password" not in key for a in rpc("organiser").list_accounts() for key in a)


def test_attendance_sheet_of_a_day_marks_duties(organiser_web, rpc):
    vid, start, signup = duty_under_way(rpc, "值班员乙", "13912343333", minutes=90)
    activities = rpc("activities")

    day = start.date().isoformat()
    sheet = organiser_web.get(f"/attendance?day={day}")
    assert sheet.status_code == 200 and "值班员乙" in sheet.text and "便民服务站值班" in sheet.text
    assert "<td>服务</td>" in sheet.text and "helper" not in sheet.text  # the role in words
    marked = organiser_web.post(
        f"/attendance/{signup['id']}", data={"csrf": csrf_of(sheet.text), "status": "no_show", "day": day}
    )
    assert marked.status_code == 200 and "签到已记录" in marked.text and 'class="att no_show"' in marked.text
    assert activities.volunteer_stats(volunteer_id=vid)["no_show"] == 1
    bad = organiser_web.post(f"/attendance/{signup['id']}", data={"csrf": csrf_of(sheet.text), "status": "late"})
    assert bad.status_code == 400 and "status" in bad.text
    empty = organiser_web.get("/attendance?day=2020-01-01")
    assert "这一天没有值班" in empty.text

    viewer = type(organiser_web)(organiser_web.base_url)
    assert log_in(viewer, username="guest").status_code == 303
    refused = viewer.get(f"/attendance?day={day}")  # duties are for organisers only
    assert refused.status_code == 403 and "没有权限" in refused.text and "值班员乙" not in refused.text
    viewer.close()


def test_the_board_explains_what_cannot_be_covered(organiser_web, rpc):
    rpc("volunteers").create_volunteer(
        name="独行者", phone="13912344444", teams=["voluntary_patrol"], grid_id=9, skills=["patrol_leader"]
    )
    rpc("activities").create_activity(
        title="第9网格晚间巡逻",
        kind="patrol",
        team="voluntary_patrol",
        grid_id=9,
        start=f"{MONDAY}T19:00:00+08:00",
        duration_minutes=120,
        rrule="FREQ=DAILY;COUNT=3",
        roles=[{"name": "patroller", "needed": 2}],
    )
    token = csrf_of(organiser_web.get("/roster").text)
    built = build(organiser_web, {"start": str(MONDAY), "days": "3", "time_limit": "2", "grid": ["9"], "csrf": token})
    assert built.status_code == 200
    explanation = built.text.split('id="explanation"')[1].split("</section>")[0]
    assert "无法完全排班的原因" in explanation and "G09" in explanation
    assert built.text.count('class="shift short"') + built.text.count('class="shift empty"') == 3
    shifts = re.findall(r"<li><strong>G09 · (\d\d-\d\d)", explanation)
    days = [f"{MONDAY + timedelta(days=n):%m-%d}" for n in range(3)]
    assert sorted(shifts) == days  # each uncovered shift, under the reason that explains it
    reasons = [r.strip() for r in re.findall(r"<li>([^<]+)<ul class=\"gap-shifts\">", explanation)]
    assert reasons and len(reasons) == len(set(reasons)) and all("需要" in r for r in reasons)  # each once, in Chinese
    nothing = build(
        organiser_web, {"start": str(MONDAY), "days": "3", "time_limit": "2", "grid": ["10"], "csrf": token}
    )
    assert (
        "10号网格没有巡逻班次，无需排班" in nothing.text and 'id="explanation"' not in nothing.text
    )  # no empty roster


def test_expired_sessions_are_purged_and_live_ones_kept(db_urls):
    from sqlalchemy.orm import Session

    from organiser import accounts as store
    from organiser.models import WebSession

    engine = create_engine(db_urls["organiser"])
    with Session(engine) as session, session.begin():
        store.create_account(session, "wangfang", security.hash_password(PASSWORD), "王芳", "organiser")
        _, idle = store.open_session(session, "wangfang", "zh")
        _, live = store.open_session(session, "wangfang", "en")
        assert store.open_session(session, "nobody", "zh") is None
        session.get(WebSession, idle.session_id).last_seen_at = to_db(now() - timedelta(hours=2, minutes=1))
    with Session(engine) as session, session.begin():
        assert store.purge_expired(session) == 1
        assert [w.id for w in session.query(WebSession)] == [live.session_id]
    engine.dispose()


def test_wrong_passwords_from_one_address_are_refused_for_a_while(platform, accounts, web_session, web_clock):
    statuses = [log_in(web_session, password="wrong password!").status_code for _ in range(LOGIN_RULES.per_pair + 1)]
    assert statuses == [401] * LOGIN_RULES.per_pair + [429]
    refused = log_in(web_session)  # even with the right password
    assert refused.status_code == 429 and "登录失败次数过多" in refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= LOGIN_RULES.window.total_seconds()
    in_english = web_session.post("/login?lang=en", data={"username": "wangfang"}, allow_redirects=False)
    assert in_english.status_code == 403  # no form token: refused before the throttle is asked
    assert log_in(web_session, username="guest").status_code == 303  # other names are not affected

    office = browser_at(web_session, "127.0.0.2")
    assert log_in(office).status_code == 303  # the organiser, from a machine that has not failed
    office.close()

    web_clock.offset = LOGIN_RULES.window  # the failures leave the window: no sleeping
    assert log_in(web_session).status_code == 303


def test_a_flood_from_many_addresses_cannot_lock_the_organiser_out(platform, accounts, web_session):
    flood = [browser_at(web_session, f"127.0.1.{i}") for i in range(1, LOGIN_RULES.per_account + 2)]
    statuses = [log_in(b, password="wrong password!").status_code for b in flood]
    assert statuses == [401] * len(flood)
    # the account is flooded: an address that has failed for it waits, even below its own limit
    again = log_in(flood[0], password="wrong password!")
    assert again.status_code == 429 and "Retry-After" in again.headers
    office = browser_at(web_session, "127.0.0.2")
    assert log_in(office).status_code == 303
    for browser in [*flood, office]:
        browser.close()


def test_failed_logins_survive_a_restart_of_the_page(platform, accounts, web_session, db_urls):
    for _ in range(LOGIN_RULES.per_pair):
        assert log_in(web_session, password="wrong password!").status_code == 401
    engine = create_engine(db_urls["organiser"])
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT username, address FROM organiser_login_failures")).all()
    engine.dispose()
    assert rows == [("wangfang", "127.0.0.1")] * LOGIN_RULES.per_pair  # kept in the database, not the process
    assert log_in(web_session).status_code == 429


def test_other_pages_are_served_while_a_password_is_checked(platform, accounts, web_session, monkeypatch):
    threading = eventlet.patcher.original("threading")
    checking, release = threading.Event(), threading.Event()
    check = security.verify_password

    def held(stored, password):  # runs in an OS thread: blocking here would stop the event loop otherwise
        checking.set()
        release.wait(30)
        return check(stored, password)

    monkeypatch.setattr(security, "verify_password", held)
    form = web_session.get("/login")
    data = {"username": "wangfang", "password": PASSWORD, "csrf": csrf_of(form.text), "next": "/roster"}
    pending = eventlet.spawn(web_session.post, "/login", data=data, allow_redirects=False)
    assert eventlet.tpool.execute(checking.wait, 30)
    other = type(web_session)(web_session.base_url)
    assert other.get("/login").status_code == 200  # answered while the hash is held
    assert not pending.dead
    release.set()
    assert pending.wait().status_code == 303
    other.close()


def test_a_build_answers_at_once_and_its_page_opens_the_roster_when_done(organiser_web, patrol_team, monkeypatch, rpc):
    import activities.roster as solver

    threading = eventlet.patcher.original("threading")
    solving, release = threading.Event(), threading.Event()
    solve = solver.solve

    def held(*args, **kwargs):  # the solve in activities' OS thread, held until the test lets it go
        solving.set()
        release.wait(60)
        return solve(*args, **kwargs)

    monkeypatch.setattr(solver, "solve", held)
    token = csrf_of(organiser_web.get("/roster").text)
    data = {"start": str(MONDAY), "days": "7", "time_limit": "2", "grid": ["6", "7"], "csrf": token}
    started = organiser_web.post("/roster/build", data=data, allow_redirects=False)
    assert started.status_code == 303  # answered while the solve is held: no page worker waits for it
    assert eventlet.tpool.execute(solving.wait, 60)
    progress = organiser_web.get(started.headers["Location"])
    assert progress.status_code == 200 and "正在生成排班" in progress.text
    assert '<meta http-equiv="refresh" content="2">' in progress.text
    assert "正在求解" in organiser_web.get("/roster").text  # the list shows it too
    opened = organiser_web.get(f"/roster/{rpc('activities').list_rosters()[0]['id']}")
    assert opened.status_code == 200 and "正在求解" in opened.text
    release.set()
    done = build(organiser_web, data)  # the same page, followed until the roster shows
    assert done.status_code == 200 and 'id="board"' in done.text


def test_a_failed_build_shows_why_on_its_page(organiser_web):
    token = csrf_of(organiser_web.get("/roster").text)
    failed = build(
        organiser_web, {"start": "2026-12-07", "days": "3", "time_limit": "2", "grid": ["99"], "csrf": token}
    )
    # a grid the community does not have: the activities service's GridNotFound, named with the grids it has
    assert failed.status_code == 404 and "没有99号网格；社区的网格是1-15" in failed.text
    assert organiser_web.get("/roster/builds/unknown", allow_redirects=False).headers["Location"] == "/roster"


def test_a_service_that_does_not_answer_gives_a_page_not_a_stuck_worker(container_factory, service_config, web_session):
    stuck = eventlet.event.Event()

    class StuckVolunteers:
        name = "volunteers"

        @rpc
        def list_volunteers(self, team=None, grid_id=None, limit=50, offset=0):
            stuck.wait()

    config = dict(service_config, ORGANISER_SECURE_COOKIES=False, ORGANISER_RPC_TIMEOUT=0.5)
    container_factory(StuckVolunteers, config).start()
    container_factory(OrganiserService, config).start()
    with ServiceRpcProxy("organiser", config, context_data=signed({"roles": ["organiser"]}), timeout=30) as organiser:
        organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    assert log_in(web_session).status_code == 303
    page = web_session.get("/volunteers")
    assert page.status_code == 503 and "<h1>服务暂时无法访问</h1>" in page.text
    assert "volunteers.list_volunteers 在 0.5 秒内没有应答" in page.text
    english = web_session.get("/volunteers?lang=en")
    assert english.status_code == 503 and "did not answer within 0.5 s" in english.text
    stuck.send()


def post_routes() -> list[str]:
    """Every POST path of the service, with 1 for each number in it."""
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    paths = []
    for name in dir(OrganiserService):
        for entrypoint in getattr(getattr(OrganiserService, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if "POST" in getattr(entrypoint, "method", "").split(","):
                paths.append(re.sub(r"<int:\w+>", "1", entrypoint.url))
    return sorted(paths)


def test_every_post_route_and_form_carries_a_csrf_token(organiser_web):
    routes = post_routes()
    assert {"/login", "/logout", "/roster/build", "/roster/1/publish", "/attendance/1", "/v/signup"} <= set(routes)
    assert "/cleanups/plan" in routes
    calendar = {
        "/activities",
        "/activities/1",
        "/occurrences/1/cancel",
        "/occurrences/1/move",
        "/occurrences/1/signup",
        "/occurrences/1/signups/1/cancel",
        "/occurrences/1/attendance/1",
    }
    assert calendar <= set(routes)  # the calendar's forms
    for path in routes:
        for token in ({}, {"csrf": "forged"}):
            assert organiser_web.post(path, data=token, allow_redirects=False).status_code == 403, (path, token)
    assert organiser_web.get("/roster", allow_redirects=False).status_code == 200  # still logged in
    from organiser.web import HERE

    forms = [
        (template.name, form)
        for template in sorted((HERE / "templates").rglob("*.html"))
        for form in re.findall(r"<form[^>]*>.*?</form>", template.read_text(), re.S)
        if re.search(r'method="post"', form.split(">", 1)[0], re.I)
    ]
    assert len(forms) >= 8 and all('name="csrf"' in form for _, form in forms), forms
