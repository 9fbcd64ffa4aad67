"""A do-not-call list's one filter, `number`: page and API read it through it (the pages and
the API are tested in test_suppression_pages.py and test_suppression_api.py)."""

import pytest

from campaigns.filters import SuppressedNumberFilter
from tests.factories import SuppressedNumberFactory, SuppressionListFactory

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
