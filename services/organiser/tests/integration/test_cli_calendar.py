"""`guanyinli calendar`, `occurrence`, `activities edit` and `attendance show`, run as a process against the
running services: tables, JSON, effects, the month's workbook and exit codes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from organiser_testkit import MONDAY, duty_under_way

pytestmark = pytest.mark.integration

EVERY_DAY = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]


def as_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def cleanup(activities) -> dict:
    return activities.create_activity(
        title="三号院清扫",
        kind="sanitation",
        grid_id=3,
        courtyard="三号院",
        start=f"{MONDAY + timedelta(days=1)}T08:00:00+08:00",
        duration_minutes=60,
        rrule="FREQ=WEEKLY;COUNT=3",
        roles=[{"name": "cleaner", "needed": 1}],
    )


def test_calendar_of_a_week_and_a_month_with_filters(run_cli, rpc):
    activities = rpc("activities")
    cleanup(activities)
    activities.create_activity(
        title="第6网格巡逻", kind="patrol", grid_id=6, start=f"{MONDAY}T19:00:00+08:00", duration_minutes=120
    )
    week = run_cli("calendar", "--week", str(MONDAY + timedelta(days=2)))
    assert week.returncode == 0, week.stderr
    assert "三号院清扫" in week.stdout and "第6网格巡逻" in week.stdout and f"Calendar {MONDAY}" in week.stdout
    listed = as_json(run_cli("calendar", "--week", str(MONDAY), "--kind", "sanitation", "--json"))
    assert [o["title"] for o in listed] == ["三号院清扫"]
    assert as_json(run_cli("calendar", "--week", str(MONDAY), "--grid", "6", "--json"))[0]["title"] == "第6网格巡逻"
    assert (
        as_json(run_cli("calendar", "--week", str(MONDAY), "--team", "voluntary_patrol", "--json"))[0]["kind"]
        == "patrol"
    )
    later = MONDAY + timedelta(days=15)
    month = as_json(run_cli("--json", "calendar", "--month", f"{later:%Y-%m}", "--kind", "sanitation"))
    in_month = [MONDAY + timedelta(days=1 + 7 * i) for i in range(3)]
    assert [o["start"][:10] for o in month] == [str(d) for d in in_month if d.month == later.month]

    assert run_cli("calendar", "--month", "2026-13").returncode == 2
    assert run_cli("calendar", "--week", str(MONDAY), "--month", "2026-12").returncode == 2
    assert run_cli("calendar", "--kind", "party").returncode == 2


def test_activities_edit_and_one_occurrence_signed_up_moved_and_cancelled(run_cli, rpc):
    volunteers, activities = rpc("volunteers"), rpc("activities")
    people = []
    for i, name in enumerate(("清扫员一", "清扫员二")):
        vid = volunteers.create_volunteer(name=name, phone=f"1391234810{i}", teams=["sanitation_green"])["id"]
        volunteers.set_availability(volunteer_id=vid, weekly=EVERY_DAY)
        people.append(vid)
    made = cleanup(activities)

    edited = as_json(
        run_cli(
            "activities",
            "edit",
            str(made["id"]),
            "--title",
            "三号院大扫除",
            "--room",
            "东门",
            "--role",
            "cleaner:2",
            "--json",
        )
    )
    assert edited["title"] == "三号院大扫除" and edited["room"] == "东门" and edited["roles"][0]["needed"] == 2
    assert run_cli("activities", "edit", str(made["id"])).returncode == 2  # nothing to change
    assert run_cli("activities", "edit", str(made["id"]), "--role", "cleaner").returncode == 2

    occ = activities.list_occurrences(
        start=f"{MONDAY}T00:00:00+08:00", end=f"{MONDAY + timedelta(days=7)}T00:00:00+08:00", activity_id=made["id"]
    )[0]
    first = as_json(run_cli("occurrence", "signup", str(occ["id"]), "清扫员一", "--json"))
    assert first["status"] == "confirmed" and first["volunteer_id"] == people[0]
    second = run_cli("occurrence", "signup", str(occ["id"]), str(people[1]))
    assert second.returncode == 0 and "confirmed" in second.stdout
    nobody = run_cli("occurrence", "signup", str(occ["id"]), "无名氏")
    assert nobody.returncode == 1 and "无名氏" in nobody.stderr

    shown = run_cli("occurrence", "show", str(occ["id"]))
    assert shown.returncode == 0 and "清扫员一" in shown.stdout and "清扫员二" in shown.stdout
    sheet = as_json(run_cli("occurrence", "show", str(occ["id"]), "--json"))
    removed = as_json(run_cli("occurrence", "remove", str(sheet["people"][0]["signup_id"]), "--json"))
    assert removed["status"] == "cancelled"

    moved = run_cli(
        "occurrence", "move", str(occ["id"]), "--start", f"{MONDAY + timedelta(days=2)}T15:00", "--reason", "上午停水"
    )
    assert moved.returncode == 0 and f"{MONDAY + timedelta(days=2)} 15:00" in moved.stdout
    assert run_cli("occurrence", "move", str(occ["id"]), "--start", "soon", "--reason", "x").returncode == 2
    assert run_cli("occurrence", "cancel", str(occ["id"])).returncode == 2  # a reason is needed
    cancelled = as_json(run_cli("occurrence", "cancel", str(occ["id"]), "--reason", "暴雨预警", "--json"))
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "暴雨预警"
    assert run_cli("occurrence", "show", "999999").returncode == 1


def test_attendance_show_and_mark_and_the_month_to_excel(run_cli, rpc, tmp_path):
    vid, start, signup = duty_under_way(rpc, "值班员戊", "13912348200", minutes=60)
    shown = run_cli("attendance", "show", str(signup["occurrence_id"]))
    assert shown.returncode == 0 and "值班员戊" in shown.stdout and str(signup["id"]) in shown.stdout
    marked = as_json(run_cli("attendance", "mark", str(signup["id"]), "attended", "--hours", "0.5", "--json"))
    assert marked["attendance"] == "attended" and marked["hours"] == 0.5
    sheet = as_json(run_cli("attendance", "show", str(signup["occurrence_id"]), "--json"))
    assert [(p["name"], p["attendance"], p["hours"]) for p in sheet["people"]] == [("值班员戊", "attended", 0.5)]

    out = tmp_path / "month.xlsx"
    written = as_json(run_cli("calendar", "export", "--month", f"{start:%Y-%m}", "--out", str(out), "--json"))
    assert written["occurrences"] >= 1 and written["signups"] >= 1
    book = load_workbook(out)
    (person,) = [r for r in book.worksheets[1].iter_rows(min_row=2, values_only=True) if r[2] == "便民服务站值班"]
    assert person[5:] == (vid, "值班员戊", "confirmed", "attended", 0.5)
    assert run_cli("calendar", "export", "--month", "someday", "--out", str(out)).returncode == 2
