"""Settings: Railway URLs, the SQLite default, and production refusing default secrets."""
from pathlib import Path

import pytest

from engine.config import DEV_SECRET, Settings, normalize_database_url


@pytest.mark.parametrize("url,expected", [
    ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
    ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_urls_use_psycopg3(url, expected):
    assert normalize_database_url(url, Path("/tmp")) == expected


def test_no_database_url_means_a_sqlite_file_in_the_data_dir(tmp_path):
    assert normalize_database_url(None, tmp_path / "d") == f"sqlite:///{tmp_path / 'd' / 'range_control.db'}"
    assert (tmp_path / "d").is_dir()


def test_production_refuses_default_secrets():
    s = Settings(RANGE_CONTROL_ENV="production", DATABASE_URL="postgres://h/db")
    with pytest.raises(RuntimeError, match="AUTH_COOKIE_KEY"):
        s.check_production_secrets("cookie_key")
    ok = Settings(RANGE_CONTROL_ENV="production", DATABASE_URL="postgres://h/db",
                  AUTH_COOKIE_KEY="a-real-secret-value")
    ok.check_production_secrets("cookie_key")


def test_development_accepts_default_secrets():
    Settings(RANGE_CONTROL_ENV="development").check_production_secrets("cookie_key", "jwt_secret")
    assert Settings().cookie_key == DEV_SECRET


def test_unknown_site_timezone_is_rejected():
    with pytest.raises(Exception):
        Settings(SITE_TIMEZONE="Mars/Olympus")
