"""The clean-up rotation page: places by weeks with who cleans, each volunteer's count, and the plan button.

``CleanupPages`` joins ``OrganiserService`` through its bases. ``table`` lays the activities service's
``cleanup_rotation`` answer out as plain data, so the page and the command line show the same thing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from guanyinli.errors import InvalidInput
from guanyinli.timeutil import TZ, iso, local, now
from organiser import board, web
from organiser.grid_leader_pages import leader_or_organiser_page
from organiser.pages import page
from organiser.web import http

KIND_ORDER = ("courtyard", "commercial_residential", "green_space")
WEEKS = (1, 2, 4, 8)
DEFAULT_WEEKS = 4


def window(start: date, weeks: int) -> tuple[datetime, datetime]:
    """From the Monday of ``start``'s week, ``weeks`` weeks."""
    monday = start - timedelta(days=start.weekday())
    begin = datetime.combine(monday, datetime.min.time(), tzinfo=TZ)
    return begin, begin + timedelta(weeks=weeks)


def next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def read_period(start: str | None, weeks: str | None) -> tuple[date, int]:
    """The page's or the command's period; InvalidInput in both languages for what cannot be read."""
    try:
        day = date.fromisoformat(start) if start else next_monday(now().astimezone(TZ).date())
        count = int(weeks) if weeks else DEFAULT_WEEKS
    except ValueError:
        raise InvalidInput("start: a date (YYYY-MM-DD); weeks: a number", "开始日期为年-月-日，周数为数字") from None
    if not 1 <= count <= 12:
        raise InvalidInput("weeks: 1 to 12", "周数为 1 到 12")
    return day, count


def table(view: dict, lang: str = "zh") -> dict:
    """The rotation as places (rows) by weeks (columns); each cell the place's clean-ups that week."""
    begin = local(datetime.fromisoformat(view["start"])).date()
    end = local(datetime.fromisoformat(view["end"])).date()
    mondays = [begin + timedelta(weeks=w) for w in range(max(1, -(-(end - begin).days // 7)))]
    places: dict[str, dict] = {}
    cells: dict[tuple[str, date], list[dict]] = defaultdict(list)
    for row in view["rows"]:
        places.setdefault(
            row["place_code"],
            {"code": row["place_code"], "name": row["place"], "kind": row["place_kind"], "grid_id": row["grid_id"]},
        )
        start = local(datetime.fromisoformat(row["start"]))
        monday = start.date() - timedelta(days=start.weekday())
        cells[(row["place_code"], monday)].append(
            {
                "occurrence_id": row["occurrence_id"],
                "day": f"{board.weekday(start.date(), lang)} {start:%m-%d %H:%M}",
                "volunteers": [v["name"] or f"#{v['id']}" for v in row["volunteers"]],
                "missing": max(0, row["needed"] - len(row["volunteers"])),
            }
        )
    ordered = sorted(places.values(), key=lambda p: (KIND_ORDER.index(p["kind"]), p["code"]))
    counts = [c["count"] for c in view["counts"]]
    return {
        "weeks": mondays,
        "places": [{**p, "cells": [cells.get((p["code"], m), []) for m in mondays]} for p in ordered],
        "counts": view["counts"],
        "most": max(counts, default=0),
        "least": min(counts, default=0),
        "own_rota": view["own_rota"],
    }


class CleanupPages:
    """``/cleanups``: mixed into ``OrganiserService`` (nameko finds entry points on the service class)."""

    @http("GET", "/cleanups")
    @leader_or_organiser_page
    def cleanups(self, request, login, lang):
        start, weeks = read_period(request.args.get("start"), request.args.get("weeks"))
        begin, end = window(start, weeks)
        view = self._platform().activities.cleanup_rotation(start=iso(begin), end=iso(end))
        return web.render(
            "cleanups.html",
            lang,
            login=login,
            board=table(view, lang),
            start=begin.date().isoformat(),
            weeks=weeks,
            week_choices=WEEKS,
            done=request.args.get("done"),
            created=request.args.get("created"),
            signed_up=request.args.get("signed_up"),
        )

    @http("POST", "/cleanups/plan")
    @page(change=True)
    def cleanups_plan(self, request, login, lang):
        start, weeks = read_period(request.form.get("start"), request.form.get("weeks"))
        made = self._platform().activities.plan_cleanups(start=start.isoformat(), weeks=weeks)
        return web.redirect(
            "/cleanups",
            start=start.isoformat(),
            weeks=weeks,
            done="planned",
            created=made["created"],
            signed_up=made["signed_up"],
        )
