"""Demo data of the elderly-visit register: ten people with a month of visits made (each with the
visitors' note), the coming weeks planned by the planner itself, and one person overdue.

Loaded by ``activities.demo``; idempotent (people by ``demo_key``, visits by person and day).
Names, addresses, health notes and phone numbers are invented.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities import store, visits
from activities.models import PersonVisit, Signup, VisitedPerson
from guanyinli.timeutil import TZ, local, now, to_db

# The volunteers demo numbers its 120 volunteers outside the patrol team from 181, alternating the
# convenient service and the sanitation teams: the odd ones from 181 do the convenient service.
PAIRS = [(181, 183), (185, 187), (189, 191), (193, 195), (197, 199)]
# name, category, frequency (days), grid, courtyard, old people's home, address, health notes, relative
PEOPLE = [
    (
        "孙秀兰",
        "elder_alone",
        7,
        8,
        "观音里3号院",
        None,
        "观音里3号院 5幢2单元301",
        "高血压，行动不便",
        "儿子 孙强 13951110001",
    ),
    (
        "周德福",
        "elder_alone",
        7,
        10,
        "观音里5号院",
        None,
        "观音里5号院 2幢1单元102",
        "听力较弱，请大声说话",
        "女儿 周敏 13951110002",
    ),
    (
        "吴桂英",
        "elder_alone",
        14,
        14,
        "观音里9号院",
        None,
        "观音里9号院 7幢3单元502",
        "糖尿病，勿带甜食",
        "侄子 吴涛 13951110003",
    ),
    (
        "郑国华",
        "elder_alone",
        14,
        6,
        "观音里1号院",
        None,
        "观音里1号院 1幢1单元201",
        "术后康复，轮椅出行",
        "女儿 郑丽 13951110004",
    ),
    (
        "王淑珍",
        "care_home_resident",
        14,
        None,
        None,
        "鼓楼区福寿养老院",
        "福寿养老院 2楼 212室",
        "轻度认知障碍",
        "儿子 王建 13951110005",
    ),
    (
        "李长春",
        "care_home_resident",
        30,
        None,
        None,
        "鼓楼区福寿养老院",
        "福寿养老院 3楼 305室",
        "喜欢下象棋",
        "女儿 李红 13951110006",
    ),
    (
        "陈玉梅",
        "care_home_resident",
        30,
        None,
        None,
        "金陵颐养中心",
        "金陵颐养中心 1楼 108室",
        "需助行器",
        "外甥 陈亮 13951110007",
    ),
    (
        "刘家",
        "condolence",
        30,
        12,
        "观音里7号院",
        None,
        "观音里7号院 3幢2单元401",
        "家中老人新近去世，子女在外地",
        "刘芳 13951110008",
    ),
    (
        "赵春生",
        "elder_alone",
        7,
        11,
        "观音里6号院",
        None,
        "观音里6号院 4幢1单元302",
        "独居，近期跌倒过一次",
        "儿子 赵伟 13951110009",
    ),
    (
        "黄美华",
        "elder_alone",
        14,
        9,
        "观音里4号院",
        None,
        "观音里4号院 6幢2单元202",
        "哮喘，冬季注意保暖",
        "女儿 黄静 13951110010",
    ),
]
OVERDUE = "吴桂英"  # last visited 24 days ago though due every 14: the register shows her overdue
NOTES = ("精神不错，聊了家常", "血压偏高，已提醒按时服药", "帮忙换了灯泡，老人很高兴", "情绪有些低落，下次多陪聊")
HISTORY_DAYS = 30


def _person(session: Session, n: int, spec: tuple, today: date) -> VisitedPerson:
    key = f"demo:visits:{n}"
    found = session.scalar(select(VisitedPerson).where(VisitedPerson.demo_key == key))
    if found is not None:
        return found
    name, category, every, grid, courtyard, home, address, health, relative = spec
    consent_at = datetime.combine(today - timedelta(days=60), time(10), tzinfo=TZ)
    data = {
        "category": category,
        "name": name,
        "frequency_days": every,
        "grid_id": grid,
        "courtyard": courtyard,
        "home": home,
        "address": address,
        "health_notes": health,
        "relative_contact": relative,
        "consent": {"by": "本人" if category != "condolence" else name, "how": "in_person", "at": consent_at},
        "demo_key": key,
    }
    return visits.add_person(session, data, None, now())


def _past_days(n: int, every: int, name: str, today: date) -> list[date]:
    """Visits made at the person's frequency over the last month, the last one recent enough not to be
    overdue (except the overdue person's)."""
    last = today - timedelta(days=24 if name == OVERDUE else 1 + n % every)
    days = []
    while last >= today - timedelta(days=HISTORY_DAYS):
        days.append(last)
        last -= timedelta(days=every)
    return sorted(days)


def _made(session: Session, person: VisitedPerson, day: date, pair: tuple[int, int], note: str) -> None:
    """A visit that took place: its pair confirmed (written here, as sign-ups refuse a duty that is
    over), marked made with its note."""
    if session.scalar(select(PersonVisit.id).where(PersonVisit.person_id == person.id, PersonVisit.due_on == day)):
        return
    start, _ = visits.visit_window(day)
    occ = visits.create_visit(session, person, visits.DueVisit(person.id, day, *visits.visit_window(day)), None)
    _, slot = store.signup_target(session, occ.id, "visitor")
    stamp = to_db(start - timedelta(days=7))
    for volunteer_id in pair:
        session.add(
            Signup(
                occurrence_id=occ.id,
                occurrence_role_id=slot.id,
                volunteer_id=volunteer_id,
                status="confirmed",
                source="visit_plan",
                created_at=stamp,
                confirmed_at=stamp,
                updated_at=stamp,
            )
        )
    slot.confirmed = len(pair)
    visit = session.scalar(select(PersonVisit).where(PersonVisit.occurrence_id == occ.id))
    visit.note, visit.note_by = note, pair[0]
    visit.note_at = visit.done_at = to_db(start + timedelta(hours=1, minutes=10))
    session.flush()


def load(session: Session, until: date) -> int:
    """The register, its last month of visits and the visits planned until ``until``; returns how
    many visits were planned now."""
    today = local(now()).date()
    for n, spec in enumerate(PEOPLE):
        person = _person(session, n, spec, today)
        pair = PAIRS[n % len(PAIRS)]
        for i, day in enumerate(_past_days(n, person.frequency_days, person.name, today)):
            _made(session, person, day, pair, NOTES[(n + i) % len(NOTES)])
    due = visits.due_visits(session, today, until, now())
    if not due:
        return 0
    everyone = [{"id": v, "teams": ["convenient_service"]} for pair in PAIRS for v in pair]
    free = {d.day: everyone for d in due}
    window = (min(d.start for d in due), max(d.end for d in due))
    return len(visits.plan(session, due, free, window, None))
