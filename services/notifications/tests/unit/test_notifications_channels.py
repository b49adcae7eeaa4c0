"""Channel adapters built without a network: the email headers, the webhook body and signature,
and where the settings come from (config, then environment, then defaults)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import datetime

import pytest

from guanyinli.timeutil import TZ
from notifications.channels import EmailChannel, OutgoingMessage, Recipient, WebhookChannel, sign
from notifications.dependencies import Settings

MESSAGE = OutgoingMessage(
    message_id="<abc@notifications.guanyinli>",
    kind="reminder_2h",
    language="zh",
    subject="即将开始：第3网格夜间巡逻 19:00",
    text="王芳，您好！\n……\n",
    recipient=Recipient(5, "王芳", "wangfang@example.cn", "13800000000"),
    sent_at=datetime(2026, 11, 26, 17, 0, tzinfo=TZ),
    data={"title": "第3网格夜间巡逻"},
)


def test_email_headers_carry_the_stable_message_id_and_utf8_text():
    email = EmailChannel("127.0.0.1", 25, sender="观音里社区 <noreply@guanyinli.example>").build(MESSAGE)
    assert email["Message-ID"] == "<abc@notifications.guanyinli>"
    assert email["Subject"] == MESSAGE.subject and "wangfang@example.cn" in email["To"]
    assert email.get_content() == MESSAGE.text and email.get_content_charset() == "utf-8"


def test_email_needs_an_address():
    channel = EmailChannel("127.0.0.1")
    assert channel.unreachable(Recipient(5, "王芳", None)) == "the volunteer has no email address"
    assert channel.unreachable(MESSAGE.recipient) is None


def test_webhook_signature_is_hmac_sha256_over_timestamp_and_body():
    channel = WebhookChannel("http://127.0.0.1:1/hook", "s3cret")
    body = channel.body(MESSAGE)
    assert json.loads(body)["subject"] == MESSAGE.subject and json.loads(body)["id"] == MESSAGE.message_id
    expected = hmac.new(b"s3cret", b"1764147600." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", "1764147600", body) == expected
    assert sign("other", "1764147600", body) != expected
    with pytest.raises(ValueError):
        WebhookChannel("http://127.0.0.1:1/hook", "")


def test_settings_come_from_config_then_environment_then_defaults(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "mail.example.cn")
    monkeypatch.setenv("SMTP_PORT", "587")
    monkeypatch.setenv("SMTP_STARTTLS", "true")
    monkeypatch.setenv("NOTIFICATIONS_MAX_ATTEMPTS", "4")
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("SMS_PROVIDER", raising=False)
    settings = Settings.from_config({"SMTP": {"PORT": 2525}, "NOTIFICATIONS": {"DIGEST_TIME": "09:30"}})
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("mail.example.cn", 2525, True)
    assert settings.max_attempts == 4 and settings.digest.at.hour == 9 and settings.digest.at.minute == 30
    assert settings.channels == ("email", "sms")  # no webhook without URL and secret; SMS to the local sink
    assert "webhook" in Settings.from_config({"WEBHOOK": {"URL": "http://x/h", "SECRET": "k"}}).channels


def _parsed(data: bytes):
    from email import message_from_bytes, policy

    return message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)


def test_email_text_goes_8bit_only_to_a_server_that_takes_it_else_base64():
    channel = EmailChannel("127.0.0.1", 25, sender="观音里社区 <noreply@guanyinli.example>")
    eight, encoding = channel.wire(MESSAGE, eight_bit=True)
    assert encoding == "8bit" and MESSAGE.text.replace("\n", "\r\n").encode() in eight
    seven, encoding = channel.wire(MESSAGE, eight_bit=False)
    assert encoding == "base64" and seven.isascii()
    for data in (eight, seven):  # base64 carries the text's canonical form, CRLF line ends
        email = _parsed(data)
        assert email.get_content().replace("\r\n", "\n") == MESSAGE.text and email["Subject"] == MESSAGE.subject
        assert email["From"] == "观音里社区 <noreply@guanyinli.example>" and email["Content-Language"] == "zh-CN"
    long_line = dataclasses.replace(MESSAGE, text="巡" * 400 + "\n")  # 1,200 bytes: over SMTP's 998
    data, encoding = channel.wire(long_line, eight_bit=True)
    assert encoding == "base64" and _parsed(data).get_content() == long_line.text.replace("\n", "\r\n")


def test_a_line_break_in_a_subject_or_name_cannot_add_a_header():
    forged = dataclasses.replace(
        MESSAGE,
        subject="通知\r\nBcc: someone@example.cn",
        recipient=Recipient(5, "王芳\nBcc: other@example.cn", "wangfang@example.cn"),
    )
    email = _parsed(EmailChannel("127.0.0.1").wire(forged, eight_bit=True)[0])
    assert (
        email["Bcc"] is None
        and "Bcc" in email["Subject"]
        and email["To"].addresses[0].addr_spec == ("wangfang@example.cn")
    )
