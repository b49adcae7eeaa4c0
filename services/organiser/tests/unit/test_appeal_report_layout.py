"""The appeals' monthly report as laid out for the page, the workbook and the command line, from an answer
of ``appeals.monthly_report`` made by hand; and the bar chart it draws."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from appeals.domain import CATEGORIES
from organiser import appeal_report, charts, i18n


def figures(received=0, met=(0, 0, 0), due=(0, 0, 0), mean=None, open_at_end=0, overdue=0) -> dict:
    return {
        "received": received,
        "received_urgent": 0,
        "by_category": [{"category": "repair", "received": received, "normal": received, "urgent": 0}]
        if received
        else [],
        "stages": [
            {"stage": s, "due": d, "met": m, "late": d - m, "share": round(m / d, 4) if d else None}
            for s, m, d in zip(appeal_report.STAGES, met, due, strict=True)
        ],
        "hours_to_acknowledge": {"count": 1, "median": 1.25, "p90": 9.4},
        "hours_to_close": {"count": 0, "median": None, "p90": None},
        "closed": 0,
        "satisfaction": {"answers": 1 if mean else 0, "mean": mean, "share_satisfied": None},
        "open_at_end": open_at_end,
        "overdue_now": overdue,
    }


REPORT = {
    "month": "2026-12",
    "now": "2026-12-20T12:00:00+08:00",
    "grid_ids": None,
    "grids": [
        {"grid_id": 6, **figures(3, (2, 1, 1), (3, 1, 2), 4.5)},
        {"grid_id": 7, **figures(0, open_at_end=1, overdue=1)},
    ],
    "total": figures(3, (2, 1, 1), (3, 1, 2), 4.5, 1, 1),
}


def test_every_line_and_column_has_words_in_both_languages():
    keys = [key for key, _, _ in appeal_report.lines(REPORT["total"])] + [k for k, _, _ in appeal_report.GRID_COLUMNS]
    for key in keys:
        assert key in i18n.TEXTS, key
    for category in CATEGORIES:  # the appeals service's, each with its words
        assert f"ar_cat_{category}" in i18n.TEXTS, category


def test_lines_read_in_order_with_shares_as_percentages():
    said = {key: appeal_report.shown(value, kind) for key, value, kind in appeal_report.lines(REPORT["total"])}
    assert list(said)[:5] == [
        "ar_received",
        "ar_received_urgent",
        "ar_acknowledge_due",
        "ar_acknowledge_met",
        "ar_acknowledge_share",
    ]
    assert (said["ar_acknowledge_share"], said["ar_visit_share"], said["ar_close_share"]) == (
        "66.7%",
        "100.0%",
        "50.0%",
    )
    assert (said["ar_ack_median"], said["ar_close_median"], said["ar_sat_mean"]) == ("1.2", "—", "4.5")
    assert (said["ar_open_at_end"], said["ar_overdue_now"]) == ("1", "1")


def test_months_around_the_turn_of_the_year():
    assert appeal_report.neighbours(date(2026, 12, 1)) == (date(2026, 11, 1), date(2027, 1, 1))
    assert appeal_report.neighbours(date(2027, 1, 1)) == (date(2026, 12, 1), date(2027, 2, 1))


def test_a_grid_is_named_as_the_directory_names_it_else_by_number():
    labels = {6: "G06 观音里第一综合网格"}
    assert appeal_report.grid_name(6, labels) == "G06 观音里第一综合网格"
    assert (appeal_report.grid_name(7, labels), appeal_report.grid_name(7, labels, "en")) == ("网格 7", "Grid 7")


def test_the_workbook_holds_numbers_formatted_as_they_read():
    book = load_workbook(io.BytesIO(appeal_report.workbook(REPORT, {6: "G06 第一"})))
    assert book.sheetnames == ["2026-12 社区 Community", "网格 6 Grid 6", "网格 7 Grid 7"]
    sheet = book.worksheets[0]
    rows = {row[0].value: row[1] for row in sheet.iter_rows() if row[0].value}
    share = rows["按时受理率 Acknowledged in time, share"]
    assert (share.value, share.number_format) == (0.6667, "0.0%")
    assert rows["受理用时中位数（小时） Hours to acknowledge, median"].value == 1.25
    assert rows["办结用时中位数（小时） Hours to close, median"].value is None
    assert [r[0].value for r in sheet.iter_rows() if r[0].value in ("G06 第一", "网格 7")] == ["G06 第一", "网格 7"]
    seven = {row[0]: row[1] for row in book["网格 7 Grid 7"].iter_rows(values_only=True) if row[0]}
    assert seven["当前超时 Overdue now"] == 1
    grids_only = appeal_report.workbook({**REPORT, "grid_ids": [6, 7]}, {})
    assert load_workbook(io.BytesIO(grids_only)).sheetnames[0] == "2026-12 合计"


def test_the_bar_chart_draws_a_bar_per_value_and_says_none_as_a_dash():
    svg = charts.bar_chart(
        ["G06", "G07"], [("受理", "#1f5fa8", [0.5, None]), ("办结", "#7a4fb0", [1.0, 0.0])], "按时率", percent=True
    )
    assert svg.startswith("<svg") and svg.count("</title></rect>") == 4
    assert "G06 · 受理: 50%" in svg and "G07 · 受理: —" in svg and ">100%<" in svg
    counts = charts.bar_chart(["a"], [("n", "#000", [7])], "t <b>")
    assert "t &lt;b&gt;" in counts and ">7<" in counts and "<script" not in counts
