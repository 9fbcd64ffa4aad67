"""/api/v1/accounts, /applications and /numbers: the same services as the pages."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.generics import CreateMixin, ListApi, ObjectApi
from portal.api.schema import api_error
from portal.api.serializers import NoBodySerializer, read_body
from portal.models import Role
from portal.roles import ViewerReadsAdminWrites
from portal.services import Actor
from voiceapps import hooks, selectors, services
from voiceapps.api.serializers import (
    AccountCheckSerializer,
    AccountCreateSerializer,
    AccountRefSerializer,
    AccountSerializer,
    AccountUpdateSerializer,
    ApplicationCreateSerializer,
    ApplicationImportSerializer,
    ApplicationSerializer,
    ApplicationUpdateSerializer,
    KeyPairSerializer,
    NumberCreateSerializer,
    NumberImportResultSerializer,
    NumberLinkSerializer,
    NumberSerializer,
    NumberUpdateSerializer,
    RemoteApplicationSerializer,
)
from voiceapps.filters import ApplicationFilter, NumberFilter
from voiceapps.models import Application, Number, ProviderAccount
from voiceapps.providers.base import ProviderError


class ProviderFailed(APIException):
    """The provider refused or could not be reached: its own sentence, as a 502."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "provider_error"


@contextmanager
def provider_errors() -> Iterator[None]:
    """A ProviderError raised inside is answered 502 with the provider's own sentence."""
    try:
        yield
    except ProviderError as error:
        raise ProviderFailed(error.message) from None


PROVIDER_ERROR = {502: api_error(
    "The provider refused or did not answer; `detail` has its words.")}
# Anything new asked of a retired account (services.refuse_if_retired), wherever it is asked.
ACCOUNT_RETIRED_SENTENCE = (
    "The provider account is retired, so nothing new goes out on it or is made on it; `detail` "
    "names it. An admin can bring it back: POST /api/v1/accounts/{id}/reactivate.")
ACCOUNT_RETIRED = {409: api_error(ACCOUNT_RETIRED_SENTENCE)}


# Accounts ----------------------------------------------------------------------------------

class AccountListCreateApi(CreateMixin, ListApi):
    list_summary = "List provider accounts"
    create_summary = "Add a provider account (admin)"
    permission_classes = [ViewerReadsAdminWrites]
    serializer_class = AccountSerializer
    create_serializer_class = AccountCreateSerializer
    created_route = "api_account"

    def get_queryset(self):
        return selectors.account_list()

    def create(self, actor: Actor, values: dict[str, Any]) -> ProviderAccount:
        kind = values.pop("kind")
        return services.account_create(actor=actor, kind=kind, values=values)


class AccountDetailApi(ObjectApi):
    summaries = {
        "get": "Read a provider account (secrets only as set/masked)",
        "patch": "Change a provider account (admin); the kind stays",
        "delete": "Delete a provider account (admin)",
    }
    permission_classes = [ViewerReadsAdminWrites]
    serializer_class = AccountSerializer
    update_serializer_class = AccountUpdateSerializer
    refused_delete = ("Applications, campaigns or calls still use the account; `detail` says "
                      "which. Calls keep it for good: retire it instead.")
    queryset = ProviderAccount.objects.all()

    def change(self, actor: Actor, obj: ProviderAccount, values: dict[str, Any]) -> None:
        services.account_update(actor=actor, account=obj, values=values)

    def remove(self, actor: Actor, obj: ProviderAccount) -> None:
        services.account_delete(actor=actor, account=obj)


class AccountTestApi(APIView):
    permission_classes = [ViewerReadsAdminWrites]

    @extend_schema(request=None, responses=AccountCheckSerializer,
                   summary="Test the credentials with the provider (admin)",
                   description="`ok` false carries the provider's own answer, e.g. "
                               "\"Vonage refused the credentials (401): ...\".")
    def post(self, request, pk: int):
        account = get_object_or_404(ProviderAccount, pk=pk)
        read_body(NoBodySerializer, request)
        ok, message = services.account_check(actor=Actor.from_request(request), account=account)
        body = {"ok": ok, "message": message, "checked_at": account.last_check_at}
        return Response(AccountCheckSerializer(body).data)


