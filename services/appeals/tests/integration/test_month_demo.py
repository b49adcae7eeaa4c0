"""The demo's past month of appeals: handled by the grids' own people, mostly within the limits, some
late and some still open, loaded once; its old news marked sent, its closings' events left to go out.
On both databases."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import report, store, time_limits
from appeals.models import OUTBOX, Appeal
from appeals.month_demo import demo_month
from guanyinli.db import make_engine
from guanyinli.timeutil import TZ

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=TZ)
GRIDS = [
    {"id": g, "leader": {"id": 100 + g}, "members": [{"id": 200 + g}, {"id": 300 + g}], "courtyards": [f"C{g:02d}"]}
    for g in range(1, 16)
] + [{"id": 16, "leader": None, "members": [], "courtyards": []}]  # nobody to handle: left out


def test_the_demo_month_reads_as_a_month_and_loads_once(db_urls):
    engine = make_engine(db_urls["appeals"])
    with Session(engine, expire_on_commit=False) as session, session.begin():
        made = demo_month(session, GRIDS, NOW)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        again = demo_month(session, GRIDS, NOW)
    assert again["appeals"] == 0
    assert made["appeals"] >= 100 and made["closed"] + made["open"] == made["appeals"]
    assert 0 < made["open"] < made["closed"]
    with Session(engine) as session:
        appeals = session.scalars(select(Appeal)).all()
        assert len(appeals) == made["appeals"]
        people = {g["leader"]["id"] for g in GRIDS[:15]} | {m["id"] for g in GRIDS for m in g["members"]}
        assert all(a.handler_id in people and a.grid_id != 16 for a in appeals)
        assert {a.status for a in appeals} >= {"assigned", "accepted", "closed"}
        assert all(1 <= a.satisfaction <= 5 for a in appeals if a.status == "closed")
        # the month's figures: most stages in time, some late, someone's open stage already overdue
        first = report.parse_month("2026-11")
        start, end = report.month_bounds(first)
        figures = report.monthly_report(store.report_records(session, start, end), first, NOW)
        stages = {row["stage"]: row for row in figures["total"]["stages"]}
        for stage in ("acknowledge", "close"):
            assert 0 < stages[stage]["late"] < stages[stage]["met"], stages[stage]
        december = report.parse_month("2026-12")
        start, end = report.month_bounds(december)
        assert (
            report.monthly_report(store.report_records(session, start, end), december, NOW)["total"]["overdue_now"] > 0
        )
        # every open appeal waits for the escalation timer at its next step
        for a in appeals:
            assert (a.next_check_at is None) == (a.status == "closed")
            if a.status != "closed":
                assert time_limits.next_check(NOW, store.appeal_times(a), store.fired_keys(a)) is not None
        rows = session.execute(select(OUTBOX.table.c.event_type, OUTBOX.table.c.sent_at)).all()
        assert {t for t, sent in rows if sent is None} == {"appeal_closed"}
        assert sum(1 for t, sent in rows if t == "appeal_closed") == made["closed"]
    engine.dispose()
