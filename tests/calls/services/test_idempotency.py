"""Idempotency-Key: a retried request returns the same call and never dials twice."""

from datetime import timedelta

import pytest

from calls import tasks
from calls.models import Call
from calls.services import sending
from tests.calls.placing import api_body, vonage_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_for(monkeypatch):
    """Enqueued calls are sent at once, in this process, to the fake provider."""
    monkeypatch.setattr(tasks.call_submit, "delay",
                        lambda call_id: sending.call_submit(call_id=call_id))


def post(api, body, key):
    return api.post("/api/v1/calls", body, format="json", headers={"Idempotency-Key": key})


def test_the_same_key_twice_makes_one_call_and_one_provider_request(
        fake_provider, api_for, operator_user, sent_for, django_capture_on_commit_callbacks):
    setup = vonage_setup(fake_provider)
    setup.accept()
    api = api_for(operator_user)
    with django_capture_on_commit_callbacks(execute=True):
        first = post(api, api_body(setup), "order-4711")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = post(api, api_body(setup), "order-4711")

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["status"] == "submitted"  # the replay shows the call as it is now
    assert callbacks == []  # nothing enqueued the second time
    assert Call.objects.count() == 1
    assert len(setup.create_requests()) == 1


def test_the_same_key_with_a_different_body_is_a_422(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    api = api_for(operator_user)
    first = post(api, api_body(setup), "order-4712")
    response = post(api, api_body(setup, options={"ringing_timer": 20}), "order-4712")

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "idempotency_conflict"
    assert f"different request (call {first.json()['id']})" in body["detail"]
    assert Call.objects.count() == 1


def test_a_key_is_free_again_after_24_hours(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    api = api_for(operator_user)
    old = post(api, api_body(setup), "daily-run").json()
    Call.objects.filter(pk=old["id"]).update(
        created_at=Call.objects.get(pk=old["id"]).created_at - timedelta(hours=25))

    new = post(api, api_body(setup, options={"ringing_timer": 20}), "daily-run")
    assert new.status_code == 202
    assert new.json()["id"] != old["id"]
    assert Call.objects.get(pk=old["id"]).idempotency_key == ""


def test_keys_belong_to_their_user(fake_provider, api_for, operator_user, admin_user):
    setup = vonage_setup(fake_provider)
    mine = post(api_for(operator_user), api_body(setup), "shared-key")
    theirs = post(api_for(admin_user), api_body(setup, to={"type": "app", "user": "x"}),
                  "shared-key")
    assert (mine.status_code, theirs.status_code) == (202, 202)
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_key_must_be_printable_and_short(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    for key in ("has space", "x" * 201):
        response = post(api_for(operator_user), api_body(setup), key)
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["fields"]
    assert Call.objects.count() == 0


def test_without_a_key_each_request_is_a_new_call(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    api = api_for(operator_user)
    ids = {api.post("/api/v1/calls", api_body(setup), format="json").json()["id"]
           for _ in range(2)}
    assert len(ids) == 2


def test_a_form_sent_twice_places_one_call(fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    data = {"account": setup.account.pk, "application": setup.application.pk,
            "to_type": "phone", "to_phone_number": "+31612345678",
            "from_number": "+31201234567", "flow_type": "application",
            "idempotency_key": "form-3f2a"}
    client = client_for(operator_user)
    first = client.post("/calls/new", data)
    second = client.post("/calls/new", data, follow=True)

    call = Call.objects.get()
    assert first.url == f"/calls/{call.pk}/"
    assert second.redirect_chain[-1][0] == f"/calls/{call.pk}/"
    assert "already sent" in second.content.decode()
