"""The iCalendar renderer: every item of the feed checklist, on plain dataclasses (no database)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from activities import ical
from activities.ical import CANCELLED, Event, Feed, FeedError, Override, render
from guanyinli.timeutil import TZ
from tests.js.ical_parsers import both, icaljs_occurrences, run_icaljs

SAT = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)  # a Saturday
CHANGED = datetime(2026, 11, 20, 10, 30, 15, tzinfo=TZ)
LONG_TITLE = "林宏汉周末爱心学校, 作业辅导; 一年级\\二年级, 数学; 语文 " + "观音里社区志愿服务" * 6
DESCRIPTION = "请提前十分钟到达；带上志愿者证。\n注意: 家长接送, 签到; 签退\n第二行, 结束"


def weekend_school(**changes) -> Event:
    fields = dict(
        key="activity/1",
        summary=LONG_TITLE,
        start=SAT,
        end=SAT + timedelta(hours=2),
        last_modified=CHANGED,
        sequence=2,
        location="第3网格 · 观音里活动室, 二楼; 东侧",
        description=DESCRIPTION,
        categories=("tutoring",),
        rrule="FREQ=WEEKLY;BYDAY=SA,SU;UNTIL=20270131",
        exdates=(SAT + timedelta(days=14), SAT + timedelta(days=15)),
        overrides=(
            # moved one hour later and to another room
            Override(
                recurrence_id=SAT + timedelta(days=1),
                start=SAT + timedelta(days=1, hours=1),
                end=SAT + timedelta(days=1, hours=3),
                last_modified=CHANGED + timedelta(days=1),
                sequence=3,
                location="第3网格 · 会议室",
            ),
            # cancelled
            Override(
                recurrence_id=SAT + timedelta(days=7),
                start=SAT + timedelta(days=7),
                end=SAT + timedelta(days=7, hours=2),
                last_modified=CHANGED + timedelta(days=2),
                sequence=4,
                status=CANCELLED,
            ),
        ),
    )
    fields.update(changes)
    return Event(**fields)


def lecture(**changes) -> Event:
    start = datetime(2026, 12, 10, 19, 0, tzinfo=TZ)
    fields = dict(
        key="activity/2",
        summary="立德树人讲堂：老年人防诈骗, 讲座; 问答",
        start=start,
        end=start + timedelta(minutes=90),
        last_modified=CHANGED,
        location="立德树人讲堂",
    )
    fields.update(changes)
    return Event(**fields)


def feed(*events: Event) -> Feed:
    return Feed(name="观音里 · 志愿服务, 日程; 测试", events=events, description="观音里社区的活动")


def lines(body: bytes) -> list[bytes]:
    assert body.endswith(b"\r\n")
    return body[:-2].split(b"\r\n")


def unfolded(body: bytes) -> list[str]:
    return body.decode().replace("\r\n ", "").split("\r\n")


def props(body: bytes, name: str) -> list[str]:
    """Lines of property ``name`` inside VEVENTs (or of the calendar itself for calendar properties)."""
    found, inside = [], None
    for line in unfolded(body):
        if line.startswith("BEGIN:"):
            inside = line[6:]
        elif line.startswith("END:"):
            inside = "VCALENDAR"
        elif inside in ("VEVENT", "VCALENDAR") and re.match(rf"{name}[;:]", line):
            found.append(line)
    return found


# --- calendar ------------------------------------------------------------------------------


def test_calendar_properties_of_a_subscribed_feed():
    body = render(feed(lecture()))
    text = unfolded(body)
    assert text[0] == "BEGIN:VCALENDAR" and "END:VCALENDAR" in text
    assert "VERSION:2.0" in text
    assert f"PRODID:{ical.PRODID}" in text
    assert "CALSCALE:GREGORIAN" in text
    assert "X-WR-CALNAME:观音里 · 志愿服务\\, 日程\\; 测试" in text
    assert "NAME:观音里 · 志愿服务\\, 日程\\; 测试" in text
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text
    assert "X-PUBLISHED-TTL:PT1H" in text
    for absent in ("METHOD", "ORGANIZER", "ATTENDEE"):
        assert not props(body, absent), absent


def test_refresh_interval_follows_the_feed():
    body = render(Feed(name="x", refresh=timedelta(hours=3)))
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT3H" in unfolded(body)
    assert "X-PUBLISHED-TTL:PT3H" in unfolded(body)


def test_local_times_carry_the_tzid_of_the_vtimezone():
    body = render(feed(weekend_school()))
    cal = Calendar.from_ical(body)
    zones = [c for c in cal.walk("VTIMEZONE")]
    assert [str(z["TZID"]) for z in zones] == ["Asia/Shanghai"]
    standard = zones[0].walk("STANDARD")[0]
    assert standard["TZOFFSETTO"].td == timedelta(hours=8)
    for name in ("DTSTART", "DTEND", "EXDATE", "RECURRENCE-ID"):
        found = props(body, name)
        assert found and all(line.startswith(f"{name};TZID=Asia/Shanghai:") for line in found), name
    assert "DTSTART;TZID=Asia/Shanghai:20261205T090000" in unfolded(body)
    assert "EXDATE;TZID=Asia/Shanghai:20261219T090000,20261220T090000" in unfolded(body)


def test_dtstamp_and_last_modified_are_the_last_change_in_utc():
    body = render(feed(lecture(last_modified=CHANGED + timedelta(microseconds=123456))))
    assert props(body, "DTSTAMP") == ["DTSTAMP:20261120T023015Z"]
    assert props(body, "LAST-MODIFIED") == ["LAST-MODIFIED:20261120T023015Z"]


# --- recurrence ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=SA,SU;UNTIL=20270131", "UNTIL=20270131T155959Z"),  # the whole local day
        ("RRULE:FREQ=DAILY;UNTIL=20270131T090000", "UNTIL=20270131T010000Z"),  # local time
        ("FREQ=DAILY;UNTIL=20270131T010000Z", "UNTIL=20270131T010000Z"),  # already UTC
    ],
)
def test_rrule_until_is_written_in_utc(rule, expected):
    body = render(feed(weekend_school(rrule=rule, overrides=(), exdates=())))
    (line,) = props(body, "RRULE")
    assert expected in line


def test_a_recurring_activity_is_one_master_with_its_overrides():
    body = render(feed(weekend_school()))
    cal = Calendar.from_ical(body)
    events = cal.walk("VEVENT")
    assert len(events) == 3
    assert len({str(e["UID"]) for e in events}) == 1
    masters = [e for e in events if "RECURRENCE-ID" not in e]
    assert len(masters) == 1 and "RRULE" in masters[0]
    overrides = [e for e in events if "RECURRENCE-ID" in e]
    assert [e["RECURRENCE-ID"].dt for e in overrides] == [SAT + timedelta(days=1), SAT + timedelta(days=7)]
    assert [str(e["STATUS"]) for e in overrides] == ["CONFIRMED", "CANCELLED"]
    # an override without its own place or text carries the series'
    assert str(overrides[1]["LOCATION"]) == "第3网格 · 观音里活动室, 二楼; 东侧"
    assert str(overrides[0]["LOCATION"]) == "第3网格 · 会议室"


def test_an_override_never_has_a_lower_sequence_than_its_series():
    old = Override(
        recurrence_id=SAT + timedelta(days=1),
        start=SAT + timedelta(days=1, hours=2),
        end=SAT + timedelta(days=1, hours=3),
        last_modified=CHANGED,
        sequence=0,
    )
    body = render(feed(weekend_school(sequence=5, overrides=(old,))))
    assert props(body, "SEQUENCE") == ["SEQUENCE:5", "SEQUENCE:5"]


# --- identity and stability ------------------------------------------------------------------


def test_uids_are_uuid5_of_the_database_key_forever():
    # Pinned: changing the namespace or the derivation would duplicate every subscriber's events.
    assert ical.uid_for("activity/1") == "e9df15cc-a0dd-5ac6-a228-abdbf1f1002d"
    assert ical.uid_for("activity/2") != ical.uid_for("activity/1")
    body = render(feed(weekend_school()))
    assert set(props(body, "UID")) == {"UID:e9df15cc-a0dd-5ac6-a228-abdbf1f1002d"}


def test_the_same_data_gives_the_same_bytes_whatever_the_order():
    a = weekend_school()
    shuffled = weekend_school(exdates=tuple(reversed(a.exdates)), overrides=tuple(reversed(a.overrides)))
    first = render(feed(a, lecture()))
    assert render(feed(a, lecture())) == first
    assert render(feed(lecture(), shuffled)) == first


def test_any_change_changes_the_bytes():
    base = render(feed(weekend_school()))
    assert render(feed(weekend_school(sequence=3))) != base
    assert render(feed(weekend_school(location="别处"))) != base
    assert render(feed(weekend_school(exdates=()))) != base


# --- text ------------------------------------------------------------------------------------


def test_lines_are_folded_at_75_octets_without_splitting_a_character():
    body = render(feed(weekend_school(), lecture()))
    for line in lines(body):
        assert len(line) <= 75, line
        line.decode("utf-8")  # raises if folding cut a multi-byte character
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert any(len(line) > 70 for line in lines(body)), "the test data must need folding"


def test_text_is_escaped_and_reads_back_exactly():
    body = render(feed(weekend_school()))
    line = next(text for text in unfolded(body) if text.startswith("SUMMARY:"))
    assert line.startswith("SUMMARY:林宏汉周末爱心学校\\, 作业辅导\\; 一年级\\\\二年级\\, 数学\\; 语文")
    master = [e for e in Calendar.from_ical(body).walk("VEVENT") if "RECURRENCE-ID" not in e][0]
    assert str(master["SUMMARY"]) == LONG_TITLE
    assert str(master["DESCRIPTION"]) == DESCRIPTION


def test_control_characters_and_carriage_returns_are_cleaned():
    body = render(Feed(name="x", events=(lecture(description="第一行\r\n第二行\x07\r第三行"),)))
    (desc,) = props(body, "DESCRIPTION")
    assert desc == "DESCRIPTION:第一行\\n第二行\\n第三行"


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        lambda: lecture(start=datetime(2026, 12, 10, 19, 0)),  # naive
        lambda: lecture(last_modified=datetime(2026, 12, 1)),  # naive
        lambda: lecture(end=datetime(2026, 12, 10, 19, 0, tzinfo=TZ)),  # empty span
        lambda: lecture(status="DONE"),
        lambda: lecture(exdates=(SAT,)),  # EXDATE without a rule
        lambda: lecture(sequence=-1),
        lambda: weekend_school(overrides=weekend_school().overrides + weekend_school().overrides[:1]),
    ],
)
def test_invalid_input_is_refused(bad):
    with pytest.raises(FeedError):
        render(feed(bad()))


def test_two_events_with_one_key_are_refused():
    with pytest.raises(FeedError, match="share a key"):
        render(feed(lecture(), lecture(summary="另一个")))


# --- two parsers -----------------------------------------------------------------------------

WINDOW = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_icaljs_and_recurring_ical_events_expand_the_same_occurrences():
    cancelled_lecture = lecture(
        key="activity/3",
        start=SAT + timedelta(days=2, hours=10),
        end=SAT + timedelta(days=2, hours=11),
        status=CANCELLED,
        sequence=1,
    )
    body = render(feed(weekend_school(), lecture(), cancelled_lecture))
    found = both(body, *WINDOW)
    school = [o for o in found if o["uid"] == ical.uid_for("activity/1")]
    local_starts = [o["start"].astimezone(TZ) for o in school]
    expected = []
    day = SAT
    while day.date() <= datetime(2026, 12, 31).date():
        for d in (day, day + timedelta(days=1)):
            if d not in (SAT + timedelta(days=14), SAT + timedelta(days=15)):  # EXDATEs
                expected.append(d + timedelta(hours=1) if d == SAT + timedelta(days=1) else d)  # override
        day += timedelta(days=7)
    assert local_starts == expected
    by_start = {o["start"].astimezone(TZ): o for o in school}
    assert by_start[SAT + timedelta(days=7)]["status"] == "CANCELLED"
    assert by_start[SAT + timedelta(days=1, hours=1)]["location"] == "第3网格 · 会议室"
    assert {o["summary"] for o in school} == {LONG_TITLE}
    assert {o["description"] for o in school} == {DESCRIPTION}
    others = {o["uid"]: o for o in found if o["uid"] != ical.uid_for("activity/1")}
    assert others[ical.uid_for("activity/2")]["summary"] == "立德树人讲堂：老年人防诈骗, 讲座; 问答"
    assert others[ical.uid_for("activity/3")]["status"] == "CANCELLED"


def test_icaljs_reads_the_calendar_properties():
    # (names we give our feeds have no commas or semicolons: ical.js does not unescape X- properties)
    calendar = run_icaljs(render(Feed(name="观音里 · 第3网格", events=(lecture(),))), *WINDOW)["calendar"]
    assert calendar["method"] is None
    assert calendar["x-wr-calname"] == calendar["name"] == "观音里 · 第3网格"
    assert calendar["refresh-interval"] == "PT1H"
    assert calendar["vtimezones"] == ["Asia/Shanghai"]


def test_the_icaljs_harness_refuses_a_tzid_without_vtimezone():
    body = render(feed(lecture()))
    without_zone = re.sub(rb"BEGIN:VTIMEZONE.*?END:VTIMEZONE\r\n", b"", body, flags=re.S)
    assert b"VTIMEZONE" not in without_zone
    with pytest.raises(AssertionError, match="no VTIMEZONE"):
        icaljs_occurrences(without_zone, *WINDOW)