class AccountActionApi(GenericAPIView):
    """A POST without a body: `act` runs a service on the account, which is answered. Each
    subclass's docstring describes its operation in the schema."""

    permission_classes = [ViewerReadsAdminWrites]
    serializer_class = AccountSerializer
    queryset = ProviderAccount.objects.all()

    def act(self, actor: Actor, account: ProviderAccount) -> None:
        raise NotImplementedError

    @extend_schema(request=None, responses=AccountSerializer)
    def post(self, request, pk: int):
        account = self.get_object()
        read_body(NoBodySerializer, request)
        self.act(Actor.from_request(request), account)
        return Response(self.get_serializer(account).data)


@extend_schema_view(post=extend_schema(
    summary="Replace the webhook token: every webhook URL changes (admin)"))
class AccountRegenerateTokenApi(AccountActionApi):
    """Every webhook and answer URL of the account changes at once: give the provider the new
    ones and push its applications again."""

    def act(self, actor: Actor, account: ProviderAccount) -> None:
        services.account_regenerate_webhook_token(actor=actor, account=account)


@extend_schema_view(post=extend_schema(
    summary="Retire the account: nothing new goes out on it (admin)"))
class AccountRetireApi(AccountActionApi):
    """From now on placing a call, starting or resuming a campaign, pushing an application or
    linking a number on it answers 409; its running campaigns are paused. Its calls and
    recordings stay and its webhooks are still accepted. Retiring a retired account changes
    nothing and answers 200 again."""

    def act(self, actor: Actor, account: ProviderAccount) -> None:
        services.account_retire(actor=actor, account=account)


@extend_schema_view(post=extend_schema(summary="Bring a retired account back into use (admin)"))
class AccountReactivateApi(AccountActionApi):
    """Campaigns paused by retiring it stay paused until resumed. On an account in use it
    changes nothing and answers 200."""

    def act(self, actor: Actor, account: ProviderAccount) -> None:
        services.account_reactivate(actor=actor, account=account)


class AccountRemoteApplicationsApi(APIView):
    @extend_schema(responses={200: RemoteApplicationSerializer(many=True), **PROVIDER_ERROR},
                   summary="The applications the provider has on this account")
    def get(self, request, pk: int):
        account = get_object_or_404(ProviderAccount, pk=pk)
        with provider_errors():
            remote = services.application_remote_list(account=account)
        imported = selectors.application_by_provider_id(account=account)
        admin = request.user.has_role(Role.ADMIN)
        # An application Callboard pushed names Callboard's URLs, token included.
        rows = [{**app.__dict__, "answer_url": hooks.shown_url(app.answer_url, to_admin=admin),
                 "event_url": hooks.shown_url(app.event_url, to_admin=admin),
                 "application": imported[app.provider_app_id].pk
                 if app.provider_app_id in imported else None}
                for app in remote]
        return Response(RemoteApplicationSerializer(rows, many=True).data)


# Applications ------------------------------------------------------------------------------

class ApplicationListCreateApi(CreateMixin, ListApi):
    list_summary = "List applications"
    create_summary = "Add an application (not pushed yet)"
    serializer_class = ApplicationSerializer
    create_serializer_class = ApplicationCreateSerializer
    create_refusals = ACCOUNT_RETIRED
    created_route = "api_application"
    filterset_class = ApplicationFilter  # the applications page takes the same parameters

    def get_queryset(self):
        return selectors.application_list()

    def create(self, actor: Actor, values: dict[str, Any]) -> Application:
        account = values.pop("account")
        return services.application_create(actor=actor, account=account, values=values)


class ApplicationDetailApi(ObjectApi):
    summaries = {
        "get": "Read an application",
        "patch": "Change an application (push it afterwards)",
        "delete": "Delete an application from Callboard (the provider keeps its copy)",
    }
    serializer_class = ApplicationSerializer
    update_serializer_class = ApplicationUpdateSerializer
    refused_delete = "Campaigns still use the application; `detail` says how many."
    queryset = Application.objects.select_related("account")

    def patch(self, request, pk: int):
        # A model serializer: it validates the fields given against the application as it is.
        application = self.get_object()
        values = read_body(ApplicationUpdateSerializer, request, instance=application, partial=True)
        services.application_update(actor=Actor.from_request(request), application=application,
                                    values=values)
        return Response(self.get_serializer(application).data)

    def remove(self, actor: Actor, obj: Application) -> None:
        services.application_delete(actor=actor, application=obj)


class ApplicationPushApi(GenericAPIView):
    serializer_class = ApplicationSerializer
    queryset = Application.objects.select_related("account")

    @extend_schema(request=None,
                   responses={200: ApplicationSerializer, **ACCOUNT_RETIRED, **PROVIDER_ERROR},
                   summary="Create or update the application at the provider")
    def post(self, request, pk: int):
        application = self.get_object()
        read_body(NoBodySerializer, request)
        with provider_errors():
            services.application_push(actor=Actor.from_request(request),
                                      application=application)
        return Response(self.get_serializer(application).data)


