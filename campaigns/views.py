"""Campaign pages (operators change, viewers watch). Views parse and call services."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from calls.views import live
from campaigns import results
from campaigns.filters import CampaignFilter, ContactFilter, SuppressedNumberFilter
from campaigns.forms import (
    CampaignForm,
    ContactUploadForm,
    SuppressedNumberForm,
    SuppressedUploadForm,
    SuppressionListForm,
    rule_rows,
)
from campaigns.models import (
    Campaign,
    CampaignStatus,
    ContactImport,
    ImportStatus,
    SuppressionList,
)
from campaigns.selectors import (
    TABLE_ATTEMPT_FIELDS,
    TABLE_CONTACT_FIELDS,
    Board,
    Preview,
    campaign_board,
    campaign_contacts,
    campaign_contacts_table,
    campaign_preview,
    campaigns_with_progress,
    contacts_with_no_window,
    suppression_lists,
)
from campaigns.services import campaigns, contacts, suppression, uploads
from campaigns.services import rehearsal as rehearsal_service
from campaigns.services.campaigns import TRANSITIONS
from portal.models import Role
from portal.params import filtered_page, filters_refused, next_path
from portal.roles import role_required
from portal.services import Actor
from voiceapps import phone
from voiceapps.providers.base import ProviderError

# How often the board asks for news, as the call log does: changes show within 2 s.
BOARD_INTERVAL_MS = 1000


def _list_context(request: HttpRequest) -> dict:
    """The campaigns list's page, narrowed by CampaignFilter (its page, its live table and the
    API read the same parameters), each row with its progress (campaigns_progress: the same
    queries for 50 rows as for 1), and the digest of what its table shows (`page_state`)."""
    found = filtered_page(
        request,
        CampaignFilter(request.GET,
                       queryset=Campaign.objects.select_related("account", "rehearsal_of")),
        per_page=50,
    )
    page = found["page"]
    campaigns_with_progress(campaigns=list(page.object_list))
    return {
        "page": page,
        "filter": found["filter"],
        "filtered": found["filtered"],
        "poll_query": found["poll_query"],
        "page_state": _table_state(page, found["poll_query"]),
        "live_interval_ms": BOARD_INTERVAL_MS,
    }


def _shown(row: Model, fields: tuple[str, ...]) -> tuple:
    """`fields` of `row`, for a digest of what a fragment shows of it."""
    return tuple(getattr(row, field) for field in fields)


def _page_digest(page: Page, poll_query: str, row: Callable[[Model], tuple]) -> str:
    """A digest of what a live table shows, which its page sends back at each poll (answered
    204 while it is unchanged): the filters and page asked for, the pager, and each row as
    `row` reads it."""
    return live.digest([poll_query, page.number, page.paginator.num_pages,
                        *(row(item) for item in page.object_list)])


# What the campaigns list's table (campaign_list.html#table) shows of a campaign, besides its
# rehearsal's and account's names and its progress: a column added to the table is added
# here too, or a change to it would wait for the next change to another.
LIST_ROW_FIELDS = ("pk", "name", "status", "rehearsal_of_id", "calls_per_second",
                   "max_concurrent", "created_at")


def _table_state(page: Page, poll_query: str) -> str:
    """The digest (_page_digest) of the campaigns list's table: each row's LIST_ROW_FIELDS, its
    rehearsal's and account's names and its progress figures."""
    return _page_digest(page, poll_query, lambda row: (
        _shown(row, LIST_ROW_FIELDS),
        row.rehearsal_of.name if row.rehearsal_of else None, row.account.name,
        row.progress.finished_percent, row.progress.to_call, row.progress.skipped,
        row.progress.do_not_call, row.progress.no_window, row.progress.in_progress,
    ))


@role_required(Role.VIEWER)
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/campaign_list.html", _list_context(request))


@live.polled(Role.VIEWER)
def campaign_list_live(request: HttpRequest) -> HttpResponse:
    """The list's table alone, which its page asks for every second (htmx) with the digest of
    what it shows: 204 when the rows read now show the same, else the new table. The rows and
    their progress (a shared reading) are read either way; an unchanged table is not rendered
    nor sent, nor swapped in by the browser."""
    context = _list_context(request)
    return live.answer_unless_shown(request, context["page_state"], lambda: render(
        request, "campaigns/campaign_list.html#table", context))


def _form_page(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    # A GET with values is the form refreshed for another application (its caller numbers).
    refreshed = request.GET if request.method == "GET" and request.GET else None
    form = CampaignForm(request.POST or None, campaign=campaign, refresh_from=refreshed)
    windows, retries = rule_rows(campaign, request.POST or None)
    # Each is validated, so every row shows its errors at once.
    valid = [form.is_valid(), windows.is_valid(), retries.is_valid()]
    if request.method == "POST" and all(valid):
        actor = Actor.from_request(request)
        values = form.values(windows, retries)
        saved = form.saved(lambda: (
            campaigns.campaign_create(actor=actor, values=values)[0]
            if campaign is None
            else campaigns.campaign_update(actor=actor, campaign=campaign, values=values)))
        if saved is not None:
            messages.success(request, f"Campaign “{saved.name}” saved.")
            return redirect("campaign_detail", pk=saved.pk)
    return render(
        request,
        "campaigns/campaign_form.html",
        {"form": form, "windows": windows, "retries": retries, "campaign": campaign},
    )


@role_required(Role.OPERATOR)
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@role_required(Role.OPERATOR)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, get_object_or_404(Campaign, pk=pk))


# What the board shows of an import in progress: not its `content`, the uploaded CSV itself
# (a few MB at 100,000 rows), which every poll of every viewer read while it ran.
BOARD_IMPORT_FIELDS = ("filename", "total_rows", "processed_rows")
# What the page shows of a rehearsal.
PAGE_REHEARSAL_FIELDS = ("created_at", "status")


def _board_context(request: HttpRequest, campaign: Campaign, board: Board) -> dict:
    # With the campaign's id, which the related manager reads of each import it gives.
    imports = list(campaign.imports.filter(
        status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING)
    ).only("campaign_id", *BOARD_IMPORT_FIELDS))
    return {
        "campaign": campaign,
        "board": board,
        "imports": imports,
        "board_state": _board_state(board, imports),
        "live_interval_ms": BOARD_INTERVAL_MS,
        "can_edit": request.user.has_role(Role.OPERATOR),
    }


def _board_state(board: Board, imports: list[ContactImport]) -> str:
    """A digest of what the board (campaign_detail.html#board) shows, which its poll sends back
    (`page_state`), answered 204 while it is unchanged: the campaign's status and pace set,
    the held-back sentence, every figure of the board's reading (`figures()`: counts by state,
    which make the progress, outcomes, attempts, calls in progress, pace achieved) and each
    import's BOARD_IMPORT_FIELDS. A figure added to Board is in it by itself; the campaign's
    fields and a retry's are listed by hand: one the board starts showing is added here too,
    or a change to it would wait for the next change to another."""
    campaign = board.campaign
    figures = {
        **board.figures(),
        "next_retries": [(contact.e164, contact.next_attempt_at)
                         for contact in board.next_retries],
    }
    return live.digest([
        campaign.status,
        campaign.calls_per_second,
        board.held_back_text,
        *figures.items(),
        *(_shown(upload, BOARD_IMPORT_FIELDS) for upload in imports),
    ])


def _contacts_context(request: HttpRequest, campaign: Campaign, board: Board) -> dict:
    """The contacts table's page, narrowed by ContactFilter (the page's form, its live poll and
    the results CSV read the same parameters). Unfiltered, it is paged by the board's shared
    reading (one a second per campaign), which has already counted the contacts: a COUNT of
    100,000 rows for every poll of every viewer's table is not paid again. At worst a poll is a
    second behind an import, as the board is; the page an upload leads to is not
    (campaign_board_forget). A filtered table counts what it selects."""
    found = filtered_page(
        request,
        ContactFilter(request.GET, queryset=campaign_contacts_table(campaign=campaign)),
        per_page=50,
        count=board.total,
    )
    contacts_with_no_window(campaign=campaign, contacts=list(found["page"].object_list))
    return {
        "campaign": campaign,
        "contacts": found["page"],
        "contact_filter": found["filter"],
        "contacts_filtered": found["filtered"],
        "contacts_query": found["query"],
        "contacts_poll_query": found["poll_query"],
        "contacts_state": _contacts_state(found["page"], found["poll_query"]),
        "live_interval_ms": BOARD_INTERVAL_MS,
    }


def _contacts_state(page: Page, poll_query: str) -> str:
    """The digest (_page_digest) of the contacts table (campaign_detail.html#contacts): each
    row's TABLE_CONTACT_FIELDS, whether it is on a do-not-call list now or has no window
    before the end, and its attempts' TABLE_ATTEMPT_FIELDS. A field the rows read beyond these
    would be a query a row, so a column added to the table is named there, and is in the
    digest by that."""
    return _page_digest(page, poll_query, lambda contact: (
        contact.pk, _shown(contact, TABLE_CONTACT_FIELDS), contact.on_do_not_call,
        contact.no_window,
        tuple(_shown(attempt, TABLE_ATTEMPT_FIELDS) for attempt in contact.table_attempts),
    ))


@role_required(Role.VIEWER)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # The account is joined for whether it is retired; the page shows nothing else of it.
    campaign = get_object_or_404(
        Campaign.objects.select_related("rehearsal_of", "account"), pk=pk)
    board = campaign_board(campaign=campaign)
    rehearsals = list(campaign.rehearsals.only(*PAGE_REHEARSAL_FIELDS))
    account_refusal = "" if campaign.has_ended else campaigns.account_refusal(campaign=campaign)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            **_board_context(request, campaign, board),
            **_contacts_context(request, campaign, board),
            "upload_form": ContactUploadForm(),
            # Only what the campaign can do now: no Pause on a draft, no Start once running,
            # no Start nor Resume on a retired account (the page says why instead).
            "actions": [
                action
                for action, (allowed_from, to) in TRANSITIONS.items()
                if campaign.status in allowed_from
                and not (account_refusal and to == CampaignStatus.RUNNING)
            ],
            "account_refusal": account_refusal,
            "rehearsals": rehearsals,
            # Edit and Delete are offered as the services allow them (campaign_update,
            # campaign_delete).
            "editable": campaign.status in campaigns.EDITABLE,
            "deletable": all(
                c.status in campaigns.DELETABLE for c in (campaign, *rehearsals)
            ),
        },
    )


@live.polled(Role.VIEWER)
def campaign_board_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The board alone, which the detail page asks for every second (htmx)."""
    return _page_part(request, pk, "board", _board_context)


@live.polled(Role.VIEWER)
def campaign_contacts_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The contacts table's page alone, which the detail page asks for as it does the board."""
    return _page_part(request, pk, "contacts", _contacts_context)


def _page_part(
    request: HttpRequest,
    pk: int,
    part: str,
    context: Callable[[HttpRequest, Campaign, Board], dict],
) -> HttpResponse:
    """One partial of the campaign's page, from the same figures the whole page is made of,
    sent with the digest of what it shows (its context's `{part}_state`): 204 while the page
    already shows the same. What it shows is read either way; an unchanged part is not
    rendered nor sent, nor swapped in by the browser."""
    campaign = get_object_or_404(Campaign, pk=pk)
    found = context(request, campaign, campaign_board(campaign=campaign))
    return live.answer_unless_shown(request, found[f"{part}_state"], lambda: render(
        request, f"campaigns/campaign_detail.html#{part}", found))


@role_required(Role.OPERATOR)
@require_POST
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if action not in TRANSITIONS:
        messages.error(request, f"Unknown action {action[:20]}.")
    else:
        try:
            campaign, started_with = campaigns.campaign_transition(
                actor=Actor.from_request(request), campaign=campaign, action=action
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            done = f"Campaign {campaign.get_status_display().lower()}"
            messages.success(request, f"{done}: {_started_with(started_with)}." if started_with
                             else f"{done}.")
    return redirect("campaign_detail", pk=pk)


def _started_with(preview: Preview) -> str:
    """Whom Start found, which the preview read earlier may not have: "3 contacts to call,
    1 skipped (1 do-not-call)"."""
    skipped = (f"{preview.skipped_total} skipped ({preview.skipped_words()})"
               if preview.skipped_total else "none skipped")
    return f"{preview.will_call} contact{pluralize(preview.will_call)} to call, {skipped}"


@role_required(Role.OPERATOR)
@require_POST
def campaign_rehearse(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        rehearsal = rehearsal_service.campaign_rehearse(
            actor=Actor.from_request(request), campaign=campaign
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("campaign_detail", pk=pk)
    except ProviderError as error:  # the sandbox refused the copy of the application
        messages.error(request, error.message)
        return redirect("campaign_detail", pk=pk)
    messages.success(request, f"Rehearsing “{campaign.name}” on the sandbox.")
    return redirect("campaign_detail", pk=rehearsal.pk)


# Copy and delete ------------------------------------------------------------------------------

Made = TypeVar("Made")


def _unless_refused(request: HttpRequest, run: Callable[[], Made], prefix: str = "") -> Made | None:
    """What the service `run` returns; None when it refuses, its reason flashed."""
    try:
        return run()
    except ValidationError as error:
        messages.error(request, prefix + " ".join(error.messages))
        return None


@role_required(Role.OPERATOR)
@require_POST
def campaign_copy(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    made = _unless_refused(request, lambda: campaigns.campaign_copy(
        actor=Actor.from_request(request),
        campaign=campaign,
        with_contacts=request.POST.get("with_contacts") == "on",
    )[0], "No copy was made: ")
    if made is None:
        return redirect("campaign_detail", pk=pk)
    contacts = made.contacts.count()
    with_contacts = f" with its {contacts} contact{pluralize(contacts)}" if contacts else ""
    end_gone = "; its end had passed, so it has none" if made.ends_at != campaign.ends_at else ""
    messages.success(request, f"Copied “{campaign.name}” as this draft{with_contacts}{end_gone}. "
                              "Check its settings, then start it.")
    return redirect("campaign_detail", pk=made.pk)


@role_required(Role.OPERATOR)
@require_POST
def campaign_delete(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    deleted = _unless_refused(request, lambda: campaigns.campaign_delete(
        actor=Actor.from_request(request), campaign=campaign))
    if deleted is None:
        return redirect("campaign_detail", pk=pk)
    rehearsals = deleted.rehearsals
    messages.success(
        request,
        f"Campaign “{campaign.name}” deleted with its {deleted.contacts} "
        f"contact{pluralize(deleted.contacts)}"
        + (f" and {rehearsals} rehearsal{pluralize(rehearsals)}" if rehearsals else "")
        + "; its calls stay in the call log.",
    )
    return redirect("campaign_list")


@role_required(Role.OPERATOR)
@require_POST
def campaign_upload(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = ContactUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            made, _ = contacts.contacts_import(
                actor=Actor.from_request(request),
                campaign=campaign,
                content=uploads.read_upload(upload),
                filename=upload.name,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                (
                    f"{made.accepted_rows} contact{pluralize(made.accepted_rows)} added, "
                    f"{made.refused_rows} row{pluralize(made.refused_rows)} refused (see the "
                    "contacts list)."
                    if made.status == ImportStatus.DONE
                    else f"{made.total_rows} rows are being imported; see the progress bar."
                ),
            )
    else:
        messages.error(request, "Choose a CSV file to upload.")
    return redirect("campaign_detail", pk=pk)


@role_required(Role.VIEWER)
def campaign_preview_page(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    preview = campaign_preview(campaign=campaign)
    if request.GET.get("format") == "csv":
        return results.preview_csv(campaign, preview)
    return render(request, "campaigns/campaign_preview.html", {
        "campaign": campaign,
        "preview": preview,
        # Its called contacts are no longer in the preview: an ended one says what was done.
        "board": campaign_board(campaign=campaign) if campaign.has_ended else None,
        # The way on: Start where it would start, else why not (as Start would refuse it).
        "start_refusal": campaigns.start_refusal(campaign=campaign, preview=preview),
        "can_edit": request.user.has_role(Role.OPERATOR),
    })


@role_required(Role.VIEWER)
def campaign_results_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The results of the contacts the page's filters select (its link carries them)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    filters = ContactFilter(request.GET, queryset=campaign_contacts(campaign=campaign))
    if not filters.is_valid():
        return filters_refused(filters)
    return results.results_csv(campaign, filters.qs)


# Do-not-call lists -------------------------------------------------------------------------


@role_required(Role.VIEWER)
def suppression_list_list(request: HttpRequest) -> HttpResponse:
    form = SuppressionListForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_role(Role.OPERATOR):
            return render(request, "403.html", status=403)
        if form.is_valid():
            made = form.saved(lambda: suppression.suppression_list_create(
                actor=Actor.from_request(request), **form.cleaned_data))
            if made is not None:
                return redirect("suppression_list_detail", pk=made.pk)
    return render(
        request,
        "campaigns/suppression_list_list.html",
        {
            "page": Paginator(suppression_lists(), 50).get_page(request.GET.get("page")),
            "form": form,
        },
    )


@role_required(Role.VIEWER)
def suppression_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A list's numbers, searched ("Is this number on the list?"); operators add numbers, one
    typed (the `add` form) or a file; admins remove them (suppression_list_number_remove)."""
    listed = get_object_or_404(SuppressionList.objects.select_related("account"), pk=pk)
    upload_form = SuppressedUploadForm()
    add_form = SuppressedNumberForm(prefix="add")
    if request.method == "POST":
        if not request.user.has_role(Role.OPERATOR):
            return render(request, "403.html", status=403)
        if "add-number" in request.POST:  # the typed number (the add form, prefix "add")
            add_form = SuppressedNumberForm(request.POST, prefix="add")
            if _number_added(request, listed, add_form):
                return redirect("suppression_list_detail", pk=pk)
        else:
            upload_form = SuppressedUploadForm(request.POST, request.FILES)
            if _numbers_uploaded(request, listed, upload_form):
                return redirect("suppression_list_detail", pk=pk)
    found = filtered_page(
        request,
        SuppressedNumberFilter(request.GET, queryset=listed.numbers.all()),
        per_page=100,
    )
    return render(
        request,
        "campaigns/suppression_list_detail.html",
        {
            "list": listed,
            # A search box above the table, not the folded filter bar (list_page's `filter`):
            # the one question people bring to this page is "is this number on it?".
            "search": found["filter"],
            "page": found["page"],
            "filtered": found["filtered"],
            "form": upload_form,
            "add_form": add_form,
        },
    )


def _numbers_uploaded(
    request: HttpRequest, listed: SuppressionList, form: SuppressedUploadForm
) -> bool:
    if not form.is_valid():
        return False
    try:
        added, problems = suppression.suppressed_numbers_upload(
            actor=Actor.from_request(request),
            suppression_list=listed,
            content=uploads.read_upload(form.cleaned_data["file"]),
            country=form.cleaned_data["country"],
            filename=form.cleaned_data["file"].name,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return False
    messages.success(request, f"{added} number{pluralize(added)} added.")
    for problem in problems[:20]:
        messages.warning(request, problem)
    return True


def _number_added(
    request: HttpRequest, listed: SuppressionList, form: SuppressedNumberForm
) -> bool:
    done = form.is_valid() and form.saved(lambda: suppression.suppressed_number_add(
        actor=Actor.from_request(request), suppression_list=listed, **form.cleaned_data))
    if not done:
        return False
    e164, added = done
    if added:
        messages.success(request, f"{phone.international(e164)} added: no campaign "
                                  f"{'of ' + listed.account.name + ' ' if listed.account else ''}"
                                  "will call it.")
    else:
        messages.info(request, f"{phone.international(e164)} is on this list already.")
    return True


@role_required(Role.ADMIN)
@require_POST
def suppression_list_number_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """An admin takes the posted `number` off the list (the row's button, confirmed first)."""
    listed = get_object_or_404(SuppressionList, pk=pk)
    number = suppression.listed_number(listed, request.POST.get("number", ""))
    if number is None:
        messages.error(request, "That number is not on this list; nothing was removed.")
    else:
        suppression.suppressed_number_remove(actor=Actor.from_request(request), number=number)
        messages.success(request, f"{phone.international(number.e164)} removed from "
                                  f"{listed.name}: campaigns may call it again.")
    return redirect(next_path(request, reverse("suppression_list_detail", args=[pk])))
