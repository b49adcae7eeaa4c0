"""The rules of residents' references and reply links (appeals.domain): no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from appeals import domain
from appeals.dependencies import ReplyLinks
from guanyinli.timeutil import TZ

KEY = b"k" * 32
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=TZ)


def test_a_reference_is_gy_and_six_digits():
    assert domain.reference(42) == "GY000042" and domain.reference(1234567) == "GY1234567"


@pytest.mark.parametrize(
    "phone, texted",
    [
        ("13911112222", "13911112222"),
        ("+8613911112222", "13911112222"),
        ("139 1111 2222", "13911112222"),
        ("025-83123456", None),  # a landline: no text, the handler asks
        (None, None),
    ],
)
def test_only_a_mobile_number_gets_a_text(phone, texted):
    assert domain.mobile(phone) == texted


def test_a_link_is_made_again_from_its_nonce_and_key_only():
    token = domain.reply_token(KEY, 7, "ab" * 16)
    assert token == domain.reply_token(KEY, 7, "ab" * 16) and len(token) == 24
    assert token != domain.reply_token(KEY, 8, "ab" * 16)
    assert token != domain.reply_token(KEY, 7, "cd" * 16)
    assert token != domain.reply_token(b"another key", 7, "ab" * 16)
    assert domain.token_digest(token) != token and len(domain.token_digest(token)) == 64


def test_a_link_takes_one_answer_within_its_days():
    expires = T0 + timedelta(days=domain.REPLY_LINK_DAYS)
    assert domain.check_reply_link(expires, None, T0) is None
    for args, reason in (
        ((None, None, T0), "unknown"),
        ((expires, T0, T0), "used"),
        ((expires, None, expires), "expired"),
        ((expires, T0, expires), "used"),
    ):
        with pytest.raises(domain.ReplyRefused) as refused:
            domain.check_reply_link(*args)
        assert refused.value.reason == reason


def test_a_reply_link_is_the_page_of_the_appeals_community():
    links = ReplyLinks.from_config({"ORGANISER_PUBLIC_URL": "https://x.example/", "COMMUNITIES": "guanyinli,wutaishan"})
    assert links.url("T0k") == "https://x.example/appeal/reply/T0k"
    assert links.url("T0k", "guanyinli") == "https://x.example/appeal/reply/T0k"
    assert links.url("T0k", "wutaishan") == "https://x.example/c/wutaishan/appeal/reply/T0k"
