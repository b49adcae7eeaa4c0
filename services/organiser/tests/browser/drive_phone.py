"""Drives the volunteers' phone page in headless Chromium at a phone's size, two volunteers in two
browser contexts, and prints what it saw as JSON; every page it opens is checked with axe-core
(WCAG 2.1 A and AA).

Run as its own process (Playwright's event loop does not live with eventlet's monkey-patching).
Usage: drive_phone.py SETUP.json, where SETUP holds base, sms_log, axe, screenshots, a and b (the
two volunteers' numbers) and patrol_days.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from drive_common import PHONE, WCAG, launch, phone_context, read_setup, report
from playwright.sync_api import sync_playwright


class Volunteer:
    """One volunteer's phone: a browser context of its own."""

    def __init__(self, browser, setup: dict, phone: str, seen: dict):
        self.setup, self.phone, self.seen = setup, phone, seen
        self.page = phone_context(browser).new_page()

    def go(self, path: str) -> None:
        self.page.goto(self.setup["base"] + path)
        self.check()

    def check(self) -> None:
        """axe-core on the page as it is now; violations kept by page."""
        page = self.page
        path = "/" + re.sub(r"\d+", "N", page.url.split("//", 1)[1].split("/", 1)[1])
        weight = page.evaluate("() => new XMLSerializer().serializeToString(document).length")
        self.seen.setdefault("weights", {})[path] = weight  # the page as served (axe not yet in it)
        page.add_script_tag(path=self.setup["axe"])
        result = page.evaluate(
            "opts => axe.run(document, opts).then(r => r.violations.map(v => "
            "({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))})))",
            {"runOnly": {"type": "tag", "values": WCAG}},
        )
        self.seen.setdefault("axe", {})[path] = result
        width = page.evaluate("document.documentElement.scrollWidth")
        self.seen.setdefault("too_wide", {})
        if width > PHONE["width"]:
            self.seen["too_wide"][path] = width

    def press(self, selector: str) -> None:
        self.page.click(selector)
        self.page.wait_for_load_state()
        self.check()

    def text(self, selector: str = "main") -> str:
        return self.page.locator(selector).inner_text()

    def sign_in(self) -> str:
        self.go("/v")
        self.page.fill("#phone", self.phone)
        self.press("form[action='/v/code'] button")
        code = None
        for _ in range(100):
            lines = Path(self.setup["sms_log"]).read_text(encoding="utf-8").splitlines()
            mine = [json.loads(x) for x in lines if x.strip() and json.loads(x)["phone"].endswith(self.phone)]
            if mine:
                code = re.search(r"\b(\d{6})\b", mine[-1]["text"]).group(1)
                break
            time.sleep(0.1)
        wrong = "000000" if code != "000000" else "111111"
        self.page.fill("#code", wrong)
        self.press("form[action='/v/verify'] button")
        refused = self.text("#why")
        self.page.fill("#code", code)
        self.press("form[action='/v/verify'] button")
        self.page.wait_for_url(self.setup["base"] + "/v")
        return refused

    def duty(self, title: str):
        return self.page.locator("article.duty", has_text=title)

    def open_duty(self, title: str):
        """The open duty of that title, a week of the open duties at a time."""
        for week in range(4):
            self.go(f"/v/open?week={week}")
            found = self.duty(title)
            if found.count():
                return found
        raise AssertionError(f"{title} is not among the open duties")


