"""The hosted answer URL and hosted menus, as Vonage calls them (vonage.md 2.1, 2.3, 2.7)."""

import hashlib
import json
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import psycopg
import pytest
from django.db import connection

from calls.models import AnswerRequest, CallEvent
from portal.services import SYSTEM
from tests.factories import ApplicationFactory, CallFactory, ProviderAccountFactory
from tests.fakes.provider_accounts import vonage_signed_headers
from tests.voiceapps.ncco_helpers import make_document
from voiceapps.hooks import answer_url
from voiceapps.ncco import services, validate_ncco

pytestmark = pytest.mark.django_db

UUID = "63f61863-4a51-4f6b-86e1-46edebcf9356"
CONVERSATION = "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
PARAMS = {"to": "447700900000", "from": "447700900001", "uuid": UUID,
          "conversation_uuid": CONVERSATION}


def path_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def signed_get(client, url: str, params: dict, **claims):
    """A GET answer request signed as Vonage does: hash of the query as compact JSON."""
    query = urlencode(params)
    compact = json.dumps(dict(parse_qsl(query, keep_blank_values=True)), separators=(",", ":"))
    headers = vonage_signed_headers(
        b"", payload_hash=claims.pop("payload_hash",
                                     hashlib.sha256(compact.encode()).hexdigest()), **claims)
    return client.get(f"{path_of(url)}?{query}", headers=headers)


def signed_post(client, url: str, payload: dict, *, signed: bool = True, **claims):
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = vonage_signed_headers(body, **claims) if signed else {}
    return client.post(path_of(url), data=body, content_type="application/json",
                       headers=headers)


@pytest.fixture
def account():
    return ProviderAccountFactory()


@pytest.fixture
def app(account):
    return ApplicationFactory(account=account, ncco_document=make_document())


def test_get_answer_request_signed_by_vonage_gets_the_rendered_ncco(client, app):
    response = signed_get(client, answer_url(app), PARAMS)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == [
        {"action": "talk", "text": "Hello 447700900001, you called 447700900000."}]
    recorded = AnswerRequest.objects.get()
    assert (recorded.method, recorded.status_code, recorded.application) == ("GET", 200, app)
    assert recorded.params == PARAMS and recorded.response == response.json()
    assert recorded.ncco_version == app.ncco_document.latest_version
    assert 0 < recorded.latency_ms < 5000 and recorded.missing_placeholders == []


def test_post_answer_request_signed_by_vonage_gets_the_rendered_ncco(client, app):
    response = signed_post(client, answer_url(app), PARAMS)
    assert response.status_code == 200
    assert response.json()[0]["text"] == "Hello 447700900001, you called 447700900000."
    assert AnswerRequest.objects.get().method == "POST"


@pytest.mark.parametrize("tamper", [
    {"secret": "not-the-account-secret-0123456789"},
    {"payload_hash": "0" * 64},
    {"iss": "Someone"},
    {"iat": 1_000_000_000},
])
def test_get_with_a_bad_signature_is_refused_401(client, app, tamper):
    response = signed_get(client, answer_url(app), PARAMS, **tamper)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    recorded = AnswerRequest.objects.get()
    assert recorded.status_code == 401 and recorded.response == response.json()


def test_get_signed_for_other_query_parameters_is_refused(client, app):
    signed_for = hashlib.sha256(json.dumps({**PARAMS, "to": "1"}, separators=(",", ":"))
                                .encode()).hexdigest()
    response = signed_get(client, answer_url(app), PARAMS, payload_hash=signed_for)
    assert response.status_code == 401


@pytest.mark.parametrize("tamper", [
    {"signed": False},
    {"secret": "wrong-secret-0123456789abcdef0123456789"},
    {"payload_hash": hashlib.sha256(b"{}").hexdigest()},
])
def test_post_with_a_bad_or_missing_signature_is_refused_401(client, app, tamper):
    response = signed_post(client, answer_url(app), PARAMS, **tamper)
    assert response.status_code == 401
    assert "signature was refused" in response.json()["detail"]


def test_account_without_signature_secret_relies_on_the_url_token(client):
    app = ApplicationFactory(account__signature_secret="", ncco_document=make_document())
    response = client.get(path_of(answer_url(app)), PARAMS)
    assert response.status_code == 200


