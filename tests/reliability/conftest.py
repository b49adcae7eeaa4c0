"""Fixtures of the reliability suite: one platform (broker, databases, three service processes,
SMTP sink) for the whole session, and the tally printed as a table at the end.

Every test module here sets `pytestmark = pytest.mark.reliability`; `make test-reliability`
runs them (`pytest -m reliability -p no:randomly -s`), `make test` leaves them out.

Knobs (environment): RELIABILITY_SIGNUPS (300 per storm), RELIABILITY_CONCURRENCY (40 clients),
RELIABILITY_EMAIL_BATCH (150), RELIABILITY_FUZZ_EXAMPLES (30 per method), RELIABILITY_SEED
(hypothesis seed, fixed so CI is reproducible), RELIABILITY_BROKER (private | shared),
RELIABILITY_LOG_LEVEL (of the services, WARNING). The table is also written to
artifacts/reliability.json.
"""

from __future__ import annotations

import json

import pytest
from rel_fuzz import register_typed_errors
from rel_platform import ROOT, Broker, Platform, Tally

TALLY = Tally()
# Callers get typed errors only for classes registered in their own process: register them all.
register_typed_errors()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not TALLY.rows:
        return
    terminalreporter.write_sep("=", "reliability")
    terminalreporter.write_line(TALLY.table())
    out = ROOT / "artifacts"
    out.mkdir(exist_ok=True)
    (out / "reliability.json").write_text(json.dumps(TALLY.as_dict(), indent=2, ensure_ascii=False))


@pytest.fixture(scope="session")
def tally() -> Tally:
    return TALLY


@pytest.fixture(scope="session")
def broker():
    node = Broker()
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def platform(broker, tmp_path_factory):
    """The three services as real processes on PostgreSQL, healthy."""
    plat = Platform(broker, tmp_path_factory.mktemp("platform"))
    try:
        plat.start_all()
        yield plat
    finally:
        plat.shutdown()


@pytest.fixture
def healthy(platform):
    """The platform, with every service (re)started and answering before the test begins."""
    for key, proc in list(platform.processes.items()):
        if proc.poll() is not None:
            service, replica = platform.replicas[key]
            platform.start(service, replica=replica)
    return platform
