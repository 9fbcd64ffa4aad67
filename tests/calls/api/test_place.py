"""POST /api/v1/calls and GET /api/v1/calls/{id}: permissions, every option family per
provider, and the whole way through a real worker to a fake provider."""

import pytest

from calls.models import Call, CallStatus
from calls.options import OPTION_SCHEMAS, RESERVED_OPTIONS
from portal.models import AuditEntry, Role
from tests.calls.placing import (
    FROM,
    TO,
    api_body,
    kpn_setup,
    phone,
    reload,
    voicegateway_setup,
    vonage_setup,
)
from tests.factories import (
    CallFactory,
    CallProfileFactory,
    NccoDocumentFactory,
    NccoVersionFactory,
    UserFactory,
)
from tests.helpers import wait_for
from voiceapps import services as voiceapps_services
from voiceapps.providers.options import option_names_for
from voiceapps.providers.registry import KIND_CHOICES, PROVIDERS

pytestmark = pytest.mark.django_db



def post(api, body, **headers):
    return api.post("/api/v1/calls", body, format="json", headers=headers)


# -- the resource ---------------------------------------------------------------------


def test_placing_answers_202_with_the_queued_call_and_enqueues_it_on_commit(
        fake_provider, api_for, operator_user, enqueued, django_capture_on_commit_callbacks):
    setup = vonage_setup(fake_provider)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_for(operator_user), api_body(setup, tag={"name": "Ada"}))

    assert response.status_code == 202, response.json()
    data = response.json()
    assert data["status"] == "queued"
    assert data["url"] == f"http://testserver/api/v1/calls/{data['id']}"
    assert response["Location"] == data["url"]
    assert data["to"] == {"type": "phone", "number": TO}
    assert (data["placed_by"], data["placed_via_token"]) == ("operator", "tests")
    assert enqueued == [data["id"]]
    call = Call.objects.get()
    assert (call.account, call.provider, call.from_number) == (setup.account, "vonage", FROM)
    assert call.flow == {"type": "application"}
    entry = AuditEntry.objects.get(action="call.place")
    assert entry.token.name == "tests"
    assert entry.changes["via"] == "api"
    assert entry.changes["tag"] == {"name": "Ada"}


@pytest.mark.parametrize("persona, expected", [
    (None, 401), ("outsider", 403), ("viewer", 403), ("operator", 202), ("admin", 202)])
def test_only_operators_and_admins_place_calls(fake_provider, api_for, personas, enqueued,
                                               persona, expected):
    setup = vonage_setup(fake_provider)
    response = post(api_for(personas.get(persona)), api_body(setup))
    assert response.status_code == expected
    assert Call.objects.count() == (1 if expected == 202 else 0)


@pytest.mark.parametrize("persona, expected", [
    (None, 401), ("outsider", 403), ("viewer", 200), ("operator", 200)])
def test_every_role_reads_a_call(fake_provider, api_for, personas, operator_user, persona,
                                 expected, enqueued):
    setup = vonage_setup(fake_provider)
    placed = post(api_for(operator_user), api_body(setup)).json()
    response = api_for(personas.get(persona)).get(f"/api/v1/calls/{placed['id']}")
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["id"] == placed["id"]
        assert response.json()["status"] == "queued"


def test_reading_a_call_that_does_not_exist_is_a_404(api_for, viewer_user):
    response = api_for(viewer_user).get("/api/v1/calls/999999")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# -- options the provider does not take -----------------------------------------------


@pytest.mark.parametrize("kind, option, value", [
    ("vonage", "timeout", 30),
    ("vonage", "amd", {"actionHook": "/amd"}),
    ("kpn", "advanced_machine_detection", {"behavior": "hangup"}),
    ("voicegateway", "ringing_timer", 30),
    ("voicegateway", "machine_detection", "hangup"),
    ("vonage", "answerOnBridge", True),
])
def test_an_option_the_provider_does_not_take_is_a_400_naming_it_and_the_provider(
        fake_provider, api_for, operator_user, kind, option, value):
    setup = {"vonage": vonage_setup, "kpn": kpn_setup,
             "voicegateway": voicegateway_setup}[kind](fake_provider)
    response = post(api_for(operator_user), api_body(setup, options={option: value}))

    assert response.status_code == 400
    body = response.json()
    message = body["fields"][f"options.{option}"][0]
    assert PROVIDERS[kind].label in message and option in message
    assert Call.objects.count() == 0


