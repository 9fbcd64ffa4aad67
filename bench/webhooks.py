"""Benchmark 1: webhook ingestion. `python -m bench.webhooks [--duration 60]`

Signed Vonage events (every call status, AMD results, 10% duplicates, shuffled within
windows so each call's events arrive out of order) for thousands of calls, most of them
placed by Callboard beforehand and some unknown to it (their first event creates them),
posted to /hooks/<token>/events:

1. wrk at full speed for --duration seconds (and the bare view the same way) with the
   workers stopped, as the baselines have nobody applying beside them: accepted events per
   second and latency percentiles; then the workers apply that backlog; then wrk again for
   half as long with the workers applying, printed beside it for comparison;
2. the open-loop paced client at --rate events per second for --paced-duration seconds (and
   the bare view at the same rate): p50/p95/p99; then the same with the workers stopped, to
   show what applying on the same two cores costs the requests;
3. the database afterwards: every request sent is stored as a WebhookDelivery, verified and
   applied, with its CallEvent; nothing is lost.

Beside the bare view, a second baseline: the durable-insert view (/bench/durable: the raw
body in one INSERT that commits), the floor of any receiver that loses nothing. And a
sustained run at --sustained-rate with the workers applying: how long each event waits to
change its call (apply lag), and the CPU of accepting plus applying (web, workers and their
PostgreSQL backends) per event.

Targets (issues 10 and 22): ≥ 0.5× the bare view's rate and ≥ 0.6× the durable insert's,
≥ 850 events/s on 2 cores, p99 ≤ 50 ms at 500 events/s with the workers applying, 1,000/s
sustained with apply lag p95 ≤ 1 s and max ≤ 3 s, ≤ 1.5 ms of CPU per event in all, nothing
lost. Each request is signed once, right before its run (Vonage's
HS256 JWT with payload_hash over the exact body, fresh iat, unique jti: a second copy of
one signed request would be refused as a replay).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench import run, vonage

EVENTS_PER_CALL = 5  # about, over the outcome mix below
# How calls end (share of calls) and the statuses Vonage sends on the way (vonage.md 2.2):
# every outcome is followed by `completed`, as Vonage does.
OUTCOMES = (
    (0.55, ("started", "ringing", "answered", "amd", "completed")),
    (0.10, ("started", "ringing", "busy", "completed")),
    (0.08, ("started", "ringing", "timeout", "completed")),
    (0.05, ("started", "ringing", "unanswered", "completed")),
    (0.07, ("started", "rejected", "completed")),
    (0.07, ("started", "failed", "completed")),
    (0.08, ("started", "ringing", "cancelled", "completed")),
)
DETAILS = {"unanswered": "unavailable", "rejected": "invalid_number", "failed": "cannot_route"}
DUPLICATE_SHARE = 0.10  # events the provider sends twice
UNKNOWN_SHARE = 0.10  # calls Callboard did not place: their first event creates them
SHUFFLE_WINDOW = 50  # calls whose events are shuffled together
START = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)  # the first call's start


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def call_ids(index: int, seed: int) -> tuple[str, str, str]:
    """(uuid, conversation_uuid, callee number) of call `index`, the same on every run."""
    rng = random.Random(f"{seed}:{index}")
    leg = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    conversation = "CON-" + str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return leg, conversation, f"4477009{index % 100000:05d}"


def call_events(index: int, *, seed: int, start: datetime.datetime) -> list[dict[str, Any]]:
    """The events Vonage sends about one outbound call, in the order it sends them."""
    rng = random.Random(f"{seed}:{index}:events")
    leg, conversation, callee = call_ids(index, seed)
    flow = rng.choices([f for _, f in OUTCOMES], weights=[w for w, _ in OUTCOMES])[0]
    at = start + datetime.timedelta(seconds=index * 0.01)
    answered_at = None
    events = []
    for status in flow:
        at += datetime.timedelta(seconds=rng.uniform(0.5, 8))
        if status == "amd":
            events.append({"call_uuid": leg, "conversation_uuid": conversation,
                           "status": rng.choice(("human", "human", "human", "machine")),
                           "timestamp": _stamp(at)})
            continue
        event = {"from": "447700900000", "to": callee, "uuid": leg,
                 "conversation_uuid": conversation, "status": status,
                 "direction": "outbound", "timestamp": _stamp(at)}
        if status in DETAILS:
            event["detail"] = DETAILS[status]
        if status == "answered":
            answered_at = at
            event.update(start_time=_stamp(at), rate="0.01270000", network="23410")
        if status == "completed" and answered_at is not None:
            duration = round((at - answered_at).total_seconds())
            event.update(start_time=_stamp(answered_at), end_time=_stamp(at),
                         duration=str(duration), rate="0.01270000",
                         price=f"{duration * 0.0127 / 60:.8f}", network="23410",
                         disconnected_by=rng.choice(("user", "platform")))
        events.append(event)
    return events


def vonage_events(calls: range, *, seed: int = 1) -> list[dict[str, Any]]:
    """Every event of `calls`, duplicates included, shuffled within windows of calls."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for first in range(calls.start, calls.stop, SHUFFLE_WINDOW):
        window = [event for index in range(first, min(first + SHUFFLE_WINDOW, calls.stop))
                  for event in call_events(index, seed=seed, start=START)]
        window += [event for event in window if rng.random() < DUPLICATE_SHARE]
        rng.shuffle(window)
        events += window
    return events


