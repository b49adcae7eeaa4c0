"""The calendar in headless Chromium: from the week to an occurrence, moved with a reason, then its
attendance sheet, printed (signature column, no navigation) and marked on a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser_harness import BROWSER, ORGANISER, drive, organiser_rpc, screenshot, site_url
from organiser_testkit import PASSWORD, duty_under_way

from guanyinli.timeutil import local

pytestmark = BROWSER


class Proxies:
    """``rpc(service)`` as the organiser fixtures of the integration tests have it."""

    def __init__(self, cluster):
        self.cluster = cluster

    def __call__(self, service: str):
        return getattr(self.cluster, service)


@pytest.fixture
def site(container_factory, service_config):
    with organiser_rpc(container_factory, service_config) as rpc:
        vid, start, signup = duty_under_way(Proxies(rpc), "值班员己", "13912349100", minutes=90)
        stats = lambda: rpc.activities.volunteer_stats(volunteer_id=vid)  # noqa: E731
        yield site_url(service_config), local(start), signup, stats


def test_calendar_occurrence_move_attendance(site, db_backend):
    base, start, signup, stats = site
    # moved a little, still under way (and on the same day) so that its attendance can be marked
    earlier = start - timedelta(minutes=10)
    new = earlier if earlier.date() == start.date() else start + timedelta(minutes=5)
    shot = screenshot(f"organiser-attendance-phone-{db_backend}.png")
    seen = drive(
        "drive_calendar.py", base, ORGANISER, PASSWORD, shot, start.date(), signup["occurrence_id"], f"{new:%H:%M}"
    )

    assert "活动日历" in seen["nav"]
    assert seen["week_days"] == 7 and seen["month_days"] in (28, 35, 42)
    assert "便民服务站值班" in seen["cell"] and "1/2" in seen["cell"]
    assert "值班员己" in seen["holders"]
    assert seen["moved_notice"].startswith("已调整") and f"{new:%H:%M}" in seen["heading"]
    assert seen["print_signature_visible"] and seen["print_nav_hidden"] and seen["print_marks_hidden"]
    assert seen["screen_signature_hidden"]
    assert seen["phone_button"]["height"] >= 36 and seen["phone_button"]["right"] <= 390  # a thumb's, on screen
    assert seen["marked_notice"] == "签到已记录。" and "1.5" in seen["sheet"] and "已到" in seen["sheet"]
    assert stats()["hours"] == 1.5
    assert shot.stat().st_size > 5_000
