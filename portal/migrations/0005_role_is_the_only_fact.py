import portal.models
from django.db import migrations


def superusers_become_admins(apps, schema_editor):
    """A superuser was an admin whatever their groups said: give them the Admin role instead,
    and make every user's `is_staff` follow their role (portal.services._set_role)."""
    User = apps.get_model("portal", "User")
    Group = apps.get_model("auth", "Group")
    roles = Group.objects.filter(name__in=["Viewer", "Operator", "Admin"])
    admin = Group.objects.get(name="Admin")
    for user in User.objects.filter(is_superuser=True):
        user.groups.remove(*roles)
        user.groups.add(admin)
    User.objects.update(is_superuser=False, is_staff=False)
    User.objects.filter(groups=admin).update(is_staff=True)


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0004_sign_in_counter"),
    ]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[
                ("objects", portal.models.CallboardUserManager()),
            ],
        ),
        migrations.RunPython(superusers_become_admins, migrations.RunPython.noop),
    ]
