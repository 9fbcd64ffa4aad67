"""A do-not-call list's page (campaigns/views.py, do-not-call block): find a number, add one
typed, remove one (admins, confirmed first), and empty states that say what to do next."""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import SuppressedNumber
from portal.models import AuditEntry
from tests.factories import (
    CallFactory,
    ProviderAccountFactory,
    SuppressedNumberFactory,
    SuppressionListFactory,
)

pytestmark = pytest.mark.django_db


def page_of(listed) -> str:
    return f"/campaigns/do-not-call/{listed.pk}/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_lists_page_says_it_is_a_do_not_call_list_in_its_title_and_heading(
    client_for, viewer_user
):
    """Its heading was the bare name under a title saying "Do-not-call list …", unlike the
    detail pages of accounts, applications or subscriptions; the breadcrumb keeps the name."""
    listed = SuppressionListFactory(name="Registry")

    page = text(client_for(viewer_user).get(page_of(listed)))

    assert "<title>Do-not-call list Registry · Callboard</title>" in page
    assert "<h1>Do-not-call list Registry</h1>" in page


# Is this number on the list? ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_role_asks_whether_a_number_typed_as_people_type_it_is_on_the_list(
    client_for, personas, role
):
    listed = SuppressionListFactory()
    SuppressedNumberFactory(suppression_list=listed, e164="+31201234567")
    SuppressedNumberFactory(suppression_list=listed, e164="+12125551234")
    client = client_for(personas[role])

    page = text(client.get(page_of(listed)))
    assert "Is this number on the list?" in page
    on = text(client.get(page_of(listed), {"number": "0031 20 123 4567"}))
    off = text(client.get(page_of(listed), {"number": "+31 20 123 4568"}))

    assert "1 number on this list matches “0031 20 123 4567”." in on
    assert "+31 20 123 4567" in on and "+1 212-555-1234" not in on
    assert "“+31 20 123 4568” is not on this list." in off


def test_a_search_without_digits_says_what_to_type_and_lists_nothing(client_for, viewer_user):
    listed = SuppressionListFactory()
    SuppressedNumberFactory(suppression_list=listed, e164="+31201234567")

    page = text(client_for(viewer_user).get(page_of(listed), {"number": "call me"}))

    assert "Type the number's digits, e.g. +31 20 123 4567." in page
    assert "+31 20 123 4567</td>" not in page


# Adding one number by typing it ------------------------------------------------------------


def test_an_operator_adds_the_number_of_someone_who_phoned(client_for, operator_user):
    listed = SuppressionListFactory(account=ProviderAccountFactory(name="Sales"))
    client = client_for(operator_user)

    added = client.post(
        page_of(listed), {"add-number": "06 12345678", "add-country": "NL"}, follow=True)

    assert added.status_code == 200
    assert flashes(added) == ["+31 6 12345678 added: no campaign of Sales will call it."]
    row = listed.numbers.get()
    assert (row.e164, row.source) == ("+31612345678", "upload")
    assert "Added on this page" in text(added)


def test_numbers_uploaded_from_a_file_say_which_file_not_added_on_this_page(
    client_for, operator_user
):
    listed = SuppressionListFactory()
    client = client_for(operator_user)

    uploaded = client.post(
        page_of(listed),
        {"file": SimpleUploadedFile("complaints.csv", b"number\n+31612345678\n", "text/csv")},
        follow=True,
    )

    assert "Uploaded from complaints.csv" in text(uploaded)
    assert "Added on this page" not in text(uploaded)
    assert listed.numbers.get().filename == "complaints.csv"


def test_a_number_listed_already_is_said_so_and_kept_once(client_for, operator_user):
    listed = SuppressionListFactory()
    SuppressedNumberFactory(suppression_list=listed, e164="+31612345678")

    again = client_for(operator_user).post(
        page_of(listed), {"add-number": "+31 6 1234 5678"}, follow=True)

    assert flashes(again) == ["+31 6 12345678 is on this list already."]
    assert listed.numbers.count() == 1


def test_a_typed_number_that_is_no_number_is_refused_on_its_field(client_for, operator_user):
    listed = SuppressionListFactory()

    refused = client_for(operator_user).post(
        page_of(listed), {"add-number": "0612345", "add-country": "NL"})

    assert refused.status_code == 200
    form = refused.context["add_form"]
    assert form.errors["number"][0].startswith("0612345 is not a valid Netherlands number")
    assert not refused.context["form"].is_bound  # the upload form is left alone
    assert not listed.numbers.exists()


# Removing a number (admins) ----------------------------------------------------------------


def confirmations(page: str) -> list[str]:
    return [html.unescape(found) for found in re.findall(r'data-confirm="([^"]*)"', page)]


def test_each_row_has_a_remove_button_for_admins_confirmed_first(client_for, admin_user):
    listed = SuppressionListFactory(name="Complaints")
    SuppressedNumberFactory(suppression_list=listed, e164="+31201234567")

    page = client_for(admin_user).get(page_of(listed)).content.decode()

    assert confirmations(page) == [
        "Remove +31 20 123 4567 from Complaints? Campaigns may call this number again. "
        "Contacts already skipped for it stay skipped."
    ]
    assert 'data-confirm-label="Remove"' in page


