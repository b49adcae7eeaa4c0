"""Fixtures of `make test-cluster`: three clustered RabbitMQ nodes (``cluster_nodes``), the services
as processes against all three (the reliability suite's ``Platform``), and the tally printed as a
table at the end (also written to artifacts/cluster.json).

The module runs only when ``GUANYINLI_CLUSTER=1`` (the make target sets it): `make test` and
`make test-reliability` leave it out, it starts three RabbitMQ nodes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))

if os.environ.get("GUANYINLI_CLUSTER") != "1":
    collect_ignore_glob = ["test_*.py"]
else:
    from cluster_nodes import Cluster  # noqa: E402
    from rel_fuzz import register_typed_errors  # noqa: E402
    from rel_platform import ROOT, Platform, Tally  # noqa: E402

    TALLY = Tally()
    register_typed_errors()

    def pytest_terminal_summary(terminalreporter, exitstatus, config):
        if not TALLY.rows:
            return
        terminalreporter.write_sep("=", "cluster")
        terminalreporter.write_line(TALLY.table())
        out = ROOT / "artifacts"
        out.mkdir(exist_ok=True)
        (out / "cluster.json").write_text(json.dumps(TALLY.as_dict(), indent=2, ensure_ascii=False))

    @pytest.fixture(scope="session")
    def tally() -> Tally:
        return TALLY

    @pytest.fixture(scope="session")
    def cluster():
        nodes = Cluster()
        try:
            nodes.start()
            yield nodes
        finally:
            nodes.remove()

    @pytest.fixture(scope="session")
    def platform(cluster, tmp_path_factory):
        """The services as real processes on PostgreSQL, every node of the cluster in their AMQP_URI."""
        plat = Platform(cluster, tmp_path_factory.mktemp("platform"))
        try:
            plat.start_all()
            yield plat
        finally:
            plat.shutdown()
