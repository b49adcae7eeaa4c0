"""The organiser page in headless Chromium (Debian's browser): log in, build a roster, read the board, publish."""

from __future__ import annotations

import pytest
from browser_harness import BROWSER, ORGANISER, drive, organiser_rpc, screenshot, site_url
from organiser_testkit import MONDAY, PASSWORD, evening_patrols

NAMES = ["王芳", "李明", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴敏"]

pytestmark = BROWSER


@pytest.fixture
def site(container_factory, service_config):
    """The services with the production cookie settings (Secure cookies: Chromium treats 127.0.0.1 as secure)."""
    with organiser_rpc(container_factory, service_config) as rpc:
        evenings = [{"weekday": d, "start": "18:00", "end": "22:00"} for d in range(7)]
        for i, name in enumerate(NAMES):
            person = rpc.volunteers.create_volunteer(
                name=name,
                phone=f"1391234{7700 + i}",
                teams=["voluntary_patrol"],
                grid_id=6 + i % 3,
                skills=["patrol_leader"] if i < 4 else [],
            )
            rpc.volunteers.set_availability(volunteer_id=person["id"], weekly=evenings)
        evening_patrols(rpc.activities, (6, 7, 8))  # the roster fills them (too few people: gaps are shown)
    return site_url(service_config)


def test_log_in_build_read_the_board_publish(site, db_backend):
    shot = screenshot(f"organiser-board-{db_backend}.png")
    seen = drive("drive_board.py", site, ORGANISER, PASSWORD, shot, MONDAY)

    assert seen["redirected_to_login"]
    session = next(c for c in seen["cookies"] if c["name"] == "gyl_session")
    assert session == {"name": "gyl_session", "httpOnly": True, "secure": True, "sameSite": "Strict"}
    assert seen["index_title"] == "排班表"
    assert seen["rows"] == 3 and seen["days"] == 14
    assert sum(seen["shifts"].values()) == 42 and seen["shifts"]["covered"] > 0
    assert "王芳" in seen["board_text"] and "G06" in seen["board_text"]
    assert seen["chart_bars"] > 0
    assert seen["status_before"] == "草稿"
    assert seen["dialogs"] and "发布" in seen["dialogs"][0]
    assert seen["notice"] == "排班表已发布。" and seen["status_after"] == "已发布"
    assert seen["publish_button_left"] == 0
    assert seen["status_en"] == "published"
    assert shot.stat().st_size > 10_000
