"""Drives the calendar in headless Chromium, calendar -> occurrence -> move -> attendance, and prints
what it saw as JSON.

Run as its own process (Playwright's event loop does not live with eventlet). Usage: drive_calendar.py
BASE_URL USERNAME PASSWORD SCREENSHOT DAY OCCURRENCE_ID NEW_TIME (the occurrence's day, YYYY-MM-DD; HH:MM)
"""

from __future__ import annotations

import sys

from drive_common import DESKTOP, launch, log_in, report
from playwright.sync_api import sync_playwright


def main(base: str, username: str, password: str, screenshot: str, day: str, occurrence: str, new_time: str) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
        dialogs: list[str] = []

        def accept(dialog):
            dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        log_in(page, base, "/login?next=/calendar", username, password, lands_on="/calendar")
        seen["nav"] = page.locator("header nav").inner_text()
        page.click("#view-month")
        page.wait_for_selector("table.calendar.month")
        seen["month_days"] = page.locator("table.calendar td.day").count()
        page.click("#view-week")
        page.wait_for_selector("table.calendar.week")
        seen["week_days"] = page.locator("table.calendar td.day").count()
        page.screenshot(path=screenshot.replace("-phone-", "-week-"), full_page=True)
        cell = page.locator(f"td.day[data-day='{day}']")
        seen["cell"] = cell.inner_text()

        cell.locator(f"a[href='/occurrences/{occurrence}']").click()
        page.wait_for_url(f"{base}/occurrences/{occurrence}")
        seen["holders"] = page.locator("#holders").inner_text()
        page.fill("#move input[name=at]", new_time)
        page.fill("#move input[name=reason]", "场地临时调整")
        page.click("#move button[type=submit]")
        page.wait_for_selector(".notice.ok")
        seen["moved_notice"] = page.locator(".notice.ok").inner_text()
        seen["heading"] = page.locator("h1").inner_text()

        page.click("#to-attendance")
        page.wait_for_selector("#sheet")
        page.emulate_media(media="print")
        seen["print_signature_visible"] = page.locator("th.print-only").is_visible()
        seen["print_nav_hidden"] = not page.locator("header.top").is_visible()
        seen["print_marks_hidden"] = not page.locator("form.marks").first.is_visible()
        page.emulate_media(media="screen")
        seen["screen_signature_hidden"] = not page.locator("th.print-only").is_visible()

        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
        phone.context.add_cookies(page.context.cookies())
        phone.goto(page.url)
        button = phone.locator("form.marks button[value=attended]").first
        box = button.bounding_box()
        seen["phone_button"] = {"width": box["width"], "height": box["height"], "right": box["x"] + box["width"]}
        phone.fill("form.marks input[name=hours]", "1.5")
        button.click()
        phone.wait_for_selector(".notice.ok")
        seen["marked_notice"] = phone.locator(".notice.ok").inner_text()
        seen["sheet"] = phone.locator("#sheet").inner_text()
        phone.screenshot(path=screenshot, full_page=True)
        seen["dialogs"] = dialogs
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(*sys.argv[1:8]))
