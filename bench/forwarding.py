"""Benchmark: event forwarding keeps up with ingestion. `python -m bench.forwarding`

The webhook benchmark's signed Vonage events (bench/webhooks.py) at its sustained rate
(--rate, 500/s) for --duration seconds, applied by two workers (WEBHOOK_APPLY_IN_WORKER), with
one subscription taking every event type to a receiver on loopback (tests/fakes/receiver.py).
The same load with the subscription disabled, before and after, to see what forwarding costs
the workers.
--forwarding-workers N adds N workers that consume forwarding's queue only.

Figures: forwarding lag (the receiver's first receipt of each event minus when Callboard
received the webhook behind it) p50/p95/max, target p95 ≤ 2 s, and its own part from the
outbox row, split into the wait before the POST and the POST itself; events lost (outbox rows
whose webhook-id never reached the receiver), target 0; the workers' CPU per forwarded
event (workers and their PostgreSQL backends, with forwarding minus without) beside the bare
view's CPU per request. The machine may be shared: compare ratios from one run.
"""

from __future__ import annotations

import datetime
import math
import statistics
import time
from pathlib import Path
from typing import NamedTuple

from bench import run, vonage, webhooks
from tests.fakes.receiver import Receiver


class WorkerCpu(run.CpuMeter):
    """CPU of the Celery workers (their pool processes included) and of the database
    backends other than the web server's: where applying and forwarding run."""

    def _pids(self) -> list[int]:
        pids = []
        for worker in self.stack.workers:
            pid = worker.process.pid
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pids += [pid, *map(int, children)]
        with run._admin_connection() as conn:
            pids += [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND "
                    "application_name <> %s",
                    [run.DATABASE, run.WEB_APP_NAME],
                )
            ]
        return pids


def forwarding_pending() -> int:
    from forwarding.models import Delivery, DeliveryStatus

    return Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).count()


def settle(timeout: float) -> float:
    """Seconds until every webhook is applied and every forwarded event delivered."""
    started = time.monotonic()
    while webhooks.pending() or forwarding_pending():
        if time.monotonic() - started > timeout:
            return math.inf
        time.sleep(0.2)
    return time.monotonic() - started


class Lags(NamedTuple):
    """Per forwarded event, seconds, each list sorted."""

    end_to_end: list[float]  # the webhook's arrival at Callboard -> the event's at the receiver
    own: list[float]  # its outbox row written (a worker applied the webhook) -> the receiver
    waited: list[float]  # the outbox row -> its POST started (commit, queue, claim)
    posted: list[float]  # the POST started -> the receiver had it (the request itself)


def lags(receiver: Receiver) -> Lags:
    """Each forwarded event's first arrival at the receiver against when its webhook reached
    Callboard, when its outbox row was written and when its first POST started."""
    from forwarding.models import Delivery

    first: dict[str, float] = {}
    received_at: dict[str, float] = {}
    for request in receiver.taken():
        key = request.headers["webhook-id"]
        if key in first:
            continue
        first[key] = request.at
        moment = request.json()["data"]["event"]["received_at"].replace("Z", "+00:00")
        received_at[key] = datetime.datetime.fromisoformat(moment).timestamp()
    # The first attempt's start: every delivery of a run that lost none was tried once.
    made = {
        key: (created.timestamp(), tried.timestamp())
        for key, created, tried in Delivery.objects.filter(message_id__in=list(first))
        .values_list("message_id", "created_at", "last_attempt_at")
    }
    return Lags(
        end_to_end=sorted(first[key] - received_at[key] for key in first),
        own=sorted(first[key] - made[key][0] for key in made),
        waited=sorted(tried - created for created, tried in made.values()),
        posted=sorted(first[key] - made[key][1] for key in made),
    )


def p50_p95(values: list[float]) -> str:
    return f"{run.percentile(values, 50) * 1000:.0f} / {run.percentile(values, 95) * 1000:.0f} ms"


