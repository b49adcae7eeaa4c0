"""The `guanyinli` command, run as a process against the running services: output, effects, exit codes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from openpyxl import Workbook
from organiser_testkit import MONDAY, duty_under_way, swappable

pytestmark = pytest.mark.integration


def as_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_reference_data_as_table_and_json(run_cli):
    teams = run_cli("teams", "list")
    assert teams.returncode == 0, teams.stderr
    assert "voluntary_patrol" in teams.stdout and "义务巡逻队" in teams.stdout
    grids = as_json(run_cli("grids", "list", "--json"))
    assert [g["id"] for g in grids] == list(range(1, 16))  # Guanyinli's own
    shown = as_json(run_cli("--json", "grids", "show", "6"))
    assert shown["id"] == 6 and shown["courtyards"]


def test_volunteer_add_show_edit_list_deactivate(run_cli, rpc):
    added = as_json(
        run_cli(
            "volunteers",
            "add",
            "--name",
            "王芳",
            "--phone",
            "13912345678",
            "--team",
            "voluntary_patrol",
            "--grid",
            "7",
            "--skill",
            "patrol_leader",
            "--json",
        )
    )
    vid = added["id"]
    assert added["teams"] == ["voluntary_patrol"] and added["grid_id"] == 7

    shown = run_cli("volunteers", "show", str(vid))
    assert shown.returncode == 0 and "王芳" in shown.stdout and "13912345678" in shown.stdout

    edited = as_json(run_cli("volunteers", "edit", str(vid), "--grid", "8", "--json"))
    assert edited["grid_id"] == 8 and rpc("volunteers").get_volunteer(volunteer_id=vid)["grid_id"] == 8

    listed = run_cli("volunteers", "list", "--grid", "8", "--team", "voluntary_patrol")
    assert listed.returncode == 0 and "王芳" in listed.stdout and "1-1 of 1" in listed.stdout

    gone = as_json(run_cli("volunteers", "deactivate", str(vid), "--reason", "moved away", "--json"))
    assert gone["active"] is False
    assert as_json(run_cli("volunteers", "list", "--active", "--json"))["total"] == 0


def test_availability_set_replaces_the_windows(run_cli, rpc):
    vid = rpc("volunteers").create_volunteer(name="李明", phone="13812345678")["id"]
    result = as_json(
        run_cli(
            "volunteers",
            "availability",
            "set",
            str(vid),
            "--weekly",
            "sat 09:00-12:00",
            "--weekly",
            "wed 19:00-21:30",
            "--off",
            "2026-12-05T00:00/2026-12-06T00:00",
            "--json",
        )
    )
    assert {(w["weekday"], w["start"], w["end"]) for w in result["weekly"]} == {
        (2, "19:00", "21:30"),
        (5, "09:00", "12:00"),
    }
    assert [d["kind"] for d in result["dated"]] == ["off"]
    overlapping = run_cli(
        "volunteers", "availability", "set", str(vid), "--weekly", "sat 09:00-12:00", "--weekly", "sat 11:00-13:00"
    )
    assert overlapping.returncode == 1 and "weekly.1" in overlapping.stderr


def test_import_reports_every_rejected_row_and_creates_the_rest(run_cli, rpc, tmp_path):
    rpc("volunteers").create_volunteer(name="已在册", phone="13700000001")
    sheet = tmp_path / "volunteers.csv"
    sheet.write_text(
        "姓名,电话,队伍,网格,技能\n"
        "张伟,13912340001,义务巡逻队,7,patrol_leader\n"
        "赵敏,12345,义务巡逻队,7,\n"  # not a phone
        "钱进,13912340003,象棋队,7,\n"  # unknown team
        "孙丽,13912340004,voluntary_patrol,16,\n"  # no grid 16
        "周强,13912340001,,,\n"  # same phone as line 2
        "吴刚,13700000001,,6,\n"  # taken in the service: rejected remotely
        "郑洁,13912340007,清洁卫生护绿队、义务巡逻队,G09,first_aid\n",
        encoding="utf-8",
    )
    result = run_cli("volunteers", "import", str(sheet), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    rejected = {r["line"]: " ".join(r["reasons"]) for r in report["rejected"]}
    assert set(rejected) == {3, 4, 5, 6, 7}
    assert "phone: not a phone number" in rejected[3]
    assert "teams: unknown team '象棋队'" in rejected[4]
    assert "grid_id: no grid '16'" in rejected[5]
    assert "same number as line 2" in rejected[6]
    assert "PhoneTaken" in rejected[7]
    assert [c["line"] for c in report["created"]] == [2, 8]
    names = {v["name"]: v for v in rpc("volunteers").list_volunteers(limit=50)["items"]}
    assert names["郑洁"]["teams"] == ["sanitation_green", "voluntary_patrol"] and names["郑洁"]["grid_id"] == 9
    assert "赵敏" not in names and "吴刚" not in names

    table = run_cli("volunteers", "import", str(sheet), "--dry-run")
    assert table.returncode == 1
    assert "rows rejected" in table.stdout and "象棋队" in table.stdout


def test_import_of_an_excel_sheet(run_cli, rpc, tmp_path):
    book = Workbook()
    book.active.append(["name", "phone", "teams", "grid"])
    book.active.append(["陈晨", 13912349999, "voluntary_patrol", 6])
    path = tmp_path / "v.xlsx"
    book.save(path)
    report = as_json(run_cli("volunteers", "import", str(path), "--json"))
    assert report["rejected"] == [] and len(report["created"]) == 1
    assert rpc("volunteers").list_volunteers(grid_id=6)["items"][0]["phone"] == "13912349999"


def test_activities_create_and_list(run_cli):
    created = as_json(
        run_cli(
            "activities",
            "create",
            "--title",
            "立德树人讲堂：防诈骗",
            "--kind",
            "lecture",
            "--room",
            "立德树人讲堂",
            "--capacity",
            "60",
            "--start",
            f"{MONDAY + timedelta(days=3)}T14:30",
            "--duration",
            "90",
            "--json",
        )
    )
    assert [r["name"] for r in created["roles"]] == ["setup", "reception"]
    listed = run_cli("activities", "list", "--kind", "lecture")
    assert listed.returncode == 0 and "防诈骗" in listed.stdout
    bad = run_cli(
        "activities",
        "create",
        "--title",
        "x",
        "--kind",
        "party",
        "--start",
        f"{MONDAY + timedelta(days=3)}T14:30",
        "--duration",
        "90",
    )
    assert bad.returncode == 1 and "kind" in bad.stderr

    school = run_cli(
        "activities",
        "create",
        "--title",
        "周末学堂",
        "--kind",
        "tutoring",
        "--room",
        "社区活动中心",
        "--start",
        f"{MONDAY + timedelta(days=5)}T09:00",
        "--duration",
        "120",
        "--role",
        "tutor:2:tutoring:math,tutoring:chinese",  # skills keep their colon
        "--json",
    )
    assert school.returncode == 0, school.stderr
    assert [(r["name"], r["needed"], r["skills"]) for r in as_json(school)["roles"]] == [
        ("tutor", 2, ["tutoring:math", "tutoring:chinese"])
    ]
    unreadable = run_cli(
        "activities",
        "create",
        "--title",
        "x",
        "--kind",
        "tutoring",
        "--room",
        "r",
        "--start",
        "2026-12-19T09:00",
        "--duration",
        "60",
        "--role",
        "tutor:two",
    )
    assert unreadable.returncode == 2 and "NAME:NEEDED" in unreadable.stderr


def test_roster_export_to_a_file_then_solve_it_without_the_services(run_cli, patrol_team, tmp_path):
    month = tmp_path / "week.json"
    exported = run_cli(
        "roster", "export", "--start", str(MONDAY), "--days", "7", "--grid", "6", "--grid", "7", "--out", str(month)
    )
    assert exported.returncode == 0, exported.stderr
    assert "14 shifts, 12 volunteers written to" in exported.stdout
    text = month.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == "patrol-roster/1" and {v["name"] for v in data["volunteers"]} == {
        p["name"] for p in patrol_team
    }
    assert "1391234" not in text  # names only: no phone numbers

    solved = run_cli("roster", "solve", str(month), "--out", str(tmp_path / "roster.json"), "--time-limit", "3")
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert "every hard rule holds" in solved.stdout
    assert json.loads((tmp_path / "roster.json").read_text(encoding="utf-8"))["trace"]


def test_roster_build_with_progress_then_show_publish_repair(run_cli, patrol_team):
    built = run_cli(
        "roster", "build", "--start", str(MONDAY), "--days", "7", "--grid", "6", "--grid", "7", "--time-limit", "2"
    )
    assert built.returncode == 0, built.stderr
    assert "progress:" in built.stderr  # fed by roster_progress events (no terminal: one line each)
    assert "G06" in built.stdout and "G07" in built.stdout and f"{MONDAY:%m-%d}" in built.stdout
    roster_id = int(built.stdout.split("roster ", 1)[1].split()[0])

    shown = as_json(run_cli("roster", "show", str(roster_id), "--json"))
    assert shown["id"] == roster_id and len(shown["shifts"]) == 14
    named = run_cli("roster", "show", str(roster_id), "--names")
    assert named.returncode == 0 and "★巡逻员" in named.stdout

    report = run_cli("roster", "report", str(roster_id), "--top", "3")
    assert report.returncode == 0 and "Cost per soft rule" in report.stdout and "G06" in report.stdout
    assert "Furthest from their own target (top 3)" in report.stdout
    assert as_json(run_cli("roster", "report", str(roster_id), "--json"))["report"]["coverage"]["6"]["missing"] == 0

    listed = as_json(run_cli("roster", "list", "--json"))
    assert [(r["id"], r["status"]) for r in listed] == [(roster_id, "draft")]
    table = run_cli("roster", "list")
    assert table.returncode == 0 and "6-7" in table.stdout and listed[0]["solver_status"] in table.stdout

    published = run_cli("roster", "publish", str(roster_id))
    assert published.returncode == 0 and "published" in published.stdout
    again = run_cli("roster", "publish", str(roster_id))
    assert again.returncode == 0 and "published" in again.stdout  # publishing again changes nothing

    a, day_a, b, day_b = swappable(shown, [p["id"] for p in patrol_team[:6:2]])  # grid 6's three leaders
    swapped = run_cli("roster", "swap", str(roster_id), str(a), day_a, str(b), day_b)
    assert swapped.returncode == 0 and "accepted" in swapped.stdout, swapped.stderr
    after = as_json(run_cli("roster", "show", str(roster_id), "--json"))
    day_of = {s["shift_id"]: s["start"][:10] for s in after["shifts"]}
    days = {v: {day_of[x["shift_id"]] for x in after["assignments"] if x["volunteer_id"] == v} for v in (a, b)}
    assert day_b in days[a] and day_a not in days[a] and day_a in days[b] and day_b not in days[b]
    other_grid = patrol_team[1]["id"]  # grid 7: may not patrol grid 6
    on = next(
        s["start"][:10]
        for s in after["shifts"]
        if any(x["shift_id"] == s["shift_id"] and x["volunteer_id"] == other_grid for x in after["assignments"])
    )
    refused = run_cli("roster", "swap", str(roster_id), str(a), day_b, str(other_grid), on)
    assert refused.returncode == 1 and "SwapRejected" in refused.stderr, refused.stderr
    swaps = run_cli("roster", "swaps", str(roster_id))
    assert swaps.returncode == 0 and "accepted" in swaps.stdout and "rejected" in swaps.stdout, swaps.stderr
    assert "organiser" in swaps.stdout and "G06" in swaps.stdout
    listed = as_json(run_cli("roster", "swaps", str(roster_id), "--status", "accepted", "--json"))
    assert [(x["status"], x["volunteer_a"], x["volunteer_b"], x["proposed_by"]) for x in listed] == [
        ("accepted", a, b, None)
    ]
    nothing = run_cli("roster", "swap", str(roster_id), str(a), "2026-12-01", str(b), day_a)
    assert nothing.returncode == 1 and "no shift on 2026-12-01" in nothing.stderr

    unknown = run_cli("roster", "swap", str(roster_id), "无名氏", day_a, str(b), day_b)
    assert unknown.returncode == 1 and "VOLUNTEER_A: nobody called 无名氏 has a shift in this roster" in unknown.stderr

    dropped = patrol_team[0]["id"]
    # by name: the one person of the roster called so
    repaired = as_json(run_cli("roster", "repair", str(roster_id), "--volunteer", patrol_team[0]["name"], "--json"))
    assert all(a["volunteer_id"] != dropped for a in repaired["assignments"])


def test_a_what_if_draft_says_what_cannot_be_covered_and_why(run_cli, patrol_team):
    """Six volunteers of grid 6 at one patrol a week each: 6 of the week's 14 places, 3 of its 7 leaders."""
    built = run_cli("roster", "build", "--start", str(MONDAY), "--days", "7", "--grid", "6", "--max-per-week", "1")
    assert built.returncode == 0, built.stderr
    assert "Cannot be covered:" in built.stdout
    assert "needs 14 patroller places, its patrollers can give 6" in built.stdout.replace("\n", " ")
    assert "G06 12-" in built.stdout and "no leader" in built.stdout  # the shifts under their reason
    roster_id = int(built.stdout.split("roster ", 1)[1].split()[0])
    listed = as_json(run_cli("roster", "list", "--json"))
    assert [(r["id"], r["status"], r["solver_status"]) for r in listed] == [(roster_id, "draft", "feasible_with_gaps")]
    assert 4 <= listed[0]["shifts_short"] <= 7  # six people patrolling once cover three of seven patrols at most


