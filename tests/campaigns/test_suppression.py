"""Do-not-call lists: per account or global, numbers normalised, bad lines named."""

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import SuppressedNumber
from campaigns.services import suppression
from portal.models import AuditEntry
from portal.services import SYSTEM, Actor
from tests.factories import (
    CallFactory,
    ProviderAccountFactory,
    SuppressedNumberFactory,
    SuppressionListFactory,
)

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


# One number at a time: typed on the page, taken off by an admin --------------------------


def test_a_typed_number_is_added_once_through_the_lists_service_and_audited():
    listed = SuppressionListFactory()

    first = suppression.suppressed_number_add(
        actor=SYSTEM, suppression_list=listed, number="06 12345678", country="NL")
    again = suppression.suppressed_number_add(
        actor=SYSTEM, suppression_list=listed, number="+31 6 1234 5678")

    assert (first, again) == (("+31612345678", True), ("+31612345678", False))
    row = listed.numbers.get()
    assert (row.e164, row.source) == ("+31612345678", "upload")
    added = AuditEntry.objects.filter(action="suppression_list.add").order_by("pk")
    assert [entry.changes["added"] for entry in added] == [1, 0]


def test_a_typed_number_that_is_no_number_is_refused_on_its_field_and_nothing_is_written():
    listed = SuppressionListFactory()

    with pytest.raises(ValidationError) as refused:
        suppression.suppressed_number_add(
            actor=SYSTEM, suppression_list=listed, number="0612345", country="NL")

    assert refused.value.message_dict == {"number": [
        "0612345 is not a valid Netherlands number; check the digits, or give it in "
        "international format, e.g. +31 10 123 4567."
    ]}
    assert not listed.numbers.exists()
    assert not AuditEntry.objects.filter(action="suppression_list.add").exists()


@pytest.mark.parametrize(
    "typed", ["+31 20 123 4567", "0031 20 123 4567", "31201234567", "+31 (0)20 123-4567"]
)
def test_a_number_typed_international_or_as_digits_is_read_as_listed(typed):
    assert suppression.typed_e164(typed) == "+31201234567"


@pytest.mark.parametrize("typed", ["020 123 4567", "call me", ""])
def test_a_national_number_or_no_number_is_not_read(typed):
    assert suppression.typed_e164(typed) is None


def test_removing_a_number_deletes_only_it_and_audits_where_it_came_from(admin_user):
    call = CallFactory()
    listed = SuppressionListFactory()
    opted = SuppressedNumberFactory(
        suppression_list=listed, e164="+31201234567", source="opt_out", call=call)
    kept = SuppressedNumberFactory(suppression_list=listed, e164="+31201234568")
    elsewhere = SuppressedNumberFactory(e164="+31201234567")

    suppression.suppressed_number_remove(actor=Actor(user=admin_user), number=opted)

    assert list(SuppressedNumber.objects.order_by("pk")) == [kept, elsewhere]
    entry = AuditEntry.objects.get(action="suppression_list.remove")
    assert (entry.actor, entry.object_repr) == (admin_user, listed.name)
    assert entry.changes == {"number": "+31201234567", "source": "opt_out", "call": call.pk}
