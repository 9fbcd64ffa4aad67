"""NCCO pages: list, editor, history with diff and restore, delete; roles; the "done when" path."""

import json
import re

import pytest
from django.urls import reverse

from calls.models import AnswerRequest
from portal.services import SYSTEM
from tests.calls.hooks.test_answer import PARAMS, path_of, signed_get, signed_post
from tests.factories import ApplicationFactory, ProviderAccountFactory
from tests.voiceapps.ncco_helpers import GREETING, make_document
from voiceapps.hooks import answer_url
from voiceapps.models import NccoDocument
from voiceapps.ncco import services

pytestmark = pytest.mark.django_db


def editor_post(client, url, content, **fields):
    text = content if isinstance(content, str) else json.dumps(content, indent=2)
    data = {"name": "Greeting", "description": "", "content": text, "comment": "",
            "menu_default": "", **fields}
    return client.post(url, data)


# List --------------------------------------------------------------------------------------

def test_empty_list_says_what_to_do_next(client_for, operator_user, viewer_user):
    page = client_for(operator_user).get(reverse("ncco_list")).content.decode()
    assert "No NCCOs yet" in page and "?start=menu" in page
    page = client_for(viewer_user).get(reverse("ncco_list")).content.decode()
    assert "An operator creates them." in page and "?start=menu" not in page


def test_list_searches_and_separates_templates_from_flows(client_for, viewer_user):
    flow = make_document("Sales flow")
    make_document("Support template", is_template=True)
    ApplicationFactory(ncco_document=flow, name="Sales line")
    client = client_for(viewer_user)
    page = client.get(reverse("ncco_list")).content.decode()
    assert "Sales line" in page and "Template" in page
    only_templates = client.get(reverse("ncco_list"), {"kind": "template"}).content.decode()
    assert "Support template" in only_templates and "Sales flow" not in only_templates
    searched = client.get(reverse("ncco_list"), {"search": "sales"}).content.decode()
    assert "Sales flow" in searched and "Support template" not in searched
    nothing = client.get(reverse("ncco_list"), {"search": "zzz"}).content.decode()
    assert "No NCCO matches these filters" in nothing


# Editor ------------------------------------------------------------------------------------

def test_editor_offers_codemirror_skeletons_starters_and_preview(client_for, operator_user):
    page = client_for(operator_user).get(reverse("ncco_create")).content.decode()
    assert "vendor/codemirror-5.65.21.js" in page and "js/ncco-editor.js" in page
    for key, _, _ in services.ACTION_SKELETONS:
        assert f'data-insert="{key}"' in page
    assert 'data-insert="menu_input"' in page
    starters = json.loads(re.search(
        r'<script id="ncco-starters" type="application/json">(.*?)</script>', page, re.S
    ).group(1))
    assert len(starters) == 13 and "menu" in starters and "connect-phone" in starters
    assert 'id="ncco-preview"' in page and 'data-validate-url="/api/v1/ncco/validate"' in page


def test_the_editor_marks_its_required_fields_as_every_form_does(client_for, operator_user):
    page = client_for(operator_user).get(reverse("ncco_create")).content.decode()
    mark = '<span class="req" aria-hidden="true">*</span></label>'
    assert re.search(rf'<label for="id_name">Name {re.escape(mark)}', page)
    assert re.search(rf'<label id="ncco-source-label" for="id_content">NCCO \(JSON\) '
                     rf'{re.escape(mark)}', page)
    assert '<label for="id_description">Description</label>' in page  # optional: no mark
    # Help under the input and each error named for the input's aria-describedby, as in
    # form_fields.html, for every field of the editor.
    assert '<p class="help" id="id_name_helptext">' in page
    assert '<p class="help" id="id_is_template_helptext">' in page
    invalid = editor_post(client_for(operator_user), reverse("ncco_create"), "[]", name="")
    assert '<p class="error" id="id_name_error">' in invalid.content.decode()


def test_create_from_the_menu_template(client_for, operator_user):
    client = client_for(operator_user)
    page = client.get(reverse("ncco_create"), {"start": "menu"}).content.decode()
    assert "Press 1 for sales or 2 for support." in page
    response = editor_post(client, reverse("ncco_create"),
                           services.starters(menu_event_url="https://x.example/a")[0].text)
    document = NccoDocument.objects.get()
    assert response.status_code == 302 and response.url == reverse("ncco_edit", args=[document.pk])
    assert document.latest_version.author == operator_user


