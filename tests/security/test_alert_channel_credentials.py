"""A user name and password in an alert channel's URL are its credential, as the rest of a
Slack webhook's URL is: no page shows them, not even a failed notification's reason."""

from django.urls import reverse

from alerts.services import alert_notification_send
from tests.factories import AlertChannelFactory, AlertNotificationFactory

PASSWORD = "hunter2-in-the-url"


def test_a_failed_notification_names_the_host_without_the_urls_credentials(
        client_for, viewer_user, admin_user):
    channel = AlertChannelFactory(
        kind="slack", target=f"https://alerts:{PASSWORD}@receiver.invalid/services/T0/B0/x")
    notification = alert_notification_send(
        notification=AlertNotificationFactory(channel=channel))

    assert "receiver.invalid" in notification.error
    for user, page in ((viewer_user, reverse("alert_list")),
                       (admin_user, reverse("alert_settings"))):
        shown = client_for(user).get(page).content.decode()
        assert "receiver.invalid" in shown and PASSWORD not in shown, page
