"""Settings from the environment (pydantic-settings); secrets never have a published default.

Signing keys (API tokens, dashboard cookie): in production they must come from the environment,
at least 32 bytes and not a published default. Elsewhere an unset key is generated once and
kept in the data directory (engine/keys.py), so a default install never signs with a key that
anyone can read in this repository.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Published in earlier releases as the development default: refused everywhere.
DEV_SECRET = "dev-insecure-change-me"
PUBLISHED_SECRETS = frozenset({DEV_SECRET, "change-me", "changeme", "secret"})
MIN_SECRET_BYTES = 32
#: Setting name -> (environment variable, file in the data directory when generated).
SIGNING_KEYS = {"cookie_key": ("AUTH_COOKIE_KEY", "auth_cookie.key"),
                "jwt_secret": ("JWT_SECRET_KEY", "jwt_secret.key")}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    #: The owner of the tables: migrations, backup and restore. DATABASE_URL is the
    #: least-privilege role the applications use (see engine/db_roles.py).
    migration_database_url: str | None = Field(default=None, alias="MIGRATION_DATABASE_URL")
    data_dir: Path = Field(default=PROJECT_ROOT / "data", alias="RANGE_CONTROL_DATA_DIR")
    db_pool_size: int = Field(default=5, ge=1, le=100, alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(default=10, ge=0, le=100, alias="DB_MAX_OVERFLOW")
    #: A pooled PostgreSQL connection idle longer than this is pinged before use (a database
    #: restart is caught there); busier ones skip the round trip (engine/db.py).
    db_ping_idle_seconds: float = Field(default=10.0, ge=0, le=3600, alias="DB_PING_IDLE_SECONDS")
    site_timezone: str = Field(default="UTC", alias="SITE_TIMEZONE")
    environment: str = Field(default="development", alias="RANGE_CONTROL_ENV")
    allow_self_registration: bool = Field(default=True, alias="ALLOW_SELF_REGISTRATION")
    cookie_name: str = Field(default="range_control_auth", alias="AUTH_COOKIE_NAME")
    cookie_key: str | None = Field(default=None, alias="AUTH_COOKIE_KEY")
    cookie_expiry_days: float = Field(default=1.0, alias="AUTH_COOKIE_EXPIRY_DAYS")
    jwt_secret: str | None = Field(default=None, alias="JWT_SECRET_KEY")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    board_refresh_seconds: int = Field(default=30, ge=5, le=3600, alias="BOARD_REFRESH_SECONDS")
    series_max_occurrences: int = Field(default=366, ge=1, le=1000,
                                        alias="SERIES_MAX_OCCURRENCES")
    #: Shared state for several replicas (the API's rate-limit counters); unset: PostgreSQL
    #: holds them (or, on SQLite, each process).
    redis_url: str | None = Field(default=None, alias="REDIS_URL")

    @field_validator("site_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        """Raises ValueError so pydantic names SITE_TIMEZONE (a bare KeyError would not)."""
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}: give an IANA name such as "
                             "Europe/London") from exc
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.site_timezone)

    @property
    def is_production(self) -> bool:
        return self.environment.lower() in {"production", "prod"}

    @property
    def sqlalchemy_url(self) -> str:
        return normalize_database_url(self.database_url, self.data_dir)

    @property
    def migration_sqlalchemy_url(self) -> str:
        """The owner's URL (MIGRATION_DATABASE_URL), falling back to DATABASE_URL."""
        return normalize_database_url(self.migration_database_url or self.database_url,
                                      self.data_dir)

    def check_production_secrets(self, *names: str) -> None:
        """Refuse to start with a published default key anywhere, and in production with a
        missing or short (< 32 bytes) key or without DATABASE_URL."""
        problems = []
        for name in names:
            env, _ = SIGNING_KEYS.get(name, (name, None))
            value = getattr(self, name)
            if value is not None and value.strip() in PUBLISHED_SECRETS:
                problems.append(f"{env} is a published default: set a long random secret"
                                + ("" if self.is_production else " or unset it to have one "
                                   "generated in the data directory"))
            elif self.is_production and not value:
                problems.append(f"{env} is not set")
            elif self.is_production and len(value.encode()) < MIN_SECRET_BYTES:
                problems.append(f"{env} is shorter than {MIN_SECRET_BYTES} bytes")
        if problems:
            raise RuntimeError(("refusing to start in production: " if self.is_production
                                else "refusing to start: ") + "; ".join(problems))
        if self.is_production and not self.database_url:
            raise RuntimeError("refusing to start in production without DATABASE_URL")

    def signing_key(self, name: str) -> str:
        """The key for `name` ("jwt_secret" or "cookie_key"): from the environment, or (outside
        production) generated once and kept in the data directory, shared by every process."""
        self.check_production_secrets(name)
        value = getattr(self, name)
        if value:
            return value
        from engine.keys import load_or_create_key
        return load_or_create_key(self.data_dir / SIGNING_KEYS[name][1])


def normalize_database_url(url: str | None, data_dir: Path) -> str:
    """Railway hands out postgres:// and postgresql:// URLs; SQLAlchemy needs the psycopg 3
    driver named."""
    if not url:
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data_dir / 'range_control.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class LoggingSettings(BaseSettings):
    """Read on each configure_logging call (no cache), so a process picks up LOG_LEVEL at start
    even where the site settings could not be built."""

    model_config = SettingsConfigDict(extra="ignore")

    log_level: str = Field(default="INFO", alias="LOG_LEVEL")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
