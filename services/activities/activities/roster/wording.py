"""The solver's plain words in Chinese, beside the English ones: shifts, shortages, gaps, relaxations.

Organisers read the Chinese; the English stays for logs, the command line and other services.
"""

from __future__ import annotations

from datetime import datetime

WEEKDAYS = "一二三四五六日"
KINDS = {"evening": "晚间巡逻", "afternoon": "下午巡逻", "morning": "上午巡逻"}


def day(moment: datetime) -> str:
    return f"{moment.month}月{moment.day}日（周{WEEKDAYS[moment.weekday()]}）"


def grid(problem, grid_id: int) -> str:
    return problem.grid_names_zh.get(grid_id) or f"{grid_id}号网格"


def shift(problem, s) -> str:
    return f"{grid(problem, s.grid)}，{day(s.start)}{KINDS.get(s.kind, s.kind)}"


def short_shift(problem, s, available: int, leaders: int) -> str:
    text = f"{shift(problem, s)}：需要{s.min_patrollers}名巡逻队员，可用{available}名"
    if s.leaders_needed > 1:
        text += f"，需要{s.leaders_needed}名队长，可用{leaders}名"
    elif s.leader_needed:
        text += "，没有可用的队长" if leaders == 0 else f"，可用队长{leaders}名"
    return text


def short_time(start: datetime, kind: str, shifts: int, need: int, need_leaders: int, people: int, leaders: int) -> str:
    return (
        f"{day(start)}{KINDS.get(kind, kind)}：{shifts}个班次共需{need}名巡逻队员和{need_leaders}名队长，"
        f"全部可用的只有巡逻队员{people}名、队长{leaders}名"
    )


def short_grid_week(problem, grid_id: int, first: datetime, places: int, can: int, leader_places: int, can_lead: int):
    parts = []
    if places > can:
        parts.append(f"需要{places}个巡逻名额，本网格的队员在每周上限内最多能出{can}个")
    if leader_places > can_lead:
        parts.append(f"需要{leader_places}个队长名额，队长们最多能出{can_lead}个")
    return f"{grid(problem, grid_id)}，{first.month}月{first.day}日所在的一周：" + "；".join(parts)


def _places(shifts: int, places: int, people: int, can: int, leaders: bool, who: str, within: str) -> str:
    if leaders:
        return f"{shifts}个班次共需{places}个队长名额，{who}的{people}名队长{within}最多能出{can}个"
    return f"{shifts}个班次共需{places}个巡逻名额，{who}的{people}名队员{within}最多能出{can}个"


def short_day(moment, shifts: int, places: int, people: int, can: int, leaders: bool = False) -> str:
    return f"{day(moment)}：" + _places(shifts, places, people, can, leaders, "当天可用", "在休息规定和个人上限内")


def short_week(number: int, monday, sunday, shifts: int, places: int, people: int, can: int, leaders=False) -> str:
    return f"第{number}周（{monday.month}月{monday.day}日至{sunday.month}月{sunday.day}日）：" + _places(
        shifts, places, people, can, leaders, "当周可用", "在每周上限和休息规定内"
    )


def short_period(first, last, shifts: int, places: int, people: int, can: int, leaders: bool = False) -> str:
    return f"整个排班期（{first.month}月{first.day}日至{last.month}月{last.day}日）：" + _places(
        shifts, places, people, can, leaders, "可用", "在各自上限内"
    )


def not_covered(gaps: int, proven: bool, time_limit: float) -> str:
    if proven:
        return f"各项人数都够，但每周上限、休息和队长要求合在一起无法覆盖所有班次：排班中有{gaps}个班次人手不足，已标出"
    return f"在{time_limit:g}秒内没有找到完整的排班：排班中有{gaps}个班次人手不足，已标出；给更多时间也许能补上"


def everyone_busy(problem, s) -> str:
    return f"{shift(problem, s)}：可用的队员都已到每周上限、需要休息，或在相近时间另有班次"


def pinned_unknown(volunteer_id: str, shift_id: str) -> str:
    return f"指定的安排无效：志愿者{volunteer_id}或班次{shift_id}不存在，或不在巡逻队"


def pinned_not_allowed(name: str, problem, s) -> str:
    return f"指定{name}排在{shift(problem, s)}：该时段不可用或不允许"


def neighbour_grids(names: str) -> str:
    return f"允许相邻网格的志愿者到{names}巡逻"


def raise_weekly_cap(default: int, raised: int) -> str:
    return f"每人每周上限各加一个班次（默认{default}→{raised}）"


def accept_under_coverage(n: int) -> str:
    return f"接受人手不足：给出最好的排班，并标出无法覆盖的{n}个班次"
