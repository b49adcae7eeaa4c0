"""Stand-in offers reach the volunteers who fit, both volunteers once taken, and the organisers' address
and the grid leader when nobody took one; the duty and its reminders move to the taker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notifications_testkit import local, occurrence, wait_for

pytestmark = pytest.mark.integration

DESK = "zhanwu@guanyinli.example"


def offer(start, **extra) -> dict:
    return {
        **occurrence(start),
        "offer_id": 4,
        "signup_id": 41,
        "volunteer_id": 5,
        "role": "巡逻队员",
        "duty_start": start,
        "duty_end": start + timedelta(hours=2),
        "grid_id": 3,
        "grid_leader_id": 9,
        "rostered": True,
        "alert_at": start - timedelta(hours=12),
        **extra,
    }


def people(publish, outbox) -> None:
    for volunteer_id, name in ((5, "王芳"), (6, "李明"), (7, "赵磊"), (9, "陈组长")):
        publish.volunteer(volunteer_id, name, f"v{volunteer_id}@example.cn")
    wait_for(lambda: outbox.count("contacts") == 4, message="the contacts cached")


def test_an_offer_asks_the_candidates_and_a_taken_one_moves_the_duty_to_the_taker(
    start_service, config, publish, smtp, outbox
):
    start_service()
    people(publish, outbox)
    publish.activities(
        "roster_published",
        roster_id=1,
        start=local(23, 0),
        end=local(30, 0),
        changes=[
            {
                "volunteer_id": 5,
                "added": [
                    {"shift_id": "7", "grid_id": 3, "start": local(26, 19), "end": local(26, 21), "occurrence_id": 7}
                ],
            }
        ],
    )
    wait_for(lambda: outbox.reminders(), message="the rostered patrol's reminders")

    publish.activities("standin_offered", **offer(local(26, 19)), candidate_ids=[6, 7])
    [asked] = wait_for(lambda: smtp.to("v6@example.cn"), message="the offer to a candidate")
    assert asked["Subject"] == "诚邀替班：第3网格夜间巡逻 11月26日（周四） 19:00"
    assert "接受替班（编号 4）" in asked.get_content()
    wait_for(
        lambda: smtp.to("v7@example.cn") and smtp.to("v9@example.cn"), message="the other candidate and the leader"
    )

    publish.activities("standin_taken", **offer(local(26, 19)), taken_by=6, new_signup_id=52)
    [told] = wait_for(lambda: smtp.to("v5@example.cn")[1:], message="the message to the volunteer who cannot come")
    assert "李明（编号 6）已接替您" in told.get_content()
    wait_for(lambda: smtp.to("v6@example.cn")[1:], message="the thanks to the taker")
    duties = {(d["volunteer_id"], d["duty_key"], bool(d["active"])) for d in outbox.rows("SELECT * FROM duties")}
    assert duties == {(5, "shift:7", False), (6, "shift:7", True)}
    scheduled = {r["volunteer_id"] for r in outbox.rows("SELECT * FROM reminders WHERE status = 'scheduled'")}
    assert scheduled == {6}


def test_an_unfilled_offer_goes_to_the_organisers_address_the_grid_leader_and_the_volunteer(
    start_service, config, publish, smtp, outbox
):
    start_service(NOTIFICATIONS={**config["NOTIFICATIONS"], "ORGANISERS_EMAIL": DESK})
    people(publish, outbox)
    publish.activities("standin_unfilled", **offer(local(24, 20)))

    [desk] = wait_for(lambda: smtp.to(DESK), message="the email to the organisers' address")
    assert desk["Subject"] == "替班无人接：第3网格夜间巡逻 11月24日（周二） 20:00"
    assert "社区组织者，您好" in desk.get_content() and "替班编号 4" in desk.get_content()
    [leader] = wait_for(lambda: smtp.to("v9@example.cn"), message="the email to the grid leader")
    assert leader["Subject"] == desk["Subject"]
    [own] = wait_for(lambda: smtp.to("v5@example.cn"), message="the email to the volunteer")
    assert "仍由您负责" in own.get_content()
    urgent = outbox.rows("SELECT volunteer_id, urgent FROM notifications ORDER BY volunteer_id")
    assert [(r["volunteer_id"], bool(r["urgent"])) for r in urgent] == [(0, True), (5, True), (9, True)]


def test_without_an_organisers_address_the_grid_leader_and_the_volunteer_are_told(start_service, publish, smtp, outbox):
    start_service()
    people(publish, outbox)
    publish.activities("standin_unfilled", **offer(local(24, 20)))
    wait_for(lambda: smtp.to("v9@example.cn") and smtp.to("v5@example.cn"), message="the leader and the volunteer")
    assert {r["volunteer_id"] for r in outbox.rows("SELECT volunteer_id FROM notifications")} == {5, 9}
