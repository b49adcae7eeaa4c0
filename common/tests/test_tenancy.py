"""Communities as tenants (``guanyinli.tenancy``): which communities are served, where each one's
records are, which community a request is for, and the community claim of identity tokens."""

from __future__ import annotations

import pytest

from guanyinli import identity, tenancy
from guanyinli.identity import Issuer, KeyRing, Verifier, generate_keypair, load_signing_key


def test_the_default_installation_serves_guanyinli_only(monkeypatch):
    monkeypatch.delenv(tenancy.ENV, raising=False)
    assert tenancy.served() == ("guanyinli",)
    assert tenancy.default() == "guanyinli"


def test_communities_come_from_the_config_then_the_environment(monkeypatch):
    monkeypatch.setenv(tenancy.ENV, "gulou, wutaishan")
    assert tenancy.served() == ("gulou", "wutaishan")
    assert tenancy.served({"COMMUNITIES": ["guanyinli", "wutaishan", "guanyinli"]}) == ("guanyinli", "wutaishan")
    assert tenancy.default({"COMMUNITIES": "wutaishan,guanyinli"}) == "wutaishan"


@pytest.mark.parametrize("slug", ["", "A", "g", "1abc", "guan-yinli", "x" * 32, "../etc", "a b"])
def test_a_slug_is_lowercase_letters_and_digits(slug):
    with pytest.raises(tenancy.CommunityError):
        tenancy.check_slug(slug)
    with pytest.raises(tenancy.CommunityError):
        tenancy.served({"COMMUNITIES": ["guanyinli", slug or "-"]})


def test_each_community_has_storage_of_its_own():
    config = {"COMMUNITIES": "guanyinli,wutaishan"}
    assert tenancy.schema("guanyinli", config) is None
    assert tenancy.schema("wutaishan", config) == "community_wutaishan"
    assert (
        tenancy.storage_url("sqlite:////var/g/activities.db", "guanyinli", config) == "sqlite:////var/g/activities.db"
    )
    assert tenancy.storage_url("sqlite:////var/g/activities.db", "wutaishan", config) == (
        "sqlite:////var/g/activities.wutaishan.db"
    )
    assert tenancy.storage_url("sqlite:////var/g.d/activities", "wutaishan", config) == (
        "sqlite:////var/g.d/activities.wutaishan"
    )
    pg = "postgresql+psycopg2://u@h/activities"
    assert tenancy.storage_url(pg, "wutaishan", config) == pg
    with pytest.raises(tenancy.CommunityError):
        tenancy.storage_url("sqlite://", "wutaishan", config)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/c/wutaishan/feeds/abc.ics", ("wutaishan", "/feeds/abc.ics")),
        ("/c/wutaishan", ("wutaishan", "/")),
        ("/c/wutaishan/", ("wutaishan", "/")),
        ("/feeds/abc.ics", (None, "/feeds/abc.ics")),
        ("/c/Bad-Slug/x", (None, "/c/Bad-Slug/x")),
        ("/calendar", (None, "/calendar")),
    ],
)
def test_a_path_names_its_community_by_prefix(path, expected):
    assert tenancy.community_from_path(path) == expected


def test_paths_in_the_default_community_have_no_prefix():
    config = {"COMMUNITIES": "guanyinli,wutaishan"}
    assert tenancy.path_for("guanyinli", "/login", config) == "/login"
    assert tenancy.path_for("wutaishan", "/login", config) == "/c/wutaishan/login"


