"""`guanyinli appeals report`: the month's figures of residents' appeals per grid and for the community,
as a table, JSON or the workbook the page exports (``organiser.appeal_report``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from guanyinli.timeutil import now
from organiser import appeal_report
from organiser.cli import emit, json_option, make_table, state
from organiser.cli_appeals import appeals
from organiser.i18n import translate


def _month(value: str | None) -> str:
    if not value:
        return f"{now():%Y-%m}"
    try:
        return f"{date.fromisoformat(f'{value.strip()}-01'):%Y-%m}"
    except ValueError:
        raise click.BadParameter(f"not a month YYYY-MM: {value!r}", param_hint="--month") from None


def _tables(labels: dict[int, str]):
    def tables(report: dict):
        rows = [
            [appeal_report.grid_name(g["grid_id"], labels, "en")]
            + [appeal_report.shown(v, kind) for v, kind in appeal_report.grid_row(g)]
            for g in report["grids"]
        ]
        rows.append(["total"] + [appeal_report.shown(v, kind) for v, kind in appeal_report.grid_row(report["total"])])
        scope = "community" if report["grid_ids"] is None else "grids " + ", ".join(map(str, report["grid_ids"]))
        per_grid = make_table(
            f"Appeals {report['month']} ({scope}), as of {report['now'][:16].replace('T', ' ')}",
            ["grid"] + [translate("en", key) for key, _, _ in appeal_report.GRID_COLUMNS],
            rows,
        )
        total = make_table(
            f"Total {report['month']}",
            ["figure", "value"],
            [
                [translate("en", key), appeal_report.shown(v, kind)]
                for key, v, kind in appeal_report.lines(report["total"])
            ],
        )
        from rich.console import Group

        return Group(per_grid, total)

    return tables


@appeals.command("report")
@click.option("--month", help="YYYY-MM (default: this month)")
@click.option("--grid", type=int, help="one grid's figures only")
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path), help="also write the workbook here")
@json_option
def appeals_report(month, grid, xlsx):
    """Appeals received, acknowledged, visited and closed within their limits, hours taken, satisfaction,
    open at the month's end and overdue now: per grid and in all."""
    month = _month(month)
    rpc = state().rpc()
    report = rpc.appeals.monthly_report(month=month, grid_id=grid)
    labels = {
        int(g["id"]): " ".join(x for x in (g.get("code"), g.get("name")) if x) for g in rpc.volunteers.list_grids()
    }
    if xlsx is not None:
        xlsx.write_bytes(appeal_report.workbook(report, labels))
        click.echo(f"written {xlsx}", err=True)
    emit(report, _tables(labels))
