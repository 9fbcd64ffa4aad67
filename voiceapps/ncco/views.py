"""NCCO pages: the list, the editor (create and edit), history with diff and restore, delete.

Viewers read everything; operators save, restore and delete.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.models import Role
from portal.params import filtered_page, parse_int
from portal.roles import role_required
from portal.services import Actor
from voiceapps import selectors
from voiceapps.filters import NccoDocumentFilter
from voiceapps.hooks import TOKEN_PLACEHOLDER, answer_url, shown_url
from voiceapps.models import NccoDocument, NccoVersion
from voiceapps.ncco import services
from voiceapps.ncco.forms import NccoForm
from voiceapps.ncco.validator import NccoIssue


@role_required(Role.VIEWER)
def ncco_list(request: HttpRequest) -> HttpResponse:
    filters = NccoDocumentFilter(request.GET, queryset=selectors.ncco_document_list())
    context = filtered_page(request, filters, per_page=25)
    page = context["page"]
    ids = [document.pk for document in page]
    served = selectors.ncco_document_applications(document_ids=ids)
    routed = selectors.ncco_menus_routing_to(document_ids=ids)
    for document in page:  # the template's rows are the page's objects
        document.serving_applications = served.get(document.pk, [])
        document.routing_menus = routed.get(document.pk, [])
    return render(request, "voiceapps/ncco_list.html", context)


@role_required(Role.OPERATOR)
def ncco_create(request: HttpRequest) -> HttpResponse:
    start = request.GET.get("start", "")
    menu_url = _menu_url_for(None)
    starters = services.starters(menu_event_url=menu_url)
    initial = {"content": next((s.text for s in starters if s.key == start), "[\n  \n]")}
    form = NccoForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = form.saved(lambda: services.ncco_document_create(
            actor=Actor.from_request(request), name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            is_template=form.cleaned_data["is_template"], content=form.document,
            comment=form.cleaned_data["comment"], menu=form.cleaned_data["menu"]))
        if saved is not None:
            _report_saved(request, saved, created=True)
            return redirect("ncco_edit", pk=saved.version.document_id)
    return _editor(request, form, document=None, latest=None, menu_url=menu_url)


@role_required(Role.VIEWER)
def ncco_edit(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(NccoDocument, pk=pk)
    latest = document.latest_version
    initial = {
        "name": document.name, "description": document.description,
        "is_template": document.is_template, "comment": "",
        "content": services.pretty_json(latest.content) if latest else "[]",
        "based_on_version": latest.number if latest else 0,
    }
    form = NccoForm(request.POST or None, initial=initial, menu=latest.menu if latest else {})
    if request.method == "POST":
        if not request.user.has_role(Role.OPERATOR):
            # A 403 like every other write a role does not allow (tests/security).
            raise PermissionDenied("Saving needs the Operator role; you can read this document.")
        if form.is_valid():
            try:
                saved = services.ncco_document_update(
                    actor=Actor.from_request(request), document=document,
                    content=form.document, comment=form.cleaned_data["comment"],
                    menu=form.cleaned_data["menu"], name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    is_template=form.cleaned_data["is_template"],
                    based_on_version=form.cleaned_data["based_on_version"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                _report_saved(request, saved, created=False)
                return redirect("ncco_edit", pk=pk)
    return _editor(request, form, document=document, latest=latest,
                   menu_url=_menu_url_for(latest))


def _report_saved(request: HttpRequest, saved: services.Saved | None, *, created: bool) -> None:
    if saved is None:
        messages.success(request, "Details saved.")
        return
    verb = "Created" if created else "Saved"
    messages.success(request, f"{verb} version {saved.version.number}.")
    for warning in saved.warnings:
        messages.warning(request, f"{warning.path or 'Document'}: {warning.message}")


def _menu_url_for(latest: NccoVersion | None) -> str:
    """The menu URL the editor inserts; serving points it at the right account and version."""
    return services.menu_url(token=TOKEN_PLACEHOLDER, version_id=latest.pk if latest else 0)


def _editor(
    request: HttpRequest, form: NccoForm, *, document: NccoDocument | None,
    latest: NccoVersion | None, menu_url: str,
) -> HttpResponse:
    starters = services.starters(menu_event_url=menu_url)
    applications = selectors.ncco_document_applications(
        document_ids=[document.pk]).get(document.pk, []) if document else []
    sample = {"to": "447700900000", "from": "447700900001",
              "uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
              "conversation_uuid": "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}
    for application in reversed(applications):
        sample.update({f"custom.{k}": str(v) for k, v in (application.variables or {}).items()})
    issues: list[NccoIssue] = []
    if form.report is not None:
        issues = form.report.errors + form.report.warnings
    shown = form.document if form.is_bound else (latest.content if latest else None)
    return render(request, "voiceapps/ncco_editor.html", {
        "form": form,
        "document": document,
        "latest": latest,
        "applications": [
            (app, shown_url(answer_url(app), to_admin=request.user.has_role(Role.ADMIN)))
            for app in applications],
        "starters": starters,
        "starter_texts": {s.key: s.text for s in starters},
        "skeletons": {key: action for key, _, action in services.ACTION_SKELETONS}
        | {"menu_input": services.menu_input_action(url=menu_url)},
        "skeleton_labels": [(key, label) for key, label, _ in services.ACTION_SKELETONS],
        "sample_variables": sample,
        "issues": issues,
        "translations": services.ncco_translations(
            document=shown, applications=services.serving_applications(document))
        if shown is not None and document is not None else [],
        "show_menu": bool(services.menu_inputs(shown)) or bool(latest and latest.menu),
        "menu_pattern": services.menu_url_pattern().pattern,
        "menu_targets": NccoDocument.objects.order_by("name").only("pk", "name"),
    })


@role_required(Role.VIEWER)
def ncco_history(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(NccoDocument, pk=pk)
    versions = list(document.versions.select_related("author").order_by("-number"))
    by_number = {version.number: version for version in versions}
    latest = versions[0] if versions else None
    default_from = versions[1].number if len(versions) > 1 else (latest.number if latest else 0)
    a = by_number.get(parse_int(request.GET.get("from", "")), by_number.get(default_from))
    b = by_number.get(parse_int(request.GET.get("to", "")), latest)
    diff = services.ncco_diff(a, b) if a and b else ""
    page = Paginator(versions, 50).get_page(request.GET.get("page"))
    return render(request, "voiceapps/ncco_history.html", {
        "document": document, "page": page, "versions": versions, "latest": latest,
        "a": a, "b": b, "diff_lines": _diff_lines(diff),
    })


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    """(css class, line) for colouring a unified diff."""
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    return [("head" if line.startswith(("+++", "---")) else kinds.get(line[:1], ""), line)
            for line in diff.splitlines()]


@role_required(Role.VIEWER)
def ncco_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = get_object_or_404(NccoVersion.objects.select_related("document", "author"),
                                document_id=pk, number=number)
    latest_number = version.document.versions.aggregate(last=Max("number"))["last"]
    return render(request, "voiceapps/ncco_version.html", {
        "version": version, "document": version.document, "latest_number": latest_number,
        "content": services.pretty_json(version.content),
        "menu_rows": _menu_display(version.menu),
    })


def _menu_display(menu: dict) -> list[tuple[str, str]]:
    names = dict(NccoDocument.objects.values_list("pk", "name"))
    rows = [(f"presses {key}", names.get(target, f"deleted document {target}"))
            for key, target in (menu.get("digits") or {}).items()]
    rows += [(f"says “{key}”", names.get(target, f"deleted document {target}"))
             for key, target in (menu.get("words") or {}).items()]
    if menu.get("opt_out"):
        rows.insert(0, (f"presses {menu['opt_out']}", "the do-not-call list (opts out)"))
    if menu.get("default"):
        rows.append(("anything else or nothing", names.get(menu["default"], "a deleted document")))
    return rows


@role_required(Role.OPERATOR)
@require_POST
def ncco_restore(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = get_object_or_404(NccoVersion, document_id=pk, number=number)
    try:
        saved = services.ncco_version_restore(actor=Actor.from_request(request), version=version)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("ncco_history", pk=pk)
    messages.success(request, f"Version {number} restored as version {saved.version.number}.")
    return redirect("ncco_edit", pk=pk)


@role_required(Role.OPERATOR)
def ncco_delete(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(NccoDocument, pk=pk)
    reasons = services.ncco_document_users(document)
    if request.method == "POST":
        try:
            services.ncco_document_delete(actor=Actor.from_request(request), document=document)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("ncco_delete", pk=pk)
        messages.success(request, f"“{document.name}” and its versions were deleted.")
        return redirect("ncco_list")
    return render(request, "voiceapps/ncco_delete.html", {
        "document": document, "reasons": reasons,
        "version_count": document.versions.count(),
        "cancel_url": reverse("ncco_edit", args=[pk]),
    })
