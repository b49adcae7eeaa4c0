"""iCal feeds over real HTTP: personal feeds follow sign-ups, cancellations, time changes and the roster
on the next request; tokens; public feeds carry no private data; ical.js and recurring-ical-events
both read the feeds and agree with list_duties, list_occurrences and the database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from activities_testkit import ELDERLY_VISIT, as_volunteer, at, iso
from icalendar import Calendar
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from activities import store
from activities.feeds import FEED_CACHE
from activities.models import Activity, Occurrence, Signup
from conftest import REAL_VOLUNTEERS
from guanyinli.errors import Forbidden
from guanyinli.timeutil import from_db
from tests.js.ical_parsers import both

pytestmark = pytest.mark.integration

BASE_URL = "https://feeds.guanyinli.test"
TITLE = "第四网格夜巡, 东门; 西门 —— 重点检查楼道充电隐患、背街小巷和停车秩序（请带手电筒、对讲机）"
WINDOW = (at(0, 0), at(60, 0))


@pytest.fixture
def service_config(service_config):
    FEED_CACHE.clear()  # rendered feeds of an earlier test's database
    return {**service_config, "FEED_SECRET": "test-secret-of-the-feeds-0123456789", "FEED_BASE_URL": BASE_URL}


def from_db_iso(value: str) -> datetime:
    """A datetime of an RPC answer (ISO 8601 with offset)."""
    return datetime.fromisoformat(value)


def path_of(url: str) -> str:
    assert url.startswith(BASE_URL)
    return url[len(BASE_URL) :]


def fetch(web_session, url: str, etag: str | None = None):
    headers = {"If-None-Match": etag} if etag else {}
    return web_session.get(path_of(url), headers=headers)


def vevents(body: bytes) -> list:
    return list(Calendar.from_ical(body).walk("VEVENT"))


def expanded(body: bytes) -> list[dict]:
    return both(body, WINDOW[0].astimezone(UTC), WINDOW[1].astimezone(UTC))


def live(occurrences: list[dict]) -> list[tuple]:
    return [(o["start"], o["end"]) for o in occurrences if o["status"] != "CANCELLED"]


def duties_by_rpc(organiser, volunteer_id: int) -> list[dict]:
    return organiser.list_duties(volunteer_id=volunteer_id, start=iso(WINDOW[0]), end=iso(WINDOW[1]))


def duties_in_db(url: str, volunteer_id: int) -> list[tuple]:
    """Confirmed duties on live occurrences, straight from the tables (patrol roles: the occurrence times)."""
    engine = create_engine(url)
    with Session(engine) as session:
        rows = session.execute(
            select(Occurrence.start, Occurrence.end)
            .join(Signup, Signup.occurrence_id == Occurrence.id)
            .join(Activity, Activity.id == Occurrence.activity_id)
            .where(
                Signup.volunteer_id == volunteer_id,
                Signup.status == "confirmed",
                Occurrence.status == "scheduled",
                Activity.status == "active",
            )
            .order_by(Occurrence.start)
        ).all()
    engine.dispose()
    return [(from_db(s).astimezone(UTC), from_db(e).astimezone(UTC)) for s, e in rows]


@pytest.fixture
def patrol(organiser, volunteers):
    """A weekly evening patrol of grid 4 (six weeks, two seats) and volunteers 1 and 2 who may patrol."""
    for vid in (1, 2):
        volunteers.add(vid, skills=["patrol"])
    organiser.create_activity(
        title=TITLE,
        kind="patrol",
        grid_id=4,
        courtyard="观音里3号院, 北楼; 南楼",
        description="集合地点：居委会门口；\n结束后在群里报平安, 谢谢",
        start=iso(at(1, 19)),
        duration_minutes=120,
        rrule="FREQ=WEEKLY;COUNT=6",
        roles=[{"name": "patroller", "needed": 2, "skills": ["patrol"]}],
    )
    return organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(50, 0)))


def test_personal_feed_follows_signups_time_changes_cancellations_and_the_roster(
    call, organiser, patrol, web_session, services
):
    volunteer = call(as_volunteer(1))
    urls = volunteer.issue_feed_token(volunteer_id=1)
    assert urls["personal"]["https"].startswith(f"{BASE_URL}/feeds/volunteers/")
    assert urls["personal"]["webcal"] == "webcal://" + urls["personal"]["https"][len("https://") :]
    assert volunteer.issue_feed_token(volunteer_id=1) == urls  # idempotent while active
    url = urls["personal"]["https"]

    empty = fetch(web_session, url)
    assert empty.status_code == 200 and vevents(empty.content) == []
    assert empty.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-cache" in empty.headers["Cache-Control"] and "private" in empty.headers["Cache-Control"]

    # Sign-ups on weeks 1, 2, 4 and 5: one series with the week-3 gap as EXDATE.
    signups = {i: volunteer.sign_up(occurrence_id=patrol[i]["id"], volunteer_id=1) for i in (0, 1, 3, 4)}
    first = fetch(web_session, url)
    assert first.status_code == 200 and first.headers["ETag"] != empty.headers["ETag"]
    (master,) = vevents(first.content)
    assert "RRULE" in master and len(master["EXDATE"].dts) == 1
    assert master["EXDATE"].dts[0].dt == from_db_iso(patrol[2]["start"])
    assert str(master["DTSTART"].params["TZID"]) == "Asia/Shanghai"
    seen = expanded(first.content)
    assert [o["summary"] for o in seen] == [f"{TITLE} · 巡逻"] * 4
    assert {o["location"] for o in seen} == {"第4网格 · 观音里3号院, 北楼; 南楼"}
    assert live(seen) == duties_in_db(services["DB_URIS"]["activities"], 1)

    # Unchanged data: the same bytes, and 304 for the ETag the client has.
    again = fetch(web_session, url)
    assert again.content == first.content and again.headers["ETag"] == first.headers["ETag"]
    cached = fetch(web_session, url, etag=first.headers["ETag"])
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["ETag"] == first.headers["ETag"]

    # A time change: week 2 moves one hour later (an override), SEQUENCE goes up.
    moved_start = from_db_iso(patrol[1]["start"]) + timedelta(hours=1)
    organiser.update_occurrence(occurrence_id=patrol[1]["id"], start=iso(moved_start))
    after_move = fetch(web_session, url, etag=first.headers["ETag"])
    assert after_move.status_code == 200
    assert int(vevents(after_move.content)[0]["SEQUENCE"]) > int(master["SEQUENCE"])
    assert moved_start.astimezone(UTC) in [o["start"] for o in expanded(after_move.content)]

    # A cancelled occurrence (week 4) and a cancelled sign-up (week 5) stay, marked CANCELLED.
    organiser.cancel_occurrence(occurrence_id=patrol[3]["id"], reason="暴雨")
    volunteer.cancel_sign_up(signup_id=signups[4]["id"])
    after_cancel = fetch(web_session, url)
    seen = expanded(after_cancel.content)
    cancelled = [o["start"] for o in seen if o["status"] == "CANCELLED"]
    assert cancelled == [from_db_iso(patrol[i]["start"]).astimezone(UTC) for i in (3, 4)]
    assert int(vevents(after_cancel.content)[0]["SEQUENCE"]) > int(vevents(after_move.content)[0]["SEQUENCE"])

    # The roster assigns week 6 (the publish path): it is in the feed on the next request.
    engine = create_engine(services["DB_URIS"]["activities"])
    with Session(engine) as session, session.begin():
        store.assign_patrol_duty(session, patrol[5]["id"], 1)
    engine.dispose()
    after_roster = fetch(web_session, url)
    seen = expanded(after_roster.content)

    # What both parsers expand is what list_duties and the database say.
    by_rpc = [
        (from_db_iso(d["duty_start"]).astimezone(UTC), from_db_iso(d["duty_end"]).astimezone(UTC))
        for d in duties_by_rpc(organiser, 1)
        if d["occurrence_status"] == "scheduled"
    ]
    assert live(seen) == by_rpc == duties_in_db(services["DB_URIS"]["activities"], 1)
    assert len(by_rpc) == 3  # weeks 1, 2 (moved) and 6
    assert from_db_iso(patrol[5]["start"]).astimezone(UTC) in [s for s, _ in live(seen)]

    # Volunteer 2's feed is theirs alone.
    other = call(as_volunteer(2)).issue_feed_token(volunteer_id=2)["personal"]["https"]
    assert other != url and vevents(fetch(web_session, other).content) == []


def test_tokens_rotate_revoke_and_only_their_hash_is_stored(call, organiser, patrol, web_session, services):
    volunteer = call(as_volunteer(1))
    assert volunteer.feed_urls(volunteer_id=1)["personal"] is None
    with pytest.raises(Forbidden):
        call(as_volunteer(2)).issue_feed_token(volunteer_id=1)
    with pytest.raises(Forbidden):
        call(as_volunteer(2)).revoke_feed_token(volunteer_id=1)

    old = volunteer.issue_feed_token(volunteer_id=1)["personal"]["https"]
    assert volunteer.feed_urls(volunteer_id=1)["personal"]["https"] == old
    token = old.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 43  # 256 bits, base64url
    engine = create_engine(services["DB_URIS"]["activities"])
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM feed_tokens WHERE volunteer_id = 1")).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()] and token not in stored[0]
    assert fetch(web_session, old).status_code == 200
    head = web_session.head(path_of(old))
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"]

    rotated = organiser.rotate_feed_token(volunteer_id=1)["personal"]["https"]  # organisers may, too
    assert rotated != old
    assert fetch(web_session, old).status_code == 404
    assert fetch(web_session, rotated).status_code == 200
    assert volunteer.feed_urls(volunteer_id=1)["personal"]["https"] == rotated

    assert volunteer.revoke_feed_token(volunteer_id=1) == {"volunteer_id": 1, "revoked": 1}
    assert fetch(web_session, rotated).status_code == 404
    assert volunteer.feed_urls(volunteer_id=1)["personal"] is None
    assert web_session.get("/feeds/volunteers/" + "A" * 43 + ".ics").status_code == 404
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM feed_tokens WHERE revoked_at IS NULL")).scalar() == 0
    engine.dispose()


def test_public_feeds_never_show_visits_and_personal_ones_only_what_the_organiser_allows(
    call, organiser, volunteers, web_session, services, clock
):
    volunteers.add(1, skills=[])
    visit = organiser.create_activity(**ELDERLY_VISIT, start=iso(at(2, 9)))
    lecture = organiser.create_activity(
        title="立德树人讲堂：防范电信诈骗, 讲座; 互动问答",
        kind="lecture",
        room="立德树人讲堂",
        start=iso(at(3, 19)),
        duration_minutes=90,
        rrule="FREQ=WEEKLY;COUNT=3",
        capacity=40,
    )
    occurrences = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(30, 0)))
    visits = [o for o in occurrences if o["activity_id"] == visit["id"]]
    lectures = [o for o in occurrences if o["activity_id"] == lecture["id"]]
    organiser.register_attendee(occurrence_id=lectures[0]["id"], name="李建国", phone="13912345678")
    organiser.cancel_occurrence(occurrence_id=lectures[1]["id"], reason="讲师生病")
    volunteer = call(as_volunteer(1))
    volunteer.sign_up(occurrence_id=visits[0]["id"], volunteer_id=1)

    public = volunteer.feed_urls(volunteer_id=1)["public"]
    assert {p["scope"] for p in public} == {"team", "grid", "kind", "lectures"}
    assert ("kind", "elderly_visit") not in {(p["scope"], p["value"]) for p in public}
    private_bits = ["张桂兰", "302室", "糖尿病", "服药", "13912345678", "李建国"]
    visit_bits = ["探访独居老人", "观音里5号院", "上门探访", "探访老人"]
    bodies = {}
    for link in public:
        response = fetch(web_session, link["https"])
        assert response.status_code == 200, link
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert "public" in response.headers["Cache-Control"]
        text_body = response.content.decode().replace("\r\n ", "")
        assert not [bit for bit in private_bits + visit_bits if bit in text_body], link
        bodies[(link["scope"], link["value"])] = response.content
    assert web_session.get("/feeds/kinds/elderly_visit.ics").status_code == 404

    # The visit's grid shows nothing of it; the lecture programme the lectures.
    assert vevents(bodies[("grid", 9)]) == []
    programme = expanded(bodies[("lectures", None)])
    by_rpc = organiser.list_occurrences(start=iso(WINDOW[0]), end=iso(WINDOW[1]), kind="lecture")
    assert [(o["start"], o["status"]) for o in programme] == [
        (from_db_iso(o["start"]).astimezone(UTC), "CANCELLED" if o["status"] == "cancelled" else "CONFIRMED")
        for o in by_rpc
    ]
    assert programme[1]["status"] == "CANCELLED" and programme[0]["summary"] == lecture["title"]
    assert expanded(bodies[("kind", "lecture")]) == programme

    # The assigned visitor's own feed: a neutral home visit at its time, without a place...
    personal = volunteer.issue_feed_token(volunteer_id=1)["personal"]["https"]
    mine = fetch(web_session, personal)
    unfolded = mine.content.decode().replace("\r\n ", "")
    assert not [bit for bit in private_bits + ["探访独居老人", "观音里5号院", "第9网格", "探访老人"] if bit in unfolded]
    (neutral,) = expanded(mine.content)
    assert neutral["summary"] == "上门探访" and not neutral.get("location")
    assert neutral["start"] == from_db_iso(visits[0]["start"]).astimezone(UTC)

    # ...until the organiser lets feeds show details: then the title, person and address, never health notes.
    assert visit["feed_shows_details"] is False
    assert organiser.update_activity(activity_id=visit["id"], changes={"feed_shows_details": True})[
        "feed_shows_details"
    ]
    detailed = fetch(web_session, personal, etag=mine.headers["ETag"])
    assert detailed.status_code == 200
    unfolded = detailed.content.decode().replace("\r\n ", "")
    assert "观音里5号院2栋302室" in unfolded and "张桂兰" in unfolded and "探访独居老人" in unfolded
    assert "糖尿病" not in unfolded and "服药" not in unfolded
    (shown,) = vevents(detailed.content)
    assert int(shown["SEQUENCE"]) > int(vevents(mine.content)[0]["SEQUENCE"])
    for link in public:
        assert not [b for b in private_bits + visit_bits if b in fetch(web_session, link["https"]).content.decode()]

    # Eight days after the visitor's last visit the feed keeps the visit, without person and address.
    clock.set(from_db_iso(visits[0]["end"]) + timedelta(days=8))
    later = fetch(web_session, personal).content.decode().replace("\r\n ", "")
    assert "探访独居老人" in later and "观音里5号院" in later
    assert "302室" not in later and "张桂兰" not in later and "糖尿病" not in later

    for path in ("/feeds/teams/nobody.ics", "/feeds/grids/16.ics", "/feeds/kinds/party.ics", "/feeds/grids/x.ics"):
        assert web_session.get(path).status_code == 404, path


@pytest.mark.skipif(REAL_VOLUNTEERS is None, reason="the grids are the real volunteers service's data")
def test_a_sixteenth_grid_in_the_data_has_its_feed(sixteenth_grid, organiser, web_session):
    """A grid's public feed exists for each grid the volunteers service has: one added to its data too."""
    links = {
        link["value"]: link for link in organiser.feed_urls(volunteer_id=9000)["public"] if link["scope"] == "grid"
    }
    assert sorted(links) == list(range(1, 17))
    feed = fetch(web_session, links[16]["https"])
    assert feed.status_code == 200 and vevents(feed.content) == []
    assert web_session.get("/feeds/grids/17.ics").status_code == 404


