"""Benchmark 3: the call log at scale. `python -m bench.call_log [--calls 1000000]`

Seeds --calls calls (default 1,000,000) over 90 days and five events each (5,000,000) with
PostgreSQL COPY (secondary indexes dropped during the load and rebuilt after, foreign-key
triggers off: the rows are consistent by construction), then, signed in as a viewer, asks
--samples times at --rate per second for each of:

- page 1 of /calls/;
- a filtered page: one status, a 30-day range and a number substring;
- page 1,000 by keyset (the cursor the "Older" link of page 999 carries, built here and
  checked against the row it must start at);
- page 1 of GET /api/v1/calls (API token);

and finally exports every call as CSV (/calls/export.csv), counting rows per second while
sampling the resident memory (VmRSS) of the gunicorn workers.

Targets (issue 10): p95 ≤ 150 ms per page; CSV ≥ 20,000 rows/s with flat memory (here: the
worker grows by at most 50 MiB while streaming a million rows).
"""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

from bench import run

DAYS = 90
EVENTS_PER_CALL = 5
# How calls end, and the Vonage statuses their events carry (vonage.md 2.2).
OUTCOMES = (
    (0.55, "completed", ("started", "ringing", "answered", "completed")),
    (0.10, "busy", ("started", "ringing", "busy")),
    (0.13, "no_answer", ("started", "ringing", "timeout")),
    (0.07, "failed", ("started", "failed")),
    (0.07, "rejected", ("started", "rejected")),
    (0.08, "cancelled", ("started", "ringing", "cancelled")),
)
OURS = {"started": "submitted", "ringing": "ringing", "answered": "answered",
        "completed": "completed", "busy": "busy", "timeout": "no_answer", "failed": "failed",
        "rejected": "rejected", "cancelled": "cancelled"}
CALLER_IDS = tuple(f"4420700{n:05d}" for n in range(20))
RSS_GROWTH_LIMIT = 50.0  # MiB
COPY_CHUNK = 20_000  # rows per write


# -- seeding --------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    elif isinstance(value, datetime.datetime):
        return value.isoformat()
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _columns(model: Any, produce: dict[str, Callable[[dict], Any]]
             ) -> tuple[list[str], Callable[[dict], str]]:
    """COPY columns of `model` and a row writer: produced values, else each field's default.

    Built from the model, so a field added later gets its default without touching this.
    """
    names, makers = [], []
    for field in model._meta.concrete_fields:
        names.append(field.column)
        if field.attname in produce:
            makers.append(produce[field.attname])
        else:
            constant = _text(field.get_default() if field.has_default() or not field.null
                             else None)
            makers.append(constant)

    def line(row: dict) -> str:
        return "\t".join(m if isinstance(m, str) else _text(m(row)) for m in makers) + "\n"

    return names, line


def _calls(count: int, seed: int, now: datetime.datetime, accounts: list, applications: list
           ) -> Iterator[dict]:
    rng = random.Random(seed)
    start = now - datetime.timedelta(days=DAYS)
    step = datetime.timedelta(days=DAYS) / count
    weights = [w for w, _, _ in OUTCOMES]
    for n in range(1, count + 1):
        _, status, flow = rng.choices(OUTCOMES, weights=weights)[0]
        created = start + step * n + datetime.timedelta(microseconds=rng.randrange(1000))
        answered = status == "completed"
        ring = created + datetime.timedelta(seconds=rng.uniform(1, 4))
        answer = ring + datetime.timedelta(seconds=rng.uniform(2, 20))
        duration = rng.randrange(5, 600) if answered else None
        ended = (answer + datetime.timedelta(seconds=duration) if answered
                 else ring + datetime.timedelta(seconds=rng.uniform(5, 40)))
        account = accounts[n % len(accounts)]
        application = applications[n % len(applications)]
        to = f"4477{rng.randrange(10**7):07d}"
        yield {
            "id": n, "account_id": account.pk, "provider": account.kind,
            "application_id": application.pk, "from_number": CALLER_IDS[n % 20],
            "to_display": to, "to_endpoint": {"type": "phone", "number": to},
            "status": status, "provider_status": flow[-1],
            "answered_by": ("human" if rng.random() < 0.8 else "machine") if answered else "",
            "provider_call_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "conversation_id": f"CON-{uuid.UUID(int=rng.getrandbits(128))}",
            "tag": {"campaign": f"spring-{n % 7}"} if n % 3 == 0 else {},
            "flow": {"type": "application"}, "attempts": 1,
            "created_at": created, "submitted_at": created + datetime.timedelta(seconds=0.3),
            "ringing_at": ring if "ringing" in flow else None,
            "answered_at": answer if answered else None, "ended_at": ended,
            "duration_seconds": duration, "updated_at": ended,
            "rate": "0.01270000" if answered else None,
            "price": f"{duration * 0.0127 / 60:.8f}" if answered else None,
            "network": "23410" if answered else "", "sip_code": 200 if answered else 486,
            "disconnected_by": "user" if answered else "", "flow_events": flow,
        }


