"""The calls API: place, list and read calls; control a live call; a call's events; webhook
deliveries; call profiles. Views parse, call services or selectors, and answer.

Control answers 202 with the control event it recorded (the provider accepted; the call's
status follows from the provider's events), 409 when the call has ended or its provider and
state rule the action out, 400 naming a bad field, and 502 with the provider's own words
when it refuses."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import selectors
from calls.api.serializers import (
    CallCreateSerializer,
    CallEventSerializer,
    CallProfileCreateSerializer,
    CallProfileSerializer,
    CallProfileUpdateSerializer,
    CallSerializer,
    ControlResultSerializer,
    DashboardQuerySerializer,
    DashboardSerializer,
    DeliveryReplaySerializer,
    DtmfSerializer,
    ListenSerializer,
    StreamSerializer,
    TalkSerializer,
    TestCallCreateSerializer,
    TestCallOptionsSerializer,
    TransferSerializer,
    WebhookDeliverySerializer,
)
from calls.export import call_csv_response
from calls.filters import CallFilter, CallProfileFilter, DeliveryFilter
from calls.models import Call, CallEvent
from calls.services import control, placing, profiles
from calls.services.deliveries import delivery_replay, delivery_replay_summary
from calls.services.test_call import test_call_place
from portal.api.generics import CreateMixin, ListApi, ObjectApi
from portal.api.pagination import LogPagination, ReceivedPagination, StoryPagination
from portal.api.renderers import CsvExportMixin
from portal.api.schema import api_error
from portal.api.serializers import (
    NoBodySerializer,
    StrictSerializer,
    read_body,
)
from portal.roles import (
    AdminOnly,
    OperatorOnly,
    check_token_account,
    limit_to_token_accounts,
    token_account_ids,
)
from portal.services import Actor
from voiceapps.api.views import ACCOUNT_RETIRED, PROVIDER_ERROR, ProviderFailed
from voiceapps.models import CallProfile

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER, location=OpenApiParameter.HEADER, required=False, type=str,
    description="Up to 200 printable characters. Repeating a request with the same key (per "
                "user, within 24 hours) returns what the first one made and never does it "
                "twice (a call is never dialed twice); the same key with a different body "
                "gets a 422.",
)


BAD_FIELD = api_error("A bad or unknown parameter; `fields` names it.")
IDEMPOTENCY_KEY_REUSED = {422: api_error("The Idempotency-Key was used for a different request "
                                     "within 24 hours.")}


def idempotency_key(request) -> str:
    """The request's Idempotency-Key header, checked (400 naming it), or ""; calls and
    campaigns share it."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if key and not _KEY.fullmatch(key):
        raise ValidationError({IDEMPOTENCY_HEADER: [
            "Use 1 to 200 printable characters without spaces, such as a UUID."]})
    return key


