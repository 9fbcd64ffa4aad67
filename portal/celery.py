import os

from celery import Celery
from celery.signals import setup_logging, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("callboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Named, not imported: the step's module needs Django's apps, loaded when the worker starts.
app.steps["consumer"].add("portal.health:WorkerHeartbeatStep")


@setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    """Celery leaves logging alone when this signal has a receiver: without one it would
    replace the root logger's handlers with its own, which do not redact webhook tokens."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@task_prerun.connect
def _refresh_database_connections(**kwargs) -> None:
    """Before each task, what Django does before each request: close connections that are
    broken or older than CONN_MAX_AGE. With CELERY_DB_REUSE_MAX, Celery itself stops closing
    them around every task (a new PostgreSQL backend per task)."""
    from django.db import close_old_connections

    close_old_connections()
