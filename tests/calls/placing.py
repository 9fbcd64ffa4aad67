"""Accounts, applications and numbers pointing at a fake provider, for the placing tests."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from calls.models import Call
from calls.services.placing import VIA_API, call_place
from portal.services import SYSTEM
from tests.factories import (
    KPN_CLIENT_SECRET,
    VG_ACCOUNT_SID,
    ApplicationFactory,
    NccoVersionFactory,
    NumberFactory,
    ProviderAccountFactory,
)
from tests.fakes.provider_accounts import KPN_PREFIX, vonage_fake
from tests.fakes.provider_server import FakeProvider, OAuth, Reply, SeenRequest
from voiceapps.models import (
    Application,
    Number,
    ProviderAccount,
)

FROM = "+31201234567"
TO = "+31612345678"
VONAGE_CALLS = "/v1/calls"
KPN_CALLS = KPN_PREFIX + "/voice/calls"
VG_CALLS = f"/v1/Accounts/{VG_ACCOUNT_SID}/Calls"


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


def _setup(fake: FakeProvider, account: ProviderAccount, path: str) -> Setup:
    document = NccoVersionFactory(
        content=[{"action": "talk", "text": "Hello {{custom.name}}"}]).document
    application = ApplicationFactory(account=account, ncco_document=document)
    number = NumberFactory(account=account, e164=FROM, description="Main line")
    return Setup(fake, account, application, number, path)


def vonage_setup(fake_provider, kind: str = "vonage", cps: float = 1000) -> Setup:
    """A Vonage (or sandbox) account at a fake speaking Vonage's specs."""
    fake = vonage_fake(fake_provider)
    account = ProviderAccountFactory(**{kind: True}, calls_per_second=cps, base_url=fake.url,
                                     signature_secret="")
    return _setup(fake, account, VONAGE_CALLS)


def kpn_setup(fake_provider, cps: float = 1000) -> Setup:
    client_id = f"kpn-client-{uuid.uuid4()}"
    fake = fake_provider("kpn-voice-nexmo.yml",
                         oauth=OAuth(client_id=client_id, client_secret=KPN_CLIENT_SECRET))
    account = ProviderAccountFactory(
        kpn=True, calls_per_second=cps, base_url=fake.url + KPN_PREFIX, client_id=client_id,
        token_url=fake.url + "/oauth/client_credential/accesstoken?grant_type=client_credentials",
        signature_secret="")
    return _setup(fake, account, KPN_CALLS)


def voicegateway_setup(fake_provider, cps: float = 1000) -> Setup:
    fake = fake_provider("jambonz-swagger.yaml")
    account = ProviderAccountFactory(voicegateway=True, calls_per_second=cps, base_url=fake.url,
                                     webhook_secret="", webhook_secret_previous="")
    return _setup(fake, account, VG_CALLS)


def phone(number: str = TO, **extra: Any) -> dict[str, Any]:
    return {"type": "phone", "number": number, **extra}


def api_body(setup: Setup, **changes: Any) -> dict[str, Any]:
    """A valid POST /api/v1/calls body for the setup's application."""
    return {"application": setup.application.pk, "from_number": FROM, "to": phone(),
            "flow": {"type": "application"}, **changes}


def place(setup: Setup, **changes: Any) -> Call:
    """A call to TO from FROM on the setup's application, placed as the API places it (queued,
    not yet sent); `changes` replace any of those."""
    values = {"application": setup.application, "from_number": FROM, "to": phone(),
              "flow": {"type": "application"}, **changes}
    call, _ = call_place(actor=SYSTEM, via=VIA_API, **values)
    return call


def reload(call: Call) -> Call:
    call.refresh_from_db()
    return call
