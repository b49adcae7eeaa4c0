"""The HTTP side of the feeds without a server: ETag and 304, tokens, links, missing configuration."""

from __future__ import annotations

import hashlib

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from activities.feeds import (
    calendar_response,
    derive_token,
    etag_of,
    token_hash,
    webcal,
)
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


def test_tokens_are_256_bits_bound_to_row_volunteer_and_secret():
    secret = "s" * 32
    token = derive_token(secret, 7, 12)
    assert len(token) == 43 and token == derive_token(secret, 7, 12)
    others = {derive_token(secret, 8, 12), derive_token(secret, 7, 13), derive_token("t" * 32, 7, 12)}
    assert token not in others and len(others) == 3
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()


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
