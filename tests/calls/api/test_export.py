"""GET /api/v1/calls/export.csv: the call log's CSV through the API, streamed, with the log's
filters (tests/calls/views/test_log.py compares it with the page's CSV filter by filter)."""

import csv
import io

import pytest

from portal.models import TokenScope
from tests.factories import CallFactory, ProviderAccountFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/calls/export.csv"


@pytest.fixture
def calls(db):
    alpha, beta = ProviderAccountFactory(name="alpha"), ProviderAccountFactory(name="beta")
    return {
        "busy": CallFactory(account=alpha, status="busy"),
        "done": CallFactory(account=alpha, status="completed", from_number="=cmd|' /C calc'!A0"),
        "beta": CallFactory(account=beta, status="completed"),
        "alpha": alpha,
        "beta_account": beta,
    }


def rows(response) -> list[dict]:
    assert response.streaming  # never built in memory
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_streams_the_filtered_calls_newest_first(calls, api_for, viewer_user):
    response = api_for(viewer_user).get(URL, {"status": "completed"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="calls-')
    exported = rows(response)
    assert [int(row["id"]) for row in exported] == [calls["beta"].pk, calls["done"].pk]
    assert exported[1]["from"].startswith("'=")  # a formula is exported inert, as the page's


def test_a_client_that_accepts_only_json_still_gets_the_csv(calls, api_for, viewer_user):
    response = api_for(viewer_user).get(URL, HTTP_ACCEPT="application/json")

    assert response.status_code == 200 and len(rows(response)) == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"account": "x1"}, "account"),
        ({"stauts": "busy"}, "stauts"),
        ({"format": "json"}, "format"),
    ],
)
def test_a_bad_or_unknown_filter_is_a_json_400_naming_it_not_a_wider_file(
    calls, api_for, viewer_user, params, field
):
    response = api_for(viewer_user).get(URL, params, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid"
    assert list(response.json()["fields"]) == [field]


def test_a_token_limited_to_an_account_exports_that_accounts_calls_only(
    calls, api_for, viewer_user
):
    api = api_for(viewer_user, scope=TokenScope.READ, accounts=[calls["beta_account"]])

    assert [int(row["id"]) for row in rows(api.get(URL))] == [calls["beta"].pk]
    assert rows(api.get(URL, {"account": calls["alpha"].pk})) == []


def test_the_export_needs_a_role_and_says_so_in_json(calls, api_for, personas):
    anonymous = api_for(None).get(URL)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"
    assert api_for(personas["outsider"]).get(URL).status_code == 403
