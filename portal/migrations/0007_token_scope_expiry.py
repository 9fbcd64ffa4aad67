from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone


def scope_and_expiry_of_existing_tokens(apps, schema_editor):
    """Tokens made before scopes carried their owner's role: they keep it, and get the default
    lifetime from today, so no tool loses access the moment Callboard is upgraded."""
    ApiToken = apps.get_model("portal", "ApiToken")
    scope_of_group = {"Admin": "admin", "Operator": "operate", "Viewer": "read"}
    rank = ["read", "operate", "admin"]
    expires = timezone.now() + timedelta(days=90)
    for token in ApiToken.objects.prefetch_related("user__groups"):
        scopes = [scope_of_group[g.name] for g in token.user.groups.all() if g.name in scope_of_group]
        token.scope = max(scopes, key=rank.index) if scopes else "read"
        token.expires_at = expires
        token.save(update_fields=["scope", "expires_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0006_username_is_ascii"),
        ("voiceapps", "0006_account_accept_unsigned_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(choices=[("read", "Read"), ("operate", "Operate"), ("admin", "Admin")], default="read", max_length=10),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="limit_to_accounts",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="accounts",
            field=models.ManyToManyField(blank=True, related_name="+", to="voiceapps.provideraccount"),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="last_used_ip",
            field=models.GenericIPAddressField(blank=True, null=True),
        ),
        migrations.RunPython(scope_and_expiry_of_existing_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
