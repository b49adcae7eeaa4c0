"""`guanyinli roster` on a terminal: the board a week per table and each reason once (show), the list and the
report within 80 columns, a swap naming shifts by volunteer and day."""

import io
from datetime import date, datetime, timedelta

import pytest
from rich.console import Console

from organiser import board, cli

START = date(2026, 12, 7)  # a Monday
DAYS = 28
GRIDS = range(1, 16)


def month() -> dict:
    shifts, assignments = [], []
    for g in GRIDS:
        for d in range(DAYS):
            day = START + timedelta(days=d)
            evening = datetime(day.year, day.month, day.day, 19)
            sid = f"g{g}-{day:%m%d}"
            shifts.append(
                {
                    "shift_id": sid,
                    "grid_id": g,
                    "start": f"{evening:%Y-%m-%dT%H:%M}:00+08:00",
                    "end": f"{evening + timedelta(hours=2):%Y-%m-%dT%H:%M}:00+08:00",
                    "min_patrollers": 2,
                    "max_patrollers": 3,
                    "leader_needed": True,
                }
            )
            assignments += [{"shift_id": sid, "volunteer_id": 100 * g + k} for k in range(2)]
    report = {"volunteers": [{"volunteer_id": a["volunteer_id"], "role": "leader"} for a in assignments]}
    return {
        "id": 1,
        "start": f"{START:%Y-%m-%d}T00:00:00+08:00",
        "end": f"{START + timedelta(days=DAYS):%Y-%m-%d}T00:00:00+08:00",
        "grids": list(GRIDS),
        "shifts": shifts,
        "assignments": assignments,
        "gaps": [],
        "report": report,
    }


def rendered(width: int) -> tuple[int, str]:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    tables = cli.board_tables(board.layout(month()))
    for table in tables:
        console.print(table)
    return len(tables), console.export_text()


def test_a_month_is_four_weekly_tables_that_fit_80_columns():
    count, text = rendered(80)
    assert count == 4
    assert max(map(len, text.splitlines())) <= 80
    for d in range(DAYS):
        assert f"{START + timedelta(days=d):%m-%d}" in text  # no day squeezed out or cut short
    assert text.count("2/2L") == len(GRIDS) * DAYS  # every shift's cell in full


def test_a_week_that_starts_midweek_is_a_table_of_its_own():
    roster = month()
    roster["shifts"] = [s for s in roster["shifts"] if s["start"] >= "2026-12-10"]
    roster["start"] = "2026-12-10T00:00:00+08:00"
    b = board.layout(roster)
    tables = cli.board_tables(b)
    assert [len(t.columns) - 1 for t in tables] == [4, 7, 7, 7]  # Thu-Sun, then whole weeks


def test_a_shortage_that_is_also_a_gap_is_said_once(monkeypatch):
    import click

    reason = "grid 2, Saturday 19 December morning: needs 2 patrollers, 4 available, no leader available"
    roster = month()
    roster["problems"] = [reason]
    first = roster["shifts"][0]["shift_id"]
    roster["gaps"] = [{"shift_id": first, "grid": 1, "missing": 2, "reason": reason}]
    roster["assignments"] = [a for a in roster["assignments"] if a["shift_id"] != first]
    console = Console(width=100, file=io.StringIO(), record=True, color_system=None)
    monkeypatch.setattr(cli, "out", console)
    with click.Context(click.Command("show"), obj=cli.State("amqp://", 5, as_json=False)):
        cli.show_roster(roster)
    text = console.export_text()
    assert "Cannot be covered" in text and text.count(reason) == 1
    assert text.split(reason)[1].splitlines()[1].strip() == "1 12-07 Mon 19:00 0/2 no leader"  # the shift it explains


def test_grid_numbers_read_as_runs():
    assert board.number_ranges([7, 1, 2, 3, 5, 8, 2]) == "1-3,5,7-8"
    assert board.number_ranges(list(GRIDS)) == "1-15"
    assert board.number_ranges([]) == ""


