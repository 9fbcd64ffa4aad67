"""The newcomer's path, in a real browser, from `make run` to the first calls.

One walk, in the order a newcomer takes it: the setup link and the first administrator, the
dashboard, a test call on the sandbox watched live on its own page (where the test call
lands) and in the call log, its timeline,
an NCCO written in the editor (with a mistake shown and fixed), an application and a number
for it, an API token and a call placed with it, that call found with a filter and exported
as CSV, then muted and hung up from its page, each action answered next to its button and
the page following the call to its end, never reloaded, while the log follows. Along the way
every main page is audited and photographed (tests/e2e/pages.py); a few more calls make the
pictures of the log and the dashboard look like a working morning.

Everything is real but the callee: a live server, a real Celery worker, and the sandbox
provider playing the calls 100 times faster than real time (LIVE_TIME_SCALE).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from calls.models import TERMINAL_STATUSES, Call
from portal.services import setup_token
from tests.e2e.pages import (
    DESKTOP,
    PHONE,
    check_page,
    focus_after_tabs,
    labelled,
    screenshots_dir,
)
from tests.factories import PASSWORD
from tests.helpers import wait_for
from voiceapps.models import Application, Number
from voiceapps.sandbox.scripts import BY_NAME
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIVE = 5000  # ms: a change must reach an open call log within its poll and a little more
CALL_OVER = 30000  # ms: a sandbox call at LIVE_TIME_SCALE, with a busy worker
# A person answers any number without a scripted ending (voiceapps/sandbox/scripts.py).
CALLEE = "+447700900123"
CALLER_ID = "+44 20 7946 0999"
# Callees that never answer: their calls end in a second or two.
SCRIPTS = ("busy", "no_answer", "failed", "rejected")
TAG = "campaign:first-week"

# Every status a call's page shows, in order, kept in the page as WATCH_STATUSES does.
WATCH_CALL_PAGE = """() => {
  window.seenStatuses = [];
  const note = () => {
    const pill = document.querySelector("h1 [data-field=status]");
    const seen = window.seenStatuses;
    if (pill && seen[seen.length - 1] !== pill.textContent) seen.push(pill.textContent);
  };
  new MutationObserver(note).observe(document.body, {childList: true, subtree: true});
  note();
}"""

# Every status the call log shows for each row, in order, kept in the page itself: if the
# page were reloaded the record would be gone.
WATCH_STATUSES = """() => {
  window.seenStatuses = {};
  const note = () => document.querySelectorAll("tr[data-status]").forEach(row => {
    const seen = window.seenStatuses[row.id] = window.seenStatuses[row.id] || [];
    if (seen[seen.length - 1] !== row.dataset.status) seen.push(row.dataset.status);
  });
  new MutationObserver(note).observe(document.body, {childList: true, subtree: true});
  note();
}"""


@dataclass
class Walk:
    url: str
    page: Any  # the newcomer's tab
    expect: Any
    calls: dict[str, int] = field(default_factory=dict)
    token: str = ""
    problems: list[str] = field(default_factory=list)

    def check(self, name: str, page: Any = None, exclude: tuple[str, ...] = ()) -> None:
        self.problems += check_page(page or self.page, name, exclude=exclude)

    def go(self, path: str) -> None:
        self.page.goto(self.url + path)

    def labelled(self, label: str) -> Any:
        return labelled(self.page, label)

    def nav(self, name: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()

    def add_on_the_sandbox(self, section: str, shot: str, button: str) -> None:
        """The section's list from the navigation (audited as `shot`), then its form to add
        one, on the sandbox account."""
        self.nav(section)
        self.check(shot)
        self.page.get_by_role("link", name=button).first.click()
        self.labelled("Account").select_option(label="Sandbox")


def test_the_newcomers_path(live_callboard, browser):
    from playwright.sync_api import expect

    sandbox_first_run()  # what `make run` does before it prints the setup link
    context = browser.new_context(viewport={"width": 1366, "height": 768},
                                  accept_downloads=True)
    context.set_default_timeout(10000)
    walk = Walk(url=live_callboard.url, page=context.new_page(), expect=expect)

    first_administrator(walk)
    dashboard(walk)
    a_test_call_watched_live(walk, log=context.new_page())
    call_page_and_timeline(walk)
    ncco_in_the_editor(walk)
    application_for_it(walk)
    number_for_it(walk)
    api_token_and_a_call_with_it(walk)
    the_call_found_with_a_filter(walk)
    filtered_log_as_csv(walk)
    hang_up_the_call_in_progress(walk, call_page=context.new_page())
    more_calls_for_the_pictures(walk)
    the_other_main_pages(walk)
    context.close()
    assert not walk.problems, "\n".join(walk.problems)


def first_administrator(walk: Walk) -> None:
    page, expect = walk.page, walk.expect
    walk.go(f"/setup/{setup_token()}/")
    expect(page.get_by_role("heading", name="Welcome to Callboard")).to_be_visible()
    walk.labelled("Username").fill("ada")
    walk.labelled("Email").fill("ada@example.com")
    walk.labelled("Password").fill(PASSWORD)
    walk.labelled("Password (again)").fill(PASSWORD + "x")
    page.get_by_role("button", name="Create administrator").click()
    # A typo is named on its field with what to do about it; the passwords are not kept.
    expect(page.locator(".has-error .error")).to_have_text(
        "The two passwords differ; type the same one twice.")
    expect(walk.labelled("Password")).to_have_value("")
    walk.labelled("Password").fill(PASSWORD)
    walk.labelled("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    page.wait_for_url(walk.url + "/")
    expect(page.locator(".messages")).to_contain_text("You are its first administrator")
    # The link works once.
    assert requests.get(f"{walk.url}/setup/{setup_token()}/", timeout=5).status_code == 404


def dashboard(walk: Walk) -> None:
    page, expect = walk.page, walk.expect
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    empty = page.locator(".empty")
    expect(empty.get_by_role("heading", name="No calls yet")).to_be_visible()
    expect(empty.get_by_role("link", name="Place a call")).to_be_visible()
    expect(page.get_by_role("heading", name="Try it without a provider")).to_be_visible()


def a_test_call_watched_live(walk: Walk, log: Any) -> None:
    """The test call, from the dashboard, watched in a call log opened beforehand."""
    page, expect = walk.page, walk.expect
    log.goto(walk.url + "/calls/")
    expect(log.get_by_role("heading", name="No calls yet")).to_be_visible()
    log.evaluate(WATCH_STATUSES)

    page.get_by_role("button", name="Place a test call").click()
    page.wait_for_url(re.compile(r"/calls/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("this page follows it")
    call_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    walk.calls["test"] = call_id
    # The call's own page, never reloaded, follows it to its end.
    page.evaluate(WATCH_CALL_PAGE)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Completed", timeout=CALL_OVER)
    seen = page.evaluate("() => window.seenStatuses")
    assert seen is not None, "the call page was reloaded"
    assert seen[-1] == "Completed" and len(seen) > 1, seen

    # The log, never reloaded, shows the call arrive and follows it to its end.
    row = log.locator(f"#call-{call_id}")
    expect(row).to_be_visible(timeout=LIVE)
    expect(row.locator(".pill").first).to_have_text("Completed", timeout=CALL_OVER)
    expect(row).to_contain_text("Demo")
    seen = log.evaluate("() => window.seenStatuses")
    assert seen is not None, "the call log was reloaded"
    # The row arrived while the page stayed open (it said "No calls yet"). At the tests' time
    # scale the whole call may fit in one poll, so its steps are not required here;
    # tests/e2e/test_live_log.py watches each status change of a call held at every step.
    statuses = seen[f"call-{call_id}"]
    assert statuses and statuses[-1] == "completed", statuses
    log.close()


def call_page_and_timeline(walk: Walk) -> None:
    page, expect = walk.page, walk.expect
    # Still the page the test call landed on: its timeline came in without a reload.
    assert page.evaluate("() => window.seenStatuses") is not None
    expect(page.get_by_role("heading", level=1)).to_contain_text("Completed")
    timeline = page.locator("#timeline")
    expect(timeline.locator("li.answer-request")).to_have_count(2, timeout=LIVE)
    provider_words = timeline.locator("li.event .what code").all_inner_texts()
    assert [w for w in provider_words if w in ("started", "ringing", "answered", "completed")
            ] == ["started", "ringing", "answered", "completed"]
    # The hosted flow was fetched twice: the answer URL, then the menu's choice.
    expect(timeline.locator("li.answer-request")).to_have_count(2)


def ncco_in_the_editor(walk: Walk) -> None:
    page, expect = walk.page, walk.expect
    walk.nav("NCCOs")
    walk.check("nccos")
    page.get_by_role("link", name="New NCCO").click()
    walk.labelled("Name").fill("Hold line")
    editor = page.locator(".CodeMirror")
    # Pasted as a newcomer would from Vonage's docs, with the text forgotten.
    replace_text(page, editor, '[\n  {"action": "talk", "loop": 0}\n]')
    problems = page.locator("#ncco-issues li.error")
    expect(problems).to_have_count(1, timeout=LIVE)
    expect(problems).to_contain_text('A talk action needs "text".')
    expect(page.locator("#ncco-status")).to_have_text("1 error")
    # Saving anyway is refused: the page says so and keeps the problem beside the editor.
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#content_error")).to_contain_text("nothing was saved")
    expect(problems).to_contain_text('A talk action needs "text".')
    walk.check("ncco-editor")

    replace_text(page, page.locator(".CodeMirror"), '[\n  {"action": "talk", "loop": 0,\n'
                 '   "text": "Please hold. Your call is important to us."}\n]')
    expect(page.locator("#ncco-issues li")).to_have_count(0, timeout=LIVE)
    expect(page.locator("#ncco-preview-output")).to_contain_text("Please hold")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/nccos/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 1")


def replace_text(page: Any, editor: Any, text: str) -> None:
    """Select everything in the CodeMirror editor and paste `text` over it."""
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def application_for_it(walk: Walk) -> None:
    page, expect = walk.page, walk.expect
    walk.add_on_the_sandbox("Applications", "applications", "Add application")
    walk.labelled("Name").fill("Hold line")
    walk.labelled("Call flow").select_option(label="NCCO hosted by Callboard")
    walk.labelled("NCCO").select_option(label="Hold line")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hold line")
    page.get_by_role("button", name="Push to provider").click()
    expect(page.locator(".messages")).to_contain_text("Pushed to the provider")
    application = Application.objects.get(name="Hold line")
    assert application.provider_app_id, "the push did not register the application"
    walk.check("application")


def number_for_it(walk: Walk) -> None:
    page, expect = walk.page, walk.expect
    walk.add_on_the_sandbox("Numbers", "numbers", "Add number")
    walk.labelled("Number").fill("+44 20 7946 099")  # a digit short
    walk.labelled("Description").fill("Hold line caller ID")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".has-error .error")).to_have_text(
        "+44 20 7946 099 is not a number of country code +44; check the country code and the "
        "digits, e.g. +31 20 123 4567.")
    walk.labelled("Number").fill(CALLER_ID)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Number {CALLER_ID}")
    assert Number.objects.filter(e164=CALLER_ID.replace(" ", "")).exists()


def api_token_and_a_call_with_it(walk: Walk) -> None:
    page, expect = walk.page, walk.expect
    page.locator(".usermenu summary").click()
    page.get_by_role("link", name="Profile and API tokens").click()
    walk.labelled("Name").fill("dialler")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token")
    expect(token).to_be_visible()
    walk.token = token.inner_text()
    walk.check("profile")

    application = Application.objects.get(name="Hold line")
    response = requests.post(f"{walk.url}/api/v1/calls", timeout=10, json={
        "application": application.pk, "from_number": CALLER_ID,
        "to": {"type": "phone", "number": CALLEE}, "tag": {"campaign": "first-week"},
    }, headers={"Authorization": f"Bearer {walk.token}"})
    assert response.status_code == 202, response.text
    walk.calls["api"] = response.json()["id"]


def the_call_found_with_a_filter(walk: Walk) -> None:
    page, expect = walk.page, walk.expect
    walk.nav("Calls")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_text("Filters", exact=True).click()  # folded under its result count
    walk.labelled("Tag").fill(TAG)
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_id(f"call-{walk.calls['api']}")
    expect(rows.first).to_contain_text("Hold line")
    expect(rows.first.locator(".pill").first).to_have_text("Answered", timeout=CALL_OVER)


def filtered_log_as_csv(walk: Walk) -> None:
    page = walk.page
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    call = Call.objects.get(pk=walk.calls["api"])
    assert [row["id"] for row in rows] == [str(call.pk)]
    assert rows[0]["from"] == call.from_number and rows[0]["tag"] == '{"campaign": "first-week"}'
    assert rows[0]["application"] == "Hold line"


def hang_up_the_call_in_progress(walk: Walk, call_page: Any) -> None:
    """The API's call plays the hold line until someone hangs up: from its page, while the
    filtered log stays open in the first tab."""
    expect, log = walk.expect, walk.page
    log.evaluate(WATCH_STATUSES)
    call_page.goto(f"{walk.url}/calls/{walk.calls['api']}/")
    actions = call_page.locator("#actions")
    expect(call_page.get_by_role("heading", level=1)).to_contain_text("Answered")
    walk.check("call", page=call_page)
    # Mute is a toggle showing the call's state; it answers in place.
    mute = actions.get_by_role("button", name=re.compile("^Mute"))
    expect(mute).to_have_attribute("aria-pressed", "false")
    mute.click()
    expect(actions.get_by_role("button", name=re.compile("^Mute"))).to_have_attribute(
        "aria-pressed", "true")
    expect(actions.locator("#action-result")).to_have_text(re.compile("^Muted"))
    scrolled = call_page.evaluate("() => window.scrollY")

    dialog = call_page.get_by_role("dialog")
    actions.get_by_role("button", name="Hang up").click()
    expect(dialog).to_contain_text("Both sides are disconnected at once")
    dialog.get_by_role("button", name="Cancel").click()  # asked first: nothing happened
    expect(dialog).to_be_hidden()
    expect(call_page.get_by_role("heading", level=1)).to_contain_text("Answered")
    actions.get_by_role("button", name="Hang up").click()
    dialog.get_by_role("button", name="Hang up").click()
    # The answer next to the button, the call's new state in its heading and the actions
    # that no longer fit gone, at once.
    expect(call_page.locator("#actions #action-result")).to_contain_text("Hang-up sent")
    expect(call_page.get_by_role("heading", level=1)).to_contain_text(
        re.compile("hang-up sent|Completed"))
    expect(actions.get_by_role("button", name=re.compile("Mute"))).to_have_count(0)
    assert call_page.evaluate("() => window.scrollY") == scrolled, "the page jumped"

    row = log.locator(f"#call-{walk.calls['api']}")
    expect(row.locator(".pill").first).to_have_text("Completed", timeout=CALL_OVER)
    seen = log.evaluate("() => window.seenStatuses")
    assert seen is not None and seen[row.get_attribute("id")][-1] == "completed", seen
    expect(call_page.get_by_role("heading", level=1)).to_contain_text("Completed", timeout=LIVE)
    expect(call_page.locator("#actions")).to_contain_text("nothing left to control")
    call_page.close()


def more_calls_for_the_pictures(walk: Walk) -> None:
    """A few more callees of the sandbox, so that the log and the dashboard show a morning's
    mix of outcomes rather than two calls."""
    demo = Application.objects.get(name="Demo")
    ids = []
    for script in SCRIPTS:
        response = requests.post(f"{walk.url}/api/v1/calls", timeout=10, json={
            "application": demo.pk, "from_number": "+447700900100",
            "to": {"type": "phone", "number": f"+{BY_NAME[script].example_number}"},
            "tag": {"campaign": "renewals"},
        }, headers={"Authorization": f"Bearer {walk.token}"})
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    calls = Call.objects.filter(pk__in=ids)
    wait_for(lambda: not calls.exclude(status__in=TERMINAL_STATUSES).exists(),
             timeout=CALL_OVER / 1000)


def the_other_main_pages(walk: Walk) -> None:
    page, expect = walk.page, walk.expect
    walk.go("/")
    expect(page.locator(".stat").first).to_be_visible()
    walk.check("dashboard")
    # What a keyboard user sees on the way through the sections.
    focused = focus_after_tabs(page, 3)  # the brand, Dashboard, Calls
    assert "Calls" in focused["what"], focused
    page.screenshot(path=screenshots_dir() / "keyboard-focus-desktop.png",
                    clip={"x": 0, "y": 0, "width": 1366, "height": 200})
    walk.nav("Calls")
    expect(page.locator("tbody tr")).to_have_count(2 + len(SCRIPTS))
    walk.check("calls")
    # On a phone the filters fold away, for the calls to be on the first screen.
    page.set_viewport_size(PHONE)
    expect(walk.labelled("Tag")).to_be_hidden()
    page.get_by_text("Filters", exact=True).click()
    expect(walk.labelled("Tag")).to_be_visible()
    page.set_viewport_size(DESKTOP)
    walk.go("/calls/new")
    walk.check("place-call")
    walk.nav("Accounts")
    walk.check("accounts")
    page.get_by_role("link", name="Sandbox").first.click()
    walk.check("account")
    walk.go("/users/")
    walk.check("users")
    walk.go("/audit/")
    walk.check("audit")
    walk.go("/calls/deliveries/?outcome=")  # every delivery, not only the rejected ones
    walk.check("deliveries")
    applications_filtered_by_a_chip(walk)
    api_docs_inside_the_portal(walk)


def applications_filtered_by_a_chip(walk: Walk) -> None:
    """Every list folds its filters under its result count and shows the ones on as chips."""
    page, expect = walk.page, walk.expect
    walk.nav("Applications")
    count = page.locator(".filterbox .result-count")
    expect(count).to_have_text("3 results")  # the two demos and Hold line
    expect(walk.labelled("Account")).to_be_hidden()  # folded
    page.get_by_text("Filters", exact=True).click()
    walk.labelled("Account").select_option(label="Sandbox (jambonz)")
    page.get_by_role("button", name="Filter").click()
    expect(count).to_have_text("1 result")
    expect(page.locator("tbody tr")).to_have_count(1)
    chip = page.locator(".chips .chip")
    expect(chip).to_have_text(re.compile(r"^Account: Sandbox \(jambonz\)"))
    chip.get_by_role("link", name="Remove the filter Account").click()
    expect(count).to_have_text("3 results")
    expect(page.locator(".chips")).to_have_count(0)


def api_docs_inside_the_portal(walk: Walk) -> None:
    """The API documentation keeps the portal's header: the way back is one click."""
    page, expect = walk.page, walk.expect
    walk.nav("API")
    # Swagger UI fetches the schema, which is generated on request: seconds on a busy VM.
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible(timeout=CALL_OVER)
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_have_text(
        "Dashboard / API documentation")
    # Swagger UI nests its operations' buttons in a button (axe's nested-interactive), which
    # its markup decides; the rest of the page, its colours included, is audited.
    walk.check("api-docs", exclude=(".opblock-summary",))
    walk.nav("Calls")
    expect(page.get_by_role("heading", name="Calls", exact=True)).to_be_visible()
