"""Checking imported rows: every rejected row says why, accepted rows become create_volunteer arguments."""

from pathlib import Path

import pytest
from openpyxl import Workbook

from organiser import importer

TEAMS = [
    {"code": "voluntary_patrol", "name": "Voluntary patrol", "name_zh": "义务巡逻队"},
    {"code": "sanitation_green", "name": "Clean sanitation and green protection", "name_zh": "清洁卫生护绿队"},
]
GRIDS = [{"id": i} for i in range(1, 16)]
ALLIANCES = [{"code": "community_party_members", "name": "Community party members", "name_zh": "社区党员"}]
REF = importer.Reference.from_lists(TEAMS, GRIDS, ALLIANCES)


def row(line=2, **cells):
    return importer.RawRow(line, {"name": "王芳", "phone": "13912345678", **cells})


def test_a_good_row_becomes_the_arguments_of_create_volunteer():
    checked = importer.check_row(
        row(
            email="wf@example.cn",
            teams="义务巡逻队；sanitation_green",
            grid_id="G07",
            alliance="社区党员",
            skills="patrol_leader、first_aid",
        ),
        REF,
    )
    assert checked.ok
    assert checked.data == {
        "name": "王芳",
        "phone": "13912345678",
        "email": "wf@example.cn",
        "teams": ["voluntary_patrol", "sanitation_green"],
        "grid_id": 7,
        "alliance": "community_party_members",
        "skills": ["patrol_leader", "first_aid"],
    }


@pytest.mark.parametrize(
    "cells, reason",
    [
        ({"name": ""}, "name: missing"),
        ({"phone": ""}, "phone: missing"),
        ({"phone": "12345"}, "phone: not a phone number: '12345'"),
        ({"email": "wf at example"}, "email: not an e-mail address"),
        ({"teams": "象棋队"}, "teams: unknown team '象棋队'"),
        ({"grid_id": "16"}, "grid_id: no grid '16'"),
        ({"grid_id": "seven"}, "grid_id: no grid 'seven'"),
        ({"alliance": "chess club"}, "alliance: unknown alliance"),
        ({"skills": "first aid!"}, "skills: not a skill code"),
    ],
)
def test_each_bad_field_is_named_with_its_reason(cells, reason):
    checked = importer.check_row(row(**cells), REF)
    assert not checked.ok and checked.data is None
    assert any(e.startswith(reason) for e in checked.errors), checked.errors


def test_every_reason_of_a_row_is_reported_not_only_the_first():
    checked = importer.check_row(row(phone="0", email="x", grid_id="99"), REF)
    assert [e.split(":")[0] for e in checked.errors] == ["phone", "email", "grid_id"]


def test_a_phone_repeated_in_the_file_is_rejected_with_the_first_line():
    rows = [row(2), row(3, name="李明", phone="+8613912345678"), row(4, name="张伟", phone="13812345678")]
    checked = importer.check_rows(rows, REF)
    assert [c.ok for c in checked] == [True, False, True]
    assert checked[1].errors == ["phone: same number as line 2"]


def test_csv_with_chinese_headers_bom_and_blank_lines(tmp_path: Path):
    path = tmp_path / "v.csv"
    path.write_bytes("\ufeff姓名,电话,网格\n王芳,139 1234 5678,7\n,,\n李明,abc,3\n".encode())
    rows = importer.read_sheet(path)
    assert [(r.line, r.cells["name"]) for r in rows] == [(2, "王芳"), (4, "李明")]
    checked = importer.check_rows(rows, REF)
    assert checked[0].data == {"name": "王芳", "phone": "13912345678", "grid_id": 7}
    assert checked[1].errors == ["phone: not a phone number: 'abc'"]


def test_csv_saved_as_gb18030_is_read(tmp_path: Path):
    path = tmp_path / "v.csv"
    path.write_bytes("姓名,电话\n王芳,13912345678\n".encode("gb18030"))
    assert importer.read_sheet(path)[0].cells == {"name": "王芳", "phone": "13912345678"}


def test_xlsx_numbers_typed_as_numbers_are_read_as_text(tmp_path: Path):
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "phone", "grid"])
    sheet.append(["王芳", 13912345678, 7])
    path = tmp_path / "v.xlsx"
    book.save(path)
    rows = importer.read_sheet(path)
    assert rows[0].cells == {"name": "王芳", "phone": "13912345678", "grid_id": "7"}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"name,colour\n", "unknown columns: colour"),
        (b"name,email\n", "missing columns: phone"),
    ],
)
def test_a_sheet_that_cannot_be_read_says_why(tmp_path: Path, content, message):
    path = tmp_path / "v.csv"
    path.write_bytes(content)
    with pytest.raises(importer.SheetError, match=message):
        importer.read_sheet(path)


def test_other_file_types_are_refused(tmp_path: Path):
    path = tmp_path / "v.ods"
    path.write_bytes(b"x")
    with pytest.raises(importer.SheetError, match="only .csv and .xlsx"):
        importer.read_sheet(path)
