"""Call control from the call page and the call log: the Actions panel, its forms, flashes,
the timeline entries, and who may do what."""

import re

import pytest
from django.urls import reverse

from calls.models import CallStatus
from portal.models import AuditEntry
from tests.calls.controlling import bodies, call_path, control_events, live_call
from tests.calls.placing import TO, kpn_setup, voicegateway_setup, vonage_setup
from tests.factories import NccoVersionFactory

pytestmark = pytest.mark.django_db


def control_url(call, action: str) -> str:
    return reverse("call_control", args=[call.pk, action])


def page(client, call) -> str:
    response = client.get(reverse("call_detail", args=[call.pk]))
    assert response.status_code == 200
    return response.content.decode()


def flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# -- the Actions panel ----------------------------------------------------------------------

def test_an_answered_vonage_call_offers_every_action(fake_provider, client_for, operator_user):
    call = live_call(vonage_setup(fake_provider))

    html = page(client_for(operator_user), call)

    assert 'id="actions"' in html
    # Mute and earmuff are toggles: off, so pressing them turns them on.
    for action in ("hangup", "mute", "earmuff", "talk_stop",
                   "stream_stop", "transfer", "talk", "stream", "dtmf"):
        assert f'action="{control_url(call, action)}"' in html
    assert control_url(call, "unmute") not in html and control_url(call, "unearmuff") not in html
    assert html.count('aria-pressed="false"') == 2
    assert 'data-confirm="Hang up the call to' in html
    assert 'name="target" value="document"' in html and 'name="target" value="ncco"' in html


def test_the_toggles_say_what_they_do_in_sight_not_only_on_hover(fake_provider, client_for,
                                                                 operator_user):
    """"Earmuff" explained only in a title: nothing to hover on a phone or a keyboard."""
    call = live_call(vonage_setup(fake_provider))

    html = page(client_for(operator_user), call)

    said = re.search(r'<p class="help" id="toggle-help">([^<]*)</p>', html)
    assert said, "no help under the buttons"
    assert said[1] == ("Mute: the callee is not heard while on. "
                       "Earmuff: the callee hears nothing while on.")
    assert html.count('aria-describedby="toggle-help"') == 2


def test_a_ringing_call_offers_only_a_hang_up_that_cancels(fake_provider, client_for,
                                                           operator_user):
    call = live_call(vonage_setup(fake_provider), CallStatus.RINGING)

    html = page(client_for(operator_user), call)

    assert f'action="{control_url(call, "hangup")}"' in html
    assert 'data-confirm="Cancel the call to' in html
    assert control_url(call, "mute") not in html and control_url(call, "talk") not in html
    assert "More actions appear once the call is answered." in html



def test_the_hang_up_confirmations_write_the_number_as_the_page_heading_does(
        fake_provider, client_for, operator_user):
    """The call's page says "Call to +31 6 12345678"; its Hang up and the log's asked about
    "+31612345678", as if it were another number."""
    setup = vonage_setup(fake_provider)
    answered, ringing = live_call(setup), live_call(setup, CallStatus.RINGING)
    client = client_for(operator_user)

    assert "Call to +31 6 12345678" in page(client, answered)
    assert 'data-confirm="Hang up the call to +31 6 12345678? Both' in page(client, answered)
    assert 'data-confirm="Cancel the call to +31 6 12345678? It' in page(client, ringing)
    log = client.get(reverse("call_list")).content.decode()
    assert log.count('data-confirm="Hang up the call to +31 6 12345678?"') == 2
    assert TO not in log  # nowhere on the log, the To column included


def test_voice_gateway_offers_its_own_set(fake_provider, client_for, operator_user):
    call = live_call(voicegateway_setup(fake_provider))

    html = page(client_for(operator_user), call)

    assert control_url(call, "earmuff") not in html and control_url(call, "talk_stop") in html
    assert control_url(call, "listen_pause") in html
    assert 'name="style"' not in html  # Vonage's voice styles do not exist there
    assert 'name="loop"' not in html  # a dub loops forever or not at all
    assert "Voice Gateway fetches jambonz verbs from it" in html
    assert 'name="digits"' in html and "p (a half-second pause)" not in html


def test_kpn_offers_a_saved_or_written_ncco_on_the_page_too(fake_provider, client_for,
                                                          operator_user):
    call = live_call(kpn_setup(fake_provider))

    html = page(client_for(operator_user), call)

    for target in ("document", "ncco", "url"):
        assert f'type="radio" name="target" value="{target}"' in html
    assert 'name="ncco"' in html and 'name="ncco_document"' in html


def test_an_ended_call_says_there_is_nothing_to_control(fake_provider, client_for,
                                                        operator_user):
    call = live_call(vonage_setup(fake_provider), CallStatus.COMPLETED)

    html = page(client_for(operator_user), call)

    assert "This call has ended; there is nothing left to control." in html
    assert "/control/" not in html