def test_attendance_sheet_mark_and_leaderboard(run_cli, rpc):
    vid, start, signup = duty_under_way(rpc, "志愿者甲", "13912341111")

    sheet = as_json(run_cli("attendance", "sheet", start.date().isoformat(), "--json"))
    assert [(d["id"], d["volunteer_name"]) for d in sheet] == [(signup["id"], "志愿者甲")]

    marked = run_cli("attendance", "mark", str(signup["id"]), "attended")
    assert marked.returncode == 0 and "attended" in marked.stdout
    assert run_cli("attendance", "mark", str(signup["id"]), "present").returncode == 2

    board = None
    for _ in range(50):  # the ledger entry arrives by the attendance_recorded event
        board = as_json(run_cli("leaderboard", "--json"))
        if board:
            break
    assert board[0]["volunteer_id"] == vid and board[0]["hours"] == 2.0 and board[0]["points"] > 0


def test_feed_links(run_cli, rpc):
    vid = rpc("volunteers").create_volunteer(name="订阅者", phone="13912342222")["id"]
    none_yet = run_cli("feed-links", str(vid))
    assert none_yet.returncode == 1 and "--issue" in none_yet.stderr
    issued = as_json(run_cli("feed-links", str(vid), "--issue", "--json"))
    personal = issued["personal"]
    assert personal["webcal"].startswith("webcal://") and personal["https"].startswith("http")
    assert personal["webcal"].split("://", 1)[1] == personal["https"].split("://", 1)[1]
    again = run_cli("feed-links", str(vid), "--public")
    assert again.returncode == 0
    # whole links, one per line, whatever the terminal's width: they are copied from here
    words = again.stdout.split()
    assert personal["webcal"] in words and personal["https"] in words
    assert "public" not in again.stdout and len(issued["public"]) > 0


