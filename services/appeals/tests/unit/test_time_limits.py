"""The time limits of appeals: deadlines across nights, around-the-clock categories, the escalation ladder
fired once per step, and the config that overrides the table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appeals.time_limits import (
    CATEGORIES,
    DAY_END,
    DAY_START,
    DEFAULT_LIMITS,
    LADDER,
    LEVELS,
    STAGES,
    URGENCIES,
    AppealTimes,
    Deadlines,
    EscalationKey,
    Limit,
    LimitsConfigError,
    UnknownCategory,
    add_daytime,
    daytime_start,
    deadlines,
    due_escalations,
    limit_for,
    limits_from_config,
    next_check,
)
from guanyinli.timeutil import TZ


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of December 2026 in community time (Monday the 7th is a working day like any other)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def daytime_between(start: datetime, end: datetime) -> timedelta:
    """An evaluator independent of add_daytime: the daytime overlap of [start, end], day by day."""
    total = timedelta()
    day = start.astimezone(TZ).date() - timedelta(days=1)
    while day <= end.astimezone(TZ).date():
        opens, closes = datetime.combine(day, DAY_START, TZ), datetime.combine(day, DAY_END, TZ)
        total += max(timedelta(), min(closes, end) - max(opens, start))
        day += timedelta(days=1)
    return total


def is_daytime(moment: datetime) -> bool:
    local = moment.astimezone(TZ).time()
    return DAY_START <= local <= DAY_END


# --- the table --------------------------------------------------------------------------------------------


def test_every_category_and_urgency_has_a_limit():
    assert set(DEFAULT_LIMITS) == {(c, u) for c in CATEGORIES for u in URGENCIES}


def test_the_documented_defaults():
    assert DEFAULT_LIMITS["repair", "normal"] == Limit(2, 24, 7)
    assert DEFAULT_LIMITS["errand", "normal"] == Limit(2, 24, 3)
    assert DEFAULT_LIMITS["repair", "urgent"] == Limit(1, 4, 3)
    assert DEFAULT_LIMITS["safety_hazard", "normal"].around_the_clock is False
    assert DEFAULT_LIMITS["safety_hazard", "urgent"].around_the_clock is True
    assert DEFAULT_LIMITS["elevator", "normal"].around_the_clock is True
    assert DEFAULT_LIMITS["elevator", "urgent"].around_the_clock is True


def test_the_default_table_cannot_be_changed_by_a_caller():
    with pytest.raises(TypeError):
        DEFAULT_LIMITS["repair", "normal"] = Limit(9, 9, 9)  # type: ignore[index]


def test_unknown_category_or_urgency_is_typed():
    with pytest.raises(UnknownCategory, match="plumbing"):
        deadlines("plumbing", "normal", at(7, 9))
    with pytest.raises(UnknownCategory, match="critical"):
        limit_for(DEFAULT_LIMITS, "repair", "critical")


# --- daytime arithmetic -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(7, 7, 59), at(7, 8)),
        (at(7, 8), at(7, 8)),
        (at(7, 13, 30), at(7, 13, 30)),
        (at(7, 19, 59), at(7, 19, 59)),
        (at(7, 20), at(8, 8)),
        (at(7, 23, 30), at(8, 8)),
        (at(8, 0, 0), at(8, 8)),
        (at(31, 22), datetime(2027, 1, 1, 8, tzinfo=TZ)),
    ],
)
def test_daytime_start(moment, expected):
    assert daytime_start(moment) == expected


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (at(7, 9), 2, at(7, 11)),
        (at(7, 19), 2, at(8, 9)),  # one hour that evening, one the next morning
        (at(7, 18), 2, at(7, 20)),  # ends exactly at closing: that evening
        (at(7, 23), 2, at(8, 10)),  # a night appeal counts from 08:00
        (at(8, 3), 0.5, at(8, 8, 30)),
        (at(7, 8), 12, at(7, 20)),
        (at(7, 8), 13, at(8, 9)),
        (at(7, 20), 24, at(9, 20)),
        (at(7, 21), 36, at(10, 20)),
        (at(7, 10), 37, at(10, 11)),
    ],
)
def test_add_daytime_across_nights(start, hours, expected):
    assert add_daytime(start, timedelta(hours=hours)) == expected


def test_times_in_another_zone_are_the_same_instants():
    # 01:00 UTC is 09:00 in Guanyinli.
    received = datetime(2026, 12, 7, 1, tzinfo=UTC)
    assert deadlines("repair", "normal", received).acknowledge == at(7, 11)
    assert deadlines("repair", "normal", received).acknowledge.tzinfo == TZ


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        deadlines("repair", "normal", datetime(2026, 12, 7, 9))


# --- deadlines --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_normal_appeal_in_the_morning(category):
    limit = DEFAULT_LIMITS[category, "normal"]
    due = deadlines(category, "normal", at(7, 9))
    assert due.acknowledge == at(7, 9) + timedelta(hours=limit.acknowledge_hours)
    assert due.visit == at(7, 9) + timedelta(hours=limit.visit_hours)
    assert due.close == at(7, 9) + timedelta(days=limit.close_days)


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "elevator"])
def test_a_normal_appeal_at_night_counts_from_eight(category):
    limit = DEFAULT_LIMITS[category, "normal"]
    due = deadlines(category, "normal", at(7, 23, 15))
    assert due.acknowledge == at(8, 8) + timedelta(hours=limit.acknowledge_hours)
    assert due.visit == at(8, 8) + timedelta(hours=limit.visit_hours)
    assert due.close == at(8, 8) + timedelta(days=limit.close_days)


def test_a_repair_in_the_evening_is_acknowledged_next_morning():
    assert deadlines("repair", "normal", at(7, 19, 30)) == Deadlines(
        acknowledge=at(8, 9, 30), visit=at(8, 19, 30), close=at(14, 19, 30)
    )


@pytest.mark.parametrize(("category", "urgency"), [("safety_hazard", "urgent"), ("elevator", "urgent")])
def test_around_the_clock_at_night(category, urgency):
    assert deadlines(category, urgency, at(7, 2)) == Deadlines(acknowledge=at(7, 2, 30), visit=at(7, 4), close=at(8, 2))


def test_a_stopped_lift_at_night_is_counted_at_once_even_when_not_marked_urgent():
    assert deadlines("elevator", "normal", at(7, 23)).acknowledge == at(8, 0)


def test_a_safety_hazard_not_urgent_waits_for_the_morning():
    assert deadlines("safety_hazard", "normal", at(7, 23)).acknowledge == at(8, 10)


def test_a_later_stage_is_never_due_before_an_earlier_one():
    # An urgent repair at 19:30: acknowledged by 08:30 next morning; four hours would have put the visit at
    # 23:30 of the evening before.
    due = deadlines("repair", "urgent", at(7, 19, 30))
    assert due.acknowledge == at(8, 8, 30)
    assert due.visit == at(8, 8, 30)
    assert due.close == at(10, 19, 30)


# --- config -----------------------------------------------------------------------------------------------


def test_config_none_is_the_base():
    assert limits_from_config(None) is DEFAULT_LIMITS
    assert limits_from_config({}) == DEFAULT_LIMITS


def test_config_overrides_both_urgencies_then_one():
    limits = limits_from_config(
        {"repair": {"acknowledge_hours": 3, "urgent": {"acknowledge_hours": 1.5, "visit_hours": 6}}}
    )
    assert limits["repair", "normal"] == Limit(3, 24, 7)
    assert limits["repair", "urgent"] == Limit(1.5, 6, 3)
    assert limits["errand", "normal"] == DEFAULT_LIMITS["errand", "normal"]
    assert deadlines("repair", "normal", at(7, 9), limits).acknowledge == at(7, 12)


def test_config_may_make_a_category_count_around_the_clock():
    limits = limits_from_config({"environment": {"urgent": {"around_the_clock": True}}})
    assert limits["environment", "urgent"].around_the_clock
    assert not limits["environment", "normal"].around_the_clock


def test_config_does_not_change_the_base():
    limits_from_config({"repair": {"close_days": 1}})
    assert DEFAULT_LIMITS["repair", "normal"].close_days == 7


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([("repair", 2)], "must be a mapping of category"),
        ({"plumbing": {"close_days": 2}}, "plumbing: unknown category"),
        ({"repair": 2}, "repair: must be a mapping of limits"),
        ({"repair": {"urgent": 2}}, "repair.urgent: must be a mapping"),
        ({"repair": {"acknowledge_minutes": 90}}, "repair.acknowledge_minutes: unknown field"),
        ({"repair": {"acknowledge_hours": "2"}}, "repair.acknowledge_hours: must be a number"),
        ({"repair": {"acknowledge_hours": True}}, "repair.acknowledge_hours: must be a number"),
        ({"repair": {"visit_hours": float("nan")}}, "repair.visit_hours: must be a number"),
        ({"repair": {"visit_hours": float("inf")}}, "repair.visit_hours: must be a number"),
        ({"repair": {"acknowledge_hours": 0}}, "repair.acknowledge_hours: must be more than 0"),
        ({"repair": {"normal": {"close_days": -1}}}, "repair.normal.close_days: must be more than 0"),
        ({"repair": {"close_days": 400}}, "at most 365"),
        ({"repair": {"around_the_clock": "yes"}}, "repair.around_the_clock: must be true or false"),
    ],
)
def test_config_errors_name_their_place(config, message):
    with pytest.raises(LimitsConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        limits_from_config(config)


def test_config_errors_are_all_reported_at_once():
    with pytest.raises(LimitsConfigError) as raised:
        limits_from_config({"plumbing": {}, "repair": {"close_days": 0, "urgent": {"visit_hours": "soon"}}})
    assert len(raised.value.errors) == 3
    assert isinstance(raised.value, ValueError)


# --- the escalation ladder --------------------------------------------------------------------------------


def repair(**times) -> AppealTimes:
    # A normal repair received Monday 09:00: acknowledge by 11:00, visit by Tuesday 09:00, close by the 14th.
    return AppealTimes(appeal_id=42, category="repair", urgency="normal", received_at=at(7, 9), **times)


def keys(escalations) -> list[str]:
    return [str(escalation.key) for escalation in escalations]


def test_nothing_is_due_before_three_quarters_of_the_time():
    assert due_escalations(at(7, 10, 29), repair()) == []
    assert next_check(at(7, 10, 29), repair()) == at(7, 10, 30)


def test_the_acknowledge_ladder_step_by_step():
    appeal, fired = repair(), set()
    expected = [
        (at(7, 10, 30), "42:acknowledge:handler"),
        (at(7, 11), "42:acknowledge:grid_leader"),
        (at(7, 12), "42:acknowledge:community_office"),
    ]
    for moment, key in expected:
        assert next_check(moment - timedelta(seconds=1), appeal, fired) == moment
        assert due_escalations(moment - timedelta(seconds=1), appeal, fired) == []
        due = due_escalations(moment, appeal, fired)
        assert keys(due) == [key]
        assert due[0].due_at == moment and due[0].deadline == at(7, 11)
        fired.add(due[0].key)
        assert due_escalations(moment, appeal, fired) == []
    # Then the visit's ladder: three quarters of 24 hours.
    assert next_check(at(7, 12), appeal, fired) == at(8, 3)


def test_the_ladder_of_a_night_appeal_warns_in_the_morning():
    appeal = AppealTimes(1, "repair", "normal", received_at=at(7, 23))
    # 75 % of two daytime hours from 08:00, not 75 % of the eleven hours between.
    assert next_check(at(7, 23), appeal) == at(8, 9, 30)
    assert due_escalations(at(8, 7), appeal) == []


def test_an_around_the_clock_ladder_runs_at_night():
    appeal = AppealTimes("a-7", "elevator", "urgent", received_at=at(7, 2))
    assert keys(due_escalations(at(7, 2, 45), appeal)) == [
        "a-7:acknowledge:handler",  # 02:22:30
        "a-7:acknowledge:grid_leader",  # 02:30
        "a-7:acknowledge:community_office",  # 02:45
    ]


def test_steps_piled_up_by_a_restart_each_come_back_once():
    appeal = repair()
    due = due_escalations(at(8, 10), appeal)
    assert keys(due) == [
        "42:acknowledge:handler",
        "42:acknowledge:grid_leader",
        "42:acknowledge:community_office",
        "42:visit:handler",
        "42:visit:grid_leader",
    ]
    assert [e.due_at for e in due] == sorted(e.due_at for e in due)
    assert due_escalations(at(8, 10), appeal, [str(e.key) for e in due]) == []
    assert due_escalations(at(8, 10), appeal, [e.key for e in due]) == []


def test_acknowledging_stops_that_ladder_but_not_the_next():
    appeal = repair(acknowledged_at=at(7, 10, 45))
    assert due_escalations(at(7, 13), appeal) == []
    assert next_check(at(7, 13), appeal) == at(8, 3)
    assert keys(due_escalations(at(8, 3), appeal)) == ["42:visit:handler"]


def test_a_visit_counts_as_an_acknowledgement():
    appeal = repair(visited_at=at(7, 10))
    assert due_escalations(at(8, 12), appeal) == []
    assert next_check(at(8, 12), appeal) == at(7, 9) + timedelta(days=7 * 0.75)


def test_the_close_ladder():
    appeal = repair(acknowledged_at=at(7, 10), visited_at=at(7, 15))
    assert keys(due_escalations(at(17, 21), appeal)) == [
        "42:close:handler",  # Sunday 13th 03:00
        "42:close:grid_leader",  # Monday 14th 09:00
        "42:close:community_office",  # Thursday 17th 21:00
    ]


def test_nothing_after_closing():
    closed = repair(closed_at=at(7, 10))
    assert due_escalations(at(31, 0), closed) == []
    assert next_check(at(7, 10), closed) is None
    # Even when closed without the earlier stages recorded.
    assert next_check(at(31, 0), replace(closed, acknowledged_at=None)) is None


def test_all_fired_means_nothing_left_to_check():
    appeal = repair()
    fired = [EscalationKey("42", stage, level) for stage in STAGES for level in LEVELS]
    assert next_check(at(7, 9), appeal, fired) is None


def test_keys_of_another_appeal_do_not_count():
    fired = {EscalationKey("43", "acknowledge", "handler")}
    assert keys(due_escalations(at(7, 10, 30), repair(), fired)) == ["42:acknowledge:handler"]


def test_a_key_reads_back_from_its_text():
    key = EscalationKey("appeal:7", "visit", "grid_leader")
    assert EscalationKey.parse(str(key)) == key
    with pytest.raises(ValueError):
        EscalationKey.parse("7:visit:mayor")


def test_the_ladder_table():
    assert [step.level for step in LADDER] == ["handler", "grid_leader", "community_office"]
    assert [step.fraction for step in LADDER] == [0.75, 1.0, 1.5]


# --- properties -------------------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(TZ)).map(
    lambda moment: moment.replace(microsecond=0)
)
kinds = st.sampled_from(sorted(DEFAULT_LIMITS))
hours = st.floats(min_value=0.25, max_value=72, allow_nan=False).map(lambda value: round(value, 2))


@settings(max_examples=200, deadline=None)
@given(start=moments, span=hours)
def test_add_daytime_adds_exactly_that_much_daytime(start, span):
    end = add_daytime(start, timedelta(hours=span))
    assert end > start
    assert is_daytime(end)
    assert daytime_between(start, end) == timedelta(hours=span)


@settings(max_examples=200, deadline=None)
@given(kind=kinds, received=moments)
def test_deadlines_are_after_receipt_and_in_order(kind, received):
    due = deadlines(*kind, received)
    assert received < due.acknowledge <= due.visit <= due.close
    if not DEFAULT_LIMITS[kind].around_the_clock:
        assert is_daytime(due.acknowledge)


@settings(max_examples=200, deadline=None)
@given(kind=kinds, received=moments, field=st.sampled_from(["acknowledge_hours", "visit_hours", "close_days"]))
def test_deadlines_are_monotone_in_the_limit(kind, received, field):
    limit = DEFAULT_LIMITS[kind]
    longer = {**DEFAULT_LIMITS, kind: replace(limit, **{field: getattr(limit, field) * 1.5})}
    before, after = deadlines(*kind, received), deadlines(*kind, received, longer)
    for stage in STAGES:
        assert before.of(stage) <= after.of(stage)


appeals = st.builds(
    lambda kind, received, offsets: AppealTimes(
        7,
        *kind,
        received_at=received,
        **{
            name: None if offset is None else received + timedelta(minutes=offset)
            for name, offset in zip(("acknowledged_at", "visited_at", "closed_at"), offsets, strict=True)
        },
    ),
    kinds,
    moments,
    st.tuples(*[st.none() | st.integers(min_value=0, max_value=20_000)] * 3),
)
all_keys = [EscalationKey("7", stage, level) for stage in STAGES for level in LEVELS]


@settings(max_examples=300, deadline=None)
@given(appeal=appeals, later=st.integers(min_value=-600, max_value=30_000), fired=st.sets(st.sampled_from(all_keys)))
def test_the_ladder_properties(appeal, later, fired):
    now = appeal.received_at + timedelta(minutes=later)
    due = due_escalations(now, appeal, fired)
    due_keys = [escalation.key for escalation in due]
    assert not set(due_keys) & fired
    assert len(set(due_keys)) == len(due_keys)
    assert all(escalation.due_at <= now for escalation in due)
    # Idempotent: once fired, the same call brings nothing new.
    assert due_escalations(now, appeal, fired | set(due_keys)) == []
    check = next_check(now, appeal, fired)
    if appeal.closed_at is not None:
        assert due == [] and check is None
    if due:
        assert check is not None and check <= now
    elif check is not None:
        assert check > now
        assert due_escalations(check, appeal, fired) != []
