"""Messages reach volunteers through real SMTP and a real webhook, with the right content, once."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from notifications_testkit import body_json, local, signup, wait_for

from conftest import WEBHOOK_SECRET
from guanyinli.errors import Forbidden, InvalidInput
from guanyinli.testing import signed

pytestmark = pytest.mark.integration


def test_signup_confirmation_is_emailed_in_chinese(service, publish, smtp, rpc, outbox):
    publish.volunteer(5, "王芳", "wangfang@example.cn")
    wait_for(lambda: outbox.count("contacts") == 1, message="the contact cached")
    publish.activities("signup_confirmed", **signup(5, local(26, 19)))

    [message] = wait_for(lambda: smtp.to("wangfang@example.cn"), message="the confirmation email")
    assert message["Subject"] == "报名成功：第3网格夜间巡逻 11月26日（周四） 19:00"
    assert "王芳" in message["To"] and "noreply@guanyinli.example" in message["From"]
    body = message.get_content()
    assert "王芳，您好" in body and "11月26日（周四） 19:00–21:00" in body and "观音里3号院" in body

    [notification] = wait_for(
        lambda: [n for n in rpc.list_notifications(5) if n["deliveries"][0]["status"] == "sent"], message="sent status"
    )
    assert notification["kind"] == "signup_confirmed" and notification["subject"] == message["Subject"]
    [delivery] = notification["deliveries"]
    assert delivery["channel"] == "email" and delivery["attempts"] == 1
    assert delivery["message_id"] == message["Message-ID"]  # the id a receiver can deduplicate on


def test_a_swap_proposal_and_its_answers_are_emailed_to_both_volunteers(service, publish, smtp, rpc, outbox):
    publish.volunteer(5, "王芳", "wangfang@example.cn")
    publish.volunteer(6, "李明", "liming@example.cn")
    wait_for(lambda: outbox.count("contacts") == 2, message="the contacts cached")
    shifts = [
        {"shift_id": "31", "grid_id": 3, "start": local(26, 19), "end": local(26, 21), "occurrence_id": 31},
        {"shift_id": "32", "grid_id": 3, "start": local(27, 19), "end": local(27, 21), "occurrence_id": 32},
    ]
    swap = {"roster_id": 2, "volunteer_ids": [5, 6], "shifts": shifts, "proposed_by": 5}

    publish.activities("swap_proposed", swap_id=7, **swap)
    [asked] = wait_for(lambda: smtp.to("liming@example.cn"), message="the request to the one asked")
    assert asked["Subject"] == "换班申请：王芳（编号 5）想与您换班"
    body = asked.get_content()
    assert "李明，您好" in body and "您交出：11月27日（周五） 19:00–21:00，第 3 网格" in body
    assert "您接手：11月26日（周四） 19:00–21:00，第 3 网格" in body and "接受换班申请（编号 7）" in body
    [sent] = wait_for(lambda: smtp.to("wangfang@example.cn"), message="the copy to the proposer")
    assert sent["Subject"] == "换班申请已发出，等待李明（编号 6）答复"

    publish.activities("swap_accepted", swap_id=7, **swap)
    wait_for(lambda: len(smtp.messages) == 4, message="the acceptance, to both")
    assert "李明（编号 6）已同意您的换班申请" in smtp.to("wangfang@example.cn")[1].get_content()
    assert "您已同意王芳（编号 5）的换班申请" in smtp.to("liming@example.cn")[1].get_content()

    publish.activities("swap_declined", swap_id=8, reason="那天要加班", **swap)
    wait_for(lambda: len(smtp.messages) == 6, message="the refusal, to both")
    refused = smtp.to("wangfang@example.cn")[2]
    assert refused["Subject"] == "换班申请未获同意" and "原因：那天要加班" in refused.get_content()
    assert [n["kind"] for n in rpc.list_notifications(6)] == ["swap_declined", "swap_accepted", "swap_proposed"]


def test_webhook_post_is_signed_with_hmac_sha256(service, publish, webhook, rpc, smtp):
    publish.volunteer(6, "Li Ming", None)
    rpc.set_preferences(6, channels=["webhook"], language="en")
    publish.activities("signup_waitlisted", **signup(6, local(26, 19), status="waitlisted", waitlist_position=2))

    [request] = wait_for(lambda: webhook.requests, message="the webhook call")
    headers = {k.lower(): v for k, v in request["headers"].items()}
    expected = hmac.new(
        WEBHOOK_SECRET.encode(), headers["x-guanyinli-timestamp"].encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    assert headers["x-guanyinli-signature"] == f"sha256={expected}"
    assert headers["content-type"].startswith("application/json")
    payload = body_json(request)
    assert payload["volunteer_id"] == 6 and payload["kind"] == "signup_waitlisted"
    assert payload["subject"] == "On the waitlist: 第3网格夜间巡逻, Thu 26 Nov 19:00"
    assert "position 2" in payload["text"] and payload["data"]["waitlist_position"] == 2
    assert payload["id"] == headers["x-guanyinli-delivery"]
    assert smtp.messages == []  # webhook only: the volunteer chose it

    tampered = hmac.new(WEBHOOK_SECRET.encode(), request["body"] + b" ", hashlib.sha256).hexdigest()
    assert tampered != expected


def test_redelivered_event_sends_one_message(service, publish, smtp, outbox):
    publish.volunteer(5, "王芳", "wangfang@example.cn")
    wire = publish.wire("signup_confirmed", **signup(5, local(26, 19)))
    for _ in range(3):
        publish.send("activities", "signup_confirmed", wire)
    wait_for(lambda: smtp.to("wangfang@example.cn"), message="the email")
    wait_for(lambda: outbox.rows("SELECT * FROM deliveries WHERE status = 'pending'") == [], message="all handled")
    time.sleep(0.5)  # several more polls
    assert len(smtp.to("wangfang@example.cn")) == 1
    assert outbox.count("notifications") == 1 and outbox.count("deliveries") == 1


def test_unknown_volunteer_is_looked_up_over_rpc_and_cached(service, volunteers_standin, publish, smtp, outbox):
    volunteers_standin[9] = {"name": "赵磊", "email": "zhaolei@example.cn"}
    publish.activities("signup_confirmed", **signup(9, local(26, 19)))
    [message] = wait_for(lambda: smtp.to("zhaolei@example.cn"), message="the email to the looked-up address")
    assert "赵磊" in message["To"]
    assert outbox.rows("SELECT name, email FROM contacts WHERE volunteer_id = 9") == [
        {"name": "赵磊", "email": "zhaolei@example.cn"}
    ]


def test_preferences_round_trip_and_validation(service, rpc):
    assert rpc.get_preferences(5) == {
        "volunteer_id": 5,
        "channels": ["email"],
        "language": "zh",
        "quiet_hours": True,
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "mode": "immediate",
        "reminders": ["24h", "2h"],
    }
    changed = rpc.set_preferences(5, channels=["email", "webhook"], language="en", quiet_start="23:30", mode="digest")
    assert changed == rpc.get_preferences(5)
    assert changed["quiet_start"] == "23:30" and changed["quiet_end"] == "07:00" and changed["mode"] == "digest"
    assert changed["reminders"] == ["24h", "2h"]
    assert rpc.set_preferences(5, reminders=["2h", "24h"])["reminders"] == ["24h", "2h"]
    assert rpc.set_preferences(5, reminders=[])["reminders"] == []
    assert rpc.set_preferences(5, language="zh")["reminders"] == []  # left out: kept
    assert rpc.set_preferences(5, reminders=["2h"]) == {**changed, "language": "zh", "reminders": ["2h"]}
    with pytest.raises(InvalidInput, match="reminders"):
        rpc.set_preferences(5, reminders=["1h"])
    with pytest.raises(InvalidInput, match="reminders"):
        rpc.set_preferences(5, reminders=["2h", "2h"])
    assert rpc.get_preferences(5)["reminders"] == ["2h"]
    assert rpc.set_preferences(5, quiet_hours=False)["quiet_start"] is None
    again = rpc.set_preferences(5, quiet_start="21:00")  # a start switches them back on
    assert (again["quiet_hours"], again["quiet_start"], again["quiet_end"]) == (True, "21:00", "07:00")
    with pytest.raises(InvalidInput, match="channels"):
        rpc.set_preferences(5, channels=["fax"])
    with pytest.raises(InvalidInput, match="quiet_start"):
        rpc.set_preferences(5, quiet_start="25:00")
    with pytest.raises(InvalidInput, match="volunteer_id"):
        rpc.get_preferences(0)


def test_health(service, rpc):
    health = rpc.health()
    assert health["status"] == "ok" and set(health["channels"]) == {"email", "webhook", "sms"}


def test_a_volunteer_sees_only_their_own_and_organisers_see_dead_letters(service, call):
    volunteer = call(signed({"volunteer_id": 5, "roles": ["volunteer"]}))
    assert volunteer.get_preferences(5)["volunteer_id"] == 5
    assert volunteer.set_preferences(5, language="en")["language"] == "en"
    assert volunteer.list_notifications(5) == []
    with pytest.raises(Forbidden):
        volunteer.list_notifications(6)
    with pytest.raises(Forbidden):
        volunteer.set_preferences(6, language="en")
    with pytest.raises(Forbidden):
        volunteer.list_dead_letters()
    with pytest.raises(Forbidden):
        call({}).get_preferences(5)  # anonymous
    assert call().list_dead_letters() == []
