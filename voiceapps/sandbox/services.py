"""First run: a sandbox account with a demo flow, ready to call.

First run happens before the web server is up, so what would be HTTP requests to the
emulator (pushing the application, importing and linking numbers) are done on the
emulator's records directly, with the same results and the same audit entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from portal.services import SYSTEM, Actor, audit_record
from voiceapps import phone
from voiceapps.hooks import TOKEN_PLACEHOLDER
from voiceapps.models import (
    Application,
    FlowType,
    NccoDocument,
    Number,
    ProviderAccount,
    SyncState,
)
from voiceapps.ncco.services import menu_url, ncco_document_create
from voiceapps.providers.base import WEBHOOKS_NAMED_HOOKS
from voiceapps.providers.registry import get_provider
from voiceapps.providers.sandbox import SandboxProvider
from voiceapps.providers.sandbox_jambonz import SandboxJambonzProvider
from voiceapps.sandbox.models import SandboxApplication
from voiceapps.sandbox.numbers import numbers_for
from voiceapps.services import (
    account_create,
    application_answer_url,
    application_create,
    application_event_url,
    application_generate_keypair,
)

ACCOUNT_NAME = "Sandbox"
JAMBONZ_ACCOUNT_NAME = "Sandbox (jambonz)"
APPLICATION_NAME = "Demo"
JAMBONZ_APPLICATION_NAME = "Demo (jambonz)"  # told apart from the Vonage one in lists and pickers
MENU_NAME = "Demo menu"


@dataclass(frozen=True)
class FirstRun:
    account: ProviderAccount
    application: Application
    numbers: list[Number]
    # The same demo on the sandbox speaking jambonz, as a Voice Gateway account would.
    jambonz_application: Application | None = None


def sandbox_first_run(*, actor: Actor = SYSTEM) -> FirstRun | None:
    """Create the sandbox account, the demo application and its two numbers, once.

    Returns None (and changes nothing) when a sandbox account already exists.
    """
    if ProviderAccount.objects.filter(kind=SandboxProvider.kind).exists():
        return None
    with transaction.atomic():
        account = account_create(actor=actor, kind=SandboxProvider.kind,
                                 values={"name": ACCOUNT_NAME})
        menu = _demo_documents(actor=actor)
        application = application_create(actor=actor, account=account, values={
            "name": APPLICATION_NAME, "flow_type": FlowType.HOSTED, "ncco_document": menu,
        })
        application_generate_keypair(actor=actor, application=application)
        sandbox_application_register(actor=actor, application=application)
        numbers = _demo_numbers(actor=actor, account=account, application=application)
        # The sandbox speaking Voice Gateway's API (jambonz_api.py).
        jambonz_account = account_create(actor=actor, kind=SandboxJambonzProvider.kind,
                                         values={"name": JAMBONZ_ACCOUNT_NAME})
        jambonz_application = application_create(
            actor=actor, account=jambonz_account, values={
                "name": JAMBONZ_APPLICATION_NAME, "flow_type": FlowType.HOSTED,
                "ncco_document": menu, "answer_method": "POST"})  # jambonz's call_hook method
        sandbox_application_register(actor=actor, application=jambonz_application)
        _demo_numbers(actor=actor, account=jambonz_account, application=jambonz_application)
    return FirstRun(account, application, numbers, jambonz_application)


def _demo_documents(*, actor: Actor) -> NccoDocument:
    """A greeting and a one-digit menu hosted by Callboard: 1 (or "sales") picks sales."""
    sales = ncco_document_create(actor=actor, name="Demo: sales", content=[
        {"action": "talk", "text": "You chose sales. Thank you for trying the Callboard "
                                   "sandbox. Goodbye."},
    ], description="Where the demo menu sends 1 or \u201csales\u201d.").version.document
    nothing = ncco_document_create(actor=actor, name="Demo: no choice", content=[
        {"action": "talk", "text": "We did not get your choice. Goodbye."},
    ], description="Where the demo menu sends anything else.").version.document
    content = [
        {"action": "talk", "text": "Hello from the Callboard sandbox."},
        {"action": "talk", "text": "For sales, press 1 or say sales."},
        {"action": "input", "type": ["dtmf", "speech"],
         "dtmf": {"maxDigits": 1, "timeOut": 5}, "speech": {"context": ["sales"]},
         # Any version id: Callboard points the URL at the version it serves.
         "eventUrl": [menu_url(token=TOKEN_PLACEHOLDER, version_id=0)]},
    ]
    menu = {"digits": {"1": sales.pk}, "words": {"sales": sales.pk}, "default": nothing.pk}
    return ncco_document_create(
        actor=actor, name=MENU_NAME, content=content, menu=menu,
        description="The sandbox's demo flow: a greeting and a one-digit menu.",
    ).version.document


def sandbox_application_register(*, actor: Actor, application: Application) -> Application:
    """Push `application` to the emulator without HTTP (the server may not be running yet)."""
    config = application.config(answer_url=application_answer_url(application),
                                event_url=application_event_url(application))
    provider = get_provider(application.account.config())
    if provider.WEBHOOKS == WEBHOOKS_NAMED_HOOKS:
        # The hooks the Voice Gateway adapter's push sends.
        capabilities = {"jambonz": {
            "call_hook": {"url": config.answer_url, "method": config.answer_method},
            "call_status_hook": {"url": config.event_url, "method": config.event_method}}}
    else:
        # Exactly what the adapter's push would send.
        capabilities = {"voice": provider._voice_capability(config)}
    registered = SandboxApplication.objects.create(
        account=application.account, name=application.name,
        public_key=application.public_key_pem, capabilities=capabilities,
    )
    application.provider_app_id = registered.pk
    application.sync_state = SyncState.SYNCED
    application.last_synced_at = timezone.now()
    application.save(update_fields=["provider_app_id", "sync_state", "last_synced_at",
                                    "updated_at"])
    audit_record(actor=actor, action="application.push", obj=application,
                 changes={"ok": True, "created": True, "provider_app_id": registered.pk})
    return application


def _demo_numbers(*, actor: Actor, account: ProviderAccount,
                  application: Application) -> list[Number]:
    """The account's two emulator numbers, imported into Callboard and linked to the demo."""
    numbers = []
    for remote in numbers_for(account):
        remote.app_id = application.provider_app_id
        remote.save(update_fields=["app_id"])
        # Drama-range numbers are possible but not "valid": imported as a provider lists them.
        e164, _ = phone.normalise(remote.msisdn, strict=False)
        number = Number(account=account, e164=e164, country=remote.country,
                        capabilities=["SMS", "VOICE"], application=application,
                        description="Sandbox number")
        number.full_clean()
        number.save()
        numbers.append(number)
    audit_record(actor=actor, action="number.import", obj=account,
                 changes={"created": len(numbers), "linked_to": application.name})
    return numbers