class CallListCreateApi(ListApi):
    list_summary = "List calls, newest first (the call log's filters)"
    account_scoped = True  # an account-limited API token sees and places its accounts' calls
    serializer_class = CallSerializer
    queryset = selectors.call_list()
    filterset_class = CallFilter  # the call log page and its CSV take the same parameters
    pagination_class = LogPagination

    def get_queryset(self):
        return limit_to_token_accounts(self.request, super().get_queryset())

    @extend_schema(
        request=CallCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "The sandbox's demo flow",
                description="`make run`'s sandbox: its Demo application and first number (see "
                "GET /api/v1/applications and /api/v1/numbers for yours); a callee ending in "
                "0006 presses 1.",
                value={"application": 1, "from_number": "+447700900100",
                       "to": {"type": "phone", "number": "+447700900006"},
                       "flow": {"type": "application"}, "tag": {"ticket": "T-1"}},
                request_only=True,
            ),
            OpenApiExample(
                "An NCCO of its own, with options",
                value={"application": 1, "from_number": "+447700900100",
                       "to": {"type": "phone", "number": "+447700900000"},
                       "flow": {"type": "ncco", "ncco": [
                           {"action": "record"}, {"action": "talk", "text": "Hello"}]},
                       "options": {"ringing_timer": 30}},
                request_only=True,
            ),
        ],
        responses={
            202: OpenApiResponse(CallSerializer, description="The call, queued: a worker sends "
                                 "it to the provider. `Location` is its address: poll it, or "
                                 "receive its events by event forwarding."),
            200: OpenApiResponse(CallSerializer, description="A replay of an earlier request "
                                                            "with the same Idempotency-Key."),
            400: api_error("Invalid input; `fields` names each problem, such as "
                       "options.ringing_timer or to.number."),
            **ACCOUNT_RETIRED,
            **IDEMPOTENCY_KEY_REUSED,
        },
        summary="Place an outbound call (sent to the provider by a worker)",
    )
    def post(self, request):
        key = idempotency_key(request)
        values = read_body(CallCreateSerializer, request)
        account = values.get("account") or getattr(values.get("application"), "account", None)
        check_token_account(request, account.pk if account else None)
        call, replayed = placing.call_place(
            actor=Actor.from_request(request),
            via=placing.VIA_API,
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
        call = get_object_or_404(limit_to_token_accounts(request, selectors.call_list()), pk=pk)
        return Response(CallSerializer(call, context={"request": request}).data)


class CallProfileListCreateApi(CreateMixin, ListApi):
    list_summary = "List call profiles (the profiles page's filters)"
    create_summary = "Create a call profile"
    serializer_class = CallProfileSerializer
    create_serializer_class = CallProfileCreateSerializer
    created_route = "api_call_profile"
    queryset = CallProfile.objects.all()
    filterset_class = CallProfileFilter  # the profiles page takes the same parameters

    def create(self, actor: Actor, values: dict[str, Any]) -> CallProfile:
        return profiles.call_profile_create(actor=actor, **values)


class CallProfileDetailApi(ObjectApi):
    summaries = {
        "get": "Read a call profile",
        "patch": "Change a call profile (its provider kind stays)",
        "delete": "Delete a call profile",
    }
    serializer_class = CallProfileSerializer
    update_serializer_class = CallProfileUpdateSerializer
    queryset = CallProfile.objects.all()

    def change(self, actor: Actor, obj: CallProfile, values: dict[str, Any]) -> None:
        profiles.call_profile_update(actor=actor, profile=obj, **values)

    def remove(self, actor: Actor, obj: CallProfile) -> None:
        profiles.call_profile_delete(actor=actor, profile=obj)


# Logs ---------------------------------------------------------------------------------------

class CallEventListApi(GenericAPIView):
    account_scoped = True
    serializer_class = CallEventSerializer
    pagination_class = StoryPagination
    # The delivery's flag only: its row holds the raw body.
    queryset = CallEvent.objects.annotate(
        unverified=Coalesce(F("delivery__unsigned"), Value(False)))

    @extend_schema(responses=CallEventSerializer(many=True),
                   summary="A call's events, oldest first, duplicates and late ones marked")
    def get(self, request, pk: int):
        call = get_object_or_404(limit_to_token_accounts(request, Call.objects), pk=pk)
        page = self.paginate_queryset(self.get_queryset().filter(call=call))
        return self.get_paginated_response(CallEventSerializer(page, many=True).data)


class WebhookDeliveryListApi(ListApi):
    """Every webhook request as received; `outcome=rejected` lists the refused ones."""

    list_summary = "Webhook deliveries, newest first (operators)"
    permission_classes = [OperatorOnly]
    serializer_class = WebhookDeliverySerializer
    pagination_class = ReceivedPagination
    filterset_class = DeliveryFilter
    queryset = selectors.delivery_list()


# Call control -------------------------------------------------------------------------------

class ControlConflictError(APIException):
    """The action does not fit the call now (ended, not answered, not offered)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


CONTROL_RESPONSES = {
    202: ControlResultSerializer,
    400: api_error("A bad field; `fields` names it."),
    409: api_error("The call has ended, or its provider and state do not allow this action."),
    **PROVIDER_ERROR,
}


class CallControlApi(APIView):
    account_scoped = True
    """Shared by every control path: parse, call call_control, answer."""

    def control(self, request: Request, pk: int, action: str,
                shape: type[StrictSerializer] | None = NoBodySerializer) -> Response:
        """`shape` reads the body into the action's parameters; None: the caller read it."""
        calls = limit_to_token_accounts(request, Call.objects.select_related("account",
                                                                             "application"))
        call = get_object_or_404(calls, pk=pk)
        params = dict(read_body(shape, request)) if shape is not None else {}
        try:
            event = control.call_control(actor=Actor.from_request(request), call=call,
                                         action=action, **params)
        except control.ControlConflict as conflict:
            raise ControlConflictError(str(conflict)) from None
        except control.ControlFailed as failure:
            raise ProviderFailed(failure.message) from None
        call.refresh_from_db()
        return Response({
            "detail": f"{control.done_message(call.adapter_class, action)}.",
            "event": CallEventSerializer(event).data,
            "call": CallSerializer(call, context={"request": request}).data,
        }, status=status.HTTP_202_ACCEPTED)


def _control_path(
    action: str, summary: str, body: type[StrictSerializer] | None = None, *, stop: str = "",
    description: str | None = None,
) -> type[CallControlApi]:
    """A control path: POST runs `action` with `body`'s fields (None: it takes no body) and,
    where `stop` summarises it, DELETE runs `action`_stop."""

    class View(CallControlApi):
        @extend_schema(request=body, responses=CONTROL_RESPONSES, summary=summary,
                       description=description)
        def post(self, request: Request, pk: int) -> Response:
            return self.control(request, pk, action, body or NoBodySerializer)

        @extend_schema(request=None, responses=CONTROL_RESPONSES, summary=stop)
        def delete(self, request: Request, pk: int) -> Response:
            return self.control(request, pk, f"{action}_stop")

    if not stop:
        del View.delete
    View.__name__ = View.__qualname__ = f"Call{action.title()}Api"
    return View


CallHangupApi = _control_path(
    "hangup", "Hang up a call (a call not answered yet stops ringing)")
CallMuteApi = _control_path("mute", "Mute the call's leg (the callee is not heard)")
CallUnmuteApi = _control_path("unmute", "Unmute the call's leg")
CallEarmuffApi = _control_path(
    "earmuff", "Earmuff the call's leg (the callee hears nothing; Vonage, KPN, sandbox)")
CallUnearmuffApi = _control_path("unearmuff", "Let the call's leg hear again")
CallTransferApi = _control_path(
    "transfer", "Transfer a call to another flow", TransferSerializer,
    description='One of `{"ncco": [...]}`, `{"ncco_document": id}` or `{"url": "https://…"}`.')
CallTalkApi = _control_path(
    "talk", "Speak text into a call", TalkSerializer,
    stop="Stop speaking text into a call (Vonage, KPN, sandbox)")
CallStreamApi = _control_path(
    "stream", "Play an audio file into a call", StreamSerializer,
    stop="Stop playing audio into a call (Vonage, KPN, sandbox)")
CallDtmfApi = _control_path("dtmf", "Send DTMF digits into a call", DtmfSerializer)


class CallListenApi(CallControlApi):
    @extend_schema(request=ListenSerializer, responses=CONTROL_RESPONSES,
                   summary="Pause, silence or resume a call's audio stream (Voice Gateway)")
    def post(self, request: Request, pk: int) -> Response:
        data = read_body(ListenSerializer, request)
        return self.control(request, pk, f"listen_{data['status']}", shape=None)


# What the pages do besides lists ------------------------------------------------------------

class DashboardApi(APIView):
    """The dashboard's figures; a token limited to some accounts gets those accounts' only."""

    account_scoped = True

    @extend_schema(parameters=[DashboardQuerySerializer],
                   responses={200: DashboardSerializer, 400: BAD_FIELD},
                   summary="The dashboard's figures: the last 24 hours or 7 days of calls")
    def get(self, request: Request) -> Response:
        query = DashboardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        figures = selectors.dashboard_figures(range_key=query.validated_data["range"],
                                              account_ids=token_account_ids(request))
        return Response(DashboardSerializer(figures).data)


class CallExportApi(CsvExportMixin, GenericAPIView):
    """The call log's CSV, streamed, chosen by the log's filters (`CallFilter`)."""

    account_scoped = True
    queryset = selectors.call_list()
    filterset_class = CallFilter  # the log page, its CSV and GET /api/v1/calls take the same
    pagination_class = None  # every row; so `limit` and `cursor` are refused like typos

    def get_queryset(self):
        return limit_to_token_accounts(self.request, super().get_queryset())

    @extend_schema(
        filters=True,
        operation_id="calls_export_csv",
        responses={(200, "text/csv"): OpenApiTypes.STR,
                   (400, "application/json"): BAD_FIELD},
        summary="Export the call log as CSV, newest first (the log's filters)",
        description="Streamed: any number of rows, the columns of the page's Export CSV. A "
                    "parameter that is not one of the filters is refused (400 naming it): a "
                    "mistyped one would otherwise export more calls than meant.",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return call_csv_response(self.filter_queryset(self.get_queryset()))


class WebhookDeliveryReplayApi(APIView):
    """What the deliveries page's Replay button does (admins)."""

    permission_classes = [AdminOnly]

    @extend_schema(
        request=None,
        responses={200: DeliveryReplaySerializer,
                   400: api_error("An unknown field, or a delivery that cannot be applied (its "
                              "account is gone, its body is not an event).")},
        summary="Replay a webhook delivery: apply it again without checking its signature",
        description="It takes the path a live delivery takes; an event its call had already "
                    "is marked as a duplicate and changes nothing. Audited.",
    )
    def post(self, request: Request, pk: int) -> Response:
        read_body(NoBodySerializer, request)
        delivery = get_object_or_404(selectors.delivery_list(), pk=pk)
        event = delivery_replay(actor=Actor.from_request(request), delivery=delivery)
        if event is not None:
            event.unverified = delivery.unsigned  # what the events list annotates
        delivery = selectors.delivery_list().get(pk=pk)  # with the event it just applied
        return Response(DeliveryReplaySerializer({
            "detail": delivery_replay_summary(event), "event": event, "delivery": delivery,
        }).data)


class TestCallApi(APIView):
    """The dashboard's "Place a test call" (operators)."""

    permission_classes = [OperatorOnly]

    @extend_schema(responses=TestCallOptionsSerializer,
                   summary="What a test call can call: the sandbox's scripted callees and demos")
    def get(self, request: Request) -> Response:
        return Response(TestCallOptionsSerializer(selectors.test_call_options()).data)

    @extend_schema(
        request=TestCallCreateSerializer,
        responses={202: CallSerializer,
                   400: api_error("An unknown script or application (`fields` names it)."),
                   409: api_error("No sandbox demo to call through yet: set a sandbox up "
                                  "first.")},
        summary="Place a test call: the sandbox's demo flow to a scripted callee",
    )
    def post(self, request: Request) -> Response:
        data = read_body(TestCallCreateSerializer, request)
        application = data.get("application")
        call = test_call_place(actor=Actor.from_request(request),
                               callee=data.get("script", ""),
                               application_id=str(application) if application else "")
        body = CallSerializer(call, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})
