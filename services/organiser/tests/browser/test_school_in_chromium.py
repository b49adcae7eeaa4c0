"""The weekend school's page in headless Chromium: register a pupil, assign the tutors, change one (pinned)
and see the change survive a re-assignment."""

from __future__ import annotations

import pytest
from browser_harness import BROWSER, ORGANISER, drive, organiser_rpc, screenshot, site_url
from organiser_testkit import MONDAY, PASSWORD, school_tutors, weekend_school

pytestmark = BROWSER


@pytest.fixture
def site(container_factory, service_config):
    """Two maths tutors free every weekend and two weekends of the school from next Saturday."""
    with organiser_rpc(container_factory, service_config) as rpc:
        maths = [("数学老师甲", ["tutoring:math"]), ("数学老师乙", ["tutoring:math"])]
        school_tutors(rpc.volunteers, maths, "1362222")
        weekend_school(rpc.activities)
    return site_url(service_config)


def test_register_assign_and_change_a_tutor(site, db_backend):
    shot = screenshot(f"organiser-school-{db_backend}.png")
    seen = drive("drive_school.py", site, ORGANISER, PASSWORD, shot, MONDAY)

    assert (
        seen["registered"] == "学生已登记。"
        and "小明" in seen["register_text"]
        and "15800001234" in seen["register_text"]
    )
    assert seen["assigned"] == "老师已重新安排。" and seen["rows"] == 4
    assert seen["changed"] == "已换老师，并固定。"
    assert seen["other"] in seen["tutor_after"] and "已固定" in seen["tutor_after"]
    assert seen["other"] in seen["tutor_after_reassign"] and "已固定" in seen["tutor_after_reassign"]
    assert "每个科目都有足够的老师" in seen["lacking"]
    assert shot.stat().st_size > 10_000
