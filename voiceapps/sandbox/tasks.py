"""The sandbox's tasks: a step of an emulated call, and the resumption of lost steps
(see engine.py). Each imports the engine in its body, as calls/tasks.py imports its
services: the engine enqueues these."""

from celery import shared_task


@shared_task(name="sandbox.step", ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=3)
def sandbox_step(call_id: int, step: int) -> None:
    from voiceapps.sandbox import engine

    engine.run_step(call_id, step)


@shared_task(name="sandbox.resume_overdue", ignore_result=True)
def sandbox_resume_overdue() -> None:
    """Beat, every minute: steps lost with a killed worker are sent again."""
    from voiceapps.sandbox import engine

    engine.resume_overdue()
