"""An NCCO served to Voice Gateway calls is refused at save when Voice Gateway cannot run it,
pointing at the path; the same document is fine for Vonage."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.services import SYSTEM
from tests.factories import ApplicationFactory, ProviderAccountFactory
from tests.voiceapps.ncco_helpers import make_document
from voiceapps import services as app_services
from voiceapps.models import NccoDocument
from voiceapps.ncco import services
from voiceapps.ncco.services import NccoRejected
from voiceapps.providers.voicegateway import VoiceGatewayProvider

pytestmark = pytest.mark.django_db

LOUD = [{"action": "talk", "text": "Hello", "level": 0.8}]


GERMAN = [{"action": "talk", "text": "Bitte warten", "language": "de-DE"}]


@pytest.mark.parametrize(("content", "path", "why"), [
    (LOUD, "/0/level", "only level 0"),
    # jambonz speaks a say whose synthesizer names a language and no voice with the
    # application's voice (say.js, tts-task.js: each setting left out is the call's), and an
    # NCCO names no voice: the German text would be read by, say, an English voice.
    (GERMAN, "/0/language", "the application's voice"),
])
def test_a_save_voice_gateway_cannot_run_is_refused_with_the_path(content, path, why):
    document = make_document("Greeting")
    ApplicationFactory(
        account=ProviderAccountFactory(voicegateway=True), ncco_document=document, name="Line"
    )

    with pytest.raises(NccoRejected) as refused:
        services.ncco_document_update(actor=SYSTEM, document=document, content=content)

    [issue] = refused.value.report.errors
    assert issue.path == path
    assert why in issue.message and "“Line” on Voice Gateway" in issue.message
    assert document.versions.count() == 1


def test_the_same_save_is_fine_for_a_vonage_application():
    document = make_document("Greeting")
    ApplicationFactory(account=ProviderAccountFactory(), ncco_document=document)

    saved = services.ncco_document_update(actor=SYSTEM, document=document, content=LOUD)

    assert saved.version.number == 2


def test_a_document_a_voice_gateway_menu_routes_to_is_checked_too():
    target = make_document("Sales")
    menu = make_document(
        "Menu",
        [services.menu_input_action(url=services.menu_url(token="ACCOUNT_TOKEN", version_id=0))],
        menu={"digits": {"1": target.pk}},
    )
    ApplicationFactory(account=ProviderAccountFactory(voicegateway=True), ncco_document=menu)

    with pytest.raises(NccoRejected) as refused:
        services.ncco_document_update(actor=SYSTEM, document=target, content=LOUD)

    assert [issue.path for issue in refused.value.report.errors] == ["/0/level"]


def test_a_voice_gateway_application_cannot_be_given_a_flow_it_cannot_run():
    account = ProviderAccountFactory(voicegateway=True)
    loud = make_document("Loud", LOUD)

    with pytest.raises(ValidationError) as refused:
        app_services.application_create(
            actor=SYSTEM, account=account, values={"name": "Line", "ncco_document": loud}
        )

    assert "“Loud” /0/level" in str(refused.value.message_dict["ncco_document"])


def test_the_editor_preview_shows_the_verbs_or_why_there_are_none():
    verbs, issues = services.ncco_translation(
        document=[{"action": "talk", "text": "Hi"}], kind="voicegateway"
    )
    none, problems = services.ncco_translation(document=LOUD, kind="voicegateway")

    assert (verbs, issues) == ([{"verb": "say", "text": "Hi"}], [])
    assert none is None and [issue.path for issue in problems] == ["/0/level"]


def test_the_editor_shows_the_verbs_beside_the_ncco_for_a_voice_gateway_application(
    client_for, viewer_user
):
    document = make_document("Greeting", [{"action": "talk", "text": "Hello there"}])
    ApplicationFactory(account=ProviderAccountFactory(voicegateway=True), ncco_document=document)

    page = client_for(viewer_user).get(reverse("ncco_edit", args=[document.pk])).content.decode()

    assert "As Voice Gateway runs it" in page
    assert "&quot;verb&quot;: &quot;say&quot;" in page


def test_the_editor_shows_why_a_saved_talk_language_cannot_run_on_voice_gateway(
    client_for, viewer_user
):
    document = make_document("Greeting", GERMAN)
    ApplicationFactory(account=ProviderAccountFactory(voicegateway=True), ncco_document=document)

    page = client_for(viewer_user).get(reverse("ncco_edit", args=[document.pk])).content.decode()

    assert "As Voice Gateway runs it" in page
    assert "<code>/0/language</code> Voice Gateway would speak this with the application" in page


def test_a_talk_language_saved_before_the_check_is_still_served_as_it_was():
    # Hanging up the calls of a flow saved earlier would be worse than its voice.
    verbs = VoiceGatewayProvider.served_flow(GERMAN, hook="")

    assert verbs == [{"verb": "say", "text": "Bitte warten",
                      "synthesizer": {"vendor": "default", "language": "de-DE"}}]


def _menu_chain(length: int) -> NccoDocument:
    """`length` documents Voice Gateway cannot run, each one's menu routing to the next; the
    first."""
    following = None
    for n in reversed(range(length)):
        routes = {"menu": {"digits": {"1": following.pk}}} if following else {}
        ask = [services.menu_input_action(url=services.menu_url(token="T", version_id=0))]
        following = make_document(f"Step {n}", LOUD + (ask if following else []), **routes)
    return following


@pytest.mark.parametrize("length", [1, 20])
def test_checking_a_flow_for_a_provider_takes_as_many_queries_for_20_documents_as_for_one(
    length, django_assert_max_num_queries
):
    """It read each document and its latest version on its own: 40 queries for 20."""
    first = _menu_chain(length)

    with django_assert_max_num_queries(2):
        problems = services.ncco_problems_for(document=first, kind="voicegateway")

    assert [problem.split(" ")[:2] for problem in problems] == [
        ["“Step", f"{n}”"] for n in range(length)]


@pytest.mark.parametrize("length", [1, 20])
def test_finding_who_may_be_served_a_document_takes_as_many_queries_20_menus_deep_as_for_one(
    length, django_assert_max_num_queries
):
    """It read the menus once per level of the menus leading to the document: 21 queries for
    a chain of 20. The application serves the first; the last is reached through each menu."""
    first = _menu_chain(length)
    line = ApplicationFactory(account=ProviderAccountFactory(voicegateway=True),
                              ncco_document=first, name="Line")
    last = NccoDocument.objects.get(name=f"Step {length - 1}")

    with django_assert_max_num_queries(2):
        serving = services.serving_applications(last)

    assert serving == [line]
    assert serving[0].account.kind == "voicegateway"  # read with it: no query per application


def test_a_menu_of_an_earlier_version_still_leads_to_the_document():
    """A call served that version still routes by its menu (its menu URL names the version),
    so what the document's save is checked against includes its application."""
    target = make_document("Sales")
    front = make_document(
        "Front",
        [services.menu_input_action(url=services.menu_url(token="T", version_id=0))],
        menu={"digits": {"1": target.pk}},
    )
    line = ApplicationFactory(account=ProviderAccountFactory(), ncco_document=front)
    services.ncco_document_update(actor=SYSTEM, document=front,
                                  content=[{"action": "talk", "text": "Closed today"}])

    assert services.serving_applications(target) == [line]
