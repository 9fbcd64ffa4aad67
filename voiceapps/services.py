"""Provider accounts, applications and numbers: every write, for pages and the API alike.

Provider calls happen outside database transactions (a slow provider must not hold a
lock); what they return is then stored and audited in one transaction. A ProviderError
reaches the caller with the provider's own sentence, never a traceback.
"""

import dataclasses
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import PROTECT, Model, ProtectedError
from django.utils import timezone

from portal.services import Actor, InUse, StateConflict, audit_record
from voiceapps import hooks, phone
from voiceapps.adapters import account_adapter
from voiceapps.models import (
    Application,
    FlowType,
    Number,
    ProviderAccount,
    SyncState,
    new_webhook_token,
)
from voiceapps.ncco.services import ncco_problems_for
from voiceapps.providers.base import Provider, ProviderError, RemoteApplication, RemoteNumber
from voiceapps.providers.registry import PROVIDERS, provider_class
from voiceapps.providers.vonage import new_private_key_pem, public_key_pem
from voiceapps.signals import account_retired

# Account fields that are not credentials; every kind has them.
ACCOUNT_COMMON_FIELDS = ("name", "calls_per_second")
SANDBOX_PATH = "/sandbox"


def _protected_message(what: str, counts: Mapping[type[Model], int], instead: str = "") -> str:
    """'This account has 2 applications; delete or move them first.' Records that are never
    deleted (KEPT_FOR_HISTORY: calls) keep the object for good, which the sentence says,
    followed by `instead`: what to do rather than delete it."""
    listed = " and ".join(
        f"{count} {model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural}"
        # In a fixed order: a ProtectedError's objects come from a set.
        for model, count in sorted(counts.items(), key=lambda item: str(item[0]._meta.verbose_name))
    )
    kept = [str(model._meta.verbose_name_plural) for model in counts
            if getattr(model, "KEPT_FOR_HISTORY", False)]
    if kept:
        return " ".join(filter(None, [
            f"This {what} has {listed}. {' and '.join(kept).capitalize()} are never deleted, "
            f"and keep the {what} they belong to: it cannot be deleted.", instead]))
    return f"This {what} has {listed}; delete or move them first."


def delete_refusal(obj: Model, what: str, instead: str = "") -> str:
    """The sentence deleting `obj` would be refused with, or "" if nothing protects it; a
    page says it before anyone presses Delete. Counted, not loaded, as a page can afford."""
    counts = {}
    for relation in obj._meta.related_objects:
        if relation.on_delete is PROTECT:
            count = relation.related_model._default_manager.filter(
                **{relation.field.name: obj}).count()
            if count:
                counts[relation.related_model] = count
    return _protected_message(what, counts, instead) if counts else ""


def _delete(*, actor: Actor, obj: Model, what: str, action: str, instead: str = "") -> None:
    try:
        with transaction.atomic():
            audit_record(actor=actor, action=action, obj=obj)
            obj.delete()
    except ProtectedError as error:
        counts = Counter(type(protected) for protected in error.protected_objects)
        raise InUse(_protected_message(what, counts, instead)) from None


# Accounts ----------------------------------------------------------------------------------

def account_fields(kind: str) -> tuple[str, ...]:
    """The credential and URL fields an account of `kind` uses, in form order (and the
    opt-out of signed webhooks where they are required)."""
    opt_out = ("accept_unsigned_webhooks",) if provider_class(kind).REQUIRED_SIGNING_SECRET else ()
    return provider_class(kind).ACCOUNT_FIELDS + opt_out


def account_required_inputs(kind: str) -> tuple[str, ...]:
    """The fields a person must fill in; for an emulated provider Callboard fills in all."""
    provider = provider_class(kind)
    return () if provider.EMULATED else provider.REQUIRED_ACCOUNT_FIELDS


def sandbox_base_url() -> str:
    return settings.PUBLIC_BASE_URL + SANDBOX_PATH