def test_public_feed_follows_a_schedule_change_with_a_higher_sequence(organiser, patrol, web_session):
    url = organiser.feed_urls(volunteer_id=9000)["public"]
    grid = next(link["https"] for link in url if link["scope"] == "grid" and link["value"] == 4)
    before = fetch(web_session, grid)
    assert fetch(web_session, grid, etag=before.headers["ETag"]).status_code == 304
    (master,) = vevents(before.content)
    assert "UNTIL=" in master["RRULE"].to_ical().decode() and "COUNT" not in master["RRULE"]

    later = from_db_iso(patrol[0]["start"]) + timedelta(hours=1)
    organiser.update_activity(activity_id=patrol[0]["activity_id"], changes={"start": iso(later)})
    after = fetch(web_session, grid, etag=before.headers["ETag"])
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    (changed,) = [e for e in vevents(after.content) if "RECURRENCE-ID" not in e]
    assert int(changed["SEQUENCE"]) > int(master["SEQUENCE"])
    assert changed["DTSTAMP"].dt >= master["DTSTAMP"].dt and changed["DTSTART"].dt == later  # (whole seconds)
    by_rpc = organiser.list_occurrences(start=iso(WINDOW[0]), end=iso(WINDOW[1]), grid=4)
    assert [o["start"] for o in expanded(after.content) if o["status"] == "CONFIRMED"] == [
        from_db_iso(o["start"]).astimezone(UTC) for o in by_rpc if o["status"] == "scheduled"
    ]


