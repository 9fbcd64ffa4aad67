"""The recordings API: list (the call log's filters), one recording with its transcripts,
its audio (range requests answered), and an admin's delete."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.models import Call
from portal.api.filtering import paging_parameters
from portal.api.pagination import LogPagination
from portal.api.schema import api_error, filter_parameters
from portal.api.serializers import read_body, refuse_unknown_parameters
from portal.roles import AdminOnly, ViewerReadsAdminWrites, limit_to_token_accounts
from portal.services import Actor
from recordings import selectors
from recordings.api.serializers import (
    MediaRetentionSerializer,
    MediaRetentionUpdateSerializer,
    RecordingSerializer,
)
from recordings.filters import RecordingFilter
from recordings.models import MediaRetention, MediaState, Recording
from recordings.services import deletion, retention
from recordings.serving import recording_response
from voiceapps.models import ProviderAccount


def _recordings(request) -> QuerySet[Recording]:
    """The recordings the request may see: of its token's accounts' calls."""
    calls = limit_to_token_accounts(request, Call.objects.all())
    return selectors.recording_list(calls=calls)


class RecordingListApi(GenericAPIView):
    account_scoped = True
    serializer_class = RecordingSerializer
    pagination_class = LogPagination
    filter_backends: list = []  # the call log's FilterSet picks the calls, below

    @extend_schema(
        responses=RecordingSerializer(many=True),
        parameters=filter_parameters(RecordingFilter),
        summary="List recordings, newest first",
        description="Takes the call log's filter parameters (`GET /api/v1/calls`: status, "
        "account, since, until, transcript, …); they pick the calls whose "
        "recordings are listed. `call` lists one call's (its `recordings` address).",
    )
    def get(self, request):
        refuse_unknown_parameters(
            request, set(RecordingFilter.base_filters) | paging_parameters(self.paginator)
        )
        calls = RecordingFilter(
            request.query_params, queryset=limit_to_token_accounts(request, Call.objects.all())
        )
        if not calls.is_valid():
            raise ValidationError(calls.errors)
        rows = selectors.recording_list(calls=calls.qs)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            RecordingSerializer(page, many=True, context={"request": request}).data
        )


class RecordingDetailApi(APIView):
    account_scoped = True
    permission_classes = [ViewerReadsAdminWrites]

    @extend_schema(responses=RecordingSerializer, summary="A recording and its transcripts")
    def get(self, request, pk: int):
        recording = get_object_or_404(_recordings(request), pk=pk)
        return Response(RecordingSerializer(recording, context={"request": request}).data)

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(
                description="Deleted (its file and transcripts; the row stays, marked deleted)."
            )
        },
        summary="Delete a recording (admins; audited)",
    )
    def delete(self, request, pk: int):
        recording = get_object_or_404(_recordings(request), pk=pk)
        deletion.recording_delete(actor=Actor.from_request(request), recording=recording)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecordingDownloadApi(APIView):
    account_scoped = True

    def perform_content_negotiation(self, request, force: bool = False):
        # The answer is audio whatever Accept says (audio/*): only errors are rendered, as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, "audio/*"): OpenApiTypes.BINARY,
            (206, "audio/*"): OpenApiTypes.BINARY,
            404: api_error("Not stored (yet, or any more)."),
        },
        summary="A recording's audio; a Range header gets that part (206)",
    )
    def get(self, request, pk: int):
        recording = get_object_or_404(_recordings(request), pk=pk)
        if recording.state != MediaState.STORED:
            raise NotFound(f"Recording {pk} has no stored audio (yet, or any more).")
        return recording_response(
            request, recording, download=request.query_params.get("inline") != "1"
        )


class MediaRetentionApi(APIView):
    """An account's recording retention, as its page under Recordings sets it (admins); the
    hourly retention run applies it, and a change is audited."""

    account_scoped = True
    permission_classes = [AdminOnly]

    def _policy(self, request, account_id: int) -> MediaRetention:
        accounts = limit_to_token_accounts(request, ProviderAccount.objects.all(), field="pk")
        account = get_object_or_404(accounts, pk=account_id)
        return MediaRetention.objects.filter(account=account).first() or MediaRetention(
            account=account
        )

    @extend_schema(
        responses=MediaRetentionSerializer,
        summary="How long an account's recordings and transcripts are kept (admin)",
    )
    def get(self, request, account_id: int):
        return Response(MediaRetentionSerializer(self._policy(request, account_id)).data)

    @extend_schema(
        request=MediaRetentionUpdateSerializer, responses=MediaRetentionSerializer,
        summary="Change an account's recording retention; the next hourly run applies it "
        "(admin; audited)",
    )
    def patch(self, request, account_id: int):
        current = self._policy(request, account_id)
        data = read_body(MediaRetentionUpdateSerializer, request)
        values = {
            name: data.get(name, getattr(current, name))
            for name in MediaRetentionUpdateSerializer.Meta.fields
        }
        policy = retention.media_retention_update(
            actor=Actor.from_request(request), account=current.account, **values
        )
        return Response(MediaRetentionSerializer(policy).data)
