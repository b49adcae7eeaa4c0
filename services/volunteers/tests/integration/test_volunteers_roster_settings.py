"""A volunteer's roster settings over RPC: weekly cap, target a month, preferred days and times,
partners; who may set which, who sees them, and refusals that write nothing."""

import pytest
from volunteers_testkit import patrol_volunteer

from guanyinli.errors import Forbidden, InvalidInput
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed
from volunteers.exceptions import PartnerInvalid

pytestmark = pytest.mark.integration

UNSET = {
    "max_duties_per_week": None,
    "target_per_month": None,
    "preferred_days": [],
    "preferred_times": [],
    "partners": [],
}


def settings(view: dict) -> dict:
    return {k: view[k] for k in UNSET}


@pytest.fixture
def as_volunteer(container, service_config):
    """``as_volunteer(id)``: a proxy calling as that volunteer."""
    proxies = []

    def open_proxy(volunteer_id: int):
        proxy = ServiceRpcProxy("volunteers", service_config, context_data=signed({"volunteer_id": volunteer_id}))
        proxies.append(proxy)
        return proxy.start()

    yield open_proxy
    for proxy in proxies:
        proxy.stop()


def test_an_organiser_sets_them_and_the_event_names_them(rpc, events):
    a, b, c = (rpc.create_volunteer(**patrol_volunteer(n)) for n in (1, 2, 3))
    assert settings(a) == UNSET
    updated = rpc.update_volunteer(
        a["id"],
        max_duties_per_week=2,
        target_per_month=8,
        preferred_days=[4, 1, 4],
        preferred_times=["evening", "morning"],
        partners=[c["id"], b["id"]],
    )
    expected = {
        "max_duties_per_week": 2,
        "target_per_month": 8,
        "preferred_days": [1, 4],
        "preferred_times": ["morning", "evening"],
        "partners": [b["id"], c["id"]],
    }
    assert settings(updated) == expected
    assert settings(rpc.get_volunteer(a["id"])) == expected
    listed = {v["id"]: v for v in rpc.list_volunteers(team="voluntary_patrol")["items"]}
    assert settings(listed[a["id"]]) == expected and settings(listed[b["id"]]) == UNSET
    (event,) = events.wait("volunteer_updated")
    assert event["volunteer_id"] == a["id"]
    assert event["changed"] == sorted(expected)
    # the same again changes nothing and says nothing; emptying them does
    rpc.update_volunteer(a["id"], preferred_days=[1, 4], partners=[b["id"], c["id"]], max_duties_per_week=2)
    cleared = rpc.update_volunteer(
        a["id"], clear=["max_duties_per_week", "target_per_month"], preferred_days=[], preferred_times=[], partners=[]
    )
    assert settings(cleared) == UNSET
    assert [e["changed"] for e in events.wait("volunteer_updated", 2)][1] == sorted(expected)
    assert len([t for t, _ in events.settle(0.2) if t == "volunteer_updated"]) == 2


def test_a_volunteer_sets_their_own_cap_days_times_and_partners(rpc, as_volunteer, events, unchanged):
    me, other = (rpc.create_volunteer(**patrol_volunteer(n)) for n in (1, 2))
    mine = as_volunteer(me["id"])
    updated = mine.update_volunteer(
        volunteer_id=me["id"],
        max_duties_per_week=1,
        preferred_days=[5, 6],
        preferred_times=["morning"],
        partners=[other["id"]],
    )
    assert settings(updated) == {
        "max_duties_per_week": 1,
        "target_per_month": None,
        "preferred_days": [5, 6],
        "preferred_times": ["morning"],
        "partners": [other["id"]],
    }
    (event,) = events.wait("volunteer_updated")
    assert event["changed"] == ["max_duties_per_week", "partners", "preferred_days", "preferred_times"]
    assert (
        settings(mine.update_volunteer(volunteer_id=me["id"], clear=["max_duties_per_week"]))["max_duties_per_week"]
        is None
    )
    with unchanged():
        with pytest.raises(Forbidden, match="^target_per_month: changed by organisers only"):
            mine.update_volunteer(volunteer_id=me["id"], target_per_month=20)
        with pytest.raises(Forbidden, match="^target_per_month: changed by organisers only"):
            mine.update_volunteer(volunteer_id=me["id"], clear=["target_per_month"])
        with pytest.raises(Forbidden, match="acts only for themselves"):
            mine.update_volunteer(volunteer_id=other["id"], max_duties_per_week=14)
        with pytest.raises(Forbidden):
            mine.update_volunteer(volunteer_id=other["id"], partners=[me["id"]])