def main(setup: dict) -> dict:
    seen: dict = {}
    shots = Path(setup["screenshots"])
    with sync_playwright() as p:
        browser = launch(p)
        a = Volunteer(browser, setup, setup["a"], seen)
        b = Volunteer(browser, setup, setup["b"], seen)

        seen["wrong_code"] = a.sign_in()
        seen["a_home"] = a.text("h1")
        a.page.screenshot(path=str(shots / "phone-home.png"), full_page=True)
        b.sign_in()

        # sign up, the waitlist and its promotion
        a.open_duty("便民服务站值班").locator("button").click()
        a.page.wait_for_load_state()
        a.check()
        seen["a_signed_up"] = a.text("h1")
        offer = b.open_duty("便民服务站值班")
        seen["b_sees_full"] = offer.locator(".note").inner_text()
        offer.locator("button").click()
        b.page.wait_for_load_state()
        b.check()
        seen["b_waitlisted"] = b.text("main")
        a.go("/v")
        a.duty("便民服务站值班").locator("form[action$='/cancel'] button").click()
        a.page.wait_for_load_state()
        seen["a_cancelled"] = a.text("#notice")
        b.go("/v")
        seen["b_promoted"] = b.duty("便民服务站值班").inner_text()

        # cancelling after the deadline, then "I can't come" and a stand-in
        a.go("/v")
        late = a.duty("楼道清理")
        seen["cancel_hidden"] = late.locator("form[action$='/cancel']").count() == 0
        seen["cancel_closed_hint"] = late.locator(".hint").inner_text()
        # the cancel button of a page opened before the deadline, pressed after it
        signup = late.get_attribute("id").split("-")[1]
        csrf = a.page.locator("input[name=csrf]").first.get_attribute("value")
        with a.page.expect_navigation():
            a.page.evaluate(
                """([path, csrf]) => { const f = document.createElement('form'); f.method = 'post'; f.action = path;
            const i = document.createElement('input'); i.type = 'hidden'; i.name = 'csrf'; i.value = csrf;
            f.appendChild(i); document.body.appendChild(f); f.submit(); }""",
                [f"/v/duties/{signup}/cancel", csrf],
            )
        a.page.wait_for_load_state()
        a.check()
        seen["too_late"] = a.text("main")
        a.go("/v")
        a.duty("楼道清理").locator("form[action$='/cant-come'] button").click()
        a.page.wait_for_load_state()
        seen["offered"] = a.text("#notice")
        b.go("/v/standins")
        b.page.locator("article.duty", has_text="楼道清理").locator("button").click()
        b.page.wait_for_load_state()
        seen["b_took"] = b.text("#notice")
        b.go("/v")
        seen["b_has_standin"] = b.duty("楼道清理").count()
        a.go("/v")
        seen["a_has_standin"] = a.duty("楼道清理").count()

        # a swap of rostered patrols: proposed by A, accepted by B
        a.go("/v")
        a.page.locator("article.duty", has_text="巡逻").first.locator("a.button").click()
        a.page.wait_for_load_state()
        a.check()
        seen["swap_options"] = a.page.locator("article.duty").count()
        a.page.locator("article.duty").first.locator("button").click()
        a.page.wait_for_load_state()
        seen["swap_asked"] = a.text("#notice")
        b.go("/v/swaps")
        seen["b_asked"] = b.text("article.duty h3")
        b.page.locator("form[action$='/accept'] button").click()
        b.page.wait_for_load_state()
        seen["swap_done"] = b.text("#notice")

        # time off: B's sign-up that day is cancelled (A moves up from the waitlist), B's patrol is offered
        b.go("/v/availability")
        day = setup["patrol_days"][0]
        b.page.fill("#from", day)
        b.page.fill("#to", setup["patrol_days"][-1])
        b.page.fill("#note", "回老家")
        b.press("form[action='/v/availability/off'] button")
        seen["time_off"] = b.text("main")
        for _ in range(50):  # activities hears availability_changed and acts on it
            a.go("/v")
            if a.duty("社区议事会接待").count() and "候补" not in a.duty("社区议事会接待").inner_text():
                break
            time.sleep(0.2)
        seen["a_promoted_by_time_off"] = a.duty("社区议事会接待").inner_text()
        for _ in range(50):
            a.go("/v/standins")
            if a.page.locator("article.duty", has_text="巡逻").count():
                break
            time.sleep(0.2)
        seen["patrol_offered"] = a.page.locator("article.duty", has_text="巡逻").count()

        # preferences, points, a new calendar link
        a.go("/v/settings")
        a.page.uncheck("input[name=channel_email]")
        a.page.check("input[name=channel_sms]")
        a.page.check("input[name=quiet]")
        a.page.fill("#quiet_start", "21:00")
        a.press("form[action='/v/settings'] button")
        seen["settings_saved"] = a.text("#notice")
        a.go("/v/points")
        seen["points"] = a.text("#points")
        seen["ranks"] = a.text("main")
        a.go("/v/calendar")
        a.press("form[action='/v/calendar/new'] button")
        first = a.page.locator("#webcal").get_attribute("href")
        a.press("form[action='/v/calendar/new'] button")
        seen["calendar_notice"] = a.text("#notice")
        seen["calendar_changed"] = first != a.page.locator("#webcal").get_attribute("href")
        seen["calendar_link"] = (a.page.locator("#webcal").get_attribute("href") or "").startswith("webcal://")

        # English, and signing out
        a.go("/v/lang/en")
        seen["english"] = a.text("h1")
        a.page.screenshot(path=str(shots / "phone-home-en.png"), full_page=True)
        a.press("form[action='/v/logout'] button")
        seen["signed_out_at"] = a.page.url.replace(setup["base"], "")
        browser.close()
    return seen


if __name__ == "__main__":
    report(main(read_setup(sys.argv[1])))