def test_mistakes_are_listed_with_lines_and_nothing_is_stored(client_for, operator_user):
    text = '[\n  {\n    "action": "talk",\n    "text": "Hi",\n    "bargin": true\n  }\n]'
    response = editor_post(client_for(operator_user), reverse("ncco_create"), text)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The NCCO has 1 error; nothing was saved." in page
    assert 'data-line="5"' in page and "/0/bargin" in page and "bargeIn" in page
    assert "&quot;bargin&quot;: true" in page  # the typed text is kept for fixing
    assert not NccoDocument.objects.exists()

    broken = editor_post(client_for(operator_user), reverse("ncco_create"), '[{"action": ')
    assert "Invalid JSON at line 1" in broken.content.decode()


def test_saving_adds_a_version_with_comment_and_shows_warnings(client_for, operator_user):
    document = make_document()
    client = client_for(operator_user)
    content = [{"action": "talk", "text": "Hi {{custom.agent}}"}]
    response = editor_post(client, reverse("ncco_edit", args=[document.pk]), content,
                           comment="Name the agent", based_on_version="1")
    assert response.status_code == 302
    latest = document.latest_version
    assert (latest.number, latest.content, latest.comment) == (2, content, "Name the agent")
    page = client.get(response.url).content.decode()
    assert "Saved version 2." in page and "Unknown placeholder" in page


def test_a_stale_editor_does_not_overwrite_a_newer_version(client_for, operator_user):
    document = make_document()
    services.ncco_document_update(actor=SYSTEM, document=document,
                                  content=[{"action": "talk", "text": "Newer"}])
    response = editor_post(client_for(operator_user), reverse("ncco_edit", args=[document.pk]),
                           GREETING, based_on_version="1")
    assert response.status_code == 200
    assert "Version 2 was saved by someone while you were editing" in response.content.decode()
    assert document.versions.count() == 2


def test_menu_routes_are_edited_beside_the_document(client_for, operator_user):
    sales, sorry = make_document("Sales"), make_document("Sorry")
    client = client_for(operator_user)
    text = services.starters(menu_event_url=services.menu_url(token="t", version_id=0))[0].text
    response = client.post(reverse("ncco_create"), {
        "name": "Menu", "content": text, "menu_key": ["1", "sales", ""],
        "menu_target": [str(sales.pk), str(sales.pk), ""], "menu_default": str(sorry.pk),
        "menu_opt_out": "9"})
    assert response.status_code == 302
    menu = NccoDocument.objects.get(name="Menu").latest_version.menu
    assert menu == {"digits": {"1": sales.pk}, "words": {"sales": sales.pk},
                    "default": sorry.pk, "opt_out": "9"}
    page = client.get(response.url).content.decode()
    assert 'id="ncco-menu" aria-labelledby' in page and 'value="sales"' in page
    assert 'name="menu_opt_out" value="9"' in page
    half = client.post(response.url, {"name": "Menu", "content": text, "menu_key": ["2"],
                                      "menu_target": [""]})
    assert "Each route needs both" in half.content.decode()


def test_viewer_reads_the_editor_but_cannot_save(client_for, viewer_user):
    document = make_document()
    client = client_for(viewer_user)
    page = client.get(reverse("ncco_edit", args=[document.pk])).content.decode()
    assert 'data-readonly="true"' in page and "Save new version" not in page
    response = editor_post(client, reverse("ncco_edit", args=[document.pk]),
                           [{"action": "talk", "text": "Hijack"}])
    assert response.status_code == 403 and document.versions.count() == 1
    assert client.get(reverse("ncco_create")).status_code == 403


@pytest.mark.parametrize("name", ["ncco_list", "ncco_create"])
def test_pages_need_a_role(client_for, outsider_user, name):
    assert client_for(outsider_user).get(reverse(name)).status_code == 403
    assert client_for(None).get(reverse(name)).status_code == 302  # to the sign-in page


# History, restore, delete ------------------------------------------------------------------

