"""The pure rules: quiet hours, urgency, backoff, the digest, reminders and what each event produces."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from guanyinli.events import make_payload, read
from guanyinli.timeutil import TZ
from notifications import domain
from notifications.domain import DigestSchedule, LocalState, Preferences, plan_event
from notifications.rendering import render


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-11-<day> hh:mm in Asia/Shanghai (the 23rd is a Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def event(event_type: str, **payload) -> dict:
    """A payload as the wire carries it, read back as a handler sees it."""
    return read(event_type, make_payload(event_type, payload))


def occurrence(start: datetime, **extra) -> dict:
    return {
        "occurrence_id": 7,
        "activity_id": 3,
        "title": "第3网格夜间巡逻",
        "kind": "patrol",
        "start": start,
        "end": start + timedelta(hours=2),
        "place": "观音里3号院",
        **extra,
    }


def signup(event_type: str, start: datetime, status: str = "confirmed", **extra) -> dict:
    return event(event_type, **occurrence(start), signup_id=41, volunteer_id=5, role="巡逻队员", status=status, **extra)


def shift(shift_id: str, start: datetime, grid_id: int = 3) -> dict:
    return {"shift_id": shift_id, "grid_id": grid_id, "start": start, "end": start + timedelta(hours=2)}


# --- quiet hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (at(24, 21, 59), False),
        (at(24, 22, 0), True),
        (at(25, 3, 0), True),
        (at(25, 6, 59), True),
        (at(25, 7, 0), False),
    ],
)
def test_default_quiet_hours_span_midnight(moment, quiet):
    assert domain.in_quiet_hours(moment, Preferences()) is quiet


def test_quiet_hours_are_read_in_community_time_whatever_the_timezone():
    assert domain.in_quiet_hours(datetime(2026, 11, 24, 15, 0, tzinfo=UTC), Preferences())  # 23:00 here
    assert not domain.in_quiet_hours(datetime(2026, 11, 24, 23, 0, tzinfo=UTC), Preferences())  # 07:00


def test_messages_wait_until_the_quiet_hours_end():
    assert domain.quiet_hours_end(at(24, 23, 30), Preferences()) == at(25, 7)
    assert domain.quiet_hours_end(at(25, 2), Preferences()) == at(25, 7)
    assert domain.quiet_hours_end(at(25, 9), Preferences()) == at(25, 9)


def test_quiet_hours_within_one_day_and_switched_off():
    siesta = Preferences(quiet_start=time(12, 30), quiet_end=time(14, 0))
    assert domain.in_quiet_hours(at(24, 13), siesta)
    assert not domain.in_quiet_hours(at(24, 23), siesta)
    assert domain.quiet_hours_end(at(24, 13), siesta) == at(24, 14)
    assert not domain.in_quiet_hours(at(24, 23), Preferences(quiet_start=None, quiet_end=None))


def test_only_a_close_cancellation_is_urgent():
    now = at(24, 23)
    assert domain.is_urgent("occurrence_cancelled", at(24, 23, 30), now)  # same day
    assert domain.is_urgent("occurrence_cancelled", at(25, 6), now)  # before the morning
    assert not domain.is_urgent("occurrence_cancelled", at(26, 9), now)
    assert not domain.is_urgent("occurrence_changed", at(24, 23, 30), now)
    assert not domain.is_urgent("occurrence_cancelled", at(24, 20), now)  # already past


def test_decide_defers_in_quiet_hours_but_sends_urgent_and_expires_late_reminders():
    prefs = Preferences()
    context = {"start": at(25, 9).isoformat()}
    assert domain.decide("signup_confirmed", False, context, prefs, True, at(24, 23)) == domain.Decision(
        "defer", until=at(25, 7)
    )
    assert domain.decide("occurrence_cancelled", True, context, prefs, True, at(24, 23)).action == "send"
    assert domain.decide("reminder_2h", False, context, prefs, True, at(25, 9, 1)).action == "expire"
    assert domain.decide("reminder_2h", False, context, prefs, False, at(25, 8)).action == "skip"
    assert domain.decide("reminder_2h", False, context, prefs, True, at(25, 8)).action == "send"


# --- retries -----------------------------------------------------------------------------------


def test_backoff_doubles_and_is_capped():
    assert [domain.backoff(n, 30, 3600).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]


def test_after_failure_retries_until_the_last_try_then_dead_letters():
    now = at(24, 10)
    first = domain.after_failure(1, 3, False, now, 30, 3600)
    assert not first.dead and first.retry_at == now + timedelta(seconds=30)
    assert domain.after_failure(2, 3, False, now, 30, 3600).retry_at == now + timedelta(seconds=60)
    assert domain.after_failure(3, 3, False, now, 30, 3600).dead
    assert domain.after_failure(1, 3, True, now, 30, 3600).dead  # permanent: no retry


def test_message_id_is_stable_per_outbox_key():
    a = domain.message_id("e-1", 5, "signup_confirmed")
    assert a == domain.message_id("e-1", 5, "signup_confirmed")
    assert a != domain.message_id("e-1", 6, "signup_confirmed")
    assert a.startswith("<") and a.endswith("@notifications.guanyinli>")


# --- digest ------------------------------------------------------------------------------------


def test_digest_period_is_the_last_monday_morning():
    schedule = DigestSchedule()
    assert schedule.period_start(at(25, 15)) == at(23, 8)
    assert schedule.period_start(at(23, 7, 59)) == at(16, 8)
    assert schedule.period_key(at(23, 8)) == "2026-11-23"
    assert schedule.next_digest(at(25, 15)) == at(30, 8)


def test_digest_mode_holds_only_what_can_wait():
    digest, schedule, now = Preferences(mode="digest"), DigestSchedule(), at(25, 10)
    assert domain.hold_for_digest(digest, "signup_confirmed", False, at(30, 9), now, schedule)
    assert not domain.hold_for_digest(digest, "signup_confirmed", False, at(27, 9), now, schedule)  # before the digest
    assert not domain.hold_for_digest(digest, "occurrence_cancelled", True, at(30, 9), now, schedule)
    assert not domain.hold_for_digest(digest, "reminder_24h", False, at(30, 9), now, schedule)
    assert not domain.hold_for_digest(Preferences(), "signup_confirmed", False, at(30, 9), now, schedule)


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_24h_and_2h_before_only_those_still_ahead():
    start = at(26, 19)
    assert domain.reminder_times(start, at(24, 10)) == [("24h", at(25, 19)), ("2h", at(26, 17))]
    assert domain.reminder_times(start, at(26, 10)) == [("2h", at(26, 17))]
    assert domain.reminder_times(start, at(26, 18)) == []


def test_only_the_reminders_a_volunteer_wants_are_planned():
    start = at(26, 19)
    assert Preferences().reminders == ("24h", "2h")  # today's behaviour unless chosen otherwise
    assert domain.reminder_times(start, at(24, 10), ("24h",)) == [("24h", at(25, 19))]
    assert domain.reminder_times(start, at(24, 10), ("2h",)) == [("2h", at(26, 17))]
    assert domain.reminder_times(start, at(26, 10), ("24h",)) == []  # wanted, but its time has passed
    assert domain.reminder_times(start, at(24, 10), ()) == []


def test_reminder_leads_keep_the_known_ones_in_their_order():
    assert domain.reminder_leads(["2h", "24h"]) == ("24h", "2h")
    assert domain.reminder_leads(["2h", "1h"]) == ("2h",)  # a lead the service no longer knows
    assert domain.reminder_leads([]) == ()


def test_a_reminder_turned_off_after_it_was_queued_is_skipped_and_nothing_else_is():
    no_2h = Preferences(reminders=("24h",), quiet_start=None, quiet_end=None)
    context = {"start": at(25, 9).isoformat()}
    assert domain.decide("reminder_2h", False, context, no_2h, True, at(25, 7)) == domain.Decision(
        "skip", reason="the volunteer turned this reminder off"
    )
    assert domain.decide("reminder_24h", False, context, no_2h, True, at(24, 9)).action == "send"
    none = Preferences(reminders=())
    assert domain.decide("reminder_24h", False, context, none, True, at(24, 9)).action == "skip"
    for kind in ("signup_confirmed", "signup_cancelled", "occurrence_cancelled", "standin_offered", "digest"):
        assert domain.decide(kind, False, context, none, True, at(24, 9)).action == "send", kind


# --- which messages an event produces ----------------------------------------------------------


def test_signup_confirmed_tells_the_volunteer_and_adds_a_duty():
    plan = plan_event("signup_confirmed", signup("signup_confirmed", at(26, 19)), at(24, 10))
    [notice] = plan.notices
    assert (notice.volunteer_id, notice.kind, notice.urgent) == (5, "signup_confirmed", False)
    assert notice.context["title"] == "第3网格夜间巡逻" and notice.context["role"] == "巡逻队员"
    [duty] = plan.upsert
    assert (duty.key, duty.occurrence_id, duty.start) == ("signup:41", 7, at(26, 19))


def test_waitlisted_adds_no_duty_and_cancelled_removes_it():
    waitlisted = plan_event(
        "signup_waitlisted", signup("signup_waitlisted", at(26, 19), "waitlisted", waitlist_position=2), at(24, 10)
    )
    assert waitlisted.upsert == [] and waitlisted.notices[0].context["waitlist_position"] == 2
    cancelled = plan_event("signup_cancelled", signup("signup_cancelled", at(24, 20), "cancelled"), at(24, 10))
    assert cancelled.cancel == [(5, "signup:41")] and cancelled.notices[0].urgent


def test_occurrence_cancelled_reaches_event_and_local_volunteers_once_each():
    payload = event("occurrence_cancelled", **occurrence(at(24, 20)), reason="暴雨", volunteer_ids=[5, 6])
    plan = plan_event("occurrence_cancelled", payload, at(24, 10), LocalState(occurrence_volunteers=frozenset({6, 8})))
    assert [n.volunteer_id for n in plan.notices] == [5, 6, 8]
    assert all(n.urgent and n.context["reason"] == "暴雨" for n in plan.notices)
    assert plan.cancel_occurrence == 7


def test_occurrence_changed_moves_the_duties():
    payload = event(
        "occurrence_changed",
        **occurrence(at(27, 9)),
        previous_start=at(26, 19),
        previous_end=at(26, 21),
        volunteer_ids=[5],
        reason="上午停电",
    )
    plan = plan_event("occurrence_changed", payload, at(24, 10))
    assert plan.move_occurrence == (7, at(27, 9), at(27, 11), "观音里3号院")
    assert plan.notices[0].context["previous_start"] == at(26, 19).isoformat()
    assert plan.notices[0].concerns == at(26, 19)
    assert "原因：上午停电" in render("occurrence_changed", "zh", plan.notices[0].context).text
    del plan.notices[0].context["reason"]  # a notice queued before moves carried a reason
    assert "原因" not in render("occurrence_changed", "zh", plan.notices[0].context).text


def test_roster_repaired_gives_each_volunteer_only_their_changes():
    payload = event(
        "roster_repaired",
        roster_id=2,
        start=at(23, 0),
        end=at(30, 0),
        changes=[
            {"volunteer_id": 5, "added": [shift("s9", at(26, 19))], "removed": []},
            {"volunteer_id": 6, "added": [], "removed": [shift("s9", at(26, 19))]},
            {"volunteer_id": 7, "added": [], "removed": []},
        ],
    )
    plan = plan_event("roster_repaired", payload, at(24, 10))
    by_volunteer = {n.volunteer_id: n.context for n in plan.notices}
    assert set(by_volunteer) == {5, 6}
    assert [s["shift_id"] for s in by_volunteer[5]["added"]] == ["s9"] and by_volunteer[5]["removed"] == []
    assert by_volunteer[6]["added"] == [] and [s["shift_id"] for s in by_volunteer[6]["removed"]] == ["s9"]
    assert [d.volunteer_id for d in plan.upsert] == [5] and plan.cancel == [(6, "shift:s9")]


def test_swap_moves_each_shift_from_its_holder_to_the_other_volunteer():
    payload = event("swap_accepted", swap_id=1, roster_id=2, volunteer_ids=[5, 6], shifts=[shift("s1", at(26, 19))])
    plan = plan_event("swap_accepted", payload, at(24, 10), LocalState(shift_holders={"s1": 5}))
    assert plan.cancel == [(5, "shift:s1")] and [(d.volunteer_id, d.key) for d in plan.upsert] == [(6, "shift:s1")]
    assert sorted(n.volunteer_id for n in plan.notices) == [5, 6]


def swap_event(event_type: str, **extra) -> dict:
    """Volunteer 5 holds s1 (the 26th), volunteer 6 holds s2 (the 27th); 5 proposed the swap."""
    fields = {
        "swap_id": 3,
        "roster_id": 2,
        "volunteer_ids": [5, 6],
        "shifts": [shift("s1", at(26, 19)), shift("s2", at(27, 19))],
        "proposed_by": 5,
        **extra,
    }
    return event(event_type, **fields)


NAMES = LocalState(names={5: "王芳", 6: "李明"})


def test_a_proposal_tells_the_one_asked_what_they_give_and_take_and_its_proposer_that_it_went_out():
    plan = plan_event("swap_proposed", swap_event("swap_proposed"), at(24, 10), NAMES)
    assert plan.upsert == [] and plan.cancel == []  # nothing changes until it is accepted
    by_volunteer = {n.volunteer_id: n for n in plan.notices}
    assert set(by_volunteer) == {5, 6} and {n.kind for n in plan.notices} == {"swap_proposed"}
    asked = by_volunteer[6].context
    assert asked["proposer"] is False and (asked["other_id"], asked["other_name"]) == (5, "王芳")
    assert asked["gives"]["shift_id"] == "s2" and asked["takes"]["shift_id"] == "s1"
    assert asked["expires"] == "2026-11-26T19:00:00+08:00"
    proposer = by_volunteer[5].context
    assert proposer["proposer"] is True and proposer["other_name"] == "李明" and proposer["gives"]["shift_id"] == "s1"
    assert all(not n.urgent and n.concerns == at(26, 19) for n in plan.notices)


def test_an_accepted_proposal_tells_both_and_moves_the_duties():
    payload = swap_event("swap_accepted")
    plan = plan_event("swap_accepted", payload, at(24, 10), LocalState(shift_holders={"s1": 5, "s2": 6}))
    assert sorted(plan.cancel) == [(5, "shift:s1"), (6, "shift:s2")]
    assert sorted((d.volunteer_id, d.key) for d in plan.upsert) == [(5, "shift:s2"), (6, "shift:s1")]
    assert sorted((n.volunteer_id, n.kind) for n in plan.notices) == [(5, "swap_accepted"), (6, "swap_accepted")]
    assert all(n.context["other_name"] is None for n in plan.notices)  # names unknown: the templates use the number


def test_a_declined_proposal_tells_both_with_the_reason_and_moves_nothing():
    payload = swap_event("swap_declined", reason="那天要加班")
    plan = plan_event("swap_declined", payload, at(24, 10), LocalState(shift_holders={"s1": 5, "s2": 6}, names={}))
    assert plan.upsert == [] and plan.cancel == []
    assert sorted(n.volunteer_id for n in plan.notices) == [5, 6]
    assert {n.context["reason"] for n in plan.notices} == {"那天要加班"}


def test_a_withdrawn_proposal_tells_only_the_one_who_was_asked():
    plan = plan_event("swap_withdrawn", swap_event("swap_withdrawn"), at(24, 10), NAMES)
    assert [(n.volunteer_id, n.kind, n.context["other_name"]) for n in plan.notices] == [(6, "swap_withdrawn", "王芳")]


def test_an_organisers_swap_tells_both_that_an_organiser_made_it():
    payload = swap_event("swap_accepted", proposed_by=None, by_organiser=True)
    plan = plan_event("swap_accepted", payload, at(24, 10), NAMES)
    assert sorted(n.volunteer_id for n in plan.notices) == [5, 6]
    assert all(n.context["proposed_by"] is None and n.context["by_organiser"] for n in plan.notices)
    assert not any(n.context["proposer"] for n in plan.notices)


# --- stand-ins -----------------------------------------------------------------------------------


def standin(event_type: str, duty_start: datetime, **extra) -> dict:
    extra.setdefault("grid_leader_id", 9)
    return event(
        event_type,
        **occurrence(duty_start),
        offer_id=4,
        signup_id=41,
        volunteer_id=5,
        role="巡逻队员",
        duty_start=duty_start,
        duty_end=duty_start + timedelta(hours=2),
        grid_id=3,
        alert_at=duty_start - timedelta(hours=12),
        **extra,
    )


def test_an_offer_asks_each_candidate_and_tells_the_grid_leader():
    payload = standin("standin_offered", at(26, 19), candidate_ids=[6, 7, 9])
    plan = plan_event("standin_offered", payload, at(24, 10))
    assert [(n.volunteer_id, n.context["audience"]) for n in plan.notices] == [
        (6, "candidate"),
        (7, "candidate"),
        (9, "candidate"),  # the leader fits too: asked like the others
    ]
    assert plan.upsert == [] and plan.cancel == [] and not any(n.urgent for n in plan.notices)
    close = plan_event("standin_offered", standin("standin_offered", at(24, 20), candidate_ids=[6]), at(24, 10))
    assert [n.urgent for n in close.notices] == [True, True]  # the same evening: quiet hours do not hold it
    assert [n.context["audience"] for n in close.notices] == ["candidate", "leader"]


def test_a_taken_offer_tells_both_volunteers_and_the_leader_and_moves_the_duty():
    payload = standin("standin_taken", at(26, 19), taken_by=6, new_signup_id=52)
    plan = plan_event("standin_taken", payload, at(24, 10), LocalState(names={6: "张伟"}))
    assert [(n.volunteer_id, n.context["audience"]) for n in plan.notices] == [
        (5, "volunteer"),
        (6, "taker"),
        (9, "leader"),
    ]
    assert plan.notices[0].context["taker_name"] == "张伟"
    assert plan.cancel == [(5, "signup:41"), (5, "shift:7")]
    [duty] = plan.upsert
    assert (duty.volunteer_id, duty.key, duty.start) == (6, "signup:52", at(26, 19))
    rostered = plan_event(
        "standin_taken", standin("standin_taken", at(26, 19), taken_by=6, new_signup_id=52, rostered=True), at(24, 10)
    )
    assert rostered.upsert[0].key == "shift:7"


def test_an_unfilled_offer_tells_the_organisers_when_they_have_an_address_the_leader_and_the_volunteer():
    payload = standin("standin_unfilled", at(25, 7))
    plan = plan_event("standin_unfilled", payload, at(24, 19), LocalState(organisers=True))
    assert [(n.volunteer_id, n.context["audience"]) for n in plan.notices] == [
        (5, "volunteer"),
        (domain.ORGANISERS_DESK, "organisers"),
        (9, "leader"),
    ]
    assert all(n.urgent for n in plan.notices)
    without = plan_event("standin_unfilled", standin("standin_unfilled", at(25, 7), grid_leader_id=None), at(24, 19))
    assert [n.volunteer_id for n in without.notices] == [5]


# --- appeals ---------------------------------------------------------------------------------

APPEAL = {"appeal_id": 12, "category": "repair", "grid_id": 6, "courtyard": "C01"}


def assigned(**extra) -> dict:
    return event("appeal_assigned", **{**APPEAL, "handler_id": 5, "why": "routed", **extra})


def escalated(level: str, recipient_id: int | None, **extra) -> dict:
    return event(
        "appeal_escalated",
        **APPEAL,
        urgency=extra.pop("urgency", "normal"),
        stage="acknowledge",
        level=level,
        handler_id=extra.pop("handler_id", 5),
        recipient_id=recipient_id,
        deadline=at(24, 11),
        due_at=at(24, 10, 30),
        **extra,
    )


def test_a_new_appeal_goes_to_its_handler_and_with_nobody_to_take_it_to_the_organisers_desk():
    (notice,) = plan_event("appeal_assigned", assigned(), at(24, 9)).notices
    assert (notice.volunteer_id, notice.kind, notice.context["audience"], notice.urgent) == (
        5,
        "appeal_assigned",
        "handler",
        False,
    )
    assert notice.context["category"] == "repair" and "resident_name" not in notice.context
    assert plan_event("appeal_assigned", assigned(urgency="urgent"), at(24, 9)).notices[0].urgent
    nobody = assigned(handler_id=None)
    assert plan_event("appeal_assigned", nobody, at(24, 9)).notices == []
    (desk,) = plan_event("appeal_assigned", nobody, at(24, 9), LocalState(organisers=True)).notices
    assert (desk.volunteer_id, desk.context["audience"]) == (domain.ORGANISERS_DESK, "organisers")


@pytest.mark.parametrize(
    ("level", "recipient_id", "told", "audience"),
    [
        ("handler", 5, 5, "handler"),
        ("grid_leader", 9, 9, "leader"),
        ("community_office", None, domain.ORGANISERS_DESK, "organisers"),
        ("grid_leader", None, domain.ORGANISERS_DESK, "organisers"),  # a grid without a leader
        ("handler", None, domain.ORGANISERS_DESK, "organisers"),  # an appeal nobody handles
    ],
)
def test_each_step_of_the_ladder_goes_to_whom_it_names(level, recipient_id, told, audience):
    payload = escalated(level, recipient_id, handler_id=recipient_id if level == "handler" else 5)
    (notice,) = plan_event("appeal_escalated", payload, at(24, 10, 30), LocalState(organisers=True)).notices
    assert (notice.volunteer_id, notice.context["audience"], notice.context["stage"]) == (told, audience, "acknowledge")
    assert notice.concerns == at(24, 11) and not notice.urgent


def test_without_an_organisers_address_the_office_step_tells_nobody_and_urgent_appeals_are_urgent():
    assert plan_event("appeal_escalated", escalated("community_office", None), at(24, 12)).notices == []
    (notice,) = plan_event("appeal_escalated", escalated("grid_leader", 9, urgency="urgent"), at(24, 11)).notices
    assert notice.urgent
    assert not domain.hold_for_digest(
        Preferences(mode="digest"), notice.kind, notice.urgent, notice.concerns, at(24, 11), DigestSchedule()
    )