def _events(call: dict) -> Iterator[dict]:
    """Five events per call: its statuses, then AMD or a late duplicate to make five."""
    flow = list(call["flow_events"])
    at = call["created_at"]
    statuses = flow + [flow[-1]] * (EVENTS_PER_CALL - len(flow))
    for index, status in enumerate(statuses):
        at += datetime.timedelta(seconds=1 + index)
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        payload = (f'{{"from":"{call["from_number"]}","to":"{call["to_display"]}",'
                   f'"uuid":"{call["provider_call_id"]}",'
                   f'"conversation_uuid":"{call["conversation_id"]}","status":"{status}",'
                   f'"direction":"outbound","timestamp":"{stamp}"}}')
        yield {"id": call["id"] * EVENTS_PER_CALL + index, "call_id": call["id"],
               "status": OURS[status], "raw_status": status, "provider_time": at,
               "received_at": at, "payload": payload, "is_duplicate": index >= len(flow),
               "dedupe_key": f"{call['id']:032x}{index:032x}"}


def _copy(cursor: Any, table: str, names: list[str], lines: Iterator[str]) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == COPY_CHUNK:
                copy.write("".join(chunk))
                count += len(chunk)
                chunk = []
        copy.write("".join(chunk))
        count += len(chunk)
    return count


def _secondary_indexes(cursor: Any, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX …) of the table's indexes that back no constraint."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)", [table, table])
    return list(cursor.fetchall())


def seed(calls: int, seed_value: int) -> datetime.datetime:
    """COPY the calls and their events; the time of the newest call."""
    from django.db import connection
    from django.utils import timezone

    from calls.models import Call, CallEvent
    from voiceapps.models import Application, ProviderAccount

    accounts = [ProviderAccount.objects.create(name=f"Bench {kind}", kind=kind)
                for kind in ("vonage", "kpn", "voicegateway")]
    applications = [Application.objects.create(account=accounts[n % 3], name=f"Line {n}")
                    for n in range(5)]
    now = timezone.now()
    call_names, call_line = _columns(Call, {
        name: (lambda row, name=name: row[name]) for name in next(
            _calls(1, 0, now, accounts, applications)) if name != "flow_events"})
    event_names, event_line = _columns(CallEvent, {
        name: (lambda row, name=name: row[name]) for name in (
            "id", "call_id", "status", "raw_status", "provider_time", "received_at",
            "dedupe_key", "is_duplicate", "payload")} | {"kind": lambda row: "status"})
    tables = {Call._meta.db_table: call_names, CallEvent._meta.db_table: event_names}
    with connection.cursor() as cursor:
        dropped = {table: _secondary_indexes(cursor, table) for table in tables}
        for indexes in dropped.values():
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")  # no foreign-key triggers

        def generated() -> Iterator[dict]:  # the same calls each time: a fixed seed
            return _calls(calls, seed_value, now, accounts, applications)

        with run.step(f"COPY {calls:,} calls"):
            _copy(cursor, Call._meta.db_table, call_names, map(call_line, generated()))
        with run.step(f"COPY {calls * EVENTS_PER_CALL:,} events"):
            lines = (event_line(event) for call in generated() for event in _events(call))
            _copy(cursor, CallEvent._meta.db_table, event_names, lines)
        cursor.execute("SET session_replication_role = DEFAULT")
        with run.step("rebuilding the indexes and analysing"):
            for table, indexes in dropped.items():
                for _, definition in indexes:
                    cursor.execute(definition)
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))")
            for table in tables:
                cursor.execute(f"VACUUM ANALYZE {table}")
    return now


# -- measuring ------------------------------------------------------------------------------


def keyset_cursor(page: int, page_size: int = 50) -> tuple[str, int]:
    """The `cursor` parameter of page `page` (as its "Older" link has it) and its first id."""
    from calls.models import Call

    rows = Call.objects.order_by("-created_at", "-id").values_list("id", "created_at")
    last_before, first = rows[(page - 1) * page_size - 1], rows[(page - 1) * page_size]
    # DRF's CursorPagination: position = the ordering field of the previous page's last row.
    token = base64.b64encode(urlencode({"p": str(last_before[1])}).encode()).decode()
    return token, first[0]


