"""Drives the two-way service list page in headless Chromium on a 360 px phone and prints what it saw
as JSON: the organiser reads the partners by alliance and the matches, agrees one and turns it into
an activity through the form. axe-core (WCAG 2.1 A and AA) checks the page.

Run as its own process (Playwright's event loop does not live with eventlet's monkey-patching).
Usage: drive_partners.py SETUP.json, where SETUP holds base, username, password, axe, screenshots,
match (the id of the match to turn) and start, end (YYYY-MM-DDTHH:MM).
"""

from __future__ import annotations

import os
import sys

from drive_common import axe, launch, log_in, phone_context, read_setup, report
from playwright.sync_api import sync_playwright


def main(setup: dict) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = launch(p)
        page = phone_context(browser).new_page()
        base, match = setup["base"], setup["match"]
        log_in(page, base, "/partners", setup["username"], setup["password"])
        seen["nav"] = page.locator("header nav").inner_text()
        seen["alliances"] = page.locator("section.alliance h2").all_inner_texts()
        seen["width"] = page.evaluate("document.documentElement.scrollWidth")
        seen["axe"] = axe(page, setup)
        page.screenshot(path=os.path.join(setup["screenshots"], "organiser-partners.png"), full_page=True)
        card = page.locator(f"#match-{match}")
        card.locator("form[action$='/agree'] button").click()
        page.wait_for_selector("#notice")
        seen["agreed"] = page.locator("#notice").inner_text()
        card = page.locator(f"#match-{match}")
        card.locator("input[name=title]").fill("党建联建 健康讲座")
        card.locator("select[name=kind]").select_option("lecture")
        card.locator("input[name=start]").fill(setup["start"])
        card.locator("input[name=end]").fill(setup["end"])
        card.locator("input[name=place]").fill("多功能厅")
        card.locator("input[name=capacity]").fill("60")
        card.locator("form.turn button[type=submit]").click()
        page.wait_for_selector("#notice")
        seen["turned"] = page.locator("#notice").inner_text()
        seen["match_after"] = page.locator(f"#match-{match}").inner_text()
        seen["width_after"] = page.evaluate("document.documentElement.scrollWidth")
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(read_setup(sys.argv[1])))
