"""Stored NCCO versions and application URLs stop naming any account's webhook token.

The editor used to insert menu URLs with a real token and imports copied Callboard's own URLs
into applications; every role reads both. Serving fills the token in (voiceapps/hooks.py).
"""

import json

from django.db import migrations

PLACEHOLDER = "/hooks/ACCOUNT_TOKEN/"  # voiceapps.hooks.TOKEN_PLACEHOLDER, as of this migration
URL_FIELDS = ("answer_url", "event_url", "fallback_answer_url")


def forwards(apps, schema_editor) -> None:
    ProviderAccount = apps.get_model("voiceapps", "ProviderAccount")
    NccoVersion = apps.get_model("voiceapps", "NccoVersion")
    Application = apps.get_model("voiceapps", "Application")
    paths = [f"/hooks/{token}/" for token in
             ProviderAccount.objects.values_list("webhook_token", flat=True)]
    for version in NccoVersion.objects.only("content").iterator():
        text = json.dumps(version.content, ensure_ascii=False)
        cleaned = text
        for path in paths:
            cleaned = cleaned.replace(path, PLACEHOLDER)
        if cleaned != text:
            NccoVersion.objects.filter(pk=version.pk).update(content=json.loads(cleaned))
    for application in Application.objects.all():
        own = [name for name in URL_FIELDS
               if any(path in getattr(application, name) for path in paths)]
        for name in own:
            setattr(application, name, "")  # empty: Callboard's own URL, with the token
        if own:
            if not application.answer_url:
                application.flow_type = "hosted"
            application.save(update_fields=[*own, "flow_type"])


class Migration(migrations.Migration):

    dependencies = [("voiceapps", "0004_ncco_content_keeps_key_order")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
