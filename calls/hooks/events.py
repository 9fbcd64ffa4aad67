"""Provider event webhooks: stored raw, verified, applied, answered in milliseconds.

Every request under a known account token is stored as a `WebhookDelivery`, so nothing a
provider sends is lost even if verifying or applying fails. The signature is checked first
(DESIGN.md section 2; pure computation), then calls/services/deliveries.py stores the
delivery and applies its event (or leaves it to a worker). No provider HTTP happens here.

Answers: 200 (Vonage: empty body, the call flow continues; Voice Gateway status hook:
ignored; other Voice Gateway hooks: `[]`, an empty verb array that lets the running
application go on), 401 signature refused or replayed, 404 unknown token or hook, 405
method, 413 body over `MAX_BODY`, 415 not JSON, 400 malformed JSON. Never a 500 for
anything the sender controls.
"""

from __future__ import annotations

import hashlib
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import Counter

from calls.hooks.common import MAX_BODY, account_by_token, content_length
from calls.models import WebhookDelivery
from calls.services.deliveries import (
    DeliveryReplayed,
    Refusal,
    delivery_accept,
    delivery_payload,
)
from portal.api.exceptions import error_body
from portal.redaction import mask
from voiceapps.adapters import account_adapter
from voiceapps.hooks import VOICEGATEWAY_HOOKS, sends_to_event_url
from voiceapps.providers.base import Provider

logger = logging.getLogger(__name__)

EVENTS_ENDPOINT = "events"
VG_STATUS_ENDPOINT = "vg/status"
# Never stored: they authenticate (a Vonage JWT could be replayed within its 5 minutes).
HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
# GET /metrics: every stored delivery by result (accepted, rejected, apply_failed) and, for a
# rejection, its reason's kind (the words before its colon, as the alert rule groups them).
DELIVERIES = Counter("callboard_webhook_deliveries_total", "Webhook deliveries stored, by result.",
                     ["endpoint", "result", "reason"])


@csrf_exempt
def events_hook(request: HttpRequest, token: str) -> HttpResponse:
    """Vonage, KPN and sandbox event URL: POST JSON, or GET with query parameters."""
    return _receive(request, token, EVENTS_ENDPOINT, methods=("GET", "POST"))


@csrf_exempt
def voicegateway_hook(request: HttpRequest, token: str, name: str) -> HttpResponse:
    """Voice Gateway call status hook and verb hooks (jambonz.md 3.1-3.5): POST JSON."""
    if name not in VOICEGATEWAY_HOOKS:
        return _refused(404, "There is nothing at this address.")
    return _receive(request, token, f"vg/{name}", methods=("POST",))


def _receive(
    request: HttpRequest, token: str, endpoint: str, *, methods: tuple[str, ...]
) -> HttpResponse:
    account = account_by_token(token)
    if account is None:
        return _refused(404, "There is nothing at this address.")  # and nothing is stored
    if request.method not in methods:
        response = _refused(405, f"This hook takes {' or '.join(methods)}.")
        response["Allow"] = ", ".join(methods)
        return response

    declared = content_length(request)
    body = b"" if declared > MAX_BODY else request.read(MAX_BODY + 1)
    too_large = declared > MAX_BODY or len(body) > MAX_BODY
    delivery = WebhookDelivery(
        account=account,
        endpoint=endpoint,
        method=request.method,
        path=request.path.replace(token, mask(token))[:500],
        query=request.META.get("QUERY_STRING", ""),
        headers=_stored_headers(request),
        body=b"" if too_large else body,
        body_sha256="" if too_large else hashlib.sha256(body).hexdigest(),
    )
    try:
        if too_large:
            raise Refusal(413, f"too large: over {MAX_BODY} bytes; the body was not kept")
        if sends_to_event_url(account) == endpoint.startswith("vg/"):
            raise Refusal(404, f"wrong endpoint: a {account.get_kind_display()} account does "
                               f"not send to /{endpoint}")
        provider = account_adapter(account, webhooks_only=True)
        _verify(delivery, provider, request, body)
        payload = delivery_payload(delivery)
    except Refusal as refusal:
        return _reject(delivery, refusal)
    except Exception:
        delivery.save()  # kept, unverified, before the error is reported
        raise
    try:
        applied = delivery_accept(delivery=delivery, payload=payload, provider=provider)
    except DeliveryReplayed:
        delivery.verified = False  # stored as refused, beside the accepted original
        return _reject(delivery, Refusal(401, "replayed: this signature was accepted before"))
    if not applied:
        DELIVERIES.labels(endpoint, "apply_failed", "").inc()
        # A 5xx makes the provider retry once, which may well succeed.
        return _refused(500, "The event was stored but could not be applied.")
    DELIVERIES.labels(endpoint, "accepted", "").inc()
    if endpoint in (EVENTS_ENDPOINT, VG_STATUS_ENDPOINT):
        return HttpResponse(status=200)
    return JsonResponse([], safe=False)



def _stored_headers(request: HttpRequest) -> dict[str, str]:
    headers = {}
    for name, value in request.headers.items():
        if name.lower() in HIDDEN_HEADERS:
            continue
        if name.lower() == "jambonz-signature":
            # The time is needed to diagnose; the signatures themselves are not.
            value = ",".join(
                part if not part.strip().startswith("v1=") else "v1=" + mask(part.split("=", 1)[1])
                for part in value.split(",")
            )
        headers[name] = value
    return headers


def _verify(
    delivery: WebhookDelivery, provider: Provider, request: HttpRequest, body: bytes
) -> None:
    """Check the signature; mark the (unsaved) delivery verified or raise Refusal."""
    verdict = provider.verify_webhook(
        request.headers, body, query_string=request.META.get("QUERY_STRING", "")
    )
    delivery.signed_at = verdict.signed_at
    delivery.replay_key = verdict.replay_key[:200]
    if not verdict.ok:
        raise Refusal(401, verdict.reason)
    delivery.verified = True
    delivery.unsigned = verdict.unsigned



def _reject(delivery: WebhookDelivery, refusal: Refusal) -> HttpResponse:
    """Store a refused delivery (never yet stored) with the reason, and answer the 4xx."""
    delivery.rejection_reason = refusal.reason[:300]
    delivery.save()
    DELIVERIES.labels(delivery.endpoint, "rejected",
                      refusal.reason.split(":", 1)[0].strip()[:40]).inc()
    if refusal.status == 401:
        # Which check failed is in the rejected-deliveries log, not told to the sender.
        return _refused(401, "The webhook signature was not accepted.")
    return _refused(refusal.status, refusal.reason)


def _refused(status: int, detail: str) -> JsonResponse:
    codes = {400: "invalid", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
             413: "too_large", 415: "unsupported_media_type"}
    response = JsonResponse(error_body(codes.get(status, "error"), detail), status=status)
    # Django would log the path, and the path holds the account's secret token; the
    # delivery row has the facts instead.
    response._has_been_logged = True
    logger.info("Webhook refused with %s: %s", status, detail)
    return response


