"""Demo data of residents' appeals: the past month of the 15 grids, seen through by their people.

Loaded by ``make run`` once the services answer (``scripts/demo_duties.py``), because the handlers are
the volunteers service's grid leaders and members (``get_grid``), whose ids only it knows. Written
through the same use cases as the RPC methods (``store.receive``, ``accept``, ``mark_visited``,
``close``) at moments of the past month, so the trail, the deadlines and the monthly report read as
a real month: most appeals closed within their limits with the resident's satisfaction, some late,
the last days' still open, a few accepted weeks ago and never visited, and one of some days ago whose
handler never answered: the running service's escalation timer takes those up the ladder (handler,
grid leader, community office) once it starts.

Idempotent: nothing is added once an appeal taken in by ``demo`` exists. The news of a month ago
("a new appeal for you") is marked sent so that nobody is told it now; the closings' events go out,
and the volunteers service credits their hours. Names, phones and addresses are invented.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import domain, store, time_limits
from appeals.models import OUTBOX, Appeal
from guanyinli.timeutil import TZ
from guanyinli.timeutil import now as system_now

AUTHOR = "demo"
SEED = 20261207
APPEALS = 120
DAYS = 30

# What residents of an old community ask for, roughly as often as they ask.
CATEGORY_WEIGHTS = {
    "errand": 20,
    "repair": 22,
    "agent": 8,
    "government_affairs_at_home": 10,
    "safety_hazard": 8,
    "environment": 14,
    "elevator": 4,
    "neighbours": 9,
    "other": 5,
}
WORDS = {
    "errand": ("帮独居老人取药", "代买米面油", "帮忙取快递"),
    "repair": ("楼道灯不亮", "厨房水管漏水", "单元门锁坏了"),
    "agent": ("代办医保报销", "代缴水电费"),
    "government_affairs_at_home": ("上门办理老年证", "上门办理居住证明"),
    "safety_hazard": ("楼道里有电动车充电", "消防通道堆放杂物"),
    "environment": ("垃圾桶满了没人清", "绿化带杂草丛生"),
    "elevator": ("电梯异响", "电梯按钮失灵"),
    "neighbours": ("楼上深夜噪音", "邻居漏水到我家"),
    "other": ("咨询社区活动", "想报名志愿者"),
}
OUTCOMES = {
    "errand": "已代办完成，送到居民家中",
    "repair": "已联系物业维修，居民确认修好",
    "agent": "已代为办理，回执交给居民",
    "government_affairs_at_home": "已上门办理完毕",
    "safety_hazard": "已劝离并清理，张贴提示",
    "environment": "已通知保洁清理",
    "elevator": "已报维保单位检修，恢复运行",
    "neighbours": "已上门调解，双方达成一致",
    "other": "已答复居民",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("桂兰", "秀英", "建国", "玉珍", "志强", "淑华", "国庆", "凤英", "德明", "丽娟")


def _moment(rng: random.Random, day) -> datetime:
    """A moment of ``day`` weighted to the daytime, when residents call or knock."""
    hour = rng.choices(range(24), weights=[1] * 7 + [6] * 12 + [3] * 3 + [1] * 2)[0]
    return datetime.combine(day, time(hour, rng.randrange(60)), TZ)


def _within(rng: random.Random, start: datetime, deadline: datetime, late: bool) -> datetime:
    """A moment between ``start`` and ``deadline`` (after it when ``late``), never before ``start``."""
    span = max((deadline - start).total_seconds(), 600.0)
    if late:
        return deadline + timedelta(seconds=span * rng.uniform(0.1, 0.6))
    return start + timedelta(seconds=span * rng.uniform(0.1, 0.9))


def candidates(grid: Mapping) -> list[domain.Candidate]:
    """The grid's leader and members, all taken as available (the month is past)."""
    people = [m["id"] for m in grid.get("members") or ()]
    leader = (grid.get("leader") or {}).get("id")
    return domain.candidates(grid, people + ([leader] if leader else []))


def demo_month(
    session: Session,
    grids: Sequence[Mapping],
    now: datetime,
    limits: time_limits.Limits = time_limits.DEFAULT_LIMITS,
    count: int = APPEALS,
    seed: int = SEED,
) -> dict[str, int]:
    """The past ``DAYS`` days of appeals over ``grids`` (the volunteers service's ``get_grid`` answers)."""
    if session.scalar(select(Appeal.id).where(Appeal.received_by == AUTHOR).limit(1)) is not None:
        return {"appeals": 0, "closed": 0, "open": 0}
    rng = random.Random(seed)
    served = [g for g in grids if candidates(g)]
    if not served:
        return {"appeals": 0, "closed": 0, "open": 0}
    first_day = (now - timedelta(days=DAYS)).astimezone(TZ).date()
    moments = sorted(_moment(rng, first_day + timedelta(days=rng.randrange(DAYS))) for _ in range(count))
    moments = [m for m in moments if m < now - timedelta(hours=2)]
    counts = {"appeals": 0, "closed": 0, "open": 0}
    for index, received in enumerate(moments):
        grid = rng.choice(served)
        category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
        urgency = "urgent" if rng.random() < 0.15 else "normal"
        courtyards = sorted(domain.courtyard_codes(grid))
        data = {
            "category": category,
            "grid_id": grid["id"],
            "courtyard": rng.choice(courtyards) if courtyards else None,
            "building": f"{rng.randint(1, 12)}幢",
            "urgency": urgency,
            "description": rng.choice(WORDS[category]),
            "resident_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "resident_phone": f"139{rng.randrange(10**8):08d}",
            "resident_address": f"{rng.randint(1, 12)}幢{rng.randint(1, 6)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}",
            "source": rng.choice(("office", "office", "grid", "resident")),
        }
        view = store.receive(session, data, candidates(grid), received, AUTHOR, limits)
        appeal = store.get(session, view["id"])
        counts["appeals"] += 1
        due = time_limits.deadlines(category, urgency, received, limits)
        late = rng.random() < 0.12  # about one stage in eight runs over its limit
        accepted = _within(rng, received, due.acknowledge, late)
        visited = _within(rng, accepted, max(due.visit, accepted + timedelta(hours=1)), late and rng.random() < 0.5)
        closed = _within(rng, visited, max(due.close, visited + timedelta(hours=1)), late and rng.random() < 0.5)
        handler = f"volunteer:{appeal.handler_id}"
        if index == len(moments) - 8 or accepted >= now:
            continue  # the newest: waiting to be accepted, and one whose handler never answered
        store.accept(session, appeal, accepted, handler, limits)
        if visited >= now or index % 23 == 0:
            counts["open"] += 1
            continue  # accepted, not visited yet (the escalation timer will see to the overdue ones)
        store.mark_visited(session, appeal, "已上门了解情况", visited, handler, appeal.handler_id, limits)
        if closed >= now:
            counts["open"] += 1
            continue
        closing = {
            "outcome": OUTCOMES[category],
            "resident_reply": rng.choice((None, "谢谢", "很满意", "希望以后更快一些")),
            "satisfaction": rng.choices((5, 4, 3, 2), weights=(12, 6, 2, 1))[0],
            "hours": rng.choice((0.5, 1.0, 1.5, 2.0, 3.0)),
        }
        store.close(session, appeal, closing, closed, handler)
        counts["closed"] += 1
    # News a month old is not news: only the closings' events (hours for the ledger) go out.
    stale = [row.id for row in OUTBOX.pending(session) if row.event_type != "appeal_closed"]
    OUTBOX.mark_sent(session, stale, system_now())
    counts["open"] = counts["appeals"] - counts["closed"]
    return counts
