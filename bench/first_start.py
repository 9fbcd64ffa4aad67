"""A newcomer's first start, timed: `make run` to the setup link, the link to a completed call.

`python -m bench.first_start` (about 1 to 3 minutes). From a fresh clone of HEAD
(bench/fresh_clone.py), with nothing set but what `make run` sets itself:

1. seconds from `make run` (creating the virtualenv, installing, writing var/local.env,
   migrating, the first run's sandbox account, starting web, worker and beat) until the
   setup link is on screen;
2. seconds from opening the setup link in a browser to the first test call shown completed
   in the call log: the setup page, the first administrator, the dashboard, "Place a test
   call", then the call log until the call's row says Completed. The sandbox plays the call
   in real time (SANDBOX_TIME_SCALE 1, as a newcomer gets it; the demo call itself lasts
   about 15 s), and the log shows it within one of its 2 s polls.

The browser is Debian's Chromium (/usr/bin/chromium) driven by Playwright, headless; it
types at machine speed, so the second figure is what the software takes, not the reading.
pip installs from its cache when it has one, as on a machine that installed Python packages
before; a first install ever downloads them too.
"""

from __future__ import annotations

import argparse
import re
import time

from bench import run
from bench.fresh_clone import make_run

CHROMIUM = {"executable_path": "/usr/bin/chromium", "headless": True,
            "args": ["--no-sandbox", "--disable-background-networking"]}
SETUP_TIMEOUT = 900.0  # installing everything on a slow network
CALL_TIMEOUT_MS = 120_000
PASSWORD = "first-start-Passw0rd"


def walk_to_a_completed_call(page: object, link: str, base: str) -> int:
    """The newcomer's walk from the setup link; the test call's id once it is Completed."""
    from playwright.sync_api import expect

    def field(label: str) -> object:
        return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))

    page.goto(link)
    field("Username").fill("ada")
    field("Email").fill("ada@example.com")
    field("Password").fill(PASSWORD)
    field("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    page.wait_for_url(base + "/")
    page.get_by_role("button", name="Place a test call").click()
    page.wait_for_url(re.compile(r"/calls/\d+/$"))
    call_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.goto(base + "/calls/")
    expect(page.locator(f"#call-{call_id} .pill").first).to_have_text(
        "Completed", timeout=CALL_TIMEOUT_MS)
    return call_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    report = run.Report("first start: make run in a fresh clone, then the first test call",
                        {"SANDBOX_TIME_SCALE": 1, "browser": "chromium headless"})
    with make_run() as launched:
        with run.step("make run in a fresh clone, until the setup link"):
            link = launched.wait_for_setup_link(SETUP_TIMEOUT)
            to_link = time.monotonic() - launched.started
        with run.step("setup link -> administrator -> dashboard -> test call completed"), \
                sync_playwright() as playwright:
            browser = playwright.chromium.launch(**CHROMIUM)
            page = browser.new_context().new_page()
            opened = time.monotonic()
            call_id = walk_to_a_completed_call(page, link, launched.base)
            to_call = time.monotonic() - opened
            browser.close()
    report.add(
        run.Figure("make run -> setup link on screen", to_link, "s",
                   note="venv, install, migrate, first run, web/worker/beat up"),
        run.Figure("setup link -> first test call completed in the log", to_call, "s",
                   note=f"call {call_id}, played in real time"),
    )
    run.finish(report, options.json)


if __name__ == "__main__":
    main()