def _apply_account_values(
    account: ProviderAccount, values: Mapping[str, Any], *, creating: bool
) -> list[str]:
    """Set the given fields; return the names that changed.

    Secrets are write-only: "" keeps the stored one, None removes it.
    """
    kind = account.kind
    allowed = set(ACCOUNT_COMMON_FIELDS) | set(account_fields(kind))
    label = provider_class(kind).label
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValidationError(
            {name: f"A {label} account does not use this field." for name in unknown})
    changed = []
    for name, value in values.items():
        if name in ProviderAccount.SECRET_FIELDS:
            # Write-only: "" keeps the stored secret, None removes it.
            value = None if value is None else str(value).strip()
            if value is None and account.secret(name):
                account.set_secret(name, "")
                changed.append(name)
            elif value and value != account.secret(name):
                account.set_secret(name, value)
                changed.append(name)
            continue
        value = "" if value is None else value
        if value != getattr(account, name) or creating:
            setattr(account, name, str(value).strip() if isinstance(value, str) else value)
            changed.append(name)
    if provider_class(kind).EMULATED:
        # The sandbox is Callboard itself; it is reached at a fixed address.
        account.base_url = sandbox_base_url()
        if "account_sid" in account_fields(kind) and not account.account_sid:
            account.account_sid = str(uuid.uuid4())
        for name in ProviderAccount.SECRET_FIELDS:
            if name in account_fields(kind) and not account.secret(name):
                account.set_secret(name, secrets.token_hex(4 if name == "api_key" else 16))
    missing = [
        name for name in provider_class(kind).REQUIRED_ACCOUNT_FIELDS
        if not (account.secret(name) if name in ProviderAccount.SECRET_FIELDS
                else getattr(account, name))
    ]
    if missing:
        raise ValidationError({name: f"A {label} account needs this." for name in missing})
    # Opting out (accept_unsigned_webhooks) is audited like every account change.
    signing = provider_class(kind).REQUIRED_SIGNING_SECRET
    if signing and not account.secret(signing) and not account.accept_unsigned_webhooks:
        raise ValidationError({signing: (
            f"A {label} account needs its signature secret, so that Callboard can tell its "
            "webhooks from forged ones; or tick “Accept unsigned webhooks”.")})
    return changed


def _account_changes(account: ProviderAccount, changed: Iterable[str]) -> dict[str, Any]:
    """Audit changes: new values of plain fields, only the names of replaced secrets."""
    changes: dict[str, Any] = {
        name: str(getattr(account, name))
        for name in changed if name not in ProviderAccount.SECRET_FIELDS
    }
    replaced = [name for name in changed if name in ProviderAccount.SECRET_FIELDS]
    if replaced:
        changes["replaced"] = replaced
    return changes


def _full_clean(account: ProviderAccount) -> None:
    # last_check_ok stays None until the first test, but the field has no blank=True.
    account.full_clean(exclude=["last_check_ok"])


def account_create(*, actor: Actor, kind: str, values: Mapping[str, Any]) -> ProviderAccount:
    """`values`: name, calls_per_second (else the provider's default) and the kind's
    ACCOUNT_FIELDS."""
    if kind not in PROVIDERS:
        raise ValidationError({"kind": f"There is no provider of kind {kind!r}."})
    account = ProviderAccount(kind=kind,
                              calls_per_second=provider_class(kind).DEFAULT_CALLS_PER_SECOND)
    changed = _apply_account_values(account, values, creating=True)
    _full_clean(account)
    with transaction.atomic():
        account.save()
        audit_record(actor=actor, action="account.create", obj=account,
                     changes={"kind": kind, **_account_changes(account, changed)})
    return account


def account_update(
    *, actor: Actor, account: ProviderAccount, values: Mapping[str, Any]
) -> ProviderAccount:
    """Change some fields; the kind stays. An empty secret keeps the stored one."""
    changed = _apply_account_values(account, values, creating=False)
    _full_clean(account)
    with transaction.atomic():
        account.save()
        if changed:
            audit_record(actor=actor, action="account.update", obj=account,
                         changes=_account_changes(account, changed))
    return account


# What an account kept by its calls offers instead of Delete.
RETIRE_INSTEAD = "Retire it instead to stop using it: no new call, campaign or push goes out on it."


def _instead_of_delete(account: ProviderAccount) -> str:
    return "" if account.is_retired else RETIRE_INSTEAD


def account_delete_refusal(account: ProviderAccount) -> str:
    """Why Delete would be refused, pointing to Retire where calls keep the account."""
    return delete_refusal(account, "account", _instead_of_delete(account))


def account_delete(*, actor: Actor, account: ProviderAccount) -> None:
    _delete(actor=actor, obj=account, what="account", action="account.delete",
            instead=_instead_of_delete(account))


class AccountRetired(StateConflict):
    """Something new asked of a retired account: a call, a campaign start, a push (API: 409)."""