def _get(stack: run.Stack, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(run.HOST, stack.port, timeout=600)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def sample(stack: run.Stack, path: str, headers: dict[str, str], *, count: int, rate: float
           ) -> run.Load:
    request = run.raw_request("GET", path, headers=headers, host=f"{run.HOST}:{stack.port}")
    return run.paced(stack, [request] * count, rate=rate, connections=2)


def export_csv(stack: run.Stack, path: str, headers: dict[str, str]
               ) -> tuple[int, float, run.RssSampler]:
    """(rows, seconds, memory samples) of one full CSV export."""
    conn = http.client.HTTPConnection(run.HOST, stack.port, timeout=600)
    with run.RssSampler(stack.web_worker_pids()) as rss:
        started = time.monotonic()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            raise SystemExit(f"The CSV export answered {response.status}")
        lines = 0
        while chunk := response.read(1 << 16):
            lines += chunk.count(b"\n")
        seconds = time.monotonic() - started
    conn.close()
    return lines - 1, seconds, rss  # the header line is not a call


def main() -> None:
    parser = run.arguments(__doc__.splitlines()[0], calls=1_000_000, samples=100, rate=5.0,
                           seed=1)
    parser.add_argument("--reuse-database", action="store_true",
                        help="measure the calls a previous --keep-database run left (no seeding)")
    options = parser.parse_args()
    report = run.Report("call log", {"calls": options.calls,
                                     "events": options.calls * EVENTS_PER_CALL,
                                     "samples_per_page": options.samples,
                                     "rate": options.rate})
    with run.Stack(keep_database=options.keep_database,
                   reuse_database=options.reuse_database) as stack:
        from calls.models import Call

        started = time.monotonic()
        seeding = None
        if options.reuse_database and Call.objects.exists():
            now = Call.objects.latest("created_at").created_at
            options.calls = Call.objects.count()
        else:
            with run.step(f"seeding {options.calls:,} calls with PostgreSQL COPY"):
                now = seed(options.calls, options.seed)
            seeding = time.monotonic() - started
        viewer = run.sign_in("viewer")
        until = now.date()
        since = until - datetime.timedelta(days=30)
        filtered = urlencode({"status": "completed", "since": since.isoformat(),
                              "until": until.isoformat(), "to_number": "123"})
        deep = min(1000, options.calls // 50)  # page 1,000 needs 50,000 calls
        token, first_id = keyset_cursor(deep)
        status, body = _get(stack, f"/calls/?cursor={token}", viewer.cookie_header)
        if status != 200 or f'id="call-{first_id}"'.encode() not in body[:body.find(b"</tr>",
                                                                               body.find(b"<tbody"))]:
            raise SystemExit(f"Page {deep} does not start at call {first_id} (status {status})")
        pages = {
            "page 1": ("/calls/", viewer.cookie_header),
            "filtered page": (f"/calls/?{filtered}", viewer.cookie_header),
            f"page {deep:,} (keyset)": (f"/calls/?cursor={token}", viewer.cookie_header),
            "API list": ("/api/v1/calls", viewer.bearer_header),
        }
        results = {}
        for name, (path, headers) in pages.items():
            with run.step(f"{name}: {options.samples} requests at {options.rate:g}/s"):
                sample(stack, path, headers, count=5, rate=options.rate)  # warm up
                results[name] = sample(stack, path, headers, count=options.samples,
                                       rate=options.rate)
        with run.step(f"bare view: {options.samples} requests at {options.rate:g}/s"):
            bare = run.bare_paced(stack, rate=options.rate,
                                  seconds=options.samples / options.rate)
        with run.step("exporting every call as CSV"):
            rows, seconds, rss = export_csv(stack, "/calls/export.csv", viewer.cookie_header)

    for name, load in results.items():
        report.add(run.Figure(f"{name} p95", load.p95, "ms", bare.p95, ("<=", 150),
                              note=f"p50 {load.p50:.1f} ms, p99 {load.p99:.1f} ms, "
                                   f"statuses {load.statuses}"))
    start_mib, peak_mib, growth = rss.growth()
    report.add(
        run.Figure("CSV rows/s", rows / seconds, "/s", target=(">=", 20_000),
                   note=f"{rows:,} rows in {seconds:.1f} s"),
        run.Figure("CSV worker memory growth", growth, "MiB", target=("<=", RSS_GROWTH_LIMIT),
                   note=f"VmRSS {start_mib:.0f} → peak {peak_mib:.0f} MiB"),
    )
    if seeding is not None:
        report.add(run.Figure("seeding time", seeding, "s", note=(
            f"{options.calls:,} calls, {options.calls * EVENTS_PER_CALL:,} events")))
    run.finish(report, options.json)


if __name__ == "__main__":
    main()
