"""Two communities in one appeals service (``guanyinli.tenancy``), on both databases with the real
broker: each community's organisers see only its appeals, and the escalation timer goes through
both communities, each step fired once in each, to that community's people, as that community's
event, although both use the same ids (appeal 1, volunteers 1 and 2, grid 6)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

import pytest
from nameko.extensions import DependencyProvider
from nameko.testing.services import replace_dependencies

from appeals.exceptions import AppealNotFound
from appeals.service import AppealsService
from guanyinli import tenancy
from guanyinli.rpc import ServiceRpcProxy, event_handler
from guanyinli.testing import SECOND_COMMUNITY, EventLog, signed
from guanyinli.timeutil import TZ
from volunteers.service import VolunteersService

pytestmark = pytest.mark.integration

COMMUNITIES = (tenancy.DEFAULT, SECOND_COMMUNITY)
T0 = datetime(2030, 3, 4, 9, 0, tzinfo=TZ)  # a Monday: a normal repair is to be accepted by 11:00
RESIDENT = {"resident_name": "李桂兰", "resident_phone": "13911112222", "resident_address": "1号院3号楼302"}


class MovedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    now = __call__


class CommunityOfWorker(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return tenancy.community_of(worker_ctx)


ESCALATIONS = EventLog()


class EscalationRecorder:
    """Records each ``appeal_escalated`` with the community its emitter's token names."""

    name = "escalation_recorder"
    community = CommunityOfWorker()

    @event_handler("appeals", "appeal_escalated")
    def on_escalated(self, payload):
        ESCALATIONS.received.append(("appeal_escalated", {**payload, "community": self.community}))


@pytest.fixture
def config(two_communities):
    return {**two_communities, "APPEALS": {"ESCALATION_INTERVAL": 0.05}}


@pytest.fixture
def clock():
    return MovedClock(T0)


@pytest.fixture
def started(container_factory, config, clock):
    ESCALATIONS.clear()
    container_factory(VolunteersService, config).start()
    appeals = container_factory(AppealsService, config)
    replace_dependencies(appeals, clock=clock)
    appeals.start()
    container_factory(EscalationRecorder, config).start()
    yield
    ESCALATIONS.clear()


@pytest.fixture
def organisers(config, started):
    """``organisers(service)[slug]``: that service as the organiser of each community."""
    with contextlib.ExitStack() as stack:

        def open_for(service: str) -> dict:
            return {
                slug: stack.enter_context(
                    ServiceRpcProxy(
                        service,
                        config,
                        timeout=30,
                        context_data=signed({"roles": ["organiser"], "community": slug}),
                    )
                )
                for slug in COMMUNITIES
            }

        yield open_for


def steps_of(slug: str) -> set[tuple]:
    return {
        (e["appeal_id"], e["stage"], e["level"], e["recipient_id"])
        for e in ESCALATIONS.of("appeal_escalated")
        if e["community"] == slug
    }


def test_each_community_sees_its_own_appeals_and_escalation_runs_in_both(organisers, clock):
    volunteers, appeals = organisers("volunteers"), organisers("appeals")
    people = {}
    for slug in COMMUNITIES:
        leader, member = (
            volunteers[slug].create_volunteer(
                name=f"{slug}{n}", phone=f"137{n:08d}", teams=["voluntary_patrol"], grid_id=6
            )["id"]
            for n in (1, 2)
        )
        volunteers[slug].assign_grid_leader(6, leader)
        volunteers[slug].add_grid_member(6, member)
        people[slug] = (leader, member)
    assert people[tenancy.DEFAULT] == people[SECOND_COMMUNITY] == (1, 2), "ids are each community's own"

    theirs = appeals[SECOND_COMMUNITY].receive_appeal(
        category="repair",
        grid_id=6,
        courtyard="C05",  # wutaishan's own courtyard in its grid 6
        description="楼道水管漏水",
        **RESIDENT,
    )
    assert theirs["handler_id"] == 2
    assert appeals[tenancy.DEFAULT].list_appeals() == []
    with pytest.raises(AppealNotFound):
        appeals[tenancy.DEFAULT].get_appeal(theirs["id"])
    mine = appeals[tenancy.DEFAULT].receive_appeal(
        category="repair", grid_id=6, courtyard="C01", description="路灯不亮", **RESIDENT
    )
    assert mine["id"] == theirs["id"] == 1
    for slug, words in ((tenancy.DEFAULT, "路灯不亮"), (SECOND_COMMUNITY, "楼道水管漏水")):
        assert [a["description"] for a in appeals[slug].list_appeals()] == [words]

    clock.at = T0 + timedelta(hours=2)  # the handler at 10:30, the grid leader at 11:00
    ESCALATIONS.wait("appeal_escalated", 4)
    for slug in COMMUNITIES:
        assert steps_of(slug) == {(1, "acknowledge", "handler", 2), (1, "acknowledge", "grid_leader", 1)}, slug
        shown = appeals[slug].get_appeal(1)["escalations"]
        assert sorted(e["level"] for e in shown) == ["grid_leader", "handler"], slug
    assert len(ESCALATIONS.received) == 4, "each step once in each community"
