"""The users and audit-log lists take the same filters on their page and their API, and every
list page (templates/list_page.html) folds its filters under the result count, with the
filters on shown as chips that each remove one."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from portal.models import Role
from tests.factories import (
    ApplicationFactory,
    AuditEntryFactory,
    CallProfileFactory,
    ProviderAccountFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOON = timezone.make_aware(datetime(2026, 3, 2, 12, 0))


@pytest.fixture
def people(admin_user) -> dict:
    return {
        "admin": admin_user,
        "olivia": UserFactory(username="olivia", email="olivia@ops.example", role=Role.OPERATOR),
        "victor": UserFactory(username="victor", email="victor@example.com", role=Role.VIEWER),
        "gone": UserFactory(username="gone", role=Role.VIEWER, is_active=False),
        "created": AuditEntryFactory(
            action="account.create", actor_label="olivia", object_repr="Sandbox", created_at=NOON
        ),
        "placed": AuditEntryFactory(
            action="call.place",
            actor_label="victor",
            object_repr="Call 7",
            created_at=NOON + timedelta(days=1),
        ),
        "pushed": AuditEntryFactory(
            action="application.push",
            actor_label="olivia",
            object_repr="Demo",
            created_at=NOON + timedelta(days=2),
        ),
    }


# (page, API, parameters, the rows they keep, how a row shows on the page)
FILTERS = [
    ("/users/", "/api/v1/users", {"q": "OPS.example"}, {"olivia"}),
    ("/users/", "/api/v1/users", {"role": "viewer"}, {"victor", "gone"}),
    ("/users/", "/api/v1/users", {"role": "viewer", "status": "active"}, {"victor"}),
    ("/users/", "/api/v1/users", {"status": "deactivated"}, {"gone"}),
    ("/audit/", "/api/v1/audit", {"action": "call."}, {"placed"}),
    ("/audit/", "/api/v1/audit", {"q": "olivia"}, {"created", "pushed"}),
    ("/audit/", "/api/v1/audit", {"since": "2026-03-03", "until": "2026-03-03"}, {"placed"}),
]


def shown(response, path: str) -> set[str]:
    """The users (by name) or audit entries (by action) a page lists."""
    html = response.content.decode()
    if path == "/users/":
        return set(re.findall(r'href="/users/\d+/">([^<]+)</a>', html))
    return set(re.findall(r"<code class=\"muted\">([^<]+)</code></td>", html))


def key_of(row, path: str) -> str:
    return row.username if path == "/users/" else row.action


@pytest.mark.parametrize(
    ("page_path", "api_path", "params", "kept"),
    FILTERS,
    ids=[f"{page}-{params}" for page, _, params, _ in FILTERS],
)
def test_a_filter_keeps_the_same_rows_on_the_page_and_in_the_api(
    people, client_for, api_for, page_path, api_path, params, kept
):
    admin = people["admin"]
    expected = {key_of(people[name], page_path) for name in kept}

    page = client_for(admin).get(page_path, params)
    api = api_for(admin).get(api_path, params)

    assert page.status_code == api.status_code == 200
    in_api = {
        row["username"] if page_path == "/users/" else row["action"]
        for row in api.json()["results"]
    }
    # The API's own request is audited too (api_token.create): only the world's rows count.
    assert shown(page, page_path) == expected == in_api - {"api_token.create"}


@pytest.mark.parametrize(
    ("page_path", "api_path", "parameter", "value"),
    [
        ("/users/", "/api/v1/users", "role", "superuser"),
        ("/users/", "/api/v1/users", "status", "sleeping"),
        ("/audit/", "/api/v1/audit", "since", "03/02/2026"),
    ],
)
def test_a_bad_filter_value_is_refused_naming_it(
    people, client_for, api_for, page_path, api_path, parameter, value
):
    admin = people["admin"]
    page = client_for(admin).get(page_path, {parameter: value}).content.decode()
    api = api_for(admin).get(api_path, {parameter: value})
    assert re.search(rf'<div class="field has-error">\s*<label for="id_{parameter}"', page)
    assert '<details class="filterbox" open>' in page  # opened to show the error
    assert api.status_code == 400 and list(api.json()["fields"]) == [parameter]


@pytest.fixture
def lists(people) -> dict:
    account = ProviderAccountFactory(name="Alpha")
    ApplicationFactory(account=account, name="Sales")
    ApplicationFactory(name="Support")
    CallProfileFactory(name="Voicemail check")
    CallProfileFactory(name="Long ring", kind="voicegateway")
    return {"account": account}


# (page, a filter on, its chip, rows it keeps)
LIST_PAGES = [
    ("/applications/", {"account": "@account"}, "Account: Alpha", 1),
    ("/numbers/", {"application": "none"}, "Application: Not linked", 0),
    ("/nccos/", {"kind": "template"}, "Show: Templates", 0),
    ("/calls/profiles/", {"kind": "voicegateway"}, "Provider: Voice Gateway", 1),
    ("/users/", {"role": "operator"}, "Role: Operator", 1),
    ("/audit/", {"action": "call."}, "Action: Calls: any action", 1),
]


@pytest.mark.parametrize(
    ("path", "params", "chip", "count"), LIST_PAGES, ids=[path for path, *_ in LIST_PAGES]
)
def test_a_list_page_folds_its_filters_under_the_count_and_chips_the_ones_on(
    lists, client_for, path, params, chip, count
):
    params = {
        name: str(lists[value[1:]].pk) if value.startswith("@") else value
        for name, value in params.items()
    }
    client = client_for(lists and UserFactory(role=Role.ADMIN))

    html = client.get(path, {**params, "page": "1"}).content.decode()

    assert '<details class="filterbox">' in html  # folded: the rows come first
    noun = "result" if count == 1 else "results"
    assert f'<span class="result-count" data-field="count">{count} {noun}</span>' in html
    chips = re.findall(r'<li class="chip">(.*?) <a href="([^"]*)"', html)
    assert [label for label, _ in chips] == [chip]
    # Its link empties that filter and goes back to the first page.
    name = next(iter(params))
    assert chips[0][1] == f"?{name}="
    unfiltered = client.get(path).content.decode()
    assert '<ul class="chips"' not in unfiltered and 'class="result-count"' in unfiltered


# (page, a value no filter can read, the label of its field, what the page says of no rows)
UNREADABLE = [
    ("/audit/", {"since": "2026-13-01"}, "From date", "No audit entry matches"),
    ("/calls/", {"until": "2026-02-30"}, "To date", "No calls match"),
    ("/calls/deliveries/", {"outcome": "", "since": "yesterday"}, "From date",
     "No webhook matches"),
    ("/alerts/", {"rule": "first"}, "Rule", "No alert matches"),
]


@pytest.mark.parametrize(("path", "params", "label", "no_match"), UNREADABLE,
                         ids=[path for path, *_ in UNREADABLE])
def test_a_bad_filter_value_is_said_to_be_bad_not_to_match_nothing(
    admin_user, client_for, path, params, label, no_match
):
    html = client_for(admin_user).get(path, params).content.decode()

    # Above the fields, a line names the field and says no filter ran; the field says why.
    summary = re.search(r'<p class="form-errors" role="alert">(.*?)</p>', html, re.S)
    assert summary and "Filters not applied" in summary[1] and label in summary[1]
    name = next(name for name, value in params.items() if value)
    assert re.search(rf'<div class="field has-error">\s*<label for="id_{name}">{label}</label>',
                     html)
    assert f'<p class="error" id="id_{name}_error">' in html  # the input's aria-describedby
    # Neither a count nor "nothing matches": the filters did not run.
    assert no_match not in html and "0 results" not in html


@pytest.mark.parametrize("value", ["2026-13-01", "100%", "%s%(x)s"])
def test_a_moment_filter_says_which_value_is_not_a_date(admin_user, client_for, api_for, value):
    html = client_for(admin_user).get("/audit/", {"since": value}).content.decode()
    api = api_for(admin_user).get("/api/v1/audit", {"since": value})

    said = f"“{value}” is not a date"  # a "%" in it was a 500 in the API (found by fuzzing)
    assert said in html.replace("&quot;", '"')
    assert 'aria-describedby="id_since_error"' in html  # the error it shows, not a help
    assert '<p class="error" id="id_since_error">' in html
    assert api.status_code == 400 and said in api.json()["fields"]["since"][0]


@pytest.mark.parametrize("path, params", [
    ("/users/", {}),
    ("/audit/", {"since": "2026-13-01"}),  # a field with an error
    ("/calls/", {}),
    ("/numbers/", {}),
    ("/applications/", {}),
    ("/calls/deliveries/", {}),
    ("/calls/profiles/", {}),
])
def test_every_aria_describedby_of_a_list_page_names_an_element_it_shows(
    admin_user, client_for, path, params
) -> None:
    """Filter bars show no help text: an input described by a help id that is not on the
    page (Django points to one whenever a field has help) describes it by nothing."""
    html = client_for(admin_user).get(path, params).content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    described = re.findall(r'aria-describedby="([^"]+)"', html)
    missing = sorted({ref for refs in described for ref in refs.split()} - ids)
    assert not missing
