"""A small campaign run the whole way on the sandbox, through the API.

The campaign is made, filled from a CSV and started through the API; beat's tick
(campaigns.tasks.campaigns_tick) is sent to a real Celery worker, which places each call
through the sandbox adapter over HTTP; the emulator on the live server plays the callee's
script and posts its events back. The results CSV must say what the scripts did.
"""

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from calls.models import Call
from campaigns.models import Attempt, Contact
from campaigns.tasks import campaigns_tick
from tests.helpers import wait_for
from voiceapps.sandbox.services import sandbox_first_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BUSY_THEN_ANSWERS = "+447700900011"  # a person (any ending), busy at first by its tag
PRESSES_1 = "+447700900006"
CANNOT_BE_REACHED = "+447700900005"
ON_DO_NOT_CALL = "+447700900016"


def a_zone_where_it_is_noon() -> str:
    """Etc/GMT-N is UTC+N: the contacts' clock reads about noon, far from the window's ends."""
    offset = 12 - datetime.now(UTC).hour
    zone = f"Etc/GMT{-offset:+d}"
    assert 9 <= datetime.now(ZoneInfo(zone)).hour <= 15
    return zone


@pytest.fixture
def demo(live_callboard):
    return sandbox_first_run()


def results(api, campaign_id: int) -> dict[str, dict]:
    response = api.get(f"/api/v1/campaigns/{campaign_id}/results?limit=100")
    assert response.status_code == 200, response.json()
    return {row["number"]: row for row in response.json()["results"]}


def test_a_campaign_on_the_sandbox_ends_as_its_scripts_say(
    demo, api_for, operator_user, client_for, live_callboard
):
    api = api_for(operator_user)
    listed = api.post(
        "/api/v1/suppression-lists",
        {"name": "Demo do-not-call", "account": demo.account.pk},
        format="json",
    )
    assert listed.status_code == 201, listed.json()
    api.post(
        f"/api/v1/suppression-lists/{listed.json()['id']}/numbers",
        {"numbers": [ON_DO_NOT_CALL]},
        format="json",
    )
    made = api.post(
        "/api/v1/campaigns",
        {
            "name": "Renewals",
            "application": demo.application.pk,
            "from_numbers": ["+447700900100"],
            "calls_per_second": "3",
            "max_concurrent": 5,
            "windows": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}],
            # Busy is tried once more, 3 s on: time enough to change its script (below).
            "retry_rules": {"busy": {"retries": 1, "delay_minutes": 0.05}},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="renewals-1",
    )
    assert made.status_code == 201, made.json()
    campaign_id = made.json()["id"]
    zone = a_zone_where_it_is_noon()
    uploaded = api.post(
        f"/api/v1/campaigns/{campaign_id}/contacts",
        {
            "csv": "\n".join(
                [
                    "number,timezone,sandbox_script",
                    f"{BUSY_THEN_ANSWERS},{zone},busy",
                    f"{PRESSES_1},{zone},",
                    f"{CANNOT_BE_REACHED},{zone},",
                    f"{ON_DO_NOT_CALL},{zone},",
                    f"not a number,{zone},",
                ]
            )
        },
        format="json",
    )
    assert uploaded.status_code == 202, uploaded.json()
    preview = api.get(f"/api/v1/campaigns/{campaign_id}/preview").json()
    assert preview == {"will_call": 3, "skipped": {"suppressed": 1, "invalid": 1}}

    started = api.post(f"/api/v1/campaigns/{campaign_id}/start", {}, format="json")
    assert started.status_code == 200 and started.json()["status"] == "running"

    busy_contact = Contact.objects.get(campaign_id=campaign_id, e164=BUSY_THEN_ANSWERS)

    def tick_until_finished() -> bool:
        campaigns_tick.delay()  # what beat sends every second
        first = Attempt.objects.filter(contact=busy_contact, number=1, call__isnull=False)
        busy_contact.refresh_from_db()
        if first.exists() and busy_contact.variables:
            # Its first call holds the tag "busy"; the callee answers every later one.
            Contact.objects.filter(pk=busy_contact.pk).update(variables={})
        return api.get(f"/api/v1/campaigns/{campaign_id}").json()["status"] == "finished"

    try:
        wait_for(tick_until_finished, timeout=120, interval=0.5)
    except AssertionError:
        raise AssertionError(
            f"results {results(api, campaign_id)}; the worker's last lines:\n"
            f"{live_callboard.worker.log()[-4000:]}"
        ) from None

    rows = results(api, campaign_id)
    assert {
        number: (row["state"], row["disposition"], row["attempts"]) for number, row in rows.items()
    } == {
        BUSY_THEN_ANSWERS: ("done", "answered", 2),
        PRESSES_1: ("done", "answered", 1),
        CANNOT_BE_REACHED: ("done", "failed", 1),
        ON_DO_NOT_CALL: ("skipped", "suppressed", 0),
        "not a number": ("skipped", "invalid", 0),
    }
    # Every attempt's call reached the state its script ends in, and is on the call log.
    attempts = Attempt.objects.filter(contact__campaign_id=campaign_id).select_related("call")
    assert sorted((a.contact.e164, a.number, a.call.status) for a in attempts) == [
        (CANNOT_BE_REACHED, 1, "failed"),
        (PRESSES_1, 1, "completed"),
        (BUSY_THEN_ANSWERS, 1, "busy"),
        (BUSY_THEN_ANSWERS, 2, "completed"),
    ]
    assert (
        Call.objects.get(pk=rows[PRESSES_1]["last_call"])
        .events.filter(raw_status="menu digits")
        .exists()
    )
    # The page's CSV says the same.
    page = client_for(operator_user).get(f"/campaigns/{campaign_id}/results.csv")
    table = list(csv.DictReader(io.StringIO(b"".join(page.streaming_content).decode())))
    assert {row["number"]: row["disposition"] for row in table} == {
        number: row["disposition"] for number, row in rows.items()
    }
