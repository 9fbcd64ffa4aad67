"""Input that once got a 500 (issue 25, item 8): each now gets a 4xx naming what is wrong.

One test per concrete input found by hand or by Schemathesis; the fuzz tests
(test_fuzz_api.py, test_fuzz_hooks.py) look for the rest of each class.
"""

from __future__ import annotations

import pytest
from django.test import Client

from calls.models import AnswerRequest, WebhookDelivery
from portal.jsontext import MAX_DEPTH
from tests.factories import ApplicationFactory, NumberFactory, ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_signed_headers
from tests.voiceapps.ncco_helpers import make_document
from voiceapps.hooks import answer_url
from voiceapps.ncco.services import menu_url

pytestmark = pytest.mark.django_db


def nested(depth: int) -> bytes:
    """A JSON object nested `depth` levels deep."""
    return b'{"a":' * depth + b"1" + b"}" * depth


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def hosted():
    """A signed Vonage account's answer URL and menu URL."""
    account = ProviderAccountFactory()
    document = make_document()
    application = ApplicationFactory(account=account, ncco_document=document)
    return {
        "answer": path_of(answer_url(application)),
        "menu": path_of(menu_url(token=account.webhook_token,
                                 version_id=document.latest_version.pk)),
    }


# Bodies: parsed only once signed, never deeper than MAX_DEPTH, never larger than allowed ----

@pytest.mark.parametrize("hook", ["answer", "menu"])
def test_an_unsigned_deep_body_to_the_answer_or_menu_url_is_refused_unparsed(hosted, hook):
    response = Client().post(hosted[hook], nested(600), content_type="application/json")

    assert response.status_code == 401
    assert "signature" in response.json()["detail"]
    assert AnswerRequest.objects.get().params == {}  # what was not verified was not read


@pytest.mark.parametrize("hook", ["answer", "menu"])
def test_a_signed_body_nested_too_deep_is_a_400_saying_so(hosted, hook):
    body = nested(MAX_DEPTH + 1)
    response = Client().post(hosted[hook], body, content_type="application/json",
                             headers=vonage_signed_headers(body))

    assert response.status_code == 400
    assert f"nested more than {MAX_DEPTH} levels" in response.json()["detail"]


def test_a_signed_body_as_deep_as_allowed_is_answered(hosted):
    body = b'{"uuid": "u-1", "deep": ' + nested(MAX_DEPTH - 1) + b"}"
    response = Client().post(hosted["answer"], body, content_type="application/json",
                             headers=vonage_signed_headers(body))

    assert response.status_code == 200


