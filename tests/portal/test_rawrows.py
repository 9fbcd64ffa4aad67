"""Rows read and written through a plain cursor are the rows the ORM reads and writes."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from calls.models import AnswerRequest, CallEvent
from portal import rawrows
from tests.factories import ApplicationFactory, CallFactory, ProviderAccountFactory
from voiceapps.models import ProviderAccount


@pytest.mark.django_db
def test_a_row_read_through_a_cursor_equals_the_orms():
    account = ProviderAccountFactory()
    ProviderAccount.objects.filter(pk=account.pk).update(calls_per_second=Decimal("2.5"),
                                                         last_check_ok=True)
    fields = rawrows.fields_of(ProviderAccount)
    read = rawrows.fetch_one(
        ProviderAccount, fields,
        f"SELECT {rawrows.columns(fields)} FROM {ProviderAccount._meta.db_table} WHERE id = %s",
        [account.pk])
    expected = ProviderAccount.objects.get(pk=account.pk)
    for field in fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
    assert read.calls_per_second == Decimal("2.5") and read.last_check_ok is True
    assert read.config() == expected.config()  # its secrets decrypt as before


@pytest.mark.django_db
def test_values_read_through_a_cursor_equal_values_list():
    call = CallFactory()
    CallEvent.objects.create(call=call, kind="status", status="ringing", payload={"n": 1},
                             provider_time=datetime(2026, 1, 5, 9, 0, 1, tzinfo=UTC))
    CallEvent.objects.create(call=call, kind="amd", status="human", payload=[1, "two"])
    names = ("call", "provider_time", "received_at", "payload", "is_duplicate", "kind")
    fields = tuple(CallEvent._meta.get_field(name) for name in names)
    read = rawrows.fetch_values(
        fields, f"SELECT {rawrows.columns(fields)} FROM {CallEvent._meta.db_table} "
                "WHERE call_id = %s ORDER BY id", [call.pk])
    # Times aware on every database (SQLite gives naive text), JSON parsed, booleans booleans.
    expected = CallEvent.objects.filter(call=call).order_by("id").values_list(
        "call", "provider_time", "received_at", "payload", "is_duplicate", "kind")
    assert [tuple(values) for values in read] == list(expected)
    assert read[0][1] == datetime(2026, 1, 5, 9, 0, 1, tzinfo=UTC) and read[1][3] == [1, "two"]


@pytest.mark.django_db
def test_a_row_inserted_through_a_cursor_reads_back_through_the_orm():
    application = ApplicationFactory(account=ProviderAccountFactory(), name="Line")
    rawrows.insert(AnswerRequest(application=application, method="GET",
                                 params={"uuid": "leg-1"}, status_code=200,
                                 response=[{"action": "talk", "text": "Hi"}], latency_ms=1.5))
    stored = AnswerRequest.objects.get(application=application)
    assert stored.params == {"uuid": "leg-1"}
    assert stored.response == [{"action": "talk", "text": "Hi"}]
    assert stored.received_at is not None and stored.latency_ms == 1.5


@pytest.mark.django_db
def test_rows_numbered_and_copied_in_are_the_rows_the_orm_would_store():
    call = CallFactory()
    when = datetime(2026, 1, 5, 9, 0, 1, 250000, tzinfo=UTC)
    awkward = {"detail": 'a "quoted"\ttab\nline \\ back', "nested": [1, None, {"ü": "€"}]}
    events = [CallEvent(call=call, kind="status", status="ringing", provider_time=when,
                        received_at=when, payload=awkward, dedupe_key="k1"),
              CallEvent(call=call, kind="amd", payload={}, is_duplicate=True,
                        out_of_range={"sip_code": "-5"}, dedupe_key="k2")]
    rawrows.insert_numbered(events)
    first, second = (CallEvent.objects.get(pk=event.pk) for event in events)
    assert (first.kind, first.status, first.payload) == ("status", "ringing", awkward)
    assert first.provider_time == when and first.delivery_id is None
    assert (second.kind, second.is_duplicate, second.out_of_range) == (
        "amd", True, {"sip_code": "-5"})
    assert second.provider_time is None
    # The keys came from the table's own numbering: the ORM's next row takes the next one.
    later = CallEvent.objects.create(call=call, kind="status", payload={})
    assert later.pk > second.pk > first.pk


@pytest.mark.django_db
def test_applying_converts_a_calls_event_for_the_copy_as_its_fields_would():
    from django.db import connection

    from calls.services.events import _event_values

    if connection.vendor != "postgresql":
        pytest.skip("_event_values feeds PostgreSQL's COPY; elsewhere bulk_create converts")

    def unwrapped(values):  # psycopg's JSON wrapper has no equality of its own
        return [getattr(value, "obj", value) for value in values]

    call = CallFactory()
    when = datetime(2026, 1, 5, 9, 0, 1, 250000, tzinfo=UTC)
    event = CallEvent(call=call, source="replay", kind="status", status="answered",
                      raw_status="answered", provider_time=when, received_at=when,
                      payload={"uuid": "leg-1"}, dedupe_key="k1", is_duplicate=True,
                      out_of_order=True, out_of_range={"sip_code": "-5"})

    # Every column but the key, in the model's order: a column added to CallEvent fails here.
    assert unwrapped(_event_values(event)) == unwrapped(rawrows._values(event, connection))
    rawrows.insert_numbered([event], _event_values)
    stored = CallEvent.objects.get(pk=event.pk)
    assert (stored.payload, stored.out_of_range, stored.provider_time) == (
        {"uuid": "leg-1"}, {"sip_code": "-5"}, when)


@pytest.mark.django_db
def test_rows_updated_together_read_back_as_the_values_set():
    from calls.models import Call

    first, second, untouched = CallFactory(), CallFactory(), CallFactory(status="queued")
    when = datetime(2026, 1, 5, 9, 0, 1, 250000, tzinfo=UTC)
    first.status, first.answered_at, first.price = "answered", when, Decimal("0.00570000")
    first.duration_seconds, first.tag = 27, {"ü": ['a "quoted"', None]}
    first.failure_detail = "line\tand \\ back"
    second.status, second.answered_at, second.price = "busy", None, None
    second.duration_seconds, second.tag, second.failure_detail = None, {}, ""
    # A column that is NULL in every row, as a batch of calls not yet ended writes it.
    first.ended_at = second.ended_at = None
    names = ["status", "answered_at", "price", "duration_seconds", "tag", "failure_detail",
             "ended_at"]

    rawrows.update_many([first, second], names)

    for expected in (first, second):
        stored = Call.objects.get(pk=expected.pk)
        assert [getattr(stored, name) for name in names] == [
            getattr(expected, name) for name in names]
    assert Call.objects.get(pk=untouched.pk).status == "queued"


@pytest.mark.django_db
def test_a_row_touched_by_an_insert_is_written_only_if_the_insert_stored_its_row():
    call = CallFactory(tag={"order": 1})
    answer = lambda: AnswerRequest(  # noqa: E731
        account=call.account, call=call, method="GET", status_code=200, response=[],
        latency_ms=1.0, replay_key="signature")
    call.tag = {"order": 2}
    assert rawrows.insert_unless_taken(answer(), touching=(call, ("tag",)))
    call.tag = {"order": 3}  # a replay of the same signature: neither row is written
    assert not rawrows.insert_unless_taken(answer(), touching=(call, ("tag",)))
    call.refresh_from_db()
    assert call.tag == {"order": 2}
    assert AnswerRequest.objects.get().call == call