def test_organiser_accounts_from_the_command_line(run_cli):
    added = run_cli(
        "organisers", "add", "wangfang", "--display-name", "王芳", "--password-stdin", input="correct horse battery\n"
    )
    assert added.returncode == 0, added.stderr
    assert "wangfang" in added.stdout
    short = run_cli("organisers", "add", "lim", "--password-stdin", input="short\n")
    assert short.returncode == 1 and "password" in short.stderr
    taken = run_cli("organisers", "add", "wangfang", "--password-stdin", input="correct horse battery\n")
    assert taken.returncode == 1 and "taken" in taken.stderr
    listed = as_json(run_cli("organisers", "list", "--json"))
    assert [(a["username"], a["role"]) for a in listed] == [("wangfang", "organiser")]
    assert "password" not in json.dumps(listed)


def test_a_grid_option_takes_the_grids_the_community_has(run_cli, sixteenth_grid):
    """--grid takes any grid id: the services, whose grids are data, say whether the community has it."""
    assert [g["id"] for g in as_json(run_cli("grids", "list", "--json"))] == list(range(1, 17))
    window = ("--start", str(MONDAY), "--days", "7", "--time-limit", "1")
    sixteen = run_cli("roster", "build", *window, "--grid", "16")
    assert sixteen.returncode == 1 and "no patrol of grid 16" in sixteen.stderr, sixteen.stderr
    unknown = run_cli("roster", "build", *window, "--grid", "16", "--grid", "17")
    assert unknown.returncode == 1, unknown.stderr
    assert "GridNotFound: grids: no grid 17; the grids are 1-16" in unknown.stderr and "Traceback" not in unknown.stderr
    exported = run_cli("roster", "export", "--start", str(MONDAY), "--days", "7", "--grid", "17")
    assert exported.returncode == 1 and "no grid 17" in exported.stderr
    assert run_cli("roster", "build", *window, "--grid", "0").returncode == 2  # not a grid id at all


def test_exit_codes_and_messages(run_cli):
    unknown = run_cli("volunteers", "show", "999")
    assert unknown.returncode == 1 and "999" in unknown.stderr and "Traceback" not in unknown.stderr
    usage = run_cli("volunteers", "edit", "1")
    assert usage.returncode == 2 and "at least one field" in usage.stderr
    assert run_cli("roster", "build").returncode == 2  # --start missing
    broker_down = run_cli("--amqp-uri", "pyamqp://guest:guest@127.0.0.1:1/", "teams", "list")
    assert broker_down.returncode == 3 and "broker" in broker_down.stderr
    for command in (
        ["--help"],
        ["volunteers", "import", "--help"],
        ["roster", "build", "--help"],
        ["feed-links", "--help"],
    ):
        helped = run_cli(*command)
        assert helped.returncode == 0 and "Usage: guanyinli" in helped.stdout
