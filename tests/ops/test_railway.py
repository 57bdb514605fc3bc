"""The Railway config files parse, and every command they name exists and starts."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from reports.cli import build_parser
from tests.local_servers import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DASHBOARD = ROOT / "railway.toml"
REPORTS = ROOT / "railway.reports.toml"
WORKER = ROOT / "railway.worker.toml"


def load(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def argv(command: str) -> list[str]:
    """A config command as argv, run from this virtualenv (Railway runs it from its own)."""
    args = shlex.split(command)
    if args[0] == "python":
        return [sys.executable, *args[1:]]
    exe = BIN / args[0]
    assert exe.exists() or shutil.which(args[0]), f"{args[0]} is not installed"
    return [str(exe if exe.exists() else shutil.which(args[0])), *args[1:]]


def run(args: list[str], env: dict | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def test_dashboard_service_config():
    cfg = load(DASHBOARD)
    assert cfg["build"]["buildCommand"] == "pip install -r requirements.txt"
    deploy = cfg["deploy"]
    assert deploy["preDeployCommand"] == ["python -m engine migrate"]
    assert deploy["healthcheckPath"] == "/_stcore/health"
    assert deploy["restartPolicyType"] == "ON_FAILURE"
    start = shlex.split(deploy["startCommand"])
    assert start[:3] == ["streamlit", "run", "dashboard/app.py"]
    assert start[start.index("--server.port") + 1] == "$PORT"
    assert start[start.index("--server.address") + 1] == "0.0.0.0"
    assert (ROOT / "dashboard" / "app.py").is_file()


def test_reports_cron_config():
    deploy = load(REPORTS)["deploy"]
    assert deploy["restartPolicyType"] == "NEVER"
    fields = deploy["cronSchedule"].split()
    assert len(fields) == 5  # minute hour day month weekday, UTC on Railway
    start = shlex.split(deploy["startCommand"])
    assert start[:3] == ["python", "-m", "reports"]
    args = build_parser().parse_args(start[3:])  # every flag the cron passes exists
    assert args.report == "weekly-summary" and args.email


def test_notify_worker_config(tmp_path):
    deploy = load(WORKER)["deploy"]
    assert deploy["restartPolicyType"] == "ALWAYS"
    assert "cronSchedule" not in deploy and "healthcheckPath" not in deploy
    start = shlex.split(deploy["startCommand"])
    assert start == ["python", "-m", "engine", "notify"]
    # The command exists and refuses clearly without SMTP settings (exit 2, names the variable).
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'rc.db'}", "SMTP_HOST": "", "SMTP_FROM": ""}
    done = run(argv(deploy["startCommand"] + " --once"), env=env)
    assert done.returncode == 2 and "SMTP_HOST" in done.stderr


@pytest.mark.parametrize("path", [DASHBOARD, REPORTS, WORKER])
def test_build_command_names_a_real_requirements_file(path):
    build = shlex.split(load(path)["build"]["buildCommand"])
    assert build[:3] == ["pip", "install", "-r"] and (ROOT / build[3]).is_file()


@pytest.mark.parametrize("command", [
    "alembic --help",
    "streamlit run --help",
    "python -m reports --help",
    "python -m engine --help",
])
def test_named_programs_start(command):
    done = run(argv(command))
    assert done.returncode == 0, done.stderr
    assert "usage" in (done.stdout + done.stderr).lower()


@pytest.mark.parametrize("path", [DASHBOARD, ROOT / "railway.api.toml"])
def test_pre_deploy_migrates_as_the_owner_and_the_app_role_is_documented(path):
    """Both services migrate with the engine command (it also grants the runtime role), and
    their configs name the two URLs; the reports cron gets only the runtime one."""
    cfg_text = path.read_text()
    assert load(path)["deploy"]["preDeployCommand"] == ["python -m engine migrate"]
    assert "MIGRATION_DATABASE_URL=${{Postgres.DATABASE_URL}}" in cfg_text
    assert "DATABASE_URL=postgresql://rc_app:" in cfg_text
    reports = REPORTS.read_text()
    assert "DATABASE_URL=postgresql://rc_app:" in reports
    assert "MIGRATION_DATABASE_URL=$" not in reports


def test_pre_deploy_migrates_a_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'railway.db'}"
    (command,) = load(DASHBOARD)["deploy"]["preDeployCommand"]
    done = run(argv(command), env={"DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    current = run(argv("alembic current"), env={"DATABASE_URL": url})
    assert "(head)" in current.stdout


@pytest.mark.slow
def test_start_command_serves_the_health_check(tmp_path):
    """The start command, on a free port of 127.0.0.1, answers the health check path."""
    deploy = load(DASHBOARD)["deploy"]
    port = free_port()
    command = deploy["startCommand"].replace("$PORT", str(port)).replace("0.0.0.0", "127.0.0.1")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'rc.db'}", "PYTHONPATH": str(ROOT),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    proc = subprocess.Popen(argv(command), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        status, body = None, ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}{deploy['healthcheckPath']}", timeout=2) as resp:
                    status, body = resp.status, resp.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert proc.poll() is None, proc.stderr.read()
        assert (status, body) == (200, "ok")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(line.split("==")[0].split("[")[0].lower())
    return names


def test_the_production_build_installs_only_what_runs():
    """Railway installs requirements.txt: no test runner, browser driver or linter in it."""
    runtime = _requirement_names(ROOT / "requirements.txt")
    dev_only = {"pytest", "playwright", "schemathesis", "aiosmtpd", "ruff", "mypy", "httpx"}
    assert not runtime & dev_only
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    assert "-e ." in (ROOT / "requirements.txt").read_text().splitlines()


def test_console_scripts_name_real_entry_points():
    import importlib
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"range-control", "range-control-reports"} <= set(scripts)
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func))
