"""Do-not-call lists: per account or global, numbers normalised, bad lines named."""

import pytest
from django.core.exceptions import ValidationError

from campaigns.services import suppression
from portal.services import SYSTEM
from tests.factories import ProviderAccountFactory, SuppressionListFactory

pytestmark = pytest.mark.django_db


def test_an_upload_adds_each_number_once_and_names_bad_lines():
    listed = SuppressionListFactory()

    added, problems = suppression.suppressed_numbers_upload(
        actor=SYSTEM,
        suppression_list=listed,
        content="number\n+31 20 123 4567\n0031201234567\nhello\n\n+12125551234\n",
    )

    assert added == 2
    assert len(problems) == 1 and problems[0].startswith("Line 4:")
    assert sorted(listed.numbers.values_list("e164", flat=True)) == ["+12125551234", "+31201234567"]


def test_an_upload_excel_saved_with_semicolons_takes_the_first_column():
    listed = SuppressionListFactory()

    added, problems = suppression.suppressed_numbers_upload(
        actor=SYSTEM, suppression_list=listed,
        content="number;name\n+31 20 123 4567;Ann\n+12125551234;Bob, Jr.\n")

    assert (added, problems) == (2, [])
    assert sorted(listed.numbers.values_list("e164", flat=True)) == ["+12125551234", "+31201234567"]


def test_a_global_list_applies_to_every_account_and_an_account_list_to_its_own():
    ours, theirs = ProviderAccountFactory(), ProviderAccountFactory()
    suppression.suppressed_numbers_add(
        actor=SYSTEM,
        numbers=["+31201234567"],
        source="api",
        suppression_list=SuppressionListFactory(),
    )
    suppression.suppressed_numbers_add(
        actor=SYSTEM,
        numbers=["+12125551234"],
        source="api",
        suppression_list=SuppressionListFactory(account=theirs),
    )

    numbers = ["+31201234567", "+12125551234", "+31201234568"]
    assert suppression.suppressed_among(ours.pk, numbers) == {"+31201234567"}
    assert suppression.suppressed_among(theirs.pk, numbers) == {"+31201234567", "+12125551234"}


def test_an_upload_in_a_country_lists_its_national_numbers_in_international_format():
    listed = SuppressionListFactory()

    added, problems = suppression.suppressed_numbers_upload(
        actor=SYSTEM, suppression_list=listed, country="NL",
        content="number\n06 12345678\n+12125551234\n0612345\n")

    assert added == 2
    assert problems == [
        "Line 4: 0612345 is not a valid Netherlands number; check the digits, or give it in "
        "international format, e.g. +31 10 123 4567."
    ]
    assert sorted(listed.numbers.values_list("e164", flat=True)) == ["+12125551234", "+31612345678"]


def test_an_upload_without_a_country_still_refuses_national_numbers():
    listed = SuppressionListFactory()

    added, problems = suppression.suppressed_numbers_upload(
        actor=SYSTEM, suppression_list=listed, content="06 12345678\n")

    assert added == 0 and len(problems) == 1 and problems[0].startswith("Line 1:")
    assert not listed.numbers.exists()


def test_an_unknown_country_is_refused_naming_it():
    listed = SuppressionListFactory()

    with pytest.raises(ValidationError) as refused:
        suppression.suppressed_numbers_add(
            actor=SYSTEM, suppression_list=listed, numbers=["06 12345678"], source="api",
            country="QQ")

    assert list(refused.value.message_dict) == ["country"]
    assert not listed.numbers.exists()
