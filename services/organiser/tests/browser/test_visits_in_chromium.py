"""The elderly-visit pages in headless Chromium: the organiser adds a person, plans and sees who is
overdue; the visitor writes the note after the visit on their phone; the organiser reads it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser_harness import ARTIFACTS, AXE, BROWSER, NEEDS_AXE, ORGANISER, drive, organiser_rpc, setup_file, site_url
from organiser_testkit import PASSWORD

from guanyinli.timeutil import iso, now

NAMES = ["王芳", "李明", "张伟", "刘洋"]

pytestmark = [*BROWSER, NEEDS_AXE]


@pytest.fixture
def site(container_factory, service_config):
    """Four convenient-service volunteers free every day, each with a printed sign-in link, and one
    person in the register never visited since consent ten days ago."""
    links = {}
    with organiser_rpc(container_factory, service_config) as rpc:
        for i, name in enumerate(NAMES):
            person = rpc.volunteers.create_volunteer(
                name=name, phone=f"1391234{7900 + i}", teams=["convenient_service"], grid_id=8
            )
            rpc.volunteers.set_availability(
                volunteer_id=person["id"], weekly=[{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)]
            )
            links[name] = rpc.organiser.issue_signin_link(volunteer_id=person["id"])["url"]
        rpc.activities.add_visited_person(
            category="care_home_resident",
            name="吴奶奶",
            home="鼓楼区福寿养老院",
            frequency_days=14,
            consent={"by": "女儿 吴敏", "how": "relative", "at": iso(now() - timedelta(days=10))},
        )
    return {"base": site_url(service_config), "links": links}


def test_register_plan_and_the_visitors_note(site, tmp_path, db_backend):
    setup = {
        "base": site["base"],
        "username": ORGANISER,
        "password": PASSWORD,
        "axe": str(AXE),
        "screenshots": str(ARTIFACTS),
        "links": site["links"],
    }
    seen = drive("drive_visits.py", setup_file(tmp_path, setup))

    assert "探访老人" in seen["nav"]
    assert seen["added"] == "已登记。" and "观音里3号院 5幢2单元301" in seen["private_shown"]
    assert seen["planned"].startswith("已安排") and "0 次" not in seen["planned"]
    assert seen["overdue_rows"] == ["吴奶奶"] and "逾期 10 天" in seen["register"]
    assert seen["history_rows"] == 2  # every 7 days over the 14
    assert any(name in seen["first_visitors"] for name in NAMES)
    assert "孙奶奶" in seen["phone_visit"] and "观音里3号院 5幢2单元301" in seen["phone_visit"]
    assert seen["phone_notice"] == "探访记录已保存，谢谢！" and seen["phone_done"] == 1
    assert seen["phone_width"] <= 360
    assert "精神很好，提醒按时吃药" in seen["history_after"]
    for page in ("axe_register", "axe_person", "axe_phone"):
        assert seen[page] == [], (page, seen[page])