def test_tag_is_the_calls_own_field_not_an_option(fake_provider, api_for, operator_user):
    setup = voicegateway_setup(fake_provider)
    response = post(api_for(operator_user), api_body(setup, options={"tag": {"a": "b"}}))
    assert response.status_code == 400
    assert "own `tag` field" in response.json()["fields"]["options.tag"][0]


# -- option values, per family and provider -------------------------------------------


VONAGE_BAD = [
    ({"ringing_timer": 0}, "options.ringing_timer", "1 to 120"),
    ({"ringing_timer": 121}, "options.ringing_timer", "1 to 120"),
    ({"length_timer": 86401}, "options.length_timer", "1 to 86400"),
    ({"machine_detection": "maybe"}, "options.machine_detection", "continue, hangup"),
    ({"advanced_machine_detection": {"behavior": "hangup", "beep_timeout": 30}},
     "options.advanced_machine_detection.beep_timeout", "45 to 120"),
    ({"advanced_machine_detection": {"behavior": "hangup", "mode": "guess"}},
     "options.advanced_machine_detection.mode", "detect_beep"),
    ({"advanced_machine_detection": {"mode": "detect"}},
     "options.advanced_machine_detection.behavior", "required"),
    ({"advanced_machine_detection": {"behavior": "hangup", "beeps": 1}},
     "options.advanced_machine_detection.beeps", "Not a known key"),
    ({"event_url": "ftp://example.com"}, "options.event_url", "http"),
    ({"event_method": "PUT"}, "options.event_method", "GET, POST"),
]
VOICEGATEWAY_BAD = [
    ({"timeout": "soon"}, "options.timeout", "whole number"),
    ({"timeLimit": 0}, "options.timeLimit", "whole number"),
    ({"headers": {"X-Campaign": 7}}, "options.headers.X-Campaign", "text"),
    # A line break would end the header and start another in the INVITE.
    ({"headers": {"X-Campaign": "spring\r\nX-Billing: free"}}, "options.headers.X-Campaign",
     "one line"),
    ({"headers": {"X-Billing: free\r\nX-Campaign": "spring"}}, "options.headers",
     "SIP header name"),
    ({"amd": {"thresholdWordCount": 5}}, "options.amd.actionHook", "required"),
    ({"amd": {"actionHook": "/amd", "timers": {"decisionTimeoutMs": -1}}},
     "options.amd.timers.decisionTimeoutMs", "0 to 120000"),
    ({"amd": {"actionHook": "/amd", "recognise": {}}}, "options.amd.recognise", "Not a known"),
    ({"amd": {"actionHook": "/amd", "recognizer": {"language": "en-US"}}},
     "options.amd.recognizer.vendor", "required"),
    ({"actionHook": "not a url"}, "options.actionHook", "URL"),
    ({"confirmHook": {"method": "POST"}}, "options.confirmHook", "URL"),
    ({"referHook": {"url": "https://h.example/r", "password": "pw"}},
     "options.referHook.password", "credentials"),
    ({"dtmfCapture": ["*1", "12a"]}, "options.dtmfCapture.1", "DTMF"),
    ({"dtmfHook": 5}, "options.dtmfHook", "URL"),
    ({"listen": {"mixType": "stereo"}}, "options.listen.url", "required"),
    ({"listen": {"url": "https://not-a-socket"}}, "options.listen.url", "ws://"),
    ({"listen": {"url": "wss://a.example", "wsAuth": {"username": "u", "password": "p"}}},
     "options.listen.wsAuth.password", "credentials"),
    ({"transcribe": {}}, "options.transcribe.transcriptionHook", "required"),
    ({"dual_streams": "yes"}, "options.dual_streams", "true or false"),
    ({"callerName": ""}, "options.callerName", "1 to 100"),
    ({"sipRequestWithinDialogHook": {"url": "/info"}}, "options.sipRequestWithinDialogHook",
     "URL"),
]


