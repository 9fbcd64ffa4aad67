"""The benchmarks' baselines: what a request costs with Callboard's middleware and no work,
and what storing its body durably costs on top.

Mounted at /bench/bare and /bench/durable only when BENCH_BASELINE_VIEW is on (bench/run.py
turns it on for the server it starts). Each benchmark measures them on the same server in
the same run and prints its figures as a ratio of theirs, since absolute figures move from
machine to machine.
"""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

# Created by bench/run.py in the benchmark's database only: no model, no migration.
DURABLE_TABLE = "bench_durable_body"


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    """A small JSON body, no database, no session, no template."""
    return JsonResponse({"status": "ok", "method": request.method})


@csrf_exempt
def durable(request: HttpRequest) -> HttpResponse:
    """The floor of any receiver that loses nothing: the raw body in one INSERT, committed
    (autocommit: the statement is its own transaction) before the 200."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {DURABLE_TABLE} (body) VALUES (%s)", [request.body])
    return HttpResponse(status=200)
