"""The benchmarks' baseline: what a request costs with Callboard's middleware and no work.

Mounted at /bench/bare only when BENCH_BASELINE_VIEW is on (bench/run.py turns it on for the
server it starts). Each benchmark measures it on the same server in the same run and prints
its figures as a ratio of this view's, since absolute figures move from machine to machine.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    """A small JSON body, no database, no session, no template."""
    return JsonResponse({"status": "ok", "method": request.method})
