"""The security suite (``make test-security``): attacks tried against the running services, and a
table at the end, one row an attack: tries, refused, leaked. Every row must be all refused."""

from __future__ import annotations

from collections import defaultdict

import pytest

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
