"""What every provider-facing view shares: the body limit and the raw-SQL lookups.

The lookups go through a plain cursor (portal.rawrows): Django's query compiler cost three
to five times what PostgreSQL spends on them, and each sits on a provider's request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections
from django.http import HttpRequest

from calls.models import Call
from portal import rawrows
from voiceapps.models import Application, NccoVersion, ProviderAccount

MAX_BODY = 256 * 1024  # bytes; provider events are a few KB, a jambonz INVITE maybe 10
T = TypeVar("T")

_ACCOUNT_FIELDS = rawrows.fields_of(ProviderAccount)
_ACCOUNT_BY_TOKEN = (
    f"SELECT {rawrows.columns(_ACCOUNT_FIELDS)} "
    f"FROM {ProviderAccount._meta.db_table} WHERE webhook_token = %s"
)


# Accounts by webhook token, kept this long per process: at a thousand events a second the
# lookup was one of the request's three round trips. A change made in another process
# (a new token, a new signature secret, a deleted account) counts here within this time; one
# made in this process at once (accounts_forget, on every save and delete).
ACCOUNT_CACHE_SECONDS = 1.0
_ACCOUNTS: dict[str, tuple[float, ProviderAccount]] = {}  # token: (kept until, account)
_ACCOUNTS_BY_ID: dict[int, tuple[float, ProviderAccount]] = {}  # the same, for workers
_ACCOUNTS_MAX = 1024


def _kept(store: dict[Any, tuple[float, Any]], key: Any, load: Callable[[], Any]) -> Any:
    """`load()`'s answer for `key`, kept ACCOUNT_CACHE_SECONDS in `store`. None is not kept:
    anyone can send an unknown token or address."""
    now = time.monotonic()
    kept = store.get(key)
    if kept is not None and kept[0] > now:
        return kept[1]
    found = load()
    if found is not None:
        if len(store) >= _ACCOUNTS_MAX:
            store.clear()
        store[key] = (now + ACCOUNT_CACHE_SECONDS, found)
    return found


def account_by_token(token: str) -> ProviderAccount | None:
    """The account this webhook token belongs to (every delivery starts here)."""
    return _kept(_ACCOUNTS, token, lambda: rawrows.fetch_one(
        ProviderAccount, _ACCOUNT_FIELDS, _ACCOUNT_BY_TOKEN, [token]))


def account_by_id(account_id: int) -> ProviderAccount | None:
    """The account a stored delivery came to (a worker's batch starts here), kept as
    accounts by token are."""
    return _kept(_ACCOUNTS_BY_ID, account_id,
                 lambda: rawrows.fetch_by_pk(ProviderAccount, account_id))


def accounts_forget(**_: Any) -> None:
    """An account, application or NCCO version was saved or deleted in this process: look
    every token and answer URL up again."""
    _ACCOUNTS.clear()
    _ACCOUNTS_BY_ID.clear()
    _APPLICATIONS.clear()


def content_length(request: HttpRequest) -> int:
    """The body size the request declares (0 if it declares none or nonsense)."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


# What answering needs of a call: loading all of its fields (six JSON documents among them)
# cost more than the rest of the lookup.
ANSWER_CALL_FIELDS = ("id", "tag", "ncco_version_id", "application_id", "created_at")
_CALL_FIELDS = rawrows.fields_of(Call, ANSWER_CALL_FIELDS)
# No ORDER BY ... LIMIT 1: with it and no fresh statistics PostgreSQL walked the account's
# calls newest first (call_account_newest) to learn that a leg is not one of them; without,
# only the (account, provider id) index fits. The newest is then picked here (Call's order).
_CALL_BY_UUID = (
    f"SELECT {rawrows.columns(_CALL_FIELDS)} FROM {Call._meta.db_table} "
    "WHERE account_id = %s AND provider_call_id = %s"
)


def call_by_uuid(*, account_id: int, params: Mapping[str, Any]) -> Call | None:
    """The call Callboard placed that the provider's `uuid` names, if any."""
    uuid = params.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        return None
    calls = _health_checked_by(
        lambda: rawrows.fetch_all(Call, _CALL_FIELDS, _CALL_BY_UUID, [account_id, uuid]))
    return max(calls, key=lambda call: (call.created_at, call.pk), default=None)


# The application at an answer URL, its account, and the primary key of the version it
# serves: the pinned one if it belongs to the application's document, else the document's
# latest. The version itself comes from ncco_version's cache.
_APPLICATION_FIELDS = rawrows.fields_of(
    Application, ("id", "account_id", "ncco_document_id", "variables")
)
_VERSION_TABLE = NccoVersion._meta.db_table
_APPLICATION_AT_URL = f"""
SELECT {rawrows.columns(_APPLICATION_FIELDS, "app")}, {rawrows.columns(_ACCOUNT_FIELDS, "acc")},
  COALESCE(
    (SELECT pinned.id FROM {_VERSION_TABLE} pinned
     WHERE pinned.id = app.pinned_version_id AND pinned.document_id = app.ncco_document_id),
    (SELECT latest.id FROM {_VERSION_TABLE} latest
     WHERE latest.document_id = app.ncco_document_id ORDER BY latest.number DESC LIMIT 1))
FROM {Application._meta.db_table} app
JOIN {ProviderAccount._meta.db_table} acc ON acc.id = app.account_id
WHERE app.id = %s AND acc.webhook_token = %s
"""


# Answer URLs found, kept as accounts are (ACCOUNT_CACHE_SECONDS, forgotten by
# accounts_forget): the lookup was an answer's costliest query, mostly PostgreSQL planning it.
# A version published or pinned in another process is served within that second.
_APPLICATIONS: dict[tuple[str, int], tuple[float, tuple[Application, int | None]]] = {}


def application_at_url(token: str, application_id: int) -> tuple[Application, int | None] | None:
    """(application with its account, served version's pk), or None if no such URL."""
    return _kept(_APPLICATIONS, (token, application_id),
                 lambda: _application_at_url(token, application_id))


def _application_at_url(token: str, application_id: int) -> tuple[Application, int | None] | None:
    row = _health_checked_by(lambda: _fetch_one_row(_APPLICATION_AT_URL, [application_id, token]))
    if row is None:
        return None
    accounts_from = len(_APPLICATION_FIELDS)
    application = rawrows.from_row(Application, _APPLICATION_FIELDS, row[:accounts_from])
    application.account = rawrows.from_row(ProviderAccount, _ACCOUNT_FIELDS, row[accounts_from:-1])
    return application, row[-1]


def _fetch_one_row(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _health_checked_by(read: Callable[[], T]) -> T:
    """`read()`, a SELECT, standing in for Django's health check of a persistent connection.

    With CONN_HEALTH_CHECKS, the first query of a request on a reused connection is preceded
    by a SELECT 1, a round trip that was 5 % of an answer's CPU (docs/performance.md, section
    2). Here the request's first read is the check: if it fails on a connection that is no
    longer usable (PostgreSQL restarted, the backend was terminated), the connection is
    replaced and the read, which changes nothing, is run again on the new one.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.connection is None or not db.health_check_enabled or db.health_check_done:
        return read()
    db.health_check_done = True
    try:
        return read()
    except (InterfaceError, OperationalError):
        if db.is_usable():
            raise
        db.close()
        return read()
