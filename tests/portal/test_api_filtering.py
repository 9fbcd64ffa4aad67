"""Every list in the API refuses a query parameter it does not read: a typo in a filter
must be a 400 naming it, never a silently wider list."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.generics import GenericAPIView

from tests import factories


def list_paths() -> list[str]:
    """The API's paged GET endpoints without path arguments (its lists), read from its URLconf."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and "<" not in route:
                view = getattr(pattern.callback, "view_class", None)
                if (
                    view is not None
                    and issubclass(view, GenericAPIView)
                    and hasattr(view, "get")
                    and view.pagination_class is not None
                ):
                    found.append("/" + route)

    walk(get_resolver().url_patterns, "")
    return sorted(path for path in found if path.startswith("/api/v1/"))


LISTS = list_paths()


def test_the_walk_finds_the_lists_people_use():
    assert {"/api/v1/calls", "/api/v1/accounts", "/api/v1/users", "/api/v1/audit"} <= set(LISTS)


@pytest.mark.django_db
@pytest.mark.parametrize("path", LISTS)
def test_an_unknown_query_parameter_is_a_400_naming_it(path, api_for, admin_user):
    response = api_for(admin_user).get(path, {"stauts": "failed"})

    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {"stauts": ["Unknown parameter."]}


@pytest.mark.django_db
@pytest.mark.parametrize("path", LISTS)
def test_paging_parameters_are_still_read(path, api_for, admin_user):
    api = api_for(admin_user)
    first = api.get(path)
    assert first.status_code == 200, first.content
    paging = {"limit": 1} if "count" in first.json() else {"page_size": 1}

    response = api.get(path, paging)

    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) <= 1


@pytest.mark.django_db
@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("value", ["null", "-1", "2.5", "٣"])
def test_a_paging_parameter_that_is_not_a_number_is_a_400_naming_it(path, value, api_for,
                                                                     admin_user):
    # DRF reads it as absent: a client's typo would get the first page without a word.
    api = api_for(admin_user)
    names = ["limit", "offset"] if "count" in api.get(path).json() else ["page_size"]

    for name in names:
        response = api.get(path, {name: value})

        assert response.status_code == 400, (name, response.content)
        assert list(response.json()["fields"]) == [name]


# The API's object endpoints (portal.api.generics.ObjectApi) read no query parameter either.
OBJECTS = {
    "api_alert_rule": factories.AlertRuleFactory,
    "api_alert_channel": factories.AlertChannelFactory,
    "api_call_profile": factories.CallProfileFactory,
    "api_forwarding_subscription": factories.SubscriptionFactory,
    "api_account": factories.ProviderAccountFactory,
    "api_application": factories.ApplicationFactory,
    "api_number": factories.NumberFactory,
}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "factory"), OBJECTS.items())
def test_an_object_endpoint_refuses_an_unknown_query_parameter_too(name, factory, api_for,
                                                                   admin_user):
    api = api_for(admin_user)
    url = reverse(name, args=[factory().pk])
    assert api.get(url).status_code == 200

    response = api.get(url, {"stauts": "failed"})

    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {"stauts": ["Unknown parameter."]}
