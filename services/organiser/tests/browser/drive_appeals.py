"""Drives the appeals pages in headless Chromium and prints what it saw as JSON: the community office
takes an appeal in on the organiser page; the grid member it is routed to accepts and closes it on
their phone (360 px); the organiser reads the closed appeal. axe-core (WCAG 2.1 A and AA) checks the
intake form, the appeal and the phone's list when the test gives it (``axe`` in the setup).

Run as its own process (Playwright's event loop does not live with eventlet's monkey-patching).
Usage: drive_appeals.py SETUP.json, where SETUP holds base, username, password, axe (or null),
screenshots and link (the grid member's sign-in link).
"""

from __future__ import annotations

import os
import sys

from drive_common import DESKTOP, axe, launch, log_in, phone_context, read_setup, report
from playwright.sync_api import sync_playwright


def checked(page, setup: dict) -> list:
    return axe(page, setup) if setup.get("axe") else []


def intake(browser, setup: dict, seen: dict) -> str:
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN", bypass_csp=True)
    base = setup["base"]
    log_in(page, base, "/appeals", setup["username"], setup["password"])
    seen["nav"] = page.locator("header nav").inner_text()
    page.click("#new-appeal")
    page.select_option("select[name=category]", "repair")
    page.select_option("select[name=grid_id]", "6")
    page.select_option("select[name=urgency]", "urgent")
    page.select_option("select[name=courtyard]", "C01")
    page.fill("input[name=building]", "3号楼")
    page.fill("textarea[name=description]", "楼道水管漏水，滴到一楼")
    page.fill("input[name=resident_name]", "李桂兰")
    page.fill("input[name=resident_phone]", "13911112222")
    page.fill("input[name=resident_address]", "观音里1号院3号楼302")
    seen["axe_form"] = checked(page, setup)
    page.click("#appeal-form button[type=submit]")
    page.wait_for_selector("#notice")
    seen["received"] = page.locator("#notice").inner_text()
    seen["handler"] = page.locator("#handler").inner_text()
    seen["private"] = page.locator("#private").inner_text()
    seen["axe_appeal"] = checked(page, setup)
    page.screenshot(path=os.path.join(setup["screenshots"], "organiser-appeal.png"), full_page=True)
    return page.url.split("?")[0]


def handler(browser, setup: dict, seen: dict) -> None:
    page = phone_context(browser).new_page()
    page.goto(setup["link"])
    page.click("button[type=submit]")
    page.wait_for_url(setup["base"] + "/v")
    page.click("#my-appeals")
    page.wait_for_url(setup["base"] + "/v/appeals")
    article = page.locator("article.appeal").first
    seen["phone_appeal"] = article.inner_text()
    seen["phone_tel"] = article.locator("a[href^='tel:']").get_attribute("href")
    page.screenshot(path=os.path.join(setup["screenshots"], "phone-appeal.png"))  # the viewport: a full page
    # screenshot resizes it, and a click after one sent no form here
    article.get_by_role("button", name="接单").click()
    page.wait_for_url("**/v/appeals?done=appeal_accepted")
    seen["phone_accepted"] = page.locator("#notice").inner_text()
    seen["axe_phone"] = checked(page, setup)
    article = page.locator("article.appeal").first
    article.locator("summary", has_text="办结").click()
    close = article.locator("form[action$='/close']")
    close.locator("textarea[name=outcome]").fill("更换了水管")
    close.locator("input[name=resident_reply]").fill("谢谢")
    close.locator("select[name=satisfaction]").select_option("5")
    close.locator("input[name=hours]").fill("2")
    seen["close_button_height"] = close.locator("button[type=submit]").bounding_box()["height"]
    seen["phone_width"] = page.evaluate("document.documentElement.scrollWidth")
    close.locator("button[type=submit]").click()
    page.wait_for_url("**/v/appeals?done=appeal_closed")
    seen["phone_closed"] = page.locator("#notice").inner_text()
    seen["phone_left"] = page.locator("article.appeal").count()
    page.click("#take-in")
    page.wait_for_url(setup["base"] + "/v/appeals/new")
    seen["phone_form_width"] = page.evaluate("document.documentElement.scrollWidth")
    seen["phone_form_courtyards"] = page.locator("select[name=courtyard] option").all_inner_texts()
    seen["axe_phone_form"] = checked(page, setup)
    page.screenshot(path=os.path.join(setup["screenshots"], "phone-appeal-form.png"), full_page=True)


def main(setup: dict) -> dict:
    seen: dict = {}
    with sync_playwright() as p:
        browser = launch(p)
        appeal_url = intake(browser, setup, seen)
        handler(browser, setup, seen)
        page = browser.new_page(locale="zh-CN")
        log_in(page, setup["base"], "/appeals", setup["username"], setup["password"])
        page.goto(appeal_url)
        seen["after"] = page.locator("h1").inner_text() + "\n" + page.locator("#private").inner_text()
        seen["trail"] = page.locator("#trail").inner_text()
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(read_setup(sys.argv[1])))
