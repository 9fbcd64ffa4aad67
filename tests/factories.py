"""One factory per model of Callboard's apps: the one way tests build a row.

Secrets are given in plain text (`api_key="..."`, `private_key_pem="..."`) and stored
encrypted, as the services store them. Provider accounts take a trait per kind
(`ProviderAccountFactory(voicegateway=True)`) with the credentials that kind signs and
authenticates with; applications, numbers and calls follow their account's kind.
"""

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from alerts.models import Alert, AlertChannel, AlertNotification, AlertRule
from calls.models import (
    AccountRateSlot,
    AnswerRequest,
    Call,
    CallEvent,
    PlaybackTurn,
    WebhookDelivery,
)
from campaigns.models import (
    Attempt,
    Campaign,
    Contact,
    ContactImport,
    SuppressedNumber,
    SuppressionList,
)
from forwarding.models import Delivery, DeliveryAttempt, EventType, Subscription
from forwarding.payloads import event_payload
from portal import crypto
from portal.models import (
    ApiToken,
    AuditEntry,
    RetentionPolicy,
    Role,
    SecurityPolicy,
    SignInCounter,
    User,
    UserSession,
    WorkerHeartbeat,
)
from recordings.models import MediaRetention, Recording, Transcript
from tests.fakes.provider_accounts import (
    PREVIOUS_WEBHOOK_SECRET,
    PRIVATE_KEY_PEM,
    PUBLIC_KEY_PEM,
    SIGNATURE_SECRET,
    VONAGE_APP_ID,
    WEBHOOK_SECRET,
)
from voiceapps.models import (
    Application,
    CallProfile,
    NccoDocument,
    NccoVersion,
    Number,
    ProviderAccount,
)
from voiceapps.providers.vonage import public_key_pem
from voiceapps.sandbox.models import SandboxApplication, SandboxCall, SandboxNumber
from voiceapps.sandbox.scripts import resolve_script
from voiceapps.services import uses_key_pair

PASSWORD = "a-long-test-password-42"
# The ids the fake providers and the signing helpers use (tests/fakes/provider_accounts.py).
VG_APP_SID = "5f1c7a5e-2b1d-4a39-9a58-0a3b0c0d0e0f"
VG_ACCOUNT_SID = "9351f46a-678c-43f5-b8a6-d4eb58d131af"
VG_API_KEY = "3a1f5e1b-0d0f-4b9f-8a65-2c3b5e1f0a77"
KPN_CLIENT_SECRET = "kpn-client-secret"
# Nothing listens there: an account built here fails at once if a test forgets to point it
# at a fake provider or a live Callboard.
UNREACHABLE = "http://127.0.0.1:9"
SANDBOX_BASE_URL = f"{UNREACHABLE}/sandbox"
TALK = [{"action": "talk", "text": "Hello"}]
CALLEE = "31612345678"


def _encrypted(value: str) -> str:
    return crypto.encrypt(value) if value else ""


# Portal --------------------------------------------------------------------------------------

class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create: bool, extracted: Role | None, **kwargs) -> None:
        if create and extracted is not None:
            self.groups.add(Group.objects.get(name=extracted.label))
            self.is_staff = extracted == Role.ADMIN
        self.save()


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """A token whose plaintext is `raw` (cb_<prefix>_<secret>), hashed as the service does."""

    class Meta:
        model = ApiToken
        exclude = ("raw",)

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Token {n}")
    prefix = factory.LazyFunction(lambda: secrets.token_hex(6))
    raw = factory.LazyAttribute(lambda t: f"cb_{t.prefix}_{secrets.token_urlsafe(32)}")
    key_hash = factory.LazyAttribute(lambda t: hashlib.sha256(t.raw.encode()).hexdigest())
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=90))


class AuditEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEntry

    actor_label = "system"
    action = "account.create"


class WorkerHeartbeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkerHeartbeat

    hostname = factory.Sequence(lambda n: f"celery@worker{n}")
    last_seen = factory.LazyFunction(timezone.now)


class OneRowFactory(factory.django.DjangoModelFactory):
    """The one row (pk 1) of a settings table, as its load() finds it."""

    class Meta:
        abstract = True
        django_get_or_create = ("id",)

    id = 1


class SecurityPolicyFactory(OneRowFactory):
    class Meta:
        model = SecurityPolicy


