"""Drives the organiser page in headless Chromium and prints what it saw as JSON.

Run as its own process: Playwright's event loop does not live with the eventlet monkey-patching
of the test process. Usage: drive_board.py BASE_URL USERNAME PASSWORD SCREENSHOT START (the roster's first day, YYYY-MM-DD)
"""

from __future__ import annotations

import sys

from drive_common import DESKTOP, launch, report, submit_login
from playwright.sync_api import sync_playwright


def main(base: str, username: str, password: str, screenshot: str, start: str) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
        dialogs: list[str] = []

        def accept(dialog):
            dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        page.goto(base + "/roster")
        seen["redirected_to_login"] = page.url.startswith(base + "/login")
        submit_login(page, username, password)
        page.wait_for_url(base + "/roster")
        seen["cookies"] = [
            {k: c[k] for k in ("name", "httpOnly", "secure", "sameSite")} for c in page.context.cookies()
        ]
        seen["index_title"] = page.locator("h1").inner_text()

        page.fill("input[name=start]", start)
        page.fill("input[name=days]", "14")
        page.fill("input[name=time_limit]", "3")
        for grid in ("6", "7", "8"):
            page.check(f"input[name=grid][value='{grid}']")
        page.click("form[action='/roster/build'] button[type=submit]")
        page.wait_for_selector("#board", timeout=60_000)
        board = page.locator("#board")
        seen["rows"] = board.locator("tbody tr").count()
        seen["days"] = board.locator("thead th.day").count()
        seen["shifts"] = {s: board.locator(f".shift.{s}").count() for s in ("covered", "short", "empty")}
        seen["board_text"] = board.inner_text()
        seen["chart_bars"] = page.locator("#fairness svg.chart rect").count()
        seen["status_before"] = page.locator(".badge").inner_text()

        page.click("#publish")
        page.wait_for_selector(".notice.ok")
        seen["dialogs"] = dialogs
        seen["notice"] = page.locator(".notice.ok").inner_text()
        seen["status_after"] = page.locator(".badge").inner_text()
        seen["publish_button_left"] = page.locator("#publish").count()
        page.screenshot(path=screenshot, full_page=True)

        page.click("a.lang")
        page.wait_for_selector("text=Patrol roster")
        seen["status_en"] = page.locator(".badge").inner_text()
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(*sys.argv[1:6]))
