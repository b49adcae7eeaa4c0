"""The volunteers' phone page in headless Chromium at 360 px, two volunteers on two phones: sign-in
by SMS code, sign-up, the waitlist and its promotion, cancelling before and after the deadline,
"I can't come" taken by the other, a swap proposed and accepted, time off that cancels a sign-up
and offers a patrol, preferences, points, a new calendar link, English; axe-core on every page."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from browser_harness import ARTIFACTS, AXE, BROWSER, NEEDS_AXE, drive, setup_file, site_url
from organiser_testkit import start_platform

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.testing import signed
from guanyinli.timeutil import iso, local, now
from notifications.service import NotificationsService

A, B = "13912347700", "13912347701"

pytestmark = [*BROWSER, NEEDS_AXE]


def patrol_days() -> list[date]:
    """Two days in one ISO week, at least three days ahead (the roster's weekly limit of one then
    gives each volunteer one of them)."""
    day = now().date() + timedelta(days=3)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return [day, day + timedelta(days=1)]


def at(day: date, hour: int):
    return local(
        now().replace(year=day.year, month=day.month, day=day.day, hour=hour, minute=0, second=0, microsecond=0)
    )


def within_the_deadline():
    """A start less than a day ahead (past every kind's cancel deadline) whose two hours stay inside one
    day, whatever the time the test runs: the volunteers are free 00:00-23:59 each day."""
    soon = local(now().replace(second=0, microsecond=0)) + timedelta(hours=1)
    if (soon + timedelta(hours=2)).date() != soon.date() or soon.hour >= 22:
        soon = at(soon.date() + timedelta(days=soon.hour >= 12), 8)
    return soon


@pytest.fixture
def site(container_factory, service_config, tmp_path):
    config = dict(service_config)
    start_platform(container_factory, config)
    sms_log = tmp_path / "sms.log"
    sms_log.touch()
    container_factory(NotificationsService, dict(config, SMS={"PROVIDER": "sink", "SINK_PATH": str(sms_log)})).start()
    days = patrol_days()
    with ClusterRpcProxy(config, context_data=signed({"roles": ["organiser"]}), timeout=60) as rpc:
        every_day = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]
        ids = {}
        for name, phone in (("王芳", A), ("李明", B)):
            person = rpc.volunteers.create_volunteer(
                name=name,
                phone=phone,
                teams=["voluntary_patrol", "convenient_service"],
                grid_id=6,
                skills=["patrol_leader"],
            )
            rpc.volunteers.set_availability(volunteer_id=person["id"], weekly=every_day)
            ids[name] = person["id"]
        rpc.volunteers.add_ledger_entry(
            volunteer_id=ids["王芳"], hours=2, points=20, reason="春节慰问", team="convenient_service"
        )

        def duty(title: str, start, seats: int = 1) -> int:
            activity = rpc.activities.create_activity(
                title=title,
                kind="convenience",
                room="社区服务站",
                start=iso(start),
                duration_minutes=120,
                roles=[{"name": "helper", "needed": seats}],
            )
            return rpc.activities.list_occurrences(
                start=iso(start), end=iso(start + timedelta(hours=2)), activity_id=activity["id"]
            )[0]["id"]

        duty("便民服务站值班", at(days[0] - timedelta(days=1), 9))
        soon = duty("楼道清理", within_the_deadline())
        rpc.activities.sign_up(occurrence_id=soon, volunteer_id=ids["王芳"])
        meeting = duty("社区议事会接待", at(days[0], 9))
        rpc.activities.sign_up(occurrence_id=meeting, volunteer_id=ids["李明"])
        rpc.activities.sign_up(occurrence_id=meeting, volunteer_id=ids["王芳"])  # waitlisted
        rpc.activities.create_activity(
            title="第6网格晚间巡逻",
            kind="patrol",
            team="voluntary_patrol",
            grid_id=6,
            start=iso(at(days[0], 19)),
            duration_minutes=120,
            rrule="FREQ=DAILY;COUNT=2",
            roles=[{"name": "patroller", "needed": 1}],
        )
        draft = rpc.activities.build_roster(
            start=iso(at(days[0], 0)),
            end=iso(at(days[-1] + timedelta(days=1), 0)),
            grids=[6],
            options={"time_limit": 5, "max_per_week": 1},
        )
        rpc.activities.publish_roster(roster_id=draft["id"])
        rostered = {a["volunteer_id"] for a in rpc.activities.get_roster(roster_id=draft["id"])["assignments"]}
        assert rostered == set(ids.values()), rostered
    return {"base": site_url(config), "sms_log": str(sms_log), "ids": ids, "days": days, "config": config}


def test_two_volunteers_on_their_phones(site, tmp_path):
    setup = {
        "base": site["base"],
        "sms_log": site["sms_log"],
        "axe": str(AXE),
        "screenshots": str(ARTIFACTS),
        "a": A,
        "b": B,
        "patrol_days": [d.isoformat() for d in site["days"]],
    }
    seen = drive("drive_phone.py", setup_file(tmp_path, setup), timeout=300, stderr_tail=4000)

    assert "验证码不对" in seen["wrong_code"]
    assert seen["a_home"] == "王芳，您好"
    assert seen["a_signed_up"] == "报名成功"
    assert "候补（第 1 位）" in seen["b_sees_full"] and "候补第 1 位" in seen["b_waitlisted"]
    assert seen["a_cancelled"] == "已取消。"
    assert "候补" not in seen["b_promoted"] and "便民服务站值班" in seen["b_promoted"]
    assert seen["cancel_hidden"] and "已过取消时间" in seen["cancel_closed_hint"]
    assert "已过了取消时间" in seen["too_late"] and "我去不了" in seen["too_late"]
    assert "请其他志愿者顶班" in seen["offered"]
    assert "谢谢您顶班" in seen["b_took"] and seen["b_has_standin"] == 1 and seen["a_has_standin"] == 0
    assert seen["swap_options"] == 1 and "已发出换班请求" in seen["swap_asked"]
    assert "王芳想和您换班" in seen["b_asked"] and "已换班" in seen["swap_done"]
    assert "已请假" in seen["time_off"] and "回老家" in seen["time_off"]
    assert "候补" not in seen["a_promoted_by_time_off"]
    assert seen["patrol_offered"] == 1
    assert seen["settings_saved"] == "已保存。"
    assert seen["points"] == "20" and "今年排名：第 1 名" in seen["ranks"]
    assert seen["calendar_changed"] and seen["calendar_link"] and "已换新链接" in seen["calendar_notice"]
    assert seen["english"] == "Hello, 王芳"
    assert seen["signed_out_at"].startswith("/v/login")

    broken = {page: v for page, v in seen["axe"].items() if v}
    assert not broken, json.dumps(broken, ensure_ascii=False, indent=1)
    assert len(seen["axe"]) >= 12, sorted(seen["axe"])
    assert not seen["too_wide"], seen["too_wide"]
    assert max(seen["weights"].values()) < 100 * 1024 - 8 * 1024  # the page, and room for its stylesheet

    with ClusterRpcProxy(site["config"], context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        prefs = rpc.notifications.get_preferences(volunteer_id=site["ids"]["王芳"])
        assert prefs["channels"] == ["sms"] and prefs["quiet_start"] == "21:00"
        wang = rpc.activities.list_duties(
            volunteer_id=site["ids"]["王芳"], start=iso(now()), end=iso(now() + timedelta(days=14))
        )
        assert "社区议事会接待" in {d["title"] for d in wang}
    assert (ARTIFACTS / "phone-home.png").stat().st_size > 5_000
