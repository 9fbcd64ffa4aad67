"""The sandbox's one task: a step of an emulated call (see engine.py)."""

from celery import shared_task

from voiceapps.sandbox import engine


@shared_task(name="sandbox.step", ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=3)
def sandbox_step(call_id: int, step: int) -> None:
    engine.run_step(call_id, step)
