"""API shapes for accounts, applications and numbers. Validation lives in the services."""


from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.serializers import StrictSerializer
from portal.models import Role
from voiceapps import phone, services
from voiceapps.forms import ACCOUNT_FIELD_TEXT, CAPABILITY_CHOICES
from voiceapps.models import Application, Number, ProviderAccount
from voiceapps.providers.registry import KIND_CHOICES

PLAIN_ACCOUNT_FIELDS = ("base_url", "rest_base_url", "client_id", "token_url", "account_sid")


class SecretSetField(serializers.BooleanField):
    """`<secret>_set`: whether a value is stored."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        super().__init__(source="*", read_only=True, help_text=f"Whether {secret} is stored.")

    def to_representation(self, account: ProviderAccount) -> bool:
        return bool(getattr(account, f"{self.secret}_encrypted"))


class SecretMaskedField(serializers.CharField):
    """`<secret>_masked`: the stored value as ••••last4 (only •••• for short ones)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        super().__init__(source="*", read_only=True,
                         help_text=f"{secret} as ••••last4; empty when not stored.")

    def to_representation(self, account: ProviderAccount) -> str:
        return account.masked(self.secret)


def _secret_state_fields() -> dict[str, serializers.Field]:
    fields: dict[str, serializers.Field] = {}
    for name in ProviderAccount.SECRET_FIELDS:
        fields[f"{name}_set"] = SecretSetField(name)
        fields[f"{name}_masked"] = SecretMaskedField(name)
    return fields


class WebhookUrlSerializer(serializers.Serializer):
    label = serializers.CharField()
    url = serializers.URLField()


class AccountSerializer(serializers.ModelSerializer):
    """An account as anyone may read it: secrets only as set/masked, never their values."""

    fields_used = serializers.SerializerMethodField(
        help_text="The credential and URL fields this kind of account uses.")
    webhook_urls = serializers.SerializerMethodField(
        help_text="The URLs to give the provider (admins only; empty for other roles).")

    class Meta:
        model = ProviderAccount
        fields = [
            "id", "name", "kind", "calls_per_second", *PLAIN_ACCOUNT_FIELDS,
            "accept_unsigned_webhooks", "fields_used",
            "last_check_at", "last_check_ok", "last_check_message", "webhook_urls",
            "retired_at", "created_at", "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"retired_at": {"help_text": (
            "Since when the account is retired (POST …/retire): no call, campaign start or "
            "resume, or application push goes out on it; null while in use.")}}

    def get_fields(self) -> dict[str, serializers.Field]:
        # The `<secret>_set` / `<secret>_masked` pairs are not model fields: added here.
        return {**super().get_fields(), **_secret_state_fields()}

    def get_fields_used(self, account: ProviderAccount) -> list[str]:
        return list(services.account_fields(account.kind))

    @extend_schema_field(WebhookUrlSerializer(many=True))
    def get_webhook_urls(self, account: ProviderAccount) -> list[dict[str, str]]:
        request = self.context.get("request")
        if request is None or not request.user.has_role(Role.ADMIN):
            return []
        return [{"label": label, "url": url}
                for label, url in services.account_webhook_urls(account)]


def _account_input_fields() -> dict[str, serializers.Field]:
    fields: dict[str, serializers.Field] = {
        "name": serializers.CharField(max_length=100, required=False),
        "calls_per_second": serializers.DecimalField(max_digits=6, decimal_places=2,
                                                     required=False),
    }
    for name in PLAIN_ACCOUNT_FIELDS:
        fields[name] = serializers.CharField(required=False, allow_blank=True, max_length=200)
    fields["accept_unsigned_webhooks"] = serializers.BooleanField(required=False)
    for name in ProviderAccount.SECRET_FIELDS:
        fields[name] = serializers.CharField(
            required=False, allow_blank=True, allow_null=True, write_only=True,
            max_length=4000, trim_whitespace=True,
            help_text="Write-only. Omitted or empty keeps the stored value; null removes it.")
    for name, field in fields.items():
        label, help_text = ACCOUNT_FIELD_TEXT[name]
        field.label = label
        field.help_text = field.help_text or help_text or None
    return fields