@pytest.mark.parametrize("options, field, words", VONAGE_BAD)
@pytest.mark.parametrize("kind", ["vonage", "sandbox"])
def test_vonage_option_values_are_checked(fake_provider, api_for, operator_user, kind,
                                          options, field, words):
    setup = vonage_setup(fake_provider, kind=kind)
    response = post(api_for(operator_user), api_body(setup, options=options))
    assert response.status_code == 400
    assert words in " ".join(response.json()["fields"][field])


@pytest.mark.parametrize("kind", ["vonage", "sandbox"])
def test_a_vonage_call_may_last_a_day(fake_provider, api_for, operator_user, enqueued, kind):
    """Vonage's SDKs take a length_timer up to 86400 s; 7200 (the 2022 spec's) refused a
    three-hour call Vonage would place."""
    setup = vonage_setup(fake_provider, kind=kind)
    response = post(api_for(operator_user), api_body(setup, options={"length_timer": 86400}))
    assert response.status_code == 202, response.json()
    assert Call.objects.get().options == {"length_timer": 86400}


@pytest.mark.parametrize("options, field, words", VOICEGATEWAY_BAD)
def test_voicegateway_option_values_are_checked(fake_provider, api_for, operator_user,
                                                options, field, words):
    setup = voicegateway_setup(fake_provider)
    response = post(api_for(operator_user), api_body(setup, options=options))
    assert response.status_code == 400, response.json()
    assert words in " ".join(response.json()["fields"][field])


VONAGE_OPTIONS = {
    "ringing_timer": 30, "length_timer": 600, "machine_detection": "continue",
    "advanced_machine_detection": {"behavior": "hangup", "mode": "detect_beep",
                                   "beep_timeout": 60},
    "event_url": "https://events.example.com/vonage", "event_method": "GET",
}
VOICEGATEWAY_OPTIONS = {
    "timeout": 25, "timeLimit": 900, "headers": {"X-Campaign": "spring"},
    "amd": {"actionHook": "/amd", "thresholdWordCount": 7, "digitCount": 5,
            "timers": {"noSpeechTimeoutMs": 4000, "decisionTimeoutMs": 12000},
            "recognizer": {"vendor": "google", "language": "en-US"}},
    "actionHook": "https://hooks.example.com/action",
    "confirmHook": {"url": "https://hooks.example.com/confirm", "method": "POST"},
    "dtmfCapture": ["*1", "#9"], "dtmfHook": "/dtmf", "referHook": "/refer",
    "listen": {"url": "wss://audio.example.com/in", "mixType": "stereo"},
    "transcribe": {"transcriptionHook": "/transcript"},
    "callerName": "Callboard", "fromHost": "sip.example.com", "dual_streams": True,
    "sipRequestWithinDialogHook": "/info",
}


@pytest.mark.parametrize("setup_of, options", [
    (vonage_setup, VONAGE_OPTIONS),
    (kpn_setup, {k: v for k, v in VONAGE_OPTIONS.items() if k != "advanced_machine_detection"}),
    (voicegateway_setup, VOICEGATEWAY_OPTIONS),
])
def test_every_option_the_provider_takes_is_accepted_and_stored_as_sent(
        fake_provider, api_for, operator_user, enqueued, setup_of, options):
    setup = setup_of(fake_provider)
    response = post(api_for(operator_user), api_body(setup, options=options, tag={"lead": "7"}))
    assert response.status_code == 202, response.json()
    stored = Call.objects.get().options
    if setup.account.kind == "voicegateway":
        assert stored == {**options, "tag": {"lead": "7"}}  # jambonz takes tag as an option
    else:
        assert stored == options


# -- endpoints ------------------------------------------------------------------------


