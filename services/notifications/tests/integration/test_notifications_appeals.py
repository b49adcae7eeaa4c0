"""Appeals' events become messages: a new appeal to its handler (to the organisers' address when nobody
may take it), each step of the time limits' ladder to whom it names; once each, even delivered twice;
an urgent appeal's messages urgent. No message carries the resident's data (the events have none)."""

from __future__ import annotations

import time

import pytest
from notifications_testkit import local, wait_for

pytestmark = pytest.mark.integration

DESK = "zhanwu@guanyinli.example"
APPEAL = {"appeal_id": 12, "category": "repair", "grid_id": 6, "courtyard": "C01"}


def people(publish, outbox) -> None:
    for volunteer_id, name in ((5, "王芳"), (9, "陈组长")):
        publish.volunteer(volunteer_id, name, f"v{volunteer_id}@example.cn")
    wait_for(lambda: outbox.count("contacts") == 2, message="the contacts cached")


def appeals(publish, event_type: str, **payload) -> dict:
    """Publish an event as the appeals service does; returns its wire form, to deliver it again."""
    return publish.send("appeals", event_type, publish.wire(event_type, **payload))


def escalation(level: str, recipient_id: int | None, urgency: str = "normal") -> dict:
    return {
        **APPEAL,
        "urgency": urgency,
        "stage": "acknowledge",
        "level": level,
        "handler_id": 5,
        "recipient_id": recipient_id,
        "deadline": local(24, 11),
        "due_at": local(24, 10, 30),
    }


def test_a_new_appeal_goes_to_its_handler_and_one_nobody_may_take_to_the_organisers(
    start_service, config, publish, smtp, outbox
):
    start_service(NOTIFICATIONS={**config["NOTIFICATIONS"], "ORGANISERS_EMAIL": DESK})
    people(publish, outbox)
    wire = appeals(publish, "appeal_assigned", **APPEAL, urgency="urgent", handler_id=5, why="routed")
    [told] = wait_for(lambda: smtp.to("v5@example.cn"), message="the email to the handler")
    assert told["Subject"] == "新诉求待接单：第6网格维修（编号 12）"
    assert "紧急" in told.get_content() and "请尽快在平台上接单" in told.get_content()

    publish.send("appeals", "appeal_assigned", wire)  # delivered again
    appeals(publish, "appeal_assigned", **{**APPEAL, "appeal_id": 13}, handler_id=None, why="routed")
    [desk] = wait_for(lambda: smtp.to(DESK), message="the email to the organisers' address")
    assert desk["Subject"] == "诉求待指派：第6网格维修（编号 13）"
    time.sleep(0.5)  # a dozen polls: nothing more goes out
    rows = outbox.rows("SELECT volunteer_id, kind, urgent FROM notifications ORDER BY id")
    assert [(r["volunteer_id"], r["kind"], bool(r["urgent"])) for r in rows] == [
        (5, "appeal_assigned", True),
        (0, "appeal_assigned", False),
    ]
    assert len(smtp.to("v5@example.cn")) == 1


def test_each_step_of_the_ladder_reaches_whom_it_names_once(start_service, config, publish, smtp, outbox):
    start_service(NOTIFICATIONS={**config["NOTIFICATIONS"], "ORGANISERS_EMAIL": DESK})
    people(publish, outbox)
    steps = [
        appeals(publish, "appeal_escalated", **escalation("handler", 5)),
        appeals(publish, "appeal_escalated", **escalation("grid_leader", 9, urgency="urgent")),
        appeals(publish, "appeal_escalated", **escalation("community_office", None)),
    ]
    for wire in steps:
        publish.send("appeals", "appeal_escalated", wire)  # each delivered twice
    [handler] = wait_for(lambda: smtp.to("v5@example.cn"), message="the handler's warning")
    assert handler["Subject"] == "诉求即将超时：维修（编号 12）11月24日（周二） 11:00前接单"
    [leader] = wait_for(lambda: smtp.to("v9@example.cn"), message="the grid leader's")
    assert leader["Subject"] == "诉求超时：第6网格维修（编号 12）" and "请您督促处理人" in leader.get_content()
    [desk] = wait_for(lambda: smtp.to(DESK), message="the community office's")
    assert desk["Subject"] == "诉求超时未办：第6网格维修（编号 12）"
    time.sleep(0.5)
    assert len(smtp.messages) == 3
    rows = outbox.rows("SELECT volunteer_id, urgent, source_id FROM notifications ORDER BY volunteer_id")
    assert [(r["volunteer_id"], bool(r["urgent"])) for r in rows] == [(0, False), (5, False), (9, True)]
    assert sorted(r["source_id"] for r in rows) == sorted(w["event_id"] for w in steps)


def test_without_an_organisers_address_the_office_step_is_not_sent(start_service, publish, smtp, outbox):
    start_service()
    people(publish, outbox)
    appeals(publish, "appeal_escalated", **escalation("community_office", None))
    appeals(publish, "appeal_escalated", **escalation("handler", 5))
    wait_for(lambda: smtp.to("v5@example.cn"), message="the handler's warning")
    time.sleep(0.5)
    assert [r["volunteer_id"] for r in outbox.rows("SELECT volunteer_id FROM notifications")] == [5]