def seed_placed_calls(account: Any, calls: range, *, seed: int,
                      unknown_share: float = UNKNOWN_SHARE) -> None:
    """The calls among `calls` that Callboard placed (submitted, awaiting their events)."""
    from calls.models import Call, CallStatus

    placed = []
    for index in calls:
        if random.Random(f"{seed}:{index}:known").random() < unknown_share:
            continue
        leg, conversation, callee = call_ids(index, seed)
        placed.append(Call(
            account=account, provider="vonage", from_number="447700900000",
            to_endpoint={"type": "phone", "number": callee}, to_display=callee,
            status=CallStatus.SUBMITTED, provider_call_id=leg, conversation_id=conversation,
        ))
    Call.objects.bulk_create(placed, batch_size=2000)


class Events:
    """Hands out the signed requests of consecutive, never-used calls."""

    def __init__(self, stack: run.Stack, account: Any, *, seed: int,
                 unknown_share: float = UNKNOWN_SHARE) -> None:
        self.account = account
        self.unknown_share = unknown_share
        self.host = f"{run.HOST}:{stack.port}"
        self.path = f"/hooks/{account.webhook_token}/events"
        self.seed = seed
        self.next_call = 0

    def requests(self, count: int) -> list[bytes]:
        calls = range(self.next_call, self.next_call + math.ceil(count / EVENTS_PER_CALL * 1.2))
        self.next_call = calls.stop
        seed_placed_calls(self.account, calls, seed=self.seed, unknown_share=self.unknown_share)
        payloads = vonage_events(calls, seed=self.seed)
        return list(vonage.signed_posts(payloads[:count], path=self.path, host=self.host))


def stored_counts() -> dict[str, int]:
    from calls.models import CallEvent, WebhookDelivery

    deliveries = WebhookDelivery.objects.filter(endpoint="events")
    return {
        "stored": deliveries.count(),
        "applied": deliveries.filter(verified=True, applied_at__isnull=False,
                                     apply_error="").count(),
        "events": CallEvent.objects.filter(source="webhook").count(),
        "duplicates": CallEvent.objects.filter(source="webhook", is_duplicate=True).count(),
    }


def apply_batches() -> dict[str, int]:
    """The workers' batches so far by how they were applied (APPLY_BATCHES, read from the
    metric files every worker process writes, the stopped ones' too)."""
    from django.conf import settings
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    return {sample.labels["how"]: int(sample.value) for family in registry.collect()
            if family.name == "callboard_webhook_apply_batches"
            for sample in family.samples if sample.name.endswith("_total")}