def test_the_list_of_rosters_tells_drafts_apart_on_80_columns():
    base = {"start": "2026-12-07T00:00:00+08:00", "end": "2027-01-04T00:00:00+08:00", "grids": list(GRIDS)}
    rows = [
        base
        | {"id": 12, "status": "published", "parent_id": 11, "changed": 16, "solver_status": "optimal"}
        | {"objective": 559.0, "gap": None, "shifts_short": 0},
        base
        | {"id": 11, "status": "superseded", "solver_status": "feasible_with_gaps", "objective": 10272.0}
        | {"gap": 0.0331, "shifts_short": 3},
        base | {"id": 10, "status": "solving", "grids": [6, 7], "end": "2026-12-14T00:00:00+08:00"},
    ]
    superseded = [11, "superseded", "2026-12-07", 28, "1-15", "feasible with gaps", "10272", "3.3%", 3]
    assert cli.roster_row(rows[1]) == superseded
    assert cli.roster_row(rows[0])[1] == "published\nrepair of 11\n16 changed"
    assert cli.roster_row(rows[2])[2:9] == ["2026-12-07", 7, "6-7", None, None, None, None]
    console = Console(file=io.StringIO(), width=80)
    console.print(cli.roster_list_table([cli.roster_row(r) for r in rows]))
    text = console.file.getvalue()
    assert "…" not in text and max(map(len, text.splitlines())) <= 80
    for word in ("superseded", "2026-12-07", "1-15", "6-7", "10272", "3.3%", "559", "repair of", "16 changed"):
        assert word in text, word


def test_the_report_reads_as_tables_on_80_columns():
    r = month()
    r["report"] = {
        "costs": {"fair_load": 100, "close_shifts": 152, "role_spread": 20, "weekend_streak": 0},
        "load": {
            "leader": {"volunteers": 60, "min": 6, "mean": 7.1, "max": 9, "min_over_target": -1, "max_over_target": 1},
            "patroller": {
                "volunteers": 90,
                "min": 5,
                "mean": 7.3,
                "max": 8,
                "min_over_target": 0,
                "max_over_target": 1,
            },
        },
        "coverage": {str(g): {"shifts": 28, "covered": 28, "places": 56, "filled": 56, "missing": 0} for g in GRIDS},
        "volunteers": [
            {"volunteer_id": 1, "role": "leader", "shifts": 6, "target": 7},
            {"volunteer_id": 2, "role": "patroller", "shifts": 8, "target": 7},
            {"volunteer_id": 3, "role": "patroller", "shifts": 7, "target": 7},
        ],
    }
    tables = cli.report_tables(r, {1: "王芳", 2: "李强"}, {g: f"G{g:02d}" for g in GRIDS}, top=2)
    assert [t.title.split(" (")[0] for t in tables] == [
        "Cost per soft rule",
        "Load by role",
        "Coverage by grid",
        "Furthest from their own target",
    ]
    console = Console(file=io.StringIO(), width=80)
    for table in tables:
        console.print(table)
    text = console.file.getvalue()
    assert "…" not in text and max(map(len, text.splitlines())) <= 80
    lines = [line.split() for line in text.splitlines()]
    assert ["close_shifts", "152", "56%"] in lines and ["total", "272"] in lines and "weekend_streak" not in text
    assert ["leader", "60", "6", "7.1", "9", "-1", "to", "+1"] in lines and [
        "G15",
        "28",
        "28",
        "56",
        "56",
        "0",
    ] in lines
    assert ["李强", "patroller", "8", "7", "+1"] in lines and ["王芳", "leader", "6", "7", "-1"] in lines
    assert "#3" not in text  # on target: not among the top 2
    assert cli.report_tables({"status": "solving"}, {}, {}) == []


