"""Two communities in one notifications service (``guanyinli.tenancy``), on both databases with real
SMTP: each community's events plan messages in its own storage, and the poller sends each
community's once each, to that community's volunteer, although the two use the same ids (volunteer
5, sign-up 41), through the same sender lanes and SMTP connections."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import replace_dependencies
from notifications_testkit import local, signup, wait_for
from sqlalchemy import create_engine, text

from guanyinli import tenancy
from guanyinli.config import normalize_url
from guanyinli.events import make_payload
from guanyinli.identity import CONTEXT_KEY, service_token
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import SECOND_COMMUNITY, signed
from notifications.service import NotificationsService

pytestmark = pytest.mark.integration

# The same volunteer ids in both communities, each with an address of their own community.
PEOPLE = {
    tenancy.DEFAULT: {5: ("王芳", "wangfang@guanyinli.example"), 6: ("李明", "liming@guanyinli.example")},
    SECOND_COMMUNITY: {5: ("赵六", "zhaoliu@wutaishan.example"), 6: ("钱七", "qianqi@wutaishan.example")},
}
START = local(26, 19)


@pytest.fixture
def config(config, two_communities):
    return {**config, tenancy.SETTING: two_communities[tenancy.SETTING]}


@pytest.fixture
def service(container_factory, config, clock):
    container = container_factory(NotificationsService, config)
    replace_dependencies(container, clock=clock)
    container.start()
    return container


class Community:
    """Events as the other services of one community emit them, and that community's tables."""

    def __init__(self, config: dict, slug: str, url: str):
        self.slug = slug
        token = service_token("activities", config, slug)
        self._activities = event_dispatcher(config, headers={f"nameko.{CONTEXT_KEY}": token})
        token = service_token("volunteers", config, slug)
        self._volunteers = event_dispatcher(config, headers={f"nameko.{CONTEXT_KEY}": token})
        self._schema = tenancy.schema(slug, config)
        self.engine = create_engine(tenancy.storage_url(normalize_url(url), slug, config))

    def volunteer(self, volunteer_id: int, name: str, email: str) -> None:
        payload = {
            "volunteer_id": volunteer_id,
            "name": name,
            "email": email,
            "teams": ["voluntary_patrol"],
            "grid_id": 3,
            "active": True,
        }
        self._volunteers("volunteers", "volunteer_created", make_payload("volunteer_created", payload))

    def activities(self, event_type: str, **payload) -> None:
        self._activities("activities", event_type, make_payload(event_type, payload))

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            tenancy.set_search_path(conn, self._schema, local=False)
            return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


@pytest.fixture
def communities(config, db_urls, service):
    made = {slug: Community(config, slug, db_urls["notifications"]) for slug in PEOPLE}
    yield made
    for community in made.values():
        community.engine.dispose()


def organiser(config, slug):
    context = signed({"roles": ["organiser"], "community": None if slug == tenancy.DEFAULT else slug})
    return ServiceRpcProxy("notifications", config, timeout=30, context_data=context)


def test_each_communitys_messages_and_reminders_go_once_each_to_its_own_volunteer(communities, config, clock, smtp):
    for slug, community in communities.items():
        for volunteer_id, (name, email) in PEOPLE[slug].items():
            community.volunteer(volunteer_id, name, email)
    for community in communities.values():
        wait_for(lambda c=community: c.count("contacts") == 2, message=f"{community.slug}'s contacts cached")
    for community in communities.values():  # the same sign-up ids: the same source ids in both
        community.activities("signup_confirmed", **signup(5, START, signup_id=41))
        community.activities("signup_confirmed", **signup(6, START, signup_id=42))

    wait_for(lambda: len(smtp.messages) == 4, message="four confirmations")
    clock.set(START - timedelta(hours=24))
    wait_for(lambda: len(smtp.messages) == 8, message="four 24 h reminders")
    time.sleep(0.5)  # ten polls more: nothing is sent twice
    assert len(smtp.messages) == 8
    message_ids = set()
    for slug in PEOPLE:
        for name, email in PEOPLE[slug].values():
            received = smtp.to(email)
            assert [m["Subject"][:4] for m in received] == ["报名成功", "明天提醒"], (email, received)
            assert all(f"{name}，您好" in m.get_content() for m in received)
            message_ids |= {m["Message-ID"] for m in received}
    assert len(message_ids) == 8, "a receiver must not take one community's message for a copy of another's"

    for slug in PEOPLE:
        with organiser(config, slug) as rpc:
            shown = rpc.list_notifications(5)
            assert [n["kind"] for n in shown] == ["reminder_24h", "signup_confirmed"]
            sent = {m["Message-ID"] for m in smtp.to(PEOPLE[slug][5][1])}
            assert {n["deliveries"][0]["message_id"] for n in shown} == sent
            assert {n["deliveries"][0]["status"] for n in shown} == {"sent"}