def main() -> None:
    options = run.arguments(
        __doc__.splitlines()[0], duration=20.0, rate=500.0, worker_nice=10, seed=3,
        forwarding_workers=0,
    ).parse_args()
    report = run.Report(
        "event forwarding",
        {
            "rate": options.rate,
            "duration_s": options.duration,
            "celery_workers": f"2 at nice {options.worker_nice}",
            "forwarding_only_workers": options.forwarding_workers,
            "subscriptions": 1,
            "WEBHOOK_APPLY_IN_WORKER": True,
        },
    )
    receiver = Receiver().start()
    with run.Stack(
        keep_database=options.keep_database,
        env={"WEBHOOK_APPLY_IN_WORKER": "true", "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"},
    ) as stack:
        from django.conf import settings

        from forwarding import services
        from forwarding.models import Delivery, EventType
        from portal.celery import separate_queue
        from portal.services import SYSTEM

        settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
        subscription, _ = services.subscription_create(
            actor=SYSTEM,
            values={"name": "bench receiver", "url": receiver.url, "event_types": EventType.values},
        )
        stack.start_workers(2, nice=options.worker_nice)
        # Workers of forwarding's queue alone, to compare with workers that take both queues.
        stack.start_workers(options.forwarding_workers, nice=options.worker_nice,
                            queue=separate_queue(run.QUEUE, "forwarding"))
        events = webhooks.Events(stack, vonage.seed_account(), seed=options.seed)
        count = int(options.rate * options.duration)
        with run.step("warming up"):
            run.paced(stack, events.requests(400), rate=200)
            bare = run.bare_paced(stack, rate=200, seconds=2)
            settle(timeout=120)
            receiver.received.clear()
        with (
            run.step(f"bare view at {options.rate:g}/s for {options.duration:g} s"),
            run.CpuMeter(stack) as bare_cpu,
        ):
            bare = run.bare_paced(stack, rate=options.rate, seconds=options.duration)

        def events_run(what: str) -> tuple[run.Load, float, WorkerCpu]:
            """The run's webhooks at its rate: what was sent, the seconds until all was
            applied and delivered after, and the workers' CPU meanwhile."""
            batch = events.requests(count)
            with (
                run.step(f"events at {options.rate:g}/s for {options.duration:g} s, {what}"),
                WorkerCpu(stack) as cpu,
            ):
                load = run.paced(stack, batch, rate=options.rate)
                settled = settle(timeout=600)
            return load, settled, cpu

        def forwarding_on(on: bool) -> None:
            subscription.enabled = on
            subscription.save(update_fields=["enabled"])

        # The run without forwarding before and after the one with it: on a shared machine
        # one run's CPU alone moved by half between runs of the same code (docs/performance.md,
        # section 9), so the baseline is their mean and both are printed.
        forwarding_on(False)
        plain = [events_run("not forwarded, before")]
        forwarding_on(True)
        before = Delivery.objects.count()
        forwarded_load, forwarded_settled, forwarding_cpu = events_run("forwarded")
        made = Delivery.objects.count() - before
        lost = made - len({r.headers["webhook-id"] for r in receiver.taken()})
        lag = lags(receiver)
        forwarding_on(False)
        plain.append(events_run("not forwarded, after"))
    receiver.stop()

    plain_seconds = [cpu.seconds for _, _, cpu in plain]
    per_event = (forwarding_cpu.seconds - statistics.mean(plain_seconds)) / max(made, 1) * 1000
    bare_per_request = bare_cpu.per_request_ms(bare)
    end_to_end = lag.end_to_end
    report.add(
        run.Figure("forwarding lag p50", run.percentile(end_to_end, 50) * 1000, "ms"),
        run.Figure(
            "forwarding lag p95",
            run.percentile(end_to_end, 95) * 1000,
            "ms",
            target=("<=", 2000),
            note=f"webhook received -> receiver got it; {len(end_to_end)} events, "
            f"webhooks at {forwarded_load.rate:.0f}/s",
        ),
        run.Figure("forwarding lag max", (end_to_end[-1] if end_to_end else math.nan) * 1000,
                   "ms"),
        run.Figure(
            "applied -> received p95",
            run.percentile(lag.own, 95) * 1000,
            "ms",
            note=f"forwarding's own part: outbox row written -> receiver got it "
            f"(p50 {run.percentile(lag.own, 50) * 1000:.0f} ms); of it, outbox row -> POST "
            f"started p50 / p95 {p50_p95(lag.waited)}, POST -> received {p50_p95(lag.posted)}",
        ),
        run.Figure(
            "forwarded events",
            made,
            "",
            note=f"from {forwarded_load.sent} webhooks; "
            f"all applied and delivered {forwarded_settled:.1f} s after the last",
        ),
        run.Figure("forwarded events lost", lost, "", target=("<=", 0)),
        run.Figure(
            "worker CPU per forwarded event",
            per_event,
            "ms",
            bare_per_request,
            note=f"workers + their DB backends, {forwarding_cpu.seconds:.1f} s with "
            f"forwarding − the mean of {' and '.join(f'{s:.1f}' for s in plain_seconds)} s "
            f"without, before and after (settled "
            f"{' and '.join(f'{settled:.1f}' for _, settled, _ in plain)} s after "
            f"{plain[0][0].sent} webhooks), per event; "
            "baseline: the bare view's server CPU per request",
        ),
    )
    run.finish(report, options.json)


if __name__ == "__main__":
    main()
