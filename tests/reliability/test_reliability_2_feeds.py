"""iCal feeds under hostile requests: unknown, revoked and guessed tokens get 404, never a feed and
never a server error; no shared (public) feed shows an elderly visit or the contact details of a
volunteer, and the visitor's own feed shows the visit as a neutral home visit.
"""

from __future__ import annotations

import secrets
import string
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from rel_data import ORGANISER, SYSTEM, new_volunteers, one_off

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.testing import signed
from guanyinli.timeutil import now

pytestmark = pytest.mark.reliability

URLSAFE = string.ascii_letters + string.digits + "-_"
PRIVATE = {
    "visited_person": "测试老人甲",
    "private_address": "观音里99号院 9幢9单元909",
    "health_notes": "糖尿病，每周三透析（测试数据）",
}


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1].removesuffix(".ics")


@pytest.fixture(scope="module")
def feeds(platform):
    """A visit with private fields and an assigned visitor, and the visitor's personal feed link."""
    tag = f"feeds{uuid.uuid4().hex[:6]}"
    with ClusterRpcProxy(platform.rpc_config, context_data=ORGANISER, timeout=30) as rpc:
        visitor, other = new_volunteers(rpc, 2, tag, team="convenient_service")
        start = now().replace(hour=15, minute=0, second=0, microsecond=0) + timedelta(days=9)
        occ = one_off(
            rpc,
            start,
            title="探访独居老人（测试）",
            kind="elderly_visit",
            team="convenient_service",
            grid_id=3,
            duration_minutes=60,
            roles=[{"name": "visitor", "needed": 2}],
            **PRIVATE,
        )
    with ClusterRpcProxy(platform.rpc_config, context_data=SYSTEM, timeout=30) as rpc:
        rpc.activities.sign_up(occurrence_id=occ["id"], volunteer_id=visitor["id"], role="visitor")
        urls = rpc.activities.issue_feed_token(volunteer_id=visitor["id"])
    return {"visitor": visitor, "other": other, "urls": urls, "tag": tag}


def get(platform, path: str, row) -> requests.Response:
    row.calls += 1
    return requests.get(platform.web_url + path, timeout=15)


def test_personal_feed_works_and_public_feeds_hold_no_visit(platform, feeds, tally):
    row = tally.row("feeds: tokens and privacy")
    personal = get(platform, f"/feeds/volunteers/{token_of(feeds['urls']['personal']['https'])}.ics", row)
    assert personal.status_code == 200, personal.text[:300]
    assert "BEGIN:VCALENDAR" in personal.text and "上门探访" in personal.text
    secrets_of_people = [*PRIVATE.values(), feeds["visitor"]["phone"], feeds["visitor"]["email"]]
    assert not [s for s in [*secrets_of_people, "探访独居老人"] if s in personal.text.replace("\r\n ", "")]
    leaks, showing_the_visit = [], []
    for link in feeds["urls"]["public"]:
        path = "/" + link["https"].split("/", 3)[3]
        answer = get(platform, path, row)
        assert answer.status_code == 200, f"{path}: {answer.status_code}"
        leaks += [f"{path} contains {s!r}" for s in secrets_of_people if s in answer.text]
        if "探访独居老人" in answer.text:
            showing_the_visit.append(path)
    row.notes.append(f"{len(feeds['urls']['public'])} public feeds read, none shows the visit or private fields")
    assert not showing_the_visit, showing_the_visit
    assert get(platform, "/feeds/kinds/elderly_visit.ics", row).status_code == 404
    assert not leaks, leaks


def test_unknown_and_guessed_tokens_get_404(platform, feeds, tally):
    row = tally.row("feeds: tokens and privacy")
    real = token_of(feeds["urls"]["personal"]["https"])
    wrong = []

    def check(token: str, what: str) -> None:
        answer = get(platform, f"/feeds/volunteers/{quote(token, safe='')}.ics", row)
        if answer.status_code >= 500:
            row.internal += 1
        if answer.status_code != 404:
            wrong.append(f"{what} {token[:60]!r}: {answer.status_code}")

    for _ in range(20):
        check(secrets.token_urlsafe(32), "unknown")
    mutated = {real[:-1], real + "A", real.upper(), real.lower(), real[::-1], real[1:], real.replace("-", "_")}
    for i in range(0, len(real), 4):
        mutated.add(real[:i] + ("A" if real[i] != "A" else "B") + real[i + 1 :])
    for token in sorted(mutated - {real}):
        check(token, "one edit from the real one")

    @seed(20261125)
    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(
            st.text(alphabet=URLSAFE, min_size=1, max_size=90),
            st.text(min_size=1, max_size=40),
            st.sampled_from(["..", "../../etc/passwd", "%00", "' OR '1'='1", "null", "0", "-1", " "]),
        )
    )
    def guessed(token):
        if token != real:
            check(token, "guessed")

    guessed()
    row.notes.append(f"unknown, edited and guessed tokens: {len(mutated) + 80} tried")
    assert not wrong, wrong[:20]


def test_revoked_and_rotated_tokens_get_404(platform, feeds, tally):
    row = tally.row("feeds: tokens and privacy")
    vid = feeds["other"]["id"]
    with ClusterRpcProxy(platform.rpc_config, context_data=signed({"volunteer_id": vid}), timeout=30) as rpc:
        first = token_of(rpc.activities.issue_feed_token(volunteer_id=vid)["personal"]["https"])
        assert get(platform, f"/feeds/volunteers/{first}.ics", row).status_code == 200
        second = token_of(rpc.activities.rotate_feed_token(volunteer_id=vid)["personal"]["https"])
        row.calls += 2
        assert second != first
        assert get(platform, f"/feeds/volunteers/{first}.ics", row).status_code == 404, "rotated token still works"
        assert get(platform, f"/feeds/volunteers/{second}.ics", row).status_code == 200
        assert rpc.activities.revoke_feed_token(volunteer_id=vid)["revoked"] >= 1
        row.calls += 1
        for token in (first, second):
            assert get(platform, f"/feeds/volunteers/{token}.ics", row).status_code == 404, "revoked token works"
        # another volunteer cannot issue, rotate or revoke this volunteer's link
        with ClusterRpcProxy(platform.rpc_config, context_data=signed({"volunteer_id": vid + 1}), timeout=30) as x:
            for method in ("issue_feed_token", "rotate_feed_token", "revoke_feed_token", "feed_urls"):
                row.calls += 1
                with pytest.raises(Exception) as refused:
                    getattr(x.activities, method)(volunteer_id=vid)
                assert type(refused.value).__name__ == "Forbidden", f"{method}: {refused.value!r}"
