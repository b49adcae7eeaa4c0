"""Demo data of the two-way service list: eight partners across the six alliances, what each offers
and needs, a few needs of the community, and the matches the rules propose, one of them agreed.

Idempotent: partners are found by name, so loading twice adds nothing. Names and phones are invented.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import partners_store as ps
from appeals.models import Partner

# (name, alliance, kind, contact person, phone, offers, needs); an offer or need is
# (kind, what, words, quantity, grid or None, days from today it runs until / is needed by, or None)
PARTNERS = [
    (
        "观音里社区居委会",
        "community_cadres",
        "unit",
        "周书记",
        "025-83300001",
        [("venue", "社区活动中心多功能厅", ("hall", "会议室"), 8, None, None)],
        [],
    ),
    (
        "鼓楼医院 后勤保障部",
        "resident_units",
        "unit",
        "张主任",
        "13900001111",
        [
            ("skill", "后勤电工、水暖工 每月义务维修", ("electrician", "plumbing"), 12, None, 60),
            ("skill", "医生义诊 测血压", ("doctor", "health"), 6, None, 45),
        ],
        [("venue", "健康讲座场地", ("hall",), 1, None, 30)],
    ),
    (
        "南京电力 鼓楼供电所",
        "resident_units",
        "unit",
        "刘工",
        "13900002222",
        [("skill", "电动车充电安全检查", ("electrician", "safety_hazard"), 8, 6, 90)],
        [],
    ),
    (
        "老王面包店",
        "individual_businesses",
        "business",
        "王师傅",
        "13900003333",
        [("goods", "重阳节面包 每份", ("bread", "food"), 40, None, 30)],
        [("volunteer_hours", "店门口非机动车停放劝导", ("patrol", "parking"), 6, 7, 21)],
    ),
    (
        "观音里便民理发店",
        "individual_businesses",
        "business",
        "陈师傅",
        "13900004444",
        [("skill", "上门为老人理发", ("haircut", "elderly_visit"), 10, None, None)],
        [],
    ),
    (
        "市税务局 在职党员志愿队",
        "in_service_party_members",
        "unit",
        "吴科长",
        "13900005555",
        [("volunteer_hours", "周末志愿时长", ("patrol", "sanitation", "tutoring"), 20, None, 60)],
        [],
    ),
    (
        "观音里第二党支部",
        "community_party_members",
        "other",
        "郑老师",
        "13900006666",
        [("volunteer_hours", "退休党员陪伴探访", ("elderly_visit",), 16, None, None)],
        [("goods", "党员活动室 折叠椅", ("chairs",), 20, None, 40)],
    ),
    (
        "益心社工服务中心",
        "non_profits",
        "non_profit",
        "李社工",
        "13900007777",
        [("skill", "社工 个案 心理疏导", ("social_work", "neighbours"), 10, None, 90)],
        [("venue", "亲子阅读活动场地", ("hall",), 2, None, 20)],
    ),
]
# The community's own needs (no partner).
COMMUNITY = [
    ("goods", "重阳节 独居老人慰问品", ("bread", "food"), 30, None, 25),
    ("skill", "老旧楼道 线路检修", ("electrician",), 8, 6, 30),
    ("volunteer_hours", "养老院探访 陪伴", ("elderly_visit",), 12, None, 28),
]


def _add_need(session: Session, need: tuple, partner_id: int | None, today: date, at: datetime) -> None:
    kind, what, words, quantity, grid, days = need
    data = {"partner_id": partner_id, "kind": kind, "what": what, "words": list(words), "quantity": quantity,
            "grid_id": grid, "by_when": today + timedelta(days=days) if days else None, "status": "open"}  # fmt: skip
    ps.add_need(session, data, at)


def partner_demo(session: Session, today: date, at: datetime) -> tuple[int, int]:
    """Load the partners (those not there yet), their offers and needs, the community's needs, and
    propose matches; the best match is agreed. Returns (partners created, matches proposed)."""
    known = set(session.scalars(select(Partner.name)))
    created = 0
    for name, alliance, kind, person, phone, offers, needs in PARTNERS:
        if name in known:
            continue
        partner = ps.add_partner(
            session,
            {"name": name, "alliance": alliance, "kind": kind, "contact_person": person, "contact_phone": phone},
            at,
        )
        for o_kind, what, words, quantity, grid, days in offers:
            ps.add_offer(session, {"partner_id": partner["id"], "kind": o_kind, "what": what, "words": list(words),
                                   "quantity": quantity, "grid_id": grid, "available_from": None,
                                   "available_until": today + timedelta(days=days) if days else None})  # fmt: skip
        for need in needs:
            _add_need(session, need, partner["id"], today, at)
        created += 1
    if created:
        for need in COMMUNITY:
            _add_need(session, need, None, today, at)
    proposed = ps.propose_matches(session, today, at)
    if proposed and created:
        best = max(proposed, key=lambda m: (m["score"], -m["id"]))
        ps.decide(session, best["id"], "agreed", at, "demo")
    return created, len(proposed)
