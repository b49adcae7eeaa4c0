"""Stand-ins over RPC: "I can't come", the first who fits takes the duty, organisers hear of an offer
nobody took, and duties let go when a volunteer's availability changes or they leave.

Runs the real activities and volunteers services on both databases over the real broker.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import eventlet
import pytest
from activities_testkit import as_volunteer, at, iso, next_monday
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from test_rostering import evening_patrols, patrol_team, window

from activities import standins
from activities.exceptions import (
    DutyClash,
    OccurrenceClosed,
    StandinClosed,
    StandinTaken,
    VolunteerUnavailable,
    WeeklyCapReached,
)
from conftest import REAL_VOLUNTEERS
from guanyinli.config import normalize_url
from guanyinli.errors import Conflict, Forbidden
from guanyinli.testing import EventLog, event_dispatcher, event_recorder
from guanyinli.timeutil import now

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        REAL_VOLUNTEERS is None,
        reason="stand-ins ask the real volunteers service who is available and who leads a grid",
    ),
]

FAST_TIMER = {"STANDIN": {"INTERVAL": 0.1}}


def helper_duty(organiser, start: datetime, needed: int = 1, title: str = "便民服务站值守") -> dict:
    """A one-off duty of grid 3 with one role (``helper``) of ``needed`` seats; its occurrence."""
    activity = organiser.create_activity(
        title=title,
        kind="convenience",
        grid_id=3,
        courtyard="观音里3号院",
        start=iso(start),
        duration_minutes=120,
        roles=[{"name": "helper", "needed": needed}],
    )
    window = {"start": iso(start - timedelta(hours=1)), "end": iso(start + timedelta(hours=3))}
    return organiser.list_occurrences(**window, activity_id=activity["id"])[0]


def crew(organiser, occurrence_id: int) -> tuple[list[int], list[int]]:
    role = organiser.get_occurrence(occurrence_id=occurrence_id)["roles"][0]
    return role["volunteer_ids"], role["waitlist"]


def outbox_rows(config: dict, event_type: str) -> list[dict]:
    engine = create_engine(normalize_url(config["DB_URIS"]["activities"]))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT payload FROM outbox_events WHERE event_type = :t ORDER BY id"), {"t": event_type}
            )
            return [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in rows]
    finally:
        engine.dispose()


def test_cant_come_then_a_second_volunteer_takes_the_duty(call, organiser, volunteers, services, events):
    for v in (1, 2, 3):
        volunteers.add(v)
    call({"roles": ["organiser"]}, service="volunteers").assign_grid_leader(grid_id=3, volunteer_id=3)
    occ = helper_duty(organiser, at(2, 9))
    first = call(as_volunteer(1))
    signup = first.sign_up(occurrence_id=occ["id"], volunteer_id=1)

    offer = first.cant_come(signup_id=signup["id"], reason="家里老人住院")
    assert (offer["status"], offer["volunteer_id"], offer["role"]) == ("open", 1, "helper")
    assert offer["candidate_ids"] == [2, 3] and offer["reason"] == "家里老人住院"
    assert offer["alert_at"] == iso(at(2, 9) - timedelta(hours=12))
    assert crew(organiser, occ["id"]) == ([1], [])  # still volunteer 1's until someone takes it
    offered = events.wait_for("standin_offered", lambda e: e["offer_id"] == offer["offer_id"])
    assert (offered["candidate_ids"], offered["grid_id"], offered["grid_leader_id"]) == ([2, 3], 3, 3)
    assert "reason" not in offered
    assert first.cant_come(signup_id=signup["id"])["offer_id"] == offer["offer_id"]  # asked again: the same offer

    second = call(as_volunteer(2))
    (listed,) = second.list_standin_offers()
    assert listed["offer_id"] == offer["offer_id"] and listed["reason"] is None and listed["candidate_ids"] is None
    assert first.list_standin_offers() == []  # not the offers they made themselves

    taken = second.accept_standin(offer_id=offer["offer_id"], volunteer_id=2)
    assert (taken["status"], taken["taken_by"]) == ("taken", 2)
    assert crew(organiser, occ["id"]) == ([2], [])
    assert organiser.get_occurrence(occurrence_id=occ["id"])["roles"][0]["confirmed"] == 1
    assert [d["status"] for d in first.list_duties(volunteer_id=1, start=iso(at(2, 0)), end=iso(at(3, 0)))] == []
    (duty,) = second.list_duties(volunteer_id=2, start=iso(at(2, 0)), end=iso(at(3, 0)))
    assert (duty["id"], duty["status"]) == (taken["new_signup_id"], "confirmed")
    event = events.wait_for("standin_taken", lambda e: e["offer_id"] == offer["offer_id"])
    assert (event["volunteer_id"], event["taken_by"], event["new_signup_id"], event["grid_leader_id"]) == (
        1,
        2,
        taken["new_signup_id"],
        3,
    )
    assert second.accept_standin(offer_id=offer["offer_id"], volunteer_id=2) == taken  # asked again: the same
    with pytest.raises(StandinTaken, match="already taken, thank you"):
        call(as_volunteer(3)).accept_standin(offer_id=offer["offer_id"], volunteer_id=3)
    assert organiser.list_standin_offers() == []
    assert events.of("signup_promoted") == [] and len(outbox_rows(services, "standin_taken")) == 1


def test_ten_concurrent_acceptances_give_the_duty_to_exactly_one(call, organiser, volunteers, services, events):
    for v in range(1, 12):
        volunteers.add(v)
    occ = helper_duty(organiser, at(2, 10))
    signup = organiser.sign_up(occurrence_id=occ["id"], volunteer_id=1)
    offer = organiser.cant_come(signup_id=signup["id"])
    assert offer["candidate_ids"] == list(range(2, 12))
    proxies = {v: call(as_volunteer(v)) for v in range(2, 12)}

    def accept(volunteer_id):
        try:
            return proxies[volunteer_id].accept_standin(offer_id=offer["offer_id"], volunteer_id=volunteer_id)
        except StandinTaken as exc:
            return exc

    answers = [t.wait() for t in [eventlet.spawn(accept, v) for v in proxies]]
    won = [a for a in answers if isinstance(a, dict)]
    assert len(won) == 1 and sum(isinstance(a, StandinTaken) for a in answers) == 9, answers
    assert crew(organiser, occ["id"]) == ([won[0]["taken_by"]], [])
    assert organiser.get_occurrence(occurrence_id=occ["id"])["roles"][0]["confirmed"] == 1
    assert [e["taken_by"] for e in events.wait("standin_taken")] == [won[0]["taken_by"]]
    assert len(outbox_rows(services, "standin_taken")) == 1


def test_refused_a_volunteer_who_does_not_fit_another_volunteers_sign_up_and_a_started_duty(
    call, organiser, volunteers, clock
):
    for v in (1, 2, 3, 4):
        volunteers.add(v)
    start = at(2, 14)
    volunteers.set_unavailable(3, iso(start - timedelta(hours=1)), iso(start + timedelta(hours=4)), "回老家")
    occ = helper_duty(organiser, start)
    signup = call(as_volunteer(1)).sign_up(occurrence_id=occ["id"], volunteer_id=1)
    other = helper_duty(organiser, start + timedelta(hours=1), title="垃圾分类宣传")
    call(as_volunteer(4)).sign_up(occurrence_id=other["id"], volunteer_id=4)

    with pytest.raises(Forbidden):
        call(as_volunteer(2)).cant_come(signup_id=signup["id"])
    offer = call(as_volunteer(1)).cant_come(signup_id=signup["id"])
    assert offer["candidate_ids"] == [2]
    with pytest.raises(VolunteerUnavailable, match="回老家"):
        call(as_volunteer(3)).accept_standin(offer_id=offer["offer_id"], volunteer_id=3)
    with pytest.raises(DutyClash):
        call(as_volunteer(4)).accept_standin(offer_id=offer["offer_id"], volunteer_id=4)
    with pytest.raises(Forbidden):
        call(as_volunteer(2)).accept_standin(offer_id=offer["offer_id"], volunteer_id=4)
    with pytest.raises(Conflict, match="withdraw"):
        call(as_volunteer(1)).accept_standin(offer_id=offer["offer_id"], volunteer_id=1)
    assert crew(organiser, occ["id"]) == ([1], [])

    with pytest.raises(Forbidden):
        call(as_volunteer(2)).withdraw_standin(offer_id=offer["offer_id"])
    withdrawn = call(as_volunteer(1)).withdraw_standin(offer_id=offer["offer_id"])
    assert withdrawn["status"] == "withdrawn" and crew(organiser, occ["id"]) == ([1], [])
    with pytest.raises(StandinClosed, match="withdrawn"):
        call(as_volunteer(2)).accept_standin(offer_id=offer["offer_id"], volunteer_id=2)

    again = call(as_volunteer(1)).cant_come(signup_id=signup["id"])
    assert again["offer_id"] != offer["offer_id"]
    clock.set(start + timedelta(minutes=5))  # the duty has started
    with pytest.raises(StandinClosed, match="started"):
        call(as_volunteer(2)).accept_standin(offer_id=again["offer_id"], volunteer_id=2)
    call(as_volunteer(1)).withdraw_standin(offer_id=again["offer_id"])
    with pytest.raises(OccurrenceClosed, match="started"):
        call(as_volunteer(1)).cant_come(signup_id=signup["id"])
    assert organiser.list_standin_offers() == []


def test_a_volunteer_at_their_own_weekly_cap_is_no_stand_in_that_week(call, organiser, volunteers):
    for v in (1, 2, 3):
        volunteers.add(v)
    call(as_volunteer(2), service="volunteers").update_volunteer(volunteer_id=2, max_duties_per_week=1)
    week = next_monday()
    occ = helper_duty(organiser, week + timedelta(days=1, hours=9))
    signup = call(as_volunteer(1)).sign_up(occurrence_id=occ["id"], volunteer_id=1)
    theirs = helper_duty(organiser, week + timedelta(days=3, hours=9), title="垃圾分类宣传")
    call(as_volunteer(2)).sign_up(occurrence_id=theirs["id"], volunteer_id=2)

    offer = call(as_volunteer(1)).cant_come(signup_id=signup["id"])
    assert offer["candidate_ids"] == [3]
    with pytest.raises(WeeklyCapReached, match="at most 1 a week"):
        call(as_volunteer(2)).accept_standin(offer_id=offer["offer_id"], volunteer_id=2)
    taken = call(as_volunteer(3)).accept_standin(offer_id=offer["offer_id"], volunteer_id=3)
    assert taken["status"] == "taken" and crew(organiser, occ["id"]) == ([3], [])


@pytest.mark.service_config(**FAST_TIMER)
def test_the_unfilled_alert_fires_once_at_its_time_and_the_offer_may_still_be_taken(
    call, organiser, volunteers, services, events, clock
):
    for v in (1, 2):
        volunteers.add(v)
    call({"roles": ["organiser"]}, service="volunteers").assign_grid_leader(grid_id=3, volunteer_id=2)
    occ = helper_duty(organiser, at(2, 9))
    signup = organiser.sign_up(occurrence_id=occ["id"], volunteer_id=1)
    offer = organiser.cant_come(signup_id=signup["id"])
    alert_at = datetime.fromisoformat(offer["alert_at"])
    assert alert_at == at(2, 9) - timedelta(hours=12)
    assert organiser.list_standin_offers()[0]["status"] == "open"  # the timer ran at today's clock

    clock.set(alert_at + timedelta(minutes=1))
    (alert,) = events.wait("standin_unfilled")
    assert (alert["offer_id"], alert["volunteer_id"], alert["grid_leader_id"]) == (offer["offer_id"], 1, 2)
    # Another replica's turn, or this one's after a restart: the guarded change finds nothing more.
    engine = create_engine(normalize_url(services["DB_URIS"]["activities"]))
    with Session(engine) as session, session.begin():
        assert standins.alert_due(session, clock() + timedelta(hours=1)) == []
    engine.dispose()
    assert len(outbox_rows(services, "standin_unfilled")) == 1
    (listed,) = organiser.list_standin_offers()
    assert listed["status"] == "unfilled" and listed["alerted_at"] is not None

    taken = call(as_volunteer(2)).accept_standin(offer_id=offer["offer_id"], volunteer_id=2)
    assert taken["status"] == "taken" and crew(organiser, occ["id"]) == ([2], [])


@pytest.mark.service_config(**FAST_TIMER)
def test_an_offer_made_after_its_alert_time_alerts_at_once(organiser, volunteers, events):
    for v in (1, 2):
        volunteers.add(v)
    soon = now().replace(second=0, microsecond=0) + timedelta(hours=3)
    occ = helper_duty(organiser, soon)
    signup = organiser.sign_up(occurrence_id=occ["id"], volunteer_id=1)
    offer = organiser.cant_come(signup_id=signup["id"])
    assert datetime.fromisoformat(offer["alert_at"]) <= now()
    assert events.wait_for("standin_unfilled", lambda e: e["offer_id"] == offer["offer_id"])


def test_availability_changed_cancels_a_duty_that_no_longer_fits_and_offers_one_too_close_to_cancel(
    call, organiser, volunteers, events
):
    for v in (1, 2, 3):
        volunteers.add(v)
    later = helper_duty(organiser, at(3, 9))
    soon = helper_duty(organiser, now().replace(second=0, microsecond=0) + timedelta(hours=6), title="社区巡查")
    mine = call(as_volunteer(1)).sign_up(occurrence_id=later["id"], volunteer_id=1)
    waiting = call(as_volunteer(2)).sign_up(occurrence_id=later["id"], volunteer_id=2)
    assert waiting["status"] == "waitlisted"
    close = call(as_volunteer(1)).sign_up(occurrence_id=soon["id"], volunteer_id=1)

    volunteers.set_unavailable(1, iso(now()), iso(at(5, 0)), "骨折休养")

    cancelled = events.wait_for("signup_cancelled", lambda e: e["signup_id"] == mine["id"])
    assert cancelled["volunteer_id"] == 1
    promoted = events.wait_for("signup_promoted", lambda e: e["signup_id"] == waiting["id"])
    assert promoted["status"] == "confirmed"
    assert crew(organiser, later["id"]) == ([2], [])
    offered = events.wait_for("standin_offered", lambda e: e["signup_id"] == close["id"])
    assert offered["volunteer_id"] == 1 and offered["candidate_ids"] == [2, 3]
    assert crew(organiser, soon["id"]) == ([1], [])  # within 24 h: still theirs until someone takes it
    assert [e["signup_id"] for e in events.of("signup_cancelled")] == [mine["id"]]


@pytest.mark.service_config(max_workers=1)  # the handler takes events one at a time, in the queue's order
def test_volunteer_deactivated_offers_a_rostered_patrol_and_a_redelivery_changes_nothing(
    call, organiser, services, container_factory, events
):
    volunteer_events = EventLog()
    container_factory(event_recorder("volunteers", volunteer_events), services).start()
    team = patrol_team(call, grid=1, leaders=2, others=3)
    evening_patrols(organiser, grid=1, days=2)
    draft = organiser.build_roster(**window(2), grids=[1], options={"time_limit": 5})
    roster = organiser.publish_roster(roster_id=draft["id"])
    shifts: dict[int, set[str]] = {}
    for a in roster["assignments"]:
        shifts.setdefault(a["volunteer_id"], set()).add(a["shift_id"])
    leaving, later = sorted(shifts)[:2]
    directory = call({"roles": ["organiser"]}, service="volunteers")

    directory.deactivate_volunteer(volunteer_id=leaving, reason="搬离社区")
    offered = events.wait("standin_offered", count=len(shifts[leaving]))
    assert {str(e["occurrence_id"]) for e in offered} == shifts[leaving]
    assert all(e["volunteer_id"] == leaving and e["rostered"] for e in offered)
    assert all(leaving not in e["candidate_ids"] and set(e["candidate_ids"]) <= set(team) for e in offered)
    duties = organiser.list_duties(volunteer_id=leaving, **window(2))
    assert {str(d["occurrence_id"]) for d in duties if d["status"] == "confirmed"} == shifts[leaving]

    # A candidate takes one: the patrol changes hands in the published roster too.
    first = offered[0]
    taker = first["candidate_ids"][0]
    organiser.accept_standin(offer_id=first["offer_id"], volunteer_id=taker)
    after = organiser.get_roster(roster_id=roster["id"])
    shift = str(first["occurrence_id"])
    assert (shift, taker) in {(a["shift_id"], a["volunteer_id"]) for a in after["assignments"]}
    assert (shift, leaving) not in {(a["shift_id"], a["volunteer_id"]) for a in after["assignments"]}
    assert len(after["assignments"]) == len(roster["assignments"])
    (duty,) = [d for d in organiser.list_duties(volunteer_id=taker, **window(2)) if str(d["occurrence_id"]) == shift]
    assert (duty["status"], duty["source"]) == ("confirmed", "roster")

    for offer in organiser.list_standin_offers():
        organiser.withdraw_standin(offer_id=offer["offer_id"])
    (deactivated,) = volunteer_events.wait("volunteer_deactivated")
    event_dispatcher(services)("volunteers", "volunteer_deactivated", deactivated)  # the broker delivers it again
    directory.deactivate_volunteer(volunteer_id=later, reason="工作调动")  # queued after the redelivery

    events.wait_for("standin_offered", lambda e: e["volunteer_id"] == later)
    assert [o for o in organiser.list_standin_offers() if o["volunteer_id"] == leaving] == []
    assert len([e for e in events.of("standin_offered") if e["volunteer_id"] == leaving]) == len(shifts[leaving])
