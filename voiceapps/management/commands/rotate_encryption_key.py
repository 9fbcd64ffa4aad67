"""Re-encrypt every stored credential with the first key of FIELD_ENCRYPTION_KEYS.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), run
this command, then remove the old keys. Only counts are printed, never a value.
"""

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.template.defaultfilters import pluralize

from portal import crypto

# Every encrypted column, per model, of every app (alert channels' secrets included): by the
# convention that such a column's name ends in "_encrypted".
ENCRYPTED_COLUMNS = {
    model: columns
    for model in apps.get_models()
    if (columns := [f.name for f in model._meta.concrete_fields if f.name.endswith("_encrypted")])
}


class Command(BaseCommand):
    help = "Re-encrypt every stored credential with the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            for model, columns in ENCRYPTED_COLUMNS.items():
                rows = values = 0
                for obj in model.objects.select_for_update().only("pk", *columns):
                    changed = [column for column in columns if getattr(obj, column)]
                    for column in changed:
                        try:
                            setattr(obj, column, crypto.rotate(getattr(obj, column)))
                        except InvalidToken:
                            # Name the row, never the value; the transaction rolls back.
                            raise CommandError(
                                f"{model._meta.verbose_name} #{obj.pk} ({column}) cannot be "
                                "decrypted with any FIELD_ENCRYPTION_KEYS key; nothing was "
                                "changed."
                            ) from None
                    if changed:
                        obj.save(update_fields=changed)
                        rows += 1
                        values += len(changed)
                self.stdout.write(
                    f"{model._meta.verbose_name_plural}: {values} value{pluralize(values)} "
                    f"in {rows} row{pluralize(rows)} re-encrypted."
                )
        self.stdout.write(self.style.SUCCESS("Done. The old keys can now be removed."))