@pytest.mark.parametrize("to, field, words", [
    ({"type": "user", "name": "alice"}, "to.type", "Vonage cannot call a 'user'"),
    ({"type": "websocket", "uri": "wss://a.example/s"}, "to.content_type", "required"),
    ({"type": "websocket", "uri": "https://a.example/s", "content_type": "audio/l16;rate=16000"},
     "to.uri", "ws://"),
    ({"type": "websocket", "uri": "wss://a.example/s", "content_type": "audio/mp3"},
     "to.content_type", "audio/l16"),
    ({"type": "sip", "uri": "alice@example.com"}, "to.uri", "SIP URI"),
    ({"type": "sip", "uri": "sip:a@b.example", "headers": {"X-A": 1}}, "to.headers.X-A", "text"),
    ({"type": "sip", "uri": "sip:a@b.example", "headers": {"X-A": "1\nVia: x"}},
     "to.headers.X-A", "one line"),
    ({"type": "phone", "number": TO, "dtmf_answer": "12x"}, "to.dtmf_answer", "p for"),
    ({"type": "phone", "number": TO, "trunk": "carrier"}, "to.trunk", "does not take"),
    ({"type": "phone", "number": "12"}, "to.number", "international format"),
    # Valid numbers only, the country named; a local number is told to add its country code.
    ({"type": "phone", "number": "+44 7700 900"}, "to.number",
     "+44 7700 900 is not a valid United Kingdom number"),
    ({"type": "phone", "number": "+447700900123"}, "to.number",  # the drama range: fictional
     "not a valid United Kingdom number"),
    ({"type": "phone", "number": "12345"}, "to.number", "12345 has no country code: add it"),
    ({"type": "phone", "number": "0612345678"}, "to.number", "has no country code"),
    ({"number": TO}, "to.type", "Give the endpoint's type: Vonage takes"),
    ({"type": "phone"}, "to.number", "required"),
    ({"type": "vbc", "extension": "12a"}, "to.extension", "digits"),
    ({"type": "app"}, "to.user", "required"),
])
def test_vonage_endpoints_are_checked(fake_provider, api_for, operator_user, to, field, words):
    setup = vonage_setup(fake_provider)
    response = post(api_for(operator_user), api_body(setup, to=to))
    assert response.status_code == 400
    assert words in " ".join(response.json()["fields"][field])
    assert "None" not in response.content.decode()  # no Python value in an error


@pytest.mark.parametrize(("number", "accepted"), [
    ("+44 7700 900123", True),  # Ofcom's drama range: the sandbox's demo callees
    ("+44 7700 900", False),  # a digit or three short
    ("+31 6 1234 5678", True),
])
def test_the_sandbox_calls_fictional_numbers_of_full_length(fake_provider, api_for,
                                                            operator_user, number, accepted):
    setup = vonage_setup(fake_provider, kind="sandbox")
    response = post(api_for(operator_user), api_body(setup, to=phone(number)))
    assert (response.status_code == 202) is accepted, response.content


@pytest.mark.parametrize("to, field, words", [
    ({"type": "websocket", "uri": "wss://a.example/s", "content_type": "audio/l16;rate=8000"},
     "to.type", "Voice Gateway cannot call a 'websocket'"),
    ({"type": "app", "user": "jamie"}, "to.type", "it takes phone, sip, user"),
    ({"type": "phone", "number": TO, "dtmf_answer": "1"}, "to.dtmf_answer", "does not take"),
    ({"type": "sip", "uri": "sip:a@b.example", "headers": {}}, "to.headers", "does not take"),
    ({"type": "user"}, "to.name", "required"),
])
def test_voicegateway_endpoints_are_checked(fake_provider, api_for, operator_user, to, field,
                                            words):
    setup = voicegateway_setup(fake_provider)
    response = post(api_for(operator_user), api_body(setup, to=to))
    assert response.status_code == 400
    assert words in " ".join(response.json()["fields"][field])


@pytest.mark.parametrize("setup_of, to, display", [
    (vonage_setup, phone("+31 6 1234 5678", dtmf_answer="p1#"), "+31612345678"),
    (vonage_setup, {"type": "sip", "uri": "sip:rebekka@sip.example.com",
                    "headers": {"Campaign": "x"}, "standard_headers": {"User-to-User": "34"}},
     "sip:rebekka@sip.example.com"),
    (vonage_setup, {"type": "websocket", "uri": "wss://ws.example.com/socket",
                    "content_type": "audio/l16;rate=16000", "headers": {"caller": "x"}},
     "wss://ws.example.com/socket"),
    (vonage_setup, {"type": "app", "user": "jamie"}, "jamie"),
    (vonage_setup, {"type": "vbc", "extension": "1234"}, "1234"),
    (voicegateway_setup, phone("0031612345678", trunk="MyCarrier"), "+31612345678"),
    (voicegateway_setup, {"type": "sip", "uri": "sip:alice@pbx.example.com"},
     "sip:alice@pbx.example.com"),
    (voicegateway_setup, {"type": "user", "name": "alice"}, "alice"),
])
def test_each_endpoint_type_the_provider_takes_is_placed(fake_provider, api_for, operator_user,
                                                         enqueued, setup_of, to, display):
    setup = setup_of(fake_provider)
    response = post(api_for(operator_user), api_body(setup, to=to))
    assert response.status_code == 202, response.json()
    assert response.json()["to_display"] == display


