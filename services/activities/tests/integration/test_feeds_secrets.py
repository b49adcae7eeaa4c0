"""Personal feed links over real HTTP and a real broker: a new FEED_SECRET revokes every earlier
link, rotating one volunteer's link revokes only theirs, no token reaches a log line, and the
service refuses to start with a weak secret outside the local run."""

from __future__ import annotations

import contextlib
import logging

import pytest
import standin_volunteers
from activities_testkit import ORGANISER

from activities.feeds import FEED_CACHE
from activities.service import ActivitiesService
from guanyinli.config import InsecureSecret
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed

pytestmark = pytest.mark.integration

BASE_URL = "https://feeds.guanyinli.test"
SECRET_A = "Vq3c9X1mT0pL8sR2wY7bN4kD6hJ5gF0a"
SECRET_B = "Zr8t2Mn5Qw1Ey7Ui4Op0As6Df3Gh9Jk2"


@pytest.fixture
def start(container_factory, service_config):
    """``start(secret)`` runs the activities service with that FEED_SECRET (on the test's web port), beside
    the stand-in volunteers service that tells it the community's grids."""
    container_factory(standin_volunteers.StandInVolunteersService, service_config).start()

    def run(secret: str):
        FEED_CACHE.clear()
        config = {**service_config, "FEED_SECRET": secret, "FEED_BASE_URL": BASE_URL}
        container = container_factory(ActivitiesService, config)
        container.start()
        return container, config

    return run


@contextlib.contextmanager
def rpc(config, user=ORGANISER):
    with ServiceRpcProxy("activities", config, context_data=signed(user), timeout=30) as proxy:
        yield proxy


def get(web_session, url: str, etag: str | None = None):
    assert url.startswith(BASE_URL)
    return web_session.get(url[len(BASE_URL) :], headers={"If-None-Match": etag} if etag else {})


def test_a_new_feed_secret_revokes_every_earlier_link_and_the_links_shown_then_work(start, web_session):
    container, config = start(SECRET_A)
    with rpc(config) as organiser:
        old = {v: organiser.issue_feed_token(volunteer_id=v)["personal"]["https"] for v in (1, 2)}
    assert all(get(web_session, url).status_code == 200 for url in old.values())
    container.stop()

    _, config = start(SECRET_B)
    assert [get(web_session, url).status_code for url in old.values()] == [404, 404]
    with rpc(config) as organiser:
        shown = {v: organiser.feed_urls(volunteer_id=v)["personal"]["https"] for v in (1, 2)}
        assert {v: organiser.issue_feed_token(volunteer_id=v)["personal"]["https"] for v in (1, 2)} == shown
    assert set(shown.values()).isdisjoint(old.values())
    assert [get(web_session, url).status_code for url in shown.values()] == [200, 200]


def test_rotating_one_volunteers_link_revokes_theirs_only(start, web_session):
    _, config = start(SECRET_A)
    with rpc(config) as organiser:
        first = {v: organiser.issue_feed_token(volunteer_id=v)["personal"]["https"] for v in (1, 2)}
    with rpc(config, {"volunteer_id": 1, "roles": ["volunteer"]}) as volunteer:
        again = volunteer.rotate_feed_token(volunteer_id=1)["personal"]["https"]
        assert volunteer.feed_urls(volunteer_id=1)["personal"]["https"] == again
    assert again != first[1]
    assert get(web_session, first[1]).status_code == 404
    assert get(web_session, again).status_code == 200
    assert get(web_session, first[2]).status_code == 200
    # a token of the right shape naming the row but with another MAC, and one naming no row
    token = again.rsplit("/", 1)[1].removesuffix(".ics")
    forged = token[:11] + ("A" if token[11] != "A" else "B") + token[12:]
    assert get(web_session, again.replace(token, forged)).status_code == 404
    assert web_session.get("/feeds/volunteers/" + "A" * 54 + ".ics").status_code == 404


def test_no_feed_token_reaches_a_log_line(start, web_session, caplog):
    caplog.set_level(logging.DEBUG)
    _, config = start(SECRET_A)
    with rpc(config) as organiser:
        old = organiser.issue_feed_token(volunteer_id=1)["personal"]["https"]
        first = get(web_session, old)
        assert first.status_code == 200
        assert get(web_session, old, first.headers["ETag"]).status_code == 304
        new = organiser.rotate_feed_token(volunteer_id=1)["personal"]["https"]
    assert get(web_session, old).status_code == 404
    assert get(web_session, new).status_code == 200
    assert web_session.head(new[len(BASE_URL) :]).status_code == 200
    tokens = [url.rsplit("/", 1)[1].removesuffix(".ics") for url in (old, new)]

    # urllib3 is this test's own HTTP client, not the service
    records = [r for r in caplog.records if not r.name.startswith("urllib3")]
    lines = [r.getMessage() + "\n" + (r.exc_text or "") for r in records]
    access = [
        r.getMessage() for r in records if r.name == "nameko.web.server" and "/feeds/volunteers/" in r.getMessage()
    ]
    assert len(access) == 5, "the WSGI access log was not captured"
    assert all(
        '"GET /feeds/volunteers/<redacted>.ics' in line or '"HEAD /feeds/volunteers/<redacted>.ics' in line
        for line in access
    )
    assert any("/feeds/volunteers/<redacted>.ics" in r.getMessage() for r in records if r.name == "nameko.rpc")
    assert not [line for line in lines for token in tokens if token in line]


@pytest.mark.parametrize(
    "secret",
    ["", "change-me-feed-secret", "secret", "short-but-random-Xq91", "a" * 40, "feeds.example.org/0123456789abcdef"],
)
def test_outside_the_local_run_a_weak_feed_secret_stops_the_start(start, monkeypatch, secret):
    monkeypatch.setenv("GUANYINLI_ENV", "production")
    with pytest.raises(InsecureSecret, match="FEED_SECRET"):
        start(secret)


def test_outside_the_local_run_a_strong_feed_secret_starts(start, monkeypatch, web_session):
    monkeypatch.setenv("GUANYINLI_ENV", "production")
    start(SECRET_A)
    assert web_session.get("/feeds/lectures.ics").status_code == 200


def test_without_the_volunteers_service_the_grid_and_team_feeds_wait(container_factory, service_config, web_session):
    """The grids and teams are the volunteers service's: while it does not answer, the links leave the grids'
    and teams' feeds out and their feeds say to try again (503), where the other feeds answer as ever."""
    FEED_CACHE.clear()
    config = {**service_config, "FEED_SECRET": SECRET_A, "FEED_BASE_URL": BASE_URL, "VOLUNTEERS_RPC_TIMEOUT": 2}
    container_factory(ActivitiesService, config).start()
    with rpc(config) as organiser:
        links = organiser.feed_urls(volunteer_id=1)["public"]
    assert links and not [link for link in links if link["scope"] in ("grid", "team")]
    assert web_session.get("/feeds/kinds/patrol.ics").status_code == 200
    assert web_session.get("/feeds/teams/voluntary_patrol.ics").status_code == 503
    waiting = web_session.get("/feeds/grids/7.ics")
    assert waiting.status_code == 503 and waiting.headers["Retry-After"] == "30"
