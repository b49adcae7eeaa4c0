"""The lecture hall's door list in headless Chromium on a phone: log in, find a resident by the last
four digits of their phone, check them in with the large button, and print the sheet."""

from __future__ import annotations

import pytest
from browser_harness import BROWSER, ORGANISER, drive, organiser_rpc, screenshot, site_url
from organiser_testkit import PASSWORD, door_open_lecture

RESIDENTS = [("李秀英", "13900001111"), ("王建国", "13900002222"), ("张桂兰", "13900003333")]

pytestmark = BROWSER


@pytest.fixture
def lecture(container_factory, service_config) -> tuple[str, int]:
    """The services, an organiser account, and a lecture starting in an hour: two places, three residents."""
    with organiser_rpc(container_factory, service_config) as rpc:
        occ, _ = door_open_lecture(rpc.activities, "立德树人讲堂：家庭急救", 2, RESIDENTS)
    return site_url(service_config), occ["id"]


def test_check_in_at_the_door_on_a_phone(lecture, db_backend):
    site, occurrence_id = lecture
    shot = screenshot(f"organiser-lecture-door-{db_backend}.png")
    seen = drive("drive_lecture.py", site, ORGANISER, PASSWORD, shot, occurrence_id)
    assert seen["title"] == "立德树人讲堂：家庭急救"
    assert (seen["rows"], seen["waiting"]) == (3, 1)
    assert min(seen["button_size"]) >= 44  # a thumb's target
    assert seen["found"] == ["王建国"]
    assert seen["notice"] == "已签到。" and seen["checked_in"] == "1" and seen["row_in"] == ["王建国"]
    assert (seen["sheet_rows"], seen["sheet_ticked"]) == (3, 1)
    assert shot.stat().st_size > 5_000
