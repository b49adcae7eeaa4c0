"""The Tencent Cloud SMS client over real HTTP, against a local stand-in for Tencent's endpoint that
checks every signature itself; and the notifications service sending a sign-in code through it."""

from __future__ import annotations

import logging

import pytest
from notifications_testkit import TencentSmsStandIn

from guanyinli.identity import service_context
from notifications.channels import DeliveryFailed
from notifications.exceptions import SmsUnavailable
from notifications.sms import TencentCloudSms

pytestmark = pytest.mark.integration

SECRET_ID = "AKIDguanyinlitest0000000000000000000"
SECRET_KEY = "guanyinli-test-secret-key-0123456789"
TEMPLATES = {"sign_in_code": "1100001", "reminder_2h": "1100002"}


@pytest.fixture
def tencent():
    standin = TencentSmsStandIn(SECRET_ID, SECRET_KEY).start()
    yield standin
    standin.stop()


def client(standin: TencentSmsStandIn, **overrides) -> TencentCloudSms:
    settings = {
        "secret_id": SECRET_ID,
        "secret_key": SECRET_KEY,
        "sdk_app_id": "1400000001",
        "sign_name": "观音里社区",
        "templates": TEMPLATES,
        "endpoint": standin.url,
        "timeout": 2.0,
        **overrides,
    }
    return TencentCloudSms(**settings)


def test_a_signed_sendsms_request_is_accepted(tencent, caplog):
    with caplog.at_level(logging.DEBUG):
        serial = client(tencent).send("139 1234 4770", "sign_in_code", ("654321", "5"), "验证码：654321")
    [request] = tencent.requests
    assert tencent.refused == [] and serial.startswith("5000:")
    assert request["body"] == {
        "PhoneNumberSet": ["+8613912344770"],
        "SmsSdkAppId": "1400000001",
        "SignName": "观音里社区",
        "TemplateId": "1100001",
        "TemplateParamSet": ["654321", "5"],
    }
    assert request["headers"]["X-TC-Region"] == "ap-guangzhou"
    logged = caplog.text
    assert "139****4770" in logged
    assert not any(secret in logged for secret in (SECRET_KEY, "13912344770", "654321"))


def test_a_wrong_key_or_an_old_timestamp_is_refused_by_the_endpoint(tencent):
    with pytest.raises(DeliveryFailed, match="AuthFailure.SignatureFailure") as failed:
        client(tencent, secret_key="not-the-key").send("13912344770", "reminder_2h", ("巡逻",), "x")
    assert failed.value.unreachable and not failed.value.permanent  # the account: every message would fail
    with pytest.raises(DeliveryFailed, match="AuthFailure.SignatureExpire"):
        client(tencent, clock=lambda: 1551113065).send("13912344770", "reminder_2h", ("巡逻",), "x")
    assert tencent.requests == [] and tencent.refused == ["AuthFailure.SignatureFailure", "AuthFailure.SignatureExpire"]


@pytest.mark.parametrize(
    "reply, permanent, unreachable",
    [
        ({"number": "LimitExceeded.PhoneNumberThirtySecondLimit"}, False, False),
        ({"error": "RequestLimitExceeded"}, False, False),
        ({"error": "InternalError.Timeout"}, False, False),
        ({"number": "InvalidParameterValue.IncorrectPhoneNumber"}, True, False),
        ({"error": "FailedOperation.TemplateIncorrectOrUnapproved"}, True, False),
        ({"error": "FailedOperation.SignatureIncorrectOrUnapproved"}, True, False),
        ({"error": "FailedOperation.InsufficientBalanceInSmsPackage"}, False, True),
        ({"http": 502}, False, True),
    ],
)
def test_tencents_errors_come_back_as_retry_or_not(tencent, reply, permanent, unreachable):
    tencent.replies.append(reply)
    with pytest.raises(DeliveryFailed) as failed:
        client(tencent).send("13912344770", "reminder_2h", ("巡逻",), "x")
    assert (failed.value.permanent, failed.value.unreachable) == (permanent, unreachable)
    assert len(tencent.requests) == 1  # the request was signed right: the endpoint took it


def test_a_time_out_or_a_closed_port_leaves_the_provider_unreachable(tencent):
    tencent.replies.append("hold")
    with pytest.raises(DeliveryFailed, match="ReadTimeout") as failed:
        client(tencent, timeout=0.3).send("13912344770", "reminder_2h", ("巡逻",), "x")
    assert failed.value.unreachable
    tencent.release()
    closed = TencentSmsStandIn(SECRET_ID, SECRET_KEY)
    closed.server.server_close()  # a port nothing listens on
    with pytest.raises(DeliveryFailed, match="ConnectionError") as failed:
        client(closed).send("13912344770", "reminder_2h", ("巡逻",), "x")
    assert failed.value.unreachable


def test_the_service_texts_a_sign_in_code_through_tencent_once_even_after_a_failure(
    tencent, start_service, call, sms_log
):
    start_service(
        SMS={"PROVIDER": "tencent"},
        TENCENT_SMS={
            "SECRET_ID": SECRET_ID,
            "SECRET_KEY": SECRET_KEY,
            "SDK_APP_ID": "1400000001",
            "SIGN_NAME": "观音里社区",
            "TEMPLATES": "sign_in_code=1100001, reminder_2h=1100002",
            "ENDPOINT": tencent.url,
            "TIMEOUT": 2,
        },
    )
    rpc = call(service_context("organiser"))
    tencent.replies.append({"error": "InternalError.SendAndRecvFail"})
    with pytest.raises(SmsUnavailable) as refused:
        rpc.send_sign_in_code(phone="13912344770", code="246810", request_id="page-7")
    assert "try again" in str(refused.value) and refused.value.message_zh == "短信暂时无法发送，请稍后再试"
    answer = rpc.send_sign_in_code(phone="13912344770", code="246810", request_id="page-7")
    assert answer == {"sent": True, "phone_masked": "139****4770"}
    assert rpc.send_sign_in_code(phone="13912344770", code="246810", request_id="page-7") == answer
    assert [r["body"]["TemplateParamSet"] for r in tencent.requests] == [["246810", "5"], ["246810", "5"]]
    assert tencent.refused == [] and not sms_log.exists()  # not the sink
