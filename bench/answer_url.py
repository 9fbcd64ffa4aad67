"""Benchmark 2: the hosted answer URL. `python -m bench.answer_url [--duration 60]`

Vonage asks /hooks/<token>/answer/<application_id> with GET and its parameters (to, from,
uuid, conversation_uuid, endpoint_type, region_url), signed over them. The application
serves a hosted NCCO with placeholders: the caller's numbers, the leg id, and a per-call
variable from the tag of the call Callboard placed (half of the requests; the other half are
calls Callboard does not know, which get the application's default). Each request is
answered with the rendered NCCO and recorded as an AnswerRequest.

1. wrk at full speed for --duration seconds (and the bare view the same way);
2. the paced client at --rate requests per second for --paced-duration seconds (and the bare
   view at the same rate);
3. the same again while signed provider events arrive at --events-rate per second and two
   Celery workers (nice 10) apply them, as they would on a busy day (0: left out);
4. the same once more with the events sent to one of the server's processes and the answers
   to the other, as a reverse proxy routing the event URL's path apart would send them
   (docs/operations.md): the same processes, but answers no longer queue behind events.
   `--events-nice 3` runs the events' process at nice 3 (about half the answers' share of a
   core when both want one, as an event unit of `CPUWeight=50` against 100 would); by default
   both at one priority, the shape docs/operations.md recommends. The p99 target with events
   is judged on this shape; the first one's figures are printed beside it, for comparison.

Beside the bare view, the durable-insert baseline (/bench/durable, the webhook benchmark's):
every answer is recorded, so it is the floor here too.

Targets (issues 10 and 22): ≥ 0.8× the bare view's rate and ≥ 0.6× the durable insert's;
p99 ≤ 20 ms at 200 requests per second, also while events arrive at 500/s.
A signed answer request is answered once (a second time it is a replay, refused with 401),
so each phase sends requests signed for it, right before it (iat within 5 min), each once:
the full-speed phase as many as the durable insert's rate could take in --duration, with a
margin (it stops early, and says so, if they run out). Rates and CPU count 2xx answers only;
a phase that got anything else is printed beside its figure and fails the run.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
import uuid

from bench import run, vonage, webhooks

GREETING = [
    {"action": "talk", "language": "en-GB",
     "text": "Hello {{custom.customer}}, this is {{from}} calling {{to}} about your order "
             "{{custom.order}}."},
    {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1, "timeOut": 5},
     "eventUrl": ["https://example.com/ivr/{{uuid}}/input"]},
    {"action": "talk", "text": "Thank you. Goodbye."},
]
DEFAULTS = {"customer": "valued customer", "order": "unknown"}
# Signed requests for the full-speed phase, per second the durable insert sustained: an
# answer is that insert and more, so it is never that fast; the margin is for the noise.
REQUESTS_PER_DURABLE_ANSWER = 1.25


def seed_application(account, calls: int, *, seed: int):
    """The application with its hosted NCCO, and the calls Callboard placed through it."""
    from django.db import connection

    from calls.models import Call, CallStatus
    from portal.services import SYSTEM
    from voiceapps.models import Application
    from voiceapps.ncco.services import ncco_document_create

    document = ncco_document_create(actor=SYSTEM, name="Bench greeting",
                                    content=GREETING).version.document
    application = Application.objects.create(account=account, name="Bench line",
                                             ncco_document=document, variables=DEFAULTS)
    rng = random.Random(seed)
    Call.objects.bulk_create([
        Call(account=account, provider="vonage", application=application,
             from_number="447700900000", to_display=f"4477009{n:05d}",
             to_endpoint={"type": "phone", "number": f"4477009{n:05d}"},
             status=CallStatus.RINGING, provider_call_id=str(uuid.UUID(int=rng.getrandbits(128))),
             tag={"customer": f"Customer {n}", "order": f"A-{n:06d}"})
        for n in range(calls)
    ], batch_size=2000)
    # Statistics, as any table in use has them: without, the planner walked the account's
    # calls newest first to find a leg it did not know (call_by_uuid), 2,000 rows an answer.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return application


def answer_requests(stack: run.Stack, application, *, count: int, seed: int) -> list[bytes]:
    """Signed GETs: every other one for a call Callboard placed, the rest for unknown legs."""
    from calls.models import Call

    placed = list(Call.objects.filter(application=application)
                  .values_list("provider_call_id", "to_display"))
    rng = random.Random(seed + 1)
    path = f"/hooks/{application.account.webhook_token}/answer/{application.pk}"
    requests = []
    for n in range(count):
        leg, to = (placed[n // 2 % len(placed)] if n % 2 == 0
                   else (str(uuid.UUID(int=rng.getrandbits(128))), "447700911111"))
        params = {"to": to, "from": "447700900000", "uuid": leg,
                  "conversation_uuid": f"CON-{uuid.UUID(int=rng.getrandbits(128))}",
                  "endpoint_type": "phone", "region_url": "https://api-eu-1.vonage.com"}
        requests.append(vonage.signed_get(params, path=path, host=f"{run.HOST}:{stack.port}"))
    return requests


def check_answer(stack: run.Stack, request: bytes) -> None:
    """One request by hand: a 200 with the NCCO filled in, before anything is timed."""
    import asyncio

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(run.HOST, stack.port)
        writer.write(request.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1))
        data = await reader.read()
        writer.close()
        return data

    response = asyncio.run(exchange())
    if not response.startswith(b"HTTP/1.1 200") or b"Hello Customer " not in response:
        raise SystemExit(f"The answer URL did not answer as expected:\n{response[:2000]!r}")


def main() -> None:
    options = run.arguments(__doc__.splitlines()[0], duration=60.0, rate=200.0,
                            paced_duration=20.0, connections=16, events_rate=500.0,
                            events_nice=0, seed=1).parse_args()
    report = run.Report("answer URL", {
        "duration_s": options.duration, "paced_rate": options.rate,
        "paced_duration_s": options.paced_duration, "wrk_connections": options.connections,
        "gunicorn": f"{run.WEB_WORKERS} workers x {run.WEB_THREADS} threads"})
    with run.Stack(keep_database=options.keep_database,
                   env={"WEBHOOK_APPLY_IN_WORKER": "true"}) as stack:
        with run.step("seeding the application, its NCCO and 2,000 placed calls"):
            application = seed_application(vonage.seed_account(), 2000, seed=options.seed)
        # One of its own: a request answered once is refused the second time (401).
        check_answer(stack, answer_requests(stack, application, count=1,
                                            seed=options.seed + 5)[0])
        with run.step("warming up"):
            run.paced(stack, answer_requests(stack, application, count=400,
                                             seed=options.seed + 3), rate=200)
        with run.step(f"bare view at full speed for {options.duration:g} s"):
            bare, bare_cpu = run.bare_wrk(stack, seconds=options.duration,
                                          connections=options.connections)
        with run.step(f"durable-insert view at full speed for {options.duration:g} s"):
            durable, durable_cpu = run.durable_wrk(stack, b'{"status":"answered"}',
                                                   seconds=options.duration,
                                                   connections=options.connections)
        signed = math.ceil(durable.rate * options.duration * REQUESTS_PER_DURABLE_ANSWER)
        with run.step(f"signing {signed} answer requests"):
            requests_file = stack.tmp / "answer.requests"
            run.write_requests(requests_file, answer_requests(stack, application, count=signed,
                                                              seed=options.seed))
        with run.step(f"answer URL at full speed for {options.duration:g} s"), \
                run.CpuMeter(stack) as cpu:
            # Each signed request once: a second time it would be a replay (401).
            answer = run.wrk(stack, requests_file, seconds=options.duration,
                             connections=options.connections)
            requests_file.unlink()
        count = int(options.rate * options.paced_duration)
        with run.step(f"bare view and answer URL at {options.rate:g}/s for "
                      f"{options.paced_duration:g} s each"):
            bare_paced = run.bare_paced(stack, rate=options.rate,
                                        seconds=options.paced_duration)
            fresh = answer_requests(stack, application, count=count, seed=options.seed + 7)
            answer_paced = run.paced(stack, fresh, rate=options.rate)
        with_events_by_shape = {}
        if options.events_rate:
            stack.start_workers(2, nice=10)
            events = webhooks.Events(stack, application.account, seed=options.seed)
            with run.step(f"answer URL at {options.rate:g}/s while events arrive at "
                          f"{options.events_rate:g}/s, workers applying"):
                with_events_by_shape[""] = with_events(stack, application, options, events,
                                                       seed=options.seed + 11)
            with run.step(f"the same with the events routed to one of the "
                          f"{run.WEB_WORKERS} gunicorn processes, the answers to the rest"):
                webhooks.drain(timeout=600)  # not behind the first phase's applying
                events_port = stack.split_server(1, nice=options.events_nice)
                run.paced(stack, answer_requests(stack, application, count=200,
                                                 seed=options.seed + 13), rate=options.rate)
                routed = f", events routed apart (their process at nice {options.events_nice})"
                with_events_by_shape[routed] = with_events(
                    stack, application, options, events, seed=options.seed + 17,
                    events_port=events_port)
        from calls.models import AnswerRequest

        recorded = AnswerRequest.objects.filter(status_code=200).count()

    faults = {"full speed": refused(answer), f"at {options.rate:g}/s": refused(answer_paced)}
    exhausted = (f"; the {signed} signed requests ran out after {answer.seconds:.1f} s"
                 if answer.exhausted else "")
    answered_rate = answer.succeeded / answer.seconds
    report.add(
        run.Figure("answers/s", answered_rate, "/s", bare.rate, (">=", 0.8), True,
                   note=f"2xx only: {answer.responses} responses, {answer.bad_status} not 2xx, "
                        f"{answer.errors} socket errors{exhausted}; {recorded} answers "
                        f"recorded{faults['full speed']}"),
        *run.cpu_figures(answer, cpu, bare_cpu, noun="answer", verb="serve",
                         measured="gunicorn workers and their PostgreSQL backends"),
        *run.latency_figures("full speed {}", answer, bare),
        *run.latency_figures(f"{{}} at {options.rate:g}/s", answer_paced, bare_paced,
                             p99_target=("<=", 20),
                             p99_note=f"achieved {achieved(answer_paced)}, "
                                      f"statuses {answer_paced.statuses}"
                                      f"{faults[f'at {options.rate:g}/s']}"),
        run.Figure("answers/s vs the durable insert", answered_rate, "/s", durable.rate,
                   (">=", 0.6), True,
                   note=f"baseline: one INSERT that commits (/bench/durable), "
                        f"{durable_cpu:.2f} ms of server CPU per request"),
    )
    for shape, (busy, events_load, waited) in with_events_by_shape.items():
        faults[f"with events{shape}"] = refused(busy) + refused(events_load)
        # Judged on the shape docs/operations.md recommends (events routed apart); answers
        # queued behind the events on one server are printed for comparison.
        routed_apart = bool(shape)
        report.add(*run.latency_figures(
            f"{{}} at {options.rate:g}/s with events at {options.events_rate:g}/s{shape}", busy,
            bare_paced, p99_target=("<=", 20) if routed_apart else None,
            p99_note=f"achieved {achieved(busy)}, statuses {busy.statuses}; events "
                     f"achieved {achieved(events_load)}, p99 {events_load.p99:.1f} ms, "
                     f"statuses {events_load.statuses}"
                     f"{faults[f'with events{shape}']}; {waited}"))
    run.finish(report, options.json)
    failed = [phase for phase, fault in faults.items() if fault]
    if failed:
        raise SystemExit(f"!! Not every request was answered 2xx ({', '.join(failed)}): the "
                         "figures above are not honest ones.")


def achieved(load: run.Load) -> str:
    return f"{load.succeeded / load.seconds:.0f}/s 2xx"


def refused(load: run.Load) -> str:
    """"" if every response of the phase was 2xx, else a loud note of what was not (the
    paced client counts each request it sent as a response or an error)."""
    if not (load.bad_status or load.errors):
        return ""
    return f" !! {load.bad_status} NOT 2xx, {load.errors} socket errors: NOT an honest figure"


def with_events(stack: run.Stack, application, options, events: webhooks.Events, *,
                seed: int, events_port: int | None = None) -> tuple[run.Load, run.Load, str]:
    """Answers at --rate while signed events arrive at --events-rate (at `events_port`, if
    given) and the workers apply them: (the answers' load, the events' load, where the
    answers' time went)."""
    noise = events.requests(int(options.events_rate * (options.paced_duration + 3)))
    fresh = answer_requests(stack, application, count=int(options.rate * options.paced_duration),
                            seed=seed)
    stop = threading.Event()
    events_load: list[run.Load] = []
    sender = threading.Thread(target=lambda: events_load.append(
        run.paced(stack, noise, rate=options.events_rate, stop=stop, port=events_port)))
    sender.start()
    time.sleep(1)  # the events' stream and the workers under way
    with run.RunQueue(stack.web_worker_pids) as web, \
            run.RunQueue(lambda: run.backend_pids(run.WEB_APP_NAME)) as backends, \
            run.RunQueue(lambda: [os.getpid()]) as client, webhooks.Waits() as waits:
        busy = run.paced(stack, fresh, rate=options.rate)
    stop.set()
    sender.join()
    requests = busy.responses + events_load[0].responses
    return busy, events_load[0], (
        f"answers sent late p99 {busy.sent_late_p99:.1f} ms; gunicorn's workers "
        f"{web.note(requests)}, their PostgreSQL backends {backends.note(requests)}, this "
        f"client {client.note(requests)}; {waits.note()}")


if __name__ == "__main__":
    main()
