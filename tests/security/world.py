"""One of every object Callboard shows, so every detail page and route has something to show.

Secrets are planted: every secret field of every provider kind, each application's private
key and each API token hold a value unique to this world (`World.planted`), which the leak
tests then look for everywhere.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from alerts.models import AlertChannel, AlertRule
from calls.models import Call, CallEvent, CallStatus, WebhookDelivery
from calls.services.profiles import call_profile_create
from campaigns.models import Campaign, SuppressionList
from forwarding.models import Delivery, Subscription
from forwarding.services import new_secret
from portal.models import ApiToken, User
from portal.redaction import mask
from portal.services import SYSTEM, Actor, api_token_create
from tests.factories import (
    WEBHOOK_CHANNEL_SECRET,
    AlertChannelFactory,
    AlertFactory,
    AlertRuleFactory,
    CallEventFactory,
    CallFactory,
    ContactImportFactory,
    ForwardingAttemptFactory,
    SubscriptionFactory,
    SuppressionListFactory,
    WebhookDeliveryFactory,
)
from voiceapps import services
from voiceapps.models import (
    Application,
    CallProfile,
    NccoDocument,
    NccoVersion,
    Number,
    ProviderAccount,
)
from voiceapps.ncco.services import ncco_document_create, ncco_document_update
from voiceapps.providers.registry import PROVIDERS

KINDS = ("vonage", "kpn", "voicegateway", "sandbox")
# Callboard's own URL in the tests that send requests a permitted action may follow up on
# (a closed local port: the sandbox's requests go nowhere, at once).
NOWHERE = "http://127.0.0.1:9"
# What a person types into each non-secret field an account of some kind needs. The
# provider URLs are a private address the tests do not allow: a request goes nowhere, at once.
PROVIDER = "http://10.255.255.1"
PLAIN_VALUES = {
    "base_url": f"{PROVIDER}/api",
    "rest_base_url": f"{PROVIDER}/rest",
    "token_url": f"{PROVIDER}/token",
    "client_id": "client-id-1",
    "account_sid": "2f1e1c0d-8a6b-4b8e-9a38-0b7c3b1f0a11",
}
TALK = [{"action": "talk", "text": "Hello from the security tests"}]


def new_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def pem_marker(pem: str) -> str:
    """A line from the middle of a PEM: any copy of the key would contain it."""
    lines = pem.strip().splitlines()
    return lines[len(lines) // 2]


@dataclass
class Retired:
    """A retired account with an application, a number and a draft campaign on it, made
    before it was retired: anything new asked of them (a call, a push, a link, a start, a new
    object on the account) is refused, 409 in the API (voiceapps.services.refuse_if_retired)."""

    account: ProviderAccount
    application: Application
    number: Number
    campaign: Campaign


@dataclass
class World:
    admin: User
    accounts: dict[str, ProviderAccount]
    application: Application
    number: Number
    document: NccoDocument
    version: NccoVersion
    profile: CallProfile
    call: Call
    event: CallEvent
    delivery: WebhookDelivery
    campaign: Campaign
    suppression_list: SuppressionList
    alert_rule: AlertRule
    alert_channel: AlertChannel
    subscription: Subscription
    forwarding_delivery: Delivery
    retired: Retired
    # Every planted secret value, named by where it was planted.
    planted: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, ApiToken] = field(default_factory=dict)

    @property
    def account(self) -> ProviderAccount:
        return self.accounts["vonage"]

    def plant_token(self, user: User) -> str:
        """A new API token of `user`, planted; returns the raw token."""
        token, raw = api_token_create(actor=SYSTEM, user=user, name=f"token of {user}")
        self.tokens[user.username] = token
        self.planted[f"api token of {user.username}"] = raw
        # The part after the public prefix is the secret; it must not show either.
        # cb_<prefix>_<secret>: the secret itself may contain "_", so split from the left.
        self.planted[f"api token secret of {user.username}"] = raw.split("_", 2)[2]
        return raw


def _account(kind: str, planted: dict[str, str], label: str = "") -> ProviderAccount:
    """An account of `kind` named "<label> account" (the kind by default), its secrets
    planted as "<label>.<field>"."""
    label = label or kind
    provider = PROVIDERS[kind]
    values: dict[str, str] = {"name": f"{label} account", "calls_per_second": 5}
    for name in provider.ACCOUNT_FIELDS:
        if name in ProviderAccount.SECRET_FIELDS:
            # Long and random: nothing else in a page could contain it by accident.
            values[name] = planted[f"{label}.{name}"] = f"PLANT{secrets.token_hex(16)}"
        elif kind != "sandbox":
            values[name] = PLAIN_VALUES[name]
    return services.account_create(actor=SYSTEM, kind=kind, values=values)


def _retired(actor: Actor, planted: dict[str, str]) -> Retired:
    account = _account("sandbox", planted, label="retired sandbox")
    application = services.application_create(actor=actor, account=account,
                                              values={"name": "Old line"})
    number = services.number_create(actor=actor, account=account, e164="+31201234568")
    campaign = ContactImportFactory(campaign__application=application).campaign
    services.account_retire(actor=actor, account=account)
    return Retired(account=account, application=application, number=number,
                   campaign=campaign)


def build_world(admin: User) -> World:
    """Everything, owned by `admin` where things have an owner."""
    planted: dict[str, str] = {}
    accounts = {kind: _account(kind, planted) for kind in KINDS}
    actor = Actor(user=admin)

    saved = ncco_document_create(actor=actor, name="Greeting", content=TALK)
    saved = ncco_document_update(actor=actor, document=saved.version.document,
                                 content=[{**TALK[0], "text": "Hello again"}])
    version = saved.version

    application = services.application_create(actor=actor, account=accounts["vonage"],
                                              values={"name": "Support line"})
    pem = new_private_key_pem()
    services.application_set_private_key(actor=actor, application=application, pem=pem)
    planted["vonage application private key"] = pem_marker(pem)
    number = services.number_create(actor=actor, account=accounts["vonage"],
                                    e164="+31201234567")
    profile = call_profile_create(actor=actor, name="Quick", kind="vonage",
                                  options={"ringing_timer": 30})

    now = timezone.now()
    call = CallFactory(
        account=accounts["vonage"], provider="vonage", application=application,
        from_number="31201234567", to_endpoint={"type": "phone", "number": "31612345678"},
        to_display="+31612345678", status=CallStatus.COMPLETED, placed_by=admin,
        provider_call_id=str(uuid.uuid4()), conversation_id=f"CON-{uuid.uuid4()}",
        submitted_at=now, answered_at=now, ended_at=now, duration_seconds=12,
        provider_request={"method": "POST", "url": f"{PROVIDER}/api/v1/calls"},
    )
    delivery = WebhookDeliveryFactory(
        account=accounts["vonage"], endpoint="events", method="POST",
        path=f"/hooks/{mask(accounts['vonage'].webhook_token)}/events",  # as stored
        headers={"Content-Type": "application/json"},
        body=b'{"status": "completed", "to": "31612345678"}', verified=True, applied_at=now,
    )
    event = CallEventFactory(call=call, delivery=delivery, kind="status",
                             status=CallStatus.COMPLETED, raw_status="completed",
                             payload={"status": "completed", "to": "31612345678"})
    # A signed webhook whose test notification goes nowhere at once (a closed local port).
    alert_channel = AlertChannelFactory(kind="webhook", target="http://127.0.0.1:9/alerts")
    planted["alert channel webhook secret"] = WEBHOOK_CHANNEL_SECRET
    alert_rule = AlertRuleFactory(channels=[alert_channel])
    AlertFactory(rule=alert_rule)
    secret = planted["forwarding subscription secret"] = new_secret()
    subscription = SubscriptionFactory(name="CRM events", secret=secret)
    attempt = ForwardingAttemptFactory(delivery__subscription=subscription, delivery__call=call,
                                       response_excerpt="thanks")
    world = World(admin=admin, accounts=accounts, application=application, number=number,
                  document=version.document, version=version, profile=profile, call=call,
                  event=event, delivery=delivery, planted=planted,
                  campaign=ContactImportFactory(campaign__application=application).campaign,
                  suppression_list=SuppressionListFactory(), alert_rule=alert_rule,
                  alert_channel=alert_channel, subscription=subscription,
                  forwarding_delivery=attempt.delivery, retired=_retired(actor, planted))
    world.plant_token(admin)
    return world
