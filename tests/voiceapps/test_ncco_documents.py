"""NCCO documents and versions: save, refuse, restore, diff, delete, menus, starting points."""

import importlib
import json

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.models import AuditEntry
from portal.services import SYSTEM, Actor
from tests.factories import ApplicationFactory, ProviderAccountFactory
from tests.voiceapps.ncco_helpers import (
    GREETING,
    make_document,
)
from voiceapps import selectors
from voiceapps.models import NccoDocument, NccoVersion
from voiceapps.ncco import services, validate_ncco
from voiceapps.ncco.services import MenuChoice, NccoRejected
from voiceapps.providers.registry import PROVIDERS
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = pytest.mark.django_db

BAD = [{"action": "talk", "text": "Hi", "bargin": True}]
ASK = [
    {"action": "talk", "text": "Press 1 or say sales.", "bargeIn": True},
    {"action": "input", "type": ["dtmf", "speech"], "eventUrl": ["https://example.com/in"]},
]


def test_create_stores_version_one_with_author_comment_and_audit(operator_user):
    actor = Actor(user=operator_user)
    saved = services.ncco_document_create(
        actor=actor, name="Greeting", content=GREETING, description="Says hello",
        comment="First draft",
    )
    version = saved.version
    assert (version.number, version.content, version.comment) == (1, GREETING, "First draft")
    assert version.author == operator_user and version.created_at is not None
    entry = AuditEntry.objects.get(action="ncco.create")
    assert entry.object_id == str(version.document_id) and entry.actor == operator_user


def test_saved_documents_keep_the_key_order_they_were_written_in(operator_user):
    # PostgreSQL's jsonb would sort keys: the editor would show "text" before "action".
    written = [{"action": "talk", "text": "Hi", "language": "en-GB", "bargeIn": False}]
    saved = services.ncco_document_create(actor=Actor(user=operator_user), name="Order",
                                          content=written)
    stored = NccoVersion.objects.get(pk=saved.version.pk).content
    assert [list(action) for action in stored] == [["action", "text", "language", "bargeIn"]]


def test_update_adds_a_version_and_leaves_the_old_one_untouched(operator_user):
    document = make_document()
    changed = [{"action": "talk", "text": "Goodbye"}]
    saved = services.ncco_document_update(
        actor=Actor(user=operator_user), document=document, content=changed, comment="Shorter")
    assert saved.version.number == 2 and saved.version.author == operator_user
    first = document.versions.get(number=1)
    assert first.content == GREETING  # immutable: a save never rewrites history
    assert document.latest_version.content == changed
    assert AuditEntry.objects.filter(action="ncco.update", changes__version=2).exists()


def test_invalid_document_is_refused_with_the_error_list_and_nothing_is_stored():
    with pytest.raises(NccoRejected) as refused:
        services.ncco_document_create(actor=Actor(), name="Broken", content=BAD)
    assert [issue.path for issue in refused.value.report.errors] == ["/0/bargin"]
    assert "bargeIn" in refused.value.report.errors[0].message
    assert not NccoDocument.objects.filter(name="Broken").exists()

    document = make_document()
    with pytest.raises(NccoRejected):
        services.ncco_document_update(actor=Actor(), document=document, content=BAD)
    assert document.versions.count() == 1
    assert not AuditEntry.objects.filter(action="ncco.update").exists()


def test_unknown_placeholders_are_warnings_and_application_variables_are_known():
    content = [{"action": "talk", "text": "Hi {{custom.customer}}, {{custom.agent}} here."}]
    saved = services.ncco_document_create(actor=Actor(), name="Personal", content=content)
    assert {w.path for w in saved.warnings} == {"/0/text"}
    assert {"customer", "agent"} <= {w.message.split('"')[3] for w in saved.warnings}

    ApplicationFactory(ncco_document=saved.version.document,
                       variables={"customer": "Ann", "agent": "Bo"})
    again = services.ncco_document_update(actor=Actor(), document=saved.version.document,
                                          content=content)
    assert again.warnings == []


def test_metadata_only_update_changes_details_without_a_version():
    document = make_document()
    assert services.ncco_document_update(actor=Actor(), document=document,
                                         name="Welcome", is_template=True) is None
    document.refresh_from_db()
    assert (document.name, document.is_template, document.versions.count()) == (
        "Welcome", True, 1)


def test_names_are_unique():
    make_document("Greeting")
    with pytest.raises(ValidationError) as refused:
        make_document("Greeting")
    assert "name" in refused.value.message_dict


def test_diff_is_a_unified_diff_of_pretty_json():
    document = make_document()
    services.ncco_document_update(actor=Actor(), document=document,
                                  content=[{"action": "talk", "text": "Bye"}])
    first, second = document.versions.order_by("number")
    diff = services.ncco_diff(first, second)
    assert diff.splitlines()[:2] == ["--- version 1", "+++ version 2"]
    assert '-    "text": "Hello {{from}}, you called {{to}}."' in diff
    assert '+    "text": "Bye"' in diff
    assert services.ncco_diff(first, first) == ""


