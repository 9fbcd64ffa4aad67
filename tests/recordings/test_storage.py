"""The storage contract recordings rely on (save under a chosen name, overwrite, open and
seek, delete), on the in-memory storage and on S3 as django-storages speaks it, against a
local S3-compatible server (moto's)."""

import socket
from collections.abc import Iterator

import boto3
import pytest
from django.core.files.base import ContentFile
from django.test import RequestFactory

from recordings.serving import recording_response
from recordings.storage import recording_storage
from tests.factories import RecordingFactory
from tests.recordings.conftest import WAV

BUCKET = "callboard-recordings"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["memory", "s3"])
def storage(request, settings):
    if request.param == "memory":
        backend = {"BACKEND": "django.core.files.storage.InMemoryStorage"}
    else:
        endpoint = request.getfixturevalue("s3_server")
        keys = {"aws_access_key_id": "test", "aws_secret_access_key": "test-secret"}
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys).create_bucket(
            Bucket=BUCKET
        )
        # As portal/settings.py configures it when RECORDINGS_S3_BUCKET is set.
        backend = {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": keys["aws_access_key_id"],
                "secret_key": keys["aws_secret_access_key"],
                "location": "recordings",
                "default_acl": "private",
                "file_overwrite": True,
            },
        }
    settings.STORAGES = {**settings.STORAGES, "recordings": backend}
    return recording_storage()


@pytest.mark.django_db
def test_a_recording_is_kept_overwritten_served_in_ranges_and_deleted(storage):
    name = "call-1/recording-1.wav"
    storage.save(name, ContentFile(b"half"))
    if storage.exists(name):
        storage.delete(name)  # as fetching does before saving again
    saved = storage.save(name, ContentFile(WAV))
    assert saved == name and storage.size(name) == len(WAV)

    recording = RecordingFactory(
        state="stored", file_name=name, size_bytes=len(WAV), content_type="audio/wav", format="wav"
    )
    request = RequestFactory().get("/", HTTP_RANGE="bytes=100-199")
    response = recording_response(request, recording, download=False)
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == WAV[100:200]

    storage.delete(name)
    assert not storage.exists(name)
