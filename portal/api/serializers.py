from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.models import (
    ApiToken,
    AuditEntry,
    RetentionPolicy,
    Role,
    SecurityPolicy,
    TokenScope,
    User,
)

UNKNOWN = "Unknown field."
READ_ONLY = "Read-only field: it cannot be set."


class StrictSerializer(serializers.Serializer):
    # The base of every serializer the API reads a request body with. A field it does not
    # know is refused (400, "Unknown field." under its name; under its path, such as
    # `to.extra`, in a nested serializer) instead of silently dropped, so a misspelled option
    # never leaves a call dialled without it. A field the API only shows (a read-only one, or
    # one of `resource_shape` this body does not take, such as `id`) is refused as "Read-only
    # field: it cannot be set.", so a client sending back what it read learns which fields to
    # leave out instead of believing it changed them. A comment, not a docstring:
    # drf-spectacular would describe every request body by it (the API's description says it).

    # What the API answers with for the object this body creates or changes (a create or an
    # update of a resource; None for an action): its fields name what is read-only here.
    resource_shape: type[serializers.Serializer] | None = None

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            refused = set(data) - writable
            if refused:
                shown = set(self.fields) | set(
                    self.resource_shape().fields if self.resource_shape else ())
                raise serializers.ValidationError(
                    {name: [READ_ONLY if name in shown else UNKNOWN] for name in sorted(refused)})
        if isinstance(data, Mapping) and not isinstance(data, QueryDict):
            # JSON has types, which DRF blurs: 0 passes for false and 7 for "7". A form
            # (QueryDict: a multipart upload's fields) has only text, which DRF reads.
            wrong = {name: errors for name, field in self.fields.items()
                     if name in data and (errors := _type_errors(field, data[name]))}
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


# Fields that take a JSON number. Not DecimalField: the API writes decimals as strings
# ("5.00"), so a client sending back what it read must be understood.
NUMBERS = (serializers.IntegerField, serializers.FloatField)
# Fields that take a JSON list of choices or ids (DRF's ListField refuses a non-list itself).
LISTS_OF_CHOICES = (serializers.ManyRelatedField, serializers.MultipleChoiceField)


def _type_errors(field: serializers.Field, value: Any) -> Any:
    """`field`'s errors for the JSON `value` when it is not of the field's type: a text
    field takes a string, a boolean true or false, a whole or real number a number, a list
    of choices or ids a list, and a list's or a dict's items are checked so by its child;
    None when the type is right (its value is checked later)."""
    if value is None:
        return None  # allow_null decides
    if (isinstance(field, serializers.CharField) and not isinstance(value, str)) or (
            isinstance(field, serializers.BooleanField) and not isinstance(value, bool)) or (
            isinstance(field, NUMBERS) and (isinstance(value, bool)
                                            or not isinstance(value, int | float))):
        return [field.error_messages["invalid"]]
    if isinstance(field, LISTS_OF_CHOICES) and not isinstance(value, list):
        # These iterate whatever they are given: {} passed as no choice, {"3": 0} as [3].
        return [field.error_messages["not_a_list"].format(input_type=type(value).__name__)]
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        items = enumerate(value)
    elif isinstance(field, serializers.DictField) and isinstance(value, dict):
        items = value.items()
    else:
        return None
    return {str(key): errors for key, item in items
            if (errors := _type_errors(field.child, item))} or None


@extend_schema_field({"type": "array", "items": {"type": "object"}})
class JsonListField(serializers.JSONField):
    """A JSON value that must be a list of objects (an NCCO, calling windows), so documented:
    the service that reads it refuses anything else, naming the field."""


@extend_schema_field(OpenApiTypes.OBJECT)
class ObjectField(serializers.JSONField):
    """Any JSON object (its content is checked by the service, with field paths)."""

    default_error_messages = {"invalid": "Must be a JSON object."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            self.fail("invalid")
        return super().to_internal_value(data)


def object_url(context: Mapping[str, Any], name: str, *args: int) -> str:
    """The named route for `args` (an object's pk) as a serializer shows it: absolute in an
    API answer (the view hands the serializer its request), a path where there is none (a
    serializer used outside a request)."""
    path = reverse(name, args=args)
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path


@extend_schema_field(OpenApiTypes.STR)
class ObjectUrlField(serializers.Field):
    """An object's address by its route `name` and its pk (or the key `source` names), as
    object_url writes it: DRF's HyperlinkedIdentityField, which refuses to work without the
    request."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        self.route = name
        kwargs.setdefault("source", "pk")
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: int) -> str:
        return object_url(self.context, self.route, value)


def refuse_unknown_parameters(request: Any, allowed: Iterable[str]) -> None:
    """A query parameter the view does not take is refused (400 naming it), as StrictSerializer
    refuses a field: a mistyped filter must not widen what is read or exported."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise serializers.ValidationError({name: ["Unknown parameter."] for name in unknown})


# A JSON body that is not an object, in JSON's words (DRF says "dictionary", "list", and for
# null "No data provided", as if leaving the body out were the mistake).
_NOT_AN_OBJECT = {type(None): "null", list: "an array", str: "a string", bool: "true or false",
                  int: "a number", float: "a number"}


def read_body(serializer_class: type[serializers.Serializer], request: Any,
              **kwargs: Any) -> dict[str, Any]:
    """The request body as `serializer_class` validates it (`kwargs` go to the serializer, e.g.
    `instance` and `partial`); a body it refuses is a 400 naming the fields. Every body is an
    object: no body or `{}` for a write that takes no fields, never `null` or `[]`."""
    if not isinstance(request.data, Mapping):
        kind = _NOT_AN_OBJECT.get(type(request.data), "not an object")
        raise serializers.ValidationError(
            {"non_field_errors": [f"The body must be a JSON object (or left out), not {kind}."]})
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ErrorSerializer(serializers.Serializer):
    """The shape of every API error: `fields` names each bad field or JSON path (such as
    `to.number` or `contacts.0.timezone`) with its problems; it is {} for other errors."""

    error = serializers.CharField(help_text="A code, e.g. provider_error.")
    detail = serializers.CharField(help_text="A sentence; for provider_error, the provider's.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class NoBodySerializer(StrictSerializer):
    """What a write that takes no fields reads its body with: nothing, or {}."""


class MeSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "role"]

    def get_role(self, user: User) -> str | None:
        return user.role.value if user.role else None


class UserSerializer(MeSerializer):
    """A user as the Users pages show them."""

    # `locked_until` and `two_factor` are read by portal.selectors.users_with_sign_in_state.

    locked_until = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="Until when too many failed sign-ins lock the user out (null: not locked); "
                  "POST /api/v1/users/{id}/unlock lifts it.")
    two_factor = serializers.BooleanField(
        read_only=True, help_text="They sign in with an authenticator app (or its recovery "
                                  "codes); POST /api/v1/users/{id}/two-factor/reset removes it.")

    assigned_role = serializers.ChoiceField(
        choices=Role.choices, read_only=True, allow_null=True,
        help_text="The role they hold, kept while they are deactivated (`role`, what they may do "
                  "now, is then null); reactivating them gives it back.")

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "assigned_role", "is_active", "date_joined",
                  "last_login", "locked_until", "two_factor"]


