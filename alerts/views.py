"""The alert page (live, like the call log) and the admins' rules and channels under
/settings/alerts/."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from alerts import selectors, services
from alerts.checks import CHECKS
from alerts.filters import AlertFilter
from alerts.forms import AlertChannelForm, AlertRuleForm
from alerts.models import AlertChannel, AlertRule
from calls.views import live
from portal.models import Role
from portal.params import filtered_page
from portal.roles import role_required
from portal.services import Actor

PAGE_SIZE = 50


@role_required(Role.VIEWER)
def alert_list(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/alert_list.html", _page(request))


@live.polled(Role.VIEWER)
def alert_list_live(request: HttpRequest) -> HttpResponse:
    """The alerts again if one opened or resolved after `since_change`, else 204."""
    return live.answer_rendered(request, selectors.last_alert_change(),
                                "alerts/alert_list.html#live", lambda: _page(request))


def _page(request: HttpRequest) -> dict[str, Any]:
    filters = AlertFilter(request.GET, queryset=selectors.alert_list())
    return {
        **filtered_page(request, filters, per_page=PAGE_SIZE),
        "query": request.GET.urlencode(),
        "live": not request.GET.get("page"),
        "changed_at": live.token(selectors.last_alert_change()),
        "live_interval_ms": live.LIVE_INTERVAL_MS,
        "has_rules": AlertRule.objects.exists(),
    }


@role_required(Role.ADMIN)
def alert_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/settings.html", {
        "rules": AlertRule.objects.prefetch_related("channels"),
        "channels": AlertChannel.objects.all(),
        "checks": CHECKS,
    })


def _copy(row: Model | None) -> Model | None:
    """A copy for the form: a ModelForm writes its input onto its instance while validating,
    and the service must compare the input with the row as stored (its audit's before)."""
    return type(row).objects.get(pk=row.pk) if row is not None else None


def _rule_page(request: HttpRequest, rule: AlertRule | None) -> HttpResponse:
    initial = {}
    if rule is None and request.GET.get("kind") in CHECKS:
        initial = {"kind": request.GET["kind"],
                   "threshold": CHECKS[request.GET["kind"]].default_threshold}
    form = AlertRuleForm(request.POST or None, instance=_copy(rule), initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        channels = form.cleaned_data["channels"]
        saved = form.saved(lambda: (
            services.alert_rule_create(actor=actor, values=form.values(), channels=channels)
            if rule is None else services.alert_rule_update(
                actor=actor, rule=rule, values=form.values(), channels=channels)))
        if saved is not None:
            messages.success(request, f"Alert rule “{saved.name}” saved.")
            return redirect("alert_settings")
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule})


@role_required(Role.ADMIN)
def alert_rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, None)


@role_required(Role.ADMIN)
def alert_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_page(request, get_object_or_404(AlertRule, pk=pk))


@role_required(Role.ADMIN)
@require_POST
def alert_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    services.alert_rule_delete(actor=Actor.from_request(request), rule=rule)
    messages.success(request, f"Alert rule “{rule.name}” and its alerts deleted.")
    return redirect("alert_settings")


def _channel_page(request: HttpRequest, channel: AlertChannel | None) -> HttpResponse:
    form = AlertChannelForm(request.POST or None, instance=_copy(channel))
    if channel is None and form.made_before(request):
        messages.info(request, "This form was sent already and made its channel, listed below; "
                               "a signed channel's secret was shown then, once.")
        return redirect("alert_settings")
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        if channel is None:
            made = form.saved(lambda: services.alert_channel_create(actor=actor,
                                                                    values=form.values()))
            if made is not None:
                saved, secret = made
                form.remember(request, reverse("alert_settings"))
                if secret:
                    # Shown once: the receiver checks signatures with it.
                    return render(request, "alerts/channel_secret.html",
                                  {"channel": saved, "secret": secret})
                messages.success(request, f"Channel “{saved.name}” saved.")
                return redirect("alert_settings")
        elif form.saved(lambda: services.alert_channel_update(
                actor=actor, channel=channel, values=form.values())) is not None:
            messages.success(request, f"Channel “{channel.name}” saved.")
            return redirect("alert_settings")
    return render(request, "alerts/channel_form.html", {"form": form, "channel": channel})


@role_required(Role.ADMIN)
@never_cache  # a signed webhook's secret is shown on the answer to its POST
def alert_channel_create(request: HttpRequest) -> HttpResponse:
    return _channel_page(request, None)


@role_required(Role.ADMIN)
def alert_channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _channel_page(request, get_object_or_404(AlertChannel, pk=pk))


@role_required(Role.ADMIN)
@require_POST
def alert_channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(AlertChannel, pk=pk)
    services.alert_channel_delete(actor=Actor.from_request(request), channel=channel)
    messages.success(request, f"Channel “{channel.name}” deleted.")
    return redirect("alert_settings")


@role_required(Role.ADMIN)
@require_POST
def alert_channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(AlertChannel, pk=pk)
    sent = services.alert_channel_test(actor=Actor.from_request(request), channel=channel)
    if sent.error:
        messages.error(request, f"The test notification to “{channel.name}” failed: "
                                f"{sent.error}")
    else:
        messages.success(request, f"Test notification sent to “{channel.name}”.")
    return redirect("alert_settings")
