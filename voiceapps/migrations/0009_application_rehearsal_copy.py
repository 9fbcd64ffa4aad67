from django.db import migrations, models

# The sandboxes' kinds (providers with scripted callees), as they are now: a migration does
# not read the registry, which may change.
SANDBOX_KINDS = ("sandbox", "sandbox_jambonz")


def mark_existing_copies(apps, schema_editor):
    """The copies rehearsals made before the flag: the rehearsal service finds its copy by
    this name on the sandbox's account, so these are the applications it already treated as
    copies."""
    Application = apps.get_model("voiceapps", "Application")
    Application.objects.filter(
        account__kind__in=SANDBOX_KINDS, name__endswith=" (rehearsal)"
    ).update(rehearsal_copy=True)


class Migration(migrations.Migration):

    dependencies = [
        ('voiceapps', '0008_account_retired_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='application',
            name='rehearsal_copy',
            field=models.BooleanField(default=False, help_text='Made by rehearsing a campaign: only its rehearsals call through it.'),
        ),
        migrations.RunPython(mark_existing_copies, migrations.RunPython.noop),
    ]
