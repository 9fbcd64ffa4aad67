"""Reads the frame's pages and API share."""

from __future__ import annotations

from collections.abc import Iterable

from portal import lockout, twofactor
from portal.models import User


def users_with_sign_in_state(users: Iterable[User]) -> list[User]:
    """The users, each with `locked_until` (when a lock from failed sign-ins ends; None: not
    locked) and `two_factor` (enrolled): what the Users pages and the users API show."""
    users = list(users)
    locks = lockout.usernames_locked_until([user.username for user in users])
    enrolled = twofactor.two_factor_enrolled_ids(users)
    for user in users:
        user.locked_until = locks.get(user.username)
        user.two_factor = user.pk in enrolled
    return users
