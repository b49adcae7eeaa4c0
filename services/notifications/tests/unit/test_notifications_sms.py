"""Text messages without a network: the TC3-HMAC-SHA256 signer against Tencent's worked example,
phone numbers in E.164 and masked, Tencent's answers and error codes, the sink's lines, the short
texts of every message kind, and the settings."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from datetime import datetime

import eventlet
import pytest

from guanyinli.timeutil import TZ
from notifications import domain, rendering
from notifications.channels import DeliveryFailed, OutgoingMessage, Recipient, SmsChannel
from notifications.dependencies import Settings, check_sms
from notifications.sms import (
    ACCOUNT,
    PERMANENT,
    RETRY,
    SinkSms,
    TencentCloudSms,
    classify,
    e164,
    mask,
    parse_templates,
    read_answer,
    scrub,
    tc3_sign,
)

# --- the signer ----------------------------------------------------------------------------------


def test_tc3_signature_reproduces_tencents_worked_example():
    """Tencent Cloud API 3.0, "Signature v3" (签名方法 v3), worked example: DescribeInstances of CVM
    in ap-guangzhou, SecretId AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE, SecretKey
    Gu5t9xGARNpq86cd98joQYCN3EXAMPLE, X-TC-Timestamp 1551113065, signed headers content-type and
    host. The figures below are the ones that page gives for each step: the payload's hash
    35e9c5b0..., the canonical request's hash 5ffe6a04..., the signature 72e494ea... and the
    Authorization header (the page is repeated in each product's API documentation, e.g.
    https://tencentcloud.com/document/api/266/34114, section "TC3-HMAC-SHA256 Signature Algorithm")."""
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    signed = tc3_sign(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        "cvm",
        1551113065,
        {"Content-Type": "application/json; charset=utf-8", "Host": "cvm.tencentcloudapi.com"},
        payload,
    )
    assert hashlib.sha256(payload).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    assert signed.canonical_request == (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
        "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert signed.string_to_sign == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert signed.signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert signed.authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_the_credential_date_is_the_utc_date_of_the_timestamp():
    """1551113065 is 2019-02-26 00:44:25 in Beijing but still the 25th in UTC (Tencent's note)."""
    signed = tc3_sign("id", "key", "sms", 1551113065, {"Host": "sms.tencentcloudapi.com"}, b"{}")
    assert "\n2019-02-25/sms/tc3_request\n" in signed.string_to_sign


def test_the_signature_covers_the_body_the_headers_and_the_key():
    base = dict(secret_id="id", secret_key="key", service="sms", timestamp=1700000000, payload=b'{"a":1}')
    headers = {"Content-Type": "application/json; charset=utf-8", "Host": "h", "X-TC-Action": "SendSms"}
    first = tc3_sign(headers=headers, **base).signature
    assert tc3_sign(headers=headers, **{**base, "payload": b'{"a":2}'}).signature != first
    assert tc3_sign(headers={**headers, "X-TC-Action": "PullSmsSendStatus"}, **base).signature != first
    assert tc3_sign(headers=headers, **{**base, "secret_key": "other"}).signature != first
    assert tc3_sign(headers=headers, **{**base, "timestamp": 1700000001}).signature != first
    # names and values are compared in lower case, trimmed, in any order
    same = {" host ": "h", "x-tc-action": " sendsms", "content-type": "application/json; charset=utf-8"}
    assert tc3_sign(headers=same, **base).signature == first
    assert "SignedHeaders=content-type;host;x-tc-action," in tc3_sign(headers=headers, **base).authorization


# --- phone numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["13912344770", "+8613912344770", "8613912344770", "008613912344770", "139 1234 4770", "+86 139-1234-4770"],
)
def test_a_mainland_mobile_number_in_e164(written):
    assert e164(written) == "+8613912344770"


def test_other_countries_stay_as_written_and_anything_else_is_no_mobile_number():
    assert e164("+447911123456") == "+447911123456"
    for wrong in ("025-83123456", "02583123456", "1391234477", "139123447701", "12912344770", "", None, "+86025831234"):
        with pytest.raises(ValueError):
            e164(wrong)


def test_masked_numbers_keep_three_and_four_digits():
    assert mask("13912344770") == mask("+86 139 1234 4770") == "139****4770"
    assert mask("+447911123456") == "447****3456"
    assert mask("025-83123456") == "025****3456"
    assert mask("12345") == mask(None) == "****"
    assert scrub("number +8613912344770 refused, code 123456") == "number 139****4770 refused, code ****"


# --- Tencent's answers ---------------------------------------------------------------------------


def _answer(**response) -> bytes:
    return json.dumps({"Response": {"RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279", **response}}).encode()


def _status(code: str, message: str = "") -> dict:
    return {
        "SerialNo": "5000:1045710669157053657849499619",
        "PhoneNumber": "+8613912344770",
        "Fee": 1,
        "SessionContext": "",
        "Code": code,
        "Message": message,
        "IsoCode": "CN",
    }


def test_a_sent_message_answers_its_serial_number():
    body = _answer(SendStatusSet=[_status("Ok", "send success")])
    assert read_answer(200, body) == "5000:1045710669157053657849499619"


@pytest.mark.parametrize(
    "code, outcome",
    [
        ("InvalidParameterValue.IncorrectPhoneNumber", PERMANENT),
        ("FailedOperation.PhoneNumberInBlacklist", PERMANENT),
        ("FailedOperation.TemplateIncorrectOrUnapproved", PERMANENT),
        ("FailedOperation.SignatureIncorrectOrUnapproved", PERMANENT),
        ("InvalidParameterValue.TemplateParameterFormatError", PERMANENT),
        ("InvalidParameterValue.TemplateParameterLengthLimit", PERMANENT),
        ("UnsupportedOperation.UnsuportedRegion", PERMANENT),
        ("AuthFailure.SignatureFailure", ACCOUNT),
        ("AuthFailure.SecretIdNotFound", ACCOUNT),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", ACCOUNT),
        ("FailedOperation.InsufficientBalanceInSmsPackage", ACCOUNT),
        ("InvalidParameterValue.SdkAppIdNotExist", ACCOUNT),
        ("LimitExceeded.PhoneNumberThirtySecondLimit", RETRY),
        ("LimitExceeded.PhoneNumberDailyLimit", RETRY),
        ("RequestLimitExceeded", RETRY),
        ("InternalError.Timeout", RETRY),
        ("InternalError.SendAndRecvFail", RETRY),
        ("SomethingNew.NeverSeen", RETRY),
    ],
)
def test_error_codes_decide_whether_to_try_again(code, outcome):
    assert classify(code) == outcome
    for body in (_answer(SendStatusSet=[_status(code, "refused")]), _answer(Error={"Code": code, "Message": "no"})):
        with pytest.raises(DeliveryFailed) as failed:
            read_answer(200, body)
        assert (failed.value.permanent, failed.value.unreachable) == (outcome == PERMANENT, outcome == ACCOUNT)
        assert code in str(failed.value) and "a0aabda6" in str(failed.value)


def test_an_answer_that_is_not_tencents_is_tried_again():
    with pytest.raises(DeliveryFailed) as failed:
        read_answer(502, b"<html>Bad Gateway</html>")
    assert not failed.value.permanent and failed.value.unreachable
    with pytest.raises(DeliveryFailed) as failed:
        read_answer(200, _answer(SendStatusSet=[]))
    assert not failed.value.permanent and not failed.value.unreachable


def test_a_number_quoted_in_an_error_is_masked():
    body = _answer(Error={"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "bad +8613912344770"})
    with pytest.raises(DeliveryFailed) as failed:
        read_answer(200, body)
    assert "13912344770" not in str(failed.value) and "139****4770" in str(failed.value)


def test_templates_are_kind_equals_id_pairs():
    assert parse_templates(" sign_in_code=101, reminder_24h.en=102 ,") == {
        "sign_in_code": "101",
        "reminder_24h.en": "102",
    }
    assert parse_templates("") == {} and parse_templates(None) == {}
    with pytest.raises(ValueError, match="expected kind=template id"):
        parse_templates("sign_in_code")


def test_the_request_body_and_headers_of_sendsms():
    client = TencentCloudSms("AKIDtest", "s3cret-key", "1400000000", "观音里社区", {"sign_in_code": "101"})
    body = client.body("+8613912344770", "101", ("123456", "5"))
    assert json.loads(body) == {
        "PhoneNumberSet": ["+8613912344770"],
        "SmsSdkAppId": "1400000000",
        "SignName": "观音里社区",
        "TemplateId": "101",
        "TemplateParamSet": ["123456", "5"],
    }
    headers = client.headers(body, 1700000000)
    assert headers["Host"] == "sms.tencentcloudapi.com" and headers["X-TC-Action"] == "SendSms"
    assert headers["X-TC-Version"] == "2021-01-11" and headers["X-TC-Region"] == "ap-guangzhou"
    assert headers["X-TC-Timestamp"] == "1700000000"
    assert headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDtest/2023-11-14/sms/tc3_request, ")
    assert "s3cret" not in repr(client)


def test_a_tencent_provider_names_what_it_lacks():
    with pytest.raises(ValueError, match="TENCENT_SMS_SECRET_KEY, TENCENT_SMS_SIGN_NAME"):
        TencentCloudSms("id", "", "1400000000", None, {})


def test_without_a_template_or_a_mobile_number_nothing_is_sent():
    client = TencentCloudSms("id", "key", "1400000000", "sign", {"sign_in_code": "101"}, endpoint="http://127.0.0.1:9")
    with pytest.raises(DeliveryFailed, match="no Tencent SMS template for reminder_2h") as failed:
        client.send("13912344770", "reminder_2h", ("a",), "a")
    assert failed.value.permanent
    with pytest.raises(DeliveryFailed, match="not a mobile number: 025") as failed:
        client.send("025-83123456", "sign_in_code", ("123456", "5"), "x")
    assert failed.value.permanent


# --- the sink ------------------------------------------------------------------------------------

AT = datetime(2026, 11, 26, 17, 0, tzinfo=TZ)


def test_the_sink_writes_one_json_line_per_message(tmp_path):
    path = tmp_path / "var" / "sms.log"
    sink = SinkSms(path, clock=lambda: AT)
    first = sink.send("13912344770", "sign_in_code", ("123456", "5"), "观音里志愿者登录验证码：123456")
    sink.send("+86 138 0000 0000", "reminder_2h", ("巡逻", "11月26日", "19:00"), "即将开始")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {
        "time": "2026-11-26T17:00:00+08:00",
        "id": first,
        "phone": "+8613912344770",
        "kind": "sign_in_code",
        "text": "观音里志愿者登录验证码：123456",
        "params": ["123456", "5"],
    }
    assert lines[1]["phone"] == "+8613800000000" and lines[1]["kind"] == "reminder_2h"
    assert first.startswith("sink-") and lines[1]["id"] != first
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_the_sink_refuses_a_landline_and_fails_unreachable_when_it_cannot_write(tmp_path):
    with pytest.raises(DeliveryFailed) as failed:
        SinkSms(tmp_path / "sms.log").send("025-83123456", "reminder_2h", (), "x")
    assert failed.value.permanent
    with pytest.raises(DeliveryFailed) as failed:
        SinkSms(tmp_path).send("13912344770", "reminder_2h", (), "x")  # a directory
    assert failed.value.unreachable and not failed.value.permanent


def test_greenlets_writing_at_once_leave_whole_lines(tmp_path):
    sink = SinkSms(tmp_path / "sms.log")
    pool = eventlet.GreenPool(50)
    for i in range(200):
        pool.spawn(sink.send, "13912344770", "reminder_2h", (str(i),), "巡逻" * 500)
    pool.waitall()
    lines = [json.loads(line) for line in (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()]
    assert sorted(int(line["params"][0]) for line in lines) == list(range(200))


def test_processes_writing_at_once_leave_whole_lines(tmp_path):
    """Replicas share one sink file: every line is one append, so lines never mix."""
    path = tmp_path / "sms.log"
    script = (
        "import sys; from notifications.sms import SinkSms\n"
        "sink = SinkSms(sys.argv[1])\n"
        "for i in range(150): sink.send('13912344770', 'reminder_2h', (sys.argv[2], str(i)), '巡逻' * 3000)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writers = [subprocess.Popen([sys.executable, "-c", script, str(path), str(n)], env=env) for n in range(3)]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0]
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 450 and all(line["text"] == "巡逻" * 3000 for line in lines)


# --- the channel and the short texts -------------------------------------------------------------


def _message(kind: str, context: dict, phone: str | None = "13912344770", language: str = "zh") -> OutgoingMessage:
    return OutgoingMessage(
        message_id="<m@notifications.guanyinli>",
        kind=kind,
        language=language,
        subject="s",
        text="the email's text",
        recipient=Recipient(5, "王芳", None, phone),
        sent_at=AT,
        data=context,
    )


DUTY = {"title": "第3网格夜间巡逻", "start": "2026-11-26T19:00:00+08:00", "end": "2026-11-26T21:00:00+08:00"}
SHIFT = {"shift_id": "31", "grid_id": 3, **{k: DUTY[k] for k in ("start", "end")}, "occurrence_id": 31}
ROSTER = {"roster_id": 2, "roster_start": "2026-11-23T00:00:00+08:00", "roster_end": "2026-11-29T00:00:00+08:00"}
SWAP = {"swap_id": 7, "roster_id": 2, "other_id": 6, "other_name": "李明", "proposer": False, "shifts": [SHIFT]}
STANDIN = {
    "title": DUTY["title"],
    "duty_start": DUTY["start"],
    "duty_end": DUTY["end"],
    "offer_id": 4,
    "role": "巡逻队员",
}
APPEAL = {"appeal_id": 12, "category": "government_affairs_at_home", "grid_id": 6, "courtyard": None}
ESCALATION = {**APPEAL, "stage": "visit", "level": "grid_leader", "deadline": DUTY["start"]}
LINK = "https://gyl.example.org/appeal/reply/AbCdEfGhIjKlMnOpQrStUvWx"
CONTEXTS = {
    "sign_in_code": {"code": "123456", "minutes": 5},
    "appeal_code": {"code": "123456", "minutes": 5},
    "appeal_closed": {"reference": "GY000042", "link": LINK},
    "reminder_24h": {**DUTY, "lead": "24h", "place": "观音里3号院"},
    "reminder_2h": {**DUTY, "lead": "2h", "place": None},
    "signup_confirmed": {**DUTY, "role": "巡逻队员"},
    "signup_waitlisted": {**DUTY, "role": "巡逻队员", "waitlist_position": 2},
    "signup_promoted": {**DUTY, "role": "巡逻队员"},
    "signup_cancelled": {**DUTY, "role": "巡逻队员"},
    "occurrence_cancelled": {**DUTY, "reason": "大雨"},
    "occurrence_changed": {**DUTY, "previous_start": DUTY["start"], "previous_end": DUTY["end"]},
    "roster_published": {**ROSTER, "added": [SHIFT, SHIFT], "removed": []},
    "roster_repaired": {**ROSTER, "added": [SHIFT], "removed": [SHIFT, SHIFT]},
    "swap_proposed": SWAP,
    "swap_accepted": SWAP,
    "swap_declined": SWAP,
    "swap_withdrawn": SWAP,
    "digest": {"period": ROSTER["roster_start"], "items": [{"kind": "x", "context": {}}] * 3, "duties": [DUTY]},
    "standin_offered": {**STANDIN, "audience": "candidate"},
    "standin_taken": {**STANDIN, "audience": "taker"},
    "standin_unfilled": {**STANDIN, "audience": "volunteer"},
    "appeal_assigned": {**APPEAL, "audience": "handler"},
    "appeal_escalated": {**ESCALATION, "audience": "leader"},
}


def test_every_message_kind_has_a_short_text_in_both_languages():
    assert set(rendering.kinds("zh")) | {"sign_in_code", "appeal_code", "appeal_closed"} == set(CONTEXTS)
    assert set(rendering.SMS_TEXTS["zh"]) == set(rendering.SMS_TEXTS["en"]) == set(rendering.SMS_KINDS)
    for kind, context in CONTEXTS.items():
        for language, limit in (("zh", 70), ("en", 160)):  # one SMS: 70 Chinese or 160 Latin characters
            short = rendering.short(kind, language, context)
            # a resident's link goes whole (a cut link leads nowhere): its text may take two messages
            link = len(LINK) if LINK in short.params else 0
            assert "{" not in short.text and len(short.text) - link <= limit, (kind, language, short.text)
            params = [p for p in short.params if p != LINK]
            assert all(0 < len(p) <= rendering.SMS_PARAM_MAX for p in params), (kind, short.params)
            assert short.template.endswith(".en") == (language == "en")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_each_reader_of_an_appeal_reads_a_short_text_of_their_own(language):
    texts = {
        rendering.short(kind, language, {**context, "audience": audience})
        for kind, context in (("appeal_assigned", APPEAL), ("appeal_escalated", ESCALATION))
        for audience in ("handler", "leader", "organisers")
    }
    assert {t.template.removesuffix(".en") for t in texts} == {
        "appeal_assigned",
        "appeal_assigned_organisers",
        "appeal_escalated",
        "appeal_escalated_leader",
        "appeal_escalated_organisers",
    }
    for text in texts:
        assert "{" not in text.text and len(text.text) <= (70 if language == "zh" else 160)
        assert all(0 < len(p) <= rendering.SMS_PARAM_MAX for p in text.params)


def test_the_short_texts_say_what_and_when():
    assert rendering.short("sign_in_code", "zh", CONTEXTS["sign_in_code"]).text == (
        "观音里志愿者登录验证码：123456，5分钟内有效。请勿告诉他人。"
    )
    assert rendering.short("sign_in_code", "en", CONTEXTS["sign_in_code"]).text == (
        "Guanyinli volunteers sign-in code: 123456, valid for 5 minutes. Do not tell anyone."
    )
    assert rendering.short("appeal_code", "zh", CONTEXTS["appeal_code"]).text == (
        "观音里社区诉求验证码：123456，5分钟内有效，用于提交诉求。请勿告诉他人。"
    )
    closed = rendering.short("appeal_closed", "zh", CONTEXTS["appeal_closed"])
    assert closed.params == ("GY000042", LINK) and LINK in closed.text and "已办结" in closed.text
    reminder = rendering.short("reminder_2h", "zh", CONTEXTS["reminder_2h"])
    assert reminder == rendering.Short(
        "reminder_2h",
        ("第3网格夜间巡逻", "11月26日", "19:00"),
        "即将开始：第3网格夜间巡逻，11月26日 19:00。感谢您的付出！",
    )
    english = rendering.short("reminder_24h", "en", CONTEXTS["reminder_24h"])
    assert english.template == "reminder_24h.en" and english.params[1:] == ("Thu 26 Nov", "19:00")
    long_title = rendering.short("signup_confirmed", "zh", {**DUTY, "title": "林红汉周末爱心学堂第二组作业辅导"})
    assert long_title.params[0] == "林红汉周末爱心学堂第二…"
    assert rendering.short("roster_repaired", "zh", CONTEXTS["roster_repaired"]).params[2:] == ("1", "2")
    asked = rendering.short("swap_proposed", "zh", SWAP)
    sent = rendering.short("swap_proposed", "zh", {**SWAP, "proposer": True})
    assert (asked.template, sent.template) == ("swap_proposed", "swap_proposed_sent")
    assert "李明想与您换班" in asked.text and "等待李明答复" in sent.text
    assert rendering.short("swap_proposed", "en", {**SWAP, "other_name": None}).params == ("7", "volunteer 6")
    assert rendering.short("appeal_escalated", "zh", CONTEXTS["appeal_escalated"]).text == (
        "诉求超时：第6网格政务上门诉求（编号12）应在11月26日 19:00前上门，请督办。"
    )


def test_the_sms_channel_sends_the_short_text_to_the_recipients_phone(tmp_path):
    channel = SmsChannel(SinkSms(tmp_path / "sms.log", clock=lambda: AT))
    assert channel.unreachable(Recipient(5, "王芳", "a@example.cn", None)) == "the volunteer has no phone number"
    channel.send(_message("reminder_2h", CONTEXTS["reminder_2h"]))
    [line] = [json.loads(x) for x in (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()]
    assert line["phone"] == "+8613912344770" and line["kind"] == "reminder_2h"
    assert line["text"] == "即将开始：第3网格夜间巡逻，11月26日 19:00。感谢您的付出！"
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(_message("reminder_2h", CONTEXTS["reminder_2h"], phone="025-83123456"))
    assert failed.value.permanent


# --- settings ------------------------------------------------------------------------------------


@pytest.fixture
def no_sms_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("SMS_", "TENCENT_SMS_")):
            monkeypatch.delenv(name)


def test_sms_goes_to_the_local_sink_unless_configured_otherwise(no_sms_environment, tmp_path, monkeypatch):
    settings = Settings.from_config({})
    assert settings.sms_provider == "sink" and "sms" in settings.channels
    assert isinstance(settings.sms(), SinkSms) and settings.sms().path.name == "sms.log"
    monkeypatch.setenv("SMS_SINK_PATH", str(tmp_path / "texts.log"))
    assert Settings.from_config({}).sms().path == tmp_path / "texts.log"
    off = Settings.from_config({"SMS": {"PROVIDER": "off"}})
    assert "sms" not in off.channels and off.sms() is None
    with pytest.raises(ValueError, match="SMS_PROVIDER must be one of sink, tencent, off"):
        Settings.from_config({"SMS": {"PROVIDER": "pigeon"}})


def test_tencent_settings_come_from_the_environment_and_secrets_stay_out_of_reprs(no_sms_environment, monkeypatch):
    monkeypatch.setenv("SMS_PROVIDER", "tencent")
    monkeypatch.setenv("TENCENT_SMS_SECRET_ID", "AKIDsecretid")
    monkeypatch.setenv("TENCENT_SMS_SECRET_KEY", "the-secret-key")
    monkeypatch.setenv("TENCENT_SMS_SDK_APP_ID", "1400000000")
    monkeypatch.setenv("TENCENT_SMS_SIGN_NAME", "观音里社区")
    monkeypatch.setenv("TENCENT_SMS_TEMPLATES", "sign_in_code=101,reminder_2h=102")
    settings = Settings.from_config({"TENCENT_SMS": {"REGION": "ap-nanjing"}})
    provider = settings.sms()
    assert isinstance(provider, TencentCloudSms) and provider.region == "ap-nanjing"
    assert provider.templates == {"sign_in_code": "101", "reminder_2h": "102"}
    assert "the-secret-key" not in repr(settings) and "AKIDsecretid" not in repr(settings)
    assert "the-secret-key" not in repr(provider)


def test_at_start_a_tencent_provider_without_its_settings_stops_the_service(no_sms_environment, caplog):
    with pytest.raises(ValueError, match="TENCENT_SMS_SECRET_ID"):
        check_sms(Settings.from_config({"SMS": {"PROVIDER": "tencent"}}))
    tencent = {
        "SECRET_ID": "id",
        "SECRET_KEY": "s3cret-xyz",
        "SDK_APP_ID": "1",
        "SIGN_NAME": "s",
        "TEMPLATES": "digest=1",
    }
    with caplog.at_level(logging.WARNING):
        check_sms(Settings.from_config({"SMS": {"PROVIDER": "tencent"}, "TENCENT_SMS": tencent}))
    assert "no template for sign_in_code, reminder_24h" in caplog.text and "s3cret-xyz" not in caplog.text


def test_a_sink_outside_a_local_run_is_logged(no_sms_environment, monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("GUANYINLI_ENV", "production")
    with caplog.at_level(logging.WARNING):
        check_sms(Settings.from_config({"SMS": {"SINK_PATH": str(tmp_path / "sms.log")}}))
    assert "reach no phone" in caplog.text


def test_a_sign_in_request_sends_at_most_once_per_request_id():
    assert [domain.sign_in_step(s) for s in (None, "failed", "sent", "sending")] == [
        "send",
        "send",
        "answer",
        "refuse",
    ]


def test_each_reader_of_a_stand_in_gets_their_own_short_text():
    texts = {
        audience: rendering.short(kind, "zh", {**STANDIN, "audience": audience}).text
        for kind, audience in (
            ("standin_taken", "taker"),
            ("standin_taken", "volunteer"),
            ("standin_taken", "leader"),
            ("standin_offered", "leader"),
        )
    }
    assert texts["taker"].startswith("替班成功") and texts["volunteer"].startswith("已有人替您")
    assert texts["leader"].startswith("替班通知") and "11月26日 19:00" in texts["taker"]
