"""Outbound URL safety: nobody can aim Callboard's provider requests at an internal host."""

import ipaddress
import socket

import pytest
import requests
from django.urls import reverse

from portal.urlsafety import UnsafeUrl, check_outbound_url, guard_session
from tests.fakes.provider_accounts import start_kpn, start_vonage
from tests.voiceapps.account_helpers import account_from, reload

INTERNAL_URLS = [
    "http://127.0.0.1/v1/calls",
    "http://localhost:8000/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
    "http://[2002:7f00:1::1]/",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 around 10.0.0.1
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    # Global to Python 3.11's ipaddress, internal all the same:
    "http://[64:ff9b:1::a9fe:a9fe]/",  # local-use NAT64 (RFC 8215) around 169.254.169.254
    "http://[fec0::1]/",  # site-local, deprecated but still routed on some networks
    "http://[::7f00:1]/",  # IPv4-compatible (deprecated) 127.0.0.1
    "http://[::a00:1]/",  # IPv4-compatible 10.0.0.1
    "http://[::8.8.8.8]/",  # IPv4-compatible, refused whatever address it carries
]


@pytest.fixture
def nothing_allowed(settings) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []
    settings.PUBLIC_BASE_URL = "https://callboard.example.com"


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_addresses_are_refused_by_default(nothing_allowed, url):
    with pytest.raises(UnsafeUrl, match="OUTBOUND_ALLOWED_HOSTS"):
        check_outbound_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com/", "http:///x",
                                 "ftp://93.184.215.14/", "http://[::1/"])
def test_other_schemes_and_malformed_urls_are_refused(nothing_allowed, url):
    with pytest.raises(UnsafeUrl):
        check_outbound_url(url)


def test_public_addresses_pass(nothing_allowed):
    check_outbound_url("https://93.184.215.14/v1/calls")
    check_outbound_url("https://[2606:4700:4700::1111]/")


def test_a_host_name_that_resolves_to_an_internal_address_is_refused(nothing_allowed,
                                                                       monkeypatch):
    monkeypatch.setattr("portal.urlsafety._resolve", lambda host, port: [
        ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.7"),
    ])
    with pytest.raises(UnsafeUrl, match=r"gateway.example.com \(10.0.0.7\)"):
        check_outbound_url("https://gateway.example.com/v1")


@pytest.mark.parametrize(("entry", "url", "allowed"), [
    ("10.0.0.5", "https://10.0.0.5/v1", True),
    ("10.0.0.0/8", "http://10.200.1.1:8443/", True),
    ("10.0.0.5:8443", "https://10.0.0.5:8443/", True),
    ("10.0.0.5:8443", "https://10.0.0.5/", False),  # another port than the one allowed
    ("[::1]:9000", "http://[::1]:9000/", True),
    ("gateway.internal", "https://gateway.internal/v1", True),
    ("gateway.internal", "https://10.0.0.5/", False),
])
def test_the_allow_list_takes_hosts_addresses_networks_and_ports(nothing_allowed, settings,
                                                                  monkeypatch, entry, url,
                                                                  allowed):
    settings.OUTBOUND_ALLOWED_HOSTS = [entry]
    monkeypatch.setattr("portal.urlsafety.socket.getaddrinfo", _resolves_to("10.0.0.5"))
    if allowed:
        check_outbound_url(url)
    else:
        with pytest.raises(UnsafeUrl):
            check_outbound_url(url)


def test_callboards_own_address_is_allowed_for_the_sandbox(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    check_outbound_url("http://127.0.0.1:8000/sandbox/v1/calls")
    with pytest.raises(UnsafeUrl):
        check_outbound_url("http://127.0.0.1:8001/")  # another service on the same machine


def test_the_connection_guard_refuses_what_a_name_really_reached(
    client_for, admin_user, fake_provider, settings, monkeypatch
):
    """DNS rebinding: the check saw a public address, the connection reached loopback."""
    fake = fake_provider("vonage-voice.yml", "vonage-application-v2.yml")
    rebinding_url = fake.url.replace("127.0.0.1", "localhost")
    _, config = start_vonage(fake_provider, base_url=rebinding_url, rest_base_url=rebinding_url)
    account = account_from(config)
    settings.OUTBOUND_ALLOWED_HOSTS = []
    monkeypatch.setattr("portal.urlsafety._resolve",
                        lambda host, port: [ipaddress.ip_address("93.184.215.14")])

    client_for(admin_user).post(reverse("account_test", args=[account.pk]))

    account = reload(account)
    assert account.last_check_ok is False
    assert "does not send requests to localhost (127.0.0.1)" in account.last_check_message
    assert fake.requests == []


def test_a_guarded_session_refuses_internal_peers_on_its_own(nothing_allowed, fake_provider):
    fake = fake_provider("vonage-voice.yml")
    with pytest.raises(UnsafeUrl):
        guard_session(requests.Session()).get(fake.url + "/v1/calls", timeout=2)
    assert fake.requests == []


def test_test_connection_refuses_an_internal_base_url_without_sending_anything(
    client_for, admin_user, fake_provider, settings
):
    fake, config = start_vonage(fake_provider)
    account = account_from(config)
    settings.OUTBOUND_ALLOWED_HOSTS = []  # the default: the fake's loopback is not allowed

    client_for(admin_user).post(reverse("account_test", args=[account.pk]))

    account = reload(account)
    assert account.last_check_ok is False
    assert "does not send requests to 127.0.0.1" in account.last_check_message
    assert fake.requests == []


def test_kpn_token_url_is_checked_too(client_for, admin_user, fake_provider, settings):
    fake, config = start_kpn(fake_provider)
    account = account_from(config)
    settings.OUTBOUND_ALLOWED_HOSTS = []

    client_for(admin_user).post(reverse("account_test", args=[account.pk]))

    assert reload(account).last_check_ok is False
    assert fake.requests == []  # not even the OAuth token request went out


@pytest.mark.parametrize("role", ["viewer_user", "operator_user"])
def test_only_admins_change_provider_base_urls(request, db, client_for, api_for, fake_provider,
                                               role):
    fake, config = start_vonage(fake_provider)
    account = account_from(config)
    user = request.getfixturevalue(role)

    page = client_for(user).post(reverse("account_edit", args=[account.pk]), {
        "name": account.name, "calls_per_second": "1", "base_url": "http://10.0.0.1"})
    api = api_for(user).patch(f"/api/v1/accounts/{account.pk}",
                              {"base_url": "http://10.0.0.1"}, format="json")

    assert page.status_code == 403
    assert api.status_code == 403
    assert reload(account).base_url == fake.url


def _resolves_to(address: str):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return getaddrinfo
