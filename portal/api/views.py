from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import lockout, services, twofactor
from portal.api.generics import ListApi
from portal.api.pagination import LogPagination
from portal.api.responses import location, secret_response
from portal.api.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    AuditEntrySerializer,
    MeSerializer,
    NoBodySerializer,
    RetentionPolicySerializer,
    RetentionPolicyUpdateSerializer,
    SecurityPolicySerializer,
    SecurityPolicyUpdateSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
    read_body,
)
from portal.filters import AuditEntryFilter, UserFilter
from portal.models import ApiToken, AuditEntry, OneRow, Role, TokenScope, User
from portal.roles import AdminOnly, AnyRole
from portal.selectors import users_with_sign_in_state
from portal.services import Actor


class OncePerProcessGenerator(SchemaGenerator):
    """The OpenAPI document, generated once per process and language.

    It changes only with the code, and generating it costs the better part of a second of CPU
    (seconds on a busy machine); its URL is public, so generating it per request let any
    anonymous client keep a web process busy by asking for it again and again.
    """

    # Keyed by what the served document depends on: `public` is the view's constant, the API
    # has one version, and ?lang= switches the language.
    documents: dict[tuple[bool, str | None], dict[str, Any]] = {}

    def get_schema(self, request: Any = None, public: bool = False) -> dict[str, Any]:
        key = (public, translation.get_language())
        if key not in self.documents:
            self.documents[key] = super().get_schema(request=request, public=public)
        return self.documents[key]


class SchemaApi(SpectacularAPIView):
    generator_class = OncePerProcessGenerator


class MeApi(APIView):
    permission_classes = [AnyRole]
    account_scoped = True  # reads no account: open to account-limited tokens too

    @extend_schema(responses=MeSerializer, summary="Who the request is authenticated as")
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class TokenListCreateApi(ListApi):
    list_summary = "List your API tokens"
    permission_classes = [AnyRole]
    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        return ApiToken.objects.filter(user_id=self.request.user.pk)

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer},
        summary="Create an API token (its value is in this response only)",
    )
    def post(self, request):
        values = read_body(ApiTokenCreateSerializer, request)
        scope = values.get("scope")
        token, raw = services.api_token_create(
            actor=Actor.from_request(request), user=request.user, name=values["name"],
            scope=TokenScope(scope) if scope else None, expires_at=values.get("expires_at"),
            accounts=values.get("accounts"),
        )
        token.token = raw
        return secret_response(ApiTokenCreatedSerializer(token).data,
                               status=status.HTTP_201_CREATED,
                               headers=location(request, "api_token", token.pk))


