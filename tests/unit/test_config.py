"""Settings: Railway URLs, the SQLite default, and signing keys (refused when weak in
production, generated and kept in the data directory elsewhere)."""
import os
import stat
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from engine import keys
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
    expected = f"sqlite:///{tmp_path / 'd' / 'range_control.db'}"
    assert normalize_database_url(None, tmp_path / "d") == expected
    assert (tmp_path / "d").is_dir()


PROD = {"RANGE_CONTROL_ENV": "production", "DATABASE_URL": "postgres://h/db"}
STRONG = "k" * 32


@pytest.mark.parametrize("key,problem", [(None, "not set"), (DEV_SECRET, "a published default"),
                                         ("x" * 31, "shorter than 32 bytes")])
def test_production_refuses_missing_default_and_short_keys(tmp_path, key, problem):
    env = {**PROD, "RANGE_CONTROL_DATA_DIR": str(tmp_path)}
    if key is not None:
        env["AUTH_COOKIE_KEY"] = key
    s = Settings(**env)
    with pytest.raises(RuntimeError, match=f"AUTH_COOKIE_KEY is {problem}"):
        s.signing_key("cookie_key")
    assert list(tmp_path.iterdir()) == []  # production never generates a key


def test_production_accepts_a_long_key():
    assert Settings(**PROD, JWT_SECRET_KEY=STRONG).signing_key("jwt_secret") == STRONG


def test_the_published_default_is_refused_in_development_too():
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY is a published default"):
        Settings(JWT_SECRET_KEY=DEV_SECRET).signing_key("jwt_secret")


def test_development_without_keys_generates_private_random_ones_once(tmp_path):
    s = Settings(RANGE_CONTROL_DATA_DIR=str(tmp_path / "data"))
    jwt_key, cookie_key = s.signing_key("jwt_secret"), s.signing_key("cookie_key")
    assert len(jwt_key) >= 48 and jwt_key != cookie_key and DEV_SECRET not in (jwt_key, cookie_key)
    files = {p.name: p for p in (tmp_path / "data").iterdir()}
    assert set(files) == {"jwt_secret.key", "auth_cookie.key"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files.values())
    keys.clear_cache()
    assert Settings(RANGE_CONTROL_DATA_DIR=str(tmp_path / "data")).signing_key(
        "jwt_secret") == jwt_key  # a restart keeps the key
    other = tmp_path / "elsewhere"
    assert Settings(RANGE_CONTROL_DATA_DIR=str(other)).signing_key("jwt_secret") != jwt_key


ROOT = Path(__file__).resolve().parents[2]
#: Each process waits for a start file, so all of them reach load_or_create_key together.
KEY_IN_A_FRESH_PROCESS = """
import sys, time
from pathlib import Path
from engine import keys
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
print(keys.load_or_create_key(Path(sys.argv[1])))
"""


def test_processes_starting_at_once_agree_on_one_key(tmp_path):
    data, go = tmp_path / "data", tmp_path / "go"
    data.mkdir()
    path = data / "jwt_secret.key"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    procs = [subprocess.Popen([sys.executable, "-c", KEY_IN_A_FRESH_PROCESS, str(path), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(8)]
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    found = {out.strip() for out, _ in results}
    assert len(found) == 1 and len(found.pop()) >= 48
    assert [p.name for p in data.iterdir()] == ["jwt_secret.key"]  # no temporary left


def test_a_key_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "jwt_secret.key"
    path.write_text("z" * 48)
    path.chmod(0o644)
    with pytest.raises(RuntimeError, match="chmod 600"):
        keys.load_or_create_key(path)


def test_unknown_site_timezone_is_rejected_naming_the_setting():
    with pytest.raises(pydantic.ValidationError, match="SITE_TIMEZONE") as exc:
        Settings(SITE_TIMEZONE="Mars/Olympus")
    assert "unknown time zone 'Mars/Olympus'" in str(exc.value)
