"""The calls API: place a call, read one; call profiles. Views parse and call services."""

from __future__ import annotations

import re

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import services
from calls.api.serializers import (
    CallCreateSerializer,
    CallProfileCreateSerializer,
    CallProfileSerializer,
    CallProfileUpdateSerializer,
    CallSerializer,
)
from calls.filters import CallFilter
from calls.models import Call
from portal.api.exceptions import error_body
from portal.api.pagination import LogPagination
from portal.roles import check_token_account, limit_to_token_accounts
from portal.services import Actor
from voiceapps.models import CallProfile

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER, location=OpenApiParameter.HEADER, required=False, type=str,
    description="Up to 200 printable characters. Repeating a request with the same key (per "
                "user, within 24 hours) returns the same call and never dials twice; the "
                "same key with a different body gets a 422.",
)


def _idempotency_key(request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if key and not _KEY.fullmatch(key):
        raise ValidationError({IDEMPOTENCY_HEADER: [
            "Use 1 to 200 printable characters without spaces, such as a UUID."]})
    return key


class CallListCreateApi(GenericAPIView):
    account_scoped = True  # an account-limited API token sees and places its accounts' calls
    serializer_class = CallSerializer
    queryset = Call.objects.select_related("account", "application", "placed_by",
                                           "placed_via_token")
    filterset_class = CallFilter  # the call log page and its CSV take the same parameters
    pagination_class = LogPagination

    def get_queryset(self):
        return limit_to_token_accounts(self.request, super().get_queryset())

    @extend_schema(responses=CallSerializer(many=True),
                   summary="List calls, newest first (the call log's filters)")
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            CallSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        request=CallCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            202: CallSerializer,
            200: OpenApiResponse(CallSerializer, description="A replay of an earlier request "
                                                            "with the same Idempotency-Key."),
            400: OpenApiResponse(description="Invalid input; `fields` names each problem, "
                                             "such as options.ringing_timer or to.number."),
            422: OpenApiResponse(description="The Idempotency-Key was used for a different "
                                             "request within 24 hours."),
        },
        summary="Place an outbound call (sent to the provider by a worker)",
    )
    def post(self, request):
        key = _idempotency_key(request)
        data = CallCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        account = values.get("account") or getattr(values.get("application"), "account", None)
        check_token_account(request, account.pk if account else None)
        try:
            call, replayed = services.call_place(
                actor=Actor.from_request(request),
                via=services.VIA_API,
                account=values.get("account"),
                application=values.get("application"),
                from_number=values.get("from_number", ""),
                random_from_number=values["random_from_number"],
                to=values["to"],
                flow=values["flow"],
                options=values["options"],
                tag=values["tag"],
                profile=values.get("profile"),
                idempotency_key=key,
            )
        except services.IdempotencyConflict as conflict:
            return Response(error_body("idempotency_conflict", str(conflict)),
                            status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        body = CallSerializer(call, context={"request": request}).data
        headers = {"Location": body["url"]}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
            return Response(body, status=status.HTTP_200_OK, headers=headers)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)


class CallDetailApi(APIView):
    account_scoped = True

    @extend_schema(responses=CallSerializer, summary="Read a call")
    def get(self, request, pk: int):
        call = get_object_or_404(limit_to_token_accounts(request, CallListCreateApi.queryset),
                                 pk=pk)
        return Response(CallSerializer(call, context={"request": request}).data)


class CallProfileListCreateApi(GenericAPIView):
    serializer_class = CallProfileSerializer
    queryset = CallProfile.objects.all()

    @extend_schema(
        responses=CallProfileSerializer(many=True),
        parameters=[OpenApiParameter("kind", str, description="Only this provider kind.")],
        summary="List call profiles",
    )
    def get(self, request):
        profiles = self.get_queryset()
        if request.query_params.get("kind"):
            profiles = profiles.filter(kind=request.query_params["kind"])
        page = self.paginate_queryset(profiles)
        return self.get_paginated_response(CallProfileSerializer(page, many=True).data)

    @extend_schema(request=CallProfileCreateSerializer, responses={201: CallProfileSerializer},
                   summary="Create a call profile")
    def post(self, request):
        data = CallProfileCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.call_profile_create(actor=Actor.from_request(request),
                                               **data.validated_data)
        return Response(CallProfileSerializer(profile).data, status=status.HTTP_201_CREATED,
                        headers={"Location": reverse("api_call_profile", args=[profile.pk])})


class CallProfileDetailApi(APIView):
    @extend_schema(responses=CallProfileSerializer, summary="Read a call profile")
    def get(self, request, pk: int):
        return Response(CallProfileSerializer(get_object_or_404(CallProfile, pk=pk)).data)

    @extend_schema(request=CallProfileUpdateSerializer, responses=CallProfileSerializer,
                   summary="Change a call profile (its provider kind stays)")
    def patch(self, request, pk: int):
        profile = get_object_or_404(CallProfile, pk=pk)
        data = CallProfileUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.call_profile_update(actor=Actor.from_request(request), profile=profile,
                                     **data.validated_data)
        return Response(CallProfileSerializer(profile).data)

    @extend_schema(responses={204: None}, summary="Delete a call profile")
    def delete(self, request, pk: int):
        profile = get_object_or_404(CallProfile, pk=pk)
        services.call_profile_delete(actor=Actor.from_request(request), profile=profile)
        return Response(status=status.HTTP_204_NO_CONTENT)
