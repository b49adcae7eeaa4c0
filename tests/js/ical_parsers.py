"""Two independent readings of an iCalendar feed, for tests: ical.js (node) and recurring-ical-events.

Both expand the occurrences overlapping a window into the same plain shape, so a test can
compare them with each other and with what the database says::

    {"uid", "start", "end", "status", "summary", "location", "description", "sequence"}

(``both()`` compares them without ``sequence``, which the two libraries report differently.)

with ``start``/``end`` as aware UTC datetimes. ical.js runs as ``node tests/js/expand.mjs``;
``require_icaljs()`` installs it from ``package-lock.json`` (``npm ci``) when node_modules is
missing, and skips the calling test, with the reason, only when node itself is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import recurring_ical_events
from icalendar import Calendar

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "expand.mjs"


def require_icaljs() -> str:
    """The node executable, with ical.js installed; skips the test when node is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the ical.js half of the two-parser comparison cannot run")
    if not (HERE / "node_modules" / "ical.js" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("node is installed but npm is not, and tests/js/node_modules is missing (run npm ci there)")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"npm ci in tests/js failed:\n{done.stderr[-2000:]}")
    return node


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def run_icaljs(body: bytes, start: datetime, end: datetime) -> dict:
    """ical.js's reading: {"calendar": {...}, "occurrences": [...]} (times as aware UTC datetimes)."""
    node = require_icaljs()
    with tempfile.NamedTemporaryFile(suffix=".ics") as feed:
        feed.write(body)
        feed.flush()
        done = subprocess.run(
            [node, str(SCRIPT), feed.name, _iso(start), _iso(end)], capture_output=True, text=True, timeout=60
        )
    if done.returncode != 0:
        raise AssertionError(f"ical.js could not read the feed: {done.stderr.strip()}")
    result = json.loads(done.stdout)
    for occ in result["occurrences"]:
        occ["start"], occ["end"] = _parse_utc(occ["start"]), _parse_utc(occ["end"])
        occ.pop("recurrence_id", None)
    return result


def icaljs_occurrences(body: bytes, start: datetime, end: datetime) -> list[dict]:
    return _sorted(run_icaljs(body, start, end)["occurrences"])


def python_occurrences(body: bytes, start: datetime, end: datetime) -> list[dict]:
    """recurring-ical-events' reading of the same window (cancelled instances included)."""
    calendar = Calendar.from_ical(body)
    found = []
    for component in recurring_ical_events.of(calendar).between(start, end):
        found.append(
            {
                "uid": str(component["UID"]),
                "start": component["DTSTART"].dt.astimezone(UTC),
                "end": component["DTEND"].dt.astimezone(UTC),
                "summary": _text(component, "SUMMARY"),
                "location": _text(component, "LOCATION"),
                "description": _text(component, "DESCRIPTION"),
                "status": _text(component, "STATUS") or "CONFIRMED",
                "sequence": int(component.get("SEQUENCE", 0)),
            }
        )
    return _sorted(found)


def _text(component, name: str) -> str | None:
    value = component.get(name)
    return None if value is None else str(value)


def _sorted(occurrences: list[dict]) -> list[dict]:
    return sorted(occurrences, key=lambda o: (o["start"], o["uid"], o["end"]))


def both(body: bytes, start: datetime, end: datetime) -> list[dict]:
    """The occurrences both parsers agree on; fails the test, showing the difference, if they do not."""
    # SEQUENCE is left out: recurring-ical-events gives every instance the series' highest one.
    js = [{k: v for k, v in o.items() if k != "sequence"} for o in icaljs_occurrences(body, start, end)]
    py = [{k: v for k, v in o.items() if k != "sequence"} for o in python_occurrences(body, start, end)]
    if js != py:
        only_js = [o for o in js if o not in py]
        only_py = [o for o in py if o not in js]
        raise AssertionError(
            f"ical.js and recurring-ical-events differ:\nonly ical.js: {only_js}\nonly python: {only_py}"
        )
    return py
