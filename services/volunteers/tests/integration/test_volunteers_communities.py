"""Two communities in one installation: each organiser sees and changes only their own community's
volunteers (``guanyinli.tenancy``), on both databases."""

from __future__ import annotations

import pytest

from guanyinli.errors import CommunityNotFound, NotFound
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import SECOND_COMMUNITY, signed
from volunteers.service import VolunteersService

pytestmark = pytest.mark.integration

HERE = signed({"roles": ["organiser"], "name": "王芳"})
THERE = signed({"roles": ["organiser"], "name": "李红", "community": SECOND_COMMUNITY})


@pytest.fixture
def service(container_factory, two_communities):
    container = container_factory(VolunteersService, two_communities)
    container.start()
    return two_communities


def test_each_community_sees_only_its_own_volunteers(service):
    with ServiceRpcProxy("volunteers", service, context_data=HERE) as here:
        mine = here.create_volunteer(name="张三", phone="13800000001", teams=["voluntary_patrol"], grid_id=5)
    with ServiceRpcProxy("volunteers", service, context_data=THERE) as there:
        theirs = there.create_volunteer(name="赵六", phone="13900000009", teams=["voluntary_patrol"], grid_id=5)
        assert theirs["id"] == mine["id"] == 1, "ids are each community's own"
        assert [v["name"] for v in there.list_volunteers()["items"]] == ["赵六"]
        assert there.get_volunteer(1)["phone"] == "13900000009"
        with pytest.raises(NotFound):
            there.get_volunteer(2)
    with ServiceRpcProxy("volunteers", service, context_data=HERE) as here:
        assert [v["name"] for v in here.list_volunteers()["items"]] == ["张三"]
        assert here.get_volunteer(1)["phone"] == "13800000001"


def test_a_community_the_installation_does_not_serve_is_refused(service):
    elsewhere = signed({"roles": ["organiser"], "community": "nowhere"})
    with ServiceRpcProxy("volunteers", service, context_data=elsewhere) as rpc:
        with pytest.raises(CommunityNotFound):
            rpc.list_volunteers()
