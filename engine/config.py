"""Settings from the environment (pydantic-settings); secrets never have a production default."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-insecure-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    data_dir: Path = Field(default=PROJECT_ROOT / "data", alias="RANGE_CONTROL_DATA_DIR")
    db_pool_size: int = Field(default=5, ge=1, le=100, alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(default=10, ge=0, le=100, alias="DB_MAX_OVERFLOW")
    site_timezone: str = Field(default="UTC", alias="SITE_TIMEZONE")
    environment: str = Field(default="development", alias="RANGE_CONTROL_ENV")
    allow_self_registration: bool = Field(default=True, alias="ALLOW_SELF_REGISTRATION")
    cookie_name: str = Field(default="range_control_auth", alias="AUTH_COOKIE_NAME")
    cookie_key: str = Field(default=DEV_SECRET, alias="AUTH_COOKIE_KEY")
    cookie_expiry_days: float = Field(default=1.0, alias="AUTH_COOKIE_EXPIRY_DAYS")
    jwt_secret: str = Field(default=DEV_SECRET, alias="JWT_SECRET_KEY")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    series_max_occurrences: int = Field(default=366, ge=1, le=1000,
                                        alias="SERIES_MAX_OCCURRENCES")
    #: Shared state for several replicas (the API's rate-limit counters); unset: PostgreSQL
    #: holds them (or, on SQLite, each process).
    redis_url: str | None = Field(default=None, alias="REDIS_URL")

    @field_validator("site_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        ZoneInfo(v)  # raises for an unknown zone name
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

    def check_production_secrets(self, *names: str) -> None:
        """Refuse to start in production while a named secret still has its development default."""
        if not self.is_production:
            return
        defaults = [n for n in names if getattr(self, n) == DEV_SECRET or not getattr(self, n)]
        if defaults:
            env = {"cookie_key": "AUTH_COOKIE_KEY", "jwt_secret": "JWT_SECRET_KEY"}
            raise RuntimeError(
                "refusing to start in production with default secrets: set "
                + ", ".join(env.get(n, n) for n in defaults)
            )
        if not self.database_url:
            raise RuntimeError("refusing to start in production without DATABASE_URL")


def normalize_database_url(url: str | None, data_dir: Path) -> str:
    """Railway hands out postgres:// and postgresql:// URLs; SQLAlchemy needs the psycopg 3 driver named."""
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