class TokenDetailApi(APIView):
    permission_classes = [AnyRole]

    @extend_schema(responses=ApiTokenSerializer, summary="Read one of your API tokens "
                   "(never its value, which only its creation answers)")
    def get(self, request, pk: int):
        return Response(ApiTokenSerializer(get_object_or_404(request.user.api_tokens, pk=pk)).data)

    @extend_schema(responses={204: None}, summary="Revoke one of your API tokens")
    def delete(self, request, pk: int):
        token = get_object_or_404(request.user.api_tokens, pk=pk)
        services.api_token_revoke(actor=Actor.from_request(request), token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _with_sign_in_state(user: User) -> User:
    return users_with_sign_in_state([user])[0]


class UserListCreateApi(GenericAPIView):
    permission_classes = [AdminOnly]
    serializer_class = UserSerializer
    queryset = User.objects.prefetch_related("groups").order_by("username")
    filterset_class = UserFilter

    @extend_schema(responses=UserSerializer(many=True), summary="List users (admin)")
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        users = users_with_sign_in_state(page)
        return self.get_paginated_response(UserSerializer(users, many=True).data)

    @extend_schema(
        request=UserCreateSerializer, responses={201: UserSerializer}, summary="Create a user"
    )
    def post(self, request):
        data = read_body(UserCreateSerializer, request)
        user = services.user_create(
            actor=Actor.from_request(request),
            username=data["username"],
            email=data.get("email", ""),
            role=Role(data["role"]),
            password=data["password"],
        )
        return Response(UserSerializer(_with_sign_in_state(user)).data,
                        status=status.HTTP_201_CREATED,
                        headers=location(request, "api_user", user.pk))


class UserDetailApi(APIView):
    permission_classes = [AdminOnly]

    @extend_schema(responses=UserSerializer, summary="Read a user (admin)")
    def get(self, request, pk: int):
        return Response(UserSerializer(_with_sign_in_state(get_object_or_404(User, pk=pk))).data)

    @extend_schema(
        request=UserUpdateSerializer,
        responses=UserSerializer,
        summary="Change a user's role or deactivate them (admin)",
    )
    def patch(self, request, pk: int):
        user = get_object_or_404(User, pk=pk)
        data = read_body(UserUpdateSerializer, request)
        role = data.get("role")
        services.user_update(
            actor=Actor.from_request(request),
            user=user,
            role=Role(role) if role else None,
            is_active=data.get("is_active"),
        )
        return Response(UserSerializer(_with_sign_in_state(user)).data)


class AuditListApi(ListAPIView):
    permission_classes = [AdminOnly]
    serializer_class = AuditEntrySerializer
    pagination_class = LogPagination
    queryset = AuditEntry.objects.all()
    filterset_class = AuditEntryFilter

    @extend_schema(summary="The audit log, newest first (admin; the page's filter)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OneRowSettingsApi(APIView):
    """A settings table of /settings/ (one row): admins read it and PATCH it, a field left out
    keeping its value; `save` hands the values to the page's service, which audits them."""

    permission_classes = [AdminOnly]
    shape: type[serializers.ModelSerializer]  # what GET and PATCH answer
    update_shape: type[serializers.ModelSerializer]  # what PATCH reads (a StrictSerializer)
    summaries: dict[str, str]  # the API reference's line for "get" and "patch"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        extend_schema_view(
            get=extend_schema(responses=cls.shape, summary=cls.summaries["get"]),
            patch=extend_schema(request=cls.update_shape, responses=cls.shape,
                                summary=cls.summaries["patch"]),
        )(cls)

    def save(self, actor: Actor, values: dict[str, Any]) -> OneRow:
        raise NotImplementedError

    def get(self, request):
        return Response(self.shape(self.shape.Meta.model.load()).data)

    def patch(self, request):
        given = read_body(self.update_shape, request)
        current = self.shape.Meta.model.load()
        values = {name: given.get(name, getattr(current, name))
                  for name in self.update_shape.Meta.fields}
        return Response(self.shape(self.save(Actor.from_request(request), values)).data)


class RetentionPolicyApi(OneRowSettingsApi):
    """The retention settings of /settings/ (admins); a change is audited as the page's is."""

    summaries = {
        "get": "How long raw webhook payloads and callees' numbers are kept (admin)",
        "patch": "Change the retention settings; the next hourly run applies them (admin)",
    }
    shape = RetentionPolicySerializer
    update_shape = RetentionPolicyUpdateSerializer

    def save(self, actor: Actor, values: dict[str, Any]) -> OneRow:
        return services.retention_policy_update(actor=actor, **values)


class SecurityPolicyApi(OneRowSettingsApi):
    """The sign-in settings of /settings/: which roles must use two-factor sign-in (admins)."""

    summaries = {
        "get": "Which roles must sign in with two factors (admin)",
        "patch": "Change which roles must sign in with two factors; their users set it up at "
                 "their next request (admin)",
    }
    shape = SecurityPolicySerializer
    update_shape = SecurityPolicyUpdateSerializer

    def save(self, actor: Actor, values: dict[str, Any]) -> OneRow:
        return services.security_policy_update(actor=actor, two_factor_roles={
            role for role in Role if values[f"two_factor_{role.value}"]})


class UserUnlockApi(APIView):
    """The user page's "Unlock": lift a sign-in lock on the user's name, and the limit on
    password reset links to their e-mail address (admins)."""

    permission_classes = [AdminOnly]

    @extend_schema(request=None, responses={204: None},
                   summary="Let a user locked out by wrong passwords sign in again (admin)",
                   description="It also lifts the limit on password reset links to the user's "
                               "e-mail address: they can ask for one again at once.")
    def post(self, request, pk: int):
        read_body(NoBodySerializer, request)
        user = get_object_or_404(User, pk=pk)
        lockout.login_unlock(actor=Actor.from_request(request), username=user.username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserTwoFactorResetApi(APIView):
    """The user page's "Reset two-factor sign-in" (a lost phone; admins)."""

    permission_classes = [AdminOnly]

    @extend_schema(request=None, responses={204: None},
                   summary="Remove a user's authenticator and recovery codes; they set it up "
                           "again at their next sign-in if their role needs it (admin)")
    def post(self, request, pk: int):
        read_body(NoBodySerializer, request)
        user = get_object_or_404(User, pk=pk)
        twofactor.two_factor_reset(actor=Actor.from_request(request), user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
