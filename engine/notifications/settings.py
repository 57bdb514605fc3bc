"""Notification settings from the environment (SMTP itself lives in engine/mail.py)."""
from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    dashboard_url: str = Field(default="http://localhost:8501", alias="NOTIFY_DASHBOARD_URL")
    api_url: str = Field(default="http://localhost:8000", alias="NOTIFY_API_URL")
    reminder_hours: float = Field(default=24.0, gt=0, le=24 * 14, alias="NOTIFY_REMINDER_HOURS")
    digest_hour: int = Field(default=7, ge=0, le=23, alias="NOTIFY_DIGEST_HOUR")
    batch_size: int = Field(default=50, ge=1, le=1000, alias="NOTIFY_BATCH_SIZE")
    max_attempts: int = Field(default=8, ge=1, le=50, alias="NOTIFY_MAX_ATTEMPTS")
    retry_base_seconds: float = Field(default=60.0, gt=0, alias="NOTIFY_RETRY_BASE_SECONDS")
    retry_max_seconds: float = Field(default=6 * 3600.0, gt=0, alias="NOTIFY_RETRY_MAX_SECONDS")
    lease_seconds: float = Field(default=300.0, ge=5, alias="NOTIFY_LEASE_SECONDS")
    poll_seconds: float = Field(default=5.0, gt=0, alias="NOTIFY_POLL_SECONDS")

    def backoff_seconds(self, attempts: int) -> float:
        """Wait before attempt `attempts + 1`: base, 2x base, 4x base, ... capped."""
        return min(self.retry_max_seconds, self.retry_base_seconds * 2 ** max(0, attempts - 1))


@lru_cache(maxsize=1)
def get_notify_settings() -> NotifySettings:
    return NotifySettings()
