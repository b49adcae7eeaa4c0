"""The lecture hall's door list in headless Chromium on a phone: log in, find a resident by the last
four digits of their phone, check them in with the large button, and print the sheet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from organiser_testkit import PASSWORD, door_open_lecture, start_platform

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.testing import signed

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[3] / "artifacts"
RESIDENTS = [("李秀英", "13900001111"), ("王建国", "13900002222"), ("张桂兰", "13900003333")]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)"
    ),
]


@pytest.fixture
def lecture(container_factory, service_config) -> tuple[str, int]:
    """The services, an organiser account, and a lecture starting in an hour: two places, three residents."""
    start_platform(container_factory, service_config)
    with ClusterRpcProxy(service_config, context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        rpc.organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
        occ, _ = door_open_lecture(rpc.activities, "立德树人讲堂：家庭急救", 2, RESIDENTS)
    return f"http://127.0.0.1:{service_config['WEB_SERVER_ADDRESS'].rsplit(':', 1)[1]}", occ["id"]


def test_check_in_at_the_door_on_a_phone(lecture, db_backend):
    site, occurrence_id = lecture
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"organiser-lecture-door-{db_backend}.png"
    driver = subprocess.run(
        [
            sys.executable,
            str(HERE / "drive_lecture.py"),
            site,
            "wangfang",
            PASSWORD,
            str(screenshot),
            str(occurrence_id),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, CHROMIUM=CHROMIUM),
    )
    assert driver.returncode == 0, driver.stderr[-3000:]
    seen = json.loads(driver.stdout)
    assert seen["title"] == "立德树人讲堂：家庭急救"
    assert (seen["rows"], seen["waiting"]) == (3, 1)
    assert min(seen["button_size"]) >= 44  # a thumb's target
    assert seen["found"] == ["王建国"]
    assert seen["notice"] == "已签到。" and seen["checked_in"] == "1" and seen["row_in"] == ["王建国"]
    assert (seen["sheet_rows"], seen["sheet_ticked"]) == (3, 1)
    assert screenshot.stat().st_size > 5_000
