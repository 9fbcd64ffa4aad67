"""Password-reset requests audited before the address was masked get it masked too.

Until then `user.password_reset_request` kept the address typed, whole, in `changes["email"]`:
the log became a list of every address anyone ever tried. Refused requests never kept one.
"""

from django.db import migrations
from django.db.models import Max

MASK = "••••"
BATCH_SIZE = 1000
ACTION = "user.password_reset_request"


def mask_email(address: str) -> str:
    """portal.redaction.mask_email as of this migration (a migration must not change when the
    code does). It leaves a masked address as it is, so rows masked already are skipped."""
    local, _, domain = address.strip().rpartition("@")
    if not local:
        return MASK
    return f"{local[0]}{MASK}@{domain[:100]}"


def forwards(apps, schema_editor) -> None:
    AuditEntry = apps.get_model("portal", "AuditEntry")
    requests = AuditEntry.objects.filter(action=ACTION, changes__has_key="email").only("changes")
    last_pk = AuditEntry.objects.aggregate(last=Max("pk"))["last"] or 0
    # A window of primary keys at a time: each read is a range of the primary key's index,
    # whatever the planner guesses of the filter, and is done before its batch is written
    # (SQLite does not isolate a cursor left open, as .iterator() leaves it, from writes).
    for start in range(0, last_pk, BATCH_SIZE):
        unmasked = []
        for entry in requests.filter(pk__gt=start, pk__lte=start + BATCH_SIZE):
            address = entry.changes["email"]
            masked = mask_email(address) if isinstance(address, str) else address
            if masked != address:
                entry.changes = {**entry.changes, "email": masked}
                unmasked.append(entry)
        AuditEntry.objects.bulk_update(unmasked, ["changes"])


class Migration(migrations.Migration):

    dependencies = [("portal", "0011_verbose_names_as_the_pages_say")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
