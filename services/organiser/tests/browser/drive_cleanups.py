"""Drives the clean-up rotation page in headless Chromium and prints what it saw as JSON.

Run as its own process (Playwright's event loop does not live with eventlet). Usage:
drive_cleanups.py BASE_URL USERNAME PASSWORD SCREENSHOT START (a day of the first week, YYYY-MM-DD)
"""

from __future__ import annotations

import sys

from drive_common import DESKTOP, launch, log_in, report
from playwright.sync_api import sync_playwright


def main(base: str, username: str, password: str, screenshot: str, start: str) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
        log_in(page, base, "/cleanups", username, password)
        seen["title"] = page.locator("h1").inner_text()
        seen["empty"] = page.locator("[data-empty]").count()
        seen["own_rota"] = page.locator("[data-own-rota] li").all_inner_texts()

        form = page.locator("form[action='/cleanups/plan']")
        form.locator("input[name=start]").fill(start)
        form.locator("select[name=weeks]").select_option("2")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-planned]")
        seen["notice"] = page.locator("[data-planned]").inner_text()
        rotation = page.locator("[data-rotation]")
        seen["places"] = rotation.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.place)")
        seen["weeks"] = rotation.locator("thead th").count() - 1
        seen["rotation_text"] = rotation.inner_text()
        seen["spread"] = page.locator("[data-spread]").inner_text()
        seen["counts"] = page.locator("[data-counts] tbody tr").count()
        page.screenshot(path=screenshot, full_page=True)

        page.click("a.lang")
        page.wait_for_selector("text=Clean-up rotation")
        seen["title_en"] = page.locator("h1").inner_text()
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(*sys.argv[1:6]))
