"""Two communities in one installation (``guanyinli.tenancy``): each organiser sees only their own
community's activities and sign-ups; a feed of wutaishan is served under ``/c/wutaishan/`` and
nowhere else; grid N's feed is each community's own; the stand-in timer goes through both.

Runs the real activities and volunteers services on both databases over the real broker.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

import eventlet
import pytest
from activities_testkit import ORGANISER, as_volunteer, at, iso
from icalendar import Calendar
from nameko.events import event_handler
from nameko.extensions import DependencyProvider
from nameko.testing.services import replace_dependencies
from sqlalchemy import create_engine, text

from activities.feeds import FEED_CACHE
from activities.service import ActivitiesService
from conftest import REAL_VOLUNTEERS, Directory
from guanyinli import tenancy
from guanyinli.config import normalize_url
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import SECOND_COMMUNITY, signed

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(REAL_VOLUNTEERS is None, reason="each community's volunteers and grids are the real service's"),
]

BASE_URL = "https://feeds.guanyinli.test"
THERE = SECOND_COMMUNITY
PREFIX = f"/c/{THERE}"
HERE_TITLE, THERE_TITLE = "观音里第四网格夜巡", "五台山第四网格夜巡"
ALERTS: list[tuple[str, int, int]] = []  # (community, offer_id, volunteer_id) of standin_unfilled events


class EventCommunity(DependencyProvider):
    """The community an event came from (its emitter's token)."""

    def get_dependency(self, worker_ctx):
        return tenancy.community_of(worker_ctx)


class StandinAlertRecorder:
    name = "standin_alert_recorder"
    community = EventCommunity()

    @event_handler("activities", "standin_unfilled")
    def on_standin_unfilled(self, payload):
        ALERTS.append((self.community, payload["offer_id"], payload["volunteer_id"]))


def in_there(user: dict) -> dict:
    return {**user, "community": THERE}


@pytest.fixture
def tenants(container_factory, two_communities, clock):
    """activities, volunteers and a recorder of stand-in alerts, serving guanyinli and wutaishan."""
    from volunteers.service import VolunteersService

    FEED_CACHE.clear()
    ALERTS.clear()
    config = {
        **two_communities,
        "FEED_SECRET": "test-secret-of-the-feeds-0123456789",
        "FEED_BASE_URL": BASE_URL,
        "VOLUNTEERS_RPC_TIMEOUT": 5,
        "STANDIN": {"INTERVAL": 0.1},
    }
    for cls in (ActivitiesService, VolunteersService, StandinAlertRecorder):
        container = container_factory(cls, config)
        if cls is ActivitiesService:
            replace_dependencies(container, clock=clock)
        container.start()
    return config


@pytest.fixture
def open_as(tenants):
    stack = contextlib.ExitStack()

    def open_proxy(user: dict, service: str = "activities"):
        return stack.enter_context(ServiceRpcProxy(service, tenants, context_data=signed(user), timeout=30))

    yield open_proxy
    stack.close()


def night_patrol(organiser, title: str) -> dict:
    """A one-off patrol of grid 4 with two seats, tomorrow evening; its occurrence."""
    activity = organiser.create_activity(
        title=title,
        kind="patrol",
        grid_id=4,
        start=iso(at(1, 19)),
        duration_minutes=120,
        roles=[{"name": "patroller", "needed": 2}],
    )
    (occurrence,) = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(3, 0)), activity_id=activity["id"])
    return occurrence


@pytest.fixture
def both(open_as):
    """In each community: volunteers 1 and 2, and volunteer 1 signed up for its grid 4 night patrol."""
    found = {}
    for community, title in ((tenancy.DEFAULT, HERE_TITLE), (THERE, THERE_TITLE)):
        scope = {} if community == tenancy.DEFAULT else {"community": community}
        directory = Directory(open_as({"roles": ["organiser"], **scope}, service="volunteers"))
        for vid in (1, 2):
            directory.add(vid)
        organiser = open_as({**ORGANISER, **scope})
        occurrence = night_patrol(organiser, title)
        signup = open_as({**as_volunteer(1), **scope}).sign_up(occurrence_id=occurrence["id"], volunteer_id=1)
        found[community] = {"organiser": organiser, "occurrence": occurrence, "signup": signup}
    return found


def same_times(config: dict) -> None:
    """Every activity, occurrence and sign-up of both communities changed at one moment: their feeds'
    versions are then equal (the same sequences and counts too), so only the community tells apart
    the bodies kept for them (``feeds.FEED_CACHE``)."""
    url = normalize_url(config["DB_URIS"]["activities"])
    for community in (tenancy.DEFAULT, THERE):
        engine = create_engine(tenancy.storage_url(url, community, config))
        with engine.begin() as connection:
            tenancy.set_search_path(connection, tenancy.schema(community, config))
            for table in ("activities", "occurrences", "signups"):
                connection.execute(text(f"UPDATE {table} SET updated_at = :at"), {"at": datetime(2026, 12, 1, 8)})
        engine.dispose()


def summaries(body: bytes) -> list[str]:
    return [str(e["SUMMARY"]) for e in Calendar.from_ical(body).walk("VEVENT")]