def test_unknown_token_or_application_is_a_json_404(client, app):
    other = ApplicationFactory(account__name="Other", ncco_document=app.ncco_document,
                               name="Other app")
    good = path_of(answer_url(app))
    for path in (good.replace(app.account.webhook_token, "nope"),
                 good.rsplit("/", 1)[0] + "/999999",
                 path_of(answer_url(other)).replace(other.account.webhook_token,
                                                    app.account.webhook_token)):
        response = client.get(path, PARAMS)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert not AnswerRequest.objects.exists()


def test_an_answer_url_changed_or_deleted_here_answers_as_it_is_now(client, app):
    # The answer URL is kept a second per process: a change made here must not wait for it.
    assert signed_get(client, answer_url(app), PARAMS).status_code == 200
    app.ncco_document = None
    app.save()
    assert signed_get(client, answer_url(app), PARAMS).status_code == 404
    url = answer_url(app)
    app.delete()
    response = client.get(path_of(url), PARAMS)
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_application_without_hosted_flow_answers_404_and_is_recorded(client, account):
    app = ApplicationFactory(account=account, flow_type="url", answer_url="https://example.com/a")
    response = signed_get(client, answer_url(app), PARAMS)
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert AnswerRequest.objects.get().status_code == 404


def test_body_that_is_not_a_json_object_is_a_400(client):
    app = ApplicationFactory(account__signature_secret="", ncco_document=make_document())
    response = client.post(path_of(answer_url(app)), data="[1]", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "invalid"
    assert client.put(path_of(answer_url(app))).status_code == 405


def test_latest_version_is_served_unless_one_is_pinned(client, app):
    document = app.ncco_document
    services.ncco_document_update(actor=SYSTEM, document=document,
                                  content=[{"action": "talk", "text": "Version two"}])
    assert signed_post(client, answer_url(app), PARAMS).json()[0]["text"] == "Version two"
    app.pinned_version = document.versions.get(number=1)
    app.save()
    response = signed_post(client, answer_url(app), PARAMS)
    assert response.json()[0]["text"].startswith("Hello ")
    assert AnswerRequest.objects.order_by("id").last().ncco_version.number == 1


HOSTILE = ['say "hi" \\o/', "line one\nline two\r\n\ttab", "☎ Zoë 東京 🙂 \u2028\u2029",
           '"}]} , {"action": "connect"', "</script><script>alert(1)</script>", "{{to}}"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_one_json_string(client, account, value):
    content = [{"action": "talk", "text": "From {{from}} for {{custom.name}}."}]
    app = ApplicationFactory(account=account, ncco_document=make_document(content=content),
                             variables={"name": value})
    response = signed_post(client, answer_url(app), {**PARAMS, "from": value})
    document = json.loads(response.content.decode("utf-8"))
    assert document == [{"action": "talk", "text": f"From {value} for {value}."}]
    assert validate_ncco(document).valid


def test_missing_values_become_empty_and_are_noted(client, account):
    content = [{"action": "talk", "text": "Account {{custom.account}} for {{conversation_uuid}}"}]
    app = ApplicationFactory(account=account, ncco_document=make_document(content=content))
    response = signed_post(client, answer_url(app), {"to": "447700900000", "uuid": UUID})
    assert response.json()[0]["text"] == "Account  for "
    assert AnswerRequest.objects.get().missing_placeholders == [
        "custom.account", "conversation_uuid"]


def test_the_call_tag_overrides_application_variables_and_the_call_is_linked(client, account):
    content = [{"action": "talk", "text": "{{custom.greeting}} {{custom.name}}"}]
    app = ApplicationFactory(account=account, ncco_document=make_document(content=content),
                             variables={"greeting": "Hello", "name": "caller"})
    call = CallFactory(account=account, provider="vonage", application=app,
                       provider_call_id=UUID, tag={"name": "Ann", "order": 42})
    response = signed_post(client, answer_url(app), PARAMS)
    assert response.json()[0]["text"] == "Hello Ann"
    recorded = AnswerRequest.objects.get()
    assert recorded.call == call
    call.refresh_from_db()
    assert call.ncco_version == app.ncco_document.latest_version
    assert response.json() == [{"action": "talk", "text": "Hello Ann"}]  # all of it


def test_a_leg_id_met_twice_answers_for_the_newest_call(client, account):
    content = [{"action": "talk", "text": "Hello {{custom.name}}"}]
    app = ApplicationFactory(account=account, ncco_document=make_document(content=content))
    newest = CallFactory(account=account, application=app, provider_call_id=UUID,
                         tag={"name": "Ann"})
    older = CallFactory(account=account, application=app, provider_call_id=UUID,
                        tag={"name": "Bob"})
    type(older).objects.filter(pk=older.pk).update(created_at=newest.created_at - timedelta(1))
    assert signed_post(client, answer_url(app), PARAMS).json()[0]["text"] == "Hello Ann"
    assert AnswerRequest.objects.get().call == newest


def test_answer_url_stays_cheap(client, app, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        assert signed_post(client, answer_url(app), PARAMS).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_an_answer_after_postgresql_dropped_the_connection_is_served_and_recorded(client, app):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's connections only")
    assert signed_get(client, answer_url(app), PARAMS).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        # A restart or failover does the same to every connection; 5 s to see it gone.
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", [backend]).fetchone()[0]
    connection.close_if_unusable_or_obsolete()  # as a WSGI server's next request begins

    response = signed_get(client, answer_url(app), {**PARAMS, "uuid": "another-leg"})

    assert response.status_code == 200
    assert AnswerRequest.objects.filter(status_code=200).count() == 2


# Hosted menus ------------------------------------------------------------------------------

@pytest.fixture
def menu_app(account, settings):
    sales = make_document("Sales", [{"action": "talk", "text": "Sales, {{from}} speaking?"}])
    support = make_document("Support", [{"action": "talk", "text": "Support here."}])
    fallback = make_document("Sorry", [{"action": "talk", "text": "Sorry, goodbye."}])
    url = services.menu_url(token="ACCOUNT_TOKEN", version_id=0)
    document = make_document("Menu", [
        {"action": "talk", "text": "Press 1 for sales or say support.", "bargeIn": True},
        services.menu_input_action(url=url) | {"type": ["dtmf", "speech"]},
    ], menu={"digits": {"1": sales.pk}, "words": {"support": support.pk},
             "default": fallback.pk})
    return ApplicationFactory(account=account, ncco_document=document, name="Menu line")


def menu_event(**result):
    return {**PARAMS, "timestamp": "2026-01-05T10:00:00.000Z", **result}


def served_menu_url(client, app) -> str:
    served = signed_post(client, answer_url(app), PARAMS).json()
    return served[1]["eventUrl"][0]


def test_served_menu_points_at_this_account_and_the_served_version(client, menu_app, settings):
    version = menu_app.ncco_document.latest_version
    assert served_menu_url(client, menu_app) == (
        f"{settings.PUBLIC_BASE_URL}/hooks/{menu_app.account.webhook_token}/menu/{version.pk}")


@pytest.mark.parametrize(("result", "text"), [
    ({"dtmf": {"digits": "1", "timed_out": False}}, "Sales, 447700900001 speaking?"),
    ({"dtmf": {"digits": "", "timed_out": True},
      "speech": {"results": [{"text": "support please", "confidence": "0.93"}]}},
     "Support here."),
    ({"dtmf": {"digits": "", "timed_out": True}}, "Sorry, goodbye."),
    ({"dtmf": {"digits": "7", "timed_out": False}}, "Sorry, goodbye."),
])
def test_menu_routes_by_digit_word_or_default(client, menu_app, result, text):
    url = served_menu_url(client, menu_app)
    response = signed_post(client, url, menu_event(**result))
    assert response.status_code == 200
    assert response.json() == [{"action": "talk", "text": text}]
    recorded = AnswerRequest.objects.order_by("id").last()
    assert recorded.response == response.json() and recorded.params["dtmf"] == result["dtmf"]
    assert recorded.ncco_version.document.name in {"Sales", "Support", "Sorry"}


def test_menu_choice_is_recorded_on_a_known_call(client, menu_app):
    call = CallFactory(account=menu_app.account, provider="vonage",
                       application=menu_app, provider_call_id=UUID)
    url = served_menu_url(client, menu_app)
    signed_post(client, url, menu_event(dtmf={"digits": "1", "timed_out": False}))
    event = CallEvent.objects.get(call=call)
    assert (event.kind, event.source) == ("input", "callboard")
    assert event.payload["menu"]["matched"] == "digits"
    assert event.payload["menu"]["chosen_document_id"] == \
        menu_app.ncco_document.latest_version.menu["digits"]["1"]
    assert AnswerRequest.objects.filter(call=call).count() == 2  # the answer and the choice


def test_menu_refuses_bad_signatures_and_unknown_addresses(client, menu_app):
    url = served_menu_url(client, menu_app)
    event = menu_event(dtmf={"digits": "1", "timed_out": False})
    assert signed_post(client, url, event, signed=False).status_code == 401
    assert signed_post(client, url.replace(menu_app.account.webhook_token, "x"),
                       event).status_code == 404
    assert signed_post(client, url.rsplit("/", 1)[0] + "/999999", event).status_code == 404


# One replay rule: a signature is answered with a call flow once ---------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_replayed_answer_request_is_refused_and_a_new_signature_is_served(client, app,
                                                                            method):
    if method == "GET":
        query = urlencode(PARAMS)
        compact = json.dumps(PARAMS, separators=(",", ":")).encode()
        headers = vonage_signed_headers(b"", payload_hash=hashlib.sha256(compact).hexdigest())
        send = lambda: client.get(f"{path_of(answer_url(app))}?{query}", headers=headers)  # noqa: E731
    else:
        body = json.dumps(PARAMS, separators=(",", ":")).encode()
        headers = vonage_signed_headers(body)
        send = lambda: client.post(path_of(answer_url(app)), data=body,  # noqa: E731
                                   content_type="application/json", headers=headers)

    assert [send().status_code for _ in range(2)] == [200, 401]
    refused = AnswerRequest.objects.order_by("id").last()
    assert "replayed" in refused.response["detail"]
    # Vonage's own retry carries a new token (new jti and iat): it is served.
    again = signed_get(client, answer_url(app), PARAMS) if method == "GET" else signed_post(
        client, answer_url(app), PARAMS)
    assert again.status_code == 200


def test_a_replayed_answer_request_leaves_the_call_with_the_version_it_was_served(client, app):
    call = CallFactory(account=app.account, provider="vonage", application=app,
                       provider_call_id=UUID)
    query = urlencode(PARAMS)
    compact = json.dumps(PARAMS, separators=(",", ":")).encode()
    headers = vonage_signed_headers(b"", payload_hash=hashlib.sha256(compact).hexdigest())
    assert client.get(f"{path_of(answer_url(app))}?{query}", headers=headers).status_code == 200
    services.ncco_document_update(actor=SYSTEM, document=app.ncco_document,
                                  content=[{"action": "talk", "text": "Version two"}])
    # The same signed request again, once version two is published: refused, and the call
    # still shows the version its caller heard.
    assert client.get(f"{path_of(answer_url(app))}?{query}", headers=headers).status_code == 401
    call.refresh_from_db()
    assert call.ncco_version.number == 1


def test_a_replayed_answer_token_without_jti_is_refused(client, app):
    body = json.dumps(PARAMS, separators=(",", ":")).encode()
    headers = vonage_signed_headers(body, jti=None)
    statuses = [client.post(path_of(answer_url(app)), data=body, content_type="application/json",
                            headers=headers).status_code for _ in range(2)]
    assert statuses == [200, 401]


def test_a_replayed_menu_event_is_refused_and_the_choice_recorded_once(client, menu_app):
    call = CallFactory(account=menu_app.account, application=menu_app, provider_call_id=UUID)
    url = served_menu_url(client, menu_app)
    body = json.dumps(menu_event(dtmf={"digits": "1", "timed_out": False}),
                      separators=(",", ":")).encode()
    headers = vonage_signed_headers(body)
    statuses = [client.post(path_of(url), data=body, content_type="application/json",
                            headers=headers).status_code for _ in range(2)]

    assert statuses == [200, 401]
    assert CallEvent.objects.filter(call=call, kind="input").count() == 1