class UserSessionFactory(factory.django.DjangoModelFactory):
    """A session's row only: the session store knows nothing of it."""

    class Meta:
        model = UserSession

    user = factory.SubFactory(UserFactory)
    session_key = factory.LazyFunction(lambda: secrets.token_hex(16))
    ip_address = "192.0.2.10"


class SignInCounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SignInCounter

    subject = factory.Sequence(lambda n: f"username:{n:064x}")
    window_ends = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=15))


class RetentionPolicyFactory(OneRowFactory):
    class Meta:
        model = RetentionPolicy


# Voice applications --------------------------------------------------------------------------

class ProviderAccountFactory(factory.django.DjangoModelFactory):
    """A Vonage account unless a kind trait says otherwise; secrets are the fakes' own."""

    class Meta:
        model = ProviderAccount

    class Params:
        vonage = factory.Trait(kind="vonage")
        kpn = factory.Trait(
            kind="kpn", api_key="", api_secret="",
            client_id=factory.Sequence(lambda n: f"kpn-client-{n}"),
            client_secret=KPN_CLIENT_SECRET,
        )
        voicegateway = factory.Trait(
            kind="voicegateway", base_url=UNREACHABLE, account_sid=VG_ACCOUNT_SID,
            api_key=VG_API_KEY,
            api_secret="", signature_secret="",
            webhook_secret=WEBHOOK_SECRET, webhook_secret_previous=PREVIOUS_WEBHOOK_SECRET,
        )
        sandbox = factory.Trait(kind="sandbox", base_url=SANDBOX_BASE_URL)
        # The sandbox speaking jambonz: a Bearer API key, Jambonz-Signature on its hooks.
        sandbox_jambonz = factory.Trait(
            kind="sandbox_jambonz", base_url=SANDBOX_BASE_URL, account_sid=VG_ACCOUNT_SID,
            api_key=VG_API_KEY, api_secret="", signature_secret="", webhook_secret=WEBHOOK_SECRET,
        )

        # No new call, campaign or push goes out on it (voiceapps.services.account_retire).
        retired = factory.Trait(retired_at=factory.LazyFunction(timezone.now))

    name = factory.LazyAttributeSequence(lambda a, n: f"{a.kind} account {n}")
    kind = "vonage"
    # Plain-text secrets, stored encrypted by _adjust_kwargs.
    api_key = "abcd1234"  # the api_key claim vonage_signed_headers sends
    api_secret = "vonage-api-secret-5678"
    signature_secret = SIGNATURE_SECRET
    client_secret = ""
    webhook_secret = ""
    webhook_secret_previous = ""

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        for name in ProviderAccount.SECRET_FIELDS:
            kwargs[f"{name}_encrypted"] = _encrypted(kwargs.pop(name))
        return kwargs


class NccoDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NccoDocument

    name = factory.Sequence(lambda n: f"Document {n}")


class NccoVersionFactory(factory.django.DjangoModelFactory):
    """The next version of `document` (a new document unless given)."""

    class Meta:
        model = NccoVersion

    document = factory.SubFactory(NccoDocumentFactory)
    number = factory.LazyAttribute(lambda v: v.document.versions.count() + 1)
    content = factory.LazyFunction(lambda: [dict(action) for action in TALK])


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A hosted-flow application; it holds the test key pair if its kind uses one."""

    class Meta:
        model = Application

    account = factory.SubFactory(ProviderAccountFactory)
    name = factory.Sequence(lambda n: f"Application {n}")
    provider_app_id = factory.LazyAttribute(
        lambda a: VG_APP_SID if a.account.kind == "voicegateway" else VONAGE_APP_ID)
    # Plain text, stored encrypted by _adjust_kwargs.
    private_key_pem = factory.LazyAttribute(
        lambda a: PRIVATE_KEY_PEM if uses_key_pair(a.account) else "")
    public_key_pem = factory.LazyAttribute(
        lambda a: public_key_pem(a.private_key_pem) if a.private_key_pem else "")

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        kwargs["private_key_encrypted"] = _encrypted(kwargs.pop("private_key_pem"))
        return kwargs


def _account_of_application() -> factory.Maybe:
    """The application's account when an application is given, else a new account."""
    return factory.Maybe("application", factory.SelfAttribute("application.account"),
                         factory.SubFactory(ProviderAccountFactory))


