"""The campaigns API: campaigns, their contacts, actions and results; do-not-call lists.

No view here is `account_scoped`: an account-limited API token is refused by all of them
(portal/roles.py), since do-not-call lists may be global and a rehearsal runs on the
sandbox's account; see docs/decisions.md.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.api.views import (
    BAD_FIELD,
    IDEMPOTENCY_KEY_REUSED,
    IDEMPOTENCY_PARAMETER,
    idempotency_key,
)
from campaigns.api.serializers import (
    CampaignSerializer,
    CampaignUpdateSerializer,
    CampaignWriteSerializer,
    ContactImportSerializer,
    ContactsAddSerializer,
    ContactSerializer,
    NumbersAddSerializer,
    ProgressSerializer,
    SuppressedNumberSerializer,
    SuppressionListCreateSerializer,
    SuppressionListSerializer,
)
from campaigns.filters import CampaignFilter, ContactFilter, SuppressedNumberFilter
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Contact,
    HeldBack,
    SuppressedNumber,
    SuppressionList,
)
from campaigns.results import custom_columns, result_row
from campaigns.selectors import (
    campaign_board,
    campaign_contacts,
    campaign_preview,
    campaigns_with_progress,
)
from campaigns.services import campaigns, contacts, rehearsal, suppression, uploads
from portal.api.generics import CreateMixin, ListApi
from portal.api.parsers import JSONParser
from portal.api.responses import location
from portal.api.schema import api_error
from portal.api.serializers import NoBodySerializer, StrictSerializer, read_body
from portal.roles import ViewerReadsAdminWrites
from portal.services import Actor, StateConflict
from voiceapps.api.views import ACCOUNT_RETIRED, ACCOUNT_RETIRED_SENTENCE, provider_errors


def _campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("account", "application")


def _campaign_body(request: Request, campaign: Campaign) -> dict:
    """A campaign as every answer gives it: with its progress, as the list shows it."""
    campaigns_with_progress(campaigns=[campaign])
    return CampaignSerializer(campaign, context={"request": request}).data


# What creating or copying a campaign answers (_made_response): a campaign is made on its
# account, which must be in use.
MADE_RESPONSES = {
    201: OpenApiResponse(CampaignSerializer, description="The campaign, a draft; `Location` "
                         "is its address."),
    200: OpenApiResponse(CampaignSerializer, description="A replay of an earlier request with "
                         "the same Idempotency-Key."),
    **ACCOUNT_RETIRED,
    **IDEMPOTENCY_KEY_REUSED,
}


class CampaignListCreateApi(GenericAPIView):
    account_scoped = False
    serializer_class = CampaignSerializer
    queryset = _campaigns()
    filterset_class = CampaignFilter  # the list's page takes the same parameters

    @extend_schema(responses={200: CampaignSerializer(many=True), 400: BAD_FIELD},
                   summary="List campaigns (filtered as on the campaigns page: `q`, `status`)")
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        # The page's progress in one reading, as the list page's: not one per campaign.
        campaigns_with_progress(campaigns=page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=CampaignWriteSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[OpenApiExample(
            "Weekdays, office hours",
            description="On `make run`'s sandbox Demo application and its first number.",
            value={"name": "Renewal reminders", "application": 1,
                   "flow": {"type": "application"}, "from_numbers": ["+447700900100"],
                   "calls_per_second": "2", "max_concurrent": 5,
                   "windows": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
                   "retry_rules": {"busy": {"retries": 2, "delay_minutes": 10}},
                   "default_country": "NL"},
            request_only=True,
        )],
        responses=MADE_RESPONSES,
        summary="Create a campaign (a draft until started)",
    )
    def post(self, request):
        key = idempotency_key(request)
        values = read_body(CampaignWriteSerializer, request)
        return _made_response(request, *campaigns.campaign_create(
            actor=Actor.from_request(request), values=values, idempotency_key=key
        ))


def _made_response(request, campaign: Campaign, replayed: bool) -> Response:
    """A campaign made (201) or made already with this Idempotency-Key (200), and where it is."""
    body = _campaign_body(request, campaign)
    return Response(
        body,
        headers={"Location": body["url"]},
        status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED,
    )


# Start and rehearse refuse a campaign its contacts would not call (services._check_callable).
NOBODY_TO_CALL_SENTENCE = ("Nobody to call: it has no contacts, or each would be skipped "
                           "(`detail` says which); add contacts first.")
# Copy and rehearse make a campaign of this one's settings (services.own_settings_refused), and
# neither is done to a rehearsal: what refuses them is the campaign, not the request's fields.
NOT_OF_A_REHEARSAL_SENTENCE = ("The campaign is a rehearsal: copy or rehearse the campaign it "
                               "rehearses.")
SETTINGS_REFUSED_SENTENCE = ("Its settings no longer pass (say, a caller number no longer the "
                             "account's; `detail` names each): change them on the campaign, or "
                             "create a new one.")


def _status_conflict(*, on_retired_account: bool, starts: bool = False) -> dict:
    """The 409 of an action the campaign's status refuses (services.StateConflict), of its
    retired account where the action sends or moves calls onto one, and of its contacts where
    it starts: one status, one sentence."""
    sentence = ("The campaign's status does not allow this now; `detail` says why (say, a "
                "running campaign cannot start, or is changed only once paused).")
    if on_retired_account:
        sentence = f"{sentence} Or: {ACCOUNT_RETIRED_SENTENCE}"
    if starts:
        sentence = f"{sentence} Or: {NOBODY_TO_CALL_SENTENCE}"
    return {409: api_error(sentence)}


class CampaignDetailApi(APIView):
    account_scoped = False

    @extend_schema(responses=CampaignSerializer, summary="Read a campaign")
    def get(self, request, pk: int):
        return Response(_campaign_body(request, get_object_or_404(_campaigns(), pk=pk)))

    @extend_schema(
        request=CampaignUpdateSerializer,
        # 409 also when moved onto a retired account
        responses={200: CampaignSerializer, **_status_conflict(on_retired_account=True)},
        summary="Change a draft or paused campaign",
    )
    def patch(self, request, pk: int):
        campaign = get_object_or_404(_campaigns(), pk=pk)
        campaigns.campaign_update(
            actor=Actor.from_request(request), campaign=campaign,
            values=read_body(CampaignUpdateSerializer, request),
        )
        return Response(_campaign_body(request, campaign))

    @extend_schema(
        responses={
            204: None,
            409: api_error("The campaign, or a rehearsal of it, is running or paused: stop it "
                       "first."),
        },
        summary="Delete a draft, stopped or finished campaign with its contacts, attempts, "
        "results and rehearsals (its calls stay in the call log)",
    )
    def delete(self, request, pk: int):
        campaigns.campaign_delete(
            actor=Actor.from_request(request), campaign=get_object_or_404(Campaign, pk=pk)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreviewSerializer(serializers.Serializer):
    will_call = serializers.IntegerField(
        help_text="Contacts that would be called if it started now (what the board and "
        "`progress` name `to_call`).")
    skipped = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Contacts that would not be called, by reason: `invalid`, `duplicate`, "
        "`suppressed` (on a do-not-call list; the board's `do_not_call` while they wait), "
        "`no_window` (outside every window before the end; the board's `no_window` while they "
        "wait), `stopped`.")


class StartedSerializer(CampaignSerializer):
    """What Start answers: the campaign, and whom it started with."""

    started_with = PreviewSerializer(
        help_text="Whom Start counted as it started, in the preview's shape: the preview read "
        "earlier may differ (an upload, a do-not-call entry or a window closing since). Each "
        "contact is checked again when it is dialed.")

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "started_with"]
        read_only_fields = fields


def _action_view(action: str) -> type[APIView]:
    # Starting and resuming send calls on the campaign's account (refused if it is retired).
    sends = campaigns.TRANSITIONS[action][1] == CampaignStatus.RUNNING

    class CampaignActionApi(APIView):
        account_scoped = False

        @extend_schema(
            request=NoBodySerializer,
            responses={200: StartedSerializer if action == "start" else CampaignSerializer,
                       **_status_conflict(on_retired_account=sends, starts=action == "start")},
            summary=f"{action.capitalize()} a campaign",
            operation_id=f"campaigns_{action}",
        )
        def post(self, request, pk: int):
            read_body(NoBodySerializer, request)
            campaign, started_with = campaigns.campaign_transition(
                actor=Actor.from_request(request),
                action=action,
                campaign=get_object_or_404(Campaign, pk=pk),
            )
            body = _campaign_body(request, campaign)
            if started_with is not None:
                body["started_with"] = PreviewSerializer(started_with).data
            return Response(body)

    CampaignActionApi.__name__ = f"Campaign{action.capitalize()}Api"
    return CampaignActionApi


class CampaignRehearseApi(APIView):
    account_scoped = False

    @extend_schema(
        request=NoBodySerializer,
        responses={
            201: CampaignSerializer,
            409: api_error(f"{NOBODY_TO_CALL_SENTENCE} Or: {NOT_OF_A_REHEARSAL_SENTENCE} Or: "
                           f"{SETTINGS_REFUSED_SENTENCE} Or: there is no sandbox application "
                           "with a hosted flow and a number to rehearse on; run `manage.py "
                           "first_run` or add one on the Accounts page."),
            502: api_error("The sandbox refused the copy of the campaign's application; "
                           "`detail` has its words."),
        },
        summary="Rehearse a campaign on the sandbox: a started copy with the same contacts "
        "and rules (rehearsal_of names the campaign)",
    )
    def post(self, request, pk: int):
        read_body(NoBodySerializer, request)
        with provider_errors():
            made = rehearsal.campaign_rehearse(
                actor=Actor.from_request(request), campaign=get_object_or_404(Campaign, pk=pk)
            )
        body = _campaign_body(request, made)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


ACTION_VIEWS = {action: _action_view(action) for action in campaigns.TRANSITIONS}


# Copy ----------------------------------------------------------------------------------------


class CampaignCopySerializer(StrictSerializer):
    with_contacts = serializers.BooleanField(
        default=False,
        help_text="Copy its contacts too, as fresh rows waiting for their first call (invalid "
        "and duplicate rows stay skipped; do-not-call lists are checked again).",
    )


class CampaignCopyApi(APIView):
    account_scoped = False

    @extend_schema(
        request=CampaignCopySerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={**MADE_RESPONSES, 409: api_error(
            f"{ACCOUNT_RETIRED_SENTENCE} Or: {NOT_OF_A_REHEARSAL_SENTENCE} Or: "
            f"{SETTINGS_REFUSED_SENTENCE}")},
        summary="Copy a campaign: a draft named \"Copy of <name>\" with every setting, "
        "optionally with its contacts",
    )
    def post(self, request, pk: int):
        key = idempotency_key(request)
        campaign = get_object_or_404(Campaign, pk=pk)
        data = read_body(CampaignCopySerializer, request)
        return _made_response(request, *campaigns.campaign_copy(
            actor=Actor.from_request(request),
            campaign=campaign,
            with_contacts=data["with_contacts"],
            idempotency_key=key,
        ))


class _ContactsPageApi(GenericAPIView):
    # Pages of one campaign's contacts with their attempts: its contacts and its results,
    # narrowed by the filters of the campaign page's table (ContactFilter). A comment: a
    # docstring would describe each operation, the contacts' POST too.

    account_scoped = False
    queryset = Contact.objects.none()  # the campaign's, in contacts_page(): this names the model
    filterset_class = ContactFilter  # the page's table and results CSV take the same parameters

    def contacts_page(self, campaign: Campaign) -> list[Contact]:
        return self.paginate_queryset(self.filter_queryset(campaign_contacts(campaign=campaign)))


class CampaignContactsApi(_ContactsPageApi):
    serializer_class = ContactSerializer
    # A file upload, as on the page: Django counts no file against the JSON body's 2.5 MB.
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        responses={200: ContactSerializer(many=True), 400: BAD_FIELD},
        summary="A campaign's contacts, each with its attempts (filtered as on its page: "
        "`number`, `state`, `outcome`, `skip_reason`)",
    )
    def get(self, request, pk: int):
        page = self.contacts_page(get_object_or_404(Campaign, pk=pk))
        return self.get_paginated_response(ContactSerializer(page, many=True).data)

    @extend_schema(
        request=ContactsAddSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "A list",
                value={"contacts": [
                    {"number": "+31612345678", "variables": {"name": "Ann"}},
                    {"number": "+31 6 12345679", "timezone": "Europe/Amsterdam"}]},
                request_only=True,
            ),
            OpenApiExample("A CSV file in JSON",
                           value={"csv": "number,name\n+31612345678,Ann\n"},
                           request_only=True),
        ],
        # Every contact just added, not a page: given as a schema, since drf-spectacular
        # wraps a list in the view's pagination (GET's) whatever the method.
        responses={201: OpenApiResponse(
                       {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
                       description="Every contact of the list, as stored: a refused one is "
                       "kept skipped, with its `skip_reason` and `problem`."),
                   202: OpenApiResponse(ContactImportSerializer, description="The import of "
                                        "the CSV; `Location` is its progress."),
                   409: api_error("The campaign is stopped or finished: it calls no one again. "
                              "Copy it. Or it is a rehearsal, which calls its campaign's "
                              "contacts."),
                   **IDEMPOTENCY_KEY_REUSED},
        summary="Add contacts: a list (each checked, 201) or a whole CSV (202, an "
        "import whose progress GET …/imports/{id} shows)",
    )
    def post(self, request, pk: int):
        key = idempotency_key(request)
        campaign = get_object_or_404(Campaign, pk=pk)
        data = read_body(ContactsAddSerializer, request)
        actor = Actor.from_request(request)
        field = next(name for name in ("contacts", "csv", "file") if name in data)
        try:
            if field == "contacts":
                made = contacts.contacts_add(
                    actor=actor, campaign=campaign, entries=data["contacts"]
                )
                return Response(ContactSerializer(made, many=True).data,
                                status=status.HTTP_201_CREATED)
            upload, _ = contacts.contacts_import(
                actor=actor,
                campaign=campaign,
                content=(data["csv"] if field == "csv"
                         else uploads.read_upload(data["file"])),
                filename="api.csv" if field == "csv" else data["file"].name,
                idempotency_key=key,
            )
        except StateConflict:
            raise  # answered 409 by the API's error handler, not as the field's error
        except ValidationError as error:  # the service names the page's field, `file`
            raise ValidationError({field: error.messages}) from None
        return Response(
            ContactImportSerializer(upload).data,
            status=status.HTTP_202_ACCEPTED,
            headers=location(request, "api_campaign_import", campaign.pk, upload.pk),
        )


class CampaignImportApi(APIView):
    account_scoped = False

    @extend_schema(responses=ContactImportSerializer, summary="A contacts import's progress")
    def get(self, request, pk: int, import_id: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        upload = campaign.imports.filter(pk=import_id).first()
        if upload is None:
            raise NotFound(f"Campaign {pk} has no contacts import with id {import_id}.")
        return Response(ContactImportSerializer(upload).data)


class CampaignPreviewApi(APIView):
    account_scoped = False

    @extend_schema(
        responses=PreviewSerializer,
        summary="How many contacts will be called, and how many skipped by reason",
    )
    def get(self, request, pk: int):
        preview = campaign_preview(campaign=get_object_or_404(Campaign, pk=pk))
        return Response({"will_call": preview.will_call, "skipped": dict(preview.skipped)})


class RetrySerializer(serializers.Serializer):
    contact = serializers.IntegerField(source="pk")
    number = serializers.CharField(source="e164")
    at = serializers.DateTimeField(source="next_attempt_at")


class BoardSerializer(ProgressSerializer):
    """The board's figures, as the page shows them: a campaign's `progress` (its figures
    named alike) and more."""

    # Read from campaigns.selectors.Board.

    status = serializers.CharField(source="campaign.status")
    outcomes = serializers.DictField(child=serializers.IntegerField())
    attempts = serializers.IntegerField()
    next_retries = RetrySerializer(many=True)
    pace_achieved = serializers.FloatField(
        help_text="Calls per second over the last minute, since it last began dialing if later.")
    pace_set = serializers.DecimalField(
        max_digits=6, decimal_places=2, source="campaign.calls_per_second"
    )
    held_back = serializers.ChoiceField(
        choices=HeldBack.choices,
        help_text="What keeps the running campaign below its pace, as the scheduler's last "
        "tick found: its concurrency cap (`cap`), its account's calls waiting to be sent "
        "(`account_queue`) or too few contacts due (`few_due`); empty at its pace or when not "
        "running.",
    )
    held_back_text = serializers.CharField(help_text="The same in a sentence, as the page shows.")


class CampaignBoardApi(APIView):
    account_scoped = False

    @extend_schema(
        responses=BoardSerializer,
        summary="The live board: progress, calls in progress, outcomes, next retries, pace",
    )
    def get(self, request, pk: int):
        board = campaign_board(campaign=get_object_or_404(Campaign, pk=pk))
        return Response(BoardSerializer(board).data)


class ResultSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    row = serializers.IntegerField(allow_null=True)
    number = serializers.CharField()
    state = serializers.CharField()
    skip_reason = serializers.CharField()
    problem = serializers.CharField(
        allow_blank=True,
        help_text="Why the contact was refused (an `invalid` or `duplicate` skip_reason), in "
        "the words of the preview and the contacts table; \"\" for the others.",
    )
    disposition = serializers.CharField()
    attempts = serializers.IntegerField()
    last_call = serializers.IntegerField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    custom = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text="The campaign's custom columns (its uploads' extra columns, in upload order, "
        "then variables only contacts added through the API have), the same for every row: "
        "\"\" where this contact has none. The Results CSV has them as its last columns.",
    )


class CampaignResultsApi(_ContactsPageApi):
    serializer_class = ResultSerializer

    @extend_schema(
        responses={200: ResultSerializer(many=True), 400: BAD_FIELD},
        summary="One row per contact: final disposition, attempts, last call (filtered as on "
        "the campaign's page, as its Results CSV)",
    )
    def get(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        page, columns = self.contacts_page(campaign), custom_columns(campaign)
        rows = ResultSerializer([result_row(contact, columns) for contact in page], many=True)
        return self.get_paginated_response(rows.data)


class SuppressionListListCreateApi(CreateMixin, ListApi):
    account_scoped = False
    serializer_class = SuppressionListSerializer
    queryset = SuppressionList.objects.select_related("account")
    list_summary = "List do-not-call lists"
    create_serializer_class = SuppressionListCreateSerializer
    create_summary = "Create a do-not-call list, for one account or every account"
    created_route = "api_suppression_list"

    def create(self, actor: Actor, values: dict[str, Any]) -> SuppressionList:
        return suppression.suppression_list_create(actor=actor, **values)


class SuppressionListDetailApi(APIView):
    account_scoped = False

    @extend_schema(responses=SuppressionListSerializer, summary="Read a do-not-call list")
    def get(self, request, pk: int):
        return Response(
            SuppressionListSerializer(
                get_object_or_404(SuppressionList.objects.select_related("account"), pk=pk)
            ).data
        )


class NumbersAddedSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    problems = serializers.ListField(child=serializers.CharField())


class SuppressionListNumbersApi(ListModelMixin, GenericAPIView):
    account_scoped = False
    # A file upload, as on the page: Django counts no file against the JSON body's 2.5 MB.
    parser_classes = [JSONParser, MultiPartParser]
    serializer_class = SuppressedNumberSerializer
    filterset_class = SuppressedNumberFilter  # the list's page takes the same parameter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator asks too
            return SuppressedNumber.objects.none()
        return get_object_or_404(SuppressionList, pk=self.kwargs["pk"]).numbers.all()

    @extend_schema(
        responses={200: SuppressedNumberSerializer(many=True), 400: BAD_FIELD},
        summary="A do-not-call list's numbers, or whether a number is on it (`number`: "
        "international or digits, as on its page)",
    )
    def get(self, request, pk: int):
        return self.list(request)

    @extend_schema(
        request=NumbersAddSerializer,
        responses=NumbersAddedSerializer,
        summary="Add numbers to a do-not-call list, as a list or a file (each checked; bad "
        "ones named)",
    )
    def post(self, request, pk: int):
        listed = get_object_or_404(SuppressionList, pk=pk)
        given = read_body(NumbersAddSerializer, request)
        common = {
            "actor": Actor.from_request(request),
            "suppression_list": listed,
            "source": "api",
            "country": given["country"],
        }
        if "numbers" in given:
            added, problems = suppression.suppressed_numbers_add(numbers=given["numbers"], **common)
        else:
            added, problems = suppression.suppressed_numbers_upload(
                content=uploads.read_upload(given["file"]), filename=given["file"].name, **common
            )
        return Response({"added": added, "problems": problems})


# One number of a do-not-call list: read by viewers, removed by admins only, since removing
# it lets campaigns call someone who asked not to be called.
NOT_LISTED = api_error("No such list, or the number is not on it (`error` is `not_found`).")
NUMBER_PARAMETER = OpenApiParameter(
    "number",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The number in international format: +31201234567 (the + as %2B or as "
    "typed), 0031201234567 or 31201234567.",
)


class SuppressionListNumberApi(APIView):
    account_scoped = False
    permission_classes = [ViewerReadsAdminWrites]

    @extend_schema(
        parameters=[NUMBER_PARAMETER],
        responses={200: SuppressedNumberSerializer, 404: NOT_LISTED},
        summary="Whether a number is on a do-not-call list: its entry, or 404",
    )
    def get(self, request, pk: int, number: str):
        return Response(SuppressedNumberSerializer(_listed_number(pk, number)).data)

    @extend_schema(
        parameters=[NUMBER_PARAMETER],
        request=None,
        responses={204: OpenApiResponse(description="Removed (audited)."), 404: NOT_LISTED},
        summary="Remove a number from a do-not-call list (admins; audited): campaigns may "
        "call it again",
    )
    def delete(self, request, pk: int, number: str):
        suppression.suppressed_number_remove(
            actor=Actor.from_request(request), number=_listed_number(pk, number)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _listed_number(pk: int, number: str) -> SuppressedNumber:
    found = suppression.listed_number(get_object_or_404(SuppressionList, pk=pk), number)
    if found is None:
        raise NotFound(f"{number} is not on do-not-call list {pk}.")
    return found
