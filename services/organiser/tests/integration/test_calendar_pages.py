"""The calendar of every programme over real HTTP against the running services: week and month with
filters, activities created and edited from the page, one occurrence's people, sign-ups on a
volunteer's behalf, a move and a cancellation with their reason (the volunteer's iCal feed follows),
the attendance sheet of an occurrence, and the month's workbook read back with openpyxl."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import requests
from icalendar import Calendar
from openpyxl import load_workbook
from organiser_testkit import MONDAY, PASSWORD, csrf_of, duty_under_way, log_in

from guanyinli.timeutil import local

pytestmark = pytest.mark.integration

EVERY_DAY = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]


@pytest.fixture
def organiser_web(rpc, web_session):
    organiser = rpc("organiser")
    organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    organiser.create_account(username="guest", password=PASSWORD, display_name="访客", role="viewer")
    assert log_in(web_session).status_code == 303
    return web_session


def test_the_grid_filter_lists_the_grids_the_community_has(organiser_web, sixteenth_grid):
    """The calendar's grid filter offers every grid of the volunteers service, one added to its data too."""
    page = organiser_web.get(f"/calendar?view=week&date={MONDAY}&grid=16")
    assert page.status_code == 200
    assert re.search(r'<option value="16" selected>G16 观音里第十六综合网格</option>', page.text)
    assert 'value="17"' not in page.text


def volunteer(rpc, name: str, phone: str, team: str = "sanitation_green") -> int:
    volunteers = rpc("volunteers")
    vid = volunteers.create_volunteer(name=name, phone=phone, teams=[team], grid_id=3)["id"]
    volunteers.set_availability(volunteer_id=vid, weekly=EVERY_DAY)
    return vid


def programmes(activities) -> dict:
    """A clean-up of grid 3 on Tuesday and Thursday of MONDAY's week, a lecture on Wednesday and a patrol
    of grid 6 on Friday."""
    made = {
        "cleanup": activities.create_activity(
            title="二号院卫生清扫",
            kind="sanitation",
            grid_id=3,
            courtyard="二号院",
            start=f"{MONDAY + timedelta(days=1)}T08:00:00+08:00",
            duration_minutes=90,
            rrule="FREQ=DAILY;INTERVAL=2;COUNT=2",
            roles=[{"name": "cleaner", "needed": 1}],
        ),
        "lecture": activities.create_activity(
            title="立德树人讲堂：防诈骗",
            kind="lecture",
            room="立德树人讲堂",
            capacity=40,
            start=f"{MONDAY + timedelta(days=2)}T14:30:00+08:00",
            duration_minutes=90,
        ),
        "patrol": activities.create_activity(
            title="第6网格晚间巡逻",
            kind="patrol",
            grid_id=6,
            start=f"{MONDAY + timedelta(days=4)}T19:00:00+08:00",
            duration_minutes=120,
        ),
    }
    return made


def occurrence_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/occurrences/(\d+)"', html)]


def test_week_and_month_with_filters_link_each_occurrence(organiser_web, rpc):
    programmes(rpc("activities"))
    week = organiser_web.get(f"/calendar?view=week&date={MONDAY + timedelta(days=3)}")
    assert week.status_code == 200
    for title in ("二号院卫生清扫", "立德树人讲堂：防诈骗", "第6网格晚间巡逻"):
        assert title in week.text
    assert len(occurrence_ids(week.text)) == 4  # the clean-up twice
    assert f'data-day="{MONDAY}"' in week.text and f'data-day="{MONDAY + timedelta(days=7)}"' not in week.text
    assert f"date={MONDAY - timedelta(days=7)}" in week.text and f"date={MONDAY + timedelta(days=7)}" in week.text
    assert "0/1" in week.text and "缺人" in week.text  # nobody on the clean-up yet

    cleanups = organiser_web.get(f"/calendar?view=week&date={MONDAY}&kind=sanitation")
    assert "二号院卫生清扫" in cleanups.text and "防诈骗" not in cleanups.text and "晚间巡逻" not in cleanups.text
    assert 'value="sanitation" selected' in cleanups.text
    grid6 = organiser_web.get(f"/calendar?view=week&date={MONDAY}&grid=6")
    assert "第6网格晚间巡逻" in grid6.text and "二号院卫生清扫" not in grid6.text
    patrols = organiser_web.get(f"/calendar?view=week&date={MONDAY}&team=voluntary_patrol")
    assert "晚间巡逻" in patrols.text and "防诈骗" not in patrols.text
    # the previous and next links keep the filters
    assert "kind=sanitation" in re.search(r'id="cal-next" href="([^"]+)"', cleanups.text).group(1)

    month = organiser_web.get(f"/calendar?view=month&date={MONDAY}")
    assert month.status_code == 200 and f"{MONDAY:%Y-%m}" in month.text
    assert set(occurrence_ids(week.text)) <= set(occurrence_ids(month.text))  # a month shows whole weeks
    assert organiser_web.get("/calendar?view=year").status_code == 400
    assert organiser_web.get("/calendar?kind=party").status_code == 400