def answers(web_session, url: str, etag: str, status: int, seconds: float = 10.0):
    """The feed's answer once it is ``status``: a change another process commits reaches this one
    with its notification (PostgreSQL) or at once (SQLite); wait for that, not for time."""
    import time

    import eventlet

    deadline = time.monotonic() + seconds
    while (response := fetch(web_session, url, etag=etag)).status_code != status:
        assert time.monotonic() < deadline, f"still {response.status_code} after {seconds} s"
        eventlet.sleep(0.01)
    return response


def test_a_change_committed_by_another_replica_reaches_the_feed(call, organiser, patrol, web_session, services):
    """Another process (a replica, a script) writes straight to the database; the replica that
    answered the feed before must not answer 304 from what it had read."""
    url = call(as_volunteer(1)).issue_feed_token(volunteer_id=1)["personal"]["https"]
    first = fetch(web_session, url)
    assert fetch(web_session, url, etag=first.headers["ETag"]).status_code == 304  # read, and kept
    engine = create_engine(services["DB_URIS"]["activities"])
    try:
        with Session(engine) as session, session.begin():
            store.sign_up(session, patrol[0]["id"], None, 1, None)
        changed = answers(web_session, url, first.headers["ETag"], 200)
        assert len(live(expanded(changed.content))) == 1
        assert fetch(web_session, url, etag=changed.headers["ETag"]).status_code == 304
        with engine.begin() as conn:  # the link revoked by another replica
            conn.execute(text("UPDATE feed_tokens SET revoked_at = CURRENT_TIMESTAMP"))
        answers(web_session, url, changed.headers["ETag"], 404)
    finally:
        engine.dispose()
