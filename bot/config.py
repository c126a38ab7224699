"""Settings from the environment and ``.env``, all prefixed ``NEWSBOT_`` (see .env.example)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the bot can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    db: str = Field("newsbot.db", description="Path of the SQLite database file.")
    telegram_token: str | None = Field(None, description="Telegram bot token from @BotFather.")
    telegram_api_url: str = Field(
        "https://api.telegram.org/bot",
        description="Bot API base URL; the token is appended (or a self-hosted server).",
    )
    telegram_file_url: str | None = Field(
        None, description="Bot API file base URL (derived if unset)."
    )
    telegram_webhook_url: str | None = Field(None, description="Public HTTPS URL for webhook mode.")
    telegram_webhook_secret: str | None = Field(
        None, description="Secret token checked on webhooks."
    )
    telegram_webhook_port: int = Field(
        8443, description="Local port the webhook server listens on."
    )
    discord_token: str | None = Field(None, description="Discord bot token.")
    admins: str = Field("", description="Bot admins as platform:id, comma separated.")
    default_language: str = Field(
        "en", description="Language of bot messages when nothing else decides."
    )
    questions_per_minute: int = Field(10, description="Per-user question rate limit.")
    allow_private_urls: bool = Field(False, description="Allow fetching URLs on private networks.")
    fetch_timeout: float = Field(10.0, description="Seconds before a URL fetch gives up.")
    fetch_max_bytes: int = Field(2_000_000, description="Largest page or file accepted, in bytes.")
    announce_empty_digests: bool = Field(
        False, description="Post 'nothing new' when a digest has no new articles."
    )
    examples_dir: str | None = Field(None, description="Sample articles loaded on first start.")
    log_level: str = Field("INFO", description="Logging level.")

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("en", "ar"):
            raise ValueError("default_language must be 'en' or 'ar'")
        return value

    @property
    def admin_keys(self) -> frozenset[str]:
        """Admins as ``platform:id`` strings."""
        return frozenset(part.strip() for part in self.admins.split(",") if part.strip())
