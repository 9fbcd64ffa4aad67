"""Pages for provider accounts, applications and numbers. Thin: services do the work."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_filters import FilterSet

from portal.models import Role
from portal.params import filtered_page, query_int
from portal.roles import role_required
from portal.services import Actor
from voiceapps import selectors, services
from voiceapps.filters import ApplicationFilter, NumberFilter
from voiceapps.forms import (
    ACCOUNT_FIELD_TEXT,
    AccountChoiceForm,
    AccountForm,
    ApplicationForm,
    ImportApplicationsForm,
    NumberForm,
    NumberLinkForm,
    PrivateKeyForm,
)
from voiceapps.models import Application, Number, ProviderAccount
from voiceapps.providers.base import ProviderError
from voiceapps.providers.registry import PROVIDERS

PAGE_SIZE = 50


def _page(request: HttpRequest, objects: QuerySet) -> Any:
    return Paginator(objects, PAGE_SIZE).get_page(request.GET.get("page"))


def _filtered_list(request: HttpRequest, filters: FilterSet, template: str) -> HttpResponse:
    """A list page: its filter form, one page of the rows it selects."""
    chosen = filters.form.cleaned_data if filters.is_valid() else {}
    account = chosen.get("account")
    return render(request, template, {
        **filtered_page(request, filters, per_page=PAGE_SIZE),
        "account_id": account.pk if account else None,
    })


def _action(request: HttpRequest, run: Callable[[], str], back: str, *args: Any) -> HttpResponse:
    """A POST-only action: its sentence as a success flash, a refusal as an error flash."""
    try:
        messages.success(request, run())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ProviderError as error:
        messages.error(request, error.message)
    return redirect(back, *args)


def _deleted(request: HttpRequest, run: Callable[[], None], sentence: str,
             detail: tuple[str, int], listing: str) -> HttpResponse:
    """A delete: back to the list, or to the object with the reason it cannot go."""
    try:
        run()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(*detail)
    messages.success(request, sentence)
    return redirect(listing)


# Accounts ----------------------------------------------------------------------------------

@role_required(Role.VIEWER)
def account_list(request: HttpRequest) -> HttpResponse:
    return render(request, "voiceapps/account_list.html",
                  {"page": _page(request, selectors.account_list())})


@role_required(Role.ADMIN)
def account_create(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind not in PROVIDERS:
        return render(request, "voiceapps/account_kind.html", {"providers": [
            (name, provider.label, provider.DESCRIPTION) for name, provider in PROVIDERS.items()]})
    form = AccountForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        account = form.saved(lambda: services.account_create(
            actor=Actor.from_request(request), kind=kind, values=form.values()))
        if account is not None:
            messages.success(request, f"Account {account.name} added. Test the connection, "
                                      "then give the provider the URLs below.")
            return redirect("account_detail", account.pk)
    return render(request, "voiceapps/account_form.html", {
        "form": form, "kind_label": PROVIDERS[kind].label, "kind": kind,
        "sandbox_base_url": services.sandbox_base_url(),
    })


@role_required(Role.VIEWER)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)
    context: dict[str, Any] = {
        "account": account,
        "kind_label": PROVIDERS[account.kind].label,
        "application_count": account.applications.count(),
        "number_count": account.numbers.count(),
    }
    if request.user.has_role(Role.ADMIN):
        # Credentials (masked) and the token-bearing URLs are for admins only.
        context["credentials"] = [
            (ACCOUNT_FIELD_TEXT[name][0], account.masked(name)
             if name in ProviderAccount.SECRET_FIELDS else getattr(account, name))
            for name in services.account_fields(account.kind)
        ]
        context["webhook_urls"] = services.account_webhook_urls(account)
        # Said before Delete is pressed: a confirmation that ends in a refusal contradicts itself.
        context["delete_refusal"] = services.account_delete_refusal(account)
    return render(request, "voiceapps/account_detail.html", context)


@role_required(Role.ADMIN)
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)
    form = AccountForm(request.POST or None, kind=account.kind, account=account)
    if request.method == "POST" and form.is_valid():
        saved = form.saved(lambda: services.account_update(
            actor=Actor.from_request(request), account=account, values=form.values()))
        if saved is not None:
            messages.success(request, f"Account {account.name} saved.")
            return redirect("account_detail", account.pk)
        account.refresh_from_db()
    return render(request, "voiceapps/account_form.html", {
        "form": form, "account": account, "kind_label": PROVIDERS[account.kind].label,
        "kind": account.kind, "sandbox_base_url": services.sandbox_base_url(),
    })


@role_required(Role.ADMIN)
@require_POST
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)
    return _deleted(
        request, lambda: services.account_delete(actor=Actor.from_request(request),
                                                 account=account),
        f"Account {account.name} deleted.", ("account_detail", pk), "account_list")


@role_required(Role.ADMIN)
@require_POST
def account_retire(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)

    def run() -> str:
        effects = services.account_retire(actor=Actor.from_request(request), account=account)
        return " ".join([f"Account {account.name} retired: no new call, campaign or push goes "
                         "out on it.", *effects])

    return _action(request, run, "account_detail", pk)


@role_required(Role.ADMIN)
@require_POST
def account_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)

    def run() -> str:
        services.account_reactivate(actor=Actor.from_request(request), account=account)
        return (f"Account {account.name} is back in use. Campaigns paused when it was retired "
                "stay paused until you resume them.")

    return _action(request, run, "account_detail", pk)


@role_required(Role.ADMIN)
@require_POST
def account_test(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)
    ok, message = services.account_check(actor=Actor.from_request(request), account=account)
    (messages.success if ok else messages.error)(request, message)
    return redirect("account_detail", pk)


@role_required(Role.ADMIN)
@require_POST
def account_regenerate_token(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)

    def run() -> str:
        services.account_regenerate_webhook_token(actor=Actor.from_request(request),
                                                  account=account)
        return "New webhook URLs made; the old ones stop working now. Give the provider the " \
               "new URLs and push the applications again."

    return _action(request, run, "account_detail", pk)


# Applications ------------------------------------------------------------------------------

@role_required(Role.VIEWER)
def application_list(request: HttpRequest) -> HttpResponse:
    filters = ApplicationFilter(request.GET, queryset=selectors.application_list())
    return _filtered_list(request, filters, "voiceapps/application_list.html")


@role_required(Role.VIEWER)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application.objects.select_related("account"), pk=pk)
    context = {
        "application": application,
        "uses_key_pair": services.uses_key_pair(application.account),
        "numbers": application.numbers.all(),
    }
    if request.user.has_role(Role.ADMIN):
        context["answer_url"] = services.application_answer_url(application)
        context["event_url"] = services.application_event_url(application)
    return render(request, "voiceapps/application_detail.html", context)


def _application_form(request: HttpRequest, application: Application | None) -> HttpResponse:
    initial = {"account": query_int(request.GET, "account")} if application is None else None
    form = ApplicationForm(request.POST or None, instance=application, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        if application is None:
            saved = form.saved(lambda: services.application_create(
                actor=actor, account=form.cleaned_data["account"], values=form.values()))
        else:
            saved = form.saved(lambda: services.application_update(
                actor=actor, application=application, values=form.values()))
        if saved is not None:
            messages.success(request, f"Application {saved.name} saved.")
            return redirect("application_detail", saved.pk)
    if application is not None:
        application.refresh_from_db()
    return render(request, "voiceapps/application_form.html",
                  {"form": form, "application": application})


@role_required(Role.OPERATOR)
def application_create(request: HttpRequest) -> HttpResponse:
    if not ProviderAccount.objects.exists():
        messages.info(request, "An application belongs to a provider account: an admin adds "
                               "one first.")
        return redirect("account_list")
    return _application_form(request, None)


@role_required(Role.OPERATOR)
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _application_form(request, get_object_or_404(Application, pk=pk))


@role_required(Role.OPERATOR)
@require_POST
def application_delete(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application, pk=pk)
    return _deleted(
        request, lambda: services.application_delete(actor=Actor.from_request(request),
                                                     application=application),
        f"Application {application.name} deleted from Callboard.",
        ("application_detail", pk), "application_list")


@role_required(Role.OPERATOR)
@require_POST
def application_push(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application.objects.select_related("account"), pk=pk)

    def run() -> str:
        services.application_push(actor=Actor.from_request(request), application=application)
        return f"Pushed to the provider; its id is {application.provider_app_id}."

    return _action(request, run, "application_detail", pk)


@role_required(Role.OPERATOR)
@require_POST
def application_keypair(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application.objects.select_related("account"), pk=pk)

    def run() -> str:
        services.application_generate_keypair(actor=Actor.from_request(request),
                                              application=application)
        return "New key pair made. Push the application so the provider gets the public key."

    return _action(request, run, "application_detail", pk)


@role_required(Role.ADMIN)
def application_private_key(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application.objects.select_related("account"), pk=pk)
    if not services.uses_key_pair(application.account):
        raise Http404("This provider's applications have no key pair in Callboard.")
    form = PrivateKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = form.saved(lambda: services.application_set_private_key(
            actor=Actor.from_request(request), application=application,
            pem=form.cleaned_data["private_key"]))
        if saved is not None:
            messages.success(request, "Private key stored; its public key is shown below.")
            return redirect("application_detail", pk)
    return render(request, "voiceapps/application_private_key.html",
                  {"form": form, "application": application})


@role_required(Role.OPERATOR)
def application_import(request: HttpRequest) -> HttpResponse:
    chooser = AccountChoiceForm(request.GET or None)
    context: dict[str, Any] = {"chooser": chooser}
    if not chooser.is_valid():
        return render(request, "voiceapps/application_import.html", context)
    account = chooser.cleaned_data["account"]
    context["account"] = account
    try:
        remote = services.application_remote_list(account=account)
    except ProviderError as error:
        context["provider_error"] = error.message
        return render(request, "voiceapps/application_import.html", context)
    existing = selectors.application_by_provider_id(account=account)
    choices = [(app.provider_app_id, app.name or app.provider_app_id) for app in remote]
    form = ImportApplicationsForm(request.POST or None, choices=choices)
    if request.method == "POST" and form.is_valid():
        imported = form.saved(lambda: services.application_import(
            actor=Actor.from_request(request), account=account,
            provider_app_ids=form.cleaned_data["provider_app_ids"]))
        if imported is not None:
            messages.success(request, f"Imported {len(imported)} application{pluralize(imported)}.")
            return redirect(f"{reverse('application_list')}?account={account.pk}")
    context.update(form=form, remote=remote, existing=existing)
    return render(request, "voiceapps/application_import.html", context)


# Numbers -----------------------------------------------------------------------------------

@role_required(Role.VIEWER)
def number_list(request: HttpRequest) -> HttpResponse:
    filters = NumberFilter(request.GET, queryset=selectors.number_list())
    return _filtered_list(request, filters, "voiceapps/number_list.html")


@role_required(Role.VIEWER)
def number_detail(request: HttpRequest, pk: int) -> HttpResponse:
    number = get_object_or_404(Number.objects.select_related("account", "application"), pk=pk)
    link_form = NumberLinkForm(account=number.account, keeping=number.application_id,
                               initial={"application": number.application_id})
    return render(request, "voiceapps/number_detail.html",
                  {"number": number, "link_form": link_form})


@role_required(Role.OPERATOR)
def number_create(request: HttpRequest) -> HttpResponse:
    form = NumberForm(request.POST or None, initial={"account": query_int(request.GET, "account")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        number = form.saved(lambda: services.number_create(
            actor=Actor.from_request(request), account=data["account"], e164=data["e164"],
            capabilities=data["capabilities"], description=data["description"]))
        if number is not None:
            messages.success(request, f"Number {number.e164} added.")
            return redirect("number_detail", number.pk)
    return render(request, "voiceapps/number_form.html", {"form": form})


@role_required(Role.OPERATOR)
def number_edit(request: HttpRequest, pk: int) -> HttpResponse:
    number = get_object_or_404(Number, pk=pk)
    form = NumberForm(request.POST or None, editing=True, initial={
        "e164": number.e164, "capabilities": number.capabilities,
        "description": number.description,
    })
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = form.saved(lambda: services.number_update(
            actor=Actor.from_request(request), number=number, e164=data["e164"],
            capabilities=data["capabilities"], description=data["description"]))
        if saved is not None:
            messages.success(request, f"Number {number.e164} saved.")
            return redirect("number_detail", pk)
        number.refresh_from_db()
    return render(request, "voiceapps/number_form.html", {"form": form, "number": number})


@role_required(Role.OPERATOR)
@require_POST
def number_delete(request: HttpRequest, pk: int) -> HttpResponse:
    number = get_object_or_404(Number, pk=pk)
    return _deleted(
        request, lambda: services.number_delete(actor=Actor.from_request(request), number=number),
        f"Number {number.e164} removed from Callboard.", ("number_detail", pk), "number_list")


@role_required(Role.OPERATOR)
@require_POST
def number_link(request: HttpRequest, pk: int) -> HttpResponse:
    number = get_object_or_404(Number.objects.select_related("account"), pk=pk)
    form = NumberLinkForm(request.POST, account=number.account, keeping=number.application_id)

    def run() -> str:
        if not form.is_valid():
            raise ValidationError("Choose one of this account's applications.")
        application = form.cleaned_data["application"]
        services.number_link(actor=Actor.from_request(request), number=number,
                             application=application)
        return f"{number.e164} now goes to {application}." if application else \
            f"{number.e164} is no longer linked to an application."

    return _action(request, run, "number_detail", pk)


@role_required(Role.OPERATOR)
def number_import(request: HttpRequest) -> HttpResponse:
    form = AccountChoiceForm(request.POST or None,
                             initial={"account": query_int(request.GET, "account")})
    if request.method == "POST" and form.is_valid():
        account = form.cleaned_data["account"]
        try:
            counts = services.number_import(actor=Actor.from_request(request), account=account)
        except ProviderError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, f"{counts['created']} number{pluralize(counts['created'])} added, "
                f"{counts['updated']} refreshed"
                + (f", {counts['skipped']} skipped (not phone numbers)" if counts["skipped"]
                   else "") + ".")
            return redirect(f"{reverse('number_list')}?account={account.pk}")
    return render(request, "voiceapps/number_import.html", {"form": form})

