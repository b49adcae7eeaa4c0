"""Loading the demo data: idempotent on both backends, served over RPC, and runnable as a module."""

import os
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy.orm import Session

from guanyinli.config import ROOT
from guanyinli.db import make_engine
from volunteers import demo

pytestmark = pytest.mark.integration


def load(url):
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            return demo.load_demo(session, today=date(2026, 3, 1))
    finally:
        engine.dispose()


def test_load_demo_twice_changes_nothing(db_urls, tables, rpc):
    first = load(db_urls["volunteers"])
    assert first["created"] == len(demo.generate(today=date(2026, 3, 1))) and first["skipped"] == 0
    snapshot = tables.snapshot()
    assert load(db_urls["volunteers"]) == {"created": 0, "skipped": first["created"], "ledger_entries": 0}
    assert tables.snapshot() == snapshot

    assert rpc.health()["volunteers"] == first["created"]
    grids = rpc.list_grids()
    assert all(g["leader"] is not None and g["member_count"] >= 1 for g in grids)
    patrol = rpc.list_volunteers(team="voluntary_patrol", skill="patrol_leader", limit=1)
    assert patrol["total"] == 60
    evening = rpc.available_volunteers(
        "2026-03-02T19:00:00+08:00", "2026-03-02T21:00:00+08:00", team="voluntary_patrol", grid=6
    )
    assert sum("patrol_leader" in v["skills"] for v in evening) >= 2 and len(evening) >= 4
    month = rpc.availability_windows("2026-03-02T00:00:00+08:00", "2026-03-30T00:00:00+08:00", team="voluntary_patrol")
    assert len(month) == 180 and all(w["windows"] for w in month)
    assert rpc.leaderboard(limit=3)[0]["rank"] == 1


def test_demo_module_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("common", "services/volunteers"))}
    command = [sys.executable, "-m", "volunteers.demo", "--database-url", url]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "volunteers created" in first.stdout and " 0 already there" in first.stdout
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "0 volunteers created" in second.stdout