def refuse_if_retired(account: ProviderAccount, consequence: str, *, field: str = "") -> None:
    """Raise AccountRetired when `account` is retired; `consequence` says what is refused,
    e.g. "no call is placed on it". With `field` (the request's account field, for something
    new made on it) a form shows the sentence under that field."""
    if account.is_retired:
        sentence = (f"Account {account.name} is retired, so {consequence}. An admin can bring "
                    "it back on its page.")
        raise AccountRetired({field: sentence} if field else sentence)


def account_retire(*, actor: Actor, account: ProviderAccount) -> list[str]:
    """Stop using the account, for an account that cannot be deleted (it has calls).

    From now on nothing new goes out on it: placing a call, starting or resuming a campaign,
    pushing an application, linking a number, and adding or importing applications, numbers
    or campaigns refuse (refuse_if_retired). Its calls, recordings and settings stay, and
    editing them too; webhooks and answer URLs of its calls are still accepted (a provider's
    late events are never dropped), and live calls can still be hung up.
    Returns what the receivers of `account_retired` did (running campaigns paused), as
    sentences. Retiring a retired account changes nothing and returns [], so that a retried
    request is answered as the first was.
    """
    with transaction.atomic():
        # Locked, so that a campaign starting at the same moment (it locks the account to
        # check it) either comes first, and is paused here, or sees the account retired. No
        # key: the calls a running campaign inserts meanwhile (their foreign key takes a key
        # share) go on, so its dial ends and frees the campaign row this then pauses.
        locked = ProviderAccount.objects.select_for_update(no_key=True).get(pk=account.pk)
        account.retired_at = locked.retired_at
        if account.retired_at is not None:
            return []
        account.retired_at = timezone.now()
        account.save(update_fields=["retired_at", "updated_at"])
        effects = [sentence for _, sentence in account_retired.send(
            sender=ProviderAccount, account=account, actor=actor) if sentence]
        audit_record(actor=actor, action="account.retire", obj=account,
                     changes={"effects": effects} if effects else None)
    return effects


def account_reactivate(*, actor: Actor, account: ProviderAccount) -> ProviderAccount:
    """Bring a retired account back into use; campaigns paused by retiring stay paused until
    someone resumes them. A no-op on an account in use."""
    with transaction.atomic():
        locked = ProviderAccount.objects.select_for_update(no_key=True).get(pk=account.pk)
        if locked.retired_at is None:
            account.retired_at = None
            return account
        account.retired_at = None
        account.save(update_fields=["retired_at", "updated_at"])
        audit_record(actor=actor, action="account.reactivate", obj=account,
                     changes={"retired_since": locked.retired_at.isoformat()})
    return account


def account_check(*, actor: Actor, account: ProviderAccount) -> tuple[bool, str]:
    """Try the credentials with the provider's cheapest authenticated call; store the result."""
    try:
        ok, message = True, account_adapter(account).check_credentials()
    except ProviderError as error:
        ok, message = False, error.message
    account.last_check_at = timezone.now()
    account.last_check_ok = ok
    account.last_check_message = message
    with transaction.atomic():
        account.save(update_fields=["last_check_at", "last_check_ok", "last_check_message"])
        audit_record(actor=actor, action="account.check", obj=account,
                     changes={"ok": ok, "message": message})
    return ok, message


def account_regenerate_webhook_token(*, actor: Actor, account: ProviderAccount) -> str:
    """A new token: every webhook and answer URL of the account changes with it."""
    account.webhook_token = new_webhook_token()
    with transaction.atomic():
        account.save(update_fields=["webhook_token"])
        audit_record(actor=actor, action="account.regenerate_webhook_token", obj=account)
    return account.webhook_token


def account_webhook_urls(account: ProviderAccount) -> list[tuple[str, str]]:
    return hooks.account_webhook_urls(account)


# Applications ------------------------------------------------------------------------------

APPLICATION_FIELDS = (
    "name", "flow_type", "ncco_document", "answer_url", "answer_method", "event_url",
    "event_method", "fallback_answer_url", "connect_timeout_ms", "socket_timeout_ms",
    "event_socket_timeout_ms", "provider_app_id",
)
# Fields the provider holds a copy of: changing one makes a pushed application out of sync.
PUSHED_FIELDS = frozenset(APPLICATION_FIELDS) - {"ncco_document", "provider_app_id"}


def uses_key_pair(account: ProviderAccount) -> bool:
    return provider_class(account.kind).USES_KEY_PAIR


def _mark_changed(application: Application) -> None:
    if application.sync_state == SyncState.SYNCED:
        application.sync_state = SyncState.CHANGED


