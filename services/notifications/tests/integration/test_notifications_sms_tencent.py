"""The Tencent Cloud SMS client over real HTTP, against a local stand-in for Tencent's endpoint that
checks every signature itself."""

from __future__ import annotations

import logging

import pytest
from notifications_testkit import TencentSmsStandIn

from notifications.channels import DeliveryFailed
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
