"""Demo data of the activities service: a realistic month of Guanyinli, starting next Monday.

    python -m activities.demo [--database-url URL] [--start YYYY-MM-DD]

Deterministic and idempotent: every activity carries a ``demo_key`` made of the month's first
Monday and its name, so loading twice (in the same week) adds nothing. The month holds the
weekend school every Saturday and Sunday morning, two lectures with resident registrations,
weekly elderly visits, evening patrols of every grid and weekend morning patrols, the service
station's weekday duty and two cultural events, and the clean-up rotation of the four weeks (its
volunteers come once the services answer: ``activities.cleanup_rotation.demo``).
Names, addresses and health notes are invented.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities import cleanup_rotation, lecture_demo, schooling, store, visits_demo
from activities.models import Activity
from guanyinli.timeutil import TZ, now

VISITS = [
    ("孙奶奶", "观音里3号院 5幢2单元301", "高血压，行动不便，需提前电话告知", 8, "MO"),
    ("周爷爷", "观音里5号院 2幢1单元102", "独居，听力较弱，请大声说话", 10, "TU"),
    ("吴奶奶", "观音里9号院 7幢3单元502", "糖尿病，探访勿带甜食", 14, "TH"),
    ("郑爷爷", "观音里1号院 1幢1单元201", "术后康复期，轮椅出行", 6, "FR"),
]
RESIDENTS = [
    "李秀英",
    "王建国",
    "张桂兰",
    "刘德明",
    "陈淑珍",
    "杨志强",
    "赵美华",
    "黄立新",
    "周玉兰",
    "吴国庆",
    "徐丽娟",
    "孙卫东",
]


def next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def community_grids() -> tuple[int, ...]:
    """The grids of the community: the volunteers service's reference data, read from its code as the
    demo runs beside it (the image carries it, see image-sources)."""
    from volunteers import structure

    return structure.grid_ids()


def plan(monday: date, grids: Iterable[int] | None = None) -> list[dict]:
    """The month's activities as ``store.create_activity`` input, each with its ``demo_key``."""
    last = monday + timedelta(days=27)
    until = f"UNTIL={last:%Y%m%d}"
    saturday = monday + timedelta(days=5)
    items: list[dict] = [
        {
            "key": "weekend-school",
            "title": "林宏汉周末爱心学堂",
            "kind": "tutoring",
            "room": "观音里社区活动中心 二楼教室",
            "grid_id": 8,
            "start": _at(saturday, 9),
            "duration_minutes": 120,
            "rrule": f"FREQ=WEEKLY;BYDAY=SA,SU;{until}",
            "capacity": 40,
            "pupils_per_tutor": 5,
            "description": "为辖区中小学生提供免费作业辅导",
            "roles": [{"name": "tutor", "needed": 2, "skills": ["tutoring"]}],
        },
        {
            "key": "lecture-fraud",
            "title": "立德树人讲堂：老年人防范电信诈骗",
            "kind": "lecture",
            "room": "立德树人讲堂",
            "start": _at(monday + timedelta(days=9), 14, 30),
            "duration_minutes": 90,
            "capacity": 80,
            "description": "鼓楼分局民警讲解常见骗局与应对",
        },
        {
            "key": "lecture-first-aid",
            "title": "立德树人讲堂：家庭急救与心肺复苏",
            "kind": "lecture",
            "room": "立德树人讲堂",
            "start": _at(monday + timedelta(days=19), 14, 30),
            "duration_minutes": 120,
            "capacity": 60,
            "description": "社区卫生服务中心医生现场教学",
        },
        {
            "key": "service-station",
            "title": "便民服务站值班",
            "kind": "convenience",
            "room": "观音里社区党群服务中心",
            "start": _at(monday, 9),
            "duration_minutes": 150,
            "rrule": f"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;{until}",
            "roles": [{"name": "helper", "needed": 2, "skills": []}],
        },
        {
            "key": "troupe-rehearsal",
            "title": "华侨文化艺术团排练",
            "kind": "cultural",
            "room": "观音里社区活动中心 多功能厅",
            "start": _at(monday + timedelta(days=3), 19),
            "duration_minutes": 120,
            "rrule": f"FREQ=WEEKLY;{until}",
            "roles": [{"name": "helper", "needed": 1, "skills": []}],
        },
        {
            "key": "overseas-family-gathering",
            "title": "侨之家：归侨侨眷中秋联谊",
            "kind": "cultural",
            "room": "侨之家",
            "start": _at(monday + timedelta(days=12), 15),
            "duration_minutes": 120,
            "roles": [
                {"name": "helper", "needed": 3, "skills": []},
                {"name": "photographer", "needed": 1, "skills": ["photography"]},
            ],
        },
    ]
    for person, address, notes, grid, weekday in VISITS:
        first = monday + timedelta(days=["MO", "TU", "WE", "TH", "FR"].index(weekday))
        items.append(
            {
                "key": f"visit-{grid}-{weekday}",
                "title": "探望独居老人",
                "kind": "elderly_visit",
                "team": "convenient_service",
                "grid_id": grid,
                "start": _at(first, 15),
                "duration_minutes": 60,
                "rrule": f"FREQ=WEEKLY;{until}",
                "visited_person": person,
                "private_address": address,
                "health_notes": notes,
            }
        )
    for grid in community_grids() if grids is None else grids:
        items.append(
            {
                "key": f"patrol-evening-{grid}",
                "title": f"第{grid}网格晚间巡逻",
                "kind": "patrol",
                "grid_id": grid,
                "start": _at(monday, 19),
                "duration_minutes": 120,
                "rrule": f"FREQ=DAILY;{until}",
                "roles": [{"name": "patroller", "needed": 2, "skills": []}],
            }
        )
        items.append(
            {
                "key": f"patrol-weekend-{grid}",
                "title": f"第{grid}网格周末早巡",
                "kind": "patrol",
                "grid_id": grid,
                "start": _at(saturday, 8),
                "duration_minutes": 120,
                "rrule": f"FREQ=WEEKLY;BYDAY=SA,SU;{until}",
                "roles": [{"name": "patroller", "needed": 2, "skills": []}],
            }
        )
    for item in items:
        item["demo_key"] = f"demo:{monday.isoformat()}:{item.pop('key')}"
    return items