def test_each_organiser_sees_only_their_own_communitys_activities_and_sign_ups(both):
    here, there = both[tenancy.DEFAULT], both[THERE]
    assert here["occurrence"]["id"] == there["occurrence"]["id"] == 1, "ids are each community's own"
    window = {"start": iso(at(0, 0)), "end": iso(at(3, 0))}
    assert [o["title"] for o in here["organiser"].list_occurrences(**window)] == [HERE_TITLE]
    assert [o["title"] for o in there["organiser"].list_occurrences(**window)] == [THERE_TITLE]
    assert [d["title"] for d in here["organiser"].list_duties(volunteer_id=1, **window)] == [HERE_TITLE]
    assert [d["title"] for d in there["organiser"].list_duties(volunteer_id=1, **window)] == [THERE_TITLE]
    there["organiser"].cancel_occurrence(occurrence_id=1, reason="暴雨")
    assert here["organiser"].get_occurrence(occurrence_id=1)["status"] == "scheduled"
    assert there["organiser"].get_occurrence(occurrence_id=1)["status"] == "cancelled"


def test_a_feed_of_wutaishan_is_served_under_its_prefix_and_nowhere_else(both, open_as, web_session, tenants):
    ours = open_as(as_volunteer(1)).issue_feed_token(volunteer_id=1)
    theirs = open_as(in_there(as_volunteer(1))).issue_feed_token(volunteer_id=1)
    same_times(tenants)
    url = theirs["personal"]["https"]
    assert url.startswith(f"{BASE_URL}{PREFIX}/feeds/volunteers/")
    assert theirs["personal"]["webcal"] == "webcal://" + url[len("https://") :]
    assert all(link["https"].startswith(f"{BASE_URL}{PREFIX}/feeds/") for link in theirs["public"])
    assert ours["personal"]["https"].startswith(f"{BASE_URL}/feeds/volunteers/")
    assert not any(PREFIX in link["https"] for link in ours["public"])

    path = url[len(BASE_URL) + len(PREFIX) :]
    their_feed = web_session.get(PREFIX + path)
    assert their_feed.status_code == 200 and summaries(their_feed.content) == [f"{THERE_TITLE} · 巡逻"]
    # The same token (row 1 of volunteer 1, as guanyinli's is) anywhere else is no feed.
    assert web_session.get(path).status_code == 404
    assert web_session.get(f"/c/{tenancy.DEFAULT}{path}").status_code == 404
    assert web_session.get(f"/c/nowhere{path}").status_code == 404
    our_path = ours["personal"]["https"][len(BASE_URL) :]
    assert our_path != path
    assert web_session.get(PREFIX + our_path).status_code == 404
    our_feed = web_session.get(our_path)
    assert our_feed.status_code == 200 and summaries(our_feed.content) == [f"{HERE_TITLE} · 巡逻"]
    assert our_feed.headers["ETag"] != their_feed.headers["ETag"]
    # Each calendar is titled with its own community's name, and so is the file it comes as.
    assert "X-WR-CALNAME:五台山 · 我的志愿服务" in their_feed.text and "观音里" not in their_feed.text
    assert "X-WR-CALNAME:观音里 · 我的志愿服务" in our_feed.text
    assert f'filename="{THERE}-duties.ics"' in their_feed.headers["Content-Disposition"]
    # Kept bodies are each community's: asked again in turn, each still gets its own.
    assert summaries(web_session.get(PREFIX + path).content) == [f"{THERE_TITLE} · 巡逻"]
    assert summaries(web_session.get(our_path).content) == [f"{HERE_TITLE} · 巡逻"]


def test_grid_4s_feed_is_each_communitys_own(both, open_as, web_session, tenants):
    same_times(tenants)
    links = open_as(in_there(ORGANISER)).feed_urls(volunteer_id=9000)["public"]
    grid = next(link["https"] for link in links if link["scope"] == "grid" and link["value"] == 4)
    assert grid == f"{BASE_URL}{PREFIX}/feeds/grids/4.ics"
    ours = web_session.get("/feeds/grids/4.ics")
    theirs = web_session.get(f"{PREFIX}/feeds/grids/4.ics")
    assert ours.status_code == theirs.status_code == 200
    assert summaries(ours.content) == [HERE_TITLE] and summaries(theirs.content) == [THERE_TITLE]
    assert "X-WR-CALNAME:五台山 · 第4网格" in theirs.text and "X-WR-CALNAME:观音里 · 第4网格" in ours.text
    # One community's ETag is not a 304 in the other's, and a change in one leaves the other's as it was.
    assert web_session.get("/feeds/grids/4.ics", headers={"If-None-Match": theirs.headers["ETag"]}).status_code == 200
    both[THERE]["organiser"].cancel_occurrence(occurrence_id=1, reason="暴雨")
    again = web_session.get("/feeds/grids/4.ics", headers={"If-None-Match": ours.headers["ETag"]})
    assert again.status_code == 304
    changed = web_session.get(f"{PREFIX}/feeds/grids/4.ics", headers={"If-None-Match": theirs.headers["ETag"]})
    assert changed.status_code == 200 and "STATUS:CANCELLED" in changed.text


def test_the_stand_in_timer_alerts_in_both_communities(both, open_as, clock):
    offers = {}
    for community, found in both.items():
        offers[community] = found["organiser"].cant_come(signup_id=found["signup"]["id"])
    alert_at = max(datetime.fromisoformat(o["alert_at"]) for o in offers.values())
    assert not ALERTS

    clock.set(alert_at + timedelta(minutes=1))
    deadline = datetime.now() + timedelta(seconds=10)
    while len(ALERTS) < 2 and datetime.now() < deadline:
        eventlet.sleep(0.05)
    assert sorted(ALERTS) == sorted((c, o["offer_id"], 1) for c, o in offers.items())
    for found in both.values():
        (listed,) = found["organiser"].list_standin_offers()
        assert listed["status"] == "unfilled"
