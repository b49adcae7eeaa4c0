"""Drives the residents' public appeal pages in headless Chromium at a phone's size and prints what
it saw as JSON; every page it opens is checked with axe-core (WCAG 2.1 A and AA), for its width
and for scripts (there are none).

Run as its own process (Playwright's event loop does not live with eventlet's monkey-patching).
Usage: drive_appeal.py SETUP.json, where SETUP holds base, sms_log, axe, screenshots, phone and
step: ``send`` (a code by SMS, a wrong one, the right one, the form) or ``reply`` (the link texted
at closing, ``link``: satisfaction given, then the link again).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from drive_common import PHONE, axe, launch, phone_context, read_setup, report
from playwright.sync_api import sync_playwright


class Resident:
    def __init__(self, browser, setup: dict, seen: dict):
        self.setup, self.seen = setup, seen
        self.page = phone_context(browser).new_page()

    def check(self, name: str) -> None:
        page = self.page
        self.seen.setdefault("scripts", {})[name] = page.locator("script").count()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            self.seen.setdefault("too_wide", {})[name] = width
        self.seen.setdefault("axe", {})[name] = axe(page, self.setup)

    def go(self, path: str, name: str) -> None:
        self.page.goto(self.setup["base"] + path)
        self.check(name)

    def press(self, selector: str, name: str) -> None:
        self.page.click(selector)
        self.page.wait_for_load_state()
        self.check(name)

    def text(self, selector: str = "main") -> str:
        return self.page.locator(selector).inner_text()

    def code(self) -> str:
        for _ in range(100):
            lines = Path(self.setup["sms_log"]).read_text(encoding="utf-8").splitlines()
            mine = [json.loads(x) for x in lines if x.strip() and json.loads(x)["phone"].endswith(self.setup["phone"])]
            if mine:
                return re.search(r"\b(\d{6})\b", mine[-1]["text"]).group(1)
            time.sleep(0.1)
        raise AssertionError("no code came")


def send(resident: Resident, seen: dict, shots: Path) -> None:
    resident.go("/appeal/lang/en", "start-en")
    seen["english"] = resident.text("h1")
    resident.go("/appeal/lang/zh", "start")
    seen["start"] = resident.text("h1")
    resident.page.fill("#phone", resident.setup["phone"])
    resident.press("form[action='/appeal/code'] button", "code")
    seen["code_sent"] = resident.text(".note")
    code = resident.code()
    resident.page.fill("#code", "000000" if code != "000000" else "111111")
    resident.press("form[action='/appeal/verify'] button", "code-wrong")
    seen["wrong_code"] = resident.text("#why")
    resident.page.fill("#code", code)
    resident.press("form[action='/appeal/verify'] button", "form")
    seen["verified"] = resident.text(".note")
    resident.page.screenshot(path=str(shots / "appeal-form.png"), full_page=True)
    # sent without a description: asked for, what was typed kept
    page = resident.page
    page.select_option("#category", "repair")
    page.select_option("#place", label="观音里1号院")
    page.fill("#building", "3号楼")
    page.check("input[name=urgency][value=urgent]")
    page.fill("#resident_name", "赵桂英")
    page.fill("#resident_address", "观音里1号院3号楼201")
    page.eval_on_selector("#description", "e => e.removeAttribute('required')")
    resident.press("form[action='/appeal'] button", "form-missing")
    seen["missing"] = resident.text("#why")
    seen["kept_name"] = page.input_value("#resident_name")
    page.fill("#description", "楼道灯坏了，晚上看不见路")
    resident.press("form[action='/appeal'] button", "done")
    seen["done"] = resident.text("main")
    seen["reference"] = resident.text("#reference")
    resident.page.screenshot(path=str(shots / "appeal-done.png"), full_page=True)


def reply(resident: Resident, seen: dict, shots: Path) -> None:
    path = resident.setup["link"]
    resident.go(path, "reply")
    seen["reply_title"] = resident.text("h1")
    resident.page.check("input[name=satisfaction][value='4']")
    resident.page.fill("#reply", "师傅很耐心")
    resident.press("form button", "thanks")
    seen["thanks"] = resident.text("main")
    resident.page.screenshot(path=str(shots / "appeal-thanks.png"), full_page=True)
    resident.go(path, "reply-again")
    resident.page.check("input[name=satisfaction][value='1']")
    resident.press("form button", "used")
    seen["used"] = resident.text("main")


def main(setup: dict) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = launch(p)
        resident = Resident(browser, setup, seen)
        (send if setup["step"] == "send" else reply)(resident, seen, Path(setup["screenshots"]))
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(read_setup(sys.argv[1])))
