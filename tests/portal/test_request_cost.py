"""What a signed-in poll costs before its view, and the session and second-factor rules that
must still hold on the very next request (docs/performance.md section 7)."""

import re
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import Role, SecurityPolicy
from tests.factories import PASSWORD, CampaignFactory
from tests.portal.test_two_factor import enrol

pytestmark = pytest.mark.django_db

# Why each query a signed-in poll makes outside the view (whose tables are campaigns_*).
SESSION = (
    "django_session: the session, read on every request so that one ended elsewhere is refused"
)
USER = "portal_user: the session's user"
POLICY = (
    "portal_securitypolicy: the enforced-2FA policy, whether the user has a device and "
    "their role (which the view's own check then uses), in one query, read per request so "
    "that a change applies on the next one"
)
DEVICE = "otp_totp_totpdevice: the device that verified this session (a reset ends it)"
ROLE = "auth_group: the user's role, for the policy and then the view's own check"


def signed_in(username: str = "operator") -> Client:
    client = Client(REMOTE_ADDR="192.0.2.7")
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def board(campaign) -> str:
    return reverse("campaign_board_live", args=[campaign.pk])


def poll_queries(client: Client, url: str) -> list[str]:
    """The SQL of one poll outside the view (savepoints aside), after a first poll."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as poll:
        assert client.get(url).status_code == 200
    sqls = [q["sql"] for q in poll.captured_queries]
    return [s for s in sqls if "campaigns_" not in s and "SAVEPOINT" not in s]


def check_ceiling(sqls: list[str], reasons: list[str]) -> None:
    """Each query is a SELECT with one of `reasons`, each reason used at most once."""
    expected = {reason.split(":")[0]: reason for reason in reasons}
    seen = []
    for sql in sqls:
        table = re.match(r'(?:SELECT|UPDATE|INSERT INTO|DELETE FROM) "(\w+)"', sql).group(1)
        seen.append(f"{sql.split()[0]} {expected.get(table, f'{table}: NO REASON')}")
    listed = "\n".join(seen)
    assert len(sqls) <= len(reasons), f"{len(sqls)} queries, {len(reasons)} allowed:\n{listed}"
    assert all(line.startswith("SELECT") for line in seen), f"a write on a poll:\n{listed}"
    assert "NO REASON" not in listed, f"a query with no reason:\n{listed}"
    assert len(set(seen)) == len(seen), f"a query made twice:\n{listed}"


def test_a_poll_without_a_second_factor_makes_three_queries_before_its_view(operator_user):
    sqls = poll_queries(signed_in(), board(CampaignFactory()))

    check_ceiling(sqls, [SESSION, USER, POLICY])


def test_a_poll_verified_by_an_authenticator_makes_four_queries_before_its_view(operator_user):
    client = signed_in()
    enrol(client, operator_user)

    sqls = poll_queries(client, board(CampaignFactory()))

    check_ceiling(sqls, [SESSION, USER, DEVICE, ROLE])


def test_polls_keep_a_session_alive_and_save_it_at_most_once_a_minute(operator_user, clock):
    client, url = signed_in(), board(CampaignFactory())
    with CaptureQueriesContext(connection) as polls:
        for _ in range(40):  # 40 minutes, longer than the idle timeout, two polls a minute
            clock(1)
            assert client.get(url).status_code == 200
            assert client.get(url).status_code == 200
    saves = [q for q in polls.captured_queries if q["sql"].startswith('UPDATE "django_session"')]

    assert len(saves) == 40
    expiry = Session.objects.get().expire_date
    assert expiry >= timezone.now() + timedelta(minutes=29)
    clock(30)  # then idle for the timeout
    response = client.get(url)
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("login")


def test_a_session_ended_elsewhere_is_refused_on_its_next_poll(operator_user):
    laptop, phone = signed_in(), signed_in()
    url = board(CampaignFactory())
    assert phone.get(url).status_code == 200

    laptop.post(reverse("sign_out_everywhere"))

    response = phone.get(url)
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("login")
    assert not Session.objects.exists()


def test_a_policy_change_applies_to_the_next_poll(operator_user):
    client, url = signed_in(), board(CampaignFactory())
    api = reverse("api_campaign", args=[CampaignFactory().pk])
    assert client.get(url).status_code == 200 and client.get(api).status_code == 200

    SecurityPolicy.objects.update_or_create(pk=1, defaults={"two_factor_operator": True})

    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_setup"))
    assert client.get(api).status_code == 403


def test_an_authenticator_enrolled_in_another_session_applies_to_the_next_poll(operator_user):
    laptop, phone = signed_in(), signed_in()
    url = board(CampaignFactory())
    assert phone.get(url).status_code == 200

    enrol(laptop, operator_user)

    response = phone.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_verify"))


def test_a_role_taken_away_applies_to_the_next_poll(operator_user):
    client, url = signed_in(), reverse("delivery_list_live")  # operators' live region
    assert client.get(url).status_code in (200, 204)

    operator_user.set_role(Role.VIEWER)

    assert client.get(url).status_code == 403