def pending() -> int:
    from calls.models import WebhookDelivery
    from calls.services.deliveries import PENDING

    return WebhookDelivery.objects.filter(PENDING).count()


def drain(timeout: float) -> float:
    """Seconds until the workers applied every stored delivery (inf if not within timeout)."""
    started = time.monotonic()
    while pending():
        if time.monotonic() - started > timeout:
            return math.inf
        time.sleep(0.2)
    return time.monotonic() - started


def apply_lags(after_id: int) -> list[float]:
    """Seconds from accepted to applied of every delivery stored after `after_id`, in the
    order they arrived: the call row changes in the transaction that marks it applied."""
    from calls.models import WebhookDelivery

    rows = WebhookDelivery.objects.filter(
        id__gt=after_id, endpoint="events", applied_at__isnull=False
    ).order_by("id").values_list("received_at", "applied_at")
    return [(applied - received).total_seconds() for received, applied in rows]


def p95_by_tenth(lags: list[float]) -> list[float]:
    """The lag's p95 in each tenth of the run (lags in arrival order): whether it grows."""
    size = max(1, math.ceil(len(lags) / 10))
    return [run.percentile(sorted(lags[i:i + size]), 95) for i in range(0, len(lags), size)]


class Waits:
    """What the benchmark's PostgreSQL backends were doing during the block, sampled every
    20 ms (pg_stat_activity), and how many of the machine's cores were busy: whether a slow
    request path waited on its commit's WAL, on a lock, or for a core the appliers held."""

    def __enter__(self) -> Waits:
        self.samples = 0
        self.active: Counter[tuple[str, str]] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._busy = self._cpu_ticks()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        busy, total = (end - start for start, end in zip(self._busy, self._cpu_ticks(),
                                                           strict=True))
        self.cores_busy = busy / max(total, 1) * (os.cpu_count() or 1)

    @staticmethod
    def _cpu_ticks() -> tuple[int, int]:
        """(busy, all) jiffies of every core since boot (/proc/stat; idle and iowait are not
        busy)."""
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
        return sum(ticks) - ticks[3] - ticks[4], sum(ticks)

    def _sample(self) -> None:
        with run.psycopg_connection("postgres") as conn:
            while not self._stop.wait(0.02):
                self.samples += 1
                for app, wait in conn.execute(
                        "SELECT application_name, CASE WHEN wait_event LIKE 'WAL%%' THEN 'WAL' "
                        "WHEN wait_event_type = 'Lock' THEN 'lock' ELSE 'other' END "
                        "FROM pg_stat_activity WHERE datname = %s AND state = 'active'",
                        [run.DATABASE]):
                    self.active[app, wait] += 1

    def note(self) -> str:
        def mean(app: str, *waits: str) -> float:
            return sum(n for (a, w), n in self.active.items()
                       if a == app and (not waits or w in waits)) / max(self.samples, 1)

        return (f"web backends active {mean(run.WEB_APP_NAME):.2f} (on the WAL "
                f"{mean(run.WEB_APP_NAME, 'WAL'):.2f}, a lock "
                f"{mean(run.WEB_APP_NAME, 'lock'):.2f}), workers' "
                f"{mean(run.WORKER_APP_NAME):.2f} (a lock {mean(run.WORKER_APP_NAME, 'lock'):.2f});"
                f" {self.cores_busy:.2f} cores busy")


def last_delivery_id() -> int:
    from calls.models import WebhookDelivery

    return WebhookDelivery.objects.order_by("-id").values_list("id", flat=True).first() or 0


