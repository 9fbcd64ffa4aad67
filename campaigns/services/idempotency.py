"""What campaigns and contact uploads share about an Idempotency-Key: the row a key already
made, and a save that loses gracefully to a twin request saved a moment earlier.

Both models keep `created_by` and `idempotency_key` under one unique constraint; a key is
only kept for a user (the system's own calls send none)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, models, transaction

from portal.services import Actor, IdempotencyConflict

Made = TypeVar("Made", bound=models.Model)


def made_with_key(
    model: type[Made], *, actor: Actor, key: str, matches: Callable[[Made], bool]
) -> Made | None:
    """What `actor` already made with this key; None when the key is new (or not kept).
    IdempotencyConflict when that row was made by a different request (`matches` says no):
    a key never silently answers for another request."""
    if not key or actor.user is None:
        return None
    made = model.objects.filter(created_by=actor.user, idempotency_key=key).first()
    if made is not None and not matches(made):
        raise IdempotencyConflict(made)
    return made


def save_once(
    made: Made, *, actor: Actor, key: str, matches: Callable[[Made], bool]
) -> tuple[Made, bool]:
    """Save `made` in a savepoint; when a twin request with the same key committed first,
    the constraint refuses it and the twin is returned instead: (the row kept, replayed)."""
    try:
        with transaction.atomic():
            made.save()
    except IntegrityError:
        twin = made_with_key(type(made), actor=actor, key=key, matches=matches)
        if twin is None:
            raise  # another constraint: not a twin
        return twin, True
    return made, False
