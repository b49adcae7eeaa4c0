"""Follow-ups in headless Chromium: a grid leader reads /visits and /cleanups of their grid from their
phone session, the organiser cancels a missed visit, a visitor takes back "made" on their phone."""

from __future__ import annotations

from datetime import timedelta

from browser_harness import ARTIFACTS, AXE, BROWSER, NEEDS_AXE, ORGANISER, drive, organiser_rpc, setup_file, site_url
from organiser_testkit import PASSWORD

from guanyinli.timeutil import iso, now

pytestmark = [*BROWSER, NEEDS_AXE]

CONSENT = {"by": "本人", "how": "in_person"}


def test_grid_leader_missed_visit_and_reopen(container_factory, service_config, tmp_path):
    links = {}
    with organiser_rpc(container_factory, service_config) as rpc:
        ids = []
        for i, name in enumerate(["王芳", "李明", "张伟", "刘洋"]):
            person = rpc.volunteers.create_volunteer(
                name=name, phone=f"1391234{7950 + i}", teams=["convenient_service"], grid_id=8
            )
            rpc.volunteers.set_availability(
                volunteer_id=person["id"], weekly=[{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)]
            )
            ids.append(person["id"])
        # the grid leader visits nobody (no free times), so what they read is their grid's, nothing more
        ids.append(rpc.volunteers.create_volunteer(name="网格长陈", phone="13912347999", grid_id=8)["id"])
        rpc.volunteers.assign_grid_leader(grid_id=8, volunteer_id=ids[4])
        for vid in ids:
            links[vid] = rpc.organiser.issue_signin_link(volunteer_id=vid)["url"]
        rpc.activities.add_visited_person(
            category="elder_alone", name="孙奶奶", grid_id=8, frequency_days=7, address="5幢2单元301", consent=CONSENT
        )
        rpc.activities.add_visited_person(
            category="elder_alone", name="周爷爷", grid_id=9, frequency_days=7, consent=CONSENT
        )
        day = (now() + timedelta(days=1)).date()
        planned = rpc.activities.plan_visits(start=day.isoformat(), end=(day + timedelta(days=7)).isoformat())
        missed, kept = planned
        rpc.activities.update_occurrence(occurrence_id=missed["occurrence_id"], start=iso(now() - timedelta(days=1)))
    setup = {
        "base": site_url(service_config),
        "username": ORGANISER,
        "password": PASSWORD,
        "axe": str(AXE),
        "screenshots": str(ARTIFACTS),
        "leader": links[ids[4]],
        "visitor": links[kept["visitor_ids"][0]],
        "missed": missed["occurrence_id"],
    }
    seen = drive("drive_followups.py", setup_file(tmp_path, setup))

    assert "孙奶奶" in seen["leader_visits"] and "周爷爷" not in seen["leader_visits"]
    assert "5幢2单元301" not in seen["leader_visits"] and seen["leader_forms"] == 0
    assert seen["leader_cleanups_status"] == 1 and seen["leader_cleanups_forms"] <= 1  # the period picker only
    assert "未完成" not in seen["missed_notice"] and "已取消这次探访" in seen["missed_notice"]
    assert seen["missed_left"] == 0
    assert seen["reopen_notice"] == "已撤销“已完成”。" and seen["done_after"] == 0
    for page in ("axe_leader_visits", "axe_missed", "axe_phone"):
        assert seen[page] == [], (page, seen[page])
