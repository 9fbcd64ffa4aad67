"""An operator's first campaign, in a real browser, from a do-not-call list to the results.

The issue's "done when" walked as an operator would: a do-not-call list with one number, a
new campaign on the sandbox's demo application, a CSV with bad rows, a duplicate and that
number uploaded (the refused rows shown with their reasons), the preview (who is called,
who is skipped and why), the start, the board followed live without a reload, a pause and a
resume, and the results CSV, whose dispositions must be what the sandbox's scripts do.

A thread stands in for beat (campaigns_tick every second); a real worker places the calls
through the sandbox, which plays them 100 times faster than real time.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaigns.models import Attempt, Campaign
from campaigns.tasks import campaigns_tick
from portal.models import Role
from tests.e2e.pages import DESKTOP, check_page, labelled, sign_in
from tests.factories import UserFactory
from voiceapps.phone import international
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIVE = 5000  # ms: the board asks every second; a busy worker may take a little longer
CAMPAIGN_OVER = 60000  # ms
ANSWERS = "+447700900006"  # presses 1 (voiceapps/sandbox/scripts.py)
BUSY = "+447700900001"
UNREACHABLE = "+447700900005"
ON_DO_NOT_CALL = "+447700900016"
CONTACTS = (
    "number,name\n"
    f"{ANSWERS},Ann\n"
    f"{BUSY},Bo\n"
    f"{UNREACHABLE},Cy\n"
    f"{ON_DO_NOT_CALL},Di\n"
    "not a number,Ed\n"
    f"{ANSWERS},Ann again\n"
)
# What the results must say of each row, from the sandbox's scripts and the checks.
DISPOSITIONS = {
    ANSWERS: {"answered", "duplicate"},
    BUSY: {"busy"},
    UNREACHABLE: {"failed"},
    ON_DO_NOT_CALL: {"suppressed"},
    "not a number": {"invalid"},
}
MARK = "() => { window.notReloaded = true; }"
STILL_MARKED = "() => window.notReloaded === true"


@pytest.fixture
def beat(live_callboard) -> Iterator[None]:
    """What beat does while Callboard runs: the campaigns' tick, every second."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(1.0):
            campaigns_tick.delay()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()


