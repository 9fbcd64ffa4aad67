"""Each list's page and API take the same filters and keep the same rows; a bad value is
refused on both, naming the parameter: a form error on the page, a 400 from the API."""

from __future__ import annotations

import re

import pytest

from tests.factories import ApplicationFactory, NumberFactory, ProviderAccountFactory
from tests.voiceapps.ncco_helpers import make_document

pytestmark = pytest.mark.django_db

LISTS = {  # list name: (page, API, the pattern of a row's link on the page)
    "applications": ("/applications/", "/api/v1/applications", r'href="/applications/(\d+)/"'),
    "numbers": ("/numbers/", "/api/v1/numbers", r'href="/numbers/(\d+)/"'),
    "nccos": ("/nccos/", "/api/v1/nccos", r'href="/nccos/(\d+)/"'),
}


@pytest.fixture
def world() -> dict:
    alpha = ProviderAccountFactory(name="Alpha")
    beta = ProviderAccountFactory(kpn=True, name="Beta")
    sales = ApplicationFactory(account=alpha, name="Sales line", provider_app_id="app-sales")
    rows = {
        "alpha": alpha, "beta": beta, "sales": sales,
        "support_alpha": ApplicationFactory(account=alpha, name="Support",
                                            provider_app_id="app-support"),
        "support_beta": ApplicationFactory(account=beta, name="Support",
                                           provider_app_id="remind-77"),
        "london": NumberFactory(application=sales, e164="+442079460001",
                                description="London desk"),
        "spare": NumberFactory(account=alpha, e164="+442079460002", description="spare"),
        "amsterdam": NumberFactory(account=beta, e164="+31201234567", description="Amsterdam"),
        "menu": make_document("Main menu", description="Routes callers to sales"),
        "support_template": make_document("Support template", is_template=True),
        "closed": make_document("Closed", description="After hours"),
    }
    return rows


# (list, parameters, the rows they keep); "@name" stands for the id of a world row.
FILTERS = [
    ("applications", {"q": "SALES"}, {"sales"}),
    ("applications", {"q": "remind"}, {"support_beta"}),  # the provider's id
    ("applications", {"account": "@alpha"}, {"sales", "support_alpha"}),
    ("applications", {"q": "support", "account": "@beta"}, {"support_beta"}),
    ("numbers", {"q": "+44 20 7946 0001"}, {"london"}),
    ("numbers", {"q": "amster"}, {"amsterdam"}),
    ("numbers", {"account": "@alpha"}, {"london", "spare"}),
    ("numbers", {"application": "@sales"}, {"london"}),
    ("numbers", {"application": "none"}, {"spare", "amsterdam"}),
    ("numbers", {"application": "none", "account": "@alpha"}, {"spare"}),
    ("nccos", {"search": "sales"}, {"menu"}),  # the description
    ("nccos", {"search": "CLOSED"}, {"closed"}),
    ("nccos", {"kind": "template"}, {"support_template"}),
    ("nccos", {"kind": "flow"}, {"menu", "closed"}),
    ("nccos", {"kind": "flow", "search": "hours"}, {"closed"}),
]


def resolve(params: dict, world: dict) -> dict:
    return {k: str(world[v[1:]].pk) if v.startswith("@") else v for k, v in params.items()}


def page_ids(response, pattern: str) -> list[int]:
    return [int(pk) for pk in re.findall(pattern, response.content.decode())]


@pytest.mark.parametrize(("name", "params", "kept"), FILTERS,
                         ids=[f"{name}-{params}" for name, params, _ in FILTERS])
def test_a_filter_keeps_the_same_rows_on_the_page_and_in_the_api(
        world, client_for, api_for, viewer_user, name, params, kept):
    page_path, api_path, row = LISTS[name]
    params = resolve(params, world)
    expected = [world[key].pk for key in kept]

    page = client_for(viewer_user).get(page_path, params)
    api = api_for(viewer_user).get(api_path, params)

    assert page.status_code == api.status_code == 200
    assert sorted(page_ids(page, row)) == sorted(expected)
    assert page_ids(page, row) == [item["id"] for item in api.json()["results"]]  # same order


BAD = [
    ("applications", "account", "²"),
    ("applications", "account", "Alpha"),
    ("applications", "q", "x" * 101),
    ("numbers", "account", "9223372036854775808"),
    ("numbers", "application", "unlinked"),
    ("nccos", "kind", "sleeping"),
    ("nccos", "search", "x" * 101),
]


def field_errors(html: str) -> dict[str, str]:
    """The filter form's fields shown with an error: their name and the error's text."""
    return {match[0]: match[1] for match in re.findall(
        r'<div class="field has-error">.*?name="(\w+)".*?<p class="error"[^>]*>(.*?)</p>',
        html, re.S)}


@pytest.mark.parametrize(("name", "parameter", "value"), BAD,
                         ids=[f"{name}-{parameter}" for name, parameter, _ in BAD])
def test_a_bad_filter_value_is_refused_on_the_page_and_in_the_api_naming_it(
        world, client_for, api_for, viewer_user, name, parameter, value):
    page_path, api_path, row = LISTS[name]

    page = client_for(viewer_user).get(page_path, {parameter: value})
    api = api_for(viewer_user).get(api_path, {parameter: value})

    # The page keeps no rows rather than a silently wider list, and says what to fix.
    assert page.status_code == 200 and page_ids(page, row) == []
    assert list(field_errors(page.content.decode())) == [parameter]
    assert api.status_code == 400
    assert api.json()["error"] == "invalid" and list(api.json()["fields"]) == [parameter]


def test_the_filter_form_keeps_the_choices_made(world, client_for, viewer_user):
    html = client_for(viewer_user).get("/numbers/", {
        "q": "spare", "account": world["alpha"].pk, "application": "none"}).content.decode()

    assert re.search(r'name="q"[^>]*value="spare"', html)
    assert f'<option value="{world["alpha"].pk}" selected>Alpha</option>' in html
    assert '<option value="none" selected>Not linked</option>' in html
    # Two accounts each have a "Support": the choice says whose.
    assert "Support (Alpha)" in html and "Support (Beta)" in html
