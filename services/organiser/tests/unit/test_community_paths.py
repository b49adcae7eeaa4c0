"""A community's answers under its ``/c/<slug>`` prefix (``web.under_root``), the subjects of its
tokens (``tokens``) and the command line's community, without a server."""

import jwt
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from guanyinli import tenancy
from organiser import credentials, tokens, web


def request_at(path: str) -> Request:
    environ = EnvironBuilder(path=path).get_environ()
    if path.startswith("/c/wutaishan"):  # as guanyinli.tenancy.PathPrefix leaves it
        environ["SCRIPT_NAME"], environ["PATH_INFO"] = "/c/wutaishan", path[len("/c/wutaishan") :]
    return Request(environ)


def page(html: str) -> Response:
    response = web.redirect("/login", next="/roster")
    response.status_code, response.mimetype = 200, "text/html"
    response.set_data(html)
    web.set_cookie(response, web.SESSION_COOKIE, "abc", 60, False)
    return response


HTML = (
    '<a href="/roster">r</a> <form action="/logout" method="post"></form> <script src="/static/app.js"></script>'
    ' <a href="//evil.example/">x</a> <a href="https://example.org/x">y</a> <p title="href=&#34;/x&#34;">z</p>'
)


def test_the_default_community_answers_as_it_always_did():
    answer = web.under_root(request_at("/roster"), page(HTML))
    assert answer.get_data(as_text=True) == HTML
    assert answer.headers["Location"] == "/login?next=%2Froster"
    assert "Path=/;" in answer.headers["Set-Cookie"]


def test_a_community_keeps_its_prefix_in_links_forms_redirects_and_cookies():
    answer = web.under_root(request_at("/c/wutaishan/roster"), page(HTML))
    html = answer.get_data(as_text=True)
    assert 'href="/c/wutaishan/roster"' in html and 'action="/c/wutaishan/logout"' in html
    assert 'src="/c/wutaishan/static/app.js"' in html
    assert 'href="//evil.example/"' in html and 'href="https://example.org/x"' in html
    assert 'title="href=&#34;/x&#34;"' in html, "text of data is left alone"
    assert answer.headers["Location"] == "/c/wutaishan/login?next=%2Froster"
    assert answer.headers.getlist("Set-Cookie") == [
        f"{web.SESSION_COOKIE}=abc; Path=/c/wutaishan/; HttpOnly; SameSite=Strict; Max-Age=60"
    ]
    again = web.under_root(request_at("/c/wutaishan/roster"), web.redirect("/c/wutaishan/roster"))
    assert again.headers["Location"] == "/c/wutaishan/roster", "a path already under the prefix stays"


def test_going_back_stays_in_the_community():
    environ = EnvironBuilder(path="/lang/en", headers={"Referer": "http://localhost/c/wutaishan/volunteers?x=1"})
    built = environ.get_environ()
    built["SCRIPT_NAME"], built["PATH_INFO"] = "/c/wutaishan", "/lang/en"
    assert web.back_to(Request(built)) == "/volunteers?x=1"
    elsewhere = EnvironBuilder(path="/lang/en", headers={"Referer": "http://localhost/c/other/volunteers"})
    built = elsewhere.get_environ()
    built["SCRIPT_NAME"], built["PATH_INFO"] = "/c/wutaishan", "/lang/en"
    assert web.back_to(Request(built)) == "/roster"


def test_subjects_name_their_community_unless_it_is_the_default():
    account = {"account": "wang", "roles": ["organiser"]}
    volunteer = {"volunteer_id": 12, "roles": ["volunteer"]}
    assert tokens.subject_of(account) == "account:wang" and tokens.subject_of(volunteer) == "volunteer:12"
    assert tokens.subject_of(account, "wutaishan") == "account:wang@wutaishan"
    assert tokens.subject_of(volunteer, "wutaishan") == "volunteer:12@wutaishan"
    assert tokens.account_of("account:wang@wutaishan", "wutaishan") == "wang"
    assert tokens.account_of("account:wang", "wutaishan") is None
    assert tokens.account_of("account:a@b") == "a@b" and tokens.account_of("volunteer:12") is None
    config = {"COMMUNITIES": "guanyinli,wutaishan"}
    assert tenancy.named("guanyinli", config) is None and tenancy.named("wutaishan", config) == "wutaishan"


def test_the_command_line_keeps_a_login_per_community(monkeypatch, tmp_path):
    monkeypatch.setenv("GUANYINLI_TOKEN_FILE", str(tmp_path / "token.json"))
    monkeypatch.delenv("GUANYINLI_COMMUNITIES", raising=False)
    assert tenancy.named(None) is None and tenancy.named("guanyinli") is None
    assert tenancy.named("wutaishan") == "wutaishan"
    assert credentials.token_file("wutaishan") == tmp_path / "token.wutaishan.json"
    credentials.save_login({"token": "t-w"}, "wutaishan")
    assert credentials.saved_login("wutaishan") == "t-w" and credentials.saved_login() is None


def test_a_given_token_of_another_community_is_refused_with_community(monkeypatch):
    home = jwt.encode({"sub": "account:wang"}, "k" * 32, algorithm="HS256")
    monkeypatch.setenv(credentials.ENV_TOKEN, home)
    assert credentials.context(renew=None) == {"identity": home}, "without --community: the token's own"
    with pytest.raises(credentials.NotSignedIn, match="another community"):
        credentials.context(renew=None, community="wutaishan")