def sustained(stack: run.Stack, events: Events, *, rate: float, seconds: float
              ) -> tuple[run.Load, float, float, float, list[float], float]:
    """`rate` events/s for `seconds` with the workers applying: (the requests' load, web CPU
    s, workers' CPU s, the load generator's CPU s, apply lags in arrival order, s until all
    applied after the last was sent). The load generator (this process) shares the cores
    with the server: its CPU says how much of them it took."""
    requests = events.requests(int(rate * seconds))
    after = last_delivery_id()
    with run.CpuMeter(stack) as web, run.WorkerCpuMeter(stack) as workers:
        client = time.process_time()
        load = run.paced(stack, requests, rate=rate)
        client = time.process_time() - client
        drained = drain(timeout=600)
    return load, web.seconds, workers.seconds, client, apply_lags(after), drained


def signed_for(stack: run.Stack, events: Events, *, seconds: float,
               bare_rate: float) -> Path:
    """A file of freshly signed events for wrk to post at full speed for `seconds`."""
    # Never more than the bare view could take: the events cannot go faster than it.
    count = math.ceil(bare_rate * seconds * 1.1) + 1000
    requests_file = stack.tmp / "events.requests"
    run.write_requests(requests_file, events.requests(count))
    return requests_file


def main() -> None:
    options = run.arguments(__doc__.splitlines()[0], duration=60.0, rate=500.0,
                            paced_duration=20.0, inline_duration=20.0, connections=16,
                            sustained_rate=1000.0, sustained_duration=60.0,
                            worker_nice=10, seed=1).parse_args()
    report = run.Report("webhook ingestion", {
        "duration_s": options.duration, "paced_rate": options.rate,
        "paced_duration_s": options.paced_duration, "wrk_connections": options.connections,
        "gunicorn": f"{run.WEB_WORKERS} workers x {run.WEB_THREADS} threads",
        "celery_workers": f"2 at nice {options.worker_nice}",
        "WEBHOOK_APPLY_IN_WORKER": True})
    with run.Stack(keep_database=options.keep_database,
                   # a hooks-only web node's settings (README, CONN_HEALTH_CHECKS)
                   env={"WEBHOOK_APPLY_IN_WORKER": "true", "CONN_HEALTH_CHECKS": "false"}) as stack:
        # Answering providers cannot wait; applying can: the workers yield the CPU to the web.
        stack.start_workers(2, nice=options.worker_nice)
        events = Events(stack, vonage.seed_account(), seed=options.seed)
        sent = 0
        with run.step("warming up (both endpoints)"):
            run.bare_paced(stack, rate=200, seconds=2)
            warmup = events.requests(600)
            run.paced(stack, warmup, rate=200)
            sent += len(warmup)
            drain(timeout=60)
        with run.step(f"bare view at full speed for {options.duration:g} s"):
            bare, bare_cpu = run.bare_wrk(stack, seconds=options.duration,
                                          connections=options.connections)
        with run.step(f"durable-insert view at full speed for {options.duration:g} s"):
            durable, durable_cpu = run.durable_wrk(
                stack, json.dumps(call_events(0, seed=options.seed, start=START)[0]).encode(),
                seconds=options.duration, connections=options.connections)
        # Like the baselines, accepting alone: applying is measured on its own below, and
        # together with accepting in the sustained run.
        stack.stop_workers()
        with run.step("placing their calls and signing the events"):
            requests_file = signed_for(stack, events, seconds=options.duration,
                                       bare_rate=bare.rate)
        with run.step(f"events at full speed for {options.duration:g} s, the workers "
                      "stopped"), run.CpuMeter(stack) as cpu:
            hooks = run.wrk(stack, requests_file, seconds=options.duration,
                            connections=options.connections)
            sent += hooks.sent
            requests_file.unlink()
        with run.step("the workers applying that backlog"):
            backlog = pending()
            stack.start_workers(2, nice=options.worker_nice)
            drained = drain(timeout=max(600.0, options.duration * 10))
        requests_file = signed_for(stack, events, seconds=options.duration / 2,
                                   bare_rate=bare.rate)
        with run.step(f"events at full speed for {options.duration / 2:g} s with the workers "
                      "applying"):
            hooks_applying = run.wrk(stack, requests_file, seconds=options.duration / 2,
                                     connections=options.connections)
            sent += hooks_applying.sent
            requests_file.unlink()
            drain(timeout=max(600.0, options.duration * 10))
        with run.step(f"events at {options.sustained_rate:g}/s for "
                      f"{options.sustained_duration:g} s with the workers applying"):
            steady, web_s, workers_s, client_s, lags, steady_drained = sustained(
                stack, events, rate=options.sustained_rate,
                seconds=options.sustained_duration)
            sent += steady.sent
        paced_count = int(options.rate * options.paced_duration)
        with run.step(f"bare view and events at {options.rate:g}/s for "
                      f"{options.paced_duration:g} s each"):
            bare_paced = run.bare_paced(stack, rate=options.rate,
                                        seconds=options.paced_duration)
            paced_requests = events.requests(paced_count)
            with run.WalMeter() as paced_wal, Waits() as paced_waits, \
                    run.RunQueue(stack.web_worker_pids) as paced_web:
                hooks_paced = run.paced(stack, paced_requests, rate=options.rate)
            sent += hooks_paced.sent
            paced_drained = drain(timeout=600)
        with run.step(f"events at {options.rate:g}/s for {options.paced_duration:g} s with "
                      "the workers stopped (they apply them afterwards)"):
            stack.stop_workers()
            alone_requests = events.requests(paced_count)
            with run.WalMeter() as alone_wal, Waits() as alone_waits, \
                    run.RunQueue(stack.web_worker_pids) as alone_web:
                hooks_alone = run.paced(stack, alone_requests, rate=options.rate)
            sent += hooks_alone.sent
            stack.start_workers(2, nice=options.worker_nice)
            drain(timeout=600)
        counts = stored_counts()
        batches = apply_batches()
        with run.step(f"applying in the request (WEBHOOK_APPLY_IN_WORKER off), full speed "
                      f"for {options.inline_duration:g} s"):
            stack.restart_server(WEBHOOK_APPLY_IN_WORKER="false")
            inline_file = stack.tmp / "inline.requests"
            run.write_requests(inline_file, events.requests(
                math.ceil(bare.rate * options.inline_duration)))
            inline = run.wrk(stack, inline_file, seconds=options.inline_duration,
                             connections=options.connections)

    accepted = (hooks.responses - hooks.bad_status) / hooks.seconds
    accepted_applying = ((hooks_applying.responses - hooks_applying.bad_status)
                         / hooks_applying.seconds)
    steady_cpu_ms = (web_s + workers_s) / steady.responses * 1000 if steady.responses else math.nan
    ordered_lags = sorted(lags)
    note = " (wrk ran out of signed requests: raise the estimate)" if hooks.exhausted else ""
    report.add(
        run.Figure("accepted events/s", accepted, "/s", bare.rate, (">=", 0.5), True,
                   note=f"{hooks.responses} responses, {hooks.bad_status} not 2xx, "
                        f"{hooks.errors} socket errors{note}"),
        run.Figure("accepted events/s on 2 cores", accepted, "/s", bare.rate, (">=", 850)),
        run.Figure("accepted events/s vs the durable insert", accepted, "/s", durable.rate,
                   (">=", 0.6), True,
                   note=f"baseline: the raw body in one INSERT that commits (/bench/durable), "
                        f"{durable_cpu:.2f} ms of server CPU per request; this figure's "
                        "'bare view' column is that baseline"),
        *run.cpu_figures(hooks, cpu, bare_cpu, noun="event", verb="accept",
                         measured="gunicorn workers and their PostgreSQL backends (not the "
                                  "applying workers')"),
        *run.latency_figures("full speed {}", hooks, bare),
        run.Figure("accepted events/s with the workers applying, vs the durable insert",
                   accepted_applying, "/s", durable.rate,
                   note="for comparison: the same at full speed for half as long, the two "
                        "workers applying on the same cores at nice "
                        f"{options.worker_nice}; p99 {hooks_applying.p99:.1f} ms"),
        run.Figure("applied events/s, a backlog", backlog / drained if drained else math.nan,
                   "/s", note=f"the two workers, started with {backlog} events waiting, "
                              f"had applied them {drained:.1f} s later"),
        run.Figure(f"achieved at {options.sustained_rate:g}/s, workers applying", steady.rate,
                   "/s", target=(">=", options.sustained_rate * 0.98),
                   note=f"statuses {steady.statuses}; request p99 {steady.p99:.1f} ms; the load "
                        f"generator {client_s / max(steady.sent, 1) * 1000:.2f} ms of CPU per "
                        f"request, {client_s / steady.seconds:.2f} cores"),
        run.Figure("apply lag p95 (accepted → call changed)", run.percentile(ordered_lags, 95),
                   "s", target=("<=", 1),
                   note=f"p50 {run.percentile(ordered_lags, 50):.2f} s; p95 in each tenth of "
                        "the run: " + " ".join(f"{p:.2f}" for p in p95_by_tenth(lags))),
        run.Figure("apply lag max", ordered_lags[-1] if lags else math.nan, "s",
                   target=("<=", 3),
                   note=f"all applied {steady_drained:.1f} s after the last was sent"),
        run.Figure("total CPU per event (accept + apply)", steady_cpu_ms, "ms",
                   target=("<=", 1.5),
                   note=f"web {web_s / max(steady.responses, 1) * 1000:.2f} + workers "
                        f"{workers_s / max(steady.responses, 1) * 1000:.2f} ms (each with its "
                        "PostgreSQL backends)"),
        run.Figure("events/s the cores could accept and apply", run.capacity(steady_cpu_ms),
                   "/s", note="cores / total CPU per event"),
        *run.latency_figures(
            f"{{}} at {options.rate:g}/s", hooks_paced, bare_paced, p99_target=("<=", 50),
            p99_note=f"achieved {hooks_paced.rate:.0f}/s, statuses {hooks_paced.statuses}; "
                     f"all applied {paced_drained:.1f} s after the last was sent; "
                     f"{paced_wal.note(hooks_paced.responses)}; {paced_waits.note()}; "
                     f"gunicorn's workers {paced_web.note(hooks_paced.responses)}"),
        run.Figure(f"p99 at {options.rate:g}/s, workers stopped", hooks_alone.p99, "ms",
                   bare_paced.p99, note=f"p50 {hooks_alone.p50:.1f} ms, p95 "
                                       f"{hooks_alone.p95:.1f} ms: the request path alone, "
                                       "with nobody applying on the same cores; "
                                       f"{alone_wal.note(hooks_alone.responses)}; "
                                       f"{alone_waits.note()}; gunicorn's workers "
                                       f"{alone_web.note(hooks_alone.responses)}"),
        run.Figure("events sent", sent, "", note=(
            f"stored {counts['stored']}, verified and applied {counts['applied']}, call "
            f"events {counts['events']} ({counts['duplicates']} marked duplicate)")),
        run.Figure("events lost (sent − stored)", sent - counts["stored"], "", target=("<=", 0)),
        run.Figure("stored but not applied", counts["stored"] - counts["applied"], "",
                   target=("<=", 0)),
        run.Figure("worker batches applied one by one", batches.get("one_by_one", 0), "",
                   note=f"of {sum(batches.values())} batches {batches}: a batch that failed "
                        "(two crossing over a new call) is applied a delivery per transaction"),
        run.Figure("applying in the request: events/s", inline.rate, "/s", bare.rate,
                   note="for comparison: WEBHOOK_APPLY_IN_WORKER off, each event applied "
                        "before the answer"),
    )
    run.finish(report, options.json)


if __name__ == "__main__":
    main()
