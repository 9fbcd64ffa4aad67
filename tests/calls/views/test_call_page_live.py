"""The call page is live: its live part answers 204 until the call, its events or its answer
requests change, and actions taken on the page answer in the page (htmx) next to the button,
with the call's new state at once."""

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import CallEvent, CallStatus
from calls.services.events import call_event_record
from tests.calls.controlling import call_path, live_call
from tests.calls.placing import voicegateway_setup, vonage_setup
from tests.calls.views.polling import settled
from tests.factories import PASSWORD, CallEventFactory, CallFactory, ProviderAccountFactory
from voiceapps.providers.base import ParsedEvent

pytestmark = pytest.mark.django_db

IN_PAGE = {"HTTP_HX_REQUEST": "true"}


def live_url(call, since: str = "") -> str:
    url = reverse("call_detail_live", args=[call.pk])
    return f"{url}?since_change={quote(since)}" if since else url


def changed_at(client, call) -> str:
    """The token the page was sent with, as its poll sends it back."""
    return client.get(reverse("call_detail", args=[call.pk])).context["changed_at"]


def test_the_page_polls_its_live_part(client_for, viewer_user):
    call = CallFactory()
    html = client_for(viewer_user).get(reverse("call_detail", args=[call.pk])).content.decode()
    assert 'id="call-live" data-live' in html
    assert f'hx-get="{reverse("call_detail_live", args=[call.pk])}?since_change=' in html
    assert 'id="live-toggle"' in html  # paused like the log
    assert "Reload" not in html


def test_nothing_changed_answers_204(client_for, viewer_user):
    call = CallFactory()
    client = client_for(viewer_user)
    with settled():
        assert client.get(live_url(call, changed_at(client, call))).status_code == 204


def test_a_new_status_arrives_with_the_new_event_marked(client_for, viewer_user):
    call = CallFactory(status=CallStatus.RINGING)
    client = client_for(viewer_user)
    since = changed_at(client, call)
    later = timezone.now() + timedelta(seconds=1)
    CallFactory._meta.model.objects.filter(pk=call.pk).update(
        status=CallStatus.ANSWERED, updated_at=later
    )
    event = CallEventFactory(call=call, kind="status", raw_status="answered", received_at=later)

    response = client.get(live_url(call, since))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="call-live"')  # only the live part
    assert 'data-field="status">Answered<' in html
    assert f'class="event changed" id="event-{event.pk}"' in html


def test_an_event_that_changes_nothing_still_shows(client_for, viewer_user):
    """A duplicate or a refused action changes no field of the call, but the timeline."""
    call = CallFactory()
    client = client_for(viewer_user)
    since = changed_at(client, call)
    CallEventFactory(
        call=call, received_at=timezone.now() + timedelta(seconds=1), is_duplicate=True
    )
    assert client.get(live_url(call, since)).status_code == 200


def test_a_poll_keeps_the_forms_being_filled_in(fake_provider, client_for, operator_user):
    call = live_call(vonage_setup(fake_provider))
    html = client_for(operator_user).get(live_url(call)).content.decode()
    assert 'id="control-talk" hx-preserve' in html


def test_signed_out_the_poll_goes_to_sign_in(client):
    response = client.get(live_url(CallFactory()))
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("login")


