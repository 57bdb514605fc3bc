"""The API process's capacity: as many route threads as pooled connections, all kept open."""
from __future__ import annotations

import anyio.to_thread
from fastapi.testclient import TestClient

from api.app import create_app
from api.ratelimit import PostgresCounters
from tests.api.conftest import JWT_SECRET, api_settings
from tests.conftest import test_settings as settings_with


def _threads(client: TestClient) -> int:
    async def tokens() -> int:
        return int(anyio.to_thread.current_default_thread_limiter().total_tokens)
    assert client.portal is not None
    return client.portal.call(tokens)


def test_api_keeps_pool_size_plus_overflow_connections_open_and_as_many_threads(
        pg_database_url):
    """Overflow connections are closed on return, so under load the default pool opened and
    closed one per request: the API's pool holds them all (less the rate-limit store's own
    connection), and no more threads than that."""
    settings = settings_with(JWT_SECRET_KEY=JWT_SECRET, DATABASE_URL=pg_database_url,
                             DB_POOL_SIZE=3, DB_MAX_OVERFLOW=4)
    app = create_app(settings=settings, api_settings=api_settings())
    try:
        pool = app.state.db.engine.pool
        assert isinstance(app.state.limiter.store, PostgresCounters)
        assert pool.size() == 6 and pool._max_overflow == 0
        with TestClient(app) as client:
            assert _threads(client) == 6
    finally:
        app.state.db.dispose()


def test_without_postgresql_rate_limits_the_pool_has_all_connections(pg_database_url):
    settings = settings_with(JWT_SECRET_KEY=JWT_SECRET, DATABASE_URL=pg_database_url,
                             DB_POOL_SIZE=3, DB_MAX_OVERFLOW=4)
    app = create_app(settings=settings,
                     api_settings=api_settings(API_RATE_LIMIT_BACKEND="memory"))
    try:
        assert app.state.db.engine.pool.size() == 7
    finally:
        app.state.db.dispose()


def test_api_threads_setting_sizes_threads_and_pool_together(pg_database_url):
    settings = settings_with(JWT_SECRET_KEY=JWT_SECRET, DATABASE_URL=pg_database_url)
    app = create_app(settings=settings, api_settings=api_settings(API_THREADS=9))
    try:
        assert app.state.db.engine.pool.size() == 9
        with TestClient(app) as client:
            assert _threads(client) == 9
            assert client.get("/health").status_code == 200
    finally:
        app.state.db.dispose()
