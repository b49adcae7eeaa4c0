"""An independent check of a roster against the hard rules, written from the rules alone.

It shares no code with the solver's index or CP-SAT model, so a modelling mistake shows up here. Each
violation is said in English and in Chinese (the Chinese names shifts with `wording`, words only).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import timedelta

from . import wording
from .model import Assignment, Problem, Violation

LONGEST_SHIFT = 7 * 24 * 3600  # with rest counted between starts, shifts further apart than this cannot overlap


def validate(problem: Problem, assignments: Iterable[Assignment], coverage: bool = True) -> list[Violation]:
    """Every broken hard rule; `coverage=False` skips the minimum-patrollers and leader checks."""
    rules = problem.rules
    shifts = {s.id: s for s in problem.shifts}
    volunteers = {v.id: v for v in problem.volunteers}
    out: list[Violation] = []
    assignments = list(assignments)

    def said(shift_id: str) -> str:
        """A shift as people name it: grid 7, Saturday 5 December evening."""
        s = shifts.get(shift_id)
        if s is None:
            return f"shift {shift_id}"
        return f"{problem.grid_name(s.grid)}, {s.start:%A} {s.start.day} {s.start:%B} {s.kind}"

    def said_zh(shift_id: str) -> str:
        s = shifts.get(shift_id)
        return f"班次{shift_id}" if s is None else wording.shift(problem, s)

    crews: dict[str, list[str]] = defaultdict(list)
    mine = defaultdict(list)

    for a, n in Counter(assignments).items():
        if n > 1:
            out.append(
                Violation(
                    "duplicate",
                    f"{a.volunteer_id} is on {said(a.shift_id)} {n} times",
                    a.shift_id,
                    a.volunteer_id,
                    f"{a.volunteer_id}在{said_zh(a.shift_id)}上排了{n}次",
                )
            )
    for a in set(assignments):
        s, v = shifts.get(a.shift_id), volunteers.get(a.volunteer_id)
        if s is None or v is None:
            out.append(
                Violation(
                    "unknown",
                    f"unknown shift or volunteer in {a}",
                    a.shift_id,
                    a.volunteer_id,
                    f"班次{a.shift_id}或志愿者{a.volunteer_id}不存在",
                )
            )
            continue
        crews[s.id].append(v.id)
        mine[v.id].append(s)
        where = f"{v.name} ({v.id}) on {said(s.id)}"
        where_zh = f"{v.name}（{v.id}）排在{said_zh(s.id)}"
        if not v.patrol:
            out.append(
                Violation("qualification", f"{where}: not in the patrol team", s.id, v.id, f"{where_zh}：不是巡逻队员")
            )
        grids = {v.home_grid, *v.grids}
        if rules.neighbour_grids:
            grids |= set(problem.grid_neighbours.get(v.home_grid, ()))
        if s.grid not in grids:
            out.append(
                Violation(
                    "grid",
                    f"{where}: grid {s.grid} is not one they patrol",
                    s.id,
                    v.id,
                    f"{where_zh}：不在其可巡逻的网格内",
                )
            )
        if v.availability is not None and (s.start.weekday(), s.kind) not in v.availability:
            out.append(
                Violation(
                    "availability",
                    f"{where}: not available on that day and time",
                    s.id,
                    v.id,
                    f"{where_zh}：该时段没空",
                )
            )
        if v.shifts is not None and s.id not in v.shifts:
            out.append(
                Violation(
                    "availability",
                    f"{where}: not among the shifts they can take",
                    s.id,
                    v.id,
                    f"{where_zh}：不在其可值班次之内",
                )
            )
        if any(s.start < b and a_ < s.end for a_, b in v.unavailable):
            out.append(Violation("availability", f"{where}: away then", s.id, v.id, f"{where_zh}：那时不在"))
        if any(s.start < b and a_ < s.end for a_, b in v.duties):
            out.append(
                Violation("duty", f"{where}: overlaps another duty", s.id, v.id, f"{where_zh}：与其另一项值班时间重叠")
            )

    for vid, own in mine.items():
        v = volunteers[vid]
        rest = rules.min_rest_hours if v.min_rest_hours is None else v.min_rest_hours
        own.sort(key=lambda s: s.start)
        for i, s in enumerate(own):
            for later in own[i + 1 :]:
                if rules.rest_from == "start":
                    if (later.start - s.start).total_seconds() >= rest * 3600 and later.start >= s.end:
                        if (later.start - s.start).total_seconds() >= LONGEST_SHIFT:
                            break
                        continue
                elif (later.start - s.end).total_seconds() >= rest * 3600:
                    break
                out.append(
                    Violation(
                        "rest",
                        f"{v.name} ({vid}): {said(s.id)} and {said(later.id)} less than {rest:g} h apart",
                        later.id,
                        vid,
                        f"{v.name}（{vid}）：{said_zh(s.id)}与{said_zh(later.id)}相隔不到{rest:g}小时",
                    )
                )
        cap = rules.max_per_week if v.max_per_week is None else v.max_per_week
        weeks = Counter((s.start - timedelta(days=s.start.weekday())).date() for s in own)
        for monday, n in sorted(weeks.items()):
            if n > cap:
                week = f"the week of Monday {monday.day} {monday:%B}"
                out.append(
                    Violation(
                        "weekly_cap",
                        f"{v.name} ({vid}): {n} shifts in {week}, cap {cap}",
                        None,
                        vid,
                        f"{v.name}（{vid}）：{monday.month}月{monday.day}日所在的一周有{n}个班次，上限{cap}个",
                    )
                )
        if v.max_shifts is not None and len(own) > v.max_shifts:
            out.append(
                Violation(
                    "period_cap",
                    f"{v.name} ({vid}): {len(own)} shifts, cap {v.max_shifts}",
                    None,
                    vid,
                    f"{v.name}（{vid}）：共{len(own)}个班次，上限{v.max_shifts}个",
                )
            )

    for s in problem.shifts:
        crew = crews.get(s.id, [])
        if len(crew) > s.max_patrollers:
            out.append(
                Violation(
                    "coverage",
                    f"{said(s.id)}: {len(crew)} patrollers, at most {s.max_patrollers}",
                    s.id,
                    message_zh=f"{said_zh(s.id)}：{len(crew)}名巡逻队员，最多{s.max_patrollers}名",
                )
            )
        if coverage and len(crew) < s.min_patrollers:
            out.append(
                Violation(
                    "coverage",
                    f"{said(s.id)}: {len(crew)} patrollers, needs {s.min_patrollers}",
                    s.id,
                    message_zh=f"{said_zh(s.id)}：{len(crew)}名巡逻队员，需要{s.min_patrollers}名",
                )
            )
        led = sum(1 for v in crew if volunteers[v].leader)
        if coverage and led < s.leaders_needed:
            if s.leaders_needed == 1:
                said_en, said_cn = "no leader", "没有带队"
            else:
                said_en, said_cn = f"{led} leaders, needs {s.leaders_needed}", f"带队{led}名，需要{s.leaders_needed}名"
            out.append(Violation("leader", f"{said(s.id)}: {said_en}", s.id, message_zh=f"{said_zh(s.id)}：{said_cn}"))

    kept = set(assignments)
    for p in problem.pinned:
        if p not in kept:
            out.append(
                Violation(
                    "pinned",
                    f"pinned {p.volunteer_id} on {said(p.shift_id)} was dropped",
                    p.shift_id,
                    p.volunteer_id,
                    f"指定{p.volunteer_id}排在{said_zh(p.shift_id)}的安排被去掉了",
                )
            )
    return out
