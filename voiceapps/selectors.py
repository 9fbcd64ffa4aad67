"""Reads of accounts, applications, numbers and NCCO documents, for pages and the API alike.

The lists are the rows before filtering, with what their pages and serializers show joined
in; voiceapps/filters.py narrows them by the request's parameters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery

from voiceapps.models import Application, NccoDocument, NccoVersion, Number, ProviderAccount


def account_list() -> QuerySet[ProviderAccount]:
    """Accounts in use by name, then the retired ones (longest retired first), each with
    `application_count` and `number_count`."""
    return ProviderAccount.objects.annotate(
        application_count=Count("applications", distinct=True),
        number_count=Count("numbers", distinct=True),
        # a GROUP BY query drops the model's ordering
    ).order_by(F("retired_at").asc(nulls_first=True), "name")


def accounts_in_use() -> QuerySet[ProviderAccount]:
    """Accounts not retired, by name: what a picker offers for new calls, campaigns, numbers
    and applications (a filter of existing rows offers every account)."""
    return ProviderAccount.objects.filter(retired_at__isnull=True).order_by("name")


def applications_to_pick(
    *, account: ProviderAccount | None = None, keeping: int | None = None
) -> QuerySet[Application]:
    """Applications a picker offers (of `account`, or of every account), by name: not a
    rehearsal's copy, which only its rehearsals run through; and the application of id
    `keeping` whatever it is (what an edit already uses stays on offer)."""
    offered = Q(rehearsal_copy=False) | Q(pk=keeping)
    if account is not None:
        offered &= Q(account=account)
    return Application.objects.filter(offered).order_by("name")


def applications_in_use(*, keeping: int | None = None) -> QuerySet[Application]:
    """applications_to_pick of accounts not retired, with their account; and the application
    of id `keeping` whatever its account."""
    return applications_to_pick(keeping=keeping).filter(
        Q(account__retired_at__isnull=True) | Q(pk=keeping)).select_related("account")


def application_list() -> QuerySet[Application]:
    """Applications by name, with their account."""
    return Application.objects.select_related("account")


def application_by_provider_id(*, account: ProviderAccount) -> dict[str, Application]:
    """The account's applications Callboard knows at the provider, by the provider's id:
    what an import would add again."""
    return {application.provider_app_id: application for application in
            account.applications.exclude(provider_app_id="").only("pk", "name", "provider_app_id")}


def number_list() -> QuerySet[Number]:
    """Numbers by digits, with their account and application."""
    return Number.objects.select_related("account", "application")


def ncco_document_list() -> QuerySet[NccoDocument]:
    """Documents by name, each with `latest_number` (None before its first version)."""
    return NccoDocument.objects.annotate(latest_number=Max("versions__number")).order_by("name")


def ncco_document_applications(*, document_ids: Iterable[int]) -> dict[int, list[Application]]:
    """The applications serving each document, by name, with their account (for their URLs)."""
    served: dict[int, list[Application]] = {}
    for application in Application.objects.select_related("account") \
            .filter(ncco_document_id__in=list(document_ids)).order_by("name"):
        served.setdefault(application.ncco_document_id, []).append(application)
    return served


def menu_targets(menu: Mapping[str, Any]) -> set[int]:
    """The documents a version's routing table sends callers to."""
    targets = {*(menu.get("digits") or {}).values(), *(menu.get("words") or {}).values()}
    if menu.get("default"):
        targets.add(menu["default"])
    return targets


def ncco_latest_versions() -> QuerySet[NccoVersion]:
    """Each document's latest version: what new calls are served."""
    newest = NccoVersion.objects.filter(document=OuterRef("document")).order_by("-number")
    return NccoVersion.objects.filter(number=Subquery(newest.values("number")[:1]))


def ncco_menus_routing_to(*, document_ids: Iterable[int]) -> dict[int, list[NccoDocument]]:
    """For each of the documents, the other documents whose menu routes callers to it (each
    one's latest version, what new calls are served: a version after a menu that has none
    routes nowhere), by name: a route target is in use though no application serves it.
    One query."""
    wanted = set(document_ids)
    latest = (ncco_latest_versions().exclude(menu={}).select_related("document")
              .order_by("document__name"))
    routing: dict[int, list[NccoDocument]] = defaultdict(list)
    for version in latest:
        for target in (menu_targets(version.menu) & wanted) - {version.document_id}:
            routing[target].append(version.document)
    return routing
