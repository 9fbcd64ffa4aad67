"""The client's address behind proxies: taken from the right of X-Forwarded-For, validated.

Sign-in locks per address and the audit log's "from where" rest on it, so a client must not
be able to choose it, and a value that is not an address must not break a write.
"""

import pytest
from django.test import RequestFactory

from portal.models import AuditEntry
from portal.services import client_ip
from tests.factories import PASSWORD

PROXY = "10.0.0.1"
LOCKED = "Too many failed sign-ins"


@pytest.fixture
def behind_one_proxy(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1


def sign_in(client, username: str, password: str, forwarded: str):
    return client.post("/login/", {"username": username, "password": password},
                       REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


@pytest.mark.parametrize("proxies, forwarded, expected", [
    (0, "203.0.113.9", "198.51.100.1"),  # no proxy trusted: the header is the client's word
    (1, "203.0.113.9", "203.0.113.9"),
    (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client wrote the left entry
    (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
    (2, "203.0.113.9", "198.51.100.1"),  # fewer entries than proxies: not through them
    (1, "not-an-address", "198.51.100.1"),
    (1, "203.0.113.9, <script>", "198.51.100.1"),
    (1, "2001:DB8::1", "2001:db8::1"),
    (1, "", "198.51.100.1"),
])
def test_the_client_address_is_counted_from_the_right_and_validated(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.1",
                                   HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_a_remote_address_that_is_no_address_is_none(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="")

    assert client_ip(request) is None


def test_a_forged_forwarded_entry_neither_dodges_the_address_lock_nor_lands_in_the_audit_log(
    client, db, behind_one_proxy
):
    for n in range(20):
        sign_in(client, f"sprayed{n}", "Winter2026!", forwarded=f"192.0.2.{n}, 203.0.113.9")

    response = sign_in(client, "sprayed0", "Winter2026!", forwarded="192.0.2.99, 203.0.113.9")

    assert "Too many failed sign-ins for your network address" in response.content.decode()
    addresses = set(AuditEntry.objects.values_list("ip_address", flat=True))
    assert addresses == {"203.0.113.9"}


def test_a_forwarded_value_that_is_no_address_still_counts_and_locks(
    client, operator_user, behind_one_proxy
):
    for _ in range(5):
        response = sign_in(client, "operator", "wrong", forwarded="garbage")
        assert response.status_code == 200

    right = sign_in(client, "operator", PASSWORD, forwarded="garbage")

    assert LOCKED in right.content.decode()
    assert set(AuditEntry.objects.values_list("ip_address", flat=True)) == {PROXY}
