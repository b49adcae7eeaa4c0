"""The calendar as plain data: windows, filters, forms, who holds each role, and the month's workbook."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from guanyinli.errors import InvalidInput
from guanyinli.timeutil import TZ
from organiser import agenda


def occurrence(oid, start, end, title="卫生清扫", status="scheduled", roles=None, **extra) -> dict:
    return {
        "id": oid,
        "activity_id": 1,
        "title": title,
        "kind": "sanitation",
        "team": "sanitation_green",
        "place": "第3网格 · 二号院",
        "start": start,
        "end": end,
        "status": status,
        "overridden": False,
        "cancel_reason": None,
        "roles": roles
        if roles is not None
        else [
            {
                "name": "cleaner",
                "needed": 2,
                "capacity": 2,
                "confirmed": 1,
                "waitlisted": 1,
                "skills": [],
                "duty_start": start,
                "duty_end": end,
                "volunteer_ids": [5],
                "waitlist": [6],
            }
        ],
        **extra,
    }


def test_a_week_runs_monday_to_sunday_and_a_month_shows_whole_weeks():
    week = agenda.Window.of("week", date(2026, 12, 10))  # a Thursday
    assert (week.anchor, week.first, week.last) == (date(2026, 12, 7), date(2026, 12, 7), date(2026, 12, 14))
    assert (week.previous(), week.following()) == (date(2026, 11, 30), date(2026, 12, 14))
    assert week.period[0] == datetime(2026, 12, 7, tzinfo=TZ)
    month = agenda.Window.of("month", date(2026, 12, 10))
    assert (month.first, month.last) == (date(2026, 11, 30), date(2027, 1, 4))  # Mon 30 Nov to Sun 3 Jan
    assert month.period == (datetime(2026, 12, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ))
    assert (month.previous(), month.following()) == (date(2026, 11, 1), date(2027, 1, 1))
    assert month.focus(date(2026, 12, 24)) == date(2026, 12, 24) and month.focus(date(2027, 2, 1)) == month.anchor
    with pytest.raises(InvalidInput):
        agenda.Window.of("year", date(2026, 12, 10))


def test_days_hold_their_occurrences_in_time_order_and_mark_the_days_outside_the_month():
    month = agenda.Window.of("month", date(2026, 12, 1))
    shown = agenda.days(
        month,
        [
            occurrence(2, "2026-12-01T14:00:00+08:00", "2026-12-01T15:00:00+08:00", title="下午"),
            occurrence(1, "2026-12-01T08:00:00+08:00", "2026-12-01T09:00:00+08:00", title="上午"),
            occurrence(3, "2026-12-31T23:30:00+00:00", "2027-01-01T00:30:00+00:00", title="跨年"),  # 1 Jan local
        ],
    )
    assert len(shown) == 35 and len(agenda.weeks(shown)) == 5
    first = next(d for d in shown if d.day == date(2026, 12, 1))
    assert [e.title for e in first.entries] == ["上午", "下午"] and first.in_period
    new_year = next(d for d in shown if d.day == date(2027, 1, 1))
    assert [e.title for e in new_year.entries] == ["跨年"] and not new_year.in_period
    e = first.entries[0]
    assert (e.confirmed, e.needed, e.waitlisted, e.short) == (1, 2, 1, True)


def test_filters_read_from_a_query_and_refuse_unknown_values():
    assert agenda.Filters.read({"kind": "lecture", "grid": "6", "team": ""}).query() == {"kind": "lecture", "grid": 6}
    # a well-formed team the community does not have finds nothing (the community's teams are data)
    assert agenda.Filters.read({"team": "chess"}).query() == {"team": "chess"}
    for bad in ({"kind": "party"}, {"team": "Chess Club"}, {"grid": "six"}):
        with pytest.raises(InvalidInput):
            agenda.Filters.read(bad)


def test_the_forms_repeat_roles_times_and_hours():
    assert agenda.rrule_of("once", "", "") is None
    assert agenda.rrule_of("weekly", "4", "", ["SA", "SU", "XX"]) == "FREQ=WEEKLY;BYDAY=SA,SU;COUNT=4"
    assert agenda.rrule_of("daily", "", "2027-01-31") == "FREQ=DAILY;UNTIL=20270131"
    assert agenda.rrule_of("monthly", "3", "", ["MO"]) == "FREQ=MONTHLY;COUNT=3"  # weekdays only for weekly
    for bad in (("hourly", "3", ""), ("weekly", "", ""), ("weekly", "0", ""), ("weekly", "", "soon")):
        with pytest.raises(InvalidInput):
            agenda.rrule_of(*bad)
    roles = agenda.parse_roles(["tutor:3:tutoring:math,tutoring:chinese", "", " setup:1 "])
    assert roles == [
        {"name": "tutor", "needed": 3, "skills": ["tutoring:math", "tutoring:chinese"]},
        {"name": "setup", "needed": 1},
    ]
    assert agenda.parse_roles(["cleaner:2:greening"]) == [{"name": "cleaner", "needed": 2, "skills": ["greening"]}]
    assert agenda.roles_text([{"name": "cleaner", "needed": 2, "skills": ["greening"]}]) == "cleaner:2:greening"
    with pytest.raises(InvalidInput):
        agenda.parse_roles(["cleaner"])
    assert agenda.local_moment("2026-12-07", "09:30", "start") == datetime(2026, 12, 7, 9, 30, tzinfo=TZ)
    with pytest.raises(InvalidInput):
        agenda.local_moment("2026-12-07", "", "start")
    assert agenda.hours_of("1.5") == 1.5 and agenda.hours_of("") is None
    for bad in ("lots", "25", "-1"):
        with pytest.raises(InvalidInput):
            agenda.hours_of(bad)


def test_a_volunteer_is_typed_by_number_or_by_a_name_only_one_has():
    people = [{"id": 1, "name": "王芳"}, {"id": 2, "name": "李明"}, {"id": 3, "name": "李明"}]
    assert agenda.volunteer_typed(" 7 ", people) == 7 and agenda.volunteer_typed("王芳", people) == 1
    with pytest.raises(InvalidInput, match="2 volunteers"):
        agenda.volunteer_typed("李明", people)
    with pytest.raises(InvalidInput, match="no volunteer"):
        agenda.volunteer_typed("张伟", people)


def test_role_sheets_put_sign_ups_to_their_holders():
    occ = occurrence(1, "2026-12-01T08:00:00+08:00", "2026-12-01T09:00:00+08:00")
    signups = [
        {"id": 10, "role": "cleaner", "volunteer_id": 5, "status": "confirmed", "attendance": "attended", "hours": 1.0},
        {"id": 11, "role": "cleaner", "volunteer_id": 6, "status": "waitlisted", "waitlist_position": 1},
    ]
    (role,) = agenda.role_sheets(occ, signups, {5: "王芳"})
    assert [(h.name, h.signup_id, h.attendance, h.hours) for h in role.confirmed] == [("王芳", 10, "attended", 1.0)]
    assert [(h.name, h.signup_id, h.waitlist_position) for h in role.waitlist] == [("#6", 11, 1)]
    (unread,) = agenda.role_sheets(occ, None, {})  # a viewer: names, no sign-ups
    assert unread.confirmed[0].signup_id is None and unread.waitlist[0].waitlist_position == 1
    assert agenda.people_of([occ]) == {5, 6}


def test_the_month_workbook_has_a_row_per_occurrence_and_per_person():
    held = occurrence(1, "2026-12-01T08:00:00+08:00", "2026-12-01T09:30:00+08:00")
    empty = occurrence(
        2, "2026-12-02T08:00:00+08:00", "2026-12-02T09:00:00+08:00", status="cancelled", cancel_reason="暴雨"
    )
    empty["roles"][0].update(volunteer_ids=[], waitlist=[], confirmed=0, waitlisted=0)
    signups = [
        {
            "id": 10,
            "occurrence_id": 1,
            "role": "cleaner",
            "volunteer_id": 5,
            "status": "confirmed",
            "attendance": "attended",
            "hours": 1.5,
        },
        {"id": 11, "occurrence_id": 1, "role": "cleaner", "volunteer_id": 6, "status": "waitlisted"},
    ]
    content = agenda.workbook(date(2026, 12, 1), [held, empty], signups, {5: "王芳", 6: "李明"})
    book = load_workbook(io.BytesIO(content))
    summary, people = book.worksheets
    assert [s.title for s in book.worksheets] == ["2026-12 活动", "2026-12 人员"]
    rows = list(summary.iter_rows(min_row=2, values_only=True))
    assert rows[0] == (
        "2026-12-01",
        "08:00-09:30",
        "卫生清扫",
        "sanitation",
        "sanitation_green",
        "第3网格 · 二号院",
        "scheduled",
        None,
        1,
        2,
        1,
        1,
        1.5,
    )
    assert rows[1][6:8] == ("cancelled", "暴雨")
    assert list(people.iter_rows(min_row=2, values_only=True)) == [
        ("2026-12-01", "08:00-09:30", "卫生清扫", 1, "cleaner", 5, "王芳", "confirmed", "attended", 1.5),
        ("2026-12-01", "08:00-09:30", "卫生清扫", 1, "cleaner", 6, "李明", "waitlisted", None, None),
        ("2026-12-02", "08:00-09:00", "卫生清扫", 2, "cleaner", None, None, None, None, None),
    ]
    assert summary.freeze_panes == "A2"