def load(session: Session, monday: date) -> tuple[int, int]:
    """Create what is missing; returns (created, already there)."""
    created = existing = 0
    for spec in plan(monday):
        found = session.scalar(select(Activity).where(Activity.demo_key == spec["demo_key"]))
        if found is not None:
            existing += 1
            continue
        activity = store.create_activity(session, spec, created_by=None)
        created += 1
        if activity.kind == "lecture":
            occ = store.ensure_occurrence(session, activity.id, spec["start"])
            for n, name in enumerate(RESIDENTS):
                store.register_attendee(session, occ.id, name, None, f"{spec['demo_key']}:resident:{n}")
    created += cleanup_rotation.demo_cleanups(session, monday)
    visits_demo.load(session, monday + timedelta(days=28))  # the visit register, its month of visits
    schooling.demo_pupils(session, monday)  # the weekend school's register; its tutors: scripts/demo_duties.py
    lecture_demo.load(session, monday)
    return created, existing


def main(argv: list[str] | None = None) -> int:
    from guanyinli.config import database_url
    from guanyinli.db import make_engine
    from guanyinli.migrate import upgrade

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--start", type=date.fromisoformat, default=None, help="the Monday the month starts (default: next)"
    )
    args = parser.parse_args(argv)
    url = args.database_url or database_url("activities")
    monday = args.start or next_monday(now().date())
    if monday.weekday() != 0:
        parser.error("--start must be a Monday")
    upgrade("activities", url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        created, existing = load(session, monday)
    engine.dispose()
    print(f"activities demo: month from {monday}: {created} activities created, {existing} already there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
