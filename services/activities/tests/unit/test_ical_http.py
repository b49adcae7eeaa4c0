"""The HTTP side of the feeds without a server: ETag and 304, tokens, links, missing configuration."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from activities import feed_data, store
from activities.feeds import (
    calendar_response,
    derive_token,
    etag_of,
    legacy_token,
    personal_lookup,
    token_hash,
    token_owner,
    token_row_id,
    webcal,
)
from activities.models import Base, FeedToken
from activities.service import ActivitiesService
from guanyinli.errors import Unavailable

BODY = "BEGIN:VCALENDAR\r\nX-WR-CALNAME:观音里\r\nEND:VCALENDAR\r\n".encode()


def request(**headers) -> Request:
    return Request(EnvironBuilder(path="/feeds/lectures.ics", headers=headers).get_environ())


def test_a_strong_etag_over_the_body():
    etag = etag_of(BODY)
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert etag == etag_of(bytes(BODY)) and etag != etag_of(BODY + b" ")


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        (None, 200),
        ('"something-else"', 200),
        ("{etag}", 304),
        ('"x", {etag}', 304),
        ("W/{etag}", 304),  # If-None-Match compares weakly (RFC 9110 13.1.2)
        ("*", 304),
    ],
)
def test_if_none_match_answers_304(if_none_match, status):
    etag = etag_of(BODY)
    headers = {"If-None-Match": if_none_match.format(etag=etag)} if if_none_match else {}
    response = calendar_response(request(**headers), BODY, etag, private=False, filename="x.ics")
    assert response.status_code == status
    assert response.headers["ETag"] == etag
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, no-cache"
    assert response.get_data() == (BODY if status == 200 else b"")


def test_a_personal_feed_is_private_and_not_indexed():
    response = calendar_response(request(), BODY, etag_of(BODY), private=True, filename="x.ics")
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["X-Robots-Tag"] == "noindex"


def test_tokens_name_their_row_and_carry_256_bits_bound_to_row_volunteer_and_secret():
    secret = "s" * 32
    token = derive_token(secret, 7, 12)
    assert len(token) == 54 and token == derive_token(secret, 7, 12) and token_row_id(token) == 7
    others = {derive_token(secret, 8, 12), derive_token(secret, 7, 13), derive_token("t" * 32, 7, 12)}
    assert token not in others and len(others) == 3
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert len(legacy_token(secret, 7, 12)) == 43 and token_row_id(legacy_token(secret, 7, 12)) is None


@pytest.mark.parametrize("token", ["", "A" * 53, "A" * 54, "/" * 54, "é" * 54, "_" * 54, "A" * 55])
def test_malformed_tokens_name_no_row(token):
    assert token_row_id(token) is None


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_a_token_opens_its_feed_only_under_the_secret_it_was_made_with(session):
    a, b = "a" * 16 + "A" * 16, "b" * 16 + "B" * 16
    row = FeedToken(volunteer_id=12, token_hash="x")
    old = FeedToken(volunteer_id=13, token_hash="y")
    session.add_all([row, old])
    session.flush()
    old.token_hash = token_hash(legacy_token(a, old.id, 13))  # a link issued before row ids were in tokens
    token = derive_token(a, row.id, 12)
    assert token_owner(session, token, a) == 12 and token_owner(session, legacy_token(a, old.id, 13), a) == 13
    assert token_owner(session, token, b) is None and token_owner(session, legacy_token(a, old.id, 13), b) is None
    assert token_owner(session, derive_token(b, row.id, 12), b) == 12  # the link shown after the change
    assert token_owner(session, derive_token(a, row.id, 13), a) is None  # another volunteer's MAC
    assert token_owner(session, token, None) is None
    row.revoked_at = datetime(2026, 1, 1)
    assert token_owner(session, token, a) is None


def test_a_token_opens_its_feed_only_in_the_community_it_was_made_in(session):
    """Row 1 of volunteer 1 is in every community's storage: the community is in the MAC, so one
    community's link under another's prefix (or none) is no feed; the default's tokens are unchanged."""
    secret, at = "a" * 16 + "A" * 16, datetime(2026, 12, 7, 10, 0, tzinfo=feed_data.UTC)
    row = FeedToken(volunteer_id=12, token_hash="x")
    session.add(row)
    session.flush()
    theirs, ours = derive_token(secret, row.id, 12, "wutaishan"), derive_token(secret, row.id, 12)
    assert theirs != ours and len(theirs) == len(ours) == 54
    assert token_owner(session, theirs, secret, "wutaishan") == 12
    assert token_owner(session, theirs, secret) is None and token_owner(session, theirs, secret, "other") is None
    assert token_owner(session, ours, secret, "wutaishan") is None and token_owner(session, ours, secret) == 12
    assert personal_lookup(session, theirs, secret, at, "wutaishan")[0] == 12
    assert personal_lookup(session, theirs, secret, at) is None
    assert personal_lookup(session, ours, secret, at, "wutaishan") is None


def test_the_one_statement_lookup_gives_the_owner_and_version_of_the_two_step_one(session):

    a, b = "a" * 16 + "A" * 16, "b" * 16 + "B" * 16
    at = datetime(2026, 12, 7, 10, 0, tzinfo=feed_data.UTC)
    row = FeedToken(volunteer_id=12, token_hash="x")
    old = FeedToken(volunteer_id=13, token_hash="y")
    session.add_all([row, old])
    session.flush()
    old.token_hash = token_hash(legacy_token(a, old.id, 13))
    token, legacy = derive_token(a, row.id, 12), legacy_token(a, old.id, 13)
    empty = personal_lookup(session, token, a, at)
    assert empty == (12, feed_data.personal_version(session, 12, at)) and empty[1][1] == 0
    start = datetime(2026, 12, 8, 19, 0, tzinfo=feed_data.UTC)
    activity = store.create_activity(
        session, {"title": "夜巡", "kind": "patrol", "grid_id": 4, "start": start, "duration_minutes": 120}
    )
    (occurrence,) = store.list_occurrences(session, start, start.replace(hour=21), activity_id=activity.id)
    for volunteer in (12, 13):
        store.sign_up(session, occurrence.id, None, volunteer, None)
    session.flush()
    assert personal_lookup(session, token, a, at) == (12, feed_data.personal_version(session, 12, at)) != empty
    assert personal_lookup(session, legacy, a, at) == (13, feed_data.personal_version(session, 13, at))
    assert personal_lookup(session, token, b, at) is None and personal_lookup(session, token, None, at) is None
    assert personal_lookup(session, derive_token(a, row.id, 13), a, at) is None  # another volunteer's MAC
    assert personal_lookup(session, derive_token(a, 999, 12), a, at) is None  # no such row
    row.revoked_at = datetime(2026, 1, 1)
    assert personal_lookup(session, token, a, at) is None


def test_webcal_twin_of_a_link():
    assert webcal("https://g.example/feeds/lectures.ics") == "webcal://g.example/feeds/lectures.ics"
    assert webcal("http://127.0.0.1:8000/feeds/grids/4.ics") == "webcal://127.0.0.1:8000/feeds/grids/4.ics"


@pytest.mark.parametrize("settings", [{}, {"FEED_SECRET": "short"}])
def test_personal_links_need_a_feed_secret(settings):
    service = worker_factory(ActivitiesService, feed_settings=settings)
    service.caller.acts_for.return_value = True
    with pytest.raises(Unavailable, match="FEED_SECRET"):
        service.issue_feed_token(volunteer_id=1)
    with pytest.raises(Unavailable, match="FEED_SECRET"):
        service.rotate_feed_token(volunteer_id=1)