def test_a_swap_names_a_shift_by_volunteer_and_day_or_time():
    r = {
        "id": 3,
        "shifts": [
            {"shift_id": "m", "grid_id": 7, "start": "2026-12-12T08:00:00+08:00"},
            {"shift_id": "e", "grid_id": 7, "start": "2026-12-12T19:00:00+08:00"},
            {"shift_id": "x", "grid_id": 7, "start": "2026-12-13T19:00:00+08:00"},
        ],
        "assignments": [{"shift_id": "m", "volunteer_id": 5}, {"shift_id": "e", "volunteer_id": 5}],
    }
    assert board.shift_on(r, 5, datetime(2026, 12, 12, 19), "DAY_A")["shift_id"] == "e"
    with pytest.raises(LookupError, match=r"2 shifts that day \(2026-12-12T08:00, 2026-12-12T19:00\): give the time"):
        board.shift_on(r, 5, datetime(2026, 12, 12), "DAY_A")
    with pytest.raises(LookupError, match="DAY_B: volunteer 5 has no shift on 2026-12-13 in roster 3"):
        board.shift_on(r, 5, datetime(2026, 12, 13), "DAY_B")
    assert board.shift_label(r["shifts"][1], {7: "G07"}) == "G07 2026-12-12 19:00"


def test_roster_and_solver_states_have_words_in_both_languages():
    from organiser import i18n

    # the roster statuses activities allows (ck_rosters_status) and the solver's (RosterResult.status)
    for kind, values in {
        "status": ("solving", "draft", "published", "superseded", "failed"),
        "solver": ("optimal", "feasible", "feasible_with_gaps", "infeasible", "unknown"),
    }.items():
        for value in values:
            zh, en = i18n.state("zh", kind, value), i18n.state("en", kind, value)
            assert zh != value and zh != en and "_" not in en, (kind, value)
    assert i18n.state("zh", "solver", "something_new") == "something_new" and i18n.state("zh", "solver", None) == ""
    assert i18n.state("zh", "role", "visitor") == "探访" and i18n.state("en", "role", "setup") == "setting up"


def test_costs_are_written_as_people_write_them():
    assert [board.plain_number(x) for x in (11000.0, 2_000_000.0, 12.5, 0, None)] == [
        "11000",
        "2000000",
        "12.5",
        "0",
        "",
    ]
    row = {"id": 3, "status": "draft", "start": "2026-12-07T00:00", "end": "2026-12-14T00:00", "grids": [7]}
    assert cli.roster_row(row | {"solver_status": "feasible_with_gaps", "objective": 2_000_000.0})[6] == "2000000"


def test_skills_are_said_in_words_and_unknown_ones_as_they_are():
    from organiser import i18n

    assert (
        i18n.skill("zh", "tutoring:math") == "课业辅导（数学）"
        and i18n.skill("en", "tutoring:math") == "tutoring (maths)"
    )
    assert i18n.skill("zh", "first_aid") == "急救" and i18n.skill("zh", "tutoring:latin") == "课业辅导（latin）"
    assert i18n.skill("zh", "beekeeping") == "beekeeping"


def test_a_volunteer_is_found_by_number_or_by_a_name_only_they_have():
    names = {7: "王芳", 8: "李明", 9: "李明"}
    assert board.volunteer_in("7", names, "A") == 7 and board.volunteer_in(" 8 李明", names, "A") == 8
    assert board.volunteer_in("王芳", names, "A") == 7 and board.volunteer_in("42", {}, "A") == 42
    with pytest.raises(board.NotInRoster, match="A: 2 people called 李明 \\(8, 9\\): give the number") as twice:
        board.volunteer_in("李明", names, "A")
    assert twice.value.message_zh == "本排班表中有2名李明（编号8, 9），请填写编号"
    with pytest.raises(board.NotInRoster, match="nobody called 张三"):
        board.volunteer_in("张三", names, "A")
    with pytest.raises(board.NotInRoster, match="give a volunteer's number or name"):
        board.volunteer_in(" ", names, "A")
