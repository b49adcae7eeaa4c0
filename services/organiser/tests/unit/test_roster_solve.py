"""`guanyinli roster solve`: a patrol-roster/1 month solved from a file on this machine, no broker, no
database. The command as a user runs it (click's runner) on files in a temporary directory."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from organiser import rosterfile
from organiser.cli import cli


def month(leaders: int, others: int = 4, days: int = 7) -> dict:
    """A week of evening patrols in two grids' worth of volunteers: each patrol two or three people, one
    of them a leader, everyone at most two patrols a week (so 4 leaders cover 7 patrols, 3 do not)."""
    shifts = [
        {
            "id": f"g1-{day}",
            "grid": 1,
            "start": f"2026-12-{day:02d}T19:00:00+08:00",
            "end": f"2026-12-{day:02d}T21:00:00+08:00",
            "min": 2,
            "max": 3,
            "leader_required": 1,
        }
        for day in range(7, 7 + days)
    ]
    every = [s["id"] for s in shifts]
    people = [
        {"id": f"L{i}", "name": f"带队{i}", "leader": True, "home_grid": 1 + i % 2, "available": every}
        for i in range(leaders)
    ] + [
        {"id": f"P{i}", "name": f"队员{i}", "leader": False, "home_grid": 1 + i % 2, "available": every}
        for i in range(others)
    ]
    return {
        "format": "patrol-roster/1",
        "name": "December, first week",
        "timezone": "Asia/Shanghai",
        "rules": {"max_per_week": 2, "min_rest_hours": 24},
        "objective": {"fairness_weight": 100, "off_home_weight": 1},
        "grids": [{"id": 1, "name": "G1"}, {"id": 2, "name": "G2"}],
        "shifts": shifts,
        "volunteers": people,
    }


def formula(instance: dict, roster: dict) -> int:
    """The format's objective of a roster, from the two files alone (docs/ROSTER-FORMAT.md)."""
    load = Counter(a["volunteer"] for a in roster["assignments"])
    grid = {s["id"]: s["grid"] for s in instance["shifts"]}
    people = {v["id"]: v for v in instance["volunteers"]}

    def spread(leader: bool) -> int:
        loads = [load[v["id"]] for v in instance["volunteers"] if v["leader"] == leader]
        return max(loads) - min(loads) if loads else 0

    off_home = sum(1 for a in roster["assignments"] if grid[a["shift"]] != people[a["volunteer"]]["home_grid"])
    weights = instance["objective"]
    return weights["fairness_weight"] * (spread(True) + spread(False)) + weights["off_home_weight"] * off_home


def solve(tmp_path, data, *options: str):
    path = tmp_path / "month.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "roster.json"
    result = CliRunner().invoke(
        cli, ["roster", "solve", str(path), "--out", str(out), "--time-limit", "5", "--workers", "1", *options]
    )
    return result, out


def test_a_month_that_fits_is_rostered_written_with_its_trace_and_exit_0(tmp_path):
    data = month(leaders=4)
    result, out = solve(tmp_path, data)
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["format"] == "patrol-roster/1" and written["trace"]
    assert written["objective"] == formula(data, written)
    crews = Counter(a["shift"] for a in written["assignments"])
    assert all(2 <= crews[s["id"]] <= 3 for s in data["shifts"])
    assert "objective" in result.stderr and "bound" in result.stderr  # a line per better roster, while it searches
    assert "every hard rule holds" in result.stdout
    assert f"objective {written['objective']} agrees" in result.stdout


def test_the_report_as_json_says_what_the_checker_says(tmp_path):
    data = month(leaders=4)
    result, out = solve(tmp_path, data, "--json")
    assert result.exit_code == 0, result.output
    said = json.loads(result.stdout)
    written = json.loads(out.read_text(encoding="utf-8"))
    assert said["checker"]["valid"] and said["checker"]["objective"] == written["objective"] == formula(data, written)
    assert said["exit_code"] == 0 and said["gaps"] == [] and said["shifts"] == 7
    loads = Counter(a["volunteer"] for a in written["assignments"])
    leaders = [loads[f"L{i}"] for i in range(4)]
    assert said["load"]["leaders"] == {"volunteers": 4, "min": min(leaders), "max": max(leaders)} | {
        "spread": max(leaders) - min(leaders)
    }


