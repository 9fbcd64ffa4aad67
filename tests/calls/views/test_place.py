"""The place-call form (/calls/new), the call page, and the call-profile pages and API."""

import re

import pytest

from calls.forms import OPTION_INPUTS
from calls.models import Call
from portal.models import AuditEntry
from tests.calls.placing import FROM, TO, kpn_setup, voicegateway_setup, vonage_setup
from tests.factories import CallFactory, CallProfileFactory
from voiceapps.models import CallProfile
from voiceapps.providers.options import CATALOG, OPTIONS
from voiceapps.providers.registry import PROVIDERS

pytestmark = pytest.mark.django_db
SETUPS = {"vonage": vonage_setup, "kpn": kpn_setup, "voicegateway": voicegateway_setup,
          "sandbox": lambda fake: vonage_setup(fake, kind="sandbox")}


def option_shown(html: str, option: str) -> bool:
    """Whether any field of the option is in the page (key-value fields add _key)."""
    return re.search(rf'name="opt_{option}(__\w+|_key)?"', html) is not None


def form_data(setup, **changes) -> dict:
    return {"account": setup.account.pk, "application": setup.application.pk,
            "to_type": "phone", "to_phone_number": TO, "from_number": FROM,
            "flow_type": "application", "idempotency_key": "", **changes}


# -- what the form shows --------------------------------------------------------------


@pytest.mark.parametrize("kind", SETUPS)
def test_the_form_shows_exactly_the_options_the_provider_takes(fake_provider, client_for,
                                                               operator_user, kind):
    setup = SETUPS[kind](fake_provider)
    html = client_for(operator_user).get(f"/calls/new?account={setup.account.pk}").content.decode()

    taken = PROVIDERS[kind].CALL_OPTIONS - {"tag"}  # tag is the form's own key-value rows
    shown = {item.option for item in OPTION_INPUTS if option_shown(html, item.option)}
    assert shown == taken
    assert "<details class=\"advanced\"" in html
    endpoint_types = set(re.findall(r'<option value="(\w+)"[^>]*>(?:Phone number|SIP URI|'
                                    r'WebSocket|App user|VBC extension|Registered user)<', html))
    assert endpoint_types == set(PROVIDERS[kind].ENDPOINTS)


def test_a_sandbox_account_says_which_numbers_answer_how(fake_provider, client_for,
                                                         operator_user):
    """The test call's "Who answers" has its twin here: the last four digits decide."""
    client = client_for(operator_user)
    sandbox, vonage = vonage_setup(fake_provider, kind="sandbox"), vonage_setup(fake_provider)

    html = client.get(f"/calls/new?account={sandbox.account.pk}").content.decode()
    assert "chosen by the last four digits of the number called (0001 busy, 0002 no answer" in html
    assert "0009 rejected, 0000 human)" in html
    html = client.get(f"/calls/new?account={vonage.account.pk}").content.decode()
    assert "last four digits" not in html and "Vonage account." in html


def test_a_random_caller_id_is_offered_only_where_the_provider_picks_one(
        fake_provider, client_for, operator_user):
    client = client_for(operator_user)
    vonage, vg = vonage_setup(fake_provider), voicegateway_setup(fake_provider)

    def page(setup) -> str:
        return client.get(f"/calls/new?account={setup.account.pk}").content.decode()

    assert "A random number" in page(vonage)
    assert "A random number" not in page(vg)


def test_caller_numbers_are_offered_grouped_with_their_description(fake_provider, client_for,
                                                                    operator_user):
    setup = vonage_setup(fake_provider)
    html = client_for(operator_user).get(f"/calls/new?account={setup.account.pk}").content.decode()
    assert '<option value="+31201234567">+31 20 123 4567 · Main line</option>' in html


