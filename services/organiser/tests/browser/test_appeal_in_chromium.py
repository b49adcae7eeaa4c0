"""The residents' public appeal pages in headless Chromium at 360 px: a resident proves their number
with the code texted to them (a wrong one first), fills the form in (a field missing first) and gets
a reference; the appeal is closed and the link texted to them takes their satisfaction once. No
script on any page; axe-core on every page."""

from __future__ import annotations

import json
import re

import pytest
from browser_harness import ARTIFACTS, AXE, BROWSER, NEEDS_AXE, drive, setup_file, site_url
from organiser_testkit import start_platform

from appeals.service import AppealsService
from guanyinli.rpc import ClusterRpcProxy
from guanyinli.testing import signed
from notifications.service import NotificationsService

RESIDENT = "13955556666"

pytestmark = [*BROWSER, NEEDS_AXE]


@pytest.fixture
def site(container_factory, service_config, tmp_path):
    config = dict(service_config)
    start_platform(container_factory, config)
    sms_log = tmp_path / "sms.log"
    sms_log.touch()
    with_sms = dict(config, SMS={"PROVIDER": "sink", "SINK_PATH": str(sms_log)})
    container_factory(NotificationsService, with_sms).start()
    container_factory(AppealsService, with_sms).start()
    return {"base": site_url(config), "sms_log": sms_log, "config": config}


def test_a_resident_sends_an_appeal_and_answers_the_link_texted_at_closing(site, tmp_path):
    setup = {
        "base": site["base"],
        "sms_log": str(site["sms_log"]),
        "axe": str(AXE),
        "screenshots": str(ARTIFACTS),
        "phone": RESIDENT,
    }
    sent = drive("drive_appeal.py", setup_file(tmp_path, {**setup, "step": "send"}), timeout=180)
    assert sent["english"] == "Send an appeal" and sent["start"] == "提交诉求"
    assert "139****6666" in sent["code_sent"] and "验证码不对" in sent["wrong_code"]
    assert "139****6666" in sent["verified"]
    assert "请说说情况" in sent["missing"] and sent["kept_name"] == "赵桂英"
    assert "诉求已收到" in sent["done"] and re.fullmatch(r"GY\d{6}", sent["reference"])

    with ClusterRpcProxy(site["config"], context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        appeal_id = int(sent["reference"][2:])
        appeal = rpc.appeals.get_appeal(appeal_id)
        assert (appeal["source"], appeal["grid_id"], appeal["courtyard"], appeal["urgency"]) == (
            "resident",
            6,
            "C01",
            "urgent",
        )
        rpc.appeals.close_appeal(appeal_id=appeal_id, outcome="换了灯泡")
        texts = [json.loads(line) for line in site["sms_log"].read_text(encoding="utf-8").splitlines()]
        link = re.search(r"(/appeal/reply/[A-Za-z0-9_-]+)", texts[-1]["text"]).group(1)
        answered = drive("drive_appeal.py", setup_file(tmp_path, {**setup, "step": "reply", "link": link}))
        assert answered["reply_title"] == "您对处理结果满意吗"
        assert sent["reference"] in answered["thanks"] and "您已经评价过了" in answered["used"]
        seen = rpc.appeals.get_appeal(appeal_id)
        assert (seen["satisfaction"], seen["resident_reply"]) == (4, "师傅很耐心")

    for run in (sent, answered):
        broken = {page: v for page, v in run["axe"].items() if v}
        assert not broken, json.dumps(broken, ensure_ascii=False, indent=1)
        assert not run.get("too_wide"), run["too_wide"]
        assert not any(run["scripts"].values()), run["scripts"]
    assert len(sent["axe"]) + len(answered["axe"]) >= 9
    assert (ARTIFACTS / "appeal-form.png").stat().st_size > 5_000
