import os

from celery import Celery
from celery.signals import celeryd_after_setup, celeryd_init, setup_logging, task_prerun
from celery.utils.text import str_to_list

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("callboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Named, not imported: the step's module needs Django's apps, loaded when the worker starts.
app.steps["consumer"].add("portal.health:WorkerHeartbeatStep")

# Celery reads these at every publish, several times each; through Django's settings an unset
# one is a miss under three spellings (44 µs against 9 µs from Celery's own layer, about seven
# reads a publish). Copied once when the configuration loads; none of them is changed later.
_READ_AT_EVERY_PUBLISH = ("task_always_eager", "task_repr_maxlevels", "task_send_sent_event",
                          "broker_pool_acquire_timeout")


@app.on_after_configure.connect
def _settle_per_publish_settings(sender: Celery, source, **kwargs) -> None:
    source.update({key: source[key] for key in _READ_AT_EVERY_PUBLISH})


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


def separate_queue(queue: str, name: str) -> str:
    """The queue of its own that `name`'s tasks (settings.SEPARATE_TASK_QUEUES) take beside
    `queue`."""
    return f"{queue}-{name}"


def route_to_separate_queue(name: str, args, kwargs, options, task=None, **kw) -> dict | None:
    """Celery's router (CELERY_TASK_ROUTES): a task of settings.SEPARATE_TASK_QUEUES goes to
    its queue beside the default one as it is at this send (tests switch the default)."""
    from django.conf import settings

    for prefix, queue_name in settings.SEPARATE_TASK_QUEUES.items():
        if name.startswith(prefix):
            return {"queue": separate_queue(app.conf.task_default_queue, queue_name)}
    return None


# The queues each worker of this process was told not to consume (-X), by its hostname:
# Celery passes the options to celeryd_init only, and the worker to celeryd_after_setup.
_excluded_queues: dict[str, set[str]] = {}


@celeryd_init.connect
def _remember_excluded_queues(sender, options, **kwargs) -> None:
    _excluded_queues[sender] = set(str_to_list(options.get("exclude_queues")))


@celeryd_after_setup.connect
def _consume_separate_queues(sender, instance, **kwargs) -> None:
    """Every worker consumes, beside each queue it was given (-Q, or the default), that
    queue's separate ones: no worker has to be told to take forwarding. A separate queue
    named with -X stays out (`-X callboard-sandbox`: a worker that sends calls
    and plays none of the sandbox's steps)."""
    from django.conf import settings

    queues = instance.app.amqp.queues
    separate = settings.SEPARATE_TASK_QUEUES.values()
    # A worker given only a separate queue of its own default (`-Q callboard-forwarding`)
    # takes that work alone.
    defaults_own = {separate_queue(instance.app.conf.task_default_queue, name)
                    for name in separate}
    for queue in [queue for queue in queues.consume_from if queue not in defaults_own]:
        for name in separate:
            if separate_queue(queue, name) not in _excluded_queues.get(sender, ()):
                queues.select_add(separate_queue(queue, name))
