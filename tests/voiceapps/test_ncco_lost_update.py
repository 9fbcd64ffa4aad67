"""The lost-update guard: a save based on an older version than the latest is refused, by the
service, so the editor page and the API (409) refuse it alike and nothing is overwritten."""

import pytest
from django.urls import reverse

from portal.services import SYSTEM, Actor
from tests.factories import UserFactory
from tests.voiceapps.ncco_helpers import GREETING, make_document
from tests.voiceapps.test_ncco_editor import editor_post
from voiceapps.ncco import services

pytestmark = pytest.mark.django_db

THEIRS = [{"action": "talk", "text": "Their newer words"}]
MINE = [{"action": "talk", "text": "My words"}]


@pytest.fixture
def raced():
    """A document at version 2: a colleague saved while someone edited version 1."""
    document = make_document()
    colleague = Actor(user=UserFactory(username="colleague"))
    services.ncco_document_update(actor=colleague, document=document, content=THEIRS,
                                  based_on_version=1)
    return document


def test_the_service_refuses_a_save_based_on_an_older_version(raced):
    with pytest.raises(services.NccoVersionConflict) as refused:
        services.ncco_document_update(actor=SYSTEM, document=raced, content=MINE,
                                      name="Renamed", based_on_version=1)

    assert str(refused.value.messages[0]).startswith("Version 2 was saved by colleague")
    raced.refresh_from_db()
    assert (raced.versions.count(), raced.latest_version.content, raced.name) == (
        2, THEIRS, "Greeting")


def test_the_page_keeps_the_text_and_the_next_save_goes_through(raced, client_for,
                                                                 operator_user):
    client = client_for(operator_user)
    url = reverse("ncco_edit", args=[raced.pk])

    refused = editor_post(client, url, MINE, based_on_version="1")

    html = refused.content.decode()
    assert refused.status_code == 200
    assert "Version 2 was saved by colleague while you were editing version 1." in html
    assert "My words" in html and raced.versions.count() == 2
    # Having seen the conflict, saving again replaces their version on purpose.
    assert 'name="based_on_version" value="2"' in html
    assert editor_post(client, url, MINE, based_on_version="2").status_code == 302
    assert raced.latest_version.content == MINE


def test_the_api_answers_409_with_the_error_body_and_saves_nothing(raced, api_for,
                                                                    operator_user):
    api = api_for(operator_user)

    response = api.put(f"/api/v1/nccos/{raced.pk}", {
        "name": "Greeting", "ncco": MINE, "based_on_version": 1}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "conflict" and body["fields"] == {}
    assert body["detail"].startswith("Version 2 was saved by colleague")
    assert "based_on_version 2" in body["detail"]
    assert raced.versions.count() == 2 and raced.latest_version.content == THEIRS


@pytest.mark.parametrize("based_on", [{"based_on_version": 2}, {}],
                         ids=["based on the latest", "without the field"])
def test_the_api_saves_when_based_on_the_latest_or_when_not_saying(raced, api_for,
                                                                    operator_user, based_on):
    response = api_for(operator_user).patch(f"/api/v1/nccos/{raced.pk}",
                                            {"ncco": MINE, **based_on}, format="json")

    assert response.status_code == 200 and response.json()["version"] == 3


def test_a_version_that_does_not_exist_yet_is_a_400_naming_the_field(raced, api_for,
                                                                      operator_user):
    response = api_for(operator_user).patch(f"/api/v1/nccos/{raced.pk}",
                                            {"ncco": GREETING, "based_on_version": 7},
                                            format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["based_on_version"]
    assert raced.versions.count() == 2
