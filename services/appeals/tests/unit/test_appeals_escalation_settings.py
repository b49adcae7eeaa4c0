"""The escalation settings read from the config at start: the time limits over the defaults, the timer's
interval and batch, the env's JSON, and a bad config refused with every problem named."""

from __future__ import annotations

import pytest

from appeals.dependencies import EscalationSettings
from appeals.time_limits import DEFAULT_LIMITS, LimitsConfigError, limit_for


def test_without_a_config_the_defaults_hold(monkeypatch):
    for key in ("TIME_LIMITS", "ESCALATION_INTERVAL", "ESCALATION_BATCH"):
        monkeypatch.delenv(f"APPEALS_{key}", raising=False)
    settings = EscalationSettings.from_config({})
    assert (settings.limits, settings.interval, settings.batch) == (DEFAULT_LIMITS, 60.0, 20)


def test_the_config_overrides_limits_interval_and_batch():
    config = {
        "APPEALS": {"TIME_LIMITS": {"repair": {"close_days": 5}}, "ESCALATION_INTERVAL": 30, "ESCALATION_BATCH": 5}
    }
    settings = EscalationSettings.from_config(config)
    assert limit_for(settings.limits, "repair", "normal").close_days == 5
    assert limit_for(settings.limits, "errand", "normal") == limit_for(DEFAULT_LIMITS, "errand", "normal")
    assert (settings.interval, settings.batch) == (30.0, 5)


def test_the_env_gives_the_limits_as_json(monkeypatch):
    monkeypatch.setenv("APPEALS_TIME_LIMITS", '{"environment": {"urgent": {"visit_hours": 8}}}')
    assert limit_for(EscalationSettings.from_config({}).limits, "environment", "urgent").visit_hours == 8
    monkeypatch.setenv("APPEALS_TIME_LIMITS", "{environment")
    with pytest.raises(LimitsConfigError, match="APPEALS_TIME_LIMITS is not JSON"):
        EscalationSettings.from_config({})


def test_a_bad_config_names_every_problem():
    config = {"APPEALS": {"TIME_LIMITS": {"repair": {"visit_hours": "soon"}, "elevator": {"close_days": 0}}}}
    with pytest.raises(LimitsConfigError) as refused:
        EscalationSettings.from_config(config)
    assert [e.split(":")[0] for e in refused.value.errors] == ["repair.visit_hours", "elevator.close_days"]
