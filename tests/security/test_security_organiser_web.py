"""Attacks on the organiser page over real HTTP: open redirects, forms posted without the session's
CSRF token, login flooding from one address and from many, and issue_token flooded over RPC. The
page's clock is stopped, so no throttle window passes while the test runs, however slow the machine."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.web.handlers import HttpRequestHandler
from organiser_testkit import PASSWORD, MovableClock, browser_at, csrf_of, log_in, start_platform

from guanyinli.errors import Forbidden
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed
from organiser.service import LOGIN_RULES, OrganiserService

pytestmark = [pytest.mark.integration, pytest.mark.security]

WRONG = "not the password at all"
REDIRECT_TARGETS = [
    "//evil.example",
    "/%09/evil.example",
    "/\\evil.example",
    "https://evil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%0A/evil.example",
    "///evil.example",
    "http:evil.example",
    "/%252F%252Fevil.example",
    "%2F%2Fevil.example",
    " //evil.example",
]


@pytest.fixture
def page(container_factory, service_config):
    """volunteers, activities and the organiser page running (the page on a stopped clock), with the
    organiser 王芳 (wangfang) and a second organiser; returns the services' config."""
    config = dict(service_config, ORGANISER_SECURE_COOKIES=False)  # plain http on 127.0.0.1
    start_platform(container_factory, config, MovableClock(stopped=True))
    with ServiceRpcProxy("organiser", config, context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        rpc.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
        rpc.create_account(username="lisi", password=PASSWORD, display_name="李四")
    with ServiceRpcProxy("volunteers", config, context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        config["volunteer_id"] = rpc.create_volunteer(name="赵磊", phone="13912347702", teams=["convenient_service"])[
            "id"
        ]
    return config


def phone_signed_in(web_session, config) -> str:
    """The volunteer's phone page signed in beside the organiser's (a printed link); its CSRF token."""
    with ServiceRpcProxy("organiser", config, context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        url = rpc.issue_signin_link(volunteer_id=config["volunteer_id"])["url"]
    path = "/v/link/" + url.rsplit("/v/link/", 1)[1]
    form = web_session.get(path)
    assert web_session.post(path, data={"csrf": csrf_of(form.text)}, allow_redirects=False).status_code == 303
    return csrf_of(web_session.get("/v").text)


def off_site(location: str, base: str) -> bool:
    """Whether a browser following ``Location: location`` from ``base`` leaves the site: it drops tabs,
    newlines and surrounding spaces, and reads a backslash as a slash."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip(" \x00\x0b\x0c").replace("\\", "/")
    return urlsplit(urljoin(base + "/login", cleaned)).netloc != urlsplit(base).netloc


def test_off_site_reads_locations_as_a_browser_does():
    base = "http://127.0.0.1:8000"
    for location in ("//evil.example", "/\\evil.example", "/\t/evil.example", "https://evil.example/", " //e.x"):
        assert off_site(location, base), location
    for location in ("/roster", "/roster?next=//evil.example", "/%2F%2Fevil.example", "roster"):
        assert not off_site(location, base), location


def test_no_redirect_leaves_the_site(page, web_session, attacks):
    base = web_session.base_url
    for target in REDIRECT_TARGETS:
        form = web_session.get(f"/login?next={target}")
        assert form.status_code == 200
        shown = html.unescape(re.search(r'name="next" value="([^"]*)"', form.text).group(1))
        # the form's own field as a browser posts it, and a form the attacker wrote, as given and decoded
        for next_ in dict.fromkeys([shown, target, unquote(target)]):
            answer = log_in(web_session, next=next_)
            assert answer.status_code == 303
            refused = not off_site(shown, base) and not off_site(answer.headers["Location"], base)
            attacks("open redirect after login", refused)
            assert refused, (target, next_, shown, answer.headers["Location"])
    host = base + "/"
    for referrer in (host + "/evil.example", host + "\\evil.example", "https://evil.example/", host + "%2F%2Fe.x"):
        answer = web_session.get("/lang/en", headers={"Referer": referrer}, allow_redirects=False)
        assert answer.status_code == 303
        refused = not off_site(answer.headers["Location"], base)
        attacks("open redirect from the language switch", refused)
        assert refused, (referrer, answer.headers["Location"])


def post_routes() -> list[str]:
    """Every POST route of the page, each path parameter filled in: a new route is attacked too."""
    routes = []
    for name in dir(OrganiserService):
        for entrypoint in getattr(getattr(OrganiserService, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, HttpRequestHandler) and "POST" in entrypoint.method.upper().split(","):
                routes.append(
                    re.sub(r"<(?:(\w+):)?\w+>", lambda m: "x" if m.group(1) == "path" else "1", entrypoint.url)
                )
    return sorted(routes)


# every field any of the page's forms reads, valid, so that the CSRF token alone stands in the way
FORM = {
    "username": "wangfang",
    "password": PASSWORD,
    "next": "/roster",
    "start": "2026-12-07",
    "days": "7",
    "time_limit": "2",
    "grid": "6",
    "volunteer_id": "1",
    "volunteer_a": "1",
    "volunteer_b": "2",
    "day_a": "2026-12-07",
    "day_b": "2026-12-08",
    "status": "attended",
    "day": "2026-12-07",
    "weeks": "2",
    "name": "小明",
    "grade": "3",
    "subject": "math",
    "guardian_name": "王建军",
    "guardian_phone": "15800000000",
    "pinned": "1",
    "tutor_id": "1",
    "at": "09:00",
    "title": "卫生清扫",
    "kind": "sanitation",
    "duration": "60",
    "reason": "暴雨预警",
    "volunteer": "1",
    "hours": "2",
    "phone": "13912345678",
    "role": "setup",
    "undo": "1",
}


def test_every_post_route_refuses_a_form_without_the_sessions_csrf_token(page, web_session, attacks):
    routes = post_routes()
    assert {"/visits/missed/1/cancel", "/visits/made/1/reopen", "/v/visits/1/reopen"} <= set(routes)
    assert {
        "/login",
        "/logout",
        "/roster/build",
        "/roster/1/publish",
        "/attendance/1",
        "/v/signup",
        "/visits/plan",
        "/v/visits/1/note",
        "/cleanups/plan",
    } <= set(routes)
    assert {"/school/assign", "/school/pupils", "/school/assignments/1/change"} <= set(routes)
    calendar = {
        "/activities",
        "/activities/1",
        "/occurrences/1/cancel",
        "/occurrences/1/move",
        "/occurrences/1/signup",
        "/occurrences/1/signups/1/cancel",
        "/occurrences/1/attendance/1",
    }
    assert calendar <= set(routes)  # the calendar's forms
    assert {"/lectures/1/register", "/lectures/1/checkin/1"} <= set(routes)
    appeals = {"/appeals/new", "/appeals/1/reassign", "/appeals/1/note", "/appeals/1/close", "/v/appeals/new"}
    assert appeals | {"/v/appeals/1/1"} <= set(routes)  # the phone's accept, hand-back, note and close
    assert log_in(web_session).status_code == 303
    phone_token = phone_signed_in(web_session, page)  # a volunteer's phone page in the same browser
    other = browser_at(web_session, "127.0.0.9")
    assert log_in(other, username="lisi").status_code == 303
    others_token = csrf_of(other.get("/roster").text)  # valid, for another session
    own_token = csrf_of(web_session.get("/roster").text)
    other.close()
    for route in routes:
        web_session.get("/login")  # the login form's token cookie, so /login checks the form's token against it
        web_session.get("/v/login")  # and the phone page's sign-in form's
        own = phone_token if route.startswith("/v/") else own_token
        for variant, token in {
            "no CSRF token": None,
            "a wrong CSRF token": own[:-2] + ("xx" if not own.endswith("xx") else "yy"),
            "another session's CSRF token": others_token,
            "an empty CSRF token": "",
        }.items():
            data = dict(FORM) if token is None else {**FORM, "csrf": token}
            answer = web_session.post(route, data=data, allow_redirects=False)
            refused = answer.status_code == 403 and "表单已失效" in answer.text
            attacks(f"form posted with {variant}", refused)
            assert refused, (route, variant, answer.status_code)
    # nothing was done: still signed in (the logouts were refused), and the own tokens still work
    assert web_session.get("/v", allow_redirects=False).status_code == 200
    assert web_session.get("/roster", allow_redirects=False).status_code == 200
    assert web_session.post("/logout", data={"csrf": own_token}, allow_redirects=False).status_code == 303


def test_a_login_flood_from_one_address_is_throttled(page, web_session, attacks):
    # one name: wrong passwords until the limit, then refused whatever the password
    statuses = [log_in(web_session, password=WRONG).status_code for _ in range(LOGIN_RULES.per_pair)]
    assert statuses == [401] * LOGIN_RULES.per_pair
    for password in (WRONG, PASSWORD, WRONG):
        answer = log_in(web_session, password=password)
        refused = answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
        attacks("login flood of one name from one address", refused)
        assert refused, answer.status_code

    # many names from another address: refused once the address has failed its limit, for any name
    sprayer = browser_at(web_session, "127.0.0.3")
    sprayed = [
        log_in(sprayer, username=f"guess{i}", password=WRONG).status_code for i in range(LOGIN_RULES.per_address)
    ]
    assert sprayed == [401] * LOGIN_RULES.per_address
    for username, password in (("guess-next", WRONG), ("lisi", PASSWORD), ("wangfang", WRONG)):
        answer = log_in(sprayer, username=username, password=password)
        attacks("login flood of many names from one address", answer.status_code == 429)
        assert answer.status_code == 429, (username, answer.status_code)
    sprayer.close()


def test_a_flood_from_other_addresses_does_not_lock_the_organiser_out(page, web_session, attacks):
    flood = [browser_at(web_session, f"127.0.2.{i}") for i in range(1, LOGIN_RULES.per_account + 3)]
    for browser in flood:  # each address guesses until it is refused
        for _ in range(LOGIN_RULES.per_pair + 1):
            if log_in(browser, password=WRONG).status_code == 429:
                break
        else:
            raise AssertionError("an attacking address was never refused")
    assert all(log_in(b, password=WRONG).status_code == 429 for b in flood)
    office = browser_at(web_session, "127.0.0.2")  # the organiser, from an address that has not failed
    answer = log_in(office)
    attacks("organiser locked out by a login flood", answer.status_code == 303)
    assert answer.status_code == 303
    assert office.get("/roster", allow_redirects=False).status_code == 200
    for browser in [*flood, office]:
        browser.close()


def test_issue_token_flooded_over_rpc_is_throttled_and_the_page_still_signs_in(page, web_session, attacks):
    with ServiceRpcProxy("organiser", page, timeout=30) as anonymous:
        for attempt in range(LOGIN_RULES.per_pair + 3):
            past_the_limit = attempt >= LOGIN_RULES.per_pair
            try:  # past the limit, the right password too
                anonymous.issue_token(
                    username="wangfang", password=PASSWORD if attempt == LOGIN_RULES.per_pair + 1 else WRONG
                )
                refused, why = False, "a token"
            except Forbidden as exc:
                refused, why = True, str(exc)
            attacks("issue_token flooded with wrong passwords over RPC", refused)
            assert refused and ("too many failed sign-ins" in why) == past_the_limit, (attempt, why)
    answer = log_in(web_session)
    attacks("organiser locked out of the page by an RPC flood", answer.status_code == 303)
    assert answer.status_code == 303
