"""API-only settings (rate limits, hashing cost); secrets and the database come from engine.config."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    #: Requests per minute per client IP and per signed-in user; 0 turns that limit off.
    rate_limit_per_ip: int = Field(default=1200, ge=0, alias="API_RATE_LIMIT_PER_IP")
    rate_limit_per_user: int = Field(default=600, ge=0, alias="API_RATE_LIMIT_PER_USER")
    #: bcrypt cost for passwords set through the API (tests lower it for speed).
    bcrypt_rounds: int = Field(default=12, ge=4, le=16, alias="API_BCRYPT_ROUNDS")
    access_token_minutes: int = Field(default=15, ge=1, le=1440, alias="API_ACCESS_TOKEN_MINUTES")
    refresh_token_days: int = Field(default=7, ge=1, le=90, alias="API_REFRESH_TOKEN_DAYS")