def test_history_diffs_any_two_versions_and_restores(client_for, operator_user):
    document = make_document()
    for text in ("Second", "Third"):
        services.ncco_document_update(actor=SYSTEM, document=document,
                                      content=[{"action": "talk", "text": text}])
    client = client_for(operator_user)
    history = reverse("ncco_history", args=[document.pk])
    page = client.get(history, {"from": 1, "to": 3}).content.decode()
    assert '<span class="del">-    &quot;text&quot;: &quot;Hello {{from}}' in page
    assert '<span class="add">+    &quot;text&quot;: &quot;Third&quot;</span>' in page
    assert "data-confirm=\"Restore version 1?" in page
    default = client.get(history).content.decode()  # the last two versions
    assert "Second" in default and "Hello {{from}}" not in default.split('class="diff"')[1]

    response = client.post(reverse("ncco_restore", args=[document.pk, 1]))
    assert response.status_code == 302
    assert document.latest_version.number == 4 and document.latest_version.content == GREETING
    version_page = client.get(reverse("ncco_version", args=[document.pk, 2])).content.decode()
    assert "Restore this version" in version_page and "Second" in version_page


def test_history_and_version_pages_say_they_are_about_an_ncco(client_for, viewer_user):
    """They read "History" and "Greeting, version 1": neither a tab nor the heading said the
    pages were an NCCO's, as the editor ("NCCO Greeting") and the delete page do."""
    document = make_document("Greeting")
    services.ncco_document_update(actor=SYSTEM, document=document,
                                  content=[{"action": "talk", "text": "Two"}])
    client = client_for(viewer_user)

    history = client.get(reverse("ncco_history", args=[document.pk])).content.decode()
    version = client.get(reverse("ncco_version", args=[document.pk, 1])).content.decode()

    assert "<title>History of NCCO Greeting · Callboard</title>" in history
    assert "<h1>History of NCCO Greeting</h1>" in history
    assert "<title>NCCO Greeting, version 1 · Callboard</title>" in version
    assert "<h1>NCCO Greeting, version 1</h1>" in version


def test_viewers_cannot_restore_or_delete(client_for, viewer_user):
    document = make_document()
    services.ncco_document_update(actor=SYSTEM, document=document,
                                  content=[{"action": "talk", "text": "Two"}])
    client = client_for(viewer_user)
    history = client.get(reverse("ncco_history", args=[document.pk])).content.decode()
    assert "Compare with latest" in history and ">Restore</button>" not in history
    assert client.post(reverse("ncco_restore", args=[document.pk, 1])).status_code == 403
    assert client.post(reverse("ncco_delete", args=[document.pk])).status_code == 403
    assert document.versions.count() == 2


def test_delete_asks_first_and_is_refused_while_in_use(client_for, operator_user):
    used = make_document("Used")
    ApplicationFactory(ncco_document=used, name="Front desk")
    client = client_for(operator_user)
    page = client.get(reverse("ncco_delete", args=[used.pk])).content.decode()
    assert "application “Front desk” serves it" in page
    assert ">Delete</button>" not in page
    client.post(reverse("ncco_delete", args=[used.pk]))
    assert NccoDocument.objects.filter(pk=used.pk).exists()

    unused = make_document("Unused")
    page = client.get(reverse("ncco_delete", args=[unused.pk])).content.decode()
    assert 'data-confirm="Delete “Unused”' in page
    assert client.post(reverse("ncco_delete", args=[unused.pk])).url == reverse("ncco_list")
    assert not NccoDocument.objects.filter(pk=unused.pk).exists()


# Done when ---------------------------------------------------------------------------------

