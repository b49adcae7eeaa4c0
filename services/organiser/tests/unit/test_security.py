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


def test_login_throttle_locks_a_name_after_repeated_failures_then_lets_it_go():
    throttle = security.LoginThrottle(attempts=3, window=timedelta(minutes=10), lock=timedelta(minutes=10))
    t0 = datetime(2026, 12, 7, 8, 0)
    throttle.failed("WangFang", t0)
    throttle.failed("wangfang", t0 + timedelta(minutes=1))
    assert not throttle.locked("wangfang", t0 + timedelta(minutes=1))
    throttle.failed("wangfang", t0 + timedelta(minutes=2))
    assert throttle.locked("wangfang", t0 + timedelta(minutes=3)) and not throttle.locked("liming", t0)
    assert not throttle.locked("wangfang", t0 + timedelta(minutes=12))


def test_login_throttle_forgets_old_failures_and_successes():
    throttle = security.LoginThrottle(attempts=2, window=timedelta(minutes=10))
    t0 = datetime(2026, 12, 7, 8, 0)
    throttle.failed("wangfang", t0)
    throttle.failed("wangfang", t0 + timedelta(minutes=11))  # the first is out of the window
    assert not throttle.locked("wangfang", t0 + timedelta(minutes=11))
    throttle.succeeded("wangfang")
    throttle.failed("wangfang", t0 + timedelta(minutes=12))
    assert not throttle.locked("wangfang", t0 + timedelta(minutes=12))
