"""Drives the weekend school's page in headless Chromium and prints what it saw as JSON.

Run as its own process (Playwright's event loop does not live with eventlet's monkey-patching).
Usage: drive_school.py BASE_URL USERNAME PASSWORD SCREENSHOT START (the first day shown, YYYY-MM-DD)
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
        log_in(page, base, "/login", username, password, lands_on="/roster")
        page.click("nav a[href='/school']")
        page.wait_for_selector("#register")
        page.goto(f"{base}/school?start={start}&weeks=2")

        form = page.locator("#pupil-form")
        form.locator("input[name=name]").fill("小明")
        form.locator("input[name=grade]").fill("3")
        form.locator("input[name=subject][value=math]").check()
        form.locator("input[name=guardian_name]").fill("王建军")
        form.locator("input[name=guardian_phone]").fill("15800001234")
        form.locator("button[type=submit]").click()
        page.wait_for_selector(".notice.ok")
        seen["registered"] = page.locator(".notice.ok").inner_text()
        seen["register_text"] = page.locator("#register").inner_text()

        page.click("#assign")
        page.wait_for_selector("#assignment")
        seen["assigned"] = page.locator(".notice.ok").inner_text()
        rows = page.locator("#assignment tbody tr")
        seen["rows"] = rows.count()
        last = rows.nth(rows.count() - 1)
        seen["tutor_before"] = last.locator("td.tutor").inner_text()
        assignment = last.get_attribute("data-assignment")
        options = last.locator("select[name=tutor_id] option")
        names = [options.nth(i).inner_text() for i in range(options.count())]
        other = next(n for n in names if n not in seen["tutor_before"])
        last.locator("select[name=tutor_id]").select_option(label=other)
        last.locator("form.change button").click()
        page.wait_for_selector(".notice.ok")
        seen["changed"] = page.locator(".notice.ok").inner_text()
        changed = page.locator(f"#assignment tr[data-assignment='{assignment}'] td.tutor").inner_text()
        seen["tutor_after"], seen["other"] = changed, other

        page.click("#assign")
        page.wait_for_selector(".notice.ok")
        seen["tutor_after_reassign"] = page.locator(
            f"#assignment tr[data-assignment='{assignment}'] td.tutor"
        ).inner_text()
        seen["lacking"] = page.locator("#lacking").inner_text()
        page.screenshot(path=screenshot, full_page=True)
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(*sys.argv[1:6]))
