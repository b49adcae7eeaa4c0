"""Text messages through the running notifications service (real broker, both databases, the local
SMS sink): the ``sms`` channel a volunteer chooses, with their phone number asked of the volunteers
service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notifications_testkit import local, signup, sms_lines, wait_for

from guanyinli.timeutil import now
from notifications.exceptions import ChannelUnavailable
from notifications.models import Delivery

pytestmark = pytest.mark.integration

PHONE = "13912344770"


def test_with_sms_off_there_is_no_sms_channel(start_service, rpc):
    start_service(SMS={"PROVIDER": "off"})
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