def test_done_when_through_the_pages(client_for, operator_user, client, settings):
    """Menu template -> mistake shown -> fixed -> saved -> two versions diffed -> answer URL."""
    account = ProviderAccountFactory()
    sales = make_document("Sales", [{"action": "talk", "text": "Sales here."}])
    editor = client_for(operator_user)
    template = editor.get(reverse("ncco_create"), {"start": "menu"}).context["form"]["content"]
    text = template.value()
    mistake = text.replace('"maxDigits"', '"maxDigit"')
    shown = editor_post(editor, reverse("ncco_create"), mistake, name="Main menu",
                        menu_key="1", menu_target=str(sales.pk))
    assert shown.status_code == 200
    assert not NccoDocument.objects.filter(name="Main menu").exists()
    assert "/2/dtmf/maxDigit" in shown.content.decode()
    assert "Did you mean &quot;maxDigits&quot;?" in shown.content.decode()
    saved = editor_post(editor, reverse("ncco_create"), text, name="Main menu",
                        menu_key="1", menu_target=str(sales.pk), menu_default=str(sales.pk))
    document = NccoDocument.objects.get(name="Main menu")
    edited = text.replace("Press 1 for sales", "Press 1 for our sales team")
    editor_post(editor, saved.url, edited, name="Main menu", based_on_version="1",
                menu_key="1", menu_target=str(sales.pk), menu_default=str(sales.pk))
    diff = editor.get(reverse("ncco_history", args=[document.pk])).content.decode()
    assert '<span class="add">+    &quot;text&quot;: &quot;Press 1 for our sales team' in diff

    app = ApplicationFactory(account=account, ncco_document=document, name="Main line")
    client.logout()
    served = signed_get(client, answer_url(app), PARAMS).json()
    assert served[0]["text"] == "Welcome. You are calling from 447700900001."
    assert "our sales team" in served[1]["text"]
    chosen = signed_post(client, served[2]["eventUrl"][0],
                         {**PARAMS, "dtmf": {"digits": "1", "timed_out": False}})
    assert chosen.json() == [{"action": "talk", "text": "Sales here."}]
    assert AnswerRequest.objects.count() == 2


def test_done_when_through_the_api(api_for, operator_user, client):
    api = api_for(operator_user)
    account = ProviderAccountFactory()
    sales = api.post("/api/v1/nccos", {"name": "Sales", "ncco": [
        {"action": "talk", "text": "Sales for {{custom.team}}."}]}, format="json").json()
    text = services.starters(menu_event_url=services.menu_url(token="t", version_id=0))[0].text
    document = json.loads(text)
    document[2]["dtmf"]["timeOut"] = 99  # the mistake
    checked = api.post("/api/v1/ncco/validate", {"ncco": document}, format="json").json()
    assert [e["path"] for e in checked["errors"]] == ["/2/dtmf/timeOut"]
    refused = api.post("/api/v1/nccos", {"name": "Menu", "ncco": document}, format="json")
    assert refused.status_code == 400
    document[2]["dtmf"]["timeOut"] = 5
    menu = {"digits": {"1": sales["id"]}, "default": sales["id"]}
    created = api.post("/api/v1/nccos", {"name": "Menu", "ncco": document, "menu": menu},
                       format="json").json()
    document[1]["text"] = "Press 1, please."
    api.put(f"/api/v1/nccos/{created['id']}", {"name": "Menu", "ncco": document, "menu": menu},
            format="json")
    diff = api.get(f"/api/v1/nccos/{created['id']}/diff").json()["diff"]
    assert '+    "text": "Press 1, please.",' in diff

    app = ApplicationFactory(account=account,
                             ncco_document=NccoDocument.objects.get(pk=created["id"]),
                             variables={"team": "EMEA"})
    served = signed_post(client, answer_url(app), PARAMS).json()
    assert served[1]["text"] == "Press 1, please."
    chosen = client.post(path_of(served[2]["eventUrl"][0]), {**PARAMS, "dtmf": {"digits": "1"}},
                         content_type="application/json")
    assert chosen.status_code == 401  # unsigned: the account has a signature secret
    chosen = signed_post(client, served[2]["eventUrl"][0], {**PARAMS, "dtmf": {"digits": "1"}})
    assert chosen.json() == [{"action": "talk", "text": "Sales for EMEA."}]


def test_a_history_of_one_version_says_how_to_get_a_second_instead_of_comparing_it_with_itself(
    client_for, viewer_user
):
    """It offered "From version 1 To version 1" and said "Version 1 and version 1 are
    identical"."""
    document = make_document()
    page = client_for(viewer_user).get(reverse("ncco_history", args=[document.pk])).content
    page = page.decode()
    assert "Only version 1 so far: each save in the editor adds a version" in page
    assert "Show the difference" not in page and "are identical" not in page
