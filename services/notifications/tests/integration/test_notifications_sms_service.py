"""Text messages through the running notifications service (real broker, both databases, the local
SMS sink): sign-in codes for the organiser service's phone page, once per request_id and for that
service only; and the ``sms`` channel a volunteer chooses, with their phone number asked of the
volunteers service."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from notifications_testkit import local, signup, sms_lines, wait_for

from conftest import ORGANISER
from guanyinli.errors import Forbidden, InvalidInput, KeyReused
from guanyinli.identity import service_context
from guanyinli.testing import signed
from guanyinli.timeutil import now
from notifications.exceptions import ChannelUnavailable, SmsUnavailable
from notifications.models import Delivery

pytestmark = pytest.mark.integration

PHONE = "13912344770"
ZH_TEXT = "观音里志愿者登录验证码：123456，5分钟内有效。请勿告诉他人。"


@pytest.fixture
def page(service, call):
    """The organiser service's own proxy, as its volunteers' phone page calls."""
    return call(service_context("organiser"))


def test_a_sign_in_code_is_texted_once_per_request_id(page, sms_log, outbox, caplog):
    with caplog.at_level(logging.INFO):
        answer = page.send_sign_in_code(phone=PHONE, code="123456", request_id="login-1")
        assert answer == {"sent": True, "phone_masked": "139****4770"}
        [line] = sms_lines(sms_log)
        assert (line["phone"], line["kind"], line["text"]) == ("+8613912344770", "sign_in_code", ZH_TEXT)

        assert page.send_sign_in_code(phone=PHONE, code="123456", request_id="login-1") == answer
        # the code is not compared (nor kept): the same request_id with another code sends nothing
        assert page.send_sign_in_code(phone=PHONE, code="999999", request_id="login-1") == answer
        with pytest.raises(KeyReused):
            page.send_sign_in_code(phone="13800000000", code="123456", request_id="login-1")
        assert len(sms_lines(sms_log)) == 1

        english = page.send_sign_in_code(phone="+8613912344770", code="000123", language="en", request_id="login-2")
    assert english == answer
    assert sms_lines(sms_log)[1]["text"] == (
        "Guanyinli volunteers sign-in code: 000123, valid for 5 minutes. Do not tell anyone."
    )
    assert sms_lines(sms_log)[1]["kind"] == "sign_in_code.en"

    [first, second] = outbox.rows("SELECT * FROM sign_in_messages ORDER BY id")
    assert (first["scope"], first["request_id"], first["status"]) == ("service:organiser", "login-1", "sent")
    assert first["phone_masked"] == "139****4770" and first["provider_message_id"] == line["id"]
    stored = outbox.rows("SELECT * FROM sign_in_messages") + outbox.rows("SELECT * FROM request_keys_notifications")
    stored += outbox.rows("SELECT * FROM rpc_requests_notifications")
    for secret in ("123456", "000123", PHONE):
        assert secret not in str(stored), f"{secret} stored"
        assert secret not in caplog.text, f"{secret} logged"
    assert "139****4770" in caplog.text


def test_a_code_for_a_residents_appeal_says_so(page, sms_log):
    page.send_sign_in_code(phone=PHONE, code="123456", request_id="appeal-1", purpose="appeal")
    [line] = sms_lines(sms_log)
    assert line["kind"] == "appeal_code" and "诉求验证码：123456" in line["text"] and "登录" not in line["text"]
    with pytest.raises(InvalidInput):
        page.send_sign_in_code(phone=PHONE, code="123456", request_id="appeal-2", purpose="lottery")


LINK = "https://gyl.example.org/appeal/reply/AbCdEfGhIjKlMnOpQrStUvWx"


def test_a_resident_is_texted_their_reply_link_once_by_the_appeals_service(service, call, sms_log, outbox, caplog):
    appeals = call(service_context("appeals"))
    with caplog.at_level(logging.INFO):
        answer = appeals.send_resident_text(
            phone=PHONE, kind="appeal_closed", reference="GY000042", link=LINK, request_id="appeal-reply-42"
        )
        again = appeals.send_resident_text(
            phone=PHONE, kind="appeal_closed", reference="GY000042", link=LINK, request_id="appeal-reply-42"
        )
    assert answer == again == {"sent": True, "phone_masked": "139****4770"}
    [line] = sms_lines(sms_log)
    assert line["kind"] == "appeal_closed" and "GY000042" in line["text"] and LINK in line["text"]
    stored = outbox.rows("SELECT * FROM sign_in_messages") + outbox.rows("SELECT * FROM request_keys_notifications")
    for secret in (LINK.rsplit("/", 1)[1], PHONE):
        assert secret not in str(stored) and secret not in caplog.text
    for caller in ({}, ORGANISER, service_context("organiser")):
        with pytest.raises(Forbidden):
            call(caller).send_resident_text(
                phone=PHONE, kind="appeal_closed", reference="GY000042", link=LINK, request_id="appeal-reply-43"
            )
    assert len(sms_lines(sms_log)) == 1


@pytest.mark.parametrize(
    "caller",
    [
        {},  # anonymous
        signed({"volunteer_id": 5}),
        ORGANISER,  # a person, even an organiser
        signed({"roles": ["system"]}),  # the operator's key, not the organiser service's own
        "activities",  # another service on its own account
    ],
    ids=["anonymous", "volunteer", "organiser", "tools system", "activities service"],
)
def test_only_the_organiser_service_may_send_sign_in_codes(service, call, sms_log, caller):
    context = service_context(caller) if isinstance(caller, str) else caller
    with pytest.raises(Forbidden):
        call(context).send_sign_in_code(phone=PHONE, code="123456", request_id="login-1")
    assert sms_lines(sms_log) == []


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({"phone": "12912344770"}, "phone"),
        ({"phone": "025-83123456"}, "phone"),
        ({"phone": "1391234477"}, "phone"),
        ({"phone": "139123447701"}, "phone"),
        ({"code": "12345"}, "code"),
        ({"code": "1234567"}, "code"),
        ({"code": "12a456"}, "code"),
        ({"code": "１２３４５６"}, "code"),  # full-width digits
        ({"code": "123456\n"}, "code"),
        ({"code": 123456}, "code"),
        ({"language": "fr"}, "language"),
        ({"request_id": None}, "request_id"),
        ({"extra": 1}, "send_sign_in_code"),
    ],
)
def test_bad_input_is_refused_and_not_repeated_back(page, sms_log, arguments, field):
    request = {"phone": PHONE, "code": "654321", "request_id": "login-9", **arguments}
    with pytest.raises(InvalidInput) as refused:
        page.send_sign_in_code(**request)
    assert str(refused.value).startswith(f"{field}:")
    assert not any(str(v) in str(refused.value) for v in arguments.values() if v not in (None, 1))
    assert sms_lines(sms_log) == []


def test_a_failing_provider_is_sms_unavailable_and_the_same_request_tries_again(start_service, call, tmp_path):
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the sink's folder should be")
    start_service(SMS={"PROVIDER": "sink", "SINK_PATH": str(blocker / "sms.log")})
    page = call(service_context("organiser"))
    with pytest.raises(SmsUnavailable, match="try again"):
        page.send_sign_in_code(phone=PHONE, code="123456", request_id="login-1")
    blocker.unlink()
    assert page.send_sign_in_code(phone=PHONE, code="123456", request_id="login-1")["sent"] is True
    assert [line["text"] for line in sms_lines(blocker / "sms.log")] == [ZH_TEXT]


def test_with_sms_off_there_is_no_sms_channel_and_no_sign_in_code(start_service, call, rpc):
    start_service(SMS={"PROVIDER": "off"})
    with pytest.raises(SmsUnavailable):
        call(service_context("organiser")).send_sign_in_code(phone=PHONE, code="123456", request_id="login-1")
    with pytest.raises(ChannelUnavailable, match="sms"):
        rpc.set_preferences(5, channels=["sms"])
    assert "sms" not in rpc.health()["channels"]


@pytest.fixture
def wang(service, volunteers_standin, publish, outbox, rpc):
    """王芳 chose text messages; her phone number is known only to the volunteers service."""
    volunteers_standin[5] = {"name": "王芳", "email": "wangfang@example.cn", "phone": PHONE}
    publish.volunteer(5, "王芳", "wangfang@example.cn")
    wait_for(lambda: outbox.count("contacts") == 1, message="the contact cached")
    assert rpc.set_preferences(5, channels=["sms"])["channels"] == ["sms"]
    return 5


def test_notices_and_reminders_of_a_volunteer_who_chose_sms_are_texted(wang, publish, clock, sms_log, smtp, outbox):
    start = local(26, 19)
    publish.activities("signup_confirmed", **signup(5, start))
    [confirmed] = wait_for(lambda: sms_lines(sms_log), message="the confirmation by text")
    assert confirmed["phone"] == "+8613912344770" and confirmed["kind"] == "signup_confirmed"
    assert confirmed["text"] == "报名成功：第3网格夜间巡逻，11月26日 19:00开始。开始前会再提醒您。"

    clock.set(start - timedelta(hours=24))
    wait_for(lambda: len(sms_lines(sms_log)) == 2, message="the 24 h reminder by text")
    clock.set(start - timedelta(hours=2))
    wait_for(lambda: len(sms_lines(sms_log)) == 3, message="the 2 h reminder by text")
    assert [line["text"] for line in sms_lines(sms_log)[1:]] == [
        "明天提醒：第3网格夜间巡逻，11月26日 19:00开始。如不能参加，请尽早在平台取消。",
        "即将开始：第3网格夜间巡逻，11月26日 19:00。感谢您的付出！",
    ]
    wait_for(lambda: all(d["status"] == "sent" for d in outbox.deliveries()), message="all marked sent")
    assert {d["channel"] for d in outbox.deliveries()} == {"sms"} and smtp.messages == []


def test_the_number_is_kept_and_asked_again_once_changed(
    wang, publish, volunteers_standin, clock, rpc, sms_log, outbox
):
    # the service's clock after the volunteer event, as in a running system (events carry real times)
    clock.set(now() + timedelta(minutes=1))
    rpc.set_preferences(5, quiet_hours=False)
    publish.activities("signup_confirmed", **signup(5, clock.now() + timedelta(days=2)))
    wait_for(lambda: sms_lines(sms_log), message="the first text")
    assert outbox.rows("SELECT phone FROM contacts WHERE volunteer_id = 5") == [{"phone": PHONE}]

    volunteers_standin[5]["phone"] = "13800000000"
    volunteer = {"volunteer_id": 5, "name": "王芳", "email": "wangfang@example.cn", "teams": ["voluntary_patrol"]}
    changed = publish.wire(
        "volunteer_updated",
        **volunteer,
        grid_id=3,
        active=True,
        changed=["phone"],
        occurred_at=clock.now() + timedelta(minutes=1),
    )
    publish.send("volunteers", "volunteer_updated", changed)
    wait_for(lambda: outbox.rows("SELECT phone FROM contacts")[0]["phone"] is None, message="the old number forgotten")
    publish.activities("signup_cancelled", **signup(5, clock.now() + timedelta(days=2), status="cancelled"))
    wait_for(lambda: len(sms_lines(sms_log)) == 2, message="the second text")
    assert sms_lines(sms_log)[1]["phone"] == "+8613800000000"


def test_a_volunteer_without_a_mobile_number_is_dead_lettered_with_the_reason(
    service, volunteers_standin, publish, rpc, outbox, sms_log
):
    volunteers_standin[6] = {"name": "李明", "email": None, "phone": None}
    volunteers_standin[7] = {"name": "赵磊", "email": None, "phone": "025-83123456"}
    for volunteer_id in (6, 7):
        rpc.set_preferences(volunteer_id, channels=["sms"])
        publish.activities("signup_confirmed", **signup(volunteer_id, local(26, 19), signup_id=40 + volunteer_id))
    dead = wait_for(
        lambda: (rows := outbox.deliveries(Delivery.status == "dead")) and len(rows) == 2 and rows,
        message="both dead-lettered",
    )
    assert {d["volunteer_id"]: d["last_error"] for d in dead} == {
        6: "the volunteer has no phone number",
        7: "not a mobile number: 025****3456",
    }
    assert sms_lines(sms_log) == []
