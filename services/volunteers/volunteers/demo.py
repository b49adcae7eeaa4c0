"""Demo data for Guanyinli: about 300 volunteers spread over the real teams, grids and alliances.

    python -m volunteers.demo --database-url sqlite:///var/volunteers.db

``generate`` is deterministic (seeded) and pure; ``load_demo`` writes it through the same store
functions the service uses and is idempotent: a volunteer whose ``demo_key`` exists is left as it
is, so loading twice changes nothing. The voluntary patrol team is sized so that a month of patrols
per grid (19:00-21:00 every evening and 08:00-10:00 on weekend mornings, two volunteers with one
patrol leader each) can be covered with at most three patrols per volunteer and week.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanyinli.timeutil import TZ, now
from volunteers import domain, store
from volunteers.models import GridRole, Volunteer
from volunteers.structure import PATROL_LEADER, PATROL_TEAM, grid_ids

SEED = 20240611
PATROL_PER_GRID = 12  # of whom LEADERS_PER_GRID are qualified patrol leaders
LEADERS_PER_GRID = 4
OTHERS = 120  # convenient service and sanitation volunteers, spread over the grids
MEMBERS_PER_GRID = 3

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任姚卢傅钟姜崔谭陆范汪廖石金贾夏韦付方邹"
SURNAME_WEIGHTS = [6 if i < 5 else 3 if i < 20 else 1 for i in range(len(SURNAMES))]  # 王李张刘陈 most common
GIVEN_NAMES = tuple(
    """秀英 桂兰 玉兰 建华 志强 海燕 丽娟 国平 文静 晓红 春梅 伟明 德福 永刚 淑珍 凤英 红霞 宏伟 雪梅 金凤
    俊杰 家豪 子涵 思远 欣怡 子轩 雨涵 浩然 嘉怡 立新 振华 爱民 建国 卫东 秋菊 冬梅 明 伟 芳 敏 静 丽 强 磊 军
    洋 勇 艳 杰 娟 涛 超 霞 平 刚 桂英 玉珍 兰英 志明 国庆 建平 海涛 晓东 红梅 小燕 丽华 文华 国华 桂芳 亚萍
    慧敏 晓燕 美玲 宇航 梓涵 一诺 欣然 俊熙 睿泽 思彤 德华 玉梅 凤兰 长青 学军 金华""".split()
)
MOBILE_PREFIXES = (
    "138",
    "139",
    "135",
    "136",
    "137",
    "150",
    "151",
    "152",
    "158",
    "159",
    "186",
    "187",
    "188",
    "177",
    "181",
)
ALLIANCE_WEIGHTS = {
    "community_party_members": 30,
    "in_service_party_members": 20,
    "non_profits": 18,
    "resident_units": 15,
    "individual_businesses": 12,
    "community_cadres": 5,
}
EXTRA_SKILLS = {
    "first_aid": 15,
    "elderly_care": 10,
    "electrician": 5,
    "plumbing": 4,
    "driving": 8,
    "photography": 4,
    "calligraphy": 3,
    "tutoring:math": 5,
    "tutoring:chinese": 5,
    "tutoring:english": 5,
    "tutoring:physics": 2,
}
REASONS = {
    "voluntary_patrol": ("夜间巡逻", "周末早间巡逻", "楼道充电隐患排查"),
    "sanitation_green": ("楼道清理", "绿地养护", "垃圾分类宣传"),
    "convenient_service": ("为老服务", "小家电维修", "代办跑腿"),
}


@dataclass
class DemoVolunteer:
    key: str
    name: str
    phone: str
    email: str | None
    teams: list[str]
    grid_id: int
    alliance: str
    skills: list[str]
    language: str = "zh"
    weekly: list[dict] = field(default_factory=list)  # {"weekday", "start", "end"} as in set_availability
    dated: list[dict] = field(default_factory=list)  # {"kind", "start", "end", "note"}
    grid_role: str | None = None  # "leader" or "member"
    ledger: list[dict] = field(default_factory=list)  # {"hours", "points", "reason", "team", "occurred_at", "key"}


def _window(days, start: str, end: str) -> list[dict]:
    return [{"weekday": d, "start": start, "end": end} for d in sorted(days)]


def _availability(rng: random.Random, profile: str) -> list[dict]:
    """Weekly windows of a volunteer of one profile: evenings, weekend mornings, daytime for retirees."""
    weekend_mornings = _window((5, 6), "07:30", "11:00")
    if profile == "patrol_leader":
        evenings = rng.sample(range(7), rng.choice((4, 5, 6)))
        return _window(evenings, "18:30", "21:30") + (weekend_mornings if rng.random() < 0.6 else [])
    if profile == "patrol":
        evenings = rng.sample(range(7), rng.choice((3, 4, 4, 5)))
        return _window(evenings, rng.choice(("18:30", "19:00")), "21:30") + (
            weekend_mornings if rng.random() < 0.5 else []
        )
    if profile == "retiree":
        days = rng.sample(range(5), rng.choice((3, 4, 5)))
        return _window(days, "08:30", "11:30") + _window(rng.sample(days, 2), "14:00", "17:00")
    if profile == "worker":
        return _window(rng.sample(range(5), 2), "19:00", "21:00") + _window((5, 6), "09:00", "12:00")
    return _window((5, 6), "09:00", "12:00") + _window((5,), "14:00", "17:00")  # weekends only


def _time_off(rng: random.Random, today: date) -> list[dict]:
    if rng.random() >= 0.15:
        return []
    first = today + timedelta(days=rng.randint(3, 60))
    last = first + timedelta(days=rng.randint(2, 7))
    note = rng.choice(("探亲", "外出旅游", "住院治疗", "家中有事"))
    return [{"kind": "off", "start": _local(first, 0), "end": _local(last, 0), "note": note}]


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def _history(rng: random.Random, key: str, teams: list[str], today: date) -> list[dict]:
    entries = []
    for n in range(rng.choice((0, 0, 1, 2, 3, 4, 6))):
        team = rng.choice(teams)
        day = today - timedelta(days=rng.randint(1, 90))
        weekend = day.weekday() >= 5
        hours = rng.choice((1.5, 2.0, 2.0, 2.5, 3.0))
        start = _local(day, 8 if weekend and team == PATROL_TEAM and rng.random() < 0.5 else 19)
        entries.append(
            {
                "hours": hours,
                "points": domain.attendance_points("attended", hours, weekend, rng.random() < 0.05),
                "reason": rng.choice(REASONS[team]),
                "team": team,
                "occurred_at": start,
                "key": f"demo:{key}:{n}",
            }
        )
    return entries


def _spread_leaders(leaders: list[DemoVolunteer]) -> None:
    """Make sure each evening and each weekend morning has three of the grid's patrol leaders.

    Random availability alone sometimes leaves a grid with one leader on Saturday evening; the
    patrol team of a real grid agrees its leaders' days among themselves, as this does.
    """
    for weekday, start, end, needed in [(d, "18:30", "21:30", 3) for d in range(7)] + [
        (d, "07:30", "11:00", 3) for d in (5, 6)
    ]:

        def has(v, weekday=weekday, start=start):
            return any(w["weekday"] == weekday and w["start"] == start for w in v.weekly)

        while sum(has(v) for v in leaders) < min(needed, len(leaders)):
            v = min((v for v in leaders if not has(v)), key=lambda v: (len(v.weekly), v.key))
            v.weekly = sorted(v.weekly + _window((weekday,), start, end), key=lambda w: (w["weekday"], w["start"]))


def generate(seed: int = SEED, today: date | None = None) -> list[DemoVolunteer]:
    """The demo volunteers: 12 patrol volunteers (4 patrol leaders) per grid, then 120 others."""
    rng = random.Random(seed)
    today = today or now().date()
    names: set[str] = set()
    phones: set[str] = set()

    def person() -> tuple[str, str]:
        while True:
            name = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0] + rng.choice(GIVEN_NAMES)
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if name not in names and phone not in phones:
                names.add(name)
                phones.add(phone)
                return name, phone

    alliances, weights = zip(*ALLIANCE_WEIGHTS.items(), strict=True)
    extra_skills, skill_weights = zip(*EXTRA_SKILLS.items(), strict=True)
    grids = grid_ids()
    plan: list[tuple[int, str, list[str]]] = []
    for grid in grids:
        for i in range(PATROL_PER_GRID):
            teams = [PATROL_TEAM] + (
                [rng.choice(("convenient_service", "sanitation_green"))] if rng.random() < 0.2 else []
            )
            plan.append((grid, "patrol_leader" if i < LEADERS_PER_GRID else "patrol", teams))
    for i in range(OTHERS):
        teams = [("convenient_service", "sanitation_green")[i % 2]]
        if rng.random() < 0.15:
            teams = ["convenient_service", "sanitation_green"]
        plan.append((grids[i % len(grids)], rng.choice(("retiree", "retiree", "worker", "weekend")), teams))

    volunteers = []
    for n, (grid, profile, teams) in enumerate(plan, start=1):
        key = f"v{n:03d}"
        name, phone = person()
        skills = {PATROL_LEADER} if profile == "patrol_leader" else set()
        skills.update(rng.choices(extra_skills, skill_weights, k=rng.choice((0, 1, 1, 2))))
        volunteers.append(
            DemoVolunteer(
                key=key,
                name=name,
                phone=phone,
                email=f"{key}@guanyinli.example.cn" if rng.random() < 0.6 else None,
                teams=sorted(set(teams)),
                grid_id=grid,
                alliance=rng.choices(alliances, weights)[0],
                skills=sorted(skills),
                language="en" if rng.random() < 0.02 else "zh",
                weekly=_availability(rng, profile),
                dated=_time_off(rng, today),
                ledger=_history(rng, key, sorted(set(teams)), today),
            )
        )
    for grid in grids:
        _spread_leaders([v for v in volunteers if v.grid_id == grid and PATROL_LEADER in v.skills])
        residents = [v for v in volunteers if v.grid_id == grid]
        # The grid leader: a community cadre or party member living in the grid, else the first resident.
        leader = next(
            (v for v in residents if v.alliance in ("community_cadres", "community_party_members")), residents[0]
        )
        leader.grid_role = "leader"
        for v in [v for v in residents if v is not leader][:MEMBERS_PER_GRID]:
            v.grid_role = "member"
    return volunteers


def load_demo(session: Session, seed: int = SEED, today: date | None = None) -> dict[str, int]:
    """Write the demo volunteers that are not there yet (by demo_key); returns what was created."""
    existing = set(session.scalars(select(Volunteer.demo_key).where(Volunteer.demo_key.is_not(None))))
    phones = set(session.scalars(select(Volunteer.phone)))
    leaders = set(session.scalars(select(GridRole.grid_id).where(GridRole.role == "leader")))
    created = skipped = entries = 0
    for v in generate(seed, today):
        if v.key in existing or v.phone in phones:
            skipped += 1
            continue
        data = {
            k: getattr(v, k) for k in ("name", "phone", "email", "teams", "grid_id", "alliance", "skills", "language")
        }
        volunteer = store.create_volunteer(session, data, demo_key=v.key)
        store.set_availability(session, volunteer["id"], v.weekly, v.dated)
        if v.grid_role == "member" or (v.grid_role == "leader" and v.grid_id not in leaders):
            session.add(GridRole(grid_id=v.grid_id, volunteer_id=volunteer["id"], role=v.grid_role))
            leaders.add(v.grid_id) if v.grid_role == "leader" else None
        for e in v.ledger:
            store.add_ledger_entry(
                session,
                volunteer["id"],
                e["hours"],
                e["points"],
                e["reason"],
                "demo",
                e["key"],
                e["team"],
                e["occurred_at"],
            )
            entries += 1
        created += 1
    session.flush()
    return {"created": created, "skipped": skipped, "ledger_entries": entries}


def main(argv: list[str] | None = None) -> int:
    from guanyinli.config import database_url
    from guanyinli.db import make_engine
    from guanyinli.migrate import upgrade

    parser = argparse.ArgumentParser(description="Load the Guanyinli demo volunteers (idempotent).")
    parser.add_argument(
        "--database-url", default=None, help="default: VOLUNTEERS_DATABASE_URL, DATABASE_URL, var/volunteers.db"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-migrate", action="store_true", help="do not bring the schema to head first")
    args = parser.parse_args(argv)
    url = args.database_url or database_url("volunteers")
    if not args.no_migrate:
        upgrade("volunteers", url)
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            result = load_demo(session, args.seed)
    finally:
        engine.dispose()
    print(
        f"volunteers demo: {result['created']} volunteers created, {result['skipped']} already there, "
        f"{result['ledger_entries']} ledger entries"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