class NumberFactory(factory.django.DjangoModelFactory):
    """A number of `account`, or of the application's account when only that is given."""

    class Meta:
        model = Number

    application = None
    account = _account_of_application()
    e164 = factory.Sequence(lambda n: f"+3120{n:07d}")


class CallProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallProfile

    name = factory.Sequence(lambda n: f"Profile {n}")
    kind = "vonage"


# The sandbox's provider-side rows -------------------------------------------------------------

class SandboxApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SandboxApplication

    account = factory.SubFactory(ProviderAccountFactory, sandbox=True)
    name = factory.Sequence(lambda n: f"Pushed {n}")
    public_key = PUBLIC_KEY_PEM


class SandboxNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SandboxNumber

    account = factory.SubFactory(ProviderAccountFactory, sandbox=True)
    msisdn = factory.Sequence(lambda n: f"4477009{n:05d}")


class SandboxCallFactory(factory.django.DjangoModelFactory):
    """A call the emulator was asked to place, with the callee script its number picks."""

    class Meta:
        model = SandboxCall

    account = factory.SubFactory(ProviderAccountFactory, sandbox=True)
    conversation_uuid = factory.LazyFunction(lambda: f"CON-{uuid.uuid4()}")
    application_id = VONAGE_APP_ID
    to = factory.LazyFunction(lambda: {"type": "phone", "number": CALLEE})
    request = factory.LazyAttribute(lambda c: {"to": [c.to], "ncco": TALK})
    script = factory.LazyAttribute(lambda c: resolve_script(c.to.get("number", "")))


# Calls ---------------------------------------------------------------------------------------

class CallFactory(factory.django.DjangoModelFactory):
    """A queued outbound call to a phone; `provider` is its account's kind."""

    class Meta:
        model = Call

    application = None
    account = _account_of_application()
    provider = factory.LazyAttribute(lambda c: c.account.kind)
    to_endpoint = factory.LazyFunction(lambda: {"type": "phone", "number": CALLEE})
    to_display = f"+{CALLEE}"


class AccountRateSlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountRateSlot

    account = factory.SubFactory(ProviderAccountFactory)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """An accepted event POST as the webhook view stores it."""

    class Meta:
        model = WebhookDelivery

    account = factory.SubFactory(ProviderAccountFactory)
    endpoint = "events"
    method = "POST"
    path = "/hooks/•••/events"
    headers = factory.LazyFunction(lambda: {"Content-Type": "application/json"})
    body = b'{"status": "completed"}'
    verified = True


class CallEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallEvent

    call = factory.SubFactory(CallFactory)
    kind = "status"
    status = factory.LazyAttribute(lambda e: "ringing" if e.kind == "status" else "")
    raw_status = factory.SelfAttribute("status")
    payload = factory.LazyAttribute(lambda e: {"status": e.raw_status})


class PlaybackTurnFactory(factory.django.DjangoModelFactory):
    """A Speak text's turn on a call, accepted."""

    class Meta:
        model = PlaybackTurn

    call = factory.SubFactory(CallFactory)
    name = factory.Faker("hexify", text="^^^^^^^^")
    accepted = True


class AnswerRequestFactory(factory.django.DjangoModelFactory):
    """A hosted answer URL request that was served the call's flow."""

    class Meta:
        model = AnswerRequest

    call = factory.SubFactory(CallFactory, application=factory.SubFactory(ApplicationFactory))
    application = factory.SelfAttribute("call.application")
    method = "GET"
    params = factory.LazyFunction(lambda: {"to": CALLEE})
    status_code = 200
    response = factory.LazyFunction(lambda: [dict(action) for action in TALK])
    latency_ms = 3.0


# Campaigns -----------------------------------------------------------------------------------

class CampaignFactory(factory.django.DjangoModelFactory):
    """A draft campaign of a sandbox application: its own flow, one caller number, every day
    of the week from 09:00 to 17:00, busy retried twice after 10 minutes."""

    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    application = factory.SubFactory(
        ApplicationFactory, account=factory.SubFactory(ProviderAccountFactory, sandbox=True))
    account = factory.SelfAttribute("application.account")
    flow = factory.LazyFunction(lambda: {"type": "application"})
    from_numbers = factory.LazyFunction(lambda: ["+447700900100"])
    windows = factory.LazyFunction(
        lambda: [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "09:00", "end": "17:00"}])
    retry_rules = factory.LazyFunction(lambda: {"busy": {"retries": 2, "delay_minutes": 10}})


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    campaign = factory.SubFactory(CampaignFactory)
    raw_number = factory.Sequence(lambda n: f"+3120{n:07d}")
    e164 = factory.SelfAttribute("raw_number")
    timezones = factory.LazyFunction(lambda: ["Europe/Amsterdam"])
    next_attempt_at = factory.SelfAttribute("campaign.starts_at")


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attempt

    contact = factory.SubFactory(ContactFactory)
    number = 1


class ContactImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactImport

    campaign = factory.SubFactory(CampaignFactory)
    filename = "contacts.csv"
    content = "number\n+31201234567\n"


class SuppressionListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SuppressionList

    name = factory.Sequence(lambda n: f"Do not call {n}")


class SuppressedNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SuppressedNumber

    suppression_list = factory.SubFactory(SuppressionListFactory)
    e164 = factory.Sequence(lambda n: f"+3120{n:07d}")


# Recordings ----------------------------------------------------------------------------------

class RecordingFactory(factory.django.DjangoModelFactory):
    """A recording a record event named, waiting to be fetched (sandbox-shaped URL)."""

    class Meta:
        model = Recording

    call = factory.SubFactory(CallFactory)
    provider_url = factory.Sequence(lambda n: f"https://api.nexmo.com/v1/files/file-{n}")
    provider_recording_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    next_attempt_at = factory.LazyFunction(timezone.now)


class TranscriptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transcript

    call = factory.SubFactory(CallFactory)
    provider_url = factory.Sequence(lambda n: f"https://api.nexmo.com/v1/files/transcript-{n}")
    next_attempt_at = factory.LazyFunction(timezone.now)


class MediaRetentionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MediaRetention

    account = factory.SubFactory(ProviderAccountFactory)
    recording_days = 30
    transcript_days = 30
class AlertChannelFactory(factory.django.DjangoModelFactory):
    """An e-mail channel; `kind="slack"` or `"webhook"` with a URL `target` for the others
    (a webhook's secret is `WEBHOOK_CHANNEL_SECRET`)."""

    class Meta:
        model = AlertChannel

    name = factory.Sequence(lambda n: f"Channel {n}")
    kind = "email"
    target = "ops@example.com"
    secret_encrypted = factory.LazyAttribute(
        lambda o: crypto.encrypt(WEBHOOK_CHANNEL_SECRET) if o.kind == "webhook" else "")
    secret_last4 = factory.LazyAttribute(
        lambda o: WEBHOOK_CHANNEL_SECRET[-4:] if o.kind == "webhook" else "")


WEBHOOK_CHANNEL_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class AlertRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertRule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Rule {n}")
    kind = "deliveries_rejected"
    threshold = 3
    window_seconds = 600
    renotify_seconds = 3600

    @factory.post_generation
    def channels(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.channels.set(extracted)


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    rule = factory.SubFactory(AlertRuleFactory)
    subject = "invalid signature"
    summary = "5 webhook deliveries rejected (invalid signature) in the last 10 min"
    value = 5.0
    peak = 5.0
    evidence_url = "/calls/deliveries/?outcome=rejected"


class AlertNotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertNotification

    alert = factory.SubFactory(AlertFactory)
    channel = factory.SubFactory(AlertChannelFactory)
    event = "fired"
class SubscriptionFactory(factory.django.DjangoModelFactory):
    """Every event type of every call, to a receiver on loopback; `secret` is its secret."""

    class Meta:
        model = Subscription

    class Params:
        secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    name = factory.Sequence(lambda n: f"Tool {n}")
    url = "http://127.0.0.1:9/events"
    event_types = factory.LazyFunction(lambda: list(EventType.values))
    secret_encrypted = factory.LazyAttribute(lambda s: crypto.encrypt(s.secret))


class ForwardingDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    subscription = factory.SubFactory(SubscriptionFactory)
    call = factory.SubFactory(CallFactory)
    message_id = factory.Sequence(lambda n: f"msg_{n:024x}")
    sequence = factory.Sequence(lambda n: n + 1)
    event_type = EventType.CREATED
    url = factory.SelfAttribute("subscription.url")
    payload = factory.LazyAttribute(lambda d: event_payload(
        event_type=d.event_type, call=d.call, sequence=d.sequence, at=timezone.now()))


class ForwardingAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryAttempt

    delivery = factory.SubFactory(ForwardingDeliveryFactory)
    status_code = 200
    latency_ms = 12.5
