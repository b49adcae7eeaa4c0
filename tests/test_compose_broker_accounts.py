"""scripts/check_compose.py's check that every container connects as its own broker account."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_check_compose():
    spec = importlib.util.spec_from_file_location("check_compose", ROOT / "scripts" / "check_compose.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compose():
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is missing (CI installs it)")
    check = load_check_compose()
    return check, check.compose_config(ROOT / ".env.example")


def test_the_compose_file_gives_every_container_its_own_account(compose):
    check, config = compose
    assert check.check_broker_accounts(config) == []


def test_a_container_with_another_services_account_is_reported(compose):
    check, config = compose
    config = copy.deepcopy(config)
    services = config["services"]
    services["volunteers"]["environment"]["AMQP_URI"] = services["activities"]["environment"]["AMQP_URI"]
    problems = check.check_broker_accounts(config)
    assert problems == ["volunteers: its AMQP_URI names the broker user 'activities', not its own account 'volunteers'"]


def test_a_container_started_before_the_accounts_exist_is_reported(compose):
    check, config = compose
    config = copy.deepcopy(config)
    del config["services"]["notifications"]["depends_on"]["broker-users"]
    problems = check.check_broker_accounts(config)
    assert problems == [
        "notifications: does not wait for broker-users (depends_on: condition: service_completed_successfully)"
    ]
