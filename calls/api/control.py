"""/api/v1/calls/{id}/hangup, /mute, /transfer, /talk, ...: the page's call control services.

Every action answers 202 with the control event it recorded (the provider accepted; the
call's status follows from the provider's events), 409 when the call has ended or its
provider and state rule the action out, 400 naming a bad field, and 502 with the provider's
own words when it refuses.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import control
from calls.api.logs import CallEventSerializer
from calls.api.serializers import CallSerializer
from calls.models import Call
from portal.api.serializers import NoBodySerializer, StrictSerializer
from portal.roles import limit_to_token_accounts
from portal.services import Actor
from voiceapps.api.serializers import ErrorSerializer
from voiceapps.api.views import PROVIDER_ERROR, ProviderFailed
from voiceapps.models import NccoDocument
from voiceapps.ncco.validator import TALK_TEXT_LIMIT


class ControlConflictError(APIException):
    """The action does not fit the call now (ended, not answered, not offered)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


# Shapes -------------------------------------------------------------------------------------

def _loop() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, help_text="Times to play: 1 by default, 0 until stopped or hung up.")


def _level() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=2, decimal_places=1, required=False, coerce_to_string=False,
        help_text="Volume from -1 to 1 in steps of 0.1 (Vonage, KPN, sandbox).")


class TransferSerializer(StrictSerializer):
    ncco = serializers.JSONField(
        required=False,
        help_text="An NCCO (array of actions) to run instead of the current flow; checked "
                  "like the NCCO editor's, placeholders filled for the call. Vonage and the "
                  "sandbox.")
    ncco_document = serializers.PrimaryKeyRelatedField(
        queryset=NccoDocument.objects.all(), required=False,
        help_text="A saved NCCO document: its latest version, filled in for the call.")
    url = serializers.CharField(
        required=False,
        help_text="A URL returning the new NCCO (Vonage, KPN, sandbox) or jambonz verbs "
                  "(Voice Gateway, as the new call_hook).")


class TalkSerializer(StrictSerializer):
    text = serializers.CharField(max_length=TALK_TEXT_LIMIT, trim_whitespace=False)
    language = serializers.CharField(required=False,
                                     help_text="BCP-47 tag such as en-US.")
    style = serializers.IntegerField(required=False,
                                     help_text="Vonage voice style of the language.")
    loop = _loop()
    level = _level()


class StreamSerializer(StrictSerializer):
    stream_url = serializers.CharField(help_text="An audio file URL (MP3 or WAV).")
    loop = _loop()
    level = _level()


class DtmfSerializer(StrictSerializer):
    digits = serializers.CharField(
        trim_whitespace=False,
        help_text="0-9, * and #; Vonage, KPN and the sandbox also take p (a 500 ms pause).")


class ListenSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=["pause", "silence", "resume"],
        help_text="Voice Gateway: pause, silence or resume the call's listen stream.")


class ControlResultSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was done, in a sentence.")
    event = CallEventSerializer(help_text="The control event on the call's timeline.")
    call = CallSerializer()


CONTROL_RESPONSES = {
    202: ControlResultSerializer,
    400: OpenApiResponse(ErrorSerializer, description="A bad field; `fields` names it."),
    409: OpenApiResponse(ErrorSerializer, description="The call has ended, or its provider "
                                                      "and state do not allow this action."),
    **PROVIDER_ERROR,
}


# Views --------------------------------------------------------------------------------------

class CallControlApi(APIView):
    """Shared by every control path: parse, call call_control, answer."""

    account_scoped = True

    def control(self, request: Request, pk: int, action: str,
                shape: type[StrictSerializer] | None = NoBodySerializer) -> Response:
        """`shape` reads the body into the action's parameters; None: the caller read it."""
        calls = limit_to_token_accounts(request, Call.objects.select_related("account",
                                                                             "application"))
        call = get_object_or_404(calls, pk=pk)
        params = {}
        if shape is not None:
            data = shape(data=request.data)
            data.is_valid(raise_exception=True)
            params = dict(data.validated_data)
        try:
            event = control.call_control(actor=Actor.from_request(request), call=call,
                                         action=action, **params)
        except control.ControlConflict as conflict:
            raise ControlConflictError(str(conflict)) from None
        except control.ControlFailed as failure:
            raise ProviderFailed(failure.message) from None
        call.refresh_from_db()
        return Response({
            "detail": f"{control.DONE[action]}.",
            "event": CallEventSerializer(event).data,
            "call": CallSerializer(call, context={"request": request}).data,
        }, status=status.HTTP_202_ACCEPTED)


def _one_click(action: str, summary: str) -> type[CallControlApi]:
    """A path that takes no body: hangup, mute, unmute, earmuff, unearmuff."""

    class View(CallControlApi):
        @extend_schema(request=None, responses=CONTROL_RESPONSES, summary=summary)
        def post(self, request: Request, pk: int) -> Response:
            return self.control(request, pk, action)

    View.__name__ = View.__qualname__ = f"Call{action.title()}Api"
    return View


CallHangupApi = _one_click(
    "hangup", "Hang up a call (a call not answered yet stops ringing)")
CallMuteApi = _one_click("mute", "Mute the call's leg (the callee is not heard)")
CallUnmuteApi = _one_click("unmute", "Unmute the call's leg")
CallEarmuffApi = _one_click(
    "earmuff", "Earmuff the call's leg (the callee hears nothing; Vonage, KPN, sandbox)")
CallUnearmuffApi = _one_click("unearmuff", "Let the call's leg hear again")


class CallTransferApi(CallControlApi):
    @extend_schema(request=TransferSerializer, responses=CONTROL_RESPONSES,
                   summary="Transfer a call to another flow",
                   description='One of `{"ncco": [...]}`, `{"ncco_document": id}` or '
                               '`{"url": "https://…"}`.')
    def post(self, request: Request, pk: int) -> Response:
        return self.control(request, pk, "transfer", TransferSerializer)


class CallTalkApi(CallControlApi):
    @extend_schema(request=TalkSerializer, responses=CONTROL_RESPONSES,
                   summary="Speak text into a call")
    def post(self, request: Request, pk: int) -> Response:
        return self.control(request, pk, "talk", TalkSerializer)

    @extend_schema(request=None, responses=CONTROL_RESPONSES,
                   summary="Stop speaking text into a call (Vonage, KPN, sandbox)")
    def delete(self, request: Request, pk: int) -> Response:
        return self.control(request, pk, "talk_stop")


class CallStreamApi(CallControlApi):
    @extend_schema(request=StreamSerializer, responses=CONTROL_RESPONSES,
                   summary="Play an audio file into a call")
    def post(self, request: Request, pk: int) -> Response:
        return self.control(request, pk, "stream", StreamSerializer)

    @extend_schema(request=None, responses=CONTROL_RESPONSES,
                   summary="Stop playing audio into a call (Vonage, KPN, sandbox)")
    def delete(self, request: Request, pk: int) -> Response:
        return self.control(request, pk, "stream_stop")


class CallDtmfApi(CallControlApi):
    @extend_schema(request=DtmfSerializer, responses=CONTROL_RESPONSES,
                   summary="Send DTMF digits into a call")
    def post(self, request: Request, pk: int) -> Response:
        return self.control(request, pk, "dtmf", DtmfSerializer)


class CallListenApi(CallControlApi):
    @extend_schema(request=ListenSerializer, responses=CONTROL_RESPONSES,
                   summary="Pause, silence or resume a call's audio stream (Voice Gateway)")
    def post(self, request: Request, pk: int) -> Response:
        data = ListenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self.control(request, pk, f"listen_{data.validated_data['status']}", shape=None)