# -- from, flow, tag, profile ---------------------------------------------------------


def test_from_must_be_one_of_the_accounts_numbers(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    response = post(api_for(operator_user), api_body(setup, from_number="+31207654321"))
    assert response.status_code == 400
    assert "not a number of account" in response.json()["fields"]["from_number"][0]


def test_vonage_may_pick_a_random_from_number_voice_gateway_may_not(
        fake_provider, api_for, operator_user, enqueued):
    vonage = vonage_setup(fake_provider)
    response = post(api_for(operator_user),
                    api_body(vonage, from_number="", random_from_number=True))
    assert response.status_code == 202, response.json()
    call = Call.objects.get()
    assert (call.from_number, call.options) == ("", {"random_from_number": True})

    vg = voicegateway_setup(fake_provider)
    response = post(api_for(operator_user), api_body(vg, from_number="", random_from_number=True))
    assert response.status_code == 400
    assert "Voice Gateway does not pick" in response.json()["fields"]["from_number"][0]


def test_an_inline_ncco_is_validated_with_paths(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    flow = {"type": "ncco", "ncco": [{"action": "talk"}, {"action": "dance"}]}
    response = post(api_for(operator_user), api_body(setup, flow=flow))
    assert response.status_code == 400
    messages = response.json()["fields"]["flow.ncco"]
    assert any(m.startswith("/0") and "text" in m for m in messages)
    assert any(m.startswith("/1") for m in messages)


def test_a_valid_inline_ncco_is_stored_with_the_call(fake_provider, api_for, operator_user,
                                                     enqueued):
    setup = vonage_setup(fake_provider)
    ncco = [{"action": "talk", "text": "Your parcel arrives today."}]
    response = post(api_for(operator_user), api_body(setup, flow={"type": "ncco", "ncco": ncco}))
    assert response.status_code == 202
    assert response.json()["flow"] == {"type": "ncco", "ncco": ncco}


def test_kpn_refuses_an_inline_ncco_as_vonage_documents_no_such_thing_for_it(
        fake_provider, api_for, operator_user):
    setup = kpn_setup(fake_provider)
    response = post(api_for(operator_user), api_body(setup, flow={"type": "ncco", "ncco": []}))
    assert response.status_code == 400
    assert "application, answer_url" in response.json()["fields"]["flow.type"][0]


def test_an_answer_url_flow_needs_an_http_url(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    response = post(api_for(operator_user),
                    api_body(setup, flow={"type": "answer_url", "url": "example.com/a",
                                          "method": "DELETE"}))
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"flow.url", "flow.method"}


def test_voice_gateway_needs_speech_defaults_with_an_answer_url_as_the_adapter_says(
        fake_provider, api_for, operator_user):
    setup = voicegateway_setup(fake_provider)
    response = post(api_for(operator_user),
                    api_body(setup, flow={"type": "answer_url", "url": "https://a.example/h"}))
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "Voice Gateway: required with a call hook." in fields["options.speech_synthesis_vendor"]


def test_vonage_needs_a_pushed_application(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    setup.application.provider_app_id = ""
    setup.application.save()
    response = post(api_for(operator_user), api_body(setup))
    assert response.status_code == 400
    assert "push it" in response.json()["fields"]["application"][0]


def test_tag_keys_are_placeholder_names_and_values_text(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    response = post(api_for(operator_user), api_body(setup, tag={"bad key": "x", "n": 5}))
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "letters, digits and _" in fields["tag"][0]
    assert "text" in fields["tag.n"][0]


def test_a_profile_applies_its_options_and_the_calls_own_options_win(
        fake_provider, api_for, operator_user, enqueued):
    setup = vonage_setup(fake_provider)
    profile = CallProfileFactory(
        name="Voicemail hangs up", kind="vonage",
        options={"machine_detection": "hangup", "ringing_timer": 20})
    response = post(api_for(operator_user),
                    api_body(setup, profile=profile.pk, options={"ringing_timer": 45}))
    assert response.status_code == 202, response.json()
    assert Call.objects.get().options == {"machine_detection": "hangup", "ringing_timer": 45}
    assert AuditEntry.objects.get(action="call.place").changes["profile"] == profile.name


def test_a_profile_of_another_provider_is_refused(fake_provider, api_for, operator_user):
    setup = vonage_setup(fake_provider)
    profile = CallProfileFactory(name="VG", kind="voicegateway", options={"timeout": 9})
    response = post(api_for(operator_user), api_body(setup, profile=profile.pk))
    assert response.status_code == 400
    assert "is for Voice Gateway" in response.json()["fields"]["profile"][0]


def test_an_application_of_another_account_is_refused(fake_provider, api_for, operator_user):
    vonage, vg = vonage_setup(fake_provider), voicegateway_setup(fake_provider)
    response = post(api_for(operator_user), api_body(vonage, account=vg.account.pk))
    assert response.status_code == 400
    assert "belongs to account" in response.json()["fields"]["application"][0]


def test_shapes_are_checked_before_anything_else(api_for, operator_user):
    response = post(api_for(operator_user), {"to": "+31612345678", "options": []})
    assert response.status_code == 400
    assert set(response.json()["fields"]) >= {"to", "options"}


# -- the whole way --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_call_placed_through_the_api_is_sent_by_a_real_worker(fake_provider, celery_worker,
                                                                 api_for):
    setup = vonage_setup(fake_provider)
    setup.accept()
    operator = UserFactory(username="e2e-operator", role=Role.OPERATOR)
    response = post(api_for(operator), api_body(setup, options={"ringing_timer": 30}))
    assert response.status_code == 202, response.json()

    call = Call.objects.get(pk=response.json()["id"])
    wait_for(lambda: reload(call).status == CallStatus.SUBMITTED, timeout=30)
    assert call.provider_call_id and call.conversation_id.startswith("CON-")
    assert call.provider_request["headers"]["Authorization"] == "Bearer ••••"
    (request,) = setup.create_requests()  # the fake checked it against Vonage's spec
    body = request.json()
    assert body["to"] == [{"type": "phone", "number": TO.lstrip("+")}]
    assert body["from"] == {"type": "phone", "number": FROM.lstrip("+")}
    assert body["answer_url"] == [voiceapps_services.application_answer_url(setup.application)]
    assert body["ringing_timer"] == 30
    assert "call_submit" in celery_worker.log()


@pytest.mark.parametrize("kind", PROVIDERS)
def test_every_option_an_adapter_takes_has_a_value_rule(kind):
    assert PROVIDERS[kind].CALL_OPTIONS - set(RESERVED_OPTIONS) <= set(OPTION_SCHEMAS)


def test_a_call_reports_its_ncco_version_by_number_and_id(api_for, viewer_user):
    document = NccoDocumentFactory(name="Hold line")
    NccoVersionFactory(document=document)
    second = NccoVersionFactory(document=document)
    call = CallFactory(ncco_version=second)

    body = api_for(viewer_user).get(f"/api/v1/calls/{call.pk}").json()

    assert body["ncco_version"] == 2 == second.number
    assert body["ncco_version_id"] == second.pk
    assert body["ncco_document"] == {"id": document.pk, "name": "Hold line"}


def test_the_api_reference_names_every_option_each_provider_takes(api_for, viewer_user):
    schema = api_for(viewer_user).get("/api/v1/schema/?format=json").json()
    described = schema["components"]["schemas"]["CallCreateRequest"]["properties"]["options"][
        "description"]

    for kind, label in KIND_CHOICES:
        named = described.split(f"{label}: ", 1)[1].split(";")[0].split(".")[0]
        assert set(named.split(", ")) == option_names_for(kind), label
