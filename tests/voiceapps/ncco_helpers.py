"""Accounts, applications and NCCO documents for the NCCO, editor and answer URL tests."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from portal.services import SYSTEM, Actor
from tests.fakes.provider_accounts import SIGNATURE_SECRET
from voiceapps.models import Application, NccoDocument, ProviderAccount
from voiceapps.ncco import services

EXAMPLES = pathlib.Path(services.__file__).parent / "examples"
GREETING = [{"action": "talk", "text": "Hello {{from}}, you called {{to}}."}]


def make_account(*, name: str = "Vonage main", signed: bool = True) -> ProviderAccount:
    account = ProviderAccount(name=name, kind="vonage")
    account.set_secret("api_key", "abcd1234")  # the api_key claim the signing fake sends
    if signed:
        account.set_secret("signature_secret", SIGNATURE_SECRET)
    account.save()
    return account


def make_document(
    name: str = "Greeting", content: Any = None, *, actor: Actor = SYSTEM, **kwargs: Any
) -> NccoDocument:
    saved = services.ncco_document_create(
        actor=actor, name=name, content=GREETING if content is None else content, **kwargs
    )
    return saved.version.document


def make_application(
    account: ProviderAccount, document: NccoDocument | None, **kwargs: Any
) -> Application:
    return Application.objects.create(
        account=account, name=kwargs.pop("name", "Support line"), ncco_document=document,
        **kwargs,
    )


def example(name: str) -> list:
    return json.loads((EXAMPLES / f"{name}.json").read_text())