class ApplicationKeyPairApi(GenericAPIView):
    serializer_class = ApplicationSerializer
    queryset = Application.objects.select_related("account")

    @extend_schema(request=KeyPairSerializer, responses=ApplicationSerializer,
                   summary="Generate a key pair, or store a pasted private key (admin)",
                   description="Without a body Callboard generates an RSA 2048 key pair. The "
                               "private key is encrypted at rest and never returned; "
                               "`public_key_pem` is. Push the application afterwards.")
    def post(self, request, pk: int):
        application = self.get_object()
        pem = read_body(KeyPairSerializer, request).get("private_key")
        actor = Actor.from_request(request)
        if pem:
            if not request.user.has_role(Role.ADMIN):
                raise PermissionDenied("Storing an existing private key needs the Admin role.")
            services.application_set_private_key(actor=actor, application=application, pem=pem)
        else:
            services.application_generate_keypair(actor=actor, application=application)
        return Response(self.get_serializer(application).data)


class ApplicationImportApi(APIView):
    @extend_schema(request=ApplicationImportSerializer,
                   responses={201: ApplicationSerializer(many=True), **ACCOUNT_RETIRED,
                              **PROVIDER_ERROR},
                   summary="Import applications the provider has on an account")
    def post(self, request):
        data = read_body(ApplicationImportSerializer, request)
        with provider_errors():
            imported = services.application_import(
                actor=Actor.from_request(request), account=data["account"],
                provider_app_ids=data["provider_app_ids"])
        return Response(ApplicationSerializer(imported, many=True).data,
                        status=status.HTTP_201_CREATED)


# Numbers -----------------------------------------------------------------------------------

class NumberListCreateApi(CreateMixin, ListApi):
    list_summary = "List numbers"
    create_summary = "Add a number"
    serializer_class = NumberSerializer
    create_serializer_class = NumberCreateSerializer
    create_refusals = ACCOUNT_RETIRED
    created_route = "api_number"
    filterset_class = NumberFilter  # the numbers page takes the same parameters

    def get_queryset(self):
        return selectors.number_list()

    def create(self, actor: Actor, values: dict[str, Any]) -> Number:
        return services.number_create(
            actor=actor, account=values["account"], e164=values["e164"],
            capabilities=values.get("capabilities", ()), description=values.get("description", ""))


class NumberDetailApi(ObjectApi):
    summaries = {
        "get": "Read a number",
        "patch": "Change a number's digits, capabilities or description",
        "delete": "Remove a number from Callboard (it stays yours at the provider)",
    }
    serializer_class = NumberSerializer
    update_serializer_class = NumberUpdateSerializer
    queryset = Number.objects.select_related("account", "application")

    def change(self, actor: Actor, obj: Number, values: dict[str, Any]) -> None:
        services.number_update(actor=actor, number=obj, **values)

    def remove(self, actor: Actor, obj: Number) -> None:
        services.number_delete(actor=actor, number=obj)


class NumberLinkApi(GenericAPIView):
    serializer_class = NumberSerializer
    queryset = Number.objects.select_related("account", "application")

    @extend_schema(request=NumberLinkSerializer,
                   responses={200: NumberSerializer, **ACCOUNT_RETIRED, **PROVIDER_ERROR},
                   summary="Route the number to an application (null unlinks), here and at "
                           "the provider",
                   description="A 502 keeps the link in Callboard and stores the provider's "
                               "answer as `link_error`.")
    def post(self, request, pk: int):
        number = self.get_object()
        data = read_body(NumberLinkSerializer, request)
        with provider_errors():
            services.number_link(actor=Actor.from_request(request), number=number,
                                 application=data["application"])
        return Response(self.get_serializer(number).data)


class NumberImportApi(APIView):
    @extend_schema(request=AccountRefSerializer,
                   responses={200: NumberImportResultSerializer, **ACCOUNT_RETIRED,
                              **PROVIDER_ERROR},
                   summary="Add or refresh every number the provider lists for an account")
    def post(self, request):
        data = read_body(AccountRefSerializer, request)
        with provider_errors():
            counts = services.number_import(actor=Actor.from_request(request),
                                            account=data["account"])
        return Response(NumberImportResultSerializer(counts).data)