def test_activities_are_created_and_edited_from_the_page(organiser_web, rpc):
    activities = rpc("activities")
    form = organiser_web.get(f"/activities/new?date={MONDAY}&kind=sanitation")
    assert form.status_code == 200 and 'value="sanitation" selected' in form.text
    token = csrf_of(form.text)
    created = organiser_web.post(
        "/activities",
        data={
            "csrf": token,
            "title": "绿地养护",
            "kind": "sanitation",
            "day": str(MONDAY),
            "at": "09:00",
            "duration": "60",
            "grid_id": "3",
            "courtyard": "三号院",
            "repeat": "weekly",
            "weekday": ["MO", "TH"],
            "count": "4",
            "roles": "cleaner:2\ngardener:1:greening",
        },
        allow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["Location"].startswith("/calendar?date=")
    (made,) = [a for a in activities.list_activities(kind="sanitation") if a["title"] == "绿地养护"]
    assert made["rrule"] == "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4"
    assert [(r["name"], r["needed"], r["skills"]) for r in made["roles"]] == [
        ("cleaner", 2, []),
        ("gardener", 1, ["greening"]),
    ]
    shown = organiser_web.get(created.headers["Location"])
    assert "活动已保存" in shown.text and "绿地养护" in shown.text

    once = organiser_web.post(
        "/activities",
        data={
            "csrf": token,
            "title": "便民理发",
            "kind": "convenience",
            "day": str(MONDAY),
            "at": "10:00",
            "duration": "120",
            "room": "服务站",
            "repeat": "once",
        },
        allow_redirects=False,
    )
    assert once.status_code == 303
    assert [a["rrule"] for a in activities.list_activities(kind="convenience") if a["title"] == "便民理发"] == [None]

    edit = organiser_web.get(f"/activities/{made['id']}/edit")
    assert edit.status_code == 200 and "cleaner:2\ngardener:1:greening" in edit.text
    changed = organiser_web.post(
        f"/activities/{made['id']}",
        data={
            "csrf": token,
            "title": "绿地养护（周一、周四）",
            "day": str(MONDAY),
            "at": "08:30",
            "duration": "90",
            "grid_id": "3",
            "courtyard": "四号院",
            "rrule": "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4",
            "roles": "cleaner:3",
        },
        allow_redirects=False,
    )
    assert changed.status_code == 303
    after = activities.get_activity(activity_id=made["id"])
    assert after["title"] == "绿地养护（周一、周四）" and after["courtyard"] == "四号院"
    assert after["start"].startswith(f"{MONDAY}T08:30") and after["duration_minutes"] == 90
    assert [(r["name"], r["needed"]) for r in after["roles"]] == [("cleaner", 3)]

    bad = organiser_web.post(
        "/activities",
        data={"csrf": token, "title": "x", "kind": "sanitation", "day": "soon", "at": "9", "duration": "60"},
    )
    assert bad.status_code == 400 and "请填写日期（年-月-日）和时间（时:分）" in bad.text
    viewer = type(organiser_web)(organiser_web.base_url)
    assert log_in(viewer, username="guest").status_code == 303
    refused = viewer.post("/activities", data={"csrf": csrf_of(viewer.get("/calendar").text), "title": "x"})
    assert refused.status_code == 403
    assert viewer.get("/activities/new").status_code == 403
    assert viewer.get(f"/activities/{made['id']}/edit").status_code == 403
    assert 'id="new-activity"' not in viewer.get("/calendar").text
    viewer.close()


def test_an_occurrence_signs_up_moves_and_cancels_for_its_volunteers(organiser_web, rpc):
    activities = rpc("activities")
    first = volunteer(rpc, "清扫员甲", "13912347001")
    second = volunteer(rpc, "清扫员乙", "13912347002")
    made = programmes(activities)
    occ = activities.list_occurrences(
        start=f"{MONDAY}T00:00:00+08:00",
        end=f"{MONDAY + timedelta(days=7)}T00:00:00+08:00",
        activity_id=made["cleanup"]["id"],
    )[0]
    page = organiser_web.get(f"/occurrences/{occ['id']}")
    assert page.status_code == 200 and "二号院卫生清扫" in page.text and "还没有人" in page.text
    token = csrf_of(page.text)

    by_name = organiser_web.post(f"/occurrences/{occ['id']}/signup", data={"csrf": token, "volunteer": "清扫员甲"})
    assert by_name.status_code == 200 and "已代为报名" in by_name.text
    assert re.search(r'<ul class="holders">\s*<li><a href="/volunteers/\d+">清扫员甲</a>', by_name.text)
    by_number = organiser_web.post(f"/occurrences/{occ['id']}/signup", data={"csrf": token, "volunteer": str(second)})
    assert re.search(r'<ol class="waitlist">\s*<li>清扫员乙', by_number.text)  # the one seat is taken
    unknown = organiser_web.post(f"/occurrences/{occ['id']}/signup", data={"csrf": token, "volunteer": "无名氏"})
    assert unknown.status_code == 400 and "无名氏" in unknown.text

    signups = activities.list_signups(occurrence_ids=[occ["id"]])
    assert [(s["volunteer_id"], s["status"]) for s in signups] == [(first, "confirmed"), (second, "waitlisted")]
    taken_off = organiser_web.post(f"/occurrences/{occ['id']}/signups/{signups[0]['id']}/cancel", data={"csrf": token})
    assert taken_off.status_code == 200 and "已取消报名" in taken_off.text
    held = activities.get_occurrence(occurrence_id=occ["id"])["roles"][0]
    assert held["volunteer_ids"] == [second] and held["waitlist"] == []  # the waitlist's first got the seat

    # the volunteer's own calendar follows the move
    feed = activities.issue_feed_token(volunteer_id=second)["personal"]["https"]
    before = Calendar.from_ical(requests.get(feed, timeout=10).content)
    assert [str(e["SUMMARY"]) for e in before.walk("VEVENT")] == ["二号院卫生清扫 · 清洁"]
    new_day = MONDAY + timedelta(days=5)
    missing_reason = organiser_web.post(
        f"/occurrences/{occ['id']}/move", data={"csrf": token, "day": str(new_day), "at": "15:00"}
    )
    assert missing_reason.status_code == 400
    moved = organiser_web.post(
        f"/occurrences/{occ['id']}/move",
        data={"csrf": token, "day": str(new_day), "at": "15:00", "courtyard": "三号院", "reason": "上午有雨"},
    )
    assert moved.status_code == 200 and "已调整" in moved.text and f"{new_day} 15:00" in moved.text
    assert "三号院" in re.search(r'<p id="occ-facts">(.*?)</p>', moved.text, re.S).group(1)
    after = Calendar.from_ical(requests.get(feed, timeout=10).content)
    # the series' event and this occurrence's own, named by its original start (RECURRENCE-ID)
    (event,) = [e for e in after.walk("VEVENT") if e.get("RECURRENCE-ID")]
    assert local(event["RECURRENCE-ID"].dt).isoformat() == occ["original_start"]
    assert local(event["DTSTART"].dt).isoformat().startswith(f"{new_day}T15:00")
    week = organiser_web.get(f"/calendar?view=week&date={MONDAY}")
    assert f'data-day="{new_day}"' in week.text and "已调整" in week.text

    cancelled = organiser_web.post(f"/occurrences/{occ['id']}/cancel", data={"csrf": token, "reason": "暴雨预警"})
    assert cancelled.status_code == 200 and "已取消：暴雨预警" in cancelled.text
    assert 'id="move"' not in cancelled.text  # nothing more to do with it
    cancelled_feed = Calendar.from_ical(requests.get(feed, timeout=10).content)
    (event,) = [e for e in cancelled_feed.walk("VEVENT") if e.get("RECURRENCE-ID")]
    assert str(event["STATUS"]) == "CANCELLED"
    assert activities.get_occurrence(occurrence_id=occ["id"])["cancel_reason"] == "暴雨预警"


def test_the_attendance_sheet_of_an_occurrence_prints_and_marks(organiser_web, rpc):
    vid, start, signup = duty_under_way(rpc, "值班员丙", "13912347003", minutes=90)
    occurrence_id = signup["occurrence_id"]
    day = organiser_web.get(f"/attendance?day={start.date()}")  # the day's sheet leads to the occurrence's
    assert f'href="/occurrences/{occurrence_id}/attendance"' in day.text
    sheet = organiser_web.get(f"/occurrences/{occurrence_id}/attendance")
    assert sheet.status_code == 200 and "值班员丙" in sheet.text and "便民服务站值班" in sheet.text
    assert "签名" in sheet.text and "/static/calendar.css" in sheet.text  # the column to sign, printed
    css = organiser_web.get("/static/calendar.css").text
    assert "@media print" in css and "@media (max-width: 640px)" in css
    token = csrf_of(sheet.text)
    marked = organiser_web.post(
        f"/occurrences/{occurrence_id}/attendance/{signup['id']}",
        data={"csrf": token, "status": "attended", "hours": "1.5"},
    )
    assert marked.status_code == 200 and "签到已记录" in marked.text
    assert 'class="att attended"' in marked.text and "1.5" in marked.text
    stats = rpc("activities").volunteer_stats(volunteer_id=vid)
    assert stats["attended"] == 1 and stats["hours"] == 1.5
    absent = organiser_web.post(
        f"/occurrences/{occurrence_id}/attendance/{signup['id']}", data={"csrf": token, "status": "no_show"}
    )
    assert 'class="att no_show"' in absent.text
    bad = organiser_web.post(
        f"/occurrences/{occurrence_id}/attendance/{signup['id']}",
        data={"csrf": token, "status": "attended", "hours": "lots"},
    )
    assert bad.status_code == 400 and "时长应为数字" in bad.text

    viewer = type(organiser_web)(organiser_web.base_url)
    assert log_in(viewer, username="guest").status_code == 303
    refused = viewer.get(f"/occurrences/{occurrence_id}/attendance")
    assert refused.status_code == 403 and "值班员丙" not in refused.text
    assert viewer.get(f"/calendar/export.xlsx?month={start:%Y-%m}").status_code == 403
    looked = viewer.get(f"/occurrences/{occurrence_id}")  # viewers see who is on it, change nothing
    assert looked.status_code == 200 and "值班员丙" in looked.text and 'id="move"' not in looked.text
    viewer.close()


def test_the_month_exports_to_a_workbook(organiser_web, rpc):
    vid, start, signup = duty_under_way(rpc, "值班员丁", "13912347004", minutes=60)
    rpc("activities").mark_attendance(signup_id=signup["id"], status="attended", hours=1.0)
    month = f"{start:%Y-%m}"
    answer = organiser_web.get(f"/calendar/export.xlsx?month={month}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert f"guanyinli-{month}.xlsx" in answer.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(answer.content))
    summary, people = book.worksheets
    assert summary.title == f"{month} 活动" and people.title == f"{month} 人员"
    head = [c.value for c in summary[1]]
    assert head[:3] == ["日期 date", "时间 time", "活动 activity"]
    (row,) = [r for r in summary.iter_rows(min_row=2, values_only=True) if r[2] == "便民服务站值班"]
    assert row[0] == start.date().isoformat() and row[8:13] == (1, 2, 0, 1, 1.0)
    (person,) = [r for r in people.iter_rows(min_row=2, values_only=True) if r[2] == "便民服务站值班"]
    assert person[4:] == ("helper", vid, "值班员丁", "confirmed", "attended", 1.0)
    assert organiser_web.get("/calendar/export.xlsx?month=2026-13").status_code == 400
    filtered = load_workbook(io.BytesIO(organiser_web.get(f"/calendar/export.xlsx?month={month}&kind=patrol").content))
    assert all(r[2] != "便民服务站值班" for r in filtered.worksheets[0].iter_rows(min_row=2, values_only=True))


def test_a_visit_s_private_details_stay_out_of_the_calendar_and_the_export(organiser_web, rpc):
    rpc("activities").create_activity(
        title="探访独居老人",
        kind="elderly_visit",
        grid_id=9,
        courtyard="观音里5号院",
        start=f"{MONDAY}T10:00:00+08:00",
        duration_minutes=60,
        visited_person="张桂兰",
        private_address="观音里5号院2栋302室",
        health_notes="糖尿病，需提醒服药",
    )
    week = organiser_web.get(f"/calendar?view=week&date={MONDAY}")
    (occurrence_id,) = occurrence_ids(week.text)
    pages = [week.text, organiser_web.get(f"/occurrences/{occurrence_id}").text]
    book = load_workbook(io.BytesIO(organiser_web.get(f"/calendar/export.xlsx?month={MONDAY:%Y-%m}").content))
    cells = [str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row]
    assert "探访独居老人" in pages[0] and "探访独居老人" in cells
    for private in ("张桂兰", "2栋302室", "糖尿病"):
        assert all(private not in text for text in pages) and all(private not in cell for cell in cells)
