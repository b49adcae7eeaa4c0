"""Drives the lecture hall's door list in headless Chromium on a phone-sized screen and prints what it saw as JSON.

Run as its own process (see drive_common.py). Usage: drive_lecture.py BASE_URL USERNAME PASSWORD SCREENSHOT OCCURRENCE_ID
"""

from __future__ import annotations

import sys

from drive_common import launch, log_in, report
from playwright.sync_api import sync_playwright


def main(base: str, username: str, password: str, screenshot: str, occurrence_id: str) -> dict:
    seen: dict = {}
    door = f"{base}/lectures/{occurrence_id}"
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True)
        page.on("dialog", lambda dialog: dialog.accept())
        log_in(page, base, f"/lectures/{occurrence_id}", username, password)
        seen["title"] = page.locator("h1").inner_text()
        seen["rows"] = page.locator("#door li").count()
        seen["waiting"] = page.locator("#door li.waitlisted").count()
        button = page.locator("#door li.registered button.big").first
        box = button.bounding_box()
        seen["button_size"] = [box["width"], box["height"]]

        # at the door: find a resident by the last four digits of their phone, tap "check in"
        page.fill("input[name=q]", "2222")
        page.click(".door-search button")
        page.wait_for_url(door + "?q=2222")
        seen["found"] = page.locator("#door .name").all_inner_texts()
        page.locator("#door li button.big").click()
        page.wait_for_selector(".notice.ok")
        seen["notice"] = page.locator(".notice.ok").inner_text()
        seen["checked_in"] = page.locator("#checked-in-count").inner_text()
        seen["row_in"] = page.locator("#door li.in .name").all_inner_texts()
        page.screenshot(path=screenshot, full_page=True)

        # the printed sheet
        page.goto(door + "/print")
        seen["sheet_rows"] = page.locator("#sheet tbody tr").count()
        seen["sheet_ticked"] = page.locator("#sheet td.box", has_text="✔").count()
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(*sys.argv[1:6]))
