"""The retention's deletion reason becomes a sentence, as "Deleted by ada" already was: the call
page shows the reason alone, followed by when."""

from django.db import migrations

OLD = "Retention: older than the account keeps them"
NEW = "Deleted by its account's retention policy"


def forwards(apps, schema_editor):
    for name in ("Recording", "Transcript"):
        apps.get_model("recordings", name).objects.filter(deleted_reason=OLD).update(
            deleted_reason=NEW)


def backwards(apps, schema_editor):
    for name in ("Recording", "Transcript"):
        apps.get_model("recordings", name).objects.filter(deleted_reason=NEW).update(
            deleted_reason=OLD)


class Migration(migrations.Migration):
    dependencies = [("recordings", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
