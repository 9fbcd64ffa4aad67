"""Benchmark 5: placement rate under the calls-per-second limit. `python -m bench.placement`

Calls are placed through `call_place` (as the form and the API do) on a Vonage account whose
API is the loopback fake provider (tests/fakes/provider_server.py: it checks requests
against Vonage's OpenAPI document, the first 50 and then one in ten, and notes when each
create-call request arrives). The calls are queued first; then two Celery workers (Celery's
default pool: one process per core) start and send them, sharing the account's limit.
Measured at the provider: the achieved rate from the first request to the last, and the
most requests in any one-second window.

1. limit 3/s: --slow-calls calls (default 120, about 40 s; 1,000 would take 5.5 minutes);
2. limit 50/s: --calls calls (default 1,000).

Targets (issue 10): at 3/s the achieved rate is 2.9 to 3.0 and never above 3 in any second;
at 50/s it reaches at least 45.
"""

from __future__ import annotations

import os
import time

from bench import run

# The fake checks the first 50 requests against Vonage's OpenAPI document, then one in ten:
# the check (openapi-core) costs more CPU than Callboard's send, on the same two cores.
SPEC_CHECK_EVERY = 10


def place_and_send(stack: run.Stack, *, cps: float, calls: int, timeout: float
                   ) -> tuple[list[float], float]:
    """(arrival times at the provider, seconds until every call was submitted)."""
    from calls.models import Call, CallStatus
    from calls.services import placing
    from portal.services import SYSTEM
    from tests.calls.placing import FROM, phone, vonage_setup
    from tests.fakes.provider_server import FakeProvider

    fakes: list[FakeProvider] = []

    def fake_provider(*specs: str) -> FakeProvider:
        fakes.append(FakeProvider(*specs, check_every=SPEC_CHECK_EVERY).start())
        return fakes[-1]

    setup = vonage_setup(fake_provider, cps=cps)
    setup.accept_all()
    try:
        with run.step(f"queueing {calls} calls on an account limited to {cps:g}/s"):
            for n in range(calls):
                placing.call_place(actor=SYSTEM, via=placing.VIA_API,
                                    application=setup.application, from_number=FROM,
                                    to=phone(f"+3161{n:07d}"), flow={"type": "application"})
        with run.step("two workers sending them"):
            started = time.monotonic()
            stack.start_workers(2)
            submitted = Call.objects.filter(account=setup.account, status=CallStatus.SUBMITTED)
            while submitted.count() < calls and time.monotonic() - started < timeout:
                time.sleep(0.5)
            seconds = time.monotonic() - started
            stack.stop_workers()
        problems = [problem for fake in fakes for problem in fake.problems()]
        if problems:
            raise SystemExit("The fake provider saw requests Vonage would refuse:\n"
                             + "\n".join(problems[:10]))
    finally:
        for fake in fakes:
            fake.stop()
    return sorted(setup.arrivals), seconds


def rate_figures(label: str, cps: float, arrivals: list[float], calls: int, *,
                 at_least: float) -> list[run.Figure]:
    from tests.calls.services.test_ratelimit import most_in_one_second

    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    return [
        run.Figure(f"{label}: achieved calls/s", achieved, "/s", target=(">=", at_least),
                   note=f"{len(arrivals)} of {calls} create requests arrived; smallest gap "
                        f"{min(gaps, default=0) * 1000:.0f} ms"),
        run.Figure(f"{label}: most in any 1 s", most_in_one_second(arrivals), "",
                   target=("<=", cps)),
    ]


def main() -> None:
    options = run.arguments(__doc__.splitlines()[0], slow_calls=120, calls=1000,
                            ).parse_args()
    report = run.Report("placement rate", {"celery_workers": 2,
                                           "worker_concurrency": os.cpu_count(),
                                           "slow_calls": options.slow_calls,
                                           "calls": options.calls})
    with run.Stack(keep_database=options.keep_database,
                   env={"OUTBOUND_ALLOWED_HOSTS": run.HOST}) as stack:
        slow, _ = place_and_send(stack, cps=3, calls=options.slow_calls,
                                 timeout=options.slow_calls / 3 * 2 + 60)
        fast, _ = place_and_send(stack, cps=50, calls=options.calls,
                                 timeout=options.calls / 50 * 3 + 60)
    report.add(*rate_figures("limit 3/s", 3, slow, options.slow_calls, at_least=2.9),
               *rate_figures("limit 50/s", 50, fast, options.calls, at_least=45))
    run.finish(report, options.json)


if __name__ == "__main__":
    main()
