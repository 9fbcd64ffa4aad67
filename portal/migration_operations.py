"""Migration operations that keep Callboard answering while a release migrates.

docs/operations.md upgrades the schema while the old release runs: an index built by a plain
CREATE INDEX blocks every write to its table until it is built, which on the calls table of a
busy system holds webhooks and sends for as long as the whole table takes to read.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexWithoutBlocking(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL; a plain AddIndex elsewhere (SQLite, the
    embedded default, has no such statement and one writer at a time anyway). The migration
    holding it sets `atomic = False`, as PostgreSQL builds it outside a transaction."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any,
                          to_state: Any) -> None:
        _kind(schema_editor).database_forwards(self, app_label, schema_editor, from_state,
                                               to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any,
                           to_state: Any) -> None:
        _kind(schema_editor).database_backwards(self, app_label, schema_editor, from_state,
                                                to_state)


def _kind(schema_editor: Any) -> type[AddIndex]:
    """The operation that builds the index on this database."""
    return AddIndexConcurrently if schema_editor.connection.vendor == "postgresql" else AddIndex
