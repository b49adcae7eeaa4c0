"""The volunteers' phone page over real HTTP: sign-in by SMS code (read from the notifications
service's SMS sink) and by a printed link, the pages of a signed-in volunteer, and refusals."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import eventlet
import pytest
from organiser_testkit import PASSWORD, csrf_of, duty_under_way, log_in

from guanyinli.timeutil import iso, now
from notifications.service import NotificationsService

pytestmark = pytest.mark.integration

WANG = "13912347700"
LI = "13912347701"
NOBODY = "13800000000"


@pytest.fixture
def sms_log(tmp_path):
    return tmp_path / "sms.log"


@pytest.fixture
def site(platform, container_factory, sms_log, rpc):
    """The platform with notifications sending SMS to its sink, two volunteers, an open duty each."""
    config = dict(platform, SMS={"PROVIDER": "sink", "SINK_PATH": str(sms_log)})
    container_factory(NotificationsService, config).start()
    volunteers, activities = rpc("volunteers"), rpc("activities")
    rpc("organiser").create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    people = {}
    start = (now() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    for name, phone in (("王芳", WANG), ("李明", LI)):
        vid = volunteers.create_volunteer(name=name, phone=phone, teams=["convenient_service"])["id"]
        volunteers.set_availability(
            volunteer_id=vid, weekly=[{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)]
        )
        people[name] = vid
    activity = activities.create_activity(
        title="便民服务站值班",
        kind="convenience",
        room="服务站",
        start=iso(start),
        duration_minutes=120,
        roles=[{"name": "helper", "needed": 1}],
    )
    occurrence = activities.list_occurrences(
        start=iso(start), end=iso(start + timedelta(hours=2)), activity_id=activity["id"]
    )[0]
    return {"people": people, "occurrence": occurrence["id"], "start": start}


def codes_sent(sms_log) -> list[dict]:
    if not sms_log.exists():
        return []
    return [json.loads(line) for line in sms_log.read_text(encoding="utf-8").splitlines() if line.strip()]


def code_in(message: dict) -> str:
    return re.search(r"\b(\d{6})\b", message["text"]).group(1)


def ask_code(web, phone: str):
    form = web.get("/v/login")
    assert form.status_code == 200
    return web.post("/v/code", data={"phone": phone, "csrf": csrf_of(form.text)}, allow_redirects=False)


def enter_code(web, page, phone: str, code: str):
    return web.post("/v/verify", data={"phone": phone, "code": code, "csrf": csrf_of(page.text)}, allow_redirects=False)


def sign_in(web, sms_log, phone: str):
    page = ask_code(web, phone)
    assert page.status_code == 200, page.text
    code = code_in([m for m in codes_sent(sms_log) if m["phone"].endswith(phone)][-1])
    done = enter_code(web, page, phone, code)
    assert done.status_code == 303 and done.headers["Location"] == "/v"
    return done


def test_a_volunteer_signs_in_with_the_code_sent_by_sms(site, web_session, sms_log):
    assert web_session.get("/v", allow_redirects=False).headers["Location"].startswith("/v/login")
    page = ask_code(web_session, "139 1234 7700")
    assert page.status_code == 200 and "139****7700" in page.text
    [sms] = codes_sent(sms_log)
    assert sms["phone"].endswith(WANG)
    code = code_in(sms)
    wrong = "000000" if code != "000000" else "111111"
    refused = enter_code(web_session, page, WANG, wrong)
    assert refused.status_code == 401 and "验证码不对" in refused.text
    done = enter_code(web_session, refused, WANG, code)
    assert done.status_code == 303
    home = web_session.get("/v")
    assert home.status_code == 200 and "王芳，您好" in home.text
    # the code is spent
    other = type(web_session)(web_session.base_url)
    assert enter_code(other, other.get("/v/login"), WANG, code).status_code in (401, 403)


def test_a_number_that_is_nobodys_gets_the_same_page_and_no_sms(site, web_session, sms_log):
    known = ask_code(web_session, WANG)
    unknown = ask_code(type(web_session)(web_session.base_url), NOBODY)
    assert unknown.status_code == known.status_code == 200
    assert strip_numbers(unknown.text) == strip_numbers(known.text)
    assert [m["phone"][-11:] for m in codes_sent(sms_log)] == [WANG]


def strip_numbers(html: str) -> str:
    return re.sub(r'value="[^"]*"|\d{3}\*{4}\d{4}', "", html)


def test_five_wrong_codes_spend_it(site, web_session, sms_log):
    page = ask_code(web_session, WANG)
    code = code_in(codes_sent(sms_log)[-1])
    wrong = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c != code][:5]
    for guess in wrong:
        page = enter_code(web_session, page, WANG, guess)
        assert page.status_code == 401
    last = enter_code(web_session, page, WANG, code)
    assert last.status_code == 401 and "输错次数太多" in last.text


def test_asking_for_codes_too_often_waits(site, web_session, sms_log):
    assert ask_code(web_session, WANG).status_code == 200
    again = ask_code(web_session, WANG)
    assert again.status_code == 429 and "分钟后再试" in again.text
    assert int(again.headers["Retry-After"]) <= 61
    assert len(codes_sent(sms_log)) == 1


def test_sign_up_from_the_open_duties_and_cancel(site, web_session, sms_log):
    sign_in(web_session, sms_log, WANG)
    weeks = [web_session.get(f"/v/open?week={week}") for week in range(4)]
    assert all(page.status_code == 200 for page in weeks)
    [open_page] = [page for page in weeks if "便民服务站值班" in page.text]
    done = web_session.post(
        "/v/signup",
        data={"occurrence_id": site["occurrence"], "role": "helper", "csrf": csrf_of(open_page.text)},
    )
    assert done.status_code == 200 and "报名成功" in done.text
    home = web_session.get("/v")
    signup_id = int(re.search(r'id="duty-(\d+)"', home.text).group(1))
    cancelled = web_session.post(
        f"/v/duties/{signup_id}/cancel", data={"csrf": csrf_of(home.text)}, allow_redirects=False
    )
    assert cancelled.status_code == 303
    assert 'id="duty-' not in web_session.get("/v").text


def test_another_volunteers_duty_is_refused_in_plain_words(site, web_session, sms_log, rpc):
    theirs = rpc("activities").sign_up(occurrence_id=site["occurrence"], volunteer_id=site["people"]["李明"])
    sign_in(web_session, sms_log, WANG)
    home = web_session.get("/v")
    refused = web_session.post(f"/v/duties/{theirs['id']}/cancel", data={"csrf": csrf_of(home.text)})
    assert refused.status_code == 403 and "这不是您的记录" in refused.text
    assert (
        rpc("activities").list_duties(
            volunteer_id=site["people"]["李明"], start=iso(now()), end=iso(now() + timedelta(days=10))
        )[0]["status"]
        == "confirmed"
    )


def test_a_post_without_the_pages_token_changes_nothing(site, web_session, sms_log):
    sign_in(web_session, sms_log, WANG)
    refused = web_session.post("/v/signup", data={"occurrence_id": site["occurrence"], "role": "helper"})
    assert refused.status_code == 403
    assert 'id="duty-' not in web_session.get("/v").text


def test_a_printed_link_signs_in_until_it_is_revoked(site, web_session):
    organiser = type(web_session)(web_session.base_url)
    assert log_in(organiser).status_code == 303
    vid = site["people"]["王芳"]
    show = organiser.get(f"/volunteers/{vid}")
    sheet = organiser.post(f"/volunteers/{vid}/signin-link", data={"csrf": csrf_of(show.text)})
    assert sheet.status_code == 200 and "<svg" in sheet.text
    path = re.search(r'id="signin-url">https?://[^/]+(/v/link/[\w-]+)<', sheet.text).group(1)
    phone = web_session.get(path)
    assert phone.status_code == 200
    done = web_session.post(path, data={"csrf": csrf_of(phone.text)}, allow_redirects=False)
    assert done.status_code == 303 and "王芳，您好" in web_session.get("/v").text
    show = organiser.get(f"/volunteers/{vid}")
    assert organiser.post(f"/volunteers/{vid}/signin-link/revoke", data={"csrf": csrf_of(show.text)}).status_code == 200
    assert web_session.get("/v", allow_redirects=False).status_code == 303  # signed out everywhere
    again = web_session.get(path)
    dead = web_session.post(path, data={"csrf": csrf_of(again.text)})
    assert dead.status_code == 404 and "登录链接已失效" in dead.text


def test_a_code_entered_after_five_minutes_is_refused(site, web_session, sms_log, web_clock):
    page = ask_code(web_session, WANG)
    code = code_in(codes_sent(sms_log)[-1])
    web_clock.offset = timedelta(minutes=5, seconds=1)
    late = enter_code(web_session, page, WANG, code)
    assert late.status_code == 401 and "验证码已过期" in late.text
    assert web_session.get("/v", allow_redirects=False).status_code == 303


def test_a_duty_that_started_gets_a_clear_answer_and_stays(site, web_session, sms_log, rpc):
    vid, start, signup = duty_under_way(rpc, "赵磊", "13912347702")
    sign_in(web_session, sms_log, "13912347702")
    home = web_session.get("/v")
    for action in ("cant-come", "cancel"):
        refused = web_session.post(f"/v/duties/{signup['id']}/{action}", data={"csrf": csrf_of(home.text)})
        assert refused.status_code == 409, (action, refused.status_code)
        assert "已开始" in refused.text or "已过了取消时间" in refused.text, refused.text
    [duty] = rpc("activities").list_duties(
        volunteer_id=vid, start=iso(start - timedelta(hours=1)), end=iso(start + timedelta(hours=3))
    )
    assert duty["status"] == "confirmed"
    assert rpc("activities").list_standin_offers() == []


def test_saving_the_settings_with_only_the_day_before_ticked_keeps_that_reminder(site, web_session, sms_log, rpc):
    sign_in(web_session, sms_log, WANG)
    page = web_session.get("/v/settings")
    assert page.status_code == 200 and "<legend>哪些提醒</legend>" in page.text
    assert "活动前一天提醒" in page.text and "活动前两小时提醒" in page.text
    assert re.search(r'name="reminder_24h" checked>', page.text) and re.search(
        r'name="reminder_2h" checked>', page.text
    )
    form = {
        "csrf": csrf_of(page.text),
        "channel_sms": "on",
        "language": "zh",
        "quiet": "on",
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "mode": "immediate",
        "reminder_24h": "on",  # a box left unticked is not in the form at all
    }
    saved = web_session.post("/v/settings", data=form, allow_redirects=False)
    assert saved.status_code == 303 and saved.headers["Location"].startswith("/v/settings")
    prefs = rpc("notifications").get_preferences(volunteer_id=site["people"]["王芳"])
    assert prefs["reminders"] == ["24h"] and prefs["channels"] == ["sms"]
    again = web_session.get("/v/settings")
    assert re.search(r'name="reminder_24h" checked>', again.text) and re.search(r'name="reminder_2h" >', again.text)


def test_past_duties_show_attendance_hours_and_points(site, web_session, sms_log, rpc):
    vid, start, signup = duty_under_way(rpc, "赵磊", "13912347702")
    rpc("activities").mark_attendance(signup_id=signup["id"], status="attended")
    sign_in(web_session, sms_log, "13912347702")
    for _ in range(100):  # the volunteers service books the points when it hears attendance_recorded
        past = web_session.get("/v/past")
        if "分" in past.text.split("便民服务站值班", 1)[-1]:
            break
        eventlet.sleep(0.1)
    assert past.status_code == 200 and "已签到" in past.text and "2.0 小时" in past.text
    assert re.search(r"· \d+ 分", past.text), past.text


def test_a_volunteer_sets_their_own_weekly_cap_days_and_times(site, web_session, sms_log, rpc):
    wang, li = site["people"]["王芳"], site["people"]["李明"]
    rpc("volunteers").update_volunteer(volunteer_id=wang, target_per_month=4, partners=[li])
    sign_in(web_session, sms_log, WANG)
    home = web_session.get("/v")
    assert 'href="/v/profile"' in home.text and "排班偏好" in home.text
    page = web_session.get("/v/profile")
    assert page.status_code == 200 and "<legend>每周最多值几次班</legend>" in page.text
    assert "每月巡逻目标：4 次" in page.text and "巡逻搭档：李明" in page.text and "请告诉网格长或组织者" in page.text
    assert '<option value="" selected>不另设上限</option>' in page.text
    form = {
        "csrf": csrf_of(page.text),
        "max_duties_per_week": "2",
        "day": ["5", "6"],
        "time": "morning",
        "target_per_month": "30",  # not on the volunteer's form: left alone
    }
    assert web_session.post("/v/profile", data={k: v for k, v in form.items() if k != "csrf"}).status_code == 403
    saved = web_session.post("/v/profile", data=form, allow_redirects=False)
    assert saved.status_code == 303 and saved.headers["Location"] == "/v/profile?done=saved"
    record = rpc("volunteers").get_volunteer(volunteer_id=wang)
    assert (record["max_duties_per_week"], record["preferred_days"], record["preferred_times"]) == (
        2,
        [5, 6],
        ["morning"],
    )
    assert (record["target_per_month"], record["partners"]) == (4, [li])
    again = web_session.get(saved.headers["Location"])
    assert "已保存" in again.text and '<option value="2" selected>每周最多 2 次</option>' in again.text
    assert re.search(r'name="day" value="5" checked>', again.text) and re.search(r'name="day" value="0" >', again.text)
    assert re.search(r'name="time" value="morning" checked>', again.text)
    # nothing ticked and no limit: no preferences of their own
    web_session.post("/v/profile", data={"csrf": csrf_of(again.text), "max_duties_per_week": ""})
    record = rpc("volunteers").get_volunteer(volunteer_id=wang)
    assert (record["max_duties_per_week"], record["preferred_days"], record["preferred_times"]) == (None, [], [])
    assert record["target_per_month"] == 4