def test_other_volunteers_do_not_see_them_the_volunteer_does(rpc, as_volunteer):
    me, other = (rpc.create_volunteer(**patrol_volunteer(n, grid_id=n)) for n in (1, 2))
    rpc.update_volunteer(me["id"], max_duties_per_week=3, preferred_days=[0], partners=[other["id"]])
    seen = as_volunteer(other["id"]).get_volunteer(volunteer_id=me["id"])
    assert settings(seen) == dict.fromkeys(UNSET) and seen["phone"] is None and seen["name"] == me["name"]
    own = as_volunteer(me["id"]).get_volunteer(volunteer_id=me["id"])
    assert (own["max_duties_per_week"], own["preferred_days"], own["partners"]) == (3, [0], [other["id"]])


def test_bad_settings_are_refused_with_typed_errors_and_write_nothing(rpc, as_volunteer, events, unchanged):
    me, gone = (rpc.create_volunteer(**patrol_volunteer(n)) for n in (1, 2))
    rpc.deactivate_volunteer(gone["id"])
    events.wait("volunteer_deactivated")
    mine = as_volunteer(me["id"])
    with unchanged():
        with pytest.raises(InvalidInput, match="^max_duties_per_week: Must be greater than or equal to 1"):
            mine.update_volunteer(volunteer_id=me["id"], max_duties_per_week=0)
        with pytest.raises(InvalidInput, match="^preferred_times.0: Must be one of"):
            mine.update_volunteer(volunteer_id=me["id"], preferred_times=["midnight"])
        with pytest.raises(PartnerInvalid, match="^partners.0: a volunteer is not their own partner$"):
            mine.update_volunteer(volunteer_id=me["id"], partners=[me["id"]])
        with pytest.raises(PartnerInvalid, match="^partners.0: no volunteer 999$"):
            rpc.update_volunteer(me["id"], partners=[999], max_duties_per_week=2)
        with pytest.raises(PartnerInvalid, match=rf"^partners.0: volunteer {gone['id']} is deactivated$"):
            rpc.update_volunteer(me["id"], partners=[gone["id"]])
        with pytest.raises(InvalidInput, match="^partners: Longer than maximum length 3"):
            rpc.update_volunteer(me["id"], partners=[2, 3, 4, 5])
    assert [t for t, _ in events.settle(0.1)] == ["volunteer_created", "volunteer_created", "volunteer_deactivated"]


def test_a_deactivated_volunteer_is_nobodys_partner_any_more(rpc, events):
    a, b, c = (rpc.create_volunteer(**patrol_volunteer(n)) for n in (1, 2, 3))
    rpc.update_volunteer(a["id"], partners=[b["id"], c["id"]])
    rpc.update_volunteer(c["id"], partners=[b["id"]])
    rpc.update_volunteer(b["id"], partners=[a["id"]])
    events.wait("volunteer_updated", 3)
    rpc.deactivate_volunteer(b["id"], reason="moved away")
    assert rpc.get_volunteer(a["id"])["partners"] == [c["id"]]
    assert rpc.get_volunteer(c["id"])["partners"] == []
    assert rpc.get_volunteer(b["id"])["partners"] == [a["id"]]  # their own list is kept with their record
    updates = events.wait("volunteer_updated", 5)[3:]
    assert sorted((e["volunteer_id"], tuple(e["changed"])) for e in updates) == [
        (a["id"], ("partners",)),
        (c["id"], ("partners",)),
    ]


def test_naming_each_other_and_deactivating_at_once_leaves_no_inactive_partner(rpc):
    """Pairs naming each other while one of them is deactivated, all at once: each call either holds or
    is refused for the deactivation (never a deadlock or another error), and no active volunteer is left
    with a deactivated partner."""
    pairs = [
        (
            rpc.create_volunteer(**patrol_volunteer(2 * n))["id"],
            rpc.create_volunteer(**patrol_volunteer(2 * n + 1))["id"],
        )
        for n in range(8)
    ]
    pending = []
    for i, (a, b) in enumerate(pairs):
        pending.append(rpc.update_volunteer.call_async(a, partners=[b]))
        pending.append(rpc.update_volunteer.call_async(b, partners=[a]))
        if i % 2 == 0:
            pending.append(rpc.deactivate_volunteer.call_async(b))
    refused = 0
    for reply in pending:
        try:
            reply.result()
        except PartnerInvalid as exc:
            assert "is deactivated" in str(exc)
            refused += 1
    people = {v["id"]: v for v in rpc.list_volunteers(limit=100)["items"]}
    for person in people.values():
        if person["active"]:
            assert all(people[p]["active"] for p in person["partners"]), person
    for a, b in pairs[1::2]:
        assert (people[a]["partners"], people[b]["partners"]) == ([b], [a])