class UserCreateSerializer(StrictSerializer):
    resource_shape = UserSerializer

    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=Role.choices)

    def validate_username(self, value: str) -> str:
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("A user with this name exists already.")
        return value

    def validate(self, data: dict) -> dict:
        try:
            password_validation.validate_password(
                data["password"], User(username=data["username"])
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": exc.messages}) from None
        return data


class UserUpdateSerializer(StrictSerializer):
    resource_shape = UserSerializer

    role = serializers.ChoiceField(
        choices=Role.choices, required=False,
        help_text="Refused (400, naming `role`) for a user who signs in with single sign-on "
                  "while OIDC_ROLE_MAP sets roles from the provider's groups: change their "
                  "groups there. Their current role, sent back unchanged, is accepted.")
    is_active = serializers.BooleanField(required=False)


# The accounts a token may be limited to, named without importing the app that defines them.
_ACCOUNTS = ApiToken.accounts.field.related_model.objects.all()


class ApiTokenSerializer(serializers.ModelSerializer):
    accounts = serializers.SerializerMethodField(
        help_text="The provider accounts whose calls the token may use; null: every account.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scope", "accounts", "created_at", "expires_at",
                  "last_used_at", "last_used_ip", "revoked_at"]
        read_only_fields = fields

    def get_accounts(self, token: ApiToken) -> list[int] | None:
        if not token.limit_to_accounts:
            return None
        return sorted(token.accounts.values_list("pk", flat=True))


class ApiTokenCreateSerializer(StrictSerializer):
    resource_shape = ApiTokenSerializer

    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(
        choices=TokenScope.choices, required=False,
        help_text="read, operate or admin, at most your role's; default: your role's.")
    expires_at = serializers.DateTimeField(
        required=False, help_text="Default: API_TOKEN_DAYS (90) days from now. A token made "
        "with a token expires no later than that token.")
    accounts = serializers.PrimaryKeyRelatedField(
        queryset=_ACCOUNTS, many=True, required=False, allow_empty=False,
        help_text="Limit the token to these provider accounts' calls; leave out for all.")


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The token itself. It is shown this once only.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class AuditEntrySerializer(serializers.ModelSerializer):
    via = serializers.CharField(read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id", "created_at", "actor_label", "via", "ip_address", "action",
            "object_type", "object_id", "object_repr", "changes",
        ]
        read_only_fields = fields


class RetentionPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = RetentionPolicy
        fields = ["webhook_payload_days", "number_masking_days", "last_run_at", "last_run",
                  "updated_at"]
        read_only_fields = fields
        extra_kwargs = {
            "last_run_at": {"help_text": "When the hourly run last applied the policy."},
            "last_run": {"help_text": "What it changed: payloads_cleared, calls_masked."},
        }


class RetentionPolicyUpdateSerializer(StrictSerializer, serializers.ModelSerializer):
    """The settings page's retention form; a field left out keeps its value, null means keep
    forever (the model's limits apply)."""

    resource_shape = RetentionPolicySerializer

    class Meta:
        model = RetentionPolicy
        fields = ["webhook_payload_days", "number_masking_days"]
        extra_kwargs = {name: {"required": False} for name in fields}


class SecurityPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = SecurityPolicy
        fields = ["two_factor_admin", "two_factor_operator", "two_factor_viewer", "updated_at"]
        read_only_fields = fields


class SecurityPolicyUpdateSerializer(StrictSerializer, serializers.ModelSerializer):
    """The settings page's sign-in form; a field left out keeps its value."""

    resource_shape = SecurityPolicySerializer

    class Meta:
        model = SecurityPolicy
        fields = ["two_factor_admin", "two_factor_operator", "two_factor_viewer"]
        extra_kwargs = {name: {"required": False} for name in fields}