def test_an_operator_runs_a_campaign_on_the_sandbox(browser, live_callboard, beat, tmp_path):
    from playwright.sync_api import expect

    demo = sandbox_first_run()  # what `make run` makes on a fresh clone
    UserFactory(username="olivia", role=Role.OPERATOR)
    page = browser.new_context().new_page()
    problems: list[str] = []
    url = live_callboard.url

    sign_in(page, url, "olivia", "/campaigns/")
    expect(page.get_by_role("heading", name="No campaigns yet")).to_be_visible()

    # A do-not-call list for the sandbox account, with one number on it.
    page.get_by_role("link", name="Do-not-call lists").click()
    labelled(page, "Name").fill("Asked not to be called")
    labelled(page, "Account").select_option(label=demo.account.name)
    page.get_by_role("button", name="Create list").click()
    numbers = tmp_path / "do-not-call.csv"
    numbers.write_text(f"number\n{ON_DO_NOT_CALL}\n")
    labelled(page, "File").set_input_files(numbers)
    page.get_by_role("button", name="Upload numbers").click()
    expect(page.get_by_text("1 number added.")).to_be_visible()

    # A new campaign on the demo application, calling at any hour, retrying nothing.
    page.goto(f"{url}/campaigns/")
    page.get_by_role("link", name="New campaign").first.click()
    problems += check_page(page, "campaign-new")
    labelled(page, "Name").fill("Renewals")
    labelled(page, "Application").select_option(str(demo.application.pk))
    # Its account's numbers are offered once the application is chosen, as Place a call's.
    callers = page.get_by_role("group", name=re.compile(r"^From numbers"))
    callers.get_by_role("checkbox", name=re.compile(re.escape(international(
        demo.numbers[0].e164)))).check()
    labelled(page, "Calls per second").fill("0.5")
    window = page.get_by_role("group", name="Calling windows 1: Days")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        window.get_by_label(day).check()
    labelled(page, "Calling windows 1: From").fill("00:00")
    labelled(page, "Calling windows 1: Until").fill("23:59")
    for row in (1, 2):  # the default rules (busy, no answer) dropped: no retries
        labelled(page, f"Retry rules {row}: Outcome").select_option("")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_text("Campaign “Renewals” saved.")).to_be_visible()
    campaign = Campaign.objects.get(name="Renewals")

    # The upload keeps every row and says which were refused, and why (the do-not-call
    # list is checked in the preview and before each call, not here).
    upload = tmp_path / "renewals.csv"
    upload.write_text(CONTACTS)
    labelled(page, "Contacts file (CSV)").set_input_files(upload)
    page.get_by_role("button", name="Upload contacts").click()
    expect(page.get_by_text("4 contacts added, 2 rows refused")).to_be_visible()
    table = page.locator("table").last
    expect(table.get_by_role("row", name=re.compile("not a number"))).to_contain_text("Invalid")
    expect(table.get_by_role("row").filter(has_text="Duplicate")).to_have_count(1)

    # The preview: who is called, who is skipped and why.
    page.get_by_role("link", name="Preview").click()
    expect(page.locator("main")).to_contain_text("3 contacts will be called, 3 skipped")
    for reason in ("Invalid number", "Duplicate", "Do-not-call"):
        expect(page.get_by_role("row", name=re.compile(f"{reason} 1"))).to_be_visible()
    problems += check_page(page, "campaign-preview")
    page.get_by_role("link", name="Renewals").click()

    # Started, the board follows the calls without a reload.
    page.get_by_role("button", name="Start").click()
    board = page.locator("#board")
    expect(board).to_contain_text("Running")
    page.evaluate(MARK)
    # One attempt shows the board follows the calls: at one call every two seconds, a busy
    # machine may not place a second within LIVE ("1 attempt" once failed a plural pattern).
    expect(board).to_contain_text(re.compile(r"\b[1-9][0-9]* attempts?\b"), timeout=LIVE)
    assert page.evaluate(STILL_MARKED), "the page was reloaded"

    # Paused, nobody new is called; resumed, the rest are.
    page.get_by_role("button", name="Pause").click()
    expect(board).to_contain_text("Paused")
    attempts = Attempt.objects.filter(contact__campaign=campaign).count()
    page.wait_for_timeout(3000)  # three ticks
    assert Attempt.objects.filter(contact__campaign=campaign).count() == attempts
    problems += check_page(page, "campaign")
    page.get_by_role("button", name="Resume").click()
    page.evaluate(MARK)
    expect(board).to_contain_text("Finished", timeout=CAMPAIGN_OVER)
    expect(board).to_contain_text("100% finished")
    assert page.evaluate(STILL_MARKED), "the page was reloaded"

    # The results: one row a contact, each as the sandbox's script for its number ends.
    with page.expect_download() as download:
        page.get_by_role("link", name="Results CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == 6
    for row in rows:
        assert row["disposition"] in DISPOSITIONS[row["number"]], row

    # Finding contacts: the filters narrow the live table, its polls and the results file.
    page.locator("details.filterbox summary").click()
    labelled(page, "Skipped for").select_option(label="Invalid number")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.locator(".result-count")).to_have_text("1 result")
    contacts = page.locator("#contacts")
    expect(contacts.get_by_role("row")).to_have_count(2)  # the header and the invalid row
    page.wait_for_timeout(2500)  # two polls of the live table
    expect(contacts.get_by_role("row")).to_have_count(2)
    expect(contacts).to_contain_text("Invalid number")
    with page.expect_download() as download:
        page.get_by_role("link", name="Results CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["skip_reason"] for row in rows] == ["invalid"]

    page.goto(f"{url}/campaigns/")
    problems += check_page(page, "campaigns")
    assert not problems, "\n".join(problems)


def test_the_previews_start_download_and_back_stand_on_one_line(browser, live_server):
    """Start campaign stood 30 px above the two links beside it (a field form's spacing)."""
    from tests.factories import CampaignFactory, ContactFactory

    UserFactory(username="olivia", role=Role.OPERATOR)
    campaign = CampaignFactory()
    ContactFactory(campaign=campaign)
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, live_server.url, "olivia", f"/campaigns/{campaign.pk}/preview")

    tops = {name: page.get_by_role(role, name=name).bounding_box()["y"] for role, name in (
        ("button", "Start campaign"), ("link", "Download the list (CSV)"),
        ("link", "Back to the campaign"))}

    assert len(set(tops.values())) == 1, tops