def _call(app, path):
    seen = {}

    def inner(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return [b"ok"]

    status = []
    body = tenancy.PathPrefix(inner if app is None else app, {"COMMUNITIES": "guanyinli,wutaishan"})(
        {"PATH_INFO": path, "SCRIPT_NAME": ""}, lambda s, h: status.append(s)
    )
    return status[0], b"".join(body), seen


def test_the_web_prefix_is_taken_off_and_remembered():
    status, _, environ = _call(None, "/c/wutaishan/feeds/t.ics")
    assert status == "200 OK"
    assert environ["PATH_INFO"] == "/feeds/t.ics"
    assert environ["SCRIPT_NAME"] == "/c/wutaishan"
    assert environ[tenancy.ENVIRON_KEY] == "wutaishan"
    status, _, environ = _call(None, "/feeds/t.ics")
    assert environ["PATH_INFO"] == "/feeds/t.ics" and tenancy.ENVIRON_KEY not in environ


def test_a_community_not_served_is_a_404_with_words():
    status, body, environ = _call(None, "/c/nowhere/login")
    assert status.startswith("404")
    assert b"nowhere" in body and not environ


@pytest.fixture
def issuer_and_verifier(tmp_path):
    generate_keypair(tmp_path, "tools")
    return Issuer("tools", load_signing_key(tmp_path / "tools.key")), Verifier(KeyRing(tmp_path))


def test_a_token_carries_its_community(issuer_and_verifier):
    issuer, verifier = issuer_and_verifier
    there = issuer.issue("account:li@wutaishan", ["organiser"], seconds=60, community="wutaishan")
    here = issuer.issue("account:wang", ["organiser"], seconds=60)
    assert verifier.identify(there).community == "wutaishan"
    assert verifier.identify(here).community is None  # the default community
    with pytest.raises(tenancy.CommunityError):
        issuer.issue("account:x", ["organiser"], seconds=60, community="Not A Slug")


def test_a_signed_claim_that_is_no_slug_makes_the_caller_anonymous(issuer_and_verifier):
    import jwt

    issuer, verifier = issuer_and_verifier
    token = issuer.issue("account:x", ["organiser"], seconds=60)
    claims = jwt.decode(token, options={"verify_signature": False})
    for bad in (["wutaishan"], "../x", 7):
        forged = jwt.encode({**claims, tenancy.CLAIM: bad}, issuer.key, algorithm=identity.ALGORITHM)
        assert verifier.identify(forged).anonymous


def test_subjects_of_other_communities_are_told_apart():
    assert identity.person_subject(["volunteer"], 12, None) == "volunteer:12"
    assert identity.person_subject(["volunteer"], 12, None, "wutaishan") == "volunteer:12@wutaishan"
    assert identity.person_subject(["organiser"], None, "li", "wutaishan") == "account:li@wutaishan"


class _Ctx:
    def __init__(self, args=(), config=None):
        self.args = args
        self.context_data = {}
        self.data = {}
        self.container = type("C", (), {"config": config or {"COMMUNITIES": "guanyinli,wutaishan"}})()


def test_a_worker_acts_for_the_community_of_its_request_or_of_its_loop(monkeypatch):
    class Request:
        environ = {tenancy.ENVIRON_KEY: "wutaishan"}

    monkeypatch.setattr(identity, "verifier_for", lambda config: Verifier(KeyRing(None)))
    assert tenancy.community_of(_Ctx(args=(Request(),))) == "wutaishan"
    worker = _Ctx()
    assert tenancy.community_of(worker) == "guanyinli"  # anonymous, no prefix: the default
    with tenancy.acting_for(worker, "wutaishan"):
        assert tenancy.community_of(worker) == "wutaishan"
    assert tenancy.community_of(worker) == "guanyinli"
    assert worker.data == {}, "nothing of it travels in the context data"


def test_a_community_is_called_by_its_file_or_else_its_slug(tmp_path):
    (tmp_path / "xiaoshi.json").write_text('{"name": "Xiaoshi Community", "name_zh": "小市社区"}', encoding="utf-8")
    config = {tenancy.DIR_SETTING: str(tmp_path)}
    assert tenancy.names("guanyinli", config) == ("Guanyinli", "观音里")
    assert tenancy.names("xiaoshi", config) == ("Xiaoshi", "小市")
    assert tenancy.names("nofile", config) == ("nofile", "nofile")
    assert tenancy.names("wutaishan") == ("Wutaishan", "五台山")  # the repository's config/communities


def test_a_timers_work_in_each_community_goes_on_past_one_that_fails_then_fails(caplog):
    from guanyinli.db import DatabaseHandle

    class Two(DatabaseHandle):
        def __init__(self):
            self.community = "two"

        def each_community(self):
            for slug in ("guanyinli", "wutaishan"):
                handle = Two()
                handle.community = slug
                yield handle

    done = []

    def work(handle):
        if handle.community == "guanyinli":
            raise RuntimeError("storage away")
        done.append(handle.community)

    with pytest.raises(RuntimeError, match="storage away"):
        Two().in_each_community("nothing sent", work)
    assert done == ["wutaishan"]
    assert "community guanyinli: nothing sent" in caplog.text
