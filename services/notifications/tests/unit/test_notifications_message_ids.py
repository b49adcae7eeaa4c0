"""Communities as tenants in notifications, the rules without I/O: each community's message ids and
organisers' address."""

from __future__ import annotations

from notifications import domain
from notifications.dependencies import organisers_email

TWO = {"COMMUNITIES": "guanyinli,wutaishan"}


def test_a_message_id_outside_the_default_community_names_its_community():
    stored = domain.message_id("reminder:7:24h", 5, "reminder_24h")
    assert domain.message_id_in(stored, None) == stored
    there = domain.message_id_in(stored, "wutaishan")
    assert there != stored and there == domain.message_id_in(stored, "wutaishan")
    assert there.startswith(stored[:-1].split("@")[0] + "@wutaishan.") and there.endswith(">")
    assert domain.message_id_in(stored, "other") != there


def test_the_organisers_address_is_each_communitys_own(monkeypatch):
    monkeypatch.delenv("NOTIFICATIONS_ORGANISERS_EMAIL", raising=False)
    one = {**TWO, "NOTIFICATIONS": {"ORGANISERS_EMAIL": "office@guanyinli.example"}}
    assert organisers_email(one, "guanyinli") == "office@guanyinli.example"
    assert organisers_email(one, "wutaishan") is None  # never the other community's office
    both = {**TWO, "NOTIFICATIONS": {"ORGANISERS_EMAIL": {"wutaishan": "office@wutaishan.example"}}}
    assert organisers_email(both, "wutaishan") == "office@wutaishan.example"
    assert organisers_email(both, "guanyinli") is None
    assert organisers_email(TWO, "guanyinli") is None
    monkeypatch.setenv("NOTIFICATIONS_ORGANISERS_EMAIL", "desk@guanyinli.example")
    assert organisers_email(TWO, "guanyinli") == "desk@guanyinli.example"
    assert organisers_email(TWO, "wutaishan") is None
