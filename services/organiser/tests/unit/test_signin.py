"""The rules of a volunteer's sign-in by SMS code (organiser.signin): no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from organiser import security, signin
from organiser.signin import CodeRefused, CodeRequest, CodeRules, IssuedCode

KEY = b"k" * 32
T0 = datetime(2026, 12, 7, 9, 0)


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("13912347700", "13912347700"),
        ("139 1234 7700", "13912347700"),
        ("+86-139-1234-7700", "13912347700"),
        ("8613912347700", "13912347700"),
        ("(139)12347700", "13912347700"),
        ("1391234770", None),  # ten digits
        ("12912347700", None),  # no mobile starts 12
        ("025-84561234", None),  # a landline gets no SMS
        ("", None),
        (None, None),
        ("139123477OO", None),
    ],
)
def test_mobile_numbers_as_people_type_them(typed, stored):
    assert signin.mobile_number(typed) == stored


def test_a_number_is_masked_to_its_first_three_and_last_four_digits():
    assert signin.masked("13912347700") == "139****7700"


def test_codes_are_six_digits_and_vary():
    codes = {signin.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150


def issued(code="123456", phone="13912347700", volunteer_id=7, tries=0, used=False, minutes=5):
    return IssuedCode(signin.digest(KEY, phone, code), volunteer_id, T0 + timedelta(minutes=minutes), tries, used)


def test_the_right_code_within_five_minutes_signs_its_volunteer_in():
    assert signin.check_code(KEY, issued(), "13912347700", "123456", T0 + timedelta(minutes=4)) == 7


@pytest.mark.parametrize(
    "code, at, row, reason",
    [
        ("123457", T0, issued(), "code_wrong"),
        ("12345", T0, issued(), "code_wrong"),
        ("123456", T0 + timedelta(minutes=5), issued(), "code_expired"),
        ("123456", T0, issued(tries=5), "code_used_up"),
        ("123456", T0, issued(used=True), "code_wrong"),
        ("123456", T0, None, "code_wrong"),
        # a number that is nobody's: the right digits still do not sign anyone in, and say only "wrong"
        ("123456", T0, issued(volunteer_id=None), "code_wrong"),
    ],
)
def test_codes_refused_and_why(code, at, row, reason):
    with pytest.raises(CodeRefused) as refused:
        signin.check_code(KEY, row, "13912347700", code, at)
    assert refused.value.reason == reason


def test_a_code_is_bound_to_its_number():
    with pytest.raises(CodeRefused):
        signin.check_code(KEY, issued(phone="13912347700"), "13912347701", "123456", T0)


def test_a_digest_needs_the_key():
    assert signin.digest(KEY, "13912347700") != signin.digest(b"other", "13912347700")


RULES = CodeRules()
PHONE, OTHER = "p1", "p2"


def asked(phone, address, minutes_ago):
    return CodeRequest(phone, address, T0 - timedelta(minutes=minutes_ago))


def test_a_first_code_may_be_asked_at_once():
    assert signin.code_wait(RULES, [], PHONE, "1.2.3.4", T0) is None


def test_a_second_code_for_the_same_number_waits_a_minute():
    wait = signin.code_wait(RULES, [asked(PHONE, "1.2.3.4", 0.5)], PHONE, "5.6.7.8", T0)
    assert wait == timedelta(seconds=30)


def test_five_codes_an_hour_per_number_from_any_address():
    requests = [asked(PHONE, f"10.0.0.{i}", 50 - 10 * i) for i in range(5)]  # 50, 40, ... 10 minutes ago
    assert signin.code_wait(RULES, requests, PHONE, "1.2.3.4", T0) == timedelta(minutes=10)
    assert signin.code_wait(RULES, requests, OTHER, "1.2.3.4", T0) is None


def test_twenty_codes_an_hour_per_address_whatever_the_numbers():
    requests = [asked(f"n{i}", "6.6.6.6", 59 - i) for i in range(20)]
    assert signin.code_wait(RULES, requests, PHONE, "6.6.6.6", T0) == timedelta(minutes=1)
    assert signin.code_wait(RULES, requests, PHONE, "7.7.7.7", T0) is None


def test_requests_older_than_the_window_do_not_count():
    requests = [asked(PHONE, "1.2.3.4", 61 + i) for i in range(10)]
    assert signin.code_wait(RULES, requests, PHONE, "1.2.3.4", T0) is None


def test_a_phone_session_ends_after_thirty_idle_days_or_ninety_in_all():
    fresh = security.SessionTimes(T0, T0, signin.IDLE, signin.ABSOLUTE)
    assert not fresh.expired(T0 + timedelta(days=29))
    assert fresh.expired(T0 + timedelta(days=30))
    used = security.SessionTimes(T0, T0 + timedelta(days=89), signin.IDLE, signin.ABSOLUTE)
    assert not used.expired(T0 + timedelta(days=89, hours=23))
    assert used.expired(T0 + timedelta(days=90))


def test_a_numbers_codes_are_kept_apart_by_purpose():
    sign_in, appeal = (signin.phone_digest(KEY, "13912347700", p) for p in signin.PURPOSES)
    assert sign_in == signin.digest(KEY, "13912347700")  # the volunteers' rows as they were
    assert appeal != sign_in and appeal == signin.phone_digest(KEY, "13912347700", "appeal")


def test_an_appeal_code_needs_no_volunteer_but_is_checked_as_a_sign_in_code():
    issued = IssuedCode(signin.digest(KEY, "13912347700", "123456"), None, T0 + timedelta(minutes=5), 0, False)
    assert signin.verify_code(KEY, issued, "13912347700", "123456", T0) is None
    with pytest.raises(CodeRefused, match="code_wrong"):
        signin.check_code(KEY, issued, "13912347700", "123456", T0)  # nobody to sign in
    with pytest.raises(CodeRefused, match="code_wrong"):
        signin.verify_code(KEY, issued, "13912347700", "654321", T0)
    with pytest.raises(CodeRefused, match="code_expired"):
        signin.verify_code(KEY, issued, "13912347700", "123456", T0 + timedelta(minutes=5))


def test_an_appeal_pass_names_the_number_and_code_for_thirty_minutes():
    made = signin.appeal_pass(KEY, "13912347700", 42, T0)
    assert signin.read_appeal_pass(KEY, made, T0 + timedelta(minutes=29)) == ("13912347700", 42)
    assert signin.read_appeal_pass(KEY, made, T0 + signin.PASS_TTL) is None
    phone, code_id, until, mac = made.split(".")
    for forged in (
        f"13900000000.{code_id}.{until}.{mac}",
        f"{phone}.43.{until}.{mac}",
        f"{phone}.{code_id}.{int(until) + 600}.{mac}",
        signin.appeal_pass(b"another key" * 3, "13912347700", 42, T0),
        "",
        None,
        "13912347700.42",
    ):
        assert signin.read_appeal_pass(KEY, forged, T0) is None, forged


def test_an_appeal_pass_is_good_in_its_own_community_only():
    """Code ids are each community's own: a pass of one community's page opens no other's form."""
    there = signin.appeal_pass(KEY, "13912347700", 42, T0, "wutaishan")
    assert signin.read_appeal_pass(KEY, there, T0, "wutaishan") == ("13912347700", 42)
    assert signin.read_appeal_pass(KEY, there, T0) is None
    assert signin.read_appeal_pass(KEY, there, T0, "other") is None
    assert signin.read_appeal_pass(KEY, signin.appeal_pass(KEY, "13912347700", 42, T0), T0, "wutaishan") is None


def test_codes_are_for_a_known_purpose_only():
    with pytest.raises(ValueError):
        signin.phone_digest(KEY, "13912347700", "lottery")
