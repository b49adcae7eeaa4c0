"""The guards of ``activities.swaps`` on a database: a stale roster version or an answered proposal changes nothing."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from activities import swaps
from activities.models import OUTBOX, Base, Roster, RosterSwap
from guanyinli.errors import Conflict
from guanyinli.timeutil import TZ, to_db

MONDAY = datetime(2026, 12, 7, 19, 0, tzinfo=TZ)
SHIFTS = [
    {
        "shift_id": str(n),
        "grid_id": 1,
        "start": f"2026-12-0{6 + n}T19:00:00+08:00",
        "end": f"2026-12-0{6 + n}T21:00:00+08:00",
    }
    for n in (1, 2, 3)
]


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(
            Roster(
                id=1,
                start=to_db(MONDAY),
                end=to_db(MONDAY.replace(day=14)),
                grids=[1],
                options={},
                status="draft",
                job_id="j",
                result={
                    "shifts": SHIFTS,
                    "assignments": [
                        {"shift_id": "1", "volunteer_id": 5},
                        {"shift_id": "2", "volunteer_id": 6},
                        {"shift_id": "3", "volunteer_id": 7},
                    ],
                },
            )
        )
        for swap_id, (b, shift_b) in enumerate(((6, "2"), (7, "3")), start=1):
            session.add(
                RosterSwap(
                    id=swap_id,
                    roster_id=1,
                    volunteer_a=5,
                    shift_a="1",
                    volunteer_b=b,
                    shift_b=shift_b,
                    status="proposed",
                    proposed_by=5,
                    expires_at=to_db(MONDAY),
                )
            )
        session.commit()
        yield session


def assignments(session) -> set[tuple[str, int]]:
    session.expire_all()
    return {(a["shift_id"], a["volunteer_id"]) for a in session.get(Roster, 1).result["assignments"]}


def test_a_swap_checked_against_an_older_roster_version_is_refused(session):
    early = MONDAY.replace(day=6)
    one = swaps.answer(session, 1, "accepted", "志愿者6", early)
    swaps.apply(session, one, version=0, by_organiser=False)
    session.commit()
    assert assignments(session) == {("2", 5), ("1", 6), ("3", 7)}
    assert session.get(Roster, 1).version == 1
    # The second proposal was checked when volunteer 5 still held shift 1: it must not apply.
    two = swaps.answer(session, 2, "accepted", "志愿者7", early)
    with pytest.raises(Conflict, match="changed while swap 2 was checked"):
        swaps.apply(session, two, version=0, by_organiser=False)
    session.rollback()
    assert assignments(session) == {("2", 5), ("1", 6), ("3", 7)}
    assert session.get(RosterSwap, 2).status == "proposed"
    events = session.scalars(select(OUTBOX.table.c.event_type)).all()
    assert events == ["swap_accepted"]


def test_a_proposal_is_answered_once_and_not_after_it_expired(session):
    early = MONDAY.replace(day=6)
    assert swaps.answer(session, 1, "declined", "志愿者6", early, "没空").reason == "没空"
    with pytest.raises(Conflict, match="answered meanwhile"):
        swaps.answer(session, 1, "accepted", "组织者", early)
    with pytest.raises(Conflict):
        swaps.answer(session, 2, "accepted", "志愿者7", MONDAY)
    assert session.get(RosterSwap, 2).status == "proposed"


def test_listing_reads_an_open_proposal_past_its_expiry_as_expired(session):
    early = MONDAY.replace(day=6)

    def listed(status, now, **kw):
        return [r.id for r in swaps.query(session, now, kw.get("roster_id"), kw.get("volunteer_id"), status, 50, 0)]

    assert listed("proposed", early) == [2, 1] and listed("expired", early) == []
    assert listed("proposed", MONDAY) == [] and listed("expired", MONDAY) == [2, 1]
    assert listed(None, early, volunteer_id=7) == [2] and listed(None, early, volunteer_id=8) == []
    assert swaps.view(session.get(RosterSwap, 1), MONDAY)["status"] == "expired"
