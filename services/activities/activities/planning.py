"""The planning lock: one plan of a kind at a time, whatever the number of workers or replicas.

A plan reads what is there (clean-ups by place and day, visits due, school assignments) and adds
what is missing. Two organisers planning at the same moment would both read "missing" and both add
it; clean-ups have no natural unique key to stop the second (each is an activity of its own). So a
plan first takes its kind's row of ``planning_locks`` with ``SELECT ... FOR UPDATE``: on PostgreSQL
the second plan waits there until the first commits, then reads the first's work (READ COMMITTED
reads after the wait). SQLite ignores ``FOR UPDATE``, but there every writing transaction already
holds the database's write lock from its BEGIN (``guanyinli.db``), which serialises the plans alike.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.models import PlanningLock
from guanyinli.db import dialect_insert

KINDS = ("cleanups", "visits", "school")


def hold(session: Session, kind: str) -> None:
    """Hold the planning lock of ``kind`` until the session's transaction ends."""
    if kind not in KINDS:
        raise ValueError(f"no planning lock {kind!r}")
    # The row is made on first use (an emptied database has none); a concurrent first use waits on
    # the primary key and then finds the row.
    session.execute(
        dialect_insert(session, PlanningLock).values(name=kind).on_conflict_do_nothing(index_elements=["name"])
    )
    session.execute(select(PlanningLock.name).where(PlanningLock.name == kind).with_for_update())
