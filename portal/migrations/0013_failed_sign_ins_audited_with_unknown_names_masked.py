"""Failed sign-ins audited before unknown names were masked get them masked too.

Until then `login.failed` and `login.locked` kept the name typed, whole, in
`changes["username"]`: often a password typed in the wrong field, or an e-mail address. The rows
do not say whether the name was a user's, so it is matched against the users now: a user's name
is left as it is, any other masked as a sign-in masks it today.
"""

import re

from django.db import migrations
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac

MASK = "••••"
BATCH_SIZE = 1000
ACTIONS = ["login.failed", "login.locked"]
MASKED = re.compile(rf".{MASK} \(\d+ characters, [0-9a-f]{{8}}\)|{MASK}")


def mask_username(name: str) -> str:
    """portal.redaction.mask_username as of this migration (a migration must not change when
    the code does)."""
    normalised = name.strip().lower()
    if not normalised:
        return MASK
    digest = salted_hmac("portal.redaction.mask_username", normalised, algorithm="sha256")
    return f"{normalised[0]}{MASK} ({len(normalised)} characters, {digest.hexdigest()[:8]})"


def forwards(apps, schema_editor) -> None:
    AuditEntry = apps.get_model("portal", "AuditEntry")
    User = apps.get_model("portal", "User")
    failures = AuditEntry.objects.filter(action__in=ACTIONS, changes__has_key="username").only(
        "changes")
    last_pk = AuditEntry.objects.aggregate(last=Max("pk"))["last"] or 0
    # A window of primary keys at a time, as 0012 reads: each read is a range of the primary
    # key's index, and is done before its batch is written.
    for start in range(0, last_pk, BATCH_SIZE):
        typed = [entry for entry in failures.filter(pk__gt=start, pk__lte=start + BATCH_SIZE)
                 if isinstance(entry.changes["username"], str)
                 and not MASKED.fullmatch(entry.changes["username"])]
        # Matched as sign-in failures are matched now: case-insensitively, spaces around left.
        names = {entry.changes["username"].strip().lower() for entry in typed}
        users = set(User.objects.annotate(name=Lower("username")).filter(name__in=names)
                    .values_list("name", flat=True))
        unknown = [entry for entry in typed
                   if entry.changes["username"].strip().lower() not in users]
        for entry in unknown:
            entry.changes = {**entry.changes, "username": mask_username(entry.changes["username"])}
        AuditEntry.objects.bulk_update(unknown, ["changes"])


class Migration(migrations.Migration):

    dependencies = [("portal", "0012_reset_requests_audited_with_the_address_masked")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
