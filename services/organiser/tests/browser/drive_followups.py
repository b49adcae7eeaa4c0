"""Drives the grid leader's, the organiser's and the visitor's follow-up pages in headless Chromium and
prints what it saw as JSON: a grid leader reads /visits and /cleanups from their phone session; the
organiser cancels a missed visit on /visits; a visitor takes back "made" on their phone. axe-core
(WCAG 2.1 A and AA) checks the pages (their Content-Security-Policy bypassed to inject it).

Run as its own process (Playwright's event loop does not live with eventlet's monkey-patching).
Usage: drive_followups.py SETUP.json, where SETUP holds base, username, password, axe, screenshots,
leader (the grid leader's sign-in link), visitor (a visitor's sign-in link) and missed (an occurrence id).
"""

from __future__ import annotations

import os
import sys

from drive_common import DESKTOP, axe, launch, log_in, phone_context, read_setup, report
from playwright.sync_api import sync_playwright


def phone(browser, link: str, base: str):
    page = phone_context(browser).new_page()
    page.goto(link)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/v")
    return page


def leader(browser, setup: dict, seen: dict) -> None:
    base = setup["base"]
    page = phone(browser, setup["leader"], base)
    page.goto(base + "/visits")
    seen["leader_visits"] = page.locator("main").inner_text()
    seen["leader_forms"] = page.locator("main form").count()
    seen["axe_leader_visits"] = axe(page, setup)
    page.screenshot(path=os.path.join(setup["screenshots"], "leader-visits.png"), full_page=True)
    page.goto(base + "/cleanups")
    seen["leader_cleanups_status"] = page.locator("h1").count()
    seen["leader_cleanups_forms"] = page.locator("main form").count()


def organiser(browser, setup: dict, seen: dict) -> None:
    base = setup["base"]
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN", bypass_csp=True)
    log_in(page, base, "/visits", setup["username"], setup["password"])
    row = page.locator(f"#missed-{setup['missed']}")
    seen["missed_row"] = row.inner_text()
    seen["axe_missed"] = axe(page, setup)
    row.locator("button[type=submit]").click()
    page.wait_for_selector("#notice")
    seen["missed_notice"] = page.locator("#notice").inner_text()
    seen["missed_left"] = page.locator(f"#missed-{setup['missed']}").count()


def visitor(browser, setup: dict, seen: dict) -> None:
    base = setup["base"]
    page = phone(browser, setup["visitor"], base)
    page.goto(base + "/v/visits")
    article = page.locator("article.duty").first
    article.locator("input[name=done]").check()
    article.locator("form.visit-note button[type=submit]").click()
    page.wait_for_selector("#notice")
    page.locator("article.duty").first.locator("form.visit-reopen button").click()
    page.wait_for_selector("#notice")
    seen["reopen_notice"] = page.locator("#notice").inner_text()
    seen["done_after"] = page.locator("article.duty").first.locator(".note.good").count()
    seen["axe_phone"] = axe(page, setup)


def main(setup: dict) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = launch(p)
        leader(browser, setup, seen)
        organiser(browser, setup, seen)
        visitor(browser, setup, seen)
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(read_setup(sys.argv[1])))
