"""`check --deploy` warns when a node would keep to itself what every node must share."""

import pytest
from cryptography.fernet import Fernet

from tests.portal.test_settings import run_python

CHECK_DEPLOY = (
    "from django.core.management import execute_from_command_line; "
    "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
)


@pytest.fixture
def several_nodes_env(monkeypatch) -> dict[str, str]:
    """A web node of an installation on several machines, configured right (the test
    process's own CACHE_URL kept out, so a deleted one means the default)."""
    monkeypatch.delenv("CACHE_URL", raising=False)
    return {
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-7f3a9c",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "callboard.example.com",
        "PUBLIC_BASE_URL": "https://callboard.example.com/",
        "DATABASE_URL": "postgres://callboard:pw@db.internal:5433/callboard",
        "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
        "CACHE_URL": "redis://redis.internal:6379/1",
    }


def test_a_node_sharing_database_broker_and_cache_passes(tmp_path, several_nodes_env):
    result = run_python(CHECK_DEPLOY, tmp_path, **several_nodes_env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_node_without_cache_url_is_told_its_cache_is_its_own(tmp_path, several_nodes_env):
    del several_nodes_env["CACHE_URL"]
    result = run_python(CHECK_DEPLOY, tmp_path, **several_nodes_env)
    assert result.returncode != 0
    assert "callboard.W001" in result.stderr and "Set CACHE_URL=redis://" in result.stderr
    assert "callboard.W002" not in result.stderr


def test_a_node_without_a_broker_is_told_no_other_machine_sees_its_tasks(
    tmp_path, several_nodes_env
):
    del several_nodes_env["CELERY_BROKER_URL"]
    result = run_python(CHECK_DEPLOY, tmp_path, **several_nodes_env)
    assert result.returncode != 0
    assert "callboard.W002" in result.stderr and "CELERY_BROKER_URL" in result.stderr


def test_one_machine_on_sqlite_keeps_its_files_without_a_warning(tmp_path, several_nodes_env):
    several_nodes_env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    del several_nodes_env["CACHE_URL"], several_nodes_env["CELERY_BROKER_URL"]
    result = run_python(CHECK_DEPLOY, tmp_path, **several_nodes_env)
    assert result.returncode == 0, result.stdout + result.stderr
