"""Two communities in one installation on the organiser's page and command line: each has its own
accounts and sessions, its pages stay under its ``/c/<slug>`` prefix, and what its organisers see
is its own (``guanyinli.tenancy``), on both databases."""

from __future__ import annotations

import json
import re

import jwt
import pytest
from organiser_testkit import PASSWORD, csrf_of, log_in, start_platform

from guanyinli import identity
from guanyinli.errors import InvalidInput
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import SECOND_COMMUNITY, signed

pytestmark = pytest.mark.integration

HERE = signed({"roles": ["organiser"], "name": "王芳"})
THERE = signed({"roles": ["organiser"], "name": "李红", "community": SECOND_COMMUNITY})
PREFIX = f"/c/{SECOND_COMMUNITY}"


@pytest.fixture
def platform(container_factory, two_communities, web_clock):
    """The organiser's integration platform (see conftest) serving the two communities."""
    config = dict(two_communities)
    config["ORGANISER_SECURE_COOKIES"] = False
    start_platform(container_factory, config, web_clock)
    return config


def call(platform, service: str, context: dict):
    return ServiceRpcProxy(service, platform, context_data=context, timeout=30)


@pytest.fixture
def people(platform):
    """An account and a volunteer in each community, under the same names and numbers."""
    for context, volunteer in ((HERE, ("张三", "13800000001")), (THERE, ("赵六", "13900000009"))):
        with call(platform, "organiser", context) as organiser:
            organiser.create_account(username="wang", password=PASSWORD, display_name="王")
        with call(platform, "volunteers", context) as volunteers:
            made = volunteers.create_volunteer(name=volunteer[0], phone=volunteer[1], teams=["voluntary_patrol"])
            assert made["id"] == 1
    with call(platform, "organiser", THERE) as organiser:
        organiser.create_account(username="li", password=PASSWORD, display_name="李红")


def site_paths(html: str) -> list[str]:
    return re.findall(r'\s(?:href|action|src)="(/[^"]*)"', html)


