"""Secret settings refused outside the local run (guanyinli.config.require_secret), and secrets in
URLs cut out of log lines (guanyinli.logs.RedactSecrets, installed by config/nameko.yaml)."""

from __future__ import annotations

import logging
import sys

import pytest
import yaml

from guanyinli.config import ROOT, InsecureSecret, is_local, require_secret, secret_problem
from guanyinli.logs import RedactSecrets, redact

STRONG = "9f2c4e7a1b3d5f6a8c0e2b4d6f8a1c3e"  # openssl rand -hex 16


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "change-me-feed-secret", "CHANGEME-0123456789abcdefghijklmnopq", "secret", "Secret",
     "https://guanyinli.example.org/feeds-0123456789", "a" * 64, "abababababababababababababababab", STRONG[:31]],
)  # fmt: skip
def test_weak_secrets_are_refused_outside_the_local_run(monkeypatch, value):
    monkeypatch.setenv("GUANYINLI_ENV", "production")
    assert secret_problem(value) is not None
    with pytest.raises(InsecureSecret, match=r"^FEED_SECRET .*GUANYINLI_ENV=local"):
        require_secret("FEED_SECRET", value)


@pytest.mark.parametrize("env", ["production", "", "staging"])
def test_anything_but_local_is_a_deployment(monkeypatch, env):
    monkeypatch.setenv("GUANYINLI_ENV", env)
    assert not is_local()
    assert require_secret("FEED_SECRET", STRONG) == STRONG


def test_unset_is_a_deployment(monkeypatch):
    monkeypatch.delenv("GUANYINLI_ENV")
    with pytest.raises(InsecureSecret):
        require_secret("WEBHOOK_SECRET", "change-me-webhook", min_length=16)


def test_the_local_run_accepts_weak_values(monkeypatch):
    monkeypatch.setenv("GUANYINLI_ENV", "local")
    assert require_secret("FEED_SECRET", "change-me-feed-secret") == "change-me-feed-secret"
    assert require_secret("FEED_SECRET", None) == ""


def test_the_length_is_the_callers():
    assert secret_problem(STRONG[:20], min_length=16) is None
    assert "fewer than 40" in secret_problem(STRONG, min_length=40)


TOKEN = "AAAAAAAAAAG0K72i-bEZoJRkGXIaAcEDvshjpAIwQV9zMOF7Z4ZUVQ"


@pytest.mark.parametrize(
    ("line", "clean"),
    [
        (f'127.0.0.1 - - [x] "GET /feeds/volunteers/{TOKEN}.ics HTTP/1.1" 200 9',
         '127.0.0.1 - - [x] "GET /feeds/volunteers/<redacted>.ics HTTP/1.1" 200 9'),
        (f"{{'https': 'https://g.example/feeds/volunteers/{TOKEN}.ics'}}",
         "{'https': 'https://g.example/feeds/volunteers/<redacted>.ics'}"),
        (f"GET /feeds/volunteers/{TOKEN}?x=1", "GET /feeds/volunteers/<redacted>?x=1"),
        (f"/feeds/volunteers/{TOKEN}", "/feeds/volunteers/<redacted>"),
        (f'"HEAD /feeds/volunteers/{TOKEN}/...ics HTTP/1.1" 404', '"HEAD /feeds/volunteers/<redacted>.ics HTTP/1.1" 404'),
        (f"GET /feeds/volunteers/..%2F{TOKEN}%00.ics/x", "GET /feeds/volunteers/<redacted>"),
        ("GET /feeds/grids/4.ics", "GET /feeds/grids/4.ics"),
        (f'"POST /appeal/reply/{TOKEN} HTTP/1.1" 409', '"POST /appeal/reply/<redacted> HTTP/1.1" 409'),
        ("POST /appeal/code HTTP/1.1", "POST /appeal/code HTTP/1.1"),
    ],
)  # fmt: skip
def test_feed_tokens_are_cut_out_of_text(line, clean):
    assert redact(line) == clean


def test_the_filter_redacts_arguments_and_tracebacks():
    try:
        raise ValueError(f"bad /feeds/volunteers/{TOKEN}.ics")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "%s %s", ("GET", f"/feeds/volunteers/{TOKEN}.ics"), exc_info
    )
    assert RedactSecrets().filter(record) is True
    assert record.getMessage() == "GET /feeds/volunteers/<redacted>.ics"
    assert TOKEN not in record.exc_text and "ValueError: bad /feeds/volunteers/<redacted>.ics" in record.exc_text
    assert TOKEN not in logging.Formatter().format(record)


def test_every_service_console_line_passes_the_filter():
    config = yaml.safe_load((ROOT / "config" / "nameko.yaml").read_text())["LOGGING"]
    names = [n for n, f in config["filters"].items() if f["()"] == "guanyinli.logs.RedactSecrets"]
    assert names and all(set(names) <= set(h.get("filters", [])) for h in config["handlers"].values())


def test_a_broken_format_string_passes_as_it_is():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("one",), None)
    assert RedactSecrets().filter(record) is True and record.args == ("one",)


def test_compose_runs_the_services_as_a_deployment_and_the_example_secret_is_refused(monkeypatch):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["x-common-env"]["GUANYINLI_ENV"] == "production"
    assert compose["services"]["activities"]["environment"]["GUANYINLI_ENV"] == "production"  # the merged anchor
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line[0] != "#"
    )
    monkeypatch.setenv("GUANYINLI_ENV", "production")
    with pytest.raises(InsecureSecret):
        require_secret("FEED_SECRET", example["FEED_SECRET"])
