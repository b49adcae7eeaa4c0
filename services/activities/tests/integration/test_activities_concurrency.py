"""Hundreds of sign-ups at once, from several client processes, on two replicas of the service.

The role has 5 seats: exactly 5 are confirmed, the rest waitlisted with positions 1..N in the
order the database took them, no request is lost and no volunteer is booked twice; repeating
every request changes nothing; cancellations promote the head of the waitlist.
"""

from pathlib import Path

import pytest
from activities_testkit import ORGANISER, at, iso

from activities.loadtest import ServiceProcesses, audit, consumers, fire
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed

pytestmark = pytest.mark.integration

VOLUNTEERS = list(range(1001, 1301))  # 300 volunteers
SEATS = 5
CLIENTS = 4


@pytest.fixture
def replicas(service_config):
    """Two `nameko run` replicas of activities and the volunteers stand-in, in their own processes."""
    config = {
        "AMQP_URI": service_config["AMQP_URI"],
        "DB_URIS": {"activities": service_config["DB_URIS"]["activities"]},
        "serializer": "json",
        "max_workers": 10,
        "STANDIN_ANY_VOLUNTEER": True,
        "VOLUNTEERS_RPC_TIMEOUT": 120,
        "LOGGING": {"version": 1, "root": {"level": "WARNING"}},
    }
    specs = [("activities.service", "activities", 2), ("standin_volunteers", "volunteers", 1)]
    with ServiceProcesses(config, specs, extra_path=[Path(__file__).parent]):
        yield config


def test_concurrent_signups_from_several_processes_never_overbook(replicas):
    assert consumers(replicas["AMQP_URI"], "rpc-activities") == 2
    with ServiceRpcProxy("activities", replicas, context_data=signed(ORGANISER), timeout=60) as organiser:
        organiser.create_activity(
            title="第一网格夜巡",
            kind="patrol",
            grid_id=1,
            start=iso(at(3, 19)),
            duration_minutes=120,
            roles=[{"name": "patroller", "needed": SEATS}],
        )
        occ = organiser.list_occurrences(start=iso(at(3, 0)), end=iso(at(4, 0)))[0]

        answers, _ = fire(replicas["AMQP_URI"], occ["id"], VOLUNTEERS, processes=CLIENTS)
        report = audit(replicas["DB_URIS"]["activities"], occ["id"], answers, SEATS)
        waiting = len(VOLUNTEERS) - SEATS
        assert report["errors"] == []
        assert (report["confirmed"], report["counter"], report["waitlisted"]) == (SEATS, SEATS, waiting)
        assert (report["lost"], report["duplicates"]) == (0, 0)
        assert report["waitlist_in_order"] and report["answers_match_database"]
        assert report["positions"] == list(range(1, waiting + 1))

        # Every request again, just as concurrently: the same answers, nothing new in the database.
        replay, _ = fire(replicas["AMQP_URI"], occ["id"], VOLUNTEERS, processes=CLIENTS)
        key = lambda a: a["volunteer_id"]  # noqa: E731
        timeless = lambda found: sorted(({k: v for k, v in a.items() if k != "seconds"} for a in found), key=key)  # noqa: E731
        assert timeless(replay) == timeless(answers)
        assert audit(replicas["DB_URIS"]["activities"], occ["id"], replay, SEATS) == report

        # Two confirmed volunteers drop out: the first two in the queue take their seats.
        view = organiser.get_occurrence(occurrence_id=occ["id"])["roles"][0]
        queue = view["waitlist"]
        by_volunteer = {a["volunteer_id"]: a for a in answers}
        for volunteer_id in view["volunteer_ids"][:2]:
            organiser.cancel_sign_up(signup_id=by_volunteer[volunteer_id]["signup_id"])
        after = organiser.get_occurrence(occurrence_id=occ["id"])["roles"][0]
        assert after["confirmed"] == SEATS and after["volunteer_ids"][-2:] == queue[:2]
        assert after["waitlist"] == queue[2:]
