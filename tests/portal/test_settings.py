"""Settings load in local and production mode, and production refuses to start unconfigured."""

import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.conftest import REPO

PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'], "
    "'db_name': s.DATABASES['default']['NAME'], 'broker': s.CELERY_BROKER_URL, "
    "'public': s.PUBLIC_BASE_URL, 'keys': len(s.FIELD_ENCRYPTION_KEYS), "
    "'secure_cookies': s.SESSION_COOKIE_SECURE, 'hsts': s.SECURE_HSTS_SECONDS}))"
)
CONFIG_VARS = {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DATABASE_URL",
               "CELERY_BROKER_URL", "ALLOWED_HOSTS", "PUBLIC_BASE_URL"}


def run_python(code: str, var_dir, **env_vars: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(CALLBOARD_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="portal.settings", **env_vars)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-7f3a9c",
        "FIELD_ENCRYPTION_KEYS": ",".join(Fernet.generate_key().decode() for _ in range(2)),
        "ALLOWED_HOSTS": "callboard.example.com",
        "PUBLIC_BASE_URL": "https://callboard.example.com/",
        "DATABASE_URL": "postgres://callboard:pw@db.internal:5433/callboard",
        "CELERY_BROKER_URL": "redis://cache.internal:6379/2",
    }


def test_production_refuses_to_start_without_secrets(tmp_path):
    result = run_python(PRINT_SETTINGS, tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY and FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_production_settings_come_from_the_environment(tmp_path, production_env):
    result = run_python(PRINT_SETTINGS, tmp_path, **production_env)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded == {
        "debug": False,
        "engine": "django.db.backends.postgresql",
        "db_name": "callboard",
        "broker": "redis://cache.internal:6379/2",
        "public": "https://callboard.example.com",
        "keys": 2,
        "secure_cookies": True,
        "hsts": 31536000,
    }


def test_production_settings_pass_check_deploy(tmp_path, production_env):
    production_env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = run_python(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        tmp_path,
        **production_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def bootstrap(var_dir) -> str:
    subprocess.run([sys.executable, "-m", "portal.bootstrap"], cwd=REPO, check=True,
                   env={**os.environ, "CALLBOARD_VAR_DIR": str(var_dir)}, capture_output=True)
    return (var_dir / "local.env").read_text()


def test_local_secrets_are_generated_once_and_kept(tmp_path):
    first = bootstrap(tmp_path)
    assert "SECRET_KEY=" in first and "FIELD_ENCRYPTION_KEYS=" in first
    assert bootstrap(tmp_path) == first, "a second `make run` must keep the keys"
    assert bootstrap(tmp_path / "other") != first, "each checkout gets its own keys"


def test_local_mode_uses_sqlite_and_a_serverless_broker_from_var(tmp_path):
    bootstrap(tmp_path)
    result = run_python(PRINT_SETTINGS, tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["debug"] is True
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["db_name"] == str(tmp_path / "callboard.sqlite3")
    assert loaded["broker"] == "filesystem://"
    assert (tmp_path / "broker" / "queue").is_dir()


KEYS = {"SECRET_KEY": "k" * 50, "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode()}


@pytest.mark.parametrize("entries", ["10.0.0.5:84x3", "10.0.0.5:\u00b2", "[fd00::5]8443"])
def test_an_outbound_allow_list_port_that_is_not_digits_stops_the_start(tmp_path, entries):
    # Read as no port, it would let in every port of the host: its database, its cache.
    result = run_python("import django; django.setup()", tmp_path, **KEYS,
                        OUTBOUND_ALLOWED_HOSTS=f"10.0.0.0/8,fd00::/8,[fd00::6]:443,{entries}")

    assert result.returncode != 0
    assert ("OUTBOUND_ALLOWED_HOSTS entries take a port as digits (10.0.0.5:8443, "
            f"[fd00::5]:8443); not a port: {entries}.") in result.stderr


def test_outbound_allow_list_entries_with_and_without_ports_are_kept(tmp_path):
    entries = "10.0.0.0/8,fd00::/8,[fd00::6]:443,gateway.internal:8443,[fd00::7]"
    result = run_python("import django; django.setup(); from django.conf import settings; "
                        "print(','.join(settings.OUTBOUND_ALLOWED_HOSTS))", tmp_path, **KEYS,
                        OUTBOUND_ALLOWED_HOSTS=entries)

    assert result.stdout.strip() == entries, result.stderr
