"""In a real browser: a recorded sandbox call's page shows, without a reload, a player that
loads the recording (it has a duration, no error) with the transcript beside it; the page
and the recordings list pass the accessibility and phone-width checks."""

from __future__ import annotations

import re

import pytest

from portal.models import Role
from tests.e2e.pages import check_page, sign_in
from tests.factories import UserFactory
from tests.recordings.conftest import memory_storage, stored_recording  # noqa: F401
from tests.recordings.test_end_to_end import place_recorded_call, place_recorded_jambonz_call
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Resolves with the player's duration once it has read the file's header, or its error code.
AUDIO_STATE = """audio => new Promise(resolve => {
  const report = () => resolve({duration: audio.duration, error: audio.error && audio.error.code});
  if (audio.readyState >= 1 || audio.error) { report(); return; }
  audio.addEventListener("loadedmetadata", report);
  audio.addEventListener("error", report);
})"""


def open_call_page(browser, live_callboard, call):
    page = browser.new_context().new_page()
    sign_in(page, live_callboard.url, "olivia", f"/calls/{call.pk}/")
    return page


def played_beside_transcript(page, words: str) -> None:
    """The player arrives while the page is open, loads its file (a duration, no error), with
    the transcript's words beside it."""
    expect = pytest.importorskip("playwright.sync_api").expect
    media = page.locator("#call-media")
    expect(media.get_by_role("heading", name="Recording and transcript")).to_be_visible()
    player = media.locator("audio")
    expect(player).to_be_visible(timeout=60_000)
    state = player.evaluate(AUDIO_STATE)
    assert state["error"] is None and state["duration"] == pytest.approx(1.0)
    expect(media.get_by_text(words)).to_be_visible()
    expect(media.get_by_role("link", name="Download")).to_be_visible()


def test_the_call_page_plays_the_recording_beside_its_transcript(live_callboard, browser, api_for):
    demo = sandbox_first_run()
    operator = UserFactory(username="olivia", role=Role.OPERATOR)
    call = place_recorded_call(api_for(operator), demo.application)
    page = open_call_page(browser, live_callboard, call)
    expect = pytest.importorskip("playwright.sync_api").expect

    played_beside_transcript(page, "Hello, this is the sandbox calling.")
    # The record event in the timeline links Callboard's copy, which plays, not the provider's.
    page.reload()
    link = page.locator("#timeline").get_by_role("link", name="play Callboard's copy")
    expect(link).to_be_visible()
    hrefs = page.locator("#timeline a").evaluate_all("links => links.map(a => a.href)")
    assert not [href for href in hrefs if "/sandbox/v1/" in href]
    problems = check_page(page, "call-recording")

    page.get_by_role("link", name="Recordings").first.click()
    expect(page.get_by_role("heading", name="Recordings", level=1)).to_be_visible()
    expect(page.get_by_role("link", name=f"Call {call.pk}", exact=True)).to_be_visible()
    problems += check_page(page, "recordings")
    assert problems == []


def test_a_voice_gateway_call_page_plays_its_recording_beside_its_transcript(
    live_callboard, browser, api_for
):
    operator = UserFactory(username="olivia", role=Role.OPERATOR)
    call = place_recorded_jambonz_call(api_for(operator), sandbox_first_run())
    page = open_call_page(browser, live_callboard, call)

    played_beside_transcript(page, "Thanks, I can hear you.")
    assert check_page(page, "call-recording-voice-gateway") == []


def test_a_player_whose_link_expired_renews_it_and_plays(
    live_server, browser, stored_recording  # noqa: F811 (the fixture imported above)
):
    """A call page left open past the link's few minutes: pressing play failed without a
    word. The player now fetches a new link itself and plays."""
    expect = pytest.importorskip("playwright.sync_api").expect
    UserFactory(username="olivia", role=Role.OPERATOR)
    page = browser.new_context().new_page()
    sign_in(page, live_server.url, "olivia", f"/calls/{stored_recording.call_id}/")
    player = page.locator("#call-media audio")
    expect(player).to_be_visible()

    # What the server answers a link past its minutes: the link is refused (404).
    player.evaluate("audio => { audio.src = audio.src.replace(/t=[^&]+/, 't=expired'); }")

    page.wait_for_function(
        "() => { const a = document.querySelector('#call-media audio');"
        " return a.readyState >= 1 && !a.error && !a.src.includes('t=expired'); }",
        timeout=10_000,
    )
    assert player.evaluate(AUDIO_STATE) == {"duration": pytest.approx(1.0), "error": None}
    page.context.close()


def test_each_download_link_says_which_recording_it_downloads(
    live_server, browser, stored_recording  # noqa: F811 (the fixture imported above)
):
    """A screen reader's list of links read "Download", "Download", …: which file? (A call
    may have more than one recording: the call page names each by its number, the list by
    its call, callee and time.)"""
    from tests.factories import RecordingFactory

    expect = pytest.importorskip("playwright.sync_api").expect
    second = RecordingFactory(call=stored_recording.call, state="stored", size_bytes=10,
                              duration_seconds=1.0, format="wav", next_attempt_at=None)
    other = RecordingFactory(state="stored", size_bytes=10, duration_seconds=1.0, format="wav",
                             next_attempt_at=None)
    UserFactory(username="olivia", role=Role.ADMIN)
    page = browser.new_context().new_page()
    call = stored_recording.call_id
    sign_in(page, live_server.url, "olivia", f"/calls/{call}/")

    media = page.locator("#call-media")
    for n in (1, 2):
        expect(media.get_by_role("link", name=f"Download recording {n} of this call",
                                 exact=True)).to_have_count(1)
        expect(media.get_by_role("button", name=f"Delete recording {n} of this call",
                                 exact=True)).to_have_count(1)
    page.goto(f"{live_server.url}/recordings/")
    for n, recording in ((1, stored_recording), (2, second), (1, other)):
        name = f"Download recording {n} of call {recording.call_id} to +31 6 12345678, "
        expect(page.get_by_role("link", name=re.compile(f"^{re.escape(name)}"))).to_have_count(1)
    expect(page.get_by_role("link", name="Download", exact=True)).to_have_count(0)
