"""`GET /metrics`: Prometheus text format, for a bearer token or an allowed network.

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
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from metrics.collectors import DatabaseCollector, ProcessFilesCollector
from portal.services import client_ip


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