def _apply_application_values(application: Application, values: Mapping[str, Any]) -> dict:
    unknown = sorted(set(values) - set(APPLICATION_FIELDS))
    if unknown:
        raise ValidationError({name: "Applications have no such field." for name in unknown})
    changes = {}
    for name, value in values.items():
        if value is None and name not in {"ncco_document"} and not name.endswith("_ms"):
            value = ""
        if getattr(application, name) != value:
            setattr(application, name, value)
            changes[name] = str(value) if value is not None else None
    for name in ("answer_url", "event_url", "fallback_answer_url"):
        if hooks.is_own_hook_url(getattr(application, name)):
            # Stored, it would show its account's webhook token to every role.
            raise ValidationError({name: "This is one of Callboard's own URLs: leave it empty "
                                         "(a hosted flow for the answer URL) and Callboard "
                                         "gives the provider its own URLs."})
    if application.flow_type == FlowType.URL and not application.answer_url:
        raise ValidationError({"answer_url": "An external flow needs the URL that returns it."})
    if application.ncco_document_id and application.flow_type != FlowType.HOSTED:
        application.ncco_document = None
    if application.ncco_document_id and "ncco_document" in changes:
        problems = ncco_problems_for(document=application.ncco_document,
                                     kind=application.account.kind)
        if problems:
            label = provider_class(application.account.kind).label
            raise ValidationError({"ncco_document": [
                f"{label} cannot run this call flow; change these first:", *problems]})
    if set(changes) & PUSHED_FIELDS:
        _mark_changed(application)
    return changes


def application_create(
    *, actor: Actor, account: ProviderAccount, values: Mapping[str, Any]
) -> Application:
    """`values`: any of APPLICATION_FIELDS; `name` is required."""
    refuse_if_retired(account, "no application is added to it", field="account")
    application = Application(account=account)
    changes = _apply_application_values(application, values)
    application.full_clean()
    with transaction.atomic():
        application.save()
        audit_record(actor=actor, action="application.create", obj=application,
                     changes={"account": account.name, **changes})
    return application


def application_update(
    *, actor: Actor, application: Application, values: Mapping[str, Any]
) -> Application:
    changes = _apply_application_values(application, values)
    application.full_clean()
    with transaction.atomic():
        application.save()
        if changes:
            audit_record(actor=actor, action="application.update", obj=application,
                         changes=changes)
    return application


def application_delete(*, actor: Actor, application: Application) -> None:
    """Delete it in Callboard only; the provider's copy stays until removed there."""
    _delete(actor=actor, obj=application, what="application", action="application.delete")


def _require_key_pair(application: Application) -> None:
    if not uses_key_pair(application.account):
        label = provider_class(application.account.kind).label
        raise ValidationError(f"{label} applications have no key pair in Callboard.")


def _store_private_key(
    *, actor: Actor, application: Application, pem: str, action: str
) -> str:
    application.set_private_key(pem)
    application.public_key_pem = public_key_pem(pem)
    _mark_changed(application)
    with transaction.atomic():
        application.save(update_fields=["private_key_encrypted", "public_key_pem",
                                        "sync_state", "updated_at"])
        audit_record(actor=actor, action=action, obj=application)
    return application.public_key_pem


def application_generate_keypair(*, actor: Actor, application: Application) -> str:
    """A new RSA 2048 key pair; the private half is encrypted, the public one returned."""
    _require_key_pair(application)
    return _store_private_key(actor=actor, application=application, pem=new_private_key_pem(),
                              action="application.generate_keypair")


def application_set_private_key(*, actor: Actor, application: Application, pem: str) -> str:
    """Keep an existing private key (an admin pastes it); return its public key."""
    _require_key_pair(application)
    # The parser's own message could quote the key, so only ours is shown.
    invalid = ValidationError({"private_key": "Paste an RSA private key in PEM format "
                                              "(-----BEGIN PRIVATE KEY----- …)."})
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise invalid from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise invalid
    normalised = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return _store_private_key(actor=actor, application=application, pem=normalised,
                              action="application.set_private_key")


def application_answer_url(application: Application) -> str:
    """The answer URL the provider is given: Callboard's for hosted flows."""
    if application.flow_type == FlowType.HOSTED:
        return hooks.answer_url(application)
    return application.answer_url


def application_event_url(application: Application) -> str:
    return application.event_url or hooks.default_event_url(application.account)


