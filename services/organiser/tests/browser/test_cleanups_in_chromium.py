"""The clean-up rotation page in headless Chromium: log in, plan two weeks, read the table and the counts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from organiser_testkit import MONDAY, PASSWORD, start_platform

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.testing import signed

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[3] / "artifacts"
WEEKEND_MORNINGS = [{"weekday": d, "start": "07:00", "end": "12:00"} for d in (5, 6)]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)"
    ),
]


@pytest.fixture
def site(container_factory, service_config):
    start_platform(container_factory, service_config)
    with ClusterRpcProxy(service_config, context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        rpc.organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
        for i in range(18):
            person = rpc.volunteers.create_volunteer(
                name=f"护绿队员{i + 1}", phone=f"1391236{5600 + i}", teams=["sanitation_green"], grid_id=6 + i % 10
            )
            rpc.volunteers.set_availability(volunteer_id=person["id"], weekly=WEEKEND_MORNINGS)
    return f"http://127.0.0.1:{service_config['WEB_SERVER_ADDRESS'].rsplit(':', 1)[1]}"


def test_plan_and_read_the_rotation(site, db_backend):
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"organiser-cleanups-{db_backend}.png"
    driver = subprocess.run(
        [sys.executable, str(HERE / "drive_cleanups.py"), site, "wangfang", PASSWORD, str(screenshot), str(MONDAY)],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(
            os.environ, CHROMIUM=CHROMIUM, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
        ),
    )
    assert driver.returncode == 0, driver.stderr[-3000:]
    seen = json.loads(driver.stdout)

    assert seen["title"] == "清洁护绿轮值" and seen["empty"] == 1
    assert len(seen["own_rota"]) == 7 and all("自行轮值" in line for line in seen["own_rota"])
    assert seen["notice"].startswith("已安排")
    assert {"C08", "C12", "B01", "B03", "GS01"} <= set(seen["places"])
    assert not {f"C0{i}" for i in range(1, 8)} & set(seen["places"])
    assert seen["weeks"] == 2 and "护绿队员" in seen["rotation_text"]
    most, least = map(int, re.findall(r"\d+", seen["spread"]))
    assert most - least <= 1 and seen["counts"] == 18
    assert seen["title_en"] == "Clean-up rotation"
    assert screenshot.stat().st_size > 10_000