@pytest.mark.parametrize("persona", ["viewer", "outsider"])
def test_below_operator_there_are_no_controls_and_a_post_is_refused(
        fake_provider, client_for, personas, persona):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    client = client_for(personas[persona])

    if persona == "viewer":
        assert 'id="actions"' not in page(client, call)
    response = client.post(control_url(call, "hangup"))

    assert response.status_code == 403
    assert bodies(setup, call) == [] and not control_events(call)


def test_signed_out_a_post_goes_to_sign_in(fake_provider, client):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    response = client.post(control_url(call, "hangup"))

    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert bodies(setup, call) == []


# -- actions from the page ------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["operator", "admin"])
def test_hang_up_from_the_page_flashes_and_shows_on_the_timeline(fake_provider, client_for,
                                                                 personas, persona):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    client = client_for(personas[persona])

    response = client.post(control_url(call, "hangup"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("call_detail", args=[call.pk]) + "#actions"
    assert flashes(response) == ["Hang-up sent: call to +31612345678."]
    assert bodies(setup, call) == [{"action": "hangup"}]
    html = response.content.decode()
    assert "<strong>control</strong>" in html and "<code>hangup</code>" in html
    assert f"Sent by {persona}:" in html
    assert AuditEntry.objects.filter(action="call.hangup", actor=personas[persona]).exists()


def test_voice_gateway_mute_is_a_request_and_claims_no_state(fake_provider, client_for,
                                                             operator_user):
    """jambonz answers 202 before it looks at a mute and ignores it unless a dial or conference
    verb runs (update-call.js, call-session.js _lccMuteStatus): the page says it was requested,
    not that the call is muted, and offers Mute and Unmute with no on/off state."""
    call = live_call(voicegateway_setup(fake_provider))
    client = client_for(operator_user)

    response = client.post(control_url(call, "mute"), follow=True)

    said = ("Mute requested; Voice Gateway applies it only while a dial or conference is "
            "running (a connect or a conversation in the call flow)")
    assert flashes(response) == [f"{said}: call to +31612345678."]
    html = page(client, call)
    assert said in html and "Muted" not in html
    assert "aria-pressed" not in html and 'data-field="mute"' not in html
    for action in ("mute", "unmute"):
        assert f'action="{control_url(call, action)}"' in html
    call.refresh_from_db()
    assert not call.muted


def test_speak_text_from_the_form(fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    response = client_for(operator_user).post(control_url(call, "talk"), {
        "text": "Your table is ready", "language": "en-GB", "style": "", "loop": "2",
        "level": "-0.5"})

    assert response.status_code == 302
    assert bodies(setup, call, suffix="/talk") == [
        {"text": "Your table is ready", "language": "en-GB", "loop": 2, "level": "-0.5"}]


def test_play_audio_and_send_digits_from_the_forms(fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    client = client_for(operator_user)

    client.post(control_url(call, "stream"), {"stream_url": "https://audio.example/a.mp3",
                                              "loop": "0"})
    client.post(control_url(call, "dtmf"), {"digits": "1p2#"})
    client.post(control_url(call, "stream_stop"))

    assert bodies(setup, call, suffix="/stream") == [
        {"stream_url": ["https://audio.example/a.mp3"], "loop": 0}]
    assert bodies(setup, call, suffix="/dtmf") == [{"digits": "1p2#"}]
    assert bodies(setup, call, "DELETE", "/stream") == [None]


def test_transfer_to_a_saved_document_from_the_page(fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    document = NccoVersionFactory(document__name="After hours",
                                  content=[{"action": "talk", "text": "We are closed"}]).document

    response = client_for(operator_user).post(control_url(call, "transfer"), {
        "target": "document", "ncco_document": document.pk, "ncco": "ignored", "url": ""},
        follow=True)

    assert flashes(response) == ["Transfer sent: call to +31612345678."]
    assert bodies(setup, call)[0]["destination"]["ncco"] == [
        {"action": "talk", "text": "We are closed"}]


def test_transfer_to_an_inline_ncco_from_the_page(fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    client_for(operator_user).post(control_url(call, "transfer"), {
        "target": "ncco", "ncco": '[{"action": "talk", "text": "Bye"}]'})

    assert bodies(setup, call) == [{"action": "transfer", "destination": {
        "type": "ncco", "ncco": [{"action": "talk", "text": "Bye"}]}}]


def test_an_invalid_inline_ncco_shows_its_errors_with_paths(fake_provider, client_for,
                                                            operator_user):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    response = client_for(operator_user).post(control_url(call, "transfer"), {
        "target": "ncco", "ncco": '[\n  {"action": "talk"},\n  {"action": "dance"}\n]'})

    assert response.status_code == 400
    html = response.content.decode()
    assert '<details class="advanced control-form" id="control-transfer" open>' in html
    assert "/0 (line 2): A talk action needs &quot;text&quot;." in html
    assert "/1/action (line 3): Unknown action &quot;dance&quot;." in html
    assert bodies(setup, call) == []


@pytest.mark.parametrize(("action", "data", "field", "message"), [
    ("transfer", {"target": "url", "url": ""}, "url", "Fill this in"),
    ("transfer", {"target": "document"}, "ncco_document", "Fill this in"),
    ("dtmf", {"digits": "12x"}, "digits", "Give 1 to 64 of 0-9, * and #"),
    ("talk", {"text": "Hi", "level": "3"}, "level", "Ensure this value is less than or equal "),
])
def test_form_errors_show_on_their_field(fake_provider, client_for, operator_user, action, data,
                                         field, message):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)

    response = client_for(operator_user).post(control_url(call, action), data)

    assert response.status_code == 400
    html = response.content.decode()
    error = html[html.index(f'id="{action}_{field}_error"'):]
    assert error[error.index(">") + 1:].startswith(message)
    assert setup.fake.requests == []


def test_voice_gateway_talk_form_asks_for_the_voice_of_its_language(fake_provider, client_for,
                                                                     operator_user):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    client = client_for(operator_user)
    assert 'name="voice"' in page(client, call)

    response = client.post(control_url(call, "talk"), {"text": "Bitte warten",
                                                       "language": "de-DE"})

    assert response.status_code == 400
    html = response.content.decode()
    error = html[html.index('id="talk_voice_error"'):]
    assert error[error.index(">") + 1:].startswith("Give the voice that speaks this language")
    assert setup.fake.requests == []


def test_vonage_talk_form_has_no_voice_field(fake_provider, client_for, operator_user):
    # Vonage picks a voice of the language by its style number.
    html = page(client_for(operator_user), live_call(vonage_setup(fake_provider)))
    assert 'name="style"' in html and 'name="voice"' not in html


def test_a_conflict_is_a_flash(fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    call = live_call(setup, CallStatus.COMPLETED)

    response = client_for(operator_user).post(control_url(call, "mute"), follow=True)

    assert flashes(response) == [f"Call {call.pk} has ended (completed); there is nothing left "
                                 "to control."]
    assert bodies(setup, call) == []


def test_a_provider_refusal_is_a_flash_with_its_words(fake_provider, client_for,
                                                      operator_user):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    # jambonz-api-server holds no live call by that sid: it answers a bare 404.
    setup.fake.reply("PUT", call_path(setup, call), 404, "Not Found")

    response = client_for(operator_user).post(control_url(call, "mute"), follow=True)

    [message] = flashes(response)
    assert message == ("Voice Gateway refused to mute: Voice Gateway has already ended this "
                       "call; its status here changes as soon as Voice Gateway reports how it "
                       "ended.")
    assert '<span class="pill bad">refused</span>' in response.content.decode()


def test_an_unknown_action_is_not_found(fake_provider, client_for, operator_user):
    call = live_call(vonage_setup(fake_provider))

    assert client_for(operator_user).post(control_url(call, "explode")).status_code == 404


# -- the live call log ----------------------------------------------------------------------

def test_the_log_offers_hang_up_on_calls_in_progress_only(fake_provider, client_for,
                                                          operator_user, viewer_user):
    setup = vonage_setup(fake_provider)
    ringing = live_call(setup, CallStatus.RINGING)
    answered = live_call(setup)
    ended = live_call(setup, CallStatus.COMPLETED)

    html = client_for(operator_user).get(reverse("call_list")).content.decode()

    assert control_url(ringing, "hangup") in html and control_url(answered, "hangup") in html
    assert control_url(ended, "hangup") not in html
    assert 'data-confirm="Hang up the call to' in html
    viewer_html = client_for(viewer_user).get(reverse("call_list")).content.decode()
    assert "/control/" not in viewer_html


def test_hang_up_from_the_log_returns_to_the_log(fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    back = reverse("call_list") + "?status=answered"

    response = client_for(operator_user).post(control_url(call, "hangup"), {"next": back})

    assert response.status_code == 302 and response["Location"] == back
    assert bodies(setup, call) == [{"action": "hangup"}]


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/", "abc"])
def test_the_way_back_stays_on_this_site(fake_provider, client_for, operator_user, back):
    # "abc" is a relative URL of this site to Django, and redirect() took it for a view's name.
    call = live_call(vonage_setup(fake_provider))

    response = client_for(operator_user).post(control_url(call, "hangup"), {"next": back})

    assert response.status_code == 302
    assert response["Location"] == reverse("call_detail", args=[call.pk]) + "#actions"
