"""The role groups survive a transactional test's flush, whatever the next test on the same
process uses: a test taking only the database found none unless a UserFactory or the
`django_db` mark happened to make them again."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from portal.models import Role


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_the_role_groups_and_their_permissions():
    call_command("flush", interactive=False, verbosity=0)  # as every transactional test ends

    assert Group.objects.filter(name__in=Role.labels).count() == len(Role)
    viewer = Group.objects.get(name=Role.VIEWER.label)
    assert viewer.permissions.filter(codename="view_call").exists()


def test_a_test_taking_the_database_late_finds_the_groups(request):
    """pytest-django cannot see a `db` asked for while the test runs, so it orders this test
    after the transactional ones: on one process, after the flush above."""
    request.getfixturevalue("db")

    assert Group.objects.filter(name__in=Role.labels).count() == len(Role)
