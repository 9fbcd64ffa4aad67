"""Outbound URL safety: Callboard never sends a request to an internal host on a user's say-so.

Every URL Callboard fetches or posts to from user input (provider base URLs, token URLs)
passes `check_outbound_url` before the request, and `guard_session` re-checks the address
a connection actually reached, so a host name that resolves to a public address for the
check and to 127.0.0.1 for the request (DNS rebinding) is refused too.

Refused: private, loopback, link-local (cloud metadata at 169.254.169.254), multicast,
reserved and unspecified addresses, unless the host name, the address or a network holding
it is in OUTBOUND_ALLOWED_HOSTS (e.g. an on-premises Voice Gateway at 10.0.0.5). Callboard's
own address (PUBLIC_BASE_URL: the sandbox provider lives there) is always allowed.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOWED_SCHEMES = ("http", "https")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Internal, though the ipaddress of some Pythons calls them global: local-use NAT64 (RFC 8215;
# where it holds the IPv4 address depends on the network's prefix length), site-local and
# IPv4-compatible (::a.b.c.d, deprecated by RFC 4291 2.5.5.1: a host or tunnel that still
# takes it reaches the IPv4 address, loopback and private ones included).
_INTERNAL_V6 = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("fec0::/10"),
    ipaddress.IPv6Network("::/96"),
)


class UnsafeUrl(ValueError):
    """The URL may not be requested; the message says why and what an admin can do."""


def check_outbound_url(url: str) -> None:
    """Raise UnsafeUrl unless Callboard may send a request to `url`.

    A host that does not resolve passes: the request then fails to connect with the usual
    error, and the connection guard still checks whatever it reaches later.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("The URL is malformed.") from None
    if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
        raise UnsafeUrl("Callboard only sends requests to http:// and https:// URLs with a host.")
    host = parts.hostname.lower().rstrip(".")
    if _host_allowed(host, port):
        return
    for address in _resolve(host, port):
        _check_address(address, host=host, port=port)


def is_public_address(address: IPAddress) -> bool:
    """False for every address that belongs to a private or special-purpose network."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address reach that address: judge it instead.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is not None:
            return is_public_address(embedded)
        if any(address in network for network in _INTERNAL_V6):
            return False
    # is_global is False for private, loopback, link-local, reserved, unspecified and
    # shared (carrier NAT) space; multicast has global ranges, so it is refused separately.
    return address.is_global and not address.is_multicast


def guard_session(session: requests.Session) -> requests.Session:
    """Make `session` refuse connections that reach an address `check_outbound_url` refuses."""
    adapter = _GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def sender_pools(*, guarded: bool, **options: Any) -> Callable[[], PoolManager]:
    """The process's urllib3 pool manager for a sender that needs none of requests' work per
    request (proxy and .netrc lookups in the environment, cookies, hooks, settings merged: more
    than the rest of a POST, docs/performance.md sections 7 and 9). Made at first use and anew
    in a forked child, which must not share its parent's connections; certificates checked
    against the bundle requests uses; no retry or redirect but what the sender does itself.
    `guarded`: its connections refuse an address `check_outbound_url` refuses, as a guarded
    session's do. `options` as PoolManager's."""

    @functools.cache
    def pools() -> PoolManager:
        manager = PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=DEFAULT_CA_BUNDLE_PATH,
                              retries=False, **options)
        if guarded:
            manager.pool_classes_by_scheme = _guarded_pools()
        return manager

    os.register_at_fork(after_in_child=pools.cache_clear)
    return pools


class UrlGuard:
    """The guard provider adapters get in AccountConfig.outbound_guard."""

    refusal = UnsafeUrl

    def check(self, url: str) -> None:
        check_outbound_url(url)

    def session(self) -> requests.Session:
        return guard_session(requests.Session())

    def __repr__(self) -> str:
        return "UrlGuard()"


OUTBOUND_GUARD = UrlGuard()


# -- internals -------------------------------------------------------------------------------


Entry = tuple[str | ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]


def _entries() -> tuple[Entry, ...]:
    """Each allow-list entry as (host name or network, port or None for any port): parsed
    once for each value of the settings, since the guard asks for every new connection."""
    return _parsed(settings.PUBLIC_BASE_URL, tuple(settings.OUTBOUND_ALLOWED_HOSTS))


@functools.lru_cache(maxsize=16)
def _parsed(public_base_url: str, allowed: tuple[str, ...]) -> tuple[Entry, ...]:
    own = urlsplit(public_base_url)
    own_port = own.port or (443 if own.scheme == "https" else 80)
    return tuple(_parse(raw) for raw in [f"{own.hostname}:{own_port}", *allowed] if raw.strip())


def _parse(raw: str) -> Entry:
    entry = raw.strip().lower()
    port: int | None = None
    if entry.startswith("["):  # [::1] or [::1]:8000
        entry, _, rest = entry[1:].partition("]")
        port = _port(rest[1:])
    elif entry.count(":") == 1:  # host:port or 10.0.0.5:8443
        entry, _, port_text = entry.partition(":")
        port = _port(port_text)
    try:
        return ipaddress.ip_network(entry, strict=False), port
    except ValueError:
        return entry.rstrip("."), port


def _port(text: str) -> int | None:
    # ASCII digits only: "²".isdigit() is true and int() refuses it.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 5 else None


def _host_allowed(host: str, port: int) -> bool:
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    for entry, entry_port in _entries():
        if entry_port not in (None, port):
            continue
        if isinstance(entry, str) and entry == host:
            return True
        if literal is not None and not isinstance(entry, str) and literal in entry:
            return True
    return False


def _address_allowed(address: IPAddress, port: int) -> bool:
    return any(
        not isinstance(entry, str) and address in entry and entry_port in (None, port)
        for entry, entry_port in _entries()
    )


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def _check_address(address: IPAddress, *, host: str, port: int) -> None:
    if is_public_address(address) or _address_allowed(address, port):
        return
    shown = host if host == str(address) else f"{host} ({address})"
    raise UnsafeUrl(
        f"Callboard does not send requests to {shown}: it is a private, loopback, "
        "link-local or reserved address. An administrator can allow it in "
        "OUTBOUND_ALLOWED_HOSTS."
    )


class _GuardedConnectionMixin:
    """Check the peer address right after the TCP connect, before a byte is sent."""

    host: str
    port: int

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        host = (self.host or "").lower().rstrip(".")
        if not _host_allowed(host, self.port):
            address = ipaddress.ip_address(sock.getpeername()[0].split("%", 1)[0])
            try:
                _check_address(address, host=host, port=self.port)
            except UnsafeUrl:
                sock.close()
                raise
        return sock


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _guarded_pools() -> dict[str, type[HTTPConnectionPool]]:
    return {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pools()