def test_restore_creates_a_new_version_with_the_old_content(operator_user):
    document = make_document()
    services.ncco_document_update(actor=Actor(), document=document,
                                  content=[{"action": "talk", "text": "Bye"}])
    saved = services.ncco_version_restore(actor=Actor(user=operator_user),
                                          version=document.versions.get(number=1))
    assert saved.version.number == 3
    assert saved.version.content == GREETING and saved.version.comment == "Restored version 1"
    assert document.versions.count() == 3
    assert AuditEntry.objects.filter(action="ncco.restore", changes__from_version=1).exists()


def test_delete_is_refused_while_an_application_serves_the_document():
    document = make_document()
    ApplicationFactory(ncco_document=document, name="Front desk")
    with pytest.raises(ValidationError) as refused:
        services.ncco_document_delete(actor=Actor(), document=document)
    assert "application “Front desk” serves it" in refused.value.messages[0]
    assert NccoDocument.objects.filter(pk=document.pk).exists()


def test_delete_is_refused_while_a_menu_routes_to_the_document():
    target = make_document("Sales")
    services.ncco_document_create(actor=Actor(), name="Menu", content=ASK,
                                  menu={"digits": {"1": target.pk}})
    with pytest.raises(ValidationError, match="the menu of “Menu” routes to it"):
        services.ncco_document_delete(actor=Actor(), document=target)


def test_a_menu_its_latest_version_dropped_no_longer_holds_its_target(
        client_for, operator_user, django_assert_num_queries):
    """Version 1 of "Menu" routed 1 to "Sales"; version 2 has no menu. "Sales" read as "A route
    of Menu" and could not be deleted, as if the old version still served calls."""
    target = make_document("Sales")
    menu = services.ncco_document_create(actor=Actor(), name="Menu", content=ASK,
                                         menu={"digits": {"1": target.pk}}).version.document
    other = services.ncco_document_create(actor=Actor(), name="Other menu", content=ASK,
                                          menu={"default": target.pk}).version.document
    services.ncco_document_update(actor=Actor(), document=menu, content=ASK)

    with django_assert_num_queries(1):
        routing = selectors.ncco_menus_routing_to(document_ids=[target.pk])
    assert routing[target.pk] == [other]
    page = client_for(operator_user).get(reverse("ncco_list")).content.decode()
    sales = page[page.index(">Sales<"):]
    row = sales[:sales.index("</tr>")]
    assert ">Other menu</a>" in row and ">Menu</a>" not in row

    services.ncco_document_update(actor=Actor(), document=other, content=ASK)
    services.ncco_document_delete(actor=Actor(), document=target)
    assert not NccoDocument.objects.filter(pk=target.pk).exists()


def test_delete_removes_document_and_versions_and_is_audited():
    document = make_document()
    pk = document.pk
    services.ncco_document_delete(actor=Actor(), document=document)
    assert not NccoDocument.objects.exists() and not NccoVersion.objects.exists()
    assert AuditEntry.objects.filter(action="ncco.delete", object_id=str(pk)).exists()


# Hosted menus ------------------------------------------------------------------------------

def test_menu_table_is_cleaned_and_checked():
    sales, support = make_document("Sales"), make_document("Support")
    menu, warnings = services.menu_clean(
        {"digits": {"1": str(sales.pk)}, "words": {" Support ": support.pk},
         "default": sales.pk}, document=ASK)
    assert menu == {"digits": {"1": sales.pk}, "words": {"support": support.pk},
                    "default": sales.pk}
    assert [w.message for w in warnings] == [
        "The routing table is used only when an input action's eventUrl points at "
        "Callboard's menu URL; no input does."]
    with pytest.raises(ValidationError) as refused:
        services.menu_clean({"digits": {"1x": sales.pk, "2": 999999}, "colour": {}},
                            document=ASK)
    problems = refused.value.message_dict["menu"]
    assert any("colour" in p for p in problems)
    assert any('"1x" is not digits' in p for p in problems)
    assert "There is no NCCO document with id 999999." in problems


@pytest.mark.parametrize(("event", "choice"), [
    ({"dtmf": {"digits": "2", "timed_out": False}}, MenuChoice("digits", "2", 20)),
    ({"dtmf": {"digits": "", "timed_out": True}, "speech": {"results": [
        {"text": "I want to talk to SALES please", "confidence": "0.9"}]}},
     MenuChoice("word", "sales", 30)),
    ({"speech": {"results": [{"text": "wholesale", "confidence": "0.8"}]}},
     MenuChoice("default", "", 40)),  # a word inside another word does not count
    ({"dtmf": {"digits": "9", "timed_out": False}}, MenuChoice("default", "", 40)),
    ({"dtmf": {"digits": "", "timed_out": True}}, MenuChoice("default", "", 40)),
])
def test_menu_choice_by_digits_then_words_then_default(event, choice):
    menu = {"digits": {"1": 10, "2": 20}, "words": {"sales": 30}, "default": 40}
    assert services.menu_choose(menu, event) == choice