def test_an_account_signs_in_under_its_community_and_stays_there(platform, people, web_session):
    form = web_session.get(f"{PREFIX}/login")
    assert form.status_code == 200
    assert f'action="{PREFIX}/login"' in form.text and f'href="{PREFIX}/static/' in form.text
    assert f"Path={PREFIX}/" in form.headers["Set-Cookie"]
    done = web_session.post(
        f"{PREFIX}/login",
        data={"username": "li", "password": PASSWORD, "csrf": csrf_of(form.text), "next": "/volunteers"},
        allow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["Location"] == f"{PREFIX}/volunteers"
    assert f"Path={PREFIX}/" in done.headers["Set-Cookie"]

    page = web_session.get(f"{PREFIX}/volunteers")
    assert page.status_code == 200 and "赵六" in page.text and "张三" not in page.text
    paths = site_paths(page.text)
    assert paths and all(p.startswith(f"{PREFIX}/") for p in paths), [p for p in paths if not p.startswith(PREFIX)]
    shown = web_session.get(f"{PREFIX}/volunteers/1")
    assert "13900000009" in shown.text and all(p.startswith(f"{PREFIX}/") for p in site_paths(shown.text))

    # a form of the page: CSRF-checked, its redirect under the prefix, the link made of its community
    sheet = web_session.post(f"{PREFIX}/volunteers/1/signin-link", data={"csrf": csrf_of(shown.text)})
    assert sheet.status_code == 200
    link = re.search(r'id="signin-url">https?://[^/]+(/[^<]+)<', sheet.text).group(1)
    assert link.startswith(f"{PREFIX}/v/link/")
    phone = type(web_session)(web_session.base_url)
    opened = phone.get(link)
    signed_in = phone.post(link, data={"csrf": csrf_of(opened.text)}, allow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["Location"].startswith(f"{PREFIX}/v")
    home = phone.get(signed_in.headers["Location"])
    assert home.status_code == 200 and "赵六" in home.text
    assert all(p.startswith(f"{PREFIX}/") for p in site_paths(home.text))

    # the default community's pages know nothing of this session
    away = web_session.get("/volunteers", allow_redirects=False)
    assert away.status_code == 303 and away.headers["Location"].startswith("/login?")

    out = web_session.post(f"{PREFIX}/logout", data={"csrf": csrf_of(page.text)}, allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"] == f"{PREFIX}/login"


def test_an_account_of_one_community_does_not_sign_in_to_another(platform, people, web_session):
    assert log_in(web_session, username="li").status_code == 401
    assert log_in(web_session, username="wang").status_code == 303  # the default community's own wang
    page = web_session.get("/volunteers")
    assert "张三" in page.text and "赵六" not in page.text and f"{PREFIX}/" not in page.text


def test_a_session_of_the_default_community_is_not_signed_in_elsewhere(platform, people, web_session):
    assert log_in(web_session, username="wang").status_code == 303
    elsewhere = web_session.get(f"{PREFIX}/roster", allow_redirects=False)
    assert elsewhere.status_code == 303
    assert elsewhere.headers["Location"].startswith(f"{PREFIX}/login?next=%2Froster")
    assert web_session.get("/roster").status_code == 200, "still signed in at home"


def test_tokens_and_revocations_are_the_communitys(platform, people):
    with call(platform, "organiser", {}) as organiser:
        answer = organiser.issue_token(username="li", password=PASSWORD, community=SECOND_COMMUNITY)
        claims = jwt.decode(answer["token"], options={"verify_signature": False})
        assert claims["com"] == SECOND_COMMUNITY and claims["sub"] == f"account:li@{SECOND_COMMUNITY}"
        home = jwt.decode(
            organiser.issue_token(username="wang", password=PASSWORD)["token"], options={"verify_signature": False}
        )
        assert "com" not in home and home["sub"] == "account:wang"
    with call(platform, "organiser", {"identity": answer["token"]}) as organiser:
        renewed = jwt.decode(organiser.renew_token()["token"], options={"verify_signature": False})
        assert renewed["com"] == SECOND_COMMUNITY and renewed["sub"] == claims["sub"]
    with call(platform, "organiser", THERE) as organiser:
        assert organiser.revoke_identity(subject="volunteer:1")["subject"] == f"volunteer:1@{SECOND_COMMUNITY}"
        gone = organiser.deactivate_account(username="wang")
        assert gone["active"] is False
    with call(platform, "organiser", HERE) as organiser:
        assert [a["active"] for a in organiser.list_accounts()] == [True], "the default community's wang stays"
        organiser.revoke_identity(subject="volunteer:1")
        with pytest.raises(InvalidInput):
            organiser.revoke_identity(subject=f"volunteer:2@{SECOND_COMMUNITY}")
    with call(platform, "organiser", identity.service_context("volunteers", platform)) as organiser:
        known = {r["subject"] for r in organiser.list_revocations()}
    assert known == {"volunteer:1", f"volunteer:1@{SECOND_COMMUNITY}", f"account:wang@{SECOND_COMMUNITY}"}


def test_the_command_line_works_in_the_community_it_is_told(platform, people, run_cli, web_session):
    listed = run_cli("--community", SECOND_COMMUNITY, "volunteers", "list")
    assert listed.returncode == 0, listed.stderr
    assert "赵六" in listed.stdout and "张三" not in listed.stdout
    home = run_cli("volunteers", "list")
    assert "张三" in home.stdout and "赵六" not in home.stdout

    added = run_cli(
        "--community", SECOND_COMMUNITY, "organisers", "add", "zhou", "--password-stdin", input=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    form = web_session.get(f"{PREFIX}/login")
    done = web_session.post(
        f"{PREFIX}/login",
        data={"username": "zhou", "password": PASSWORD, "csrf": csrf_of(form.text), "next": "/roster"},
        allow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["Location"] == f"{PREFIX}/roster"
    assert log_in(web_session, username="zhou").status_code == 401

    printed = run_cli("token", "--community", SECOND_COMMUNITY, "--role", "viewer", "--name", "看板")
    assert printed.returncode == 0, printed.stderr
    claims = jwt.decode(printed.stdout.strip(), options={"verify_signature": False})
    assert claims["com"] == SECOND_COMMUNITY and claims["sub"].endswith(f"@{SECOND_COMMUNITY}")
    accounts = json.loads(run_cli("--community", SECOND_COMMUNITY, "organisers", "list", "--json").stdout)
    assert sorted(a["username"] for a in accounts) == ["li", "wang", "zhou"]
