"""One world per test module for the modules that ask for `world`: building it costs a few
tenths of a second (accounts, RSA keys, a call and its events), once per test in a matrix of
hundreds."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import override_settings

from portal.health import worker_heartbeat_record
from portal.models import Role
from tests.factories import UserFactory
from tests.security.world import NOWHERE, World, build_world


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """The world, built in a transaction left open for the module: each test's own
    transaction nests in it as a savepoint, so what a test changes is undone after it as
    before, and the whole world is rolled back after the module's last test."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(PUBLIC_BASE_URL=NOWHERE):
                world = build_world(UserFactory(username="admin", role=Role.ADMIN))
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def world(module_world, db, settings) -> World:
    """The module's world as a test built it: its own copy of the objects, Callboard's URL
    going nowhere, and a worker's heartbeat in the cache (emptied before every test)."""
    settings.PUBLIC_BASE_URL = NOWHERE
    worker_heartbeat_record()
    return copy.deepcopy(module_world)
