"""Benchmark 4: live call log latency. `python -m bench.live_latency [--events 60]`

A viewer has the call log open in Chromium (Playwright, /usr/bin/chromium). Signed Vonage
events move the 50 newest calls on, one event at a time: ringing, then answered, then
completed. For each, the time from the webhook's 200 to the moment that call's row shows the
new status in the page (a MutationObserver in the page notes it) is one sample, split in two at
the moment the event was applied (the call row's `updated_at`, stamped by the worker on this
machine's clock): applying's part, and the page's own (waiting for its poll, the answer, the
swap). Events go
out at random moments (the page polls every second: the phase matters), while
--background-rate events per second for older calls keep the server busy and the log
changing. The production configuration: events are applied by two Celery workers
(WEBHOOK_APPLY_IN_WORKER), so the figure includes the worker's share.

Target (issue 22, which tightened issue 10's 2 s): p95 ≤ 1 s.
"""

from __future__ import annotations

import datetime
import http.client
import os
import random
import threading
import time
import uuid

from bench import run, vonage, webhooks

WATCHED = 50  # the first page of the log
STEPS = ("ringing", "answered", "completed")
# Set by the page: when each "<call id>:<status>" first showed, in the browser's clock.
OBSERVER = """
window.__seen = {};
document.addEventListener("DOMContentLoaded", () => {
  const note = () => {
    for (const row of document.querySelectorAll('tr[id^="call-"]')) {
      const key = row.id.slice(5) + ":" + row.dataset.status;
      if (!(key in window.__seen)) window.__seen[key] = Date.now();
    }
  };
  note();
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true,
    attributes: true, attributeFilter: ["data-status"]});
});
"""


def watched_calls(account, count: int) -> list:
    """The newest calls: placed by Callboard, submitted, waiting for their events."""
    from calls.models import Call, CallStatus

    calls = []
    for n in range(count):
        leg = str(uuid.uuid4())
        calls.append(Call.objects.create(
            account=account, provider="vonage", from_number="447700900000",
            to_display=f"4477009{n:05d}", to_endpoint={"type": "phone", "number": "x"},
            status=CallStatus.SUBMITTED, provider_call_id=leg,
            conversation_id=f"CON-{uuid.uuid4()}"))
    return calls


def post_event(stack: run.Stack, path: str, call, status: str) -> float:
    """Send one signed status event; the time (ms since the epoch) its 200 arrived."""
    at = datetime.datetime.now(datetime.UTC)
    body, headers = vonage.signed_post({
        "from": call.from_number, "to": call.to_display, "uuid": call.provider_call_id,
        "conversation_uuid": call.conversation_id, "status": status, "direction": "outbound",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"})
    conn = http.client.HTTPConnection(run.HOST, stack.port, timeout=10)
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    accepted = time.time() * 1000
    conn.close()
    if response.status != 200:
        raise SystemExit(f"The event was refused: {response.status}")
    return accepted


def call_changed_at(call) -> float:
    """When the call's row last changed (ms since the epoch): the moment its event was
    applied, as the next event for this call is sent only after this one showed."""
    from calls.models import Call

    return Call.objects.get(pk=call.pk).updated_at.timestamp() * 1000


def main() -> None:
    options = run.arguments(__doc__.splitlines()[0], events=60, background_rate=50.0,
                            timeout=15.0, seed=1).parse_args()
    report = run.Report("live latency", {"events": options.events,
                                         "background_rate": options.background_rate,
                                         "celery_workers": 2,
                                         "WEBHOOK_APPLY_IN_WORKER": True})
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM reads between its
    # steps (call_changed_at) are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    rng = random.Random(options.seed)
    latencies: list[float] = []
    applying: list[float] = []  # accepted -> applied
    showing: list[float] = []  # applied -> shown
    missed = 0
    with run.Stack(keep_database=options.keep_database,
                   env={"WEBHOOK_APPLY_IN_WORKER": "true"}) as stack:
        stack.start_workers(2)
        account = vonage.seed_account()
        viewer = run.sign_in("viewer")
        expected = options.events * 1.8 + 30
        background = webhooks.Events(stack, account, seed=options.seed, unknown_share=0)
        with run.step("signing the background events (older calls)"):
            noise = background.requests(int(options.background_rate * expected))
        calls = watched_calls(account, WATCHED)  # newer than the background calls
        path = f"/hooks/{account.webhook_token}/events"
        stop = threading.Event()
        noise_load: list[run.Load] = []
        noise_thread = threading.Thread(target=lambda: noise_load.append(run.paced(
            stack, noise, rate=options.background_rate, stop=stop)))
        with sync_playwright() as playwright, run.step(
                f"{options.events} events watched in Chromium"):
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-background-networking"])
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": viewer.session_key,
                                  "url": stack.url}])
            page = context.new_page()
            page.add_init_script(OBSERVER)
            page.goto(f"{stack.url}/calls/")
            page.wait_for_selector(f"#call-{calls[-1].pk}")
            noise_thread.start()
            for n in range(options.events):
                call, status = calls[n % WATCHED], STEPS[n // WATCHED % len(STEPS)]
                time.sleep(rng.uniform(0.2, 1.2))
                accepted = post_event(stack, path, call, status)
                key = f"{call.pk}:{status}"
                deadline = time.monotonic() + options.timeout
                seen = None
                while seen is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                    seen = page.evaluate("key => window.__seen[key]", key)
                if seen is None:
                    missed += 1
                else:
                    applied = call_changed_at(call)
                    latencies.append((seen - accepted) / 1000)
                    applying.append((applied - accepted) / 1000)
                    showing.append((seen - applied) / 1000)
            stop.set()
            noise_thread.join()
            browser.close()

    ordered = sorted(latencies)
    applied, shown = sorted(applying), sorted(showing)
    background_rate = noise_load[0].rate if noise_load else 0.0
    report.add(
        run.Figure("p50 event to row", run.percentile(ordered, 50), "s"),
        run.Figure("p95 event to row", run.percentile(ordered, 95), "s", target=("<=", 1.0),
                   note=f"{len(latencies)} samples, max {ordered[-1] if ordered else 0:.2f} s"),
        run.Figure("p50 accepted to applied", run.percentile(applied, 50), "s"),
        run.Figure("p95 accepted to applied", run.percentile(applied, 95), "s",
                   note="the apply lag; the webhooks benchmark holds it to its own target"),
        run.Figure("p50 applied to row", run.percentile(shown, 50), "s"),
        run.Figure("p95 applied to row", run.percentile(shown, 95), "s",
                   note=f"the page's own part, max {shown[-1] if shown else 0:.2f} s"),
        run.Figure("rows that never changed", missed, "", target=("<=", 0),
                   note=f"within {options.timeout:g} s"),
        run.Figure("background events/s", background_rate, "/s"),
    )
    run.finish(report, options.json)


if __name__ == "__main__":
    main()
