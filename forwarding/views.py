"""Event forwarding pages (admins): subscriptions, each with its delivery log (live), replay
and the secret shown once. Views parse and call services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from calls.views import live
from forwarding import selectors, services
from forwarding.forms import ReplayRangeForm, SubscriptionForm
from forwarding.models import Delivery, Subscription
from portal.models import Role
from portal.roles import role_required
from portal.services import Actor

LOG_PAGE = 50


@role_required(Role.ADMIN)
def forwarding_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.subscription_list(), 50).get_page(request.GET.get("page"))
    return render(request, "forwarding/subscription_list.html", {"page": page})


@role_required(Role.ADMIN)
def forwarding_create(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    made = form.made_before(request)
    if made:
        messages.info(request, "This form was sent already and made this subscription; its "
                               "secret was shown then, once (New secret… makes another).")
        return redirect(made)
    if request.method == "POST" and form.is_valid():
        created = form.saved(
            lambda: services.subscription_create(
                actor=Actor.from_request(request), values=form.cleaned_data
            )
        )
        if created is not None:
            subscription, secret = created
            form.remember(request, reverse("forwarding_detail", args=[subscription.pk]))
            return _secret_page(request, subscription, secret, new=True)
    return render(request, "forwarding/subscription_form.html", {"form": form})


@role_required(Role.ADMIN)
def forwarding_edit(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk)
    form = SubscriptionForm(request.POST or None, subscription=subscription)
    if request.method == "POST" and form.is_valid():
        saved = form.saved(
            lambda: services.subscription_update(
                actor=Actor.from_request(request),
                subscription=subscription,
                values=form.cleaned_data,
            )
        )
        if saved is not None:
            messages.success(request, f"Subscription “{saved.name}” saved.")
            return redirect("forwarding_detail", pk=pk)
    return render(
        request, "forwarding/subscription_form.html", {"form": form, "subscription": subscription}
    )


def _secret_page(
    request: HttpRequest, subscription: Subscription, secret: str, *, new: bool
) -> HttpResponse:
    """The secret, this once: it is not stored anywhere a page could show it again."""
    response = render(
        request,
        "forwarding/secret.html",
        {"subscription": subscription, "secret": secret, "new": new},
    )
    add_never_cache_headers(response)
    return response


def _log_context(request: HttpRequest, subscription: Subscription) -> dict[str, Any]:
    page = Paginator(
        selectors.delivery_log(subscription=subscription).prefetch_related("tries"), LOG_PAGE
    ).get_page(request.GET.get("page"))
    return {
        "subscription": subscription,
        "log": page,
        "live": page.number == 1,
        "changed_at": live.token(selectors.last_change(subscription=subscription)),
        "live_interval_ms": live.LIVE_INTERVAL_MS,
    }


@role_required(Role.ADMIN)
def forwarding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, pk, ReplayRangeForm())


def _detail_page(request: HttpRequest, pk: int, replay_form: ReplayRangeForm) -> HttpResponse:
    subscription = get_object_or_404(
        Subscription.objects.select_related("account", "application"), pk=pk
    )
    return render(
        request,
        "forwarding/subscription_detail.html",
        {**_log_context(request, subscription), "replay_form": replay_form},
    )


@live.polled(Role.ADMIN)
def forwarding_log_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery log alone when it changed after `since_change`, else 204 (live.js)."""
    subscription = get_object_or_404(Subscription, pk=pk)
    return live.answer_rendered(request, selectors.last_change(subscription=subscription),
                                "forwarding/subscription_detail.html#log",
                                lambda: _log_context(request, subscription))


@role_required(Role.ADMIN)
@require_POST
def forwarding_secret(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk)
    secret = services.subscription_roll_secret(
        actor=Actor.from_request(request), subscription=subscription
    )
    return _secret_page(request, subscription, secret, new=False)


@role_required(Role.ADMIN)
@require_POST
def forwarding_enable(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk)
    services.subscription_enable(actor=Actor.from_request(request), subscription=subscription)
    messages.success(request, f"“{subscription.name}” is on again: pending events go out now.")
    return redirect("forwarding_detail", pk=pk)


@role_required(Role.ADMIN)
@require_POST
def forwarding_disable(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk)
    services.subscription_disable(actor=Actor.from_request(request), subscription=subscription)
    messages.success(request, f"“{subscription.name}” is disabled: nothing is sent until you "
                              "enable it again.")
    return redirect("forwarding_detail", pk=pk)


@role_required(Role.ADMIN)
@require_POST
def forwarding_delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk)
    services.subscription_delete(actor=Actor.from_request(request), subscription=subscription)
    messages.success(request, f"Subscription “{subscription.name}” deleted with its log.")
    return redirect("forwarding_list")


@role_required(Role.ADMIN)
@require_POST
def forwarding_replay(request: HttpRequest, pk: int) -> HttpResponse:
    """Replay a time range of the subscription's deliveries."""
    subscription = get_object_or_404(Subscription, pk=pk)
    form = ReplayRangeForm(request.POST)
    copies = form.is_valid() and form.saved(
        lambda: services.deliveries_replay_range(
            actor=Actor.from_request(request),
            subscription=subscription,
            since=form.cleaned_data["since"],
            until=form.cleaned_data["until"],
        )
    )
    if form.errors:
        # The page again with the range as typed and each mistake under its field.
        return _detail_page(request, pk, form)
    if copies:
        messages.success(
            request, f"{len(copies)} deliveries queued again; they show at the top of the log."
        )
    else:
        messages.info(request, "No delivery was made in that range: nothing to replay.")
    return redirect("forwarding_detail", pk=pk)


@role_required(Role.ADMIN)
@require_POST
def forwarding_delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery.objects.select_related("subscription"), pk=pk)
    services.delivery_replay(actor=Actor.from_request(request), delivery=delivery)
    messages.success(request, f"The {delivery.event_type} event of call {delivery.call_id} is "
                              "queued again, with the same webhook-id.")
    return redirect("forwarding_detail", pk=delivery.subscription_id)