def test_an_answer_body_over_the_hooks_limit_is_a_413(hosted):
    body = b'{"a": "' + b"x" * 300_000 + b'"}'
    response = Client().post(hosted["answer"], body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_signed_event_nested_too_deep_is_refused_and_kept():
    account = ProviderAccountFactory(vonage=True)
    body = nested(600)
    response = Client().post(f"/hooks/{account.webhook_token}/events", body,
                             content_type="application/json",
                             headers=vonage_signed_headers(body))

    assert response.status_code == 400
    assert "nested more than" in WebhookDelivery.objects.get().rejection_reason


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000])
def test_an_api_body_nested_too_deep_is_a_400_saying_so(api_for, operator_user, depth):
    body = b'{"name": "Deep", "kind": "vonage", "options": ' + nested(depth) + b"}"
    response = api_for(operator_user).generic("POST", "/api/v1/call-profiles", body,
                                              content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"
    assert f"nested more than {MAX_DEPTH} levels" in response.json()["detail"]


def test_an_api_body_over_the_upload_limit_is_a_413(api_for, operator_user, settings):
    body = b'{"name": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
    response = api_for(operator_user).generic("POST", "/api/v1/call-profiles", body,
                                              content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "error": "too_large", "fields": {},
        "detail": f"The body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes, "
                  "the most the API takes."}


# Ids, numbers and moments: ASCII digits within the database's range, one parser ------------

TOO_BIG = str(2**64)  # beyond PostgreSQL's bigint and SQLite's INTEGER


def test_an_overflowing_id_on_the_answer_url_is_a_404(hosted):
    path = hosted["answer"].rsplit("/", 1)[0] + f"/{TOO_BIG}"

    assert Client().get(path).status_code == 404


@pytest.mark.parametrize("path", [f"/api/v1/calls/{TOO_BIG}", f"/api/v1/numbers/{TOO_BIG}",
                                  "/api/v1/calls/0"])
def test_an_id_out_of_range_in_an_api_path_is_a_404(api_for, viewer_user, path):
    assert api_for(viewer_user).get(path).status_code == 404


@pytest.mark.parametrize(("path", "name"), [
    ("/api/v1/applications", "account"),
    ("/api/v1/numbers", "account"),
    ("/api/v1/numbers", "application"),
    ("/api/v1/calls", "account"),
    ("/api/v1/calls", "application"),
    ("/api/v1/webhook-deliveries", "account"),
    ("/api/v1/nccos/{document}/diff", "from"),
])
@pytest.mark.parametrize("value", ["²", "٣", TOO_BIG, "-1", " 1"])
def test_a_filter_id_that_is_not_ascii_digits_in_range_is_a_400_naming_it(
        api_for, operator_user, path, name, value):
    path = path.format(document=make_document().pk)
    response = api_for(operator_user).get(path, {name: value})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert list(response.json()["fields"]) == [name]


@pytest.mark.parametrize("path", ["/applications/", "/numbers/"])
def test_a_page_filter_id_that_is_not_an_id_is_a_form_error_not_a_wider_list(
        client_for, viewer_user, path):
    NumberFactory(application=ApplicationFactory())  # a wider list would show them
    response = client_for(viewer_user).get(path, {"account": "²"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter an id: a whole number" in page
    # No row, and said to be because no filter ran, not because nothing matched.
    assert "Filters not applied" in page and "matches these filters" not in page


@pytest.mark.parametrize("value", ["2026-13-45T00:00", "0001-01-01T00:00+23:59", "x"])
def test_a_malformed_since_change_on_the_live_log_is_a_400(client_for, viewer_user, value):
    account = ProviderAccountFactory()
    account.calls.create(provider="vonage", direction="outbound", status="completed")

    response = client_for(viewer_user).get("/calls/live", {"since_change": value})

    assert response.status_code == 400


def test_a_naive_since_change_is_read_in_the_portals_time_zone(client_for, viewer_user):
    account = ProviderAccountFactory()
    account.calls.create(provider="vonage", direction="outbound", status="completed")

    response = client_for(viewer_user).get("/calls/live", {"since_change": "2000-01-01T10:00"})

    assert response.status_code == 200  # a call changed since then: the fresh page


@pytest.mark.parametrize("value", ["0001-01-01T00:00+23:59", "2026-02-30"])
def test_a_filter_moment_the_database_cannot_hold_is_a_400_naming_it(api_for, viewer_user,
                                                                       value):
    response = api_for(viewer_user).get("/api/v1/calls", {"since": value})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["since"]


# NUL: PostgreSQL cannot compare text holding one. Runs on SQLite and PostgreSQL alike. ------

@pytest.mark.parametrize(("path", "name"), [
    ("/api/v1/applications", "q"),
    ("/api/v1/numbers", "q"),
    ("/api/v1/nccos", "search"),
    ("/api/v1/call-profiles", "kind"),
    ("/api/v1/calls", "to_number"),
])
def test_a_nul_character_in_a_search_parameter_is_a_400_naming_it(api_for, viewer_user, path,
                                                                   name):
    response = api_for(viewer_user).get(path, {name: "a\x00b"})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [name]


@pytest.mark.parametrize("path", ["/applications/", "/numbers/", "/nccos/", "/calls/"])
def test_a_nul_character_in_a_page_search_is_a_400(client_for, viewer_user, path):
    response = client_for(viewer_user).get(path, {"q": "a\x00b"})

    assert response.status_code == 400
    assert "q: Text may not contain the NUL character" in response.content.decode()


def test_a_nul_character_in_a_hook_token_is_a_404():
    assert Client().post("/hooks/a%00b/events", b"{}",
                         content_type="application/json").status_code == 404
