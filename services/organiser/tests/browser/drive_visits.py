"""Drives the elderly-visit pages in headless Chromium and prints what it saw as JSON: the organiser
adds a person, plans, reads the register and a person's visits; a visitor writes the note on their
phone. axe-core (WCAG 2.1 A and AA) checks the register, the person page and the phone page (the
pages' Content-Security-Policy bypassed so that it can be injected).

Run as its own process (Playwright's event loop does not live with eventlet's monkey-patching).
Usage: drive_visits.py SETUP.json, where SETUP holds base, username, password, axe, screenshots and
links (each volunteer's name -> their sign-in link).
"""

from __future__ import annotations

import os
import sys

from drive_common import DESKTOP, axe, launch, log_in, phone_context, read_setup, report
from playwright.sync_api import sync_playwright


def organiser(browser, setup: dict, seen: dict) -> str:
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN", bypass_csp=True)
    base = setup["base"]
    log_in(page, base, "/visits", setup["username"], setup["password"])
    seen["nav"] = page.locator("header nav").inner_text()
    page.click("#add-person")
    page.fill("input[name=name]", "孙奶奶")
    page.select_option("select[name=category]", "elder_alone")
    page.select_option("select[name=frequency_days]", "7")
    page.select_option("select[name=grid_id]", "8")
    page.fill("input[name=courtyard]", "观音里3号院")
    page.fill("input[name=address]", "观音里3号院 5幢2单元301")
    page.fill("textarea[name=health_notes]", "高血压，需提前电话告知")
    page.fill("input[name=consent_by]", "本人")
    page.click("#person-form button[type=submit]")
    page.wait_for_selector("#notice")
    seen["added"] = page.locator("#notice").inner_text()
    seen["private_shown"] = page.locator("#private").inner_text()
    person_url = page.url.split("?")[0]
    page.goto(base + "/visits")
    page.fill("#plan input[name=days]", "14")
    page.click("#plan button[type=submit]")
    page.wait_for_selector("#notice")
    seen["planned"] = page.locator("#notice").inner_text()
    seen["overdue_rows"] = page.locator("#register tr.overdue td:first-child").all_inner_texts()
    seen["register"] = page.locator("#register").inner_text()
    seen["axe_register"] = axe(page, setup)
    page.screenshot(path=os.path.join(setup["screenshots"], "organiser-visits.png"), full_page=True)
    page.goto(person_url)
    seen["history_rows"] = page.locator("#history tbody tr").count()
    visitors = page.locator("#history tbody tr:last-child td:nth-child(2)").inner_text()
    seen["first_visitors"] = visitors
    seen["axe_person"] = axe(page, setup)
    seen["person_url"] = person_url
    return visitors.split("、")[0]


def visitor(browser, setup: dict, seen: dict, name: str) -> None:
    page = phone_context(browser).new_page()
    page.goto(setup["links"][name])
    page.click("button[type=submit]")
    page.wait_for_url(setup["base"] + "/v")
    page.click("a[href='/v/visits']")
    page.wait_for_url(setup["base"] + "/v/visits")
    article = page.locator("article.duty").first
    seen["phone_visit"] = article.inner_text()
    article.locator("textarea[name=note]").fill("精神很好，提醒按时吃药")
    article.locator("input[name=done]").check()
    article.locator("button[type=submit]").click()
    page.wait_for_selector("#notice")
    seen["phone_notice"] = page.locator("#notice").inner_text()
    seen["phone_done"] = page.locator("article.duty").first.locator(".note.good").count()
    seen["phone_width"] = page.evaluate("document.documentElement.scrollWidth")
    seen["axe_phone"] = axe(page, setup)
    page.screenshot(path=os.path.join(setup["screenshots"], "phone-visits.png"), full_page=True)


def main(setup: dict) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = launch(p)
        name = organiser(browser, setup, seen)
        visitor(browser, setup, seen, name)
        page = browser.new_page(locale="zh-CN")
        log_in(page, setup["base"], "/visits", setup["username"], setup["password"])
        page.goto(seen["person_url"])
        seen["history_after"] = page.locator("#history").inner_text()
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(read_setup(sys.argv[1])))
