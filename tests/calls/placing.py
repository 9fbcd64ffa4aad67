"""Accounts, applications and numbers pointing at a fake provider, for the placing tests."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group

from calls.models import Call
from portal.models import Role
from tests.fakes.provider_accounts import KPN_PREFIX, PRIVATE_KEY_PEM, VONAGE_SPECS
from tests.fakes.provider_server import FakeProvider, OAuth, Reply, SeenRequest
from voiceapps.models import (
    Application,
    FlowType,
    NccoDocument,
    NccoVersion,
    Number,
    ProviderAccount,
)

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
VG_APP_SID = "5f1c7a5e-2b1d-4a39-9a58-0a3b0c0d0e0f"
VG_ACCOUNT_SID = "9351f46a-678c-43f5-b8a6-d4eb58d131af"
FROM = "+31201234567"
TO = "+31612345678"
VONAGE_CALLS = "/v1/calls"
KPN_CALLS = KPN_PREFIX + "/voice/calls"
VG_CALLS = f"/v1/Accounts/{VG_ACCOUNT_SID}/Calls"
_names = itertools.count(1)


@dataclass
class Setup:
    fake: FakeProvider
    account: ProviderAccount
    application: Application
    number: Number
    calls_path: str
    arrivals: list[float] = field(default_factory=list)  # filled by `accept_all`

    def accept(self, times: int = 1) -> None:
        """Script `times` 201 answers with the provider's create-call body."""
        for _ in range(times):
            self.fake.reply("POST", self.calls_path, status=201, body=created_body(self.account))

    def accept_all(self) -> None:
        """Answer every create-call with a fresh id, noting when each request arrived."""

        def respond(request: SeenRequest) -> Reply:
            self.arrivals.append(time.time())
            return Reply(201, created_body(self.account))

        self.fake.handle("POST", self.calls_path, respond)

    def create_requests(self) -> list[SeenRequest]:
        return self.fake.requests_to("POST", self.calls_path)


def created_body(account: ProviderAccount) -> dict[str, Any]:
    if account.kind == "voicegateway":
        return {"sid": str(uuid.uuid4()), "callid": f"{uuid.uuid4()}@10.0.0.1"}
    return {"uuid": str(uuid.uuid4()), "status": "started", "direction": "outbound",
            "conversation_uuid": f"CON-{uuid.uuid4()}"}


def ensure_roles() -> None:
    """Transactional tests flush the role groups the migration made; make them again."""
    for role in Role:
        Group.objects.get_or_create(name=role.label)


def _account(kind: str, cps: float, **values: Any) -> ProviderAccount:
    secrets = values.pop("secrets")
    account = ProviderAccount(name=f"{kind} {next(_names)}", kind=kind, calls_per_second=cps,
                              **values)
    for name, value in secrets.items():
        account.set_secret(name, value)
    account.save()
    return account


def _application(account: ProviderAccount, provider_app_id: str, **changes: Any) -> Application:
    document = NccoDocument.objects.create(name=f"Greeting {next(_names)}")
    NccoVersion.objects.create(document=document, number=1,
                               content=[{"action": "talk", "text": "Hello {{custom.name}}"}])
    application = Application(account=account, name=f"App {next(_names)}",
                              flow_type=FlowType.HOSTED, ncco_document=document,
                              provider_app_id=provider_app_id, **changes)
    application.set_private_key(PRIVATE_KEY_PEM)
    application.save()
    return application


def _setup(fake: FakeProvider, account: ProviderAccount, app_id: str, path: str) -> Setup:
    application = _application(account, app_id)
    number = Number.objects.create(account=account, e164=FROM, description="Main line")
    return Setup(fake, account, application, number, path)


def vonage_setup(fake_provider, kind: str = "vonage", cps: float = 1000) -> Setup:
    """A Vonage (or sandbox) account at a fake speaking Vonage's specs."""
    fake = fake_provider(*VONAGE_SPECS)
    account = _account(kind, cps, base_url=fake.url, secrets={
        "api_key": "abcd1234", "api_secret": "vonage-api-secret-5678"})
    return _setup(fake, account, APP_ID, VONAGE_CALLS)


def kpn_setup(fake_provider, cps: float = 1000) -> Setup:
    client_id = f"kpn-client-{uuid.uuid4()}"
    fake = fake_provider("kpn-voice-nexmo.yml",
                         oauth=OAuth(client_id=client_id, client_secret="kpn-client-secret"))
    account = _account(
        "kpn", cps, base_url=fake.url + KPN_PREFIX, client_id=client_id,
        token_url=fake.url + "/oauth/client_credential/accesstoken?grant_type=client_credentials",
        secrets={"client_secret": "kpn-client-secret"})
    return _setup(fake, account, APP_ID, KPN_CALLS)


def voicegateway_setup(fake_provider, cps: float = 1000) -> Setup:
    fake = fake_provider("jambonz-swagger.yaml")
    account = _account("voicegateway", cps, base_url=fake.url, account_sid=VG_ACCOUNT_SID,
                       secrets={"api_key": "3a1f5e1b-0d0f-4b9f-8a65-2c3b5e1f0a77"})
    return _setup(fake, account, VG_APP_SID, VG_CALLS)


def phone(number: str = TO, **extra: Any) -> dict[str, Any]:
    return {"type": "phone", "number": number, **extra}


def api_body(setup: Setup, **changes: Any) -> dict[str, Any]:
    """A valid POST /api/v1/calls body for the setup's application."""
    return {"application": setup.application.pk, "from_number": FROM, "to": phone(),
            "flow": {"type": "application"}, **changes}


def reload(call: Call) -> Call:
    call.refresh_from_db()
    return call
