"""The security suite (``make test-security``): attacks tried against the running services, and a
table at the end, one row an attack: tries, refused, leaked. Every row must be all refused."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import pytest

# The attacks reuse the services' own test helpers and fixtures (activities_testkit,
# organiser_testkit, the feed tests'), which live beside those tests.
ROOT = Path(__file__).resolve().parents[2]
for helpers in ("services/activities/tests/integration", "services/organiser/tests/integration"):
    if str(ROOT / helpers) not in sys.path:
        sys.path.insert(0, str(ROOT / helpers))

from test_feeds_secrets import start  # noqa: E402, F401 (a fixture: the activities service on a FEED_SECRET)

ROWS: dict[str, dict[str, int]] = defaultdict(lambda: {"tries": 0, "refused": 0, "leaked": 0})


def record(attack: str, refused: bool) -> None:
    row = ROWS[attack]
    row["tries"] += 1
    row["refused" if refused else "leaked"] += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not ROWS:
        return
    terminalreporter.write_sep("=", "security")
    width = max(len(a) for a in ROWS) + 2
    terminalreporter.write_line(f"{'attack':<{width}}{'tries':>7}{'refused':>9}{'leaked':>8}")
    for attack, row in ROWS.items():
        terminalreporter.write_line(f"{attack:<{width}}{row['tries']:>7}{row['refused']:>9}{row['leaked']:>8}")


@pytest.fixture
def attacks():
    return record
