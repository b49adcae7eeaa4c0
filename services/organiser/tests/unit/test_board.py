"""Board layout: grids by days, each shift covered, short or empty, gaps with the solver's reason."""

from datetime import date

from organiser import board

ROSTER = {
    "id": 3,
    "start": "2026-12-05T00:00:00+08:00",
    "end": "2026-12-08T00:00:00+08:00",
    "grids": [7, 8, 9],
    "shifts": [
        {
            "shift_id": "g7-1205",
            "grid_id": 7,
            "start": "2026-12-05T19:00:00+08:00",
            "end": "2026-12-05T21:00:00+08:00",
            "min_patrollers": 2,
            "max_patrollers": 3,
            "leader_needed": True,
        },
        {
            "shift_id": "g7-1206",
            "grid_id": 7,
            "start": "2026-12-06T19:00:00+08:00",
            "end": "2026-12-06T21:00:00+08:00",
            "min_patrollers": 2,
            "max_patrollers": 3,
            "leader_needed": True,
        },
        {
            "shift_id": "g8-1205",
            "grid": 8,
            "start": "2026-12-05T08:00:00+08:00",
            "end": "2026-12-05T10:00:00+08:00",
            "min_patrollers": 2,
            "max_patrollers": 3,
            "leader_needed": False,
            "volunteer_ids": [5],
        },
    ],
    "assignments": [{"shift_id": "g7-1205", "volunteer_id": 1}, {"shift_id": "g7-1205", "volunteer_id": 2}],
    "gaps": [
        {
            "shift_id": "g7-1206",
            "grid": 7,
            "missing": 2,
            "leader_missing": True,
            "reason": "grid 7, Sunday 6 December evening: needs 2 patrollers, 0 available",
            "reason_zh": "第七网格，12月6日（周日）晚间巡逻：需要2名巡逻队员，可用0名",
        }
    ],
    "report": {
        "volunteers": [
            {"volunteer_id": 1, "role": "leader", "shifts": 4, "target": 3},
            {"volunteer_id": 2, "role": "patroller", "shifts": 2, "target": 2},
            {"volunteer_id": 5, "role": "patroller", "shifts": 1, "target": 2},
        ]
    },
}
NAMES = {1: "王芳", 2: "李明", 5: "张伟"}


def test_rows_are_grids_and_columns_every_day_of_the_period():
    b = board.layout(ROSTER, NAMES, {7: "第七网格"})
    assert b.grids == [(7, "第七网格"), (8, "8"), (9, "9")]
    assert b.days == [date(2026, 12, 5), date(2026, 12, 6), date(2026, 12, 7)]


def test_states_follow_minimum_and_leader():
    b = board.layout(ROSTER, NAMES)
    covered = b.cell(7, date(2026, 12, 5))[0]
    assert covered.state == "covered" and [p.name for p in covered.people] == ["王芳", "李明"]
    assert covered.people[0].leader and covered.hours == "19:00–21:00"
    empty = b.cell(7, date(2026, 12, 6))[0]
    assert empty.state == "empty" and empty.missing == 2 and empty.leader_missing
    assert empty.reason.startswith("grid 7, Sunday 6 December")
    short = b.cell(8, date(2026, 12, 5))[0]
    assert short.state == "short" and short.missing == 1 and not short.leader_missing
    assert b.counts() == {"covered": 1, "short": 1, "empty": 1}


def test_reasons_follow_the_page_language_and_fall_back_to_english():
    assert board.layout(ROSTER, NAMES, lang="zh").cell(7, date(2026, 12, 6))[0].reason.startswith("第七网格，12月6日")
    older = {**ROSTER, "gaps": [{k: v for k, v in ROSTER["gaps"][0].items() if k != "reason_zh"}]}
    assert board.layout(older, NAMES, lang="zh").cell(7, date(2026, 12, 6))[0].reason.startswith("grid 7, Sunday")


def test_a_shift_needing_a_leader_without_one_is_short_even_when_full():
    roster = dict(
        ROSTER, assignments=[{"shift_id": "g7-1205", "volunteer_id": 2}, {"shift_id": "g7-1205", "volunteer_id": 5}]
    )
    cell = board.layout(roster, NAMES).cell(7, date(2026, 12, 5))[0]
    assert cell.missing == 0 and cell.leader_missing and cell.state == "short"


def test_day_state_is_the_worst_shift_and_none_without_patrol():
    b = board.layout(ROSTER, NAMES)
    assert b.day_state(7, date(2026, 12, 5)) == "covered"
    assert b.day_state(7, date(2026, 12, 6)) == "empty"
    assert b.day_state(9, date(2026, 12, 5)) == "none"


def test_gaps_are_listed_in_time_order():
    assert [g.shift_id for g in board.layout(ROSTER, NAMES).gaps()] == ["g8-1205", "g7-1206"]


def test_unknown_names_show_the_id():
    assert board.layout(ROSTER, {}).cell(7, date(2026, 12, 5))[0].people[0].name == "#1"


def test_fairness_rows_most_over_target_first():
    rows = board.fairness_rows(ROSTER, NAMES)
    assert [(r["name"], r["delta"]) for r in rows] == [("王芳", 1), ("李明", 0), ("张伟", -1)]


def test_empty_roster_lays_out_without_days():
    b = board.layout({"shifts": []})
    assert b.days == [] and b.grids == [] and b.counts() == {"covered": 0, "short": 0, "empty": 0}


def test_solver_ids_that_are_not_numbers_are_kept_as_they_are():
    roster = {
        "shifts": [ROSTER["shifts"][0]],
        "assignments": [
            {"shift_id": "g7-1205", "volunteer_id": "v00012"},
            {"shift_id": "g7-1205", "volunteer_id": "3"},
        ],
        "report": {"volunteers": [{"volunteer_id": "v00012", "role": "leader", "shifts": 1, "target": 1}]},
    }
    cell = board.layout(roster, {3: "李明"}).cell(7, date(2026, 12, 5))[0]
    assert [(p.id, p.name, p.leader) for p in cell.people] == [("v00012", "#v00012", True), (3, "李明", False)]
    assert board.volunteer_ids(roster) == {3}
    assert board.volunteer_ids(ROSTER) == {1, 2, 5}


def test_gaps_are_grouped_under_each_reason_once():
    week = "grid 7, week of Monday 30 November: needs 14 leader places, its leaders can give 3"
    roster = dict(
        ROSTER,
        gaps=[
            {"shift_id": "g7-1206", "grid": 7, "missing": 2, "leader_missing": True, "reason": week},
            {"shift_id": "g8-1205", "grid": 8, "missing": 1, "leader_missing": False},
        ],
    )
    groups = board.layout(roster, NAMES).gap_groups(["grid 9 has no patrol team", week])
    assert [(reason, [c.shift_id for c in cells]) for reason, cells in groups] == [
        ("grid 9 has no patrol team", []),  # found before solving, no gap of its own
        (week, ["g7-1206"]),  # said once, with the shifts it explains
        ("", ["g8-1205"]),  # a gap the solver gave no reason for
    ]
