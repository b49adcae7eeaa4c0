"""Demo data of the lecture hall (``make run``): a lecture of this coming week in a small room, full,
with residents on its waitlist, and its setup and reception duties still to fill. Idempotent, as
the rest of ``activities.demo``: the activity carries a ``demo_key`` and each resident a request id.
Names and phones are invented (phones 1390000xxxx)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities import store
from activities.models import Activity
from guanyinli.timeutil import TZ

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("秀英", "建国", "桂兰", "德明", "淑珍", "志强", "美华", "立新", "玉兰", "国庆", "丽娟", "卫东", "春梅")
CAPACITY = 20
WAITING = 6  # residents on the waitlist once the hall is full


def residents(count: int) -> list[tuple[str, str]]:
    """``count`` invented residents: (name, phone)."""
    return [(SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)], f"1390000{1000 + i:04d}") for i in range(count)]


def load(session: Session, monday: date) -> Activity:
    """The full lecture of the week of ``monday`` (its Thursday afternoon), created once."""
    key = f"demo:{monday.isoformat()}:lecture-full-hall"
    found = session.scalar(select(Activity).where(Activity.demo_key == key))
    if found is not None:
        return found
    start = datetime.combine(monday + timedelta(days=3), time(15, 0), tzinfo=TZ)
    activity = store.create_activity(
        session,
        {
            "title": "立德树人讲堂：垃圾分类新规解读",
            "kind": "lecture",
            "room": "立德树人讲堂（小会议室）",
            "start": start,
            "duration_minutes": 90,
            "capacity": CAPACITY,
            "description": "街道城管科讲解新版分类标准，现场答疑",
            "demo_key": key,
        },
        created_by=None,
    )
    occ = store.ensure_occurrence(session, activity.id, start)
    for n, (name, phone) in enumerate(residents(CAPACITY + WAITING)):
        store.register_attendee(session, occ.id, name, phone, f"{key}:resident:{n}")
    return activity
