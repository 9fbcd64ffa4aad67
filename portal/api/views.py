from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import lockout, services, twofactor
from portal.api.pagination import LogPagination
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
)
from portal.filters import AuditFilter
from portal.models import (
    ApiToken,
    AuditEntry,
    RetentionPolicy,
    Role,
    SecurityPolicy,
    TokenScope,
    User,
)
from portal.roles import AdminOnly, AnyRole
from portal.services import Actor


class MeApi(APIView):
    permission_classes = [AnyRole]
    account_scoped = True  # reads no account: open to account-limited tokens too

    @extend_schema(responses=MeSerializer, summary="Who the request is authenticated as")
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class TokenListCreateApi(GenericAPIView):
    permission_classes = [AnyRole]
    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        return ApiToken.objects.filter(user_id=self.request.user.pk)

    @extend_schema(responses=ApiTokenSerializer(many=True), summary="List your API tokens")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiTokenSerializer(page, many=True).data)

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer},
        summary="Create an API token (its value is in this response only)",
    )
    def post(self, request):
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        scope = values.get("scope")
        token, raw = services.api_token_create(
            actor=Actor.from_request(request), user=request.user, name=values["name"],
            scope=TokenScope(scope) if scope else None, expires_at=values.get("expires_at"),
            accounts=values.get("accounts"),
        )
        token.token = raw
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenRevokeApi(APIView):
    permission_classes = [AnyRole]

    @extend_schema(responses={204: None}, summary="Revoke one of your API tokens")
    def delete(self, request, pk: int):
        token = get_object_or_404(request.user.api_tokens, pk=pk)
        services.api_token_revoke(actor=Actor.from_request(request), token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserListCreateApi(GenericAPIView):
    permission_classes = [AdminOnly]
    serializer_class = UserSerializer
    queryset = User.objects.prefetch_related("groups").order_by("username")

    @extend_schema(responses=UserSerializer(many=True), summary="List users (admin)")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(
        request=UserCreateSerializer, responses={201: UserSerializer}, summary="Create a user"
    )
    def post(self, request):
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(
            actor=Actor.from_request(request),
            username=data.validated_data["username"],
            email=data.validated_data.get("email", ""),
            role=Role(data.validated_data["role"]),
            password=data.validated_data["password"],
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetailApi(APIView):
    permission_classes = [AdminOnly]

    @extend_schema(responses=UserSerializer, summary="Read a user (admin)")
    def get(self, request, pk: int):
        return Response(UserSerializer(get_object_or_404(User, pk=pk)).data)

    @extend_schema(
        request=UserUpdateSerializer,
        responses=UserSerializer,
        summary="Change a user's role or deactivate them (admin)",
    )
    def patch(self, request, pk: int):
        user = get_object_or_404(User, pk=pk)
        data = UserUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role = data.validated_data.get("role")
        services.user_update(
            actor=Actor.from_request(request),
            user=user,
            role=Role(role) if role else None,
            is_active=data.validated_data.get("is_active"),
        )
        return Response(UserSerializer(user).data)


class AuditListApi(ListAPIView):
    permission_classes = [AdminOnly]
    serializer_class = AuditEntrySerializer
    pagination_class = LogPagination
    queryset = AuditEntry.objects.all()
    filterset_class = AuditFilter  # the audit page takes the same parameter

    @extend_schema(summary="The audit log, newest first (admin; the page's filter)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RetentionPolicyApi(APIView):
    """The retention settings of /settings/ (admins); a change is audited as the page's is."""

    permission_classes = [AdminOnly]

    @extend_schema(responses=RetentionPolicySerializer,
                   summary="How long raw webhook payloads and callees' numbers are kept (admin)")
    def get(self, request):
        return Response(RetentionPolicySerializer(RetentionPolicy.load()).data)

    @extend_schema(request=RetentionPolicyUpdateSerializer, responses=RetentionPolicySerializer,
                   summary="Change the retention settings; the next hourly run applies them "
                           "(admin)")
    def patch(self, request):
        data = RetentionPolicyUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = RetentionPolicy.load()
        policy = services.retention_policy_update(
            actor=Actor.from_request(request),
            **{name: data.validated_data.get(name, getattr(policy, name))
               for name in RetentionPolicyUpdateSerializer.Meta.fields},
        )
        return Response(RetentionPolicySerializer(policy).data)


class SecurityPolicyApi(APIView):
    """The sign-in settings of /settings/: which roles must use two-factor sign-in (admins)."""

    permission_classes = [AdminOnly]

    @extend_schema(responses=SecurityPolicySerializer,
                   summary="Which roles must sign in with two factors (admin)")
    def get(self, request):
        return Response(SecurityPolicySerializer(SecurityPolicy.load()).data)

    @extend_schema(request=SecurityPolicyUpdateSerializer, responses=SecurityPolicySerializer,
                   summary="Change which roles must sign in with two factors; their users set "
                           "it up at their next request (admin)")
    def patch(self, request):
        data = SecurityPolicyUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = SecurityPolicy.load()
        wanted = {role for role in Role if data.validated_data.get(
            f"two_factor_{role.value}", policy.requires_two_factor(role))}
        policy = services.security_policy_update(actor=Actor.from_request(request),
                                                 two_factor_roles=wanted)
        return Response(SecurityPolicySerializer(policy).data)


class UserUnlockApi(APIView):
    """The user page's "Unlock": lift a sign-in lock on the user's name (admins)."""

    permission_classes = [AdminOnly]

    @extend_schema(request=None, responses={204: None},
                   summary="Let a user locked out by wrong passwords sign in again (admin)")
    def post(self, request, pk: int):
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
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
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        user = get_object_or_404(User, pk=pk)
        twofactor.two_factor_reset(actor=Actor.from_request(request), user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
