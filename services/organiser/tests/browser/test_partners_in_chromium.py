"""The two-way service list in headless Chromium on a 360 px phone: partners by alliance, a match
agreed and turned into an activity through the page's form; WCAG checks by axe-core."""

from __future__ import annotations

from datetime import timedelta

import pytest
from browser_harness import ARTIFACTS, AXE, BROWSER, NEEDS_AXE, ORGANISER, drive, organiser_rpc, setup_file, site_url
from organiser_testkit import PASSWORD

from guanyinli.timeutil import local, now

pytestmark = [*BROWSER, NEEDS_AXE]


@pytest.fixture
def site(container_factory, service_config):
    """The appeals service too; a hospital offering a hall and a non-profit that needs one, matched."""
    from appeals.service import AppealsService

    container_factory(AppealsService, service_config).start()
    with organiser_rpc(container_factory, service_config) as rpc:
        hospital = rpc.appeals.add_partner(
            name="鼓楼医院",
            alliance="resident_units",
            kind="unit",
            contact_person="张主任",
            contact_phone="13900001111",
        )
        ngo = rpc.appeals.add_partner(name="益心社工", alliance="non_profits", kind="non_profit")
        rpc.appeals.add_offer(partner_id=hospital["id"], kind="venue", what="多功能厅", words=["hall"], quantity=2)
        rpc.appeals.add_need(partner_id=ngo["id"], kind="venue", what="讲座场地", words=["hall"], quantity=1)
        (match,) = rpc.appeals.propose_matches()
        activities = rpc.activities
    return {"base": site_url(service_config), "match": match["id"], "activities": activities}


def test_the_list_on_a_phone_and_a_match_turned_into_an_activity(site, tmp_path, db_backend):
    start = local(now()).replace(hour=14, minute=0, second=0, microsecond=0) + timedelta(days=3)
    setup = {
        "base": site["base"],
        "username": ORGANISER,
        "password": PASSWORD,
        "axe": str(AXE),
        "screenshots": str(ARTIFACTS),
        "match": site["match"],
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }
    seen = drive("drive_partners.py", setup_file(tmp_path, setup))

    assert "双向服务清单" in seen["nav"]
    assert len(seen["alliances"]) == 6 and seen["alliances"][1].startswith("驻区单位")
    assert seen["width"] <= 360 and seen["width_after"] <= 360
    assert seen["agreed"] == "已商定。"
    assert seen["turned"].startswith("已转为活动") and "已转为活动" in seen["match_after"]
    assert seen["axe"] == [], seen["axe"]
