"""GET and PATCH /api/v1/settings/retention and /api/v1/settings/security: the settings of
/settings/, for admins, audited as the page's changes are."""

import pytest

from calls.services.retention import retention_apply
from portal.models import AuditEntry, RetentionPolicy, Role, SecurityPolicy

pytestmark = pytest.mark.django_db
URL = "/api/v1/settings/retention"


def test_an_admin_reads_the_settings_and_what_the_last_run_did(api_for, admin_user):
    api = api_for(admin_user)
    before = api.get(URL).json()
    assert (before["webhook_payload_days"], before["number_masking_days"]) == (30, 180)
    assert before["last_run_at"] is None

    retention_apply()

    assert api.get(URL).json()["last_run"] == {"payloads_cleared": 0, "calls_masked": 0,
                                               "recordings_deleted": 0, "transcripts_deleted": 0}


def test_a_change_keeps_the_fields_left_out_and_is_audited(api_for, admin_user):
    response = api_for(admin_user).patch(URL, {"number_masking_days": None}, format="json")

    assert response.status_code == 200
    assert (response.json()["webhook_payload_days"], response.json()["number_masking_days"]) == (
        30,
        None,
    )
    policy = RetentionPolicy.load()
    assert (policy.webhook_payload_days, policy.number_masking_days) == (30, None)
    entry = AuditEntry.objects.get(action="retention.update")
    assert entry.actor == admin_user and entry.via == "API token"
    assert entry.changes == {"number_masking_days": [180, None]}


def test_the_page_shows_a_change_made_through_the_api(api_for, client_for, admin_user):
    api_for(admin_user).patch(URL, {"webhook_payload_days": 7}, format="json")

    assert 'value="7"' in client_for(admin_user).get("/settings/").content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"webhook_payload_days": 0}, "webhook_payload_days"),
        ({"number_masking_days": 3651}, "number_masking_days"),
        ({"number_masking_days": "soon"}, "number_masking_days"),
        ({"payload_days": 7}, "payload_days"),
        ({"last_run_at": "2026-01-01T00:00:00Z"}, "last_run_at"),
    ],
)
def test_a_bad_or_unknown_field_is_a_400_naming_it_and_changes_nothing(
    api_for, admin_user, body, field
):
    response = api_for(admin_user).patch(URL, body, format="json")

    assert response.status_code == 400 and list(response.json()["fields"]) == [field]
    policy = RetentionPolicy.load()
    assert (policy.webhook_payload_days, policy.number_masking_days) == (30, 180)
    assert not AuditEntry.objects.filter(action="retention.update").exists()


@pytest.mark.parametrize("persona", ["operator", "viewer", "outsider"])
def test_only_admins_read_or_change_the_settings(api_for, personas, persona):
    api = api_for(personas[persona])
    assert api.get(URL).status_code == 403
    assert api.patch(URL, {"webhook_payload_days": 1}, format="json").status_code == 403
    assert RetentionPolicy.load().webhook_payload_days == 30


SECURITY = "/api/v1/settings/security"


def test_an_admin_requires_two_factor_of_a_role_and_the_page_shows_it(
    api_for, client_for, admin_user
):
    api = api_for(admin_user)
    assert api.get(SECURITY).json()["two_factor_operator"] is False

    response = api.patch(SECURITY, {"two_factor_operator": True}, format="json")

    assert response.status_code == 200
    assert (response.json()["two_factor_admin"], response.json()["two_factor_operator"]) == (
        False,
        True,
    )
    assert SecurityPolicy.load().requires_two_factor(Role.OPERATOR)
    entry = AuditEntry.objects.get(action="security_policy.update")
    assert entry.changes == {"two_factor_operator": [False, True]}
    page = client_for(admin_user).get("/settings/").content.decode()
    assert 'name="two_factor_operator" id="id_two_factor_operator" checked' in page


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"two_factor_viewer": "perhaps"}, "two_factor_viewer"),
        ({"two_factor_viewers": True}, "two_factor_viewers"),
    ],
)
def test_a_bad_or_unknown_sign_in_setting_is_a_400_naming_it(api_for, admin_user, body, field):
    response = api_for(admin_user).patch(SECURITY, body, format="json")

    assert response.status_code == 400 and list(response.json()["fields"]) == [field]
    assert not SecurityPolicy.load().two_factor_viewer


@pytest.mark.parametrize("persona", ["operator", "viewer", "outsider"])
def test_only_admins_read_or_change_the_sign_in_settings(api_for, personas, persona):
    api = api_for(personas[persona])
    assert api.get(SECURITY).status_code == 403
    assert api.patch(SECURITY, {"two_factor_admin": True}, format="json").status_code == 403
    assert not SecurityPolicy.load().two_factor_admin