def application_push(*, actor: Actor, application: Application) -> Application:
    """Create or update the application at the provider and record the outcome.

    On a provider error the application is marked "Last push failed" with the provider's
    sentence, and the ProviderError is raised for the caller to show.
    """
    refuse_if_retired(application.account, "its applications are not pushed to the provider")
    if uses_key_pair(application.account) and not application.private_key_encrypted:
        # A Vonage application cannot exist without a public key: make the pair now.
        application_generate_keypair(actor=actor, application=application)
    config = application.config(answer_url=application_answer_url(application),
                                event_url=application_event_url(application))
    try:
        provider_app_id = account_adapter(application.account).push_application(config)
    except ProviderError as error:
        application.sync_state = SyncState.ERROR
        application.last_sync_error = error.message
        with transaction.atomic():
            application.save(update_fields=["sync_state", "last_sync_error", "updated_at"])
            audit_record(actor=actor, action="application.push", obj=application,
                         changes={"ok": False, "error": error.message})
        raise
    created = not application.provider_app_id
    application.provider_app_id = provider_app_id
    application.sync_state = SyncState.SYNCED
    application.last_synced_at = timezone.now()
    application.last_sync_error = ""
    with transaction.atomic():
        application.save(update_fields=["provider_app_id", "sync_state", "last_synced_at",
                                        "last_sync_error", "updated_at"])
        audit_record(actor=actor, action="application.push", obj=application,
                     changes={"ok": True, "created": created,
                              "provider_app_id": provider_app_id})
    return application


def application_remote_list(*, account: ProviderAccount) -> list[RemoteApplication]:
    """The provider's applications on the account (ProviderError when it cannot say)."""
    return account_adapter(account).list_applications()


def _free_name(account: ProviderAccount, name: str) -> str:
    taken = set(account.applications.values_list("name", flat=True))
    candidate, number = name[:90] or "Imported application", 2
    while candidate in taken:
        candidate = f"{name[:90]} ({number})"
        number += 1
    return candidate


def _external(url: str) -> str:
    """`url`, or "" when it is one of Callboard's own hook URLs (Callboard's default)."""
    return "" if hooks.is_own_hook_url(url) else url


def application_import(
    *, actor: Actor, account: ProviderAccount, provider_app_ids: Iterable[str]
) -> list[Application]:
    """Copy the chosen provider applications into Callboard (update ones already there)."""
    refuse_if_retired(account, "no application is imported into it", field="account")
    wanted = list(dict.fromkeys(provider_app_ids))
    if not wanted:
        raise ValidationError({"provider_app_ids": "Choose at least one application."})
    remote = {app.provider_app_id: app for app in application_remote_list(account=account)}
    missing = [app_id for app_id in wanted if app_id not in remote]
    if missing:
        label = provider_class(account.kind).label
        raise ValidationError({"provider_app_ids": [
            f"{app_id} is not an application of this account at {label}." for app_id in missing
        ]})
    imported = []
    with transaction.atomic():
        for app_id in wanted:
            found = remote[app_id]
            application = account.applications.filter(provider_app_id=app_id).first()
            created = application is None
            if created:
                application = Application(account=account, provider_app_id=app_id,
                                          name=_free_name(account, found.name))
            # An application without an answer URL can only be served by Callboard; one
            # pushed from Callboard names Callboard's own URLs, which are not stored.
            application.answer_url = _external(found.answer_url)
            application.event_url = _external(found.event_url)
            application.flow_type = FlowType.URL if application.answer_url else FlowType.HOSTED
            for name in ("answer_method", "event_method"):
                method = getattr(found, name).upper()
                if method in ("GET", "POST"):
                    setattr(application, name, method)
            application.sync_state = SyncState.SYNCED
            application.last_synced_at = timezone.now()
            application.last_sync_error = ""
            application.full_clean()
            application.save()
            audit_record(actor=actor, action="application.import", obj=application,
                         changes={"provider_app_id": app_id, "created": created})
            imported.append(application)
    return imported


# Numbers -----------------------------------------------------------------------------------

def _check_number(number: Number) -> None:
    # Uniqueness is checked here so that the message names the number and the field.
    number.full_clean(validate_unique=False, validate_constraints=False)
    duplicate = Number.objects.filter(account=number.account, e164=number.e164)
    if duplicate.exclude(pk=number.pk).exists():
        raise ValidationError({"e164": f"{number.e164} is already a number of this account."})


