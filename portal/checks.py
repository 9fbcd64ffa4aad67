"""`manage.py check --deploy`: settings that would split one installation into several.

The cache and the broker default to files in the node's own var directory (`make run` needs
no server). That is right on one machine, where the database is a SQLite file beside them,
and wrong as soon as the database is a server other machines can share: each node would
then keep its own worker heartbeats, API throttles and webhook-apply flags, and a web node's
tasks would wait in a folder no worker node reads.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

NODE_LOCAL_CACHES = (
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.caches, deploy=True)
def node_local_state(app_configs: object = None, **kwargs: object) -> list[Warning]:
    """A warning for each of the cache and the broker that only this node sees, when the
    database is a server (so other nodes may be using it)."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        return []
    found = []
    if settings.CACHES["default"]["BACKEND"] in NODE_LOCAL_CACHES:
        found.append(
            Warning(
                "CACHE_URL is not set to a shared cache: this node keeps its own (in its var "
                "directory), so worker heartbeats (/healthz), API throttles and webhook-apply "
                "flags are not seen by the other nodes.",
                hint="Set CACHE_URL=redis://host:6379/1 on every node (docs/operations.md).",
                id="callboard.W001",
            )
        )
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        found.append(
            Warning(
                "CELERY_BROKER_URL is not set: tasks queue in this node's var directory, where "
                "no worker on another machine will ever see them.",
                hint="Set CELERY_BROKER_URL=redis://host:6379/0 on every node "
                "(docs/operations.md).",
                id="callboard.W002",
            )
        )
    return found
