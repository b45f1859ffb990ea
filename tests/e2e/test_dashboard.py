"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against the running fleet:
a small campaign dialed to the end, a poison task failed in the worker, then what an operator sees
after signing in, and the requeue button. Saves the screenshot the README shows (docs/dashboard.png)."""

import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.conftest import API_TOKEN
from tests.e2e.browser import chromium, chromium_path
from tests.e2e.contacts import ANSWERED, BUSY, DECLINED, NO_ANSWER, UNALLOCATED, all_in, contacts
from tests.e2e.fleet import ROOT, wait_until
from workers.sending import broker_sender

# The README's picture is refreshed on purpose (DIALER_UPDATE_SCREENSHOT=1 make test); an ordinary run
# writes its screenshot beside the test's other files and leaves the checkout as it was.
README_SCREENSHOT = ROOT / "docs" / "dashboard.png"
OUTCOMES = (ANSWERED, ANSWERED, BUSY, NO_ANSWER, ANSWERED, DECLINED, UNALLOCATED)
WAIT_MS = 10_000  # the page refreshes every 5 s


def scheduled(campaign_id, count):
    """Contacts whose calling time starts in two hours: pending on the dashboard, never dialed here."""
    later = datetime.now(UTC) + timedelta(hours=2)
    return contacts(campaign_id, count, start_time=later.isoformat(), end_time=(later + timedelta(hours=1)).isoformat())


def dispositions(engine):
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT disposition, count(*) FROM call_attempts GROUP BY 1")).all())


def failed_task_ids(engine):
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id FROM failed_tasks WHERE status = 'failed' ORDER BY id"))
        return rows.scalars().all()


@pytest.mark.timeout(90)  # with the fleet's start and stop; the test's own waits are bounded to ~60 s
def test_an_operator_signs_in_and_sees_the_campaign_calls_results_and_failed_tasks(fleet, engine, redis_url, tmp_path):
    chromium_path()  # no browser: fail at once, saying how to install one
    spring = contacts("spring", 14, OUTCOMES)
    fleet.post_contacts(spring + scheduled("evening", 6))
    with broker_sender(redis_url) as send:  # a poison message: a switch the worker does not know
        send("dialer.originate", args=["no-such-switch", ["nobody"]], kwargs={}, task_id="e2e-poison")
    wait_until(lambda: all_in(engine, [c["id"] for c in spring], "ended"), timeout=30, message="spring to end")
    wait_until(lambda: failed_task_ids(engine), timeout=10, message="the poison task to be kept")
    results = dispositions(engine)
    assert sum(results.values()) == 14 and results["ANSWERED"] == Counter(OUTCOMES)[ANSWERED] * 2

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT_MS)
        problems = []  # script errors, and what the page's Content-Security-Policy refused
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: message.type == "error" and "status of 401" not in message.text
                and problems.append(message.text))  # 401: the wrong token's sign-in page
        page.goto(fleet.url + "/dashboard")
        expect(page).to_have_url(fleet.url + "/dashboard/sign-in")
        page.fill("#token", "not the token")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_contain_text("neither the read token nor the API token")
        page.fill("#token", API_TOKEN)
        page.click("button[type=submit]")
        expect(page).to_have_url(fleet.url + "/dashboard")
        [cookie] = page.context.cookies()
        assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == ("dialer_session", True, "Strict")

        campaign = page.locator('[data-campaign="spring"]')
        expect(campaign.locator(".progress")).to_have_text("14 / 14 done")
        expect(campaign.locator('[data-status="ended"]')).to_have_attribute("data-count", "14")
        expect(page.locator('[data-campaign="evening"] [data-status="pending"]')).to_have_attribute("data-count", "6")
        expect(page.locator("#calls-total")).to_have_text("14")
        expect(page.locator('#switch-list [data-switch="sim"]')).to_have_attribute("data-capacity", "10")
        chart = page.locator("#dispositions-chart svg")
        expect(chart.locator("[data-disposition]")).to_have_count(len(results))
        for disposition, count in results.items():
            expect(chart.locator(f'[data-disposition="{disposition}"]')).to_have_attribute("data-count", str(count))
        expect(page.locator("#answer-rate")).to_have_text(f"{100 * results['ANSWERED'] / 14:.1f} %")
        for check in ("database", "broker", "voice connector", "switch sim"):
            expect(page.locator(f'#health-list [data-check="{check}"] .state')).to_have_text("ok")
        [poison] = failed_task_ids(engine)
        failed = page.locator(f'[data-failed-task="{poison}"]')
        expect(failed).to_contain_text("dialer.originate")
        expect(failed).to_contain_text("KeyError")
        expect(page.locator("#failed-count")).to_have_text("1")
        screenshot = README_SCREENSHOT if os.environ.get("DIALER_UPDATE_SCREENSHOT") else tmp_path / "dashboard.png"
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.stat().st_size > 10_000  # a picture of the page, not an empty one

        failed.get_by_role("button", name="Requeue").click()
        expect(page.locator("#requeue-message")).to_contain_text(f"#{poison} dialer.originate sent again as task")
        expect(failed).to_have_count(0)  # requeued; it fails again in the worker, as a new row
        wait_until(lambda: failed_task_ids(engine) not in ([], [poison]), timeout=10, message="the retry to fail")

        page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, charts drawn to fit
        wait_until(lambda: page.evaluate("document.querySelector('#calls-chart svg').viewBox.baseVal.width < 390"),
                   timeout=5, message="the chart to be drawn again at the phone's width")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert problems == []


def test_without_a_browser_the_test_fails_saying_how_to_install_one(monkeypatch):
    monkeypatch.delenv("DIALER_CHROMIUM", raising=False)
    monkeypatch.setattr("shutil.which", lambda name: None)

    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium"):
        chromium_path()
