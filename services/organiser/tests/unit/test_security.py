"""Passwords, tokens, CSRF comparison, session expiry and cookie flags, without a server."""

from datetime import datetime, timedelta

import pytest

from organiser import security, web
from organiser.charts import fairness_histogram, qr_svg


def test_passwords_are_argon2id_salted_and_checked():
    first, second = security.hash_password("correct horse battery"), security.hash_password("correct horse battery")
    assert first.startswith("$argon2id$") and first != second
    assert security.verify_password(first, "correct horse battery")
    assert not security.verify_password(first, "correct horse batterY")
    assert not security.verify_password(None, "correct horse battery")  # unknown account
    assert not security.verify_password("not a hash", "x")


def test_short_passwords_are_refused():
    with pytest.raises(ValueError, match="at least 10"):
        security.hash_password("short")


def test_tokens_are_long_random_and_stored_as_digests():
    tokens = {security.new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)  # 256 bits in base64url
    token = tokens.pop()
    assert security.token_digest(token) == security.token_digest(token) != token
    assert len(security.token_digest(token)) == 64


@pytest.mark.parametrize(
    "expected, given, ok",
    [
        ("abc123", "abc123", True),
        ("abc123", "abc124", False),
        ("abc123", "", False),
        ("abc123", None, False),
        ("", "", False),
        (None, None, False),
    ],
)
def test_csrf_tokens_must_match_exactly(expected, given, ok):
    assert security.csrf_ok(expected, given) is ok


def test_sessions_end_when_idle_or_too_old():
    login = datetime(2026, 12, 7, 8, 0)
    fresh = security.SessionTimes(login, login)
    assert not fresh.expired(login + security.IDLE - timedelta(seconds=1))
    assert fresh.expired(login + security.IDLE)
    busy = security.SessionTimes(login, login + security.ABSOLUTE - timedelta(minutes=5))
    assert not busy.expired(login + security.ABSOLUTE - timedelta(minutes=1))
    assert busy.expired(login + security.ABSOLUTE)  # used all day long: still ends


def test_cookie_flags():
    header = security.cookie_header("gyl_session", "tok", 3600, secure=True)
    assert header == "gyl_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure"
    assert "Secure" not in security.cookie_header("gyl_session", "", 0, secure=False)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("/attendance?day=2026-12-07", "/attendance?day=2026-12-07"),
        ("//evil.example", "/roster"),
        ("https://evil.example", "/roster"),
        ("/\\evil.example", "/roster"),
        (None, "/roster"),
        ("roster", "/roster"),
        ("", "/roster"),
        ("/\t/evil.example", "/roster"),  # browsers drop the tab: //evil.example
        ("/%09/evil.example", "/roster"),
        ("/\n/evil.example", "/roster"),
        ("/%0d%0a/evil.example", "/roster"),
        ("/ /evil.example", "/roster"),
        ("/\u3000/evil.example", "/roster"),
        ("/%2F/evil.example", "/roster"),
        ("/%5Cevil.example", "/roster"),
        ("/\\/evil.example", "/roster"),
        ("https://evil.example", "/roster"),
        ("javascript:alert(1)", "/roster"),
        ("///evil.example", "/roster"),
        ("/roster/3?done=published", "/roster/3?done=published"),
        ("/volunteers?team=voluntary_patrol&grid=6", "/volunteers?team=voluntary_patrol&grid=6"),
        ("/volunteers?q=王芳", "/volunteers?q=%E7%8E%8B%E8%8A%B3"),
    ],
)
def test_redirects_stay_on_the_site(value, expected):
    assert web.safe_next(value) == expected


def test_fairness_chart_is_escaped_svg_with_one_bar_per_role_and_step():
    rows = [{"role": "leader", "delta": 1}, {"role": "patroller", "delta": 0}, {"role": "patroller", "delta": 0}]
    labels = {"title": "<b>公平</b>", "x": "x", "y": "y", "leader": "带队", "patroller": "巡逻员"}
    svg = str(fairness_histogram(rows, labels))
    assert svg.startswith("<svg") and "<b>" not in svg and "&lt;b&gt;" in svg
    assert svg.count("<rect") == 2 * 5 + 2  # roles x steps -2..+2, plus two legend swatches
    assert ">2</text>" in svg  # two patrollers at 0


