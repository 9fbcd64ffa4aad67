"""The settings page leads to every settings area an admin has, each said in one line."""

import re

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_settings_links_every_area_with_a_line_saying_what_it_is(client_for, admin_user):
    """It listed only Alerts: Users, Event forwarding and the rest were found by luck."""
    html = client_for(admin_user).get(reverse("settings")).content.decode()
    areas = dict(re.findall(r'<dt><a href="([^"]+)">([^<]+)</a></dt><dd>[^<]+\.</dd>', html))
    assert areas == {
        reverse("user_list"): "Users",
        reverse("forwarding_list"): "Event forwarding",
        reverse("alert_settings"): "Alerts",
        "#retention-title": "Data retention",
        reverse("recording_retention"): "Recording retention",
        "#sign-in-title": "Sign-in",
        "#sso-title": "Single sign-on",
        reverse("audit_list"): "Audit log",
        reverse("system_status"): "System status",
    }
    for anchor in ("retention-title", "sign-in-title", "sso-title"):
        assert f'id="{anchor}"' in html
