"""Benchmark: what observability costs. `python -m bench.metrics [--calls 100000]`

1. A /metrics scrape (bearer token) with --calls calls in the database (seeded as the call
   log benchmark seeds them): its latency, sampled at --rate scrapes per second, beside the
   bare view's at the same rate. Prometheus scrapes every 15 to 60 s, so what matters is that
   one scrape stays well under a second and costs the server little.
2. The instrumentation each webhook pays: one counter increment (webhook deliveries) and,
   for an answer-URL request, one histogram observation, in prometheus_client's multiprocess
   mode (an mmap'd file per process), timed in this process over --increments operations,
   beside the bare view's median latency.
"""

from __future__ import annotations

import time

from bench import run
from bench.call_log import sample, seed

TOKEN = "bench-metrics-token"


def instrumentation_ms(count: int) -> tuple[float, float]:
    """(ms per delivery counted, ms per answer observed), in multiprocess mode."""
    from prometheus_client import values

    from calls.hooks.answer import ANSWER_SECONDS
    from calls.hooks.events import DELIVERIES

    if values.ValueClass.__name__ != "MmapedValue":
        raise SystemExit("prometheus_client is not in multiprocess mode here")
    started = time.perf_counter()
    for _ in range(count):
        DELIVERIES.labels("events", "accepted", "").inc()
    counted = (time.perf_counter() - started) * 1000 / count
    started = time.perf_counter()
    for _ in range(count):
        ANSWER_SECONDS.labels("200").observe(0.004)
    observed = (time.perf_counter() - started) * 1000 / count
    return counted, observed


def gauge_ms(repeat: int = 7) -> dict[str, float]:
    """Each database gauge's median time (ms), read in this process from the same database."""
    from metrics.collectors import GAUGES

    medians = {}
    for gauge in GAUGES:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            list(gauge())
            times.append((time.perf_counter() - started) * 1000)
        medians[gauge.__name__] = sorted(times)[repeat // 2]
    return medians


def main() -> None:
    parser = run.arguments(__doc__.splitlines()[0], calls=100_000, samples=60, rate=2.0,
                           seed=1, increments=100_000)
    options = parser.parse_args()
    report = run.Report("metrics", {"calls": options.calls, "samples": options.samples,
                                    "rate": options.rate})
    with run.Stack(keep_database=options.keep_database, env={"METRICS_TOKEN": TOKEN}) as stack:
        with run.step(f"seeding {options.calls:,} calls with PostgreSQL COPY"):
            seed(options.calls, options.seed)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with run.step(f"/metrics: {options.samples} scrapes at {options.rate:g}/s"):
            sample(stack, "/metrics", headers, count=3, rate=options.rate)  # warm up
            scrape = sample(stack, "/metrics", headers, count=options.samples,
                            rate=options.rate)
        with run.step(f"bare view: {options.samples} requests at {options.rate:g}/s"):
            bare = run.bare_paced(stack, rate=options.rate,
                                  seconds=options.samples / options.rate)
        with run.step("each database gauge, 7 times"):
            gauges = gauge_ms()
        with run.step(f"instrumentation: {options.increments:,} operations each"):
            counted, observed = instrumentation_ms(options.increments)

    report.add(
        run.Figure("/metrics scrape p50", scrape.p50, "ms", bare.p50, ("<=", 500),
                   note=f"p95 {scrape.p95:.1f} ms, p99 {scrape.p99:.1f} ms, "
                        f"statuses {scrape.statuses}"),
        run.Figure("/metrics scrape p95", scrape.p95, "ms", bare.p95, ("<=", 1000)),
        *(run.Figure(f"gauge {name} p50", ms, "ms", bare.p50) for name, ms in gauges.items()),
        run.Figure("delivery counter per webhook", counted, "ms", bare.p50,
                   note="DELIVERIES.labels(…).inc(), multiprocess mode"),
        run.Figure("answer histogram per request", observed, "ms", bare.p50,
                   note="ANSWER_SECONDS.labels(…).observe(), multiprocess mode"),
    )
    run.finish(report, options.json)


if __name__ == "__main__":
    main()
