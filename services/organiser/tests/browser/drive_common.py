"""What the ``drive_*.py`` Playwright drivers share: launching Debian's Chromium, the organiser's log-in,
a volunteer's phone, axe-core, and printing what was seen.

The drivers run as processes of their own (Playwright's event loop does not live with eventlet's
monkey-patching of the test process); this file sits next to them, on their ``sys.path``.
"""

from __future__ import annotations

import json
import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 360, "height": 740}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def submit_login(page, username: str, password: str) -> None:
    """Fills in and sends the organiser's log-in form the page shows."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def log_in(page, base: str, path: str, username: str, password: str, lands_on: str | None = None) -> None:
    """Opens ``path``, logs in on the form it leads to and waits for ``lands_on`` (``path`` by default)."""
    page.goto(base + path)
    submit_login(page, username, password)
    page.wait_for_url(base + (lands_on or path))


def phone_context(browser):
    """A phone's screen in a browser context of its own (its cookies its own); the pages'
    Content-Security-Policy bypassed so that axe-core can be injected."""
    return browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2, bypass_csp=True)


def axe(page, setup: dict) -> list:
    """axe-core's WCAG 2.1 A and AA violations on the page as it is now."""
    page.add_script_tag(path=setup["axe"])
    return page.evaluate(
        "opts => axe.run(document, opts).then(r => r.violations.map(v => ({id: v.id, impact: v.impact})))",
        {"runOnly": {"type": "tag", "values": WCAG}},
    )


def report(seen: dict) -> None:
    """What the driver saw, for the test to read."""
    print(json.dumps(seen, ensure_ascii=False))


def read_setup(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)
