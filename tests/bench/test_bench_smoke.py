"""The benchmarks' provider side stays true to Vonage, so the figures measure real work.

Benchmarks are not run here (speed is never asserted in tests); this only checks what
they send: if signing or the event shapes drifted, every request would be refused and the
benchmark would time refusals.
"""

import json
from collections import Counter
from urllib.parse import urlsplit

from bench import vonage, webhooks
from voiceapps.providers.base import AccountConfig
from voiceapps.providers.vonage import VonageProvider, parse_vonage_event

ADAPTER = VonageProvider(AccountConfig(kind="vonage", base_url="https://unused.invalid",
                                       api_key=vonage.API_KEY,
                                       signature_secret=vonage.SIGNATURE_SECRET))


def split(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    """(method, target, headers, body) of a raw HTTP/1.1 request."""
    head, body = raw.split(b"\r\n\r\n", 1)
    request_line, *lines = head.decode().split("\r\n")
    method, target, _ = request_line.split(" ")
    headers = dict(line.split(": ", 1) for line in lines)
    assert int(headers.get("Content-Length", len(body))) == len(body)
    return method, target, headers, body


def test_webhook_benchmark_events_are_signed_as_vonage_signs_and_parse_to_every_status():
    payloads = webhooks.vonage_events(range(300), seed=7)
    requests = list(vonage.signed_posts(payloads, path="/hooks/token/events",
                                        host="127.0.0.1:8000"))

    jtis = []
    for raw in requests:
        method, target, headers, body = split(raw)
        assert (method, target) == ("POST", "/hooks/token/events")
        verdict = ADAPTER.verify_webhook(headers, body)
        assert verdict.ok, verdict.reason
        jtis.append(verdict.replay_key)
    assert len(set(jtis)) == len(requests)  # each one would pass the replay check
    raw_statuses = Counter(json.loads(split(raw)[3])["status"] for raw in requests)
    assert set(raw_statuses) == {"started", "ringing", "answered", "completed", "busy",
                                 "timeout", "unanswered", "rejected", "failed", "cancelled",
                                 "human", "machine"}
    kinds = {parse_vonage_event(payload).kind for payload in payloads}
    assert kinds == {"status", "amd"}
    duplicates = Counter(json.dumps(p, sort_keys=True) for p in payloads)
    assert 0 < sum(n - 1 for n in duplicates.values()) < len(payloads) * 0.2


def test_answer_benchmark_gets_are_signed_over_their_query():
    params = {"to": "447700900001", "from": "447700900000", "uuid": "leg-1",
              "conversation_uuid": "CON-1", "endpoint_type": "phone"}
    method, target, headers, body = split(
        vonage.signed_get(params, path="/hooks/token/answer/1", host="127.0.0.1:8000"))
    assert (method, body) == ("GET", b"")
    verdict = ADAPTER.verify_webhook(headers, body, query_string=urlsplit(target).query)
    assert verdict.ok, verdict.reason


def test_the_bare_baseline_view_is_only_served_to_benchmarks(client):
    assert client.get("/bench/bare").status_code == 404  # BENCH_BASELINE_VIEW is off
