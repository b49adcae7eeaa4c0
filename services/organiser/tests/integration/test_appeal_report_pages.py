"""The appeals' monthly report on the organiser page (/appeals/report), its workbook read back with
openpyxl, and `guanyinli appeals report`, against the real services: an organiser, a viewer and a grid
leader on their phone session each read what is theirs, and nothing private shows."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime

import pytest
from nameko.testing.services import replace_dependencies
from openpyxl import load_workbook
from organiser_testkit import PASSWORD, log_in
from test_visits_pages import signed_in_phone

from guanyinli.testing import SetClock
from guanyinli.timeutil import TZ

pytestmark = pytest.mark.integration

RESIDENT = {"resident_name": "李桂兰", "resident_phone": "13911112222", "resident_address": "观音里1号院3号楼302"}
WORDS = "楼道水管漏水"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def appeals(container_factory, platform, rpc):
    """The appeals service (on a set clock) with December's appeals: in grid 6 one acknowledged and closed
    in time (5 of 5) and one received at night, acknowledged late, closed (3 of 5); in grid 7 one of
    November left open, overdue. The clock then stands at noon on December 20th."""
    from appeals.service import AppealsService

    clock = SetClock(at(12, 1, 0))
    service = container_factory(AppealsService, platform)
    replace_dependencies(service, clock=clock)
    service.start()
    volunteers, office = rpc("volunteers"), rpc("appeals")
    people = {}
    for n, grid in ((1, 6), (2, 7)):
        people[grid] = volunteers.create_volunteer(
            name=f"网格员{n}", phone=f"1370000000{n}", teams=["voluntary_patrol"]
        )["id"]
        volunteers.add_grid_member(grid_id=grid, volunteer_id=people[grid])

    def worked(grid, received, accepted, closed=None, satisfaction=None):
        clock.at = received
        appeal = office.receive_appeal(category="repair", grid_id=grid, description=WORDS, **RESIDENT)
        if appeal["handler_id"] != people[grid]:
            office.reassign_appeal(appeal_id=appeal["id"], volunteer_id=people[grid])
        clock.at = accepted
        office.accept_appeal(appeal_id=appeal["id"])
        if closed:
            clock.at = closed
            office.close_appeal(appeal_id=appeal["id"], outcome="已修好", satisfaction=satisfaction)

    worked(7, at(11, 28, 10), at(11, 28, 10, 30))
    worked(6, at(12, 7, 9), at(12, 7, 10), at(12, 9, 9), 5)
    worked(6, at(12, 7, 23), at(12, 8, 10, 30), at(12, 8, 20), 3)
    clock.at = at(12, 20, 12)
    return people


@pytest.fixture
def accounts(rpc):
    organiser = rpc("organiser")
    organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    organiser.create_account(username="guest", password=PASSWORD, display_name="访客", role="viewer")


def figure(html: str, key: str) -> str:
    return re.search(rf'id="total-{key}"><th scope="row">[^<]*</th><td class="num">([^<]*)<', html).group(1)


def private_absent(text: str) -> None:
    for private in (*RESIDENT.values(), WORDS, "已修好"):
        assert private not in text


@pytest.mark.usefixtures("appeals", "accounts")
def test_the_month_on_the_page_per_grid_and_for_the_community(web_session):
    assert log_in(web_session).status_code == 303
    page = web_session.get("/appeals/report?month=2026-12")
    assert page.status_code == 200, page.text
    html = page.text
    assert "居民诉求月报" in html and 'id="report-month">2026-12<' in html
    assert (figure(html, "received"), figure(html, "closed"), figure(html, "open_at_end")) == ("2", "2", "1")
    assert (figure(html, "acknowledge_met"), figure(html, "acknowledge_share")) == ("1", "50.0%")
    assert (figure(html, "close_due"), figure(html, "close_share")) == ("3", "66.7%")  # grid 7's, due Dec 5th
    assert (figure(html, "sat_mean"), figure(html, "overdue_now")) == ("4.0", "1")
    assert 'id="grid-6"' in html and 'id="grid-7"' in html and 'id="category-repair"' in html
    assert html.count("<svg") == 2 and "<script>" not in html.split("</head>")[1]
    assert 'href="/appeals/report?month=2026-11"' in html and 'href="/appeals/report?month=2027-01"' in html
    assert 'href="/appeals/report.xlsx?month=2026-12"' in html
    private_absent(html)

    seven = web_session.get("/appeals/report?month=2026-12&grid=7").text
    assert 'id="grid-7"' in seven and 'id="grid-6"' not in seven and figure(seven, "overdue_now") == "1"
    assert "month=2026-11&amp;grid=7" in seven
    empty = web_session.get("/appeals/report?month=2026-09").text
    assert 'id="no-appeals"' in empty and figure(empty, "received") == "0" and "<svg" not in empty
    english = web_session.get("/appeals/report?month=2026-12", cookies={"gyl_lang": "en"})
    assert english.status_code == 200
    assert web_session.get("/appeals/report?month=2026-13").status_code == 400
    assert web_session.get("/appeals/report?month=2026-12&grid=x").status_code == 400


@pytest.mark.usefixtures("appeals", "accounts")
def test_the_workbook_has_the_community_and_a_sheet_per_grid(web_session):
    assert log_in(web_session).status_code == 303
    answer = web_session.get("/appeals/report.xlsx?month=2026-12")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="appeals-2026-12.xlsx"' in answer.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["2026-12 社区 Community", "网格 6 Grid 6", "网格 7 Grid 7"]
    community = {row[0]: row[1:] for row in book.worksheets[0].iter_rows(values_only=True) if row and row[0]}
    assert community["收到诉求 Appeals received"][0] == 2
    assert community["按时办结率 Closed in time, share"][0] == pytest.approx(0.6667)
    assert community["满意度平均分（1—5） Satisfaction, mean (1-5)"][0] == 4.0
    assert community["维修 Repair"][:3] == (2, 0, 2)
    grid_rows = [
        row for row in book.worksheets[0].iter_rows(values_only=True) if str(row[0]).startswith(("G06", "G07"))
    ]
    assert [row[1] for row in grid_rows] == [2, 0]  # received per grid, named as the directory names them
    seven = {row[0]: row[1] for row in book["网格 7 Grid 7"].iter_rows(values_only=True) if row and row[0]}
    assert (seven["收到诉求 Appeals received"], seven["当前超时 Overdue now"]) == (0, 1)
    private_absent(
        json.dumps(
            [list(r) for s in book.worksheets for r in s.iter_rows(values_only=True)], ensure_ascii=False, default=str
        )
    )
    one = web_session.get("/appeals/report.xlsx?month=2026-12&grid=6")
    assert 'filename="appeals-2026-12-grid-6.xlsx"' in one.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(one.content)).sheetnames == ["2026-12 合计", "网格 6 Grid 6"]


@pytest.mark.usefixtures("accounts")
def test_a_viewer_reads_it_a_grid_leader_their_grid_only(appeals, web_session, rpc):
    viewer = type(web_session)(web_session.base_url)
    assert log_in(viewer, username="guest").status_code == 303
    assert figure(viewer.get("/appeals/report?month=2026-12").text, "received") == "2"
    assert viewer.get("/appeals/report.xlsx?month=2026-12").status_code == 200

    anonymous = type(web_session)(web_session.base_url)
    assert anonymous.get("/appeals/report?month=2026-12", allow_redirects=False).status_code == 303
    assert anonymous.get("/appeals/report.xlsx?month=2026-12", allow_redirects=False).status_code == 303

    assert log_in(web_session).status_code == 303
    rpc("volunteers").assign_grid_leader(grid_id=7, volunteer_id=appeals[7])
    leader = signed_in_phone(web_session, type(web_session), web_session.base_url, appeals[7])
    assert '<a class="button" href="/appeals/report" id="grid-appeals-report">' in leader.get("/v").text
    mine = leader.get("/appeals/report?month=2026-12")
    assert mine.status_code == 200, mine.text
    assert 'id="leader-note"' in mine.text and 'id="grid-7"' in mine.text and 'id="grid-6"' not in mine.text
    assert figure(mine.text, "received") == "0" and figure(mine.text, "overdue_now") == "1"
    assert leader.get("/appeals/report?month=2026-12&grid=6").status_code == 403
    assert leader.get("/appeals/report.xlsx?month=2026-12&grid=6").status_code == 403
    book = load_workbook(io.BytesIO(leader.get("/appeals/report.xlsx?month=2026-12").content))
    assert book.sheetnames == ["2026-12 合计", "网格 7 Grid 7"]


@pytest.mark.usefixtures("appeals")
def test_the_command_line_prints_the_table_json_and_the_workbook(run_cli, tmp_path):
    table = run_cli("appeals", "report", "--month", "2026-12")
    assert table.returncode == 0, table.stderr
    assert "Appeals 2026-12 (community)" in table.stdout and "Appeals received" in table.stdout
    assert "66.7%" in table.stdout and "50.0%" in table.stdout
    answer = json.loads(run_cli("appeals", "report", "--month", "2026-12", "--grid", "7", "--json").stdout)
    assert answer["grid_ids"] == [7] and answer["total"]["overdue_now"] == 1
    path = tmp_path / "report.xlsx"
    written = run_cli("appeals", "report", "--month", "2026-12", "--xlsx", str(path))
    assert written.returncode == 0, written.stderr
    assert load_workbook(path).sheetnames == ["2026-12 社区 Community", "网格 6 Grid 6", "网格 7 Grid 7"]
    private_absent(table.stdout + written.stdout)
    assert run_cli("appeals", "report", "--month", "2026-13").returncode == 2


@pytest.mark.usefixtures("accounts")
def test_without_the_appeals_service_the_page_and_the_command_say_so(web_session, run_cli):
    assert log_in(web_session).status_code == 303
    page = web_session.get("/appeals/report?month=2026-12")
    assert page.status_code == 503 and "appeals" in page.text
    down = run_cli("appeals", "report", "--month", "2026-12")
    assert down.returncode == 3 and "appeals" in down.stderr and "Traceback" not in down.stderr