def test_a_month_with_too_few_leaders_is_written_with_its_gaps_and_exit_3(tmp_path):
    result, out = solve(tmp_path, month(leaders=3))
    assert result.exit_code == 3, result.output
    assert "needs 7 leader places, its leaders can give 6" in result.stdout  # the reason, in words
    assert "1 of 7 shifts short" in result.stdout and "no leader" in result.stdout
    written = json.loads(out.read_text(encoding="utf-8"))
    (gap,) = written["gaps"]
    assert gap["leader_missing"] and "leader places" in gap["reason"]
    assert written["status"] == "feasible_with_gaps" and written["problems"]


def test_the_report_in_chinese(tmp_path):
    result, _ = solve(tmp_path, month(leaders=3), "--lang", "zh")
    assert result.exit_code == 3, result.output
    assert "需要7个队长名额，队长们最多能出6个" in result.stdout and "缺带队" in result.stdout
    assert "覆盖缺口" in result.stdout


BROKEN = {
    "not JSON": ("{ not json", "not JSON"),
    "not the format": (json.dumps({**month(4), "format": "roster/0"}), "format: expected 'patrol-roster/1'"),
    "a field wrong": (
        json.dumps({**month(4), "shifts": [{**month(4)["shifts"][0], "max": 1}]}),
        "shifts[0].max: 1 is below min 2",
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_file_that_cannot_be_read_exits_2_with_a_message_and_no_traceback(tmp_path, case):
    text, said = BROKEN[case]
    path = tmp_path / "month.json"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["roster", "solve", str(path), "--out", str(tmp_path / "roster.json")])
    assert result.exit_code == 2
    assert said in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "roster.json").exists()


def test_a_missing_file_or_directory_exits_2(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli, ["roster", "solve", str(tmp_path / "nope.json"), "--out", str(tmp_path / "r.json")])
    assert missing.exit_code == 2 and "nope.json: cannot be read" in missing.stderr
    path = tmp_path / "month.json"
    path.write_text(json.dumps(month(4)), encoding="utf-8")
    nowhere = runner.invoke(cli, ["roster", "solve", str(path), "--out", str(tmp_path / "no" / "r.json")])
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.stderr
    wrong = runner.invoke(cli, ["roster", "solve", str(path), "--out", str(tmp_path / "r.json"), "--workers", "0"])
    assert wrong.exit_code == 2 and "--workers" in wrong.stderr  # click's usage error


def test_help_says_what_it_reads_writes_and_the_exit_codes():
    runner = CliRunner()
    shown = runner.invoke(cli, ["roster", "solve", "--help"])
    assert shown.exit_code == 0
    for words in ("patrol-roster/1", "--time-limit", "--out", "--workers", "--seed", "--lang", "Exit codes", "3  "):
        assert words in shown.output
    group = runner.invoke(cli, ["roster", "--help"])
    assert "solve" in group.output and "export" in group.output


def test_the_checker_finds_a_broken_rule_and_a_claimed_objective_that_is_not_the_rosters():
    data = month(leaders=4)
    both = [{"shift": "g1-7", "volunteer": "L0"}, {"shift": "g1-8", "volunteer": "L0"}]
    week = [{"shift": f"g1-{d}", "volunteer": "L0"} for d in (7, 8, 9)]  # three in a week, cap 2
    assert rosterfile.check(data, {"assignments": both}).broken == ()
    verdict = rosterfile.check(data, {"assignments": week, "objective": 0})
    assert verdict.code == rosterfile.BROKEN
    assert any("at most 2" in b for b in verdict.broken)
    assert any("claims objective 0" in b and f"give {verdict.objective}" in b for b in verdict.broken)
