"""Why a roster cannot be complete, in plain words, and which relaxations of the rules would help."""

from __future__ import annotations

import time
from dataclasses import replace

from . import bounds, wording
from .index import Index
from .model import Explanation, Gap, Problem, Relaxation, RosterResult


def explain(problem: Problem) -> Explanation:
    """Capacity problems, the shifts they leave uncovered, and relaxations ranked by how many they fix."""
    ix = Index.build(problem)
    return explain_index(ix, bounds.shortages(ix))


def explain_index(ix: Index, found: list[bounds.Shortage]) -> Explanation:
    gaps = []
    seen = set()
    for shortage in found:
        if shortage.kind != "shift":
            continue
        for si in shortage.shifts:
            if si not in seen:
                seen.add(si)
                s = ix.shifts[si]
                gaps.append(
                    Gap(
                        s.id,
                        s.grid,
                        shortage.short,
                        bool(shortage.leader_short),
                        shortage.message,
                        shortage.message_zh,
                    )
                )
    return Explanation(
        problems=tuple(s.message for s in found),
        gaps=tuple(gaps),
        suggestions=tuple(relaxations(ix.problem, found)) if found else (),
        problems_zh=tuple(s.message_zh for s in found),
    )


def without_roster(ix: Index, found: list[bounds.Shortage], status: str, started: float, **extra) -> RosterResult:
    """A result that has no roster to give: the capacity problems, uncoverable shifts and relaxations."""
    why = explain_index(ix, found)
    return RosterResult(
        assignments=(),
        status=status,
        objective=None,
        bound=extra.pop("bound", 0),
        gap=None,
        wall_time=time.perf_counter() - started,
        report=None,
        gaps=why.gaps,
        suggestions=why.suggestions,
        problems=why.problems,
        problems_zh=why.problems_zh,
        **extra,
    )


def relaxations(problem: Problem, found: list[bounds.Shortage], uncovered: int | None = None) -> list[Relaxation]:
    """Each candidate relaxation is checked by re-running the capacity checks with it applied;
    `uncovered` is the number of shifts a roster left short, when known."""
    before = len(found)
    grids = sorted({g for s in found for g in s.grids})
    names = ", ".join(problem.grid_name(g) for g in grids[:5]) + (" and more" if len(grids) > 5 else "")
    names_zh = "、".join(wording.grid(problem, g) for g in grids[:5]) + ("等" if len(grids) > 5 else "")
    out = []
    rules = problem.rules
    if not rules.neighbour_grids:
        after = len(bounds.shortages(Index.build(replace(problem, rules=replace(rules, neighbour_grids=True)))))
        out.append(
            Relaxation(
                "neighbour_grids",
                f"allow volunteers of neighbouring grids to patrol {names}",
                before - after,
                {"neighbour_grids": True},
                wording.neighbour_grids(names_zh),
            )
        )
    raised = rules.max_per_week + 1
    relaxed = replace(
        problem,
        rules=replace(rules, max_per_week=raised),
        volunteers=tuple(
            replace(v, max_per_week=v.max_per_week + 1) if v.max_per_week is not None else v for v in problem.volunteers
        ),
    )
    after = len(bounds.shortages(Index.build(relaxed)))
    out.append(
        Relaxation(
            "raise_weekly_cap",
            f"raise every weekly cap by one shift (default {rules.max_per_week} -> {raised})",
            before - after,
            {"max_per_week": raised, "personal_caps": "+1"},
            wording.raise_weekly_cap(rules.max_per_week, raised),
        )
    )
    n = uncovered if uncovered is not None else len({si for s in found if s.kind == "shift" for si in s.shifts})
    out.append(
        Relaxation(
            "accept_under_coverage",
            f"accept under-covered shifts: the best roster with the {n} shifts it cannot cover marked as gaps",
            before,
            {"coverage": "soft"},
            wording.accept_under_coverage(n),
        )
    )
    return sorted(out, key=lambda r: -r.fixes)
