"""The weekend school's page in headless Chromium: register a pupil, assign the tutors, change one (pinned)
and see the change survive a re-assignment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from organiser_testkit import MONDAY, PASSWORD, school_tutors, start_platform, weekend_school

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.testing import signed

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[3] / "artifacts"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)"
    ),
]


@pytest.fixture
def site(container_factory, service_config):
    """Two maths tutors free every weekend and two weekends of the school from next Saturday."""
    start_platform(container_factory, service_config)
    with ClusterRpcProxy(service_config, context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        rpc.organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
        maths = [("数学老师甲", ["tutoring:math"]), ("数学老师乙", ["tutoring:math"])]
        school_tutors(rpc.volunteers, maths, "1362222")
        weekend_school(rpc.activities)
    return f"http://127.0.0.1:{service_config['WEB_SERVER_ADDRESS'].rsplit(':', 1)[1]}"


def test_register_assign_and_change_a_tutor(site, db_backend):
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"organiser-school-{db_backend}.png"
    driver = subprocess.run(
        [sys.executable, str(HERE / "drive_school.py"), site, "wangfang", PASSWORD, str(screenshot), str(MONDAY)],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, CHROMIUM=CHROMIUM),
    )
    assert driver.returncode == 0, driver.stderr[-3000:]
    seen = json.loads(driver.stdout)

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
    assert screenshot.stat().st_size > 10_000
