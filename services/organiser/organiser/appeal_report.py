"""The appeals' monthly report as people read it: the figures of ``appeals.monthly_report`` laid out as
lines and per-grid rows for the page (``/appeals/report``), its workbook and the command line.

Plain data in, plain data (or the workbook's bytes) out; the words are ``appeal_report_words``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from datetime import date

from organiser.i18n import TEXTS

STAGES = ("acknowledge", "visit", "close")
# How a figure reads: a count, a share (0-1, shown as %), hours, a score.
COUNT, SHARE, HOURS, SCORE = "count", "share", "hours", "score"


def _stage(figures: Mapping, name: str) -> Mapping:
    return next(s for s in figures["stages"] if s["stage"] == name)


def lines(figures: Mapping) -> list[tuple[str, float | int | None, str]]:
    """The figures of one grid (or the total) as (word key, value, kind), in the order the report reads."""
    out: list[tuple[str, float | int | None, str]] = [
        ("ar_received", figures["received"], COUNT),
        ("ar_received_urgent", figures["received_urgent"], COUNT),
    ]
    for name in STAGES:
        s = _stage(figures, name)
        out += [(f"ar_{name}_due", s["due"], COUNT), (f"ar_{name}_met", s["met"], COUNT)]
        out.append((f"ar_{name}_share", s["share"], SHARE))
    ack, close, sat = figures["hours_to_acknowledge"], figures["hours_to_close"], figures["satisfaction"]
    out += [
        ("ar_ack_median", ack["median"], HOURS),
        ("ar_ack_p90", ack["p90"], HOURS),
        ("ar_close_median", close["median"], HOURS),
        ("ar_close_p90", close["p90"], HOURS),
        ("ar_closed", figures["closed"], COUNT),
        ("ar_sat_answers", sat["answers"], COUNT),
        ("ar_sat_mean", sat["mean"], SCORE),
        ("ar_sat_share", sat["share_satisfied"], SHARE),
        ("ar_open_at_end", figures["open_at_end"], COUNT),
        ("ar_overdue_now", figures["overdue_now"], COUNT),
    ]
    return out


def shown(value: float | int | None, kind: str) -> str:
    """A figure in text: a share as a percentage, hours and scores with one decimal, nothing as "—"."""
    if value is None:
        return "—"
    if kind == SHARE:
        return f"{value * 100:.1f}%"
    if kind in (HOURS, SCORE):
        return f"{value:.1f}"
    return str(value)


# The per-grid table: (word key, what of the figures, kind).
GRID_COLUMNS: tuple[tuple[str, Callable[[Mapping], float | int | None], str], ...] = (
    ("ar_received", lambda f: f["received"], COUNT),
    ("ar_acknowledge_share", lambda f: _stage(f, "acknowledge")["share"], SHARE),
    ("ar_visit_share", lambda f: _stage(f, "visit")["share"], SHARE),
    ("ar_close_share", lambda f: _stage(f, "close")["share"], SHARE),
    ("ar_ack_median", lambda f: f["hours_to_acknowledge"]["median"], HOURS),
    ("ar_close_median", lambda f: f["hours_to_close"]["median"], HOURS),
    ("ar_sat_mean", lambda f: f["satisfaction"]["mean"], SCORE),
    ("ar_open_at_end", lambda f: f["open_at_end"], COUNT),
    ("ar_overdue_now", lambda f: f["overdue_now"], COUNT),
)


def grid_row(figures: Mapping) -> list[tuple[float | int | None, str]]:
    return [(get(figures), kind) for _, get, kind in GRID_COLUMNS]


def neighbours(month: date) -> tuple[date, date]:
    """The months before and after ``month`` (first days)."""
    before = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    after = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return before, after


def grid_name(grid_id: int, labels: Mapping[int, str], lang: str = "zh") -> str:
    """ "6 第六网格" where the directory names the grid, else "网格 6" / "Grid 6"."""
    label = labels.get(grid_id)
    if label:
        return label
    zh, en = TEXTS["ar_grid_n"]
    return (zh if lang == "zh" else en).format(n=grid_id)


def _both(key: str) -> str:
    zh, en = TEXTS[key]
    return f"{zh} {en}"


def workbook(report: Mapping, labels: Mapping[int, str]) -> bytes:
    """The report as an .xlsx: a sheet for the total (the community's, or the grids asked for) with a
    row per grid under it, then a sheet per grid; words in Chinese and English, figures as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    total = book.active
    total.title = f"{report['month']} 社区 Community" if report.get("grid_ids") is None else f"{report['month']} 合计"
    _figures_sheet(total, report, report["total"], _both("ar_community"), Font)
    total.append([])
    total.append([_both("ar_per_grid")])
    total.append(["网格 Grid"] + [_both(key) for key, _, _ in GRID_COLUMNS])
    for cell in total[total.max_row]:
        cell.font = Font(bold=True)
    for grid in report["grids"]:
        total.append([grid_name(grid["grid_id"], labels)] + [value for value, _ in grid_row(grid)])
        for cell, (_, kind) in zip(total[total.max_row][1:], grid_row(grid), strict=True):
            _format(cell, kind)
    for grid in report["grids"]:
        sheet = book.create_sheet(_sheet_title(f"网格 {grid['grid_id']} Grid {grid['grid_id']}"))
        _figures_sheet(sheet, report, grid, grid_name(grid["grid_id"], labels), Font)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _figures_sheet(sheet, report: Mapping, figures: Mapping, heading: str, font) -> None:
    sheet.append([f"{_both('ar_title')} {report['month']}", heading])
    sheet["A1"].font = font(bold=True)
    sheet.append([_both("ar_figure"), _both("ar_value")])
    for cell in sheet[2]:
        cell.font = font(bold=True)
    for key, value, kind in lines(figures):
        sheet.append([_both(key), value])
        _format(sheet.cell(sheet.max_row, 2), kind)
    sheet.append([])
    sheet.append([_both("ar_by_category"), _both("ar_normal"), _both("ar_urgent"), _both("ar_total")])
    for cell in sheet[sheet.max_row]:
        cell.font = font(bold=True)
    for row in figures["by_category"]:
        sheet.append([_both(f"ar_cat_{row['category']}"), row["normal"], row["urgent"], row["received"]])
    sheet.column_dimensions["A"].width = 48
    for column in "BCDEFGHIJ":
        sheet.column_dimensions[column].width = 18
    sheet.freeze_panes = "A3"


def _format(cell, kind: str) -> None:
    if kind == SHARE:
        cell.number_format = "0.0%"
    elif kind in (HOURS, SCORE):
        cell.number_format = "0.0"


def _sheet_title(title: str) -> str:
    """A sheet name Excel takes: at most 31 characters, none of []:*?/\\."""
    return "".join(c for c in title if c not in "[]:*?/\\")[:31]
