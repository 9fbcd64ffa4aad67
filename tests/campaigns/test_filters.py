"""A do-not-call list's one filter, `number`, a campaign's contacts' filters (number, state,
outcome, skip_reason) and the campaigns' (q, status): pages and API read them through them (the
pages and the API are tested in test_suppression_pages.py, test_suppression_api.py,
test_pages.py and test_api.py)."""

import pytest

from campaigns.filters import CampaignFilter, ContactFilter, SuppressedNumberFilter
from campaigns.models import Campaign, CampaignStatus
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    SuppressedNumberFactory,
    SuppressionListFactory,
)

pytestmark = pytest.mark.django_db

LISTED = ["+31201234567", "+31612345678", "+12125551234", "+441201234567"]


@pytest.fixture
def listed():
    numbers = SuppressionListFactory()
    for e164 in LISTED:
        SuppressedNumberFactory(suppression_list=numbers, e164=e164)
    return numbers


def found(listed, typed: str) -> list[str]:
    filters = SuppressedNumberFilter({"number": typed}, queryset=listed.numbers.all())
    assert filters.is_valid(), filters.errors
    return sorted(filters.qs.values_list("e164", flat=True))


@pytest.mark.parametrize(
    "typed",
    ["+31201234567", "+31 20 123 4567", "0031 20 123 4567", "+31 (0)20 123 4567",
     "31201234567", "+31-20-123-4567"],
)
def test_a_number_typed_as_people_type_it_finds_its_row(listed, typed):
    assert found(listed, typed) == ["+31201234567"]


def test_a_national_number_finds_the_numbers_holding_its_digits_without_the_trunk_zero(listed):
    # A list has no country: "020 123 4567" matches +31 20 123 4567 and, as digits, also the
    # UK number holding 201234567; both are shown, so nobody is told "not listed" wrongly.
    assert found(listed, "020 123 4567") == ["+31201234567", "+441201234567"]


def test_a_country_code_alone_finds_that_countrys_numbers(listed):
    assert found(listed, "+31") == ["+31201234567", "+31612345678"]


def test_a_number_not_listed_finds_nothing(listed):
    assert found(listed, "+31 20 123 4568") == []


def test_text_without_digits_is_refused_naming_the_parameter(listed):
    filters = SuppressedNumberFilter({"number": "call me"}, queryset=listed.numbers.all())

    assert not filters.is_valid()
    assert filters.errors == {"number": ["Type the number's digits, e.g. +31 20 123 4567."]}


# A campaign's contacts: ContactFilter (its page, live table, results CSV and API) ------------

@pytest.fixture
def contacts():
    campaign = CampaignFactory()
    made = {
        "busy": ContactFactory(campaign=campaign, e164="+31201234567", state="retry",
                               outcome="busy"),
        "done": ContactFactory(campaign=campaign, e164="+31612345678", state="done",
                               outcome="answered"),
        "invalid": ContactFactory(campaign=campaign, raw_number="call me", e164="",
                                  state="skipped", skip_reason="invalid"),
        "waiting": ContactFactory(campaign=campaign, e164="+12125551234"),
    }
    ContactFactory(e164="+31201234567", state="retry", outcome="busy")  # another campaign's
    return campaign, made


def contacts_found(campaign, params: dict) -> list[int]:
    filters = ContactFilter(params, queryset=campaign.contacts.all())
    assert filters.is_valid(), filters.errors
    return sorted(filters.qs.values_list("pk", flat=True))


@pytest.mark.parametrize("typed", ["+31 20 123 4567", "0031 20 123 4567", "020 123 4567",
                                   "31201234567", "201234567"])
def test_a_contacts_number_typed_as_people_type_it_finds_it_as_the_do_not_call_search_does(
    contacts, typed
):
    campaign, made = contacts
    assert contacts_found(campaign, {"number": typed}) == [made["busy"].pk]


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"state": "retry"}, ["busy"]),
        ({"outcome": "busy"}, ["busy"]),
        ({"outcome": "answered", "state": "done"}, ["done"]),
        ({"skip_reason": "invalid"}, ["invalid"]),
        ({"number": "+31", "state": "done"}, ["done"]),
        ({"state": "", "outcome": "", "number": ""}, ["busy", "done", "invalid", "waiting"]),
    ],
)
def test_contacts_are_found_by_state_outcome_and_skip_reason_together(contacts, params, names):
    campaign, made = contacts
    assert contacts_found(campaign, params) == sorted(made[name].pk for name in names)


def test_a_contact_filter_names_each_bad_value(contacts):
    campaign, _ = contacts
    filters = ContactFilter({"state": "Busy", "outcome": "engaged", "number": "call me"},
                            queryset=campaign.contacts.all())

    assert not filters.is_valid()
    assert set(filters.errors) == {"state", "outcome", "number"}
    assert filters.errors["number"] == ["Type the number's digits, e.g. +31 20 123 4567."]


def test_the_contact_states_read_as_the_table_shows_them():
    choices = dict(ContactFilter().form.fields["state"].choices)
    assert choices["retry"] == "Waiting for a retry" and choices["pending"] == (
        "Waiting for its first call")


@pytest.mark.parametrize(("params", "names"), [
    ({"q": "survey"}, ["Rehearsal: Spring survey", "Spring survey", "Autumn survey"]),
    ({"q": "  spring "}, ["Rehearsal: Spring survey", "Spring survey"]),
    ({"status": "paused"}, ["Autumn survey"]),
    ({"q": "survey", "status": "running"}, ["Spring survey"]),
    ({"q": "", "status": ""}, ["Election poll", "Rehearsal: Spring survey", "Spring survey",
                               "Autumn survey"]),
])
def test_campaigns_are_found_by_name_and_status(params, names):
    spring = CampaignFactory(name="Spring survey", status=CampaignStatus.RUNNING)
    CampaignFactory(name="Autumn survey", status=CampaignStatus.PAUSED)
    CampaignFactory(name="Rehearsal: Spring survey", rehearsal_of=spring)
    CampaignFactory(name="Election poll", status=CampaignStatus.RUNNING)
    filters = CampaignFilter(params, queryset=Campaign.objects.all())

    assert filters.is_valid(), filters.errors
    assert sorted(campaign.name for campaign in filters.qs) == sorted(names)
