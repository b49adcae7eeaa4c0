"""What a volunteer's phone page reads with the real volunteers service: cancelling their own
duties before the deadline."""

import os
from datetime import timedelta

import pytest
from activities_testkit import as_volunteer, at, iso

from activities.exceptions import TooLateToCancel

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("ACTIVITIES_TEST_VOLUNTEERS") == "standin",
        reason="these run with the real volunteers service (its availability, grid leaders and ledger)",
    ),
]
pytest.importorskip("volunteers.service")

ME, OTHER, THIRD = 1, 2, 3


def occurrence(organiser, title, kind, start, minutes=120, **fields) -> dict:
    """A one-off activity's only occurrence."""
    activity = organiser.create_activity(title=title, kind=kind, start=iso(start), duration_minutes=minutes, **fields)
    (occ,) = organiser.list_occurrences(
        start=iso(start - timedelta(days=1)), end=iso(start + timedelta(days=1)), activity_id=activity["id"]
    )
    return occ


def test_a_volunteer_cancels_until_the_deadline_then_only_an_organiser_does(organiser, call, volunteers, clock):
    for vid in (ME, OTHER, THIRD):
        volunteers.add(vid)
    start = at(3, 19)
    patrol = occurrence(
        organiser, "夜巡", "patrol", start, grid_id=4, roles=[{"name": "patroller", "needed": 2, "skills": []}]
    )
    mine, other, waiting = (
        call(as_volunteer(v)).sign_up(occurrence_id=patrol["id"], volunteer_id=v) for v in (ME, OTHER, THIRD)
    )
    assert waiting["status"] == "waitlisted"
    deadline = start - timedelta(hours=24)  # patrols: 24 hours (CANCEL_DEADLINES)
    duties = call(as_volunteer(ME)).list_duties(volunteer_id=ME, start=iso(at(0, 0)), end=iso(at(7, 0)))
    assert duties[0]["cancel_until"] == iso(deadline)
    queued = call(as_volunteer(THIRD)).list_duties(
        volunteer_id=THIRD, start=iso(at(0, 0)), end=iso(at(7, 0)), include_waitlisted=True
    )
    assert (queued[0]["status"], queued[0]["cancel_until"], queued[0]["waitlist_position"]) == ("waitlisted", None, 1)

    clock.set(deadline + timedelta(minutes=1))
    with pytest.raises(TooLateToCancel) as refused:
        call(as_volunteer(ME)).cancel_sign_up(signup_id=mine["id"])
    assert str(refused.value).startswith(f"cancel deadline {iso(deadline)} has passed")
    assert "I can't come" in str(refused.value)
    assert organiser.get_occurrence(occurrence_id=patrol["id"])["roles"][0]["volunteer_ids"] == [ME, OTHER]
    # A waitlist place is left at any time; an organiser cancels a duty at any time.
    assert call(as_volunteer(THIRD)).cancel_sign_up(signup_id=waiting["id"])["status"] == "cancelled"
    assert organiser.cancel_sign_up(signup_id=mine["id"])["status"] == "cancelled"

    clock.set(deadline)  # up to the deadline itself, the volunteer cancels
    assert call(as_volunteer(OTHER)).cancel_sign_up(signup_id=other["id"])["status"] == "cancelled"
    assert organiser.get_occurrence(occurrence_id=patrol["id"])["roles"][0]["volunteer_ids"] == []


@pytest.mark.service_config(CANCEL_DEADLINES="lecture:2 other:48")
def test_the_deadline_follows_the_kind_as_configured(organiser, call, volunteers, clock):
    volunteers.add(ME)
    lecture = occurrence(organiser, "立德树人讲堂", "lecture", at(3, 19), capacity=80, room="社区讲堂")
    fair = occurrence(organiser, "侨乡文化节", "cultural", at(3, 9), courtyard="观音里2号院")
    me = call(as_volunteer(ME))
    setup = me.sign_up(occurrence_id=lecture["id"], volunteer_id=ME, role="setup")
    helper = me.sign_up(occurrence_id=fair["id"], volunteer_id=ME)
    setup_start = at(3, 18)  # the setup duty starts an hour before the lecture
    duties = {d["id"]: d for d in me.list_duties(volunteer_id=ME, start=iso(at(0, 0)), end=iso(at(7, 0)))}
    assert duties[setup["id"]]["cancel_until"] == iso(setup_start - timedelta(hours=2))
    assert duties[helper["id"]]["cancel_until"] == iso(at(3, 9) - timedelta(hours=48))
    clock.set(setup_start - timedelta(hours=3))
    with pytest.raises(TooLateToCancel):
        me.cancel_sign_up(signup_id=helper["id"])
    assert me.cancel_sign_up(signup_id=setup["id"])["status"] == "cancelled"


def test_the_service_does_not_start_with_deadlines_it_cannot_read(container_factory, service_config):
    from activities.service import ActivitiesService

    container = container_factory(ActivitiesService, {**service_config, "CANCEL_DEADLINES": "patrol:forever"})
    with pytest.raises(ValueError, match="CANCEL_DEADLINES: patrol: 'forever'"):
        container.start()
