"""Contacts uploads: every row checked and kept, bad ones with their reason."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from campaigns.models import Contact, ContactImport, ContactState, SkipReason
from campaigns.services import contacts
from portal.services import SYSTEM
from tests.factories import CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db

CSV = """number,timezone,name,plan
+31 20 123 4567,,Ann,gold
+1 212 555 1234,,Bob,
+12125551234,,Bob again,
not a number,,Cy,
+31201234568,Mars/Olympus,Di,
+44 7400 123001,,Ed,
+1 800 555 0199,,Fay,
+61 2 1234 5678,Europe/Amsterdam,Gus,
"""


def by_row(upload: ContactImport) -> dict:
    return {c.row: c for c in upload.campaign.contacts.all()}


def test_every_row_is_kept_and_the_bad_ones_say_why():
    upload, replayed = contacts.contacts_import(
        actor=SYSTEM, campaign=CampaignFactory(), content=CSV, filename="list.csv"
    )
    rows = by_row(upload)

    assert not replayed and upload.status == "done"
    assert (upload.total_rows, upload.accepted_rows, upload.refused_rows) == (8, 5, 3)
    assert rows[2].e164 == "+31201234567" and rows[2].timezones == ["Europe/Amsterdam"]
    assert rows[2].variables == {"name": "Ann", "plan": "gold"}
    assert rows[3].timezones == ["America/New_York"] and rows[3].variables == {"name": "Bob"}
    assert rows[4].skip_reason == SkipReason.DUPLICATE
    assert rows[5].skip_reason == SkipReason.INVALID and "international format" in rows[5].problem
    assert "Unknown time zone Mars/Olympus" in rows[6].problem
    # London, Jersey, Guernsey and Man keep one clock: not ambiguous.
    assert rows[7].timezones == ["Europe/Guernsey"] and not rows[7].timezone_ambiguous
    # A toll-free North American number may be anywhere from Guam to Newfoundland.
    assert rows[8].timezone_ambiguous and len(rows[8].timezones) > 3
    assert rows[9].timezones == ["Europe/Amsterdam"]  # a given zone wins
    assert all(c.state == ContactState.PENDING for c in rows.values() if not c.skip_reason)


# Excel separates with ";" where the decimal mark is a comma (the Netherlands, Germany,
# France): such a file was refused for having no `number` column. "Text" files use tabs.
@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_file_excel_saved_with_semicolons_or_tabs_is_read_by_its_columns(separator):
    rows = [("number", "name", "amount"), ("+31 20 123 4567", "Ann", "12,50"),
            ("+12125551234", "Bob", "")]
    content = "\n".join(separator.join(row) for row in rows)

    upload, _ = contacts.contacts_import(actor=SYSTEM, campaign=CampaignFactory(), content=content)
    rows = by_row(upload)

    assert (upload.total_rows, upload.accepted_rows) == (2, 2)
    assert rows[2].e164 == "+31201234567"
    assert rows[2].variables == {"name": "Ann", "amount": "12,50"}
    assert rows[3].e164 == "+12125551234"


def test_a_number_already_in_the_campaign_is_a_duplicate():
    campaign = CampaignFactory()
    ContactFactory(campaign=campaign, raw_number="+31201234567")

    upload, _ = contacts.contacts_import(
        actor=SYSTEM, campaign=campaign, content="number\n0031 20 123 4567\n"
    )

    assert by_row(upload)[2].skip_reason == SkipReason.DUPLICATE


def test_a_file_without_a_number_column_is_refused_naming_the_file():
    with pytest.raises(ValidationError) as error:
        contacts.contacts_import(
            actor=SYSTEM, campaign=CampaignFactory(), content="phone,name\n+31201234567,Ann\n"
        )

    assert "number" in error.value.message_dict["file"][0]


def test_a_large_file_is_read_by_a_worker_in_chunks_with_progress(
    monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("campaigns.tasks.contact_import_run.delay", queued.append)
    monkeypatch.setattr(contacts, "CHUNK_ROWS", 200)
    lines = "".join(f"+3120{n:07d}\n" for n in range(contacts.INLINE_ROWS + 1))

    with django_capture_on_commit_callbacks(execute=True):
        upload, _ = contacts.contacts_import(
            actor=SYSTEM, campaign=CampaignFactory(), content="number\n" + lines
        )
    assert upload.status == "queued" and upload.processed_rows == 0 and queued == [upload.pk]

    contacts.contact_import_run(import_id=upload.pk)
    contacts.contact_import_run(import_id=upload.pk)  # run twice (acks late): nothing doubled
    upload.refresh_from_db()

    assert (upload.status, upload.processed_rows, upload.accepted_rows) == ("done", 501, 501)
    assert upload.campaign.contacts.count() == 501


def test_after_a_large_import_postgresql_plans_with_the_new_rows(monkeypatch):
    # Until autovacuum came by, a minute or more later, the campaign page's queries were
    # planned for an empty table and took 50 times longer on every poll.
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr("campaigns.tasks.contact_import_run.delay", lambda pk: None)
    lines = "".join(f"+3120{n:07d}\n" for n in range(contacts.INLINE_ROWS + 1))
    upload, _ = contacts.contacts_import(
        actor=SYSTEM, campaign=CampaignFactory(), content="number\n" + lines
    )

    contacts.contact_import_run(import_id=upload.pk)

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s",
                       [Contact._meta.db_table])
        assert cursor.fetchone()[0] == contacts.INLINE_ROWS + 1


# Dialers and CRMs export national numbers ("06 12345678"): a campaign's default country
# says whose they are. One with + or 00, or one not valid in that country, reads as before.
@pytest.mark.parametrize(("country", "number", "e164"), [
    ("NL", "06 12345678", "+31612345678"),
    ("NL", "020-123 4567", "+31201234567"),
    ("NL", "612345678", "+31612345678"),  # national first, without its trunk 0 too
    ("NL", "12125551234", "+12125551234"),  # no Dutch number: bare international digits
    ("NL", "+1 212 555 1234", "+12125551234"),
    ("US", "0044 7400 123001", "+447400123001"),  # 00 is a country code's prefix there too
    ("", "612345678", "+612345678"),  # no default country: bare digits are international
])
def test_a_number_without_a_country_code_is_read_in_the_campaigns_country_first(
    country, number, e164
):
    upload, _ = contacts.contacts_import(
        actor=SYSTEM, campaign=CampaignFactory(default_country=country),
        content=f"number\n{number}\n",
    )

    assert by_row(upload)[2].e164 == e164 and upload.accepted_rows == 1


def test_a_national_number_gets_the_zone_of_its_country():
    campaign = CampaignFactory(default_country="NL", default_timezone="America/New_York")

    added = contacts.contacts_add(actor=SYSTEM, campaign=campaign,
                                  entries=[{"number": "06 12345678"}])

    assert added[0].e164 == "+31612345678" and added[0].timezones == ["Europe/Amsterdam"]


@pytest.mark.parametrize(("country", "number", "problem"), [
    ("NL", "0612345", "0612345 is not a valid Netherlands number; check the digits, or give it "
                      "in international format, e.g. +31 10 123 4567."),
    # Written with its country code: the default country was not tried, nor is it named.
    ("NL", "+32 123", "+32 123 is not a number of country code +32; check the country code and the "
                      "digits, e.g. +31 20 123 4567."),
    # No default country: the digits were read as a country code ("12345 is not a number of
    # country code +1"); the person is told the two ways out.
    ("", "06 12345678", "06 12345678 has no country code: write it in international format, "
                        "e.g. +31 20 123 4567, or set the campaign's default country."),
    ("", "12345", "12345 has no country code: write it in international format, e.g. "
                  "+31 20 123 4567, or set the campaign's default country."),
    ("", "not-a-number", "Enter the number in international format, e.g. +31 20 123 4567."),
    ("", "+1 2345", "+1 2345 is not a number of country code +1; check the country code and the "
                    "digits, e.g. +31 20 123 4567."),
])
def test_a_number_read_nowhere_says_which_country_it_was_tried_in(country, number, problem):
    upload, _ = contacts.contacts_import(
        actor=SYSTEM, campaign=CampaignFactory(default_country=country),
        content=f"number\n{number}\n",
    )

    contact = by_row(upload)[2]
    assert contact.skip_reason == SkipReason.INVALID and contact.problem == problem
