"""Uploaded files, read one way for contacts and do-not-call lists, pages and API."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.services import uploads


def test_a_file_that_is_not_utf8_says_how_to_save_it():
    upload = SimpleUploadedFile("list.csv", "number,name\n+31201234567,José\n".encode("cp1252"))

    with pytest.raises(ValidationError) as error:
        uploads.read_upload(upload)

    assert error.value.message_dict["file"] == [
        "Save the file as UTF-8 CSV (in Excel: Save As, “CSV UTF-8”) and upload it again."]
