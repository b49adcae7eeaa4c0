"""The clean-up rotation page in headless Chromium: log in, plan two weeks, read the table and the counts."""

from __future__ import annotations

import re

import pytest
from browser_harness import BROWSER, ORGANISER, drive, organiser_rpc, screenshot, site_url
from organiser_testkit import MONDAY, PASSWORD

from activities import cleanups

# free on the mornings of every clean-up session
MORNINGS = [{"weekday": s.weekday, "start": "07:00", "end": "12:00"} for s in cleanups.SESSIONS]

pytestmark = BROWSER


@pytest.fixture
def site(container_factory, service_config):
    with organiser_rpc(container_factory, service_config) as rpc:
        for i in range(18):
            person = rpc.volunteers.create_volunteer(
                name=f"护绿队员{i + 1}", phone=f"1391236{5600 + i}", teams=["sanitation_green"], grid_id=6 + i % 10
            )
            rpc.volunteers.set_availability(volunteer_id=person["id"], weekly=MORNINGS)
    return site_url(service_config)


def test_plan_and_read_the_rotation(site, db_backend):
    shot = screenshot(f"organiser-cleanups-{db_backend}.png")
    seen = drive("drive_cleanups.py", site, ORGANISER, PASSWORD, shot, MONDAY)

    assert seen["title"] == "清洁护绿轮值" and seen["empty"] == 1
    assert len(seen["own_rota"]) == 7 and all("自行轮值" in line for line in seen["own_rota"])
    assert seen["notice"].startswith("已安排")
    assert {"C08", "C12", "B01", "B03", "GS01"} <= set(seen["places"])
    assert not {f"C0{i}" for i in range(1, 8)} & set(seen["places"])
    assert seen["weeks"] == 2 and "护绿队员" in seen["rotation_text"]
    most, least = map(int, re.findall(r"\d+", seen["spread"]))
    assert most - least <= 1 and seen["counts"] == 18
    assert seen["title_en"] == "Clean-up rotation"
    assert shot.stat().st_size > 10_000