@pytest.mark.parametrize("to_type, names", [
    ("phone", ["to_phone_number", "to_phone_dtmf_answer"]),
    ("sip", ["to_sip_uri", "to_sip_headers_key", "to_sip_headers_value",
             "to_sip_standard_headers_key", "to_sip_standard_headers_value"]),
    ("websocket", ["to_websocket_uri", "to_websocket_content_type", "to_websocket_headers_key",
                   "to_websocket_headers_value"]),
    ("app", ["to_app_user"]),
    ("vbc", ["to_vbc_extension"]),
])
def test_each_endpoint_type_shows_its_own_fields(fake_provider, client_for, operator_user,
                                                 to_type, names):
    setup = vonage_setup(fake_provider)
    html = client_for(operator_user).get(
        f"/calls/new?account={setup.account.pk}&to_type={to_type}").content.decode()
    found = set(re.findall(r'name="(to_\w+?)"', html)) - {"to_type"}
    assert found == set(names)


def test_changing_the_account_re_renders_only_the_form_and_keeps_what_was_typed(
        fake_provider, client_for, operator_user):
    vonage, vg = vonage_setup(fake_provider), voicegateway_setup(fake_provider)
    client = client_for(operator_user)
    page = client.get("/calls/new").content.decode()
    assert 'hx-get="/calls/new"' in page and 'hx-target="#call-form"' in page

    fragment = client.get("/calls/new", {"account": vg.account.pk, "tag_key": ["lead"],
                                         "tag_value": ["42"], "to_type": "user"},
                          headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and 'id="call-form"' in fragment
    assert 'name="opt_timeLimit"' in fragment and 'name="opt_ringing_timer"' not in fragment
    assert 'name="to_user_name"' in fragment
    assert 'value="lead"' in fragment and 'value="42"' in fragment
    assert vonage.account.name in fragment  # still offered in the account list


@pytest.mark.parametrize("persona, expected", [("viewer", 403), ("outsider", 403)])
def test_only_operators_see_the_form(client_for, personas, persona, expected):
    assert client_for(personas[persona]).get("/calls/new").status_code == expected


def test_an_application_that_is_not_an_id_gets_the_form_not_an_error_page(
        fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    client = client_for(operator_user)
    page = client.get("/calls/new?application=abc")
    assert page.status_code == 200 and setup.account.name in page.content.decode()

    sent = client.post("/calls/new", {**form_data(setup), "account": "", "application": "abc"})
    assert sent.status_code == 200 and sent.context["form"].errors["application"]
    assert Call.objects.count() == 0


def test_without_an_account_the_page_says_what_to_do(client_for, operator_user):
    html = client_for(operator_user).get("/calls/new").content.decode()
    assert "No provider account yet" in html


# -- placing from the form ------------------------------------------------------------


def test_a_vonage_sip_call_with_advanced_options_is_placed(fake_provider, client_for,
                                                           operator_user):
    setup = vonage_setup(fake_provider)
    response = client_for(operator_user).post("/calls/new", form_data(
        setup, to_type="sip", to_sip_uri="sip:rebekka@sip.example.com",
        to_sip_headers_key=["Campaign", ""], to_sip_headers_value=["spring", ""],
        opt_ringing_timer="30", opt_length_timer="600",
        opt_advanced_machine_detection__behavior="hangup",
        opt_advanced_machine_detection__mode="detect_beep",
        opt_advanced_machine_detection__beep_timeout="60",
        tag_key=["name"], tag_value=["Ada"]), follow=True)

    call = Call.objects.get()
    assert response.redirect_chain[-1][0] == f"/calls/{call.pk}/"
    assert "queued" in response.content.decode()
    assert call.to_endpoint == {"type": "sip", "uri": "sip:rebekka@sip.example.com",
                                "headers": {"Campaign": "spring"}}
    assert call.options == {"ringing_timer": 30, "length_timer": 600,
                            "advanced_machine_detection": {"behavior": "hangup",
                                                           "mode": "detect_beep",
                                                           "beep_timeout": 60}}
    assert call.tag == {"name": "Ada"}
    entry = AuditEntry.objects.get(action="call.place")
    assert (entry.changes["via"], entry.token, entry.actor) == ("form", None, operator_user)


def test_the_message_after_placing_a_call_names_no_state_the_live_page_outgrows(
        fake_provider, client_for, operator_user):
    """The call page is live: "Call to … queued." stood above "Completed" to the end."""
    response = client_for(operator_user).post(
        "/calls/new", form_data(vonage_setup(fake_provider)), follow=True)

    assert [str(message) for message in response.context["messages"]] == [
        "Call to +31 6 12345678 placed: this page follows it from the queue to its end."]


def test_a_voice_gateway_call_with_amd_hooks_and_streams_is_placed(fake_provider, client_for,
                                                                   operator_user):
    setup = voicegateway_setup(fake_provider)
    response = client_for(operator_user).post("/calls/new", form_data(
        setup, to_phone_trunk="MyCarrier", opt_timeout="25", opt_timeLimit="900",
        opt_amd__actionHook="/amd", opt_amd__thresholdWordCount="7",
        opt_amd__timers__decisionTimeoutMs="12000",
        opt_amd__recognizer='{"vendor": "google", "language": "en-US"}',
        opt_headers_key=["X-Campaign"], opt_headers_value=["spring"],
        opt_dtmfCapture="*1, #9", opt_dtmfHook="/dtmf", opt_referHook="/refer",
        opt_listen='{"url": "wss://audio.example.com/in"}', opt_dual_streams="on"))

    assert response.status_code == 302, response.context["form"].errors
    assert Call.objects.get().options == {
        "timeout": 25, "timeLimit": 900,
        "amd": {"actionHook": "/amd", "thresholdWordCount": 7,
                "timers": {"decisionTimeoutMs": 12000},
                "recognizer": {"vendor": "google", "language": "en-US"}},
        "headers": {"X-Campaign": "spring"}, "dual_streams": True,
        "dtmfCapture": ["*1", "#9"], "dtmfHook": "/dtmf", "referHook": "/refer",
        "listen": {"url": "wss://audio.example.com/in"},
    }
    assert Call.objects.get().to_endpoint["trunk"] == "MyCarrier"


def test_a_random_from_number_and_an_inline_ncco_from_the_form(fake_provider, client_for,
                                                               operator_user):
    setup = vonage_setup(fake_provider)
    response = client_for(operator_user).post("/calls/new", form_data(
        setup, from_number="__random__", flow_type="ncco",
        ncco='[{"action": "talk", "text": "Hello"}]'))
    assert response.status_code == 302
    call = Call.objects.get()
    assert (call.from_number, call.options) == ("", {"random_from_number": True})
    assert call.flow == {"type": "ncco", "ncco": [{"action": "talk", "text": "Hello"}]}


@pytest.mark.parametrize("changes, field, words", [
    ({"opt_ringing_timer": "500"}, "opt_ringing_timer", "less than or equal to 120"),
    ({"opt_advanced_machine_detection__mode": "detect"},
     "opt_advanced_machine_detection__behavior", "required"),
    ({"flow_type": "ncco", "ncco": '[{"action": "talk"},\n {"action": "dance"}]'},
     "ncco", "Line 1, /0"),
    ({"flow_type": "ncco", "ncco": "[{"}, "ncco", "Line"),
    ({"flow_type": "answer_url", "answer_url": "not a url"}, "answer_url", "valid URL"),
    ({"tag_key": ["a", "a"], "tag_value": ["1", "2"]}, "tag", "given twice"),
    ({"tag_key": ["bad key"], "tag_value": ["1"]}, "tag", "letters, digits and _"),
    ({"to_phone_number": "12"}, "to_phone_number", "international format"),
    ({"to_phone_dtmf_answer": "12x"}, "to_phone_dtmf_answer", "half-second pause"),
    ({"opt_event_url": "ftp://x.example"}, "opt_event_url", "http:// or https://"),
])
def test_vonage_form_errors_show_on_their_field(fake_provider, client_for, operator_user,
                                                changes, field, words):
    setup = vonage_setup(fake_provider)
    response = client_for(operator_user).post("/calls/new", form_data(setup, **changes))
    assert response.status_code == 200
    form = response.context["form"]
    assert words in " ".join(form.errors.get(field, [])), form.errors
    assert f'id="{form[field].auto_id}_error"' in response.content.decode()
    assert Call.objects.count() == 0


@pytest.mark.parametrize("changes, field, words", [
    ({"opt_amd__thresholdWordCount": "5"}, "opt_amd__actionHook", "required"),
    ({"opt_listen": "[1]"}, "opt_listen", "JSON object"),
    ({"opt_listen": '{"mixType": "stereo"}'}, "opt_listen", "required"),
    ({"opt_dtmfCapture": "12a"}, "opt_dtmfCapture", "DTMF"),
    ({"opt_actionHook": "hook"}, "opt_actionHook", "URL"),
    ({"flow_type": "answer_url", "answer_url": "https://h.example/a", "answer_method": "POST"},
     "opt_speech_synthesis_vendor", "required with a call hook"),
])
def test_voice_gateway_form_errors_show_on_their_field(fake_provider, client_for, operator_user,
                                                       changes, field, words):
    setup = voicegateway_setup(fake_provider)
    response = client_for(operator_user).post("/calls/new", form_data(setup, **changes))
    assert response.status_code == 200
    assert words in " ".join(response.context["form"].errors.get(field, [])), \
        response.context["form"].errors
    assert Call.objects.count() == 0


def test_a_profile_is_applied_from_the_form(fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    profile = CallProfileFactory(name="Short ring", kind="vonage",
                                 options={"ringing_timer": 15})
    response = client_for(operator_user).post("/calls/new", form_data(setup,
                                                                      profile=profile.pk))
    assert response.status_code == 302
    assert Call.objects.get().options == {"ringing_timer": 15}


# -- the call page --------------------------------------------------------------------


def failed_call(setup) -> Call:
    return CallFactory(
        account=setup.account, provider=setup.account.kind, application=setup.application,
        to_endpoint={"type": "phone", "number": TO}, to_display=TO, from_number=FROM,
        status="failed", attempts=1, options={"ringing_timer": 30},
        failure_detail="Vonage rejected the request (400): Invalid to number",
        provider_request={"method": "POST", "url": "https://api.nexmo.com/v1/calls",
                          "headers": {"Authorization": "Bearer ••••"},
                          "body": {"to": [{"type": "phone", "number": TO[1:]}],
                                   "password": "hunter2-hunter2"}},
        provider_response={"status": 400, "body": {"title": "Bad Request"}},
    )


def test_the_call_page_shows_the_failure_the_exchange_and_no_secret(fake_provider,
                                                                    client_for, viewer_user):
    call = failed_call(vonage_setup(fake_provider))
    html = client_for(viewer_user).get(f"/calls/{call.pk}/").content.decode()
    assert "Vonage rejected the request (400): Invalid to number" in html
    assert "&quot;ringing_timer&quot;: 30" in html
    assert "https://api.nexmo.com/v1/calls" in html and "Bad Request" in html
    assert "hunter2" not in html
    assert "Place another call" not in html  # viewers do not place calls


def test_the_call_page_says_who_placed_it_and_how(fake_provider, client_for, operator_user,
                                                  api_for):
    setup = vonage_setup(fake_provider)
    placed = api_for(operator_user).post("/api/v1/calls", {
        "application": setup.application.pk, "from_number": FROM,
        "to": {"type": "phone", "number": TO}}, format="json").json()
    html = client_for(operator_user).get(f"/calls/{placed['id']}/").content.decode()
    assert "operator with API token “tests”" in html
    assert "Queued: a worker sends it" in html
    assert "Place another call" in html


def test_outsiders_do_not_see_calls(fake_provider, client_for, outsider_user):
    call = failed_call(vonage_setup(fake_provider))
    assert client_for(outsider_user).get(f"/calls/{call.pk}/").status_code == 403


# -- call profiles --------------------------------------------------------------------


def test_profiles_list_starts_empty_with_a_way_forward(client_for, operator_user):
    html = client_for(operator_user).get("/calls/profiles/").content.decode()
    assert "No call profiles yet" in html and "/calls/profiles/new" in html


def test_the_profiles_list_names_options_as_the_catalog_labels_them(client_for, operator_user):
    CallProfileFactory(name="Ring", kind="vonage",
                       options={"ringing_timer": 30, "machine_detection": "hangup"})
    CallProfileFactory(name="Detect", kind="voicegateway",
                       options={"amd": {"actionHook": "/amd"}, "timeLimit": 60})
    html = client_for(operator_user).get("/calls/profiles/").content.decode()

    for name in ("ringing_timer", "machine_detection", "amd", "timeLimit"):
        assert f'<span title="{name}">{OPTIONS[name].label}</span>' in html
    assert "Ringing timer (s)" in html and "Answering machine detection" in html
    assert "<code>ringing_timer</code>" not in html


def test_a_profile_search_that_matches_nothing_offers_the_way_back(client_for, operator_user):
    CallProfileFactory(name="Voicemail check", kind="vonage", options={})
    html = client_for(operator_user).get("/calls/profiles/?q=nothing").content.decode()

    assert "Voicemail check" not in html and "No profile matches these filters" in html
    assert html.count('href="/calls/profiles/"') == 2  # Clear, beside Filter, and Show all


def test_a_profile_is_created_edited_and_deleted_from_its_pages(client_for, operator_user):
    client = client_for(operator_user)
    page = client.get("/calls/profiles/new?kind=voicegateway").content.decode()
    assert 'name="opt_amd__actionHook"' in page and 'name="opt_ringing_timer"' not in page

    response = client.post("/calls/profiles/new", {
        "name": "Voicemail check", "kind": "voicegateway", "description": "",
        "opt_amd__actionHook": "/amd", "opt_timeout": "30"})
    assert response.status_code == 302
    profile = CallProfile.objects.get()
    assert profile.options == {"timeout": 30, "amd": {"actionHook": "/amd"}}

    edit = client.get(f"/calls/profiles/{profile.pk}/").content.decode()
    assert 'value="/amd"' in edit and 'name="kind"' not in edit
    client.post(f"/calls/profiles/{profile.pk}/", {
        "name": "Voicemail check", "description": "AMD on", "opt_timeout": "45"})
    profile.refresh_from_db()
    assert (profile.options, profile.description) == ({"timeout": 45}, "AMD on")

    listing = client.get("/calls/profiles/?q=voicemail").content.decode()
    assert "Voicemail check" in listing and 'data-confirm="Delete the call profile' in listing
    client.post(f"/calls/profiles/{profile.pk}/delete")
    assert not CallProfile.objects.exists()
    assert [e.action for e in AuditEntry.objects.order_by("id")] == [
        "call_profile.create", "call_profile.update", "call_profile.delete"]


def test_profile_form_errors_show_on_their_field(client_for, operator_user):
    response = client_for(operator_user).post("/calls/profiles/new", {
        "name": "Bad", "kind": "vonage", "opt_advanced_machine_detection__beep_timeout": "50"})
    assert "required" in " ".join(
        response.context["form"].errors["opt_advanced_machine_detection__behavior"])
    assert not CallProfile.objects.exists()


def test_viewers_read_profiles_but_do_not_change_them(client_for, viewer_user):
    CallProfileFactory(name="P", kind="vonage", options={})
    client = client_for(viewer_user)
    assert client.get("/calls/profiles/").status_code == 200
    assert "New profile" not in client.get("/calls/profiles/").content.decode()
    assert client.get("/calls/profiles/new").status_code == 403


@pytest.mark.parametrize("persona, status", [("viewer", 403), ("operator", 201)])
def test_profiles_api_creates_for_operators(api_for, personas, persona, status):
    response = api_for(personas[persona]).post("/api/v1/call-profiles", {
        "name": "Hang up on machines", "kind": "vonage",
        "options": {"machine_detection": "hangup"}}, format="json")
    assert response.status_code == status


def test_profiles_api_refuses_options_of_another_provider_and_reads_edits_deletes(
        api_for, operator_user, viewer_user):
    api = api_for(operator_user)
    refused = api.post("/api/v1/call-profiles", {"name": "X", "kind": "vonage",
                                                 "options": {"timeout": 9}}, format="json")
    assert refused.status_code == 400
    assert "Vonage does not take" in refused.json()["fields"]["options.timeout"][0]

    created = api.post("/api/v1/call-profiles", {"name": "VG", "kind": "voicegateway",
                                                 "options": {"timeout": 9}}, format="json")
    pk = created.json()["id"]
    listed = api_for(viewer_user).get("/api/v1/call-profiles?kind=voicegateway").json()
    assert [p["id"] for p in listed["results"]] == [pk]
    changed = api.patch(f"/api/v1/call-profiles/{pk}", {"options": {"timeLimit": 60}},
                        format="json")
    assert changed.json()["options"] == {"timeLimit": 60}
    assert api.delete(f"/api/v1/call-profiles/{pk}").status_code == 204
    assert api.get(f"/api/v1/call-profiles/{pk}").status_code == 404


def test_the_advanced_section_opens_when_it_holds_an_error_or_a_value(fake_provider,
                                                                      client_for, operator_user):
    setup = vonage_setup(fake_provider)
    client = client_for(operator_user)
    closed = client.get(f"/calls/new?account={setup.account.pk}").content.decode()
    assert '<details class="advanced">' in closed
    with_tag = client.get("/calls/new", {"account": setup.account.pk, "tag_key": ["a"],
                                         "tag_value": ["b"]}).content.decode()
    assert '<details class="advanced" open>' in with_tag
    error = client.post("/calls/new", form_data(setup, opt_length_timer="0")).content.decode()
    assert '<details class="advanced" open>' in error


@pytest.mark.parametrize("kind", SETUPS)
def test_every_catalog_option_is_asked_for_exactly_by_the_providers_it_names(
        client_for, operator_user, kind):
    html = client_for(operator_user).get(f"/calls/profiles/new?kind={kind}").content.decode()

    for option in CATALOG:
        for ask in option.asks:
            name = f"opt_{option.name}" + (f"__{ask.path.replace('.', '__')}" if ask.path else "")
            field = re.search(rf'<(input|select|textarea)[^>]*name="{name}(_key)?"[^>]*>', html)
            assert (field is not None) == (kind in option.providers), (option.name, ask.path)
            if field is None:
                continue
            assert ask.label in html
            schema = option.schema_at(ask.path)
            if ask.input == "number":  # the browser is given the catalog's bounds
                assert f'min="{schema["minimum"]}"' in field.group(0)
                assert f'max="{schema["maximum"]}"' in field.group(0)


def test_the_event_url_help_does_not_send_people_to_a_settings_page_it_is_not_on(
    client_for, operator_user
):
    """Event forwarding is in the admin's user menu, not under Settings; the help now names the
    shape, not a place (operators, who place calls, do not have that menu item)."""
    html = client_for(operator_user).get("/calls/profiles/new").content.decode()
    assert "Settings → Event forwarding" not in html
    assert "provider-neutral JSON (the shape Event forwarding sends)" in html


def test_the_advanced_detection_modes_say_what_each_does_to_the_call_flow(client_for,
                                                                          operator_user):
    """"synchronous" told a newcomer nothing: each mode says whether the call flow waits for
    the human-or-machine verdict and whether the voicemail's beep is reported (vonage.md 2.5)."""
    html = client_for(operator_user).get("/calls/profiles/new?kind=vonage").content.decode()
    assert "synchronous" not in html
    assert "default: the call flow starts at once while detection listens" in html
    assert "detect: the call flow waits until detection says human or machine; no beep." in html
    assert ">detect_beep: flow waits for the verdict, beep reported<" in html
