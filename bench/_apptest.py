"""Time a dashboard page's script runs in Streamlit's AppTest, signed in the way a browser with
a valid cookie is (a live engine session), for the benchmarks that measure a page's run."""
from __future__ import annotations

import secrets
import time
from datetime import timedelta
from pathlib import Path

from engine.db import Database
from engine.services.sessions import open_session

ROOT = Path(__file__).resolve().parent.parent


def page_runs(db: Database, user_id, page: str, repeat: int) -> list[float]:
    """Milliseconds of each of `repeat` reruns of views/<page>.py: the whole script, engine
    calls and rendering, after a first run that is not counted."""
    from streamlit.testing.v1 import AppTest

    from dashboard import ui

    ui.database_override = db
    token = secrets.token_urlsafe(16)
    open_session(db.uow(), user_id, kind="dashboard", token=token,
                 expires_at=db.clock() + timedelta(days=1))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
    at.session_state["authentication_status"] = True
    at.session_state["rc_token"] = token
    at.session_state["username"] = "bench"
    try:
        at.run()
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        out = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            at.run()
            out.append((time.perf_counter() - t0) * 1000)
            assert not at.exception, [e.value for e in at.exception]
        return out
    finally:
        ui.database_override = None
