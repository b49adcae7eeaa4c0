"""Time-driven behaviour on a clock the test moves: quiet hours, reminders, backoff, the digest."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from notifications_testkit import SmtpSink, local, occurrence, signup, wait_for

from guanyinli.errors import Conflict, NotFound
from guanyinli.timeutil import from_db, to_db
from notifications.models import Delivery, Notification, Reminder

pytestmark = pytest.mark.integration

WANG = "wangfang@example.cn"


def polls(n: int = 10) -> None:
    """Let the service poll a few times (interval 0.05 s) when the test expects nothing to happen."""
    time.sleep(0.05 * n)


@pytest.fixture
def wang(publish, outbox, service):
    publish.volunteer(5, "王芳", WANG)
    wait_for(lambda: outbox.count("contacts") == 1, message="the contact cached")
    return 5


def subjects(smtp, address=WANG) -> list[str]:
    return [m["Subject"] for m in smtp.to(address)]


def test_quiet_hours_hold_messages_until_morning_but_not_an_urgent_cancellation(wang, clock, publish, smtp, outbox):
    clock.set(local(24, 23))
    publish.activities("signup_confirmed", **signup(5, local(27, 19), signup_id=1, occurrence_id=1))
    wait_for(lambda: outbox.count("deliveries") == 1, message="the confirmation queued")
    wait_for(
        lambda: (
            [d["next_attempt_at"] for d in outbox.deliveries(Delivery.status == "pending")] == [to_db(local(25, 7))]
        ),
        message="the confirmation deferred to 07:00",
    )

    # a duty at 06:00 cancelled at 23:00: urgent, sent now
    publish.activities("occurrence_cancelled", **occurrence(local(25, 6), occurrence_id=2), volunteer_ids=[5])
    wait_for(lambda: len(smtp.messages) == 1, message="the urgent cancellation")
    assert subjects(smtp)[0].startswith("活动取消")
    polls()
    assert len(smtp.messages) == 1  # the confirmation still waits

    clock.set(local(25, 6, 59))
    polls()
    assert len(smtp.messages) == 1
    clock.set(local(25, 7))
    wait_for(lambda: len(smtp.messages) == 2, message="the confirmation in the morning")
    assert subjects(smtp)[1].startswith("报名成功")
    assert [d["attempts"] for d in outbox.deliveries()] == [1, 1]  # waiting for the morning is not a failed try


def test_reminders_24h_and_2h_before_once_each(wang, clock, publish, smtp, outbox):
    start = local(26, 19)
    publish.activities("signup_confirmed", **signup(5, start))
    wait_for(lambda: len(smtp.messages) == 1, message="the confirmation")
    assert [r["lead"] for r in outbox.reminders()] == ["24h", "2h"]

    clock.set(start - timedelta(hours=24, minutes=1))
    polls()
    assert len(smtp.messages) == 1
    clock.set(start - timedelta(hours=24))
    wait_for(lambda: len(smtp.messages) == 2, message="the 24 h reminder")
    assert subjects(smtp)[1] == "明天提醒：第3网格夜间巡逻 11月26日（周四） 19:00"
    clock.set(start - timedelta(hours=2))
    wait_for(lambda: len(smtp.messages) == 3, message="the 2 h reminder")
    assert subjects(smtp)[2] == "即将开始：第3网格夜间巡逻 19:00"
    clock.set(start - timedelta(minutes=30))
    polls()
    assert len(smtp.messages) == 3
    assert {r["status"] for r in outbox.reminders()} == {"queued"}


def test_reminders_survive_a_restart(service, start_service, wang, clock, publish, smtp):
    start = local(26, 19)
    publish.activities("signup_confirmed", **signup(5, start))
    wait_for(lambda: len(smtp.messages) == 1, message="the confirmation")
    service.stop()
    clock.set(start - timedelta(hours=2))  # both reminders fell due while no replica ran
    polls()
    assert len(smtp.messages) == 1
    start_service()
    wait_for(lambda: len(smtp.messages) == 3, message="both reminders after the restart")
    polls()
    assert sorted(subjects(smtp)[1:]) == sorted(
        ["明天提醒：第3网格夜间巡逻 11月26日（周四） 19:00", "即将开始：第3网格夜间巡逻 19:00"]
    )


REMINDER_24H = "明天提醒：第3网格夜间巡逻 11月26日（周四） 19:00"


def test_a_volunteer_who_turned_off_the_2h_reminder_gets_only_the_24h_one(wang, clock, publish, smtp, outbox, rpc):
    assert rpc.set_preferences(5, reminders=["24h"])["reminders"] == ["24h"]
    start = local(26, 19)
    publish.activities("signup_confirmed", **signup(5, start))
    wait_for(lambda: len(smtp.messages) == 1, message="the confirmation, as before")
    assert [r["lead"] for r in outbox.reminders()] == ["24h"]

    clock.set(start - timedelta(hours=24))
    wait_for(lambda: len(smtp.messages) == 2, message="the 24 h reminder")
    clock.set(start - timedelta(hours=2))
    polls()
    clock.set(start - timedelta(minutes=30))
    polls()
    assert subjects(smtp)[1:] == [REMINDER_24H]
    kinds = outbox.rows("SELECT kind FROM notifications ORDER BY id")
    assert [k["kind"] for k in kinds] == ["signup_confirmed", "reminder_24h"]


def test_a_reminder_already_planned_is_dropped_when_its_lead_is_turned_off(wang, clock, publish, smtp, outbox, rpc):
    start = local(26, 19)
    publish.activities("signup_confirmed", **signup(5, start))
    wait_for(lambda: len(smtp.messages) == 1, message="the confirmation")
    assert [(r["lead"], r["status"]) for r in outbox.reminders()] == [("24h", "scheduled"), ("2h", "scheduled")]

    rpc.set_preferences(5, reminders=["24h"])
    assert [(r["lead"], r["status"]) for r in outbox.reminders()] == [("24h", "scheduled"), ("2h", "cancelled")]
    clock.set(start - timedelta(hours=24))
    wait_for(lambda: len(smtp.messages) == 2, message="the 24 h reminder")
    clock.set(start - timedelta(hours=2))
    polls()
    assert subjects(smtp)[1:] == [REMINDER_24H]
    assert [(r["lead"], r["status"]) for r in outbox.reminders()] == [("24h", "queued"), ("2h", "cancelled")]


def test_a_lead_turned_off_then_on_again_before_its_time_is_sent(wang, clock, publish, smtp, outbox, rpc):
    start = local(26, 19)
    rpc.set_preferences(5, reminders=[])
    publish.activities("signup_confirmed", **signup(5, start, signup_id=1, occurrence_id=1))
    wait_for(lambda: len(smtp.messages) == 1, message="the confirmation")
    assert outbox.reminders() == []
    rpc.set_preferences(5, reminders=["24h", "2h"])  # planned now for the duty that has none
    assert [(r["lead"], r["status"]) for r in outbox.reminders()] == [("24h", "scheduled"), ("2h", "scheduled")]
    rpc.set_preferences(5, reminders=["24h"])
    rpc.set_preferences(5, reminders=["24h", "2h"])  # the cancelled one comes back, not a second one
    assert [(r["lead"], r["status"]) for r in outbox.reminders()] == [("24h", "scheduled"), ("2h", "scheduled")]

    clock.set(start - timedelta(hours=2))
    wait_for(lambda: len(smtp.messages) == 3, message="both reminders")
    polls()
    assert len(smtp.messages) == 3


def test_a_reminder_waiting_for_the_quiet_hours_to_end_is_not_sent_once_turned_off(
    wang, clock, publish, smtp, outbox, rpc
):
    start = local(26, 8)  # its 2 h reminder falls due at 06:00, in the quiet hours
    publish.activities("signup_confirmed", **signup(5, start))
    wait_for(lambda: len(smtp.messages) == 1, message="the confirmation")
    clock.set(start - timedelta(hours=2))

    wait_for(
        lambda: outbox.deliveries(
            Notification.kind == "reminder_2h",
            Delivery.status == "pending",
            Delivery.next_attempt_at == to_db(local(26, 7)),
        ),
        message="the 2 h reminder queued, deferred to 07:00",
    )
    rpc.set_preferences(5, reminders=["24h"])
    clock.set(local(26, 7))
    [skipped] = wait_for(
        lambda: outbox.deliveries(Notification.kind == "reminder_2h", Delivery.status == "skipped"),
        message="the 2 h reminder skipped",
    )
    assert skipped["last_error"] == "the volunteer turned this reminder off"
    assert not any(s.startswith("即将开始") for s in subjects(smtp))


def test_moved_and_cancelled_duties_move_and_stop_their_reminders(wang, clock, publish, smtp, outbox):
    publish.activities("signup_confirmed", **signup(5, local(26, 19), signup_id=1, occurrence_id=1))
    publish.activities("signup_confirmed", **signup(5, local(26, 9), signup_id=2, occurrence_id=2))
    wait_for(lambda: len(smtp.messages) == 2, message="two confirmations")
    publish.activities(
        "occurrence_changed",
        **occurrence(local(27, 19), occurrence_id=1),
        previous_start=local(26, 19),
        previous_end=local(26, 21),
        volunteer_ids=[5],
    )
    publish.activities("signup_cancelled", **signup(5, local(26, 9), signup_id=2, occurrence_id=2, status="cancelled"))
    wait_for(lambda: len(smtp.messages) == 4, message="the change and the cancellation")
    scheduled = outbox.reminders(Reminder.status == "scheduled")
    assert [from_db(r["due_at"]) for r in scheduled] == [local(26, 19), local(27, 17)]

    clock.set(local(26, 19))  # the old 2 h and 24 h times of both duties have passed
    wait_for(lambda: len(smtp.messages) == 5, message="the reminder for the new time")
    clock.set(local(27, 17))
    wait_for(lambda: len(smtp.messages) == 6, message="the 2 h reminder for the new time")
    polls()
    assert subjects(smtp)[4:] == ["明天提醒：第3网格夜间巡逻 11月27日（周五） 19:00", "即将开始：第3网格夜间巡逻 19:00"]


def test_failed_sends_retry_with_backoff_then_dead_letter(wang, clock, publish, smtp, outbox, rpc):
    smtp.replies = ["451 4.3.0 mailbox busy"] * 3
    publish.activities("signup_confirmed", **signup(5, local(27, 19)))

    def delivery():
        return outbox.deliveries()[0] if outbox.count("deliveries") else None

    wait_for(lambda: delivery() and delivery()["attempts"] == 1 and delivery()["status"] == "pending")
    assert from_db(delivery()["next_attempt_at"]) == clock.now() + timedelta(seconds=60)
    assert "451" in delivery()["last_error"]
    polls()
    assert delivery()["attempts"] == 1  # not before its time

    clock.advance(seconds=60)
    wait_for(lambda: delivery()["attempts"] == 2 and delivery()["status"] == "pending")
    assert from_db(delivery()["next_attempt_at"]) == clock.now() + timedelta(seconds=120)
    clock.advance(seconds=120)
    wait_for(lambda: delivery()["status"] == "dead", message="dead-lettered after the third try")
    assert delivery()["attempts"] == 3 and smtp.messages == []

    [dead] = rpc.list_dead_letters()
    assert dead["volunteer_id"] == 5 and dead["kind"] == "signup_confirmed" and "451" in dead["last_error"]
    retried = rpc.retry_dead_letter(dead["id"])
    assert retried["status"] == "pending" and retried["attempts"] == 0
    wait_for(lambda: len(smtp.messages) == 1, message="the retried email")
    assert rpc.list_dead_letters() == []
    with pytest.raises(Conflict):
        rpc.retry_dead_letter(dead["id"])
    with pytest.raises(NotFound):
        rpc.retry_dead_letter(999)


def test_permanent_failures_dead_letter_at_once(publish, clock, smtp, webhook, outbox, rpc, service):
    publish.volunteer(7, "孙丽", None)  # no email address
    publish.volunteer(8, "周强", "zhouqiang@example.cn")
    wait_for(lambda: outbox.count("contacts") == 2)
    rpc.set_preferences(8, channels=["email", "webhook"])
    smtp.replies = ["550 5.1.1 no such mailbox"]
    webhook.statuses = [500, 204]
    publish.activities("signup_confirmed", **signup(7, local(27, 19), signup_id=1))
    publish.activities("signup_confirmed", **signup(8, local(27, 19), signup_id=2))
    wait_for(lambda: len(rpc.list_dead_letters()) == 2, message="two dead letters")
    errors = sorted(d["last_error"] for d in rpc.list_dead_letters())
    assert "550" in errors[0] and "no email address" in errors[1]
    # the webhook of volunteer 8 failed with a 500: retried later, not dead
    [hook] = [d for d in outbox.deliveries() if d["channel"] == "webhook"]
    assert hook["status"] == "pending" and hook["attempts"] == 1
    clock.advance(seconds=60)
    wait_for(lambda: len(webhook.requests) == 1, message="the webhook retry")


def test_weekly_digest_collects_what_can_wait(wang, clock, publish, smtp, outbox, rpc):
    rpc.set_preferences(5, mode="digest")
    publish.activities("signup_confirmed", **signup(5, local(30, 19), signup_id=1))
    wait_for(lambda: outbox.rows("SELECT status FROM notifications") == [{"status": "held"}], message="held")
    polls()
    assert smtp.messages == []
    publish.activities("signup_confirmed", **signup(5, local(26, 19), signup_id=2, occurrence_id=2))
    wait_for(lambda: len(smtp.messages) == 1, message="a notice about a duty before the digest is sent at once")

    clock.set(local(30, 8))  # Monday 08:00

    def digests():
        return [m for m in smtp.to(WANG) if m["Subject"].startswith("每周汇总")]

    [digest] = wait_for(digests, message="the digest")
    assert digest["Subject"] == "每周汇总：11月30日（周一）"
    body = digest.get_content()
    assert "报名成功：第3网格夜间巡逻 11月30日（周一） 19:00" in body  # the held notice
    assert "11月30日（周一） 19:00–21:00 第3网格夜间巡逻" in body  # a duty of the coming week
    statuses = {(r["kind"], r["status"]) for r in outbox.rows("SELECT kind, status FROM notifications")}
    assert {("digest", "queued"), ("signup_confirmed", "digested")} <= statuses
    clock.advance(minutes=5)
    polls()
    assert len(digests()) == 1


def test_deactivated_volunteer_gets_no_more_reminders(wang, clock, publish, smtp, outbox):
    publish.activities("signup_confirmed", **signup(5, local(26, 19)))
    wait_for(lambda: len(smtp.messages) == 1, message="the confirmation")
    publish.send("volunteers", "volunteer_deactivated", publish.wire("volunteer_deactivated", volunteer_id=5))
    wait_for(lambda: {r["status"] for r in outbox.reminders()} == {"cancelled"}, message="reminders cancelled")
    clock.set(local(26, 17))
    polls()
    assert len(smtp.messages) == 1


def test_leaving_digest_mode_sends_what_was_held(wang, publish, smtp, outbox, rpc):
    rpc.set_preferences(5, mode="digest")
    publish.activities("signup_confirmed", **signup(5, local(30, 19)))
    wait_for(lambda: outbox.rows("SELECT status FROM notifications") == [{"status": "held"}], message="held")
    [held] = rpc.list_notifications(5)
    assert held["status"] == "held" and held["deliveries"] == []
    rpc.set_preferences(5, mode="immediate")
    [message] = wait_for(lambda: smtp.to(WANG), message="the released notice")
    assert message["Subject"].startswith("报名成功")


def test_smtp_server_down_fails_the_batch_fast_then_delivers_when_back(service, smtp, clock, publish, outbox):
    smtp.stop()  # the server goes away (one aiosmtpd loop at a time under eventlet)
    for volunteer_id in (1, 2, 3):
        publish.volunteer(volunteer_id, f"志愿者{volunteer_id}", f"v{volunteer_id}@example.cn")
    wait_for(lambda: outbox.count("contacts") == 3, message="contacts")
    for volunteer_id in (1, 2, 3):
        publish.activities("signup_confirmed", **signup(volunteer_id, local(27, 19), signup_id=volunteer_id))
    wait_for(
        lambda: [(d["status"], d["attempts"]) for d in outbox.deliveries()] == [("pending", 1)] * 3,
        message="three failed first tries",
    )
    errors = [d["last_error"] for d in outbox.deliveries()]
    assert all("ConnectionRefused" in e for e in errors)
    assert sum("not tried" in e for e in errors) >= 1  # one refusal is enough to stop this poll's tries
    back = SmtpSink(port=smtp.port).start()
    try:
        clock.advance(seconds=60)
        wait_for(lambda: len(back.messages) == 3, message="all three once the server is back")
    finally:
        back.stop()
