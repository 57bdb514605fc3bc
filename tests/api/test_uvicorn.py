"""`uvicorn api.main:app` boots from the environment alone and serves over real HTTP."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
def test_uvicorn_serves_the_app_from_environment(db_url, make):
    member = make.user()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "JWT_SECRET_KEY": "e2e-secret-" + "z" * 32,
           "API_BCRYPT_ROUNDS": "4", "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host",
                             "127.0.0.1", "--port", str(port), "--no-access-log"],
                            cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        r = httpx.post(f"{base}/api/v1/auth/login",
                       data={"username": member.email, "password": "password-123"})
        assert r.status_code == 200
        me = httpx.get(f"{base}/api/v1/users/me",
                       headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert me.json()["email"] == member.email
        assert httpx.get(f"{base}/api/v1/openapi.json").json()["openapi"].startswith("3.")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