class AccountUpdateSerializer(StrictSerializer):
    """Name, rate and the kind's fields; the service refuses fields the kind does not use."""

    resource_shape = AccountSerializer

    def get_fields(self) -> dict[str, serializers.Field]:
        return _account_input_fields()


class AccountCreateSerializer(AccountUpdateSerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["name"].required = True
        return {"kind": serializers.ChoiceField(choices=KIND_CHOICES), **fields}


class AccountCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Whether the provider accepted the credentials.")
    message = serializers.CharField(help_text="The provider's answer, in its own words.")
    checked_at = serializers.DateTimeField()


class RemoteApplicationSerializer(serializers.Serializer):
    provider_app_id = serializers.CharField()
    name = serializers.CharField()
    answer_url = serializers.CharField()
    answer_method = serializers.CharField()
    event_url = serializers.CharField()
    event_method = serializers.CharField()
    application = serializers.IntegerField(
        allow_null=True, help_text="The Callboard application it was imported as, if any.")


class ApplicationSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    private_key_set = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id", "account", "account_name", *services.APPLICATION_FIELDS, "public_key_pem",
            "private_key_set", "sync_state", "last_synced_at", "last_sync_error",
            "rehearsal_copy", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_private_key_set(self, application: Application) -> bool:
        return bool(application.private_key_encrypted)


class ApplicationUpdateSerializer(StrictSerializer, serializers.ModelSerializer):
    resource_shape = ApplicationSerializer

    class Meta:
        model = Application
        fields = list(services.APPLICATION_FIELDS)
        # Uniqueness is checked by the service (full_clean), with the same message as pages.
        validators: list = []
        extra_kwargs = {"name": {"required": False}}


class ApplicationCreateSerializer(ApplicationUpdateSerializer):
    class Meta(ApplicationUpdateSerializer.Meta):
        fields = ["account", *services.APPLICATION_FIELDS]
        extra_kwargs = {"name": {"required": True}}


class KeyPairSerializer(StrictSerializer):
    private_key = serializers.CharField(
        required=False, write_only=True, trim_whitespace=True,
        help_text="An existing RSA private key (PEM) to store instead of generating one. "
                  "Admins only.")


class ApplicationImportSerializer(StrictSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=ProviderAccount.objects.all())
    provider_app_ids = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class NumberSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    international = serializers.SerializerMethodField(
        help_text="The number formatted for people, e.g. +31 20 123 4567.")
    country_name = serializers.SerializerMethodField()

    class Meta:
        model = Number
        fields = [
            "id", "account", "account_name", "e164", "international", "country",
            "country_name", "application", "capabilities", "description",
            "provider_number_id", "link_error", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_international(self, number: Number) -> str:
        return phone.international(number.e164)

    def get_country_name(self, number: Number) -> str:
        return phone.country_name(number.e164, number.country)


class NumberUpdateSerializer(StrictSerializer):
    resource_shape = NumberSerializer

    e164 = serializers.CharField(max_length=40, required=False,
                                 help_text="International format; normalised to E.164.")
    capabilities = serializers.MultipleChoiceField(choices=CAPABILITY_CHOICES, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class NumberCreateSerializer(NumberUpdateSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=ProviderAccount.objects.all())
    e164 = serializers.CharField(max_length=40,
                                 help_text="International format; normalised to E.164.")


class NumberLinkSerializer(StrictSerializer):
    application = serializers.PrimaryKeyRelatedField(
        queryset=Application.objects.all(), allow_null=True,
        help_text="The application to route the number to; null unlinks it.")


class AccountRefSerializer(StrictSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=ProviderAccount.objects.all())


class NumberImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Entries that are not phone numbers.")
