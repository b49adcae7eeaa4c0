"""The appeals pages in headless Chromium: the community office takes an appeal in, the grid member it
is routed to accepts it and closes it on their phone, the organiser reads it closed."""

from __future__ import annotations

import pytest
from browser_harness import ARTIFACTS, AXE, BROWSER, ORGANISER, drive, organiser_rpc, setup_file, site_url
from organiser_testkit import PASSWORD

pytestmark = BROWSER


@pytest.fixture
def site(container_factory, service_config):
    """The appeals service beside the platform; grid 6 with one member, who has a printed sign-in link."""
    from appeals.service import AppealsService

    with organiser_rpc(container_factory, service_config) as rpc:
        container_factory(AppealsService, service_config).start()
        member = rpc.volunteers.create_volunteer(name="网格员小李", phone="13700000002", grid_id=6)
        rpc.volunteers.add_grid_member(grid_id=6, volunteer_id=member["id"])
        link = rpc.organiser.issue_signin_link(volunteer_id=member["id"])["url"]
    return {"base": site_url(service_config), "link": link}


def test_intake_then_the_handler_accepts_and_closes_on_the_phone(site, tmp_path, db_backend):
    setup = {
        "base": site["base"],
        "username": ORGANISER,
        "password": PASSWORD,
        "axe": str(AXE) if AXE.exists() else None,
        "screenshots": str(ARTIFACTS),
        "link": site["link"],
    }
    seen = drive("drive_appeals.py", setup_file(tmp_path, setup))

    assert "诉求" in seen["nav"]
    assert seen["received"].startswith("已登记") and seen["handler"] == "网格员小李"
    assert "13911112222" in seen["private"] and "楼道水管漏水" in seen["private"]
    assert "楼道水管漏水" in seen["phone_appeal"] and seen["phone_tel"] == "tel:13911112222"
    assert seen["phone_accepted"] == "已接单。"
    assert seen["phone_width"] <= 360 and seen["close_button_height"] >= 44  # a thumb's target
    assert seen["phone_closed"] == "已办结，谢谢！" and seen["phone_left"] == 0
    assert "已办结" in seen["after"] and "更换了水管" in seen["after"]
    assert "接单" in seen["trail"] and "办结" in seen["trail"]
    assert seen["phone_form_width"] <= 360 and "C01 观音里1号院" in seen["phone_form_courtyards"]
    for page in ("axe_form", "axe_appeal", "axe_phone", "axe_phone_form"):
        assert seen[page] == [], (page, seen[page])
