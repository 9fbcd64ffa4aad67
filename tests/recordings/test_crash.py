"""A worker killed with kill -9 in the middle of a recording's download leaves no second
recording and no orphaned file: the fetch is taken up again once its lease runs out."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from portal.celery import app as celery_app
from recordings import tasks
from recordings.models import MediaState, Recording
from recordings.services.fetching import LEASE, recording_fetch
from tests.conftest import XDIST_WORKER, _start_worker
from tests.helpers import wait_for
from tests.recordings.conftest import WAV, record_event
from tests.security.test_crash_safety import kill_9

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUEUE = f"callboard-test-recordings{XDIST_WORKER}"


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_a_fetch_killed_mid_download_is_finished_once_by_the_next_worker(
    vonage_call, django_db_blocker, tmp_path, settings
):
    fake, call = vonage_call
    folder = tmp_path / "recordings"
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    # The first download hangs (the worker dies in it); the next one answers.
    fake.reply("GET", "/v1/files/f-1", body=WAV, delay=30)
    fake.reply("GET", "/v1/files/f-1", body=WAV, headers={"Content-Type": "audio/wav"})
    record_event(call, f"{fake.url}/v1/files/f-1")
    recording = Recording.objects.get(call=call)

    worker = _start_worker(django_db_blocker, QUEUE, RECORDINGS_DIR=str(folder))
    try:
        tasks.recording_fetch.apply_async((recording.pk,), queue=QUEUE)
        wait_for(lambda: fake.requests_to("GET", "/v1/files/f-1"), what="the download")
        kill_9(worker.process.pid)
        worker.process.wait(10)
    finally:
        worker.stop()
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)

    recording.refresh_from_db()
    assert (recording.state, recording.attempts) == (MediaState.PENDING, 1)
    assert files_under(folder) == []  # the half-downloaded file was never in storage
    # Within the dead worker's lease nobody takes it; after it, the next fetch does.
    assert recording_fetch(recording_id=recording.pk) is None
    with time_machine.travel(timezone.now() + LEASE + timedelta(seconds=1)):
        recording_fetch(recording_id=recording.pk)

    recording.refresh_from_db()
    assert Recording.objects.filter(call=call).count() == 1
    assert (recording.state, recording.attempts) == (MediaState.STORED, 2)
    assert files_under(folder) == [folder / recording.file_name]
    assert (folder / recording.file_name).read_bytes() == WAV