def test_menu_without_default_chooses_nothing():
    assert services.menu_choose({"digits": {"1": 10}}, {"dtmf": {"digits": "5"}}) == \
        MenuChoice("none", "", None)


def test_menus_are_pointed_at_the_serving_account_and_version(settings):
    url = services.menu_url(token="OLD", version_id=1)
    assert url == f"{settings.PUBLIC_BASE_URL}/hooks/OLD/menu/1"
    document = [{"action": "input", "type": ["dtmf"],
                 "eventUrl": [url, "https://example.com/other"]}]
    assert services.menu_inputs(document) == [0]
    served = services.point_menus_at(document, token="tok", version_id=7)
    assert served[0]["eventUrl"] == [f"{settings.PUBLIC_BASE_URL}/hooks/tok/menu/7",
                                     "https://example.com/other"]
    assert document[0]["eventUrl"][0] == url  # the stored document is not changed


# Starting points ---------------------------------------------------------------------------

def test_every_action_skeleton_is_a_valid_action():
    kinds = {action["action"] for _, _, action in services.ACTION_SKELETONS}
    assert kinds == {"talk", "stream", "input", "record", "connect", "conversation", "notify",
                     "wait", "transfer"}
    endpoints = {action["endpoint"][0]["type"] for _, _, action in services.ACTION_SKELETONS
                 if action["action"] == "connect"}
    assert endpoints == {"phone", "sip", "websocket", "app", "vbc"}
    for key, _, action in services.ACTION_SKELETONS:
        assert validate_ncco([action]).valid, key
    assert validate_ncco([services.menu_input_action(url="https://cb.example/hooks/t/menu/1")]).valid


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
def test_every_insert_button_and_the_menu_starter_run_on_every_provider(kind):
    """A newcomer's first action or first menu is never refused by the provider they use."""
    menu = json.loads(services.starters(menu_event_url="https://cb.example/hooks/t/menu/0")[0].text)
    for key, _, action in services.ACTION_SKELETONS:
        if key in {"connect_app", "connect_vbc", "transfer", "record"}:
            continue  # Vonage's own features: a provider without them says why, as it should
        assert PROVIDERS[kind].ncco_problems([action]) == [], key
    assert PROVIDERS[kind].ncco_problems(menu) == []


def test_starters_are_the_menu_template_and_the_twelve_official_examples():
    starters = services.starters(menu_event_url="https://cb.example/hooks/t/menu/0")
    assert starters[0].key == "menu"
    assert len(starters) == 13
    assert {s.key for s in starters[1:]} >= {"connect-phone", "dtmf-input", "asr-input",
                                             "record", "transfer"}
    menu = services.ncco_check(document=None, text=starters[0].text)[1]
    assert menu.valid and menu.errors == []


def test_stored_webhook_tokens_are_replaced_on_save_and_by_the_migration(settings):
    """A token in a stored document would show on pages every role reads."""
    account = ProviderAccountFactory()
    url = services.menu_url(token=account.webhook_token, version_id=0)
    events = f"{settings.PUBLIC_BASE_URL}/hooks/{account.webhook_token}/events"
    content = [services.menu_input_action(url=url),
               {"action": "notify", "payload": {}, "eventUrl": [events]}]
    saved = services.ncco_document_create(actor=SYSTEM, name="Menu", content=content).version
    assert account.webhook_token not in json.dumps(saved.content)
    served, _ = services.ncco_render_version(version=saved, values={}, account=account)
    assert served[1]["eventUrl"] == [events]  # serving puts the account's token back

    NccoVersion.objects.filter(pk=saved.pk).update(content=content)  # as stored before
    application = ApplicationFactory(account=account, flow_type="url",
                                     answer_url="https://example.com/answer", event_url=events)
    migration = importlib.import_module(
        "voiceapps.migrations.0005_webhook_tokens_out_of_stored_documents")
    migration.forwards(django_apps, None)

    saved.refresh_from_db()
    application.refresh_from_db()
    assert account.webhook_token not in json.dumps(saved.content)
    assert (application.answer_url, application.event_url) == ("https://example.com/answer", "")


def test_the_list_shows_which_menu_routes_to_a_document_no_application_serves(
        client_for, operator_user):
    """The sandbox's "Demo: sales" serves calls through the demo menu: "—" in "Served by"
    read as unused (and its deletion is refused for that menu)."""
    sandbox_first_run()
    page = client_for(operator_user).get(reverse("ncco_list")).content.decode()
    sales = page[page.index(">Demo: sales<"):]
    row = sales[:sales.index("</tr>")]
    assert "A route of" in row and ">Demo menu</a>" in row