def test_qr_code_is_an_svg_path_without_inline_style():
    svg = str(qr_svg("webcal://feeds.example/v/abc.ics", "订阅"))
    assert svg.startswith("<svg") and '<path d="M' in svg and "style=" not in svg


RULES = security.ThrottleRules(window=timedelta(minutes=15), per_address=6, per_pair=3, per_account=4)
T0 = datetime(2026, 12, 7, 8, 0)


def failures(name: str, address: str, count: int, start: datetime = T0) -> list[security.LoginFailure]:
    return [security.LoginFailure(name, address, start + timedelta(minutes=i)) for i in range(count)]


def test_one_address_guessing_one_name_waits_until_its_failures_leave_the_window():
    seen = failures("WangFang", "10.0.0.9", 3)
    now = T0 + timedelta(minutes=3)
    assert security.login_wait(RULES, seen[:2], "wangfang", "10.0.0.9", now) is None
    assert security.login_wait(RULES, seen, " wangfang", "10.0.0.9", now) == timedelta(minutes=12)
    assert security.login_wait(RULES, seen, "wangfang", "10.0.0.7", now) is None  # another address
    assert security.login_wait(RULES, seen, "liming", "10.0.0.9", now) is None  # another name
    assert security.login_wait(RULES, seen, "wangfang", "10.0.0.9", T0 + timedelta(minutes=15)) is None


def test_one_address_guessing_many_names_is_refused_for_every_name():
    seen = [security.LoginFailure(f"name{i}", "10.0.0.9", T0 + timedelta(minutes=i)) for i in range(6)]
    now = T0 + timedelta(minutes=6)
    assert security.login_wait(RULES, seen, "wangfang", "10.0.0.9", now) == timedelta(minutes=9)
    assert security.login_wait(RULES, seen, "wangfang", "10.0.0.7", now) is None


def test_a_flood_from_many_addresses_leaves_the_account_open_to_an_address_that_has_not_failed():
    seen = [security.LoginFailure("wangfang", f"10.0.1.{i}", T0 + timedelta(minutes=i)) for i in range(8)]
    now = T0 + timedelta(minutes=8)
    # each attacking address has failed once, below per_pair, yet waits while the account is flooded
    assert security.login_wait(RULES, seen, "wangfang", "10.0.1.7", now) == timedelta(minutes=14)
    assert security.login_wait(RULES, seen, "wangfang", "10.0.1.0", now) == timedelta(minutes=7)
    assert security.login_wait(RULES, seen, "wangfang", "192.168.1.20", now) is None  # the organiser's office
    assert security.login_wait(RULES, seen[:3], "wangfang", "10.0.1.1", now) is None  # below per_account


def test_failures_outside_the_window_do_not_count():
    seen = failures("wangfang", "10.0.0.9", 3, start=T0 - timedelta(minutes=20))
    assert security.login_wait(RULES, seen, "wangfang", "10.0.0.9", T0) is None


def test_login_keys_fold_case_and_spaces():
    assert security.login_key("  WangFang ") == "wangfang"
    assert len(security.login_key("x" * 500)) == 64


def test_the_client_address_is_the_peer_or_what_the_outermost_proxy_saw():
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    def request(forwarded=None):
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        return Request(EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"}).get_environ())

    assert web.client_address(request("6.6.6.6")) == "10.0.0.1"  # no proxy: the header is the client's say
    assert web.client_address(request("6.6.6.6, 203.0.113.7"), proxies=1) == "203.0.113.7"
    assert web.client_address(request("203.0.113.7, 192.168.0.2"), proxies=2) == "203.0.113.7"
    assert web.client_address(request(), proxies=1) == "10.0.0.1"