def number_create(
    *, actor: Actor, account: ProviderAccount, e164: str,
    capabilities: Iterable[str] = (), description: str = "",
) -> Number:
    refuse_if_retired(account, "no number is added to it", field="account")
    normalised, country = phone.normalise(e164)
    number = Number(account=account, e164=normalised, country=country,
                    capabilities=sorted(set(capabilities)), description=description.strip())
    _check_number(number)
    with transaction.atomic():
        number.save()
        audit_record(actor=actor, action="number.create", obj=number,
                     changes={"account": account.name})
    return number


def number_update(
    *, actor: Actor, number: Number, e164: str | None = None,
    capabilities: Iterable[str] | None = None, description: str | None = None,
) -> Number:
    changes: dict[str, Any] = {}
    if e164 is not None:
        normalised, country = phone.normalise(e164)
        if normalised != number.e164:
            changes["e164"] = [number.e164, normalised]
            number.e164, number.country = normalised, country
    if capabilities is not None and sorted(set(capabilities)) != number.capabilities:
        number.capabilities = sorted(set(capabilities))
        changes["capabilities"] = number.capabilities
    if description is not None and description.strip() != number.description:
        number.description = description.strip()
        changes["description"] = number.description
    _check_number(number)
    with transaction.atomic():
        number.save()
        if changes:
            audit_record(actor=actor, action="number.update", obj=number, changes=changes)
    return number


def number_delete(*, actor: Actor, number: Number) -> None:
    _delete(actor=actor, obj=number, what="number", action="number.delete")


def number_import(*, actor: Actor, account: ProviderAccount) -> dict[str, int]:
    """Add or refresh every number the provider lists; return how many of each."""
    refuse_if_retired(account, "no number is imported into it", field="account")
    remote_numbers = account_adapter(account).list_numbers()
    applications = {
        app.provider_app_id: app for app in account.applications.exclude(provider_app_id="")
    }
    counts = {"created": 0, "updated": 0, "skipped": 0}
    with transaction.atomic():
        for remote in remote_numbers:
            try:
                e164, country = phone.normalise(remote.number, strict=False)
            except ValidationError:
                counts["skipped"] += 1  # e.g. a jambonz routing pattern, not a number
                continue
            _, created = Number.objects.update_or_create(
                account=account, e164=e164,
                defaults={
                    "country": (remote.country or country).upper()[:2],
                    "capabilities": sorted(set(remote.features)),
                    "provider_number_id": remote.provider_number_id,
                    "application": applications.get(remote.app_id),
                    "link_error": "",
                },
            )
            counts["created" if created else "updated"] += 1
        audit_record(actor=actor, action="number.import", obj=account, changes=counts)
    return counts


def _remote_number(provider: Provider, number: Number) -> RemoteNumber:
    """The provider's own record of the number (Voice Gateway links it by its sid)."""
    digits = number.e164.lstrip("+")
    for remote in provider.list_numbers():
        if (number.provider_number_id and remote.provider_number_id == number.provider_number_id) \
                or remote.number.lstrip("+") == digits:
            if remote.country or not number.country:
                return remote
            return dataclasses.replace(remote, country=number.country)
    raise ProviderError(
        f"{provider.label} does not list {number.e164} on this account; "
        "import numbers to see which it has."
    )


def number_link(*, actor: Actor, number: Number, application: Application | None) -> Number:
    """Route the number to `application` (None: unlink), in Callboard and at the provider.

    The link is kept in Callboard either way; if the provider refuses, its sentence is
    stored on the number (`link_error`, shown until a later link succeeds) and raised.
    """
    refuse_if_retired(number.account, "its numbers are not linked at the provider")
    if application is not None:
        if application.account_id != number.account_id:
            raise ValidationError(
                {"application": "That application belongs to another provider account."})
        if not application.provider_app_id:
            raise ValidationError({"application": "Push the application to the provider "
                                                  "first; it has no provider id yet."})
    error = ""
    try:
        provider = account_adapter(number.account)
        provider.link_number(_remote_number(provider, number),
                             application.provider_app_id if application else "")
    except ProviderError as exc:
        error = exc.message
    previous = number.application
    number.application = application
    number.link_error = error
    with transaction.atomic():
        number.save(update_fields=["application", "link_error", "updated_at"])
        audit_record(actor=actor, action="number.link", obj=number, changes={
            "application": [str(previous) if previous else None,
                            str(application) if application else None],
            "ok": not error, **({"error": error} if error else {}),
        })
    if error:
        raise ProviderError(error)
    return number
