"""Settings come from the environment; run `manage.py` in a child process to see each case."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from portal.celery import app

ROOT = Path(__file__).resolve().parents[2]
CONFIG_VARS = (
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "ALLOWED_HOSTS",
    "HTTPS_ONLY",
    "EMAIL_URL",
    "MERIDIAN_VAR_DIR",
)
PROBE = (
    "from django.conf import settings as s;"
    "print(s.DATABASES['default']['ENGINE']);"
    "print(s.CELERY_BROKER_URL);"
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE)"
)


def run_manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    # A private var/ so the child never touches the developer's database or queue.
    clean.update({"MERIDIAN_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    result = run_manage(tmp_path, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_may_run_without_a_secret_key(tmp_path):
    result = run_manage(tmp_path, "check", DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_embedded_default_is_sqlite_and_a_filesystem_broker_under_var(tmp_path):
    result = run_manage(tmp_path, "shell", "--no-imports", "-c", PROBE, SECRET_KEY="k" * 60)
    assert result.returncode == 0, result.stderr
    engine, broker, flags = result.stdout.split("\n")[:3]
    assert engine == "django.db.backends.sqlite3"
    assert broker == "filesystem://"
    assert flags == "False True True"
    assert (tmp_path / "var" / "celery" / "queue").is_dir()


def test_production_variables_switch_to_postgresql_and_redis(tmp_path):
    result = run_manage(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        PROBE,
        SECRET_KEY="k" * 60,
        DATABASE_URL="postgres://meridian@db.internal:5432/meridian",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
    )
    assert result.returncode == 0, result.stderr
    engine, broker = result.stdout.split("\n")[:2]
    assert engine == "django.db.backends.postgresql"
    assert broker == "redis://cache.internal:6379/0"


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    result = run_manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="vR7-production-secret-" + "x9Q2" * 12,
        ALLOWED_HOSTS="support.meridian.example",
        DATABASE_URL="postgres://meridian@db.internal:5432/meridian",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        SECURE_HSTS_PRELOAD="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_malformed_values_stop_start_up_with_the_variable_named(tmp_path):
    result = run_manage(tmp_path, "check", SECRET_KEY="k" * 60, HTTPS_ONLY="maybe")
    assert result.returncode != 0
    assert "HTTPS_ONLY='maybe' is not a boolean" in result.stderr
    result = run_manage(
        tmp_path,
        "check",
        SECRET_KEY="k" * 60,
        DB_CONN_MAX_AGE="soon",
        DATABASE_URL="postgres://x@localhost/x",
    )
    assert result.returncode != 0
    assert "soon" in result.stderr


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_celery_is_configured_for_late_acks_and_json_only():

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert "heartbeat" in app.conf.beat_schedule
