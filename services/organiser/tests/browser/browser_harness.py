"""What every browser test shares: Debian's Chromium, the marks that skip without it, and running a
``drive_*.py`` Playwright driver in a process of its own (Playwright's event loop does not live with
eventlet's monkey-patching of the test process) and reading what it saw."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from organiser_testkit import PASSWORD, start_platform

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.testing import signed

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
ARTIFACTS = ROOT / "artifacts"
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
ORGANISER = "wangfang"

BROWSER = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)"
    ),
]
NEEDS_AXE = pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed: make node-deps")


@contextmanager
def organiser_rpc(container_factory, service_config):
    """The services started, and an organiser's RPC proxy with the organiser's web account made."""
    start_platform(container_factory, service_config)
    with ClusterRpcProxy(service_config, context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        rpc.organiser.create_account(username=ORGANISER, password=PASSWORD, display_name="王芳")
        yield rpc


def site_url(service_config) -> str:
    return f"http://127.0.0.1:{service_config['WEB_SERVER_ADDRESS'].rsplit(':', 1)[1]}"


def screenshot(name: str) -> Path:
    """Where a test keeps a screenshot to look at after the run (artifacts/ at the repository's root)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def setup_file(tmp_path: Path, setup: dict) -> str:
    """The drivers taking more than a few arguments read them from a JSON file."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = tmp_path / "setup.json"
    path.write_text(json.dumps(setup, ensure_ascii=False), encoding="utf-8")
    return str(path)


def drive(script: str, *args, timeout: int = 180, stderr_tail: int = 3000) -> dict:
    """Runs the driver ``script`` (next to this file) with ``args`` and returns what it printed as JSON."""
    driver = subprocess.run(
        [sys.executable, str(HERE / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, CHROMIUM=CHROMIUM),
    )
    assert driver.returncode == 0, driver.stderr[-stderr_tail:]
    return json.loads(driver.stdout)