def test_the_confirmation_says_when_the_callee_opted_out_by_pressing_a_key(
    client_for, admin_user
):
    call = CallFactory()
    listed = SuppressionListFactory(name="Opt-outs", for_opt_outs=True)
    SuppressedNumberFactory(suppression_list=listed, e164="+31201234567", source="opt_out",
                            call=call)

    page = client_for(admin_user).get(page_of(listed)).content.decode()

    assert confirmations(page) == [
        f"Remove +31 20 123 4567 from Opt-outs? This person opted out themselves, by pressing "
        f"the opt-out key in call {call.pk}: removing it means campaigns may call someone who "
        "asked not to be called. Contacts already skipped for it stay skipped."
    ]
    assert f"Opted out by pressing a key in <a href=\"/calls/{call.pk}/\">call {call.pk}</a>" \
        in page


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_below_admin_no_remove_button_shows_and_a_removal_is_refused(client_for, personas, role):
    listed = SuppressionListFactory()
    SuppressedNumberFactory(suppression_list=listed, e164="+31201234567")
    client = client_for(personas[role])

    page = client.get(page_of(listed)).content.decode()
    refused = client.post(f"{page_of(listed)}remove", {"number": "+31201234567"})

    assert "data-confirm" not in page and ">Remove</button>" not in page
    assert refused.status_code == 403
    assert listed.numbers.count() == 1
    assert not AuditEntry.objects.filter(action="suppression_list.remove").exists()


def test_an_admin_removes_a_number_sees_it_said_and_it_is_audited(client_for, admin_user):
    listed = SuppressionListFactory(name="Complaints")
    SuppressedNumberFactory(suppression_list=listed, e164="+31201234567")
    SuppressedNumberFactory(suppression_list=listed, e164="+31201234568")
    searched = f"{page_of(listed)}?number=%2B3120"

    removed = client_for(admin_user).post(
        f"{page_of(listed)}remove", {"number": "+31201234567", "next": searched}, follow=True)

    assert removed.redirect_chain == [(searched, 302)]
    assert flashes(removed) == [
        "+31 20 123 4567 removed from Complaints: campaigns may call it again."
    ]
    assert list(listed.numbers.values_list("e164", flat=True)) == ["+31201234568"]
    entry = AuditEntry.objects.get(action="suppression_list.remove")
    assert (entry.actor, entry.changes["number"]) == (admin_user, "+31201234567")


def test_removing_a_number_not_on_the_list_says_so_and_removes_nothing(client_for, admin_user):
    listed = SuppressionListFactory()
    SuppressedNumberFactory(e164="+31201234567")  # on another list

    response = client_for(admin_user).post(
        f"{page_of(listed)}remove", {"number": "+31201234567"}, follow=True)

    assert flashes(response) == ["That number is not on this list; nothing was removed."]
    assert SuppressedNumber.objects.count() == 1


# Who may do what, and what an empty page says -------------------------------------------------


@pytest.mark.parametrize(("role", "adds"), [("viewer", False), ("operator", True),
                                            ("admin", True)])
def test_operators_and_admins_add_numbers_viewers_only_read(client_for, personas, role, adds):
    listed = SuppressionListFactory()
    client = client_for(personas[role])

    page = text(client.get(page_of(listed)))
    posted = client.post(page_of(listed), {"add-number": "+31201234567"})

    assert ("Add a number" in page) is adds
    assert posted.status_code == (302 if adds else 403)
    assert listed.numbers.exists() is adds


def test_an_empty_list_tells_an_operator_how_to_add_numbers(client_for, operator_user):
    listed = SuppressionListFactory(account=ProviderAccountFactory(name="Sales"))

    page = text(client_for(operator_user).get(page_of(listed)))

    assert "No numbers on this list yet" in page
    assert ("When someone asks not to be called, type their number under "
            "<strong>Add a number</strong>") in page
    assert "Campaigns of Sales never call a number on this list." in page


def test_an_empty_list_tells_a_viewer_who_adds_numbers(client_for, viewer_user):
    page = text(client_for(viewer_user).get(page_of(SuppressionListFactory())))

    assert "An operator adds numbers here, one typed or a file" in page
    assert "type their number under" not in page


@pytest.mark.parametrize(("role", "says"), [
    ("viewer", "An operator or admin creates lists; you can read them here."),
    ("operator", "with the form above, then add numbers to it one by one or upload a file"),
])
def test_no_lists_yet_says_what_a_list_is_for_and_what_to_do(client_for, personas, role, says):
    page = text(client_for(personas[role]).get("/campaigns/do-not-call/"))

    assert "No do-not-call lists yet" in page and says in page


def test_the_lists_page_says_how_many_numbers_each_list_holds_in_one_query(
    client_for, viewer_user
):
    client = client_for(viewer_user)
    SuppressionListFactory(name="Registry")
    client.get("/campaigns/do-not-call/")  # the session and user, read once
    with CaptureQueriesContext(connection) as one:
        client.get("/campaigns/do-not-call/")
    for name in ("Complaints", "Opt-outs"):
        listed = SuppressionListFactory(name=name)
        for e164 in ("+31612345678", "+31612345679"):
            SuppressedNumberFactory(suppression_list=listed, e164=e164)
    with CaptureQueriesContext(connection) as many:
        page = text(client.get("/campaigns/do-not-call/"))

    assert re.search(r"Complaints</a></td>\s*<td>[^<]*</td>\s*<td[^>]*>2</td>", page), page
    assert re.search(r"Registry</a></td>\s*<td>[^<]*</td>\s*<td[^>]*>0</td>", page)
    assert len(many) == len(one)
