"""The appeals' monthly report on the organiser page (``/appeals/report``) and as a workbook
(``/appeals/report.xlsx``): per grid and for the community, to print and to send upward.

Entry points only, over ``appeals.monthly_report`` as the signed-in account: organisers and viewers read
every grid, a grid leader (on their phone session) the grids they lead; the appeals service checks it.
The figures hold counts and times only, so the workbook is for whoever reads the page.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from guanyinli.errors import InvalidInput
from guanyinli.timeutil import local, parse_iso
from organiser import appeal_report, charts, web
from organiser.calendar_pages import XLSX
from organiser.grid_leader_pages import leader_or_organiser_page
from organiser.i18n import translate
from organiser.pages import directory_words
from organiser.remote import Timed
from organiser.web import http

RECEIVED, OPEN = "#1f5fa8", "#c77c02"
STAGE_COLOURS = {"acknowledge": "#1f5fa8", "visit": "#3f9b5a", "close": "#7a4fb0"}


def read_query(args, today: date) -> tuple[date, int | None]:
    """``month=YYYY-MM`` (default: this month) and ``grid=N`` (default: every grid) of the page's address."""
    month = args.get("month") or f"{today:%Y-%m}"
    try:
        first = date.fromisoformat(f"{month.strip()}-01")
    except ValueError:
        raise InvalidInput("month: YYYY-MM", "月份格式为 年-月，例如 2026-12") from None
    grid = (args.get("grid") or "").strip()
    if grid and not grid.isdigit():
        raise InvalidInput("grid: a grid number", "网格应为编号")
    return first, int(grid) if grid else None


class AppealReportPages:
    """A mixin of ``OrganiserService`` (its ``appeals`` proxy, ``settings``, ``clock``, ``_platform``)."""

    def _appeal_report(self, request) -> tuple[dict, dict[int, str]]:
        month, grid = read_query(request.args, local(self.clock.now()).date())
        appeals = Timed(self.appeals, "appeals", self.settings.rpc_timeout)
        report = appeals.monthly_report(month=f"{month:%Y-%m}", grid_id=grid)
        grids = self._platform().grids()
        return report, {int(g["id"]): g for g in grids}

    @http("GET", "/appeals/report")
    @leader_or_organiser_page
    def appeal_report(self, request, login, lang):
        report, grids = self._appeal_report(request)
        labels = directory_words([], list(grids.values()), lang)["grid_labels"]
        month = date.fromisoformat(f"{report['month']}-01")
        before, after = appeal_report.neighbours(month)
        short = {gid: g.get("code") or str(gid) for gid, g in grids.items()}
        short_of = lambda gid: short.get(gid) or str(gid)  # noqa: E731 - the table's and charts' narrow label
        names = [short_of(g["grid_id"]) for g in report["grids"]]
        shown_charts = []
        if report["grids"]:
            shown_charts.append(
                charts.bar_chart(
                    names,
                    [
                        (translate(lang, "ar_received"), RECEIVED, [g["received"] for g in report["grids"]]),
                        (translate(lang, "ar_open_at_end"), OPEN, [g["open_at_end"] for g in report["grids"]]),
                    ],
                    translate(lang, "ar_chart_received"),
                )
            )
            shown_charts.append(
                charts.bar_chart(
                    names,
                    [
                        (
                            translate(lang, f"ar_stage_{stage}"),
                            colour,
                            [appeal_report._stage(g, stage)["share"] for g in report["grids"]],
                        )
                        for stage, colour in STAGE_COLOURS.items()
                    ],
                    translate(lang, "ar_chart_in_time"),
                    percent=True,
                )
            )
        query = {"month": report["month"], **({"grid": request.args.get("grid")} if request.args.get("grid") else {})}
        return web.render(
            "appeal_report.html",
            lang,
            login=login,
            report=report,
            grid=request.args.get("grid") or "",
            grids=sorted(getattr(login, "grids", None) or grids),
            labels=labels,
            name_of=lambda gid: appeal_report.grid_name(gid, labels, lang),
            short_of=short_of,
            lines=appeal_report.lines,
            grid_row=appeal_report.grid_row,
            columns=appeal_report.GRID_COLUMNS,
            shown=appeal_report.shown,
            before=f"{before:%Y-%m}",
            after=f"{after:%Y-%m}",
            charts=shown_charts,
            judged=parse_iso(report["now"]),
            export=f"/appeals/report.xlsx?{urlencode(query)}",
        )

    @http("GET", "/appeals/report.xlsx")
    @leader_or_organiser_page
    def appeal_report_export(self, request, login, lang):
        report, grids = self._appeal_report(request)
        labels = directory_words([], list(grids.values()), "zh")["grid_labels"]
        content = appeal_report.workbook(report, labels)
        response = Response(content, mimetype=XLSX)
        scope = "" if report["grid_ids"] is None else "-grid-" + "-".join(map(str, report["grid_ids"]))
        response.headers["Content-Disposition"] = f'attachment; filename="appeals-{report["month"]}{scope}.xlsx"'
        response.headers["Cache-Control"] = "no-store"
        return web.secure(response)
