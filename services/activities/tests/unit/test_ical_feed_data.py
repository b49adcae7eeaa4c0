"""What the feeds show, from plain records: duty series, overrides, cancellations kept 30 days, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities import feed_data, ical
from activities.feed_data import (
    ActivityData,
    Clock,
    Duty,
    DutySeries,
    Instance,
    activity_event,
    duty_events,
)
from activities.feeds import public_feeds
from activities.models import Activity, ActivityRole
from guanyinli.timeutil import TZ
from tests.js.ical_parsers import both

MON = datetime(2026, 12, 7, 19, 0, tzinfo=TZ)  # a Monday evening patrol, weekly
WEEK = timedelta(days=7)
CHANGED = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
CLOCK = Clock(datetime(2026, 12, 2, 15, 30, tzinfo=TZ))
WINDOW = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC))


def duty(week: int, *, moved: timedelta = timedelta(0), **changes) -> Duty:
    original = MON + week * WEEK
    fields = dict(
        original_start=original,
        start=original + moved,
        end=original + moved + timedelta(hours=2),
        signup_status="confirmed",
        signup_cancelled_at=None,
        occurrence_status="scheduled",
        occurrence_cancelled_at=None,
        location="第4网格",
        last_modified=CHANGED,
    )
    fields.update(changes)
    return Duty(**fields)


def series(*duties: Duty, rule: str | None = "FREQ=WEEKLY", **changes) -> DutySeries:
    fields = dict(
        key="duty/1/10/20",
        summary="第四网格夜巡, 东门; 西门 · 巡逻",
        description="集合地点：居委会门口",
        location="第4网格",
        categories=("治安巡逻",),
        rule=rule,
        activity_start=MON,
        duty_offset=timedelta(0),
        duty_length=timedelta(hours=2),
        sequence=7,
        last_modified=CHANGED,
        duties=duties,
    )
    fields.update(changes)
    return DutySeries(**fields)


def starts(events: list[ical.Event]) -> list[tuple[datetime, str]]:
    body = ical.render(ical.Feed(name="t", events=tuple(events)))
    return [(o["start"].astimezone(TZ), o["status"]) for o in both(body, *WINDOW)]


def test_duties_on_a_rule_are_one_series_with_exdates_for_the_gaps():
    events = duty_events(series(duty(0), duty(1), duty(3), duty(6)), CLOCK)
    (event,) = events
    assert event.rrule == "FREQ=WEEKLY;UNTIL=20270118T110000Z"
    assert event.start == MON and event.exdates == (MON + 2 * WEEK, MON + 4 * WEEK, MON + 5 * WEEK)
    assert event.key == "duty/1/10/20" and event.sequence == 7
    assert starts(events) == [(MON + w * WEEK, "CONFIRMED") for w in (0, 1, 3, 6)]


def test_a_moved_duty_and_cancelled_ones_are_overrides():
    events = duty_events(
        series(
            duty(0),
            duty(1, moved=timedelta(hours=1)),
            duty(2, location="观音里3号院"),
            duty(3, signup_status="cancelled", signup_cancelled_at=CHANGED),
            duty(4, occurrence_status="cancelled", occurrence_cancelled_at=CHANGED),
        ),
        CLOCK,
    )
    (event,) = events
    assert [o.recurrence_id for o in event.overrides] == [MON + w * WEEK for w in (1, 2, 3, 4)]
    assert starts(events) == [
        (MON, "CONFIRMED"),
        (MON + WEEK + timedelta(hours=1), "CONFIRMED"),
        (MON + 2 * WEEK, "CONFIRMED"),
        (MON + 3 * WEEK, "CANCELLED"),
        (MON + 4 * WEEK, "CANCELLED"),
    ]


def test_cancelled_duties_go_after_thirty_days():
    long_ago = CLOCK.now - timedelta(days=31)
    events = duty_events(
        series(duty(0), duty(1, signup_status="cancelled", signup_cancelled_at=long_ago), duty(2)), CLOCK
    )
    assert starts(events) == [(MON, "CONFIRMED"), (MON + 2 * WEEK, "CONFIRMED")]
    assert events[0].exdates == (MON + WEEK,)
    only_cancelled = duty_events(series(duty(0, signup_status="cancelled", signup_cancelled_at=long_ago)), CLOCK)
    assert only_cancelled == []
    recent = duty_events(series(duty(0, signup_status="cancelled", signup_cancelled_at=CHANGED)), CLOCK)
    assert recent[0].status == ical.CANCELLED


def test_a_role_offset_moves_the_whole_series():
    setup = series(
        duty(0, start=MON - timedelta(hours=1), end=MON),
        duty(1, start=MON + WEEK - timedelta(hours=1), end=MON + WEEK),
        duty_offset=timedelta(hours=-1),
        duty_length=timedelta(hours=1),
    )
    (event,) = duty_events(setup, CLOCK)
    assert (event.start, event.end, event.overrides) == (MON - timedelta(hours=1), MON, ())


def test_duties_off_the_rule_are_single_events():
    stray = duty(
        1,
        original_start=MON + WEEK + timedelta(days=2),
        start=MON + WEEK + timedelta(days=2),
        end=MON + WEEK + timedelta(days=2, hours=2),
        occurrence_status="cancelled",
        occurrence_cancelled_at=CHANGED,
    )
    events = duty_events(series(duty(0), stray, duty(2)), CLOCK)
    assert sorted(e.key for e in events) == ["duty/1/10/20", "duty/1/10/20/20261216T110000Z"]
    assert [s for s in starts(events) if s[1] == "CANCELLED"] == [(MON + WEEK + timedelta(days=2), "CANCELLED")]


def test_a_one_off_duty_is_one_event_and_old_duties_are_left_out():
    (event,) = duty_events(series(duty(0), rule=None), CLOCK)
    assert event.rrule is None and event.key == "duty/1/10/20"
    old = duty(-20)  # 140 days before: beyond the 90-day history
    assert duty_events(series(old, rule=None), CLOCK) == []


def test_a_count_rule_becomes_until():
    (event,) = duty_events(series(duty(0), duty(2), rule="FREQ=WEEKLY;COUNT=3"), CLOCK)
    assert event.rrule == "FREQ=WEEKLY;UNTIL=20261221T110000Z"


# --- public activities -------------------------------------------------------------------------


def activity(**changes) -> ActivityData:
    fields = dict(
        key="activity/10",
        summary="第四网格夜巡",
        description="治安巡逻 · 义务巡逻队",
        location="第4网格",
        categories=("治安巡逻",),
        start=MON,
        duration=timedelta(hours=2),
        rule="FREQ=WEEKLY;COUNT=8",
        exdates=(MON + 2 * WEEK,),
        status="active",
        cancelled_at=None,
        sequence=3,
        last_modified=CHANGED,
    )
    fields.update(changes)
    return ActivityData(**fields)


def instance(week: int, **changes) -> Instance:
    original = MON + week * WEEK
    fields = dict(
        original_start=original,
        start=original,
        end=original + timedelta(hours=2),
        status="scheduled",
        cancelled_at=None,
        location="第4网格",
        sequence=1,
        last_modified=CHANGED,
        overridden=False,
    )
    fields.update(changes)
    return Instance(**fields)


def test_a_public_activity_with_overrides_and_a_cancelled_occurrence():
    event = activity_event(
        activity(
            instances=(
                instance(
                    1, start=MON + WEEK + timedelta(hours=1), end=MON + WEEK + timedelta(hours=3), overridden=True
                ),
                instance(3, status="cancelled", cancelled_at=CHANGED),
                instance(4),  # stored but as the rule has it: no override
            )
        ),
        CLOCK,
    )
    assert event.rrule == "FREQ=WEEKLY;UNTIL=20270125T110000Z"
    assert [(o.recurrence_id, o.sequence, o.status) for o in event.overrides] == [
        (MON + WEEK, 4, ical.CONFIRMED),
        (MON + 3 * WEEK, 4, ical.CANCELLED),
    ]
    found = starts([event])
    assert len(found) == 7 and (MON + WEEK + timedelta(hours=1), "CONFIRMED") in found
    assert (MON + 3 * WEEK, "CANCELLED") in found and all(s != MON + 2 * WEEK for s, _ in found)


def test_an_occurrence_cancelled_long_ago_becomes_an_exdate():
    event = activity_event(
        activity(instances=(instance(3, status="cancelled", cancelled_at=CLOCK.now - timedelta(days=40)),)), CLOCK
    )
    assert event.overrides == () and MON + 3 * WEEK in event.exdates


def test_a_cancelled_activity_stays_thirty_days_then_goes():
    recent = activity_event(activity(status="cancelled", cancelled_at=CHANGED), CLOCK)
    assert recent.status == ical.CANCELLED
    assert {s for _, s in starts([recent])} == {"CANCELLED"}
    assert activity_event(activity(status="cancelled", cancelled_at=CLOCK.now - timedelta(days=31)), CLOCK) is None


def test_an_old_series_starts_at_its_first_instance_in_the_history_window():
    start = MON - 52 * WEEK
    event = activity_event(activity(start=start, rule="FREQ=WEEKLY;BYDAY=MO", exdates=()), CLOCK)
    assert event.start >= CLOCK.history_start and event.start.weekday() == 0
    assert (event.start - start) % WEEK == timedelta(0)
    ended = activity_event(activity(start=start, rule="FREQ=WEEKLY;COUNT=3", exdates=()), CLOCK)
    assert ended is None


def test_the_same_records_give_the_same_bytes_all_day():
    data = activity(instances=(instance(3, status="cancelled", cancelled_at=CHANGED),))
    morning = ical.render(ical.Feed(name="t", events=(activity_event(data, Clock(CLOCK.day + timedelta(hours=1))),)))
    evening = ical.render(ical.Feed(name="t", events=(activity_event(data, Clock(CLOCK.day + timedelta(hours=23))),)))
    assert morning == evening


# --- the cache of rendered feeds ---------------------------------------------------------------


def test_the_feed_cache_serves_only_the_same_version_and_forgets():
    from activities.feeds import FeedCache

    cache = FeedCache(size=2)
    cache.put(("volunteer", 1), "v1", b"body", '"e"', 60)
    assert cache.get(("volunteer", 1), "v1") == (b"body", '"e"')
    assert cache.get(("volunteer", 1), "v2") is None  # any change: render again
    cache.put(("volunteer", 2), "v1", b"b2", '"e2"', 60)
    cache.put(("volunteer", 3), "v1", b"b3", '"e3"', 60)  # the least recently used goes
    assert cache.get(("volunteer", 1), "v1") is None and cache.get(("volunteer", 3), "v1") == (b"b3", '"e3"')
    cache.put(("volunteer", 4), "v1", b"b4", '"e4"', 0)  # 0 s: the cache is off
    assert cache.get(("volunteer", 4), "v1") is None
    cache.put(("volunteer", 5), "v1", b"b5", '"e5"', -1)
    assert cache.get(("volunteer", 5), "v1") is None


def test_etags_outlive_the_bodies_kept_so_a_304_needs_no_render():
    from activities.feeds import FeedCache

    cache = FeedCache(size=1, etag_size=2)
    cache.put(("volunteer", 1), "v1", b"b1", '"e1"', 60)
    cache.put(("volunteer", 2), "v1", b"b2", '"e2"', 60)  # the body of 1 goes, its ETag stays
    assert cache.get(("volunteer", 1), "v1") is None and cache.etag(("volunteer", 1), "v1") == '"e1"'
    assert cache.etag(("volunteer", 1), "v2") is None  # another version: the ETag says nothing of it
    cache.put(("volunteer", 3), "v1", b"b3", '"e3"', 60)  # ETags are bounded too
    assert cache.etag(("volunteer", 2), "v1") is None  # the least recently used (1 was just asked for)
    assert cache.etag(("volunteer", 1), "v1") == '"e1"' and cache.etag(("volunteer", 3), "v1") == '"e3"'
    cache.put(("volunteer", 4), "v1", b"b4", '"e4"', 0)
    assert cache.etag(("volunteer", 4), "v1") is None
    cache.clear()
    assert cache.etag(("volunteer", 3), "v1") is None


def test_a_start_off_the_rule_is_never_a_dtstart():
    # Monday start, weekend rule: dateutil and the service skip the Monday, ical.js would not.
    event = activity_event(activity(rule="FREQ=WEEKLY;BYDAY=SA,SU;COUNT=4", exdates=()), CLOCK)
    assert event.start == MON + timedelta(days=5)
    assert [s for s, _ in starts([event])] == [MON + timedelta(days=d) for d in (5, 6, 12, 13)]


# --- elderly visits: never public, neutral in personal feeds unless the organiser allows more -----


def _visit(**extra) -> tuple[Activity, ActivityRole]:
    fields = dict(
        id=5,
        title="探访独居老人",
        kind="elderly_visit",
        team=None,
        description="每周一次",
        grid_id=9,
        courtyard="观音里5号院",
        room=None,
        visited_person="张桂兰",
        private_address="观音里5号院2栋302室",
        health_notes="糖尿病, 需提醒服药",
        feed_shows_details=False,
    )
    fields.update(extra)
    return Activity(**fields), ActivityRole(name="visitor", needed=2)


VISIT_DAY = datetime(2026, 3, 10, 12, 0, tzinfo=TZ)


def _text(activity, role, last_visit, today, days_after=7):
    summary, place, description, categories = feed_data._series_text(
        activity, role, last_visit, feed_data.Clock(today), days_after, 4, {}
    )
    return summary, place, description or "", categories


def test_a_visit_without_details_is_a_neutral_home_visit():
    activity, role = _visit()
    summary, place, description, categories = _text(activity, role, VISIT_DAY, VISIT_DAY)
    assert (summary, place, categories) == ("上门探访", "", ("上门探访",))
    shown = " ".join([summary, place, description, *categories])
    assert not [bit for bit in ("探访独居老人", "张桂兰", "302室", "5号院", "9网格", "糖尿病", "老人") if bit in shown]


def test_a_visit_with_details_shows_title_place_person_and_address_to_a_current_visitor_never_health_notes():
    activity, role = _visit(feed_shows_details=True)
    summary, place, description, _ = _text(activity, role, VISIT_DAY, VISIT_DAY)
    assert summary.startswith("探访独居老人") and place == "观音里5号院2栋302室" and "张桂兰" in description
    assert "糖尿病" not in summary + place + description
    # a week after the last visit: still; eight days after: the public place, no person
    assert _text(activity, role, VISIT_DAY, VISIT_DAY + timedelta(days=7))[1] == "观音里5号院2栋302室"
    summary, place, description, _ = _text(activity, role, VISIT_DAY, VISIT_DAY + timedelta(days=8))
    assert place == "第9网格 · 观音里5号院" and "张桂兰" not in description
    assert _text(activity, role, None, VISIT_DAY)[1] == "第9网格 · 观音里5号院"  # only cancelled visits


def test_no_public_feed_of_elderly_visits():
    assert not feed_data.valid_scope("kind", "elderly_visit")
    assert feed_data.valid_scope("kind", "patrol")
    assert ("kind", "elderly_visit") not in public_feeds([1, 2], [])
    assert {k for s, k in public_feeds([1, 2], []) if s == "kind"} == set(feed_data.KIND_LABELS) - {"elderly_visit"}


def test_the_grid_feeds_are_the_community_grids():
    """A grid's public feed exists for each grid the volunteers service has, however many, and no other."""
    grids = range(1, 17)
    assert [g for s, g in public_feeds(grids, []) if s == "grid"] == list(grids)
    assert feed_data.valid_scope("grid", 16, grids) and not feed_data.valid_scope("grid", 17, grids)
    assert not feed_data.valid_scope("grid", 16, range(1, 16)) and not feed_data.valid_scope("grid", 0)


def test_the_team_feeds_are_the_community_teams_named_as_the_volunteers_service_names_them():
    """A team's public feed exists for each team of the community (the volunteers service's), no other;
    its name is the team's own, or its code where the volunteers service gave none."""
    teams = {"chess_club": "象棋队", "voluntary_patrol": ""}
    assert [t for s, t in public_feeds([1], teams) if s == "team"] == ["chess_club", "voluntary_patrol"]
    assert feed_data.valid_scope("team", "chess_club", teams=teams)
    assert not feed_data.valid_scope("team", "sanitation_green", teams=teams)
    assert feed_data.public_scope_name("team", "chess_club", teams) == "观音里 · 象棋队"
    assert feed_data.public_scope_name("team", "voluntary_patrol", teams) == "观音里 · voluntary_patrol"
    club = Activity(kind="cultural", team="chess_club")
    assert feed_data._categories(club, teams) == ("侨之家文化活动", "象棋队")
    assert feed_data._categories(club, {}) == ("侨之家文化活动", "chess_club")