def test_signed_out_the_poll_goes_to_sign_in_and_back_to_the_page(client, viewer_user):
    call = CallFactory()
    response = client.get(live_url(call),
                          headers={"HX-Current-URL": f"http://testserver/calls/{call.pk}/?tab=1"})
    login = response["HX-Redirect"]
    assert login == f"/login/?next=/calls/{call.pk}/%3Ftab%3D1"

    signed_in = client.post(login, {"username": viewer_user.username, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == f"/calls/{call.pk}/?tab=1"


@pytest.mark.parametrize("current", ["http://[", "http://[::1/calls/"])
def test_signed_out_a_poll_from_a_page_address_that_is_no_url_goes_to_sign_in(client, current):
    # The header is whatever the client sends; urlsplit refuses an unclosed "[".
    response = client.get(live_url(CallFactory()), headers={"HX-Current-URL": current})
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("login")


def test_a_bad_since_change_is_a_400(client_for, viewer_user):
    assert client_for(viewer_user).get(live_url(CallFactory(), "yesterday")).status_code == 400


# -- actions answered in the page ----------------------------------------------------------


def control(client, call, action: str, data: dict | None = None):
    return client.post(reverse("call_control", args=[call.pk, action]), data or {}, **IN_PAGE)


def test_hang_up_answers_in_the_page_and_offers_nothing_more(
    fake_provider, client_for, operator_user
):
    call = live_call(vonage_setup(fake_provider))

    response = control(client_for(operator_user), call, "hangup")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="call-live"')
    assert 'id="action-result">Hang-up sent' in html
    assert "hang-up sent</span>" in html  # by the status, until the provider reports the end
    assert reverse("call_control", args=[call.pk, "mute"]) not in html
    assert reverse("call_control", args=[call.pk, "hangup"]) not in html


def test_speak_text_answers_next_to_its_form(fake_provider, client_for, operator_user):
    call = live_call(vonage_setup(fake_provider))

    html = control(
        client_for(operator_user), call, "talk", {"text": "Your table is ready"}
    ).content.decode()

    form = html[html.index('id="control-talk"') :]
    assert form.index('id="action-result">Speaking') < form.index("</details>")


def test_a_refusal_answers_in_the_page_with_the_providers_words(
    fake_provider, client_for, operator_user
):
    setup = voicegateway_setup(fake_provider)
    call = live_call(setup)
    setup.fake.reply("PUT", call_path(setup, call), 400, {"msg": "invalid mute_status"})

    response = control(client_for(operator_user), call, "mute")

    assert response.status_code == 200  # htmx swaps only a 2xx; the content says no
    html = response.content.decode()
    assert 'class="action-result bad"' in html and "invalid mute_status" in html


def test_a_conflict_answers_in_the_page(fake_provider, client_for, operator_user):
    call = live_call(vonage_setup(fake_provider), CallStatus.COMPLETED)
    html = control(client_for(operator_user), call, "mute").content.decode()
    assert "there is nothing left to control" in html and "action-result bad" in html


def test_form_errors_answer_in_the_page(fake_provider, client_for, operator_user):
    call = live_call(vonage_setup(fake_provider))
    response = control(client_for(operator_user), call, "dtmf", {"digits": "12x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<details class="advanced control-form" id="control-dtmf" open>' in html
    assert 'id="dtmf_digits_error"' in html


# -- mute and earmuff are toggles showing the state -----------------------------------------


def test_mute_then_the_toggle_shows_muted_and_unmutes(fake_provider, client_for, operator_user):
    call = live_call(vonage_setup(fake_provider))
    client = client_for(operator_user)

    html = control(client, call, "mute").content.decode()

    call.refresh_from_db()
    assert call.muted and not call.earmuffed
    assert reverse("call_control", args=[call.pk, "unmute"]) in html
    assert 'aria-pressed="true"' in html and 'data-field="mute">on<' in html

    control(client, call, "unmute")
    call.refresh_from_db()
    assert not call.muted


def test_earmuff_state_follows_the_actions(fake_provider, client_for, operator_user):
    call = live_call(vonage_setup(fake_provider))
    client = client_for(operator_user)
    control(client, call, "earmuff")
    call.refresh_from_db()
    assert call.earmuffed
    html = client.get(reverse("call_detail", args=[call.pk])).content.decode()
    assert reverse("call_control", args=[call.pk, "unearmuff"]) in html
    assert 'data-field="earmuff">on<' in html


def test_a_refused_mute_leaves_the_state(fake_provider, client_for, operator_user):
    setup = vonage_setup(fake_provider)
    call = live_call(setup)
    setup.fake.reply("PUT", call_path(setup, call), 404, {"msg": "call not found"})
    control(client_for(operator_user), call, "mute")
    call.refresh_from_db()
    assert not call.muted


def test_the_calls_end_clears_mute_and_earmuff(fake_provider):
    call = live_call(vonage_setup(fake_provider), muted=True, earmuffed=True)

    call_event_record(
        account=call.account,
        payload={"status": "completed"},
        event=ParsedEvent(
            kind="status",
            status=CallStatus.COMPLETED,
            raw_status="completed",
            provider_call_id=call.provider_call_id,
        ),
    )

    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED and not call.muted and not call.earmuffed
    assert CallEvent.objects.filter(call=call).count() == 1


def test_the_call_page_says_things_in_one_format(client_for, viewer_user):
    call = CallFactory(
        status=CallStatus.COMPLETED,
        to_display="+447700900123",
        answered_at=timezone.now(),
        duration_seconds=83,
        price="0.01312333",
        rate="0.01390000",
    )
    html = client_for(viewer_user).get(reverse("call_detail", args=[call.pk])).content.decode()
    assert "Call to +44 7700 900123" in html
    assert ">not detected</dd>" in html  # answered, without machine detection
    assert ">1:23</dd>" in html
    assert "EUR 0.0131" in html and "EUR 0.0139 a minute" in html


def test_a_call_that_never_connected_has_no_duration(client_for, viewer_user):
    call = CallFactory(status=CallStatus.BUSY, duration_seconds=0)
    html = client_for(viewer_user).get(reverse("call_detail", args=[call.pk])).content.decode()
    assert 'data-field="duration">—, never connected</dd>' in html and "Answered by" not in html


def test_the_network_code_is_explained(client_for, viewer_user):
    call = CallFactory(status=CallStatus.COMPLETED, network="23410")
    html = client_for(viewer_user).get(reverse("call_detail", args=[call.pk])).content.decode()
    assert re.search(r'<dt><abbr title="[^"]*mobile country code and network code[^"]*">'
                     r"Network</abbr></dt><dd>23410</dd>", html)


def test_the_account_is_named_once_when_its_name_is_its_providers(client_for, viewer_user):
    """The demo's accounts are named after their provider: "Sandbox (Sandbox)" said it twice."""
    named_like_provider = ProviderAccountFactory(sandbox=True, name="Sandbox")
    named_otherwise = ProviderAccountFactory(sandbox=True, name="Rehearsals")
    client = client_for(viewer_user)
    for account, shown in ((named_like_provider, "<dd>Sandbox</dd>"),
                           (named_otherwise, '<dd>Rehearsals <span class="muted">(Sandbox)</span>'
                                             "</dd>")):
        call = CallFactory(account=account)
        html = client.get(reverse("call_detail", args=[call.pk])).content.decode()
        assert f"<dt>Account</dt>{shown}" in html
