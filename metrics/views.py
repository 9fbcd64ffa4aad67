"""`GET /metrics`: Prometheus text format, for a bearer token or an allowed network; and
`/status/`, the same state in plain words for admins (metrics/status.py).

One registry per scrape: prometheus_client's MultiProcessCollector (as
metrics.collectors.ProcessFilesCollector) sums the counters and histograms every process
(gunicorn workers, Celery workers) wrote to PROMETHEUS_MULTIPROC_DIR, and
metrics.collectors reads the gauges from the database.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from calls.views import live
from metrics.collectors import DatabaseCollector, ProcessFilesCollector
from metrics.status import START_WORKER, system_status
from portal.models import Role
from portal.roles import role_required
from portal.services import client_ip

# Each reading asks the database, the cache and the broker: every 5 s is live enough for a
# page watched while something is being fixed, and a tenth of the other pages' load.
STATUS_INTERVAL_MS = 5000


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    address = client_ip(request)
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(network, strict=False)
               for network in settings.METRICS_ALLOWED_NETWORKS)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(
            "Metrics need the bearer token in METRICS_TOKEN, or a client address in "
            "METRICS_ALLOWED_NETWORKS.\n", status=401, content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    registry = CollectorRegistry()
    ProcessFilesCollector(registry)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


@role_required(Role.ADMIN)
def status_page(request: HttpRequest) -> HttpResponse:
    return render(request, "metrics/status.html", _status_context())


@live.polled(Role.ADMIN)
def status_live(request: HttpRequest) -> HttpResponse:
    """The readings again, or 204 while they show what the page shows (its `page_state`)."""
    context = _status_context()
    return live.answer_unless_shown(request, context["page_state"], lambda: render(
        request, "metrics/status.html#readings", context))


def _status_context() -> dict:
    status = system_status()
    return {"status": status, "page_state": live.digest(status.digest_parts()),
            "live_interval_ms": STATUS_INTERVAL_MS, "start_worker": START_WORKER}
