"""Settings from the environment (and `.env`), and loading of the YAML files in `config/`.

Settings are read once, in the entry point, and passed down. Every failure here is a `ConfigError` whose
message names where the bad value came from (the variable, or the file and field) and what is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

M = TypeVar("M", bound=BaseModel)


ROLE_NAMES = ("scheduler", "ingest", "indexer", "alerter", "composer", "slack", "discord")


class ConfigError(Exception):
    """A setting or a configuration file is wrong; the message says where and why."""


class ServiceError(Exception):
    """Kafka or Redis is not available (and may not, or cannot, be embedded); the message says what to do."""


class Settings(BaseSettings):
    """Every setting of every role. Variable names are the field names in upper case."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # Kafka
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="host:port[,host:port]; unset starts the embedded broker"
    )
    kafka_topic_prefix: str = Field(default="ainews", pattern=r"^[A-Za-z0-9._-]+$")
    kafka_partitions: int = Field(default=3, ge=1, le=1000)
    kafka_replication_factor: int = Field(default=1, ge=1, le=10)
    kafka_client_id: str = "ai-news"
    kafka_connect_timeout: float = Field(default=30.0, gt=0)
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000, le=300_000)
    kafka_fetch_max_wait_ms: int = Field(default=100, ge=1, le=10_000,
                                         description="how long the broker may hold a fetch that has no records yet")
    kafka_max_message_bytes: int = Field(default=1_000_000, ge=100_000, le=100_000_000,
                                         description="the largest message ai-news sends or handles")
    consumer_max_attempts: int = Field(default=3, ge=1, le=100)
    consumer_retry_backoff: float = Field(default=0.5, ge=0)

    # Ingest and scheduling
    ingest_timeout: float = Field(default=20.0, gt=0, le=600, description="seconds for a whole fetch")
    ingest_max_bytes: int = Field(default=10_000_000, ge=1024)
    ingest_max_redirects: int = Field(default=5, ge=0, le=30)
    ingest_per_host: int = Field(default=2, ge=1, le=50)
    page_descriptions: bool = Field(default=True, description="read the linked page's description for new items "
                                                              "whose feed gives no text")
    page_timeout: float = Field(default=6.0, gt=0, le=120, description="seconds for one linked page")
    page_budget: float = Field(default=20.0, gt=0, le=600, description="seconds for all linked pages of one poll")
    page_max_bytes: int = Field(default=262_144, ge=4096, le=10_000_000, description="bytes of a page's head read")
    page_private_addresses: bool = Field(default=False, description="allow linked pages on private addresses")
    briefing_window_hours: float = Field(default=24.0, gt=0, description="older items of a first poll are backfill")
    source_disable_after_hours: float = Field(default=48.0, gt=0)
    scheduler_tick_seconds: float = Field(default=5.0, gt=0)
    scheduler_jitter: float = Field(default=0.1, ge=0, lt=1)
    scheduler_lock_ttl_seconds: float = Field(default=30.0, gt=0)

    # Composer
    composer_tick_seconds: float = Field(default=20.0, gt=0, le=3600, description="how often editions are checked")
    composer_lock_ttl_seconds: float = Field(default=30.0, gt=0, description="leader lock of the composer")

    # Topic alerts
    alert_min_importance: float = Field(default=0.6, ge=0, le=1,
                                        description="a subscription's minimum importance when none is given")
    alert_max_per_hour: int = Field(default=6, ge=1, le=1000, description="alerts per channel per clock hour")
    alert_max_age_hours: float = Field(default=12.0, gt=0, le=720, description="older items never alert")
    alert_tick_seconds: float = Field(default=5.0, gt=0, le=3600, description="how often due digests are sent")

    # Redis
    redis_url: str = Field(default="redis://127.0.0.1:6379/0",
                           description="redis://host:port/db, rediss:// (TLS) or unix:///path/to/socket")
    redis_key_prefix: str = Field(default="ainews:", min_length=1)

    # Embedded services: "auto" starts them when not configured or not reachable, "never" fails instead.
    ainews_embedded: Literal["auto", "never"] = "auto"
    ainews_embedded_kafka_storage: str | None = Field(
        default=None, description="where the embedded broker keeps its data (a Tansu storage URL); unset: in memory")
    ainews_config_dir: Path = Path("config")

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_base_url: str | None = None
    slack_http_port: int = Field(default=3000, ge=1, le=65535)
    slack_post_interval: float = Field(default=1.0, ge=0, le=60, description="seconds between posts to one channel")

    # Slash commands (every platform)
    command_rate_limit: int = Field(default=10, ge=1, le=1000, description="commands per user per minute")

    # Discord
    discord_bot_token: SecretStr | None = None
    discord_application_id: str | None = Field(default=None, description="the application's id (developer portal)")
    discord_api_base_url: str | None = None
    discord_gateway_url: str | None = None
    discord_post_interval: float = Field(default=0.5, ge=0, le=60,
                                         description="seconds between two posts to one channel")

    # Optional OpenAI-compatible summariser
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_total_timeout: float = Field(default=30.0, gt=0, le=600,
                                     description="seconds for all the analyst's requests of one briefing")
    llm_request_timeout: float = Field(default=10.0, gt=0, le=300, description="seconds for one request")
    llm_token_budget: int = Field(default=40_000, ge=1000, description="tokens for all requests of one briefing")

    classifier_model: Path | None = Field(
        default=None, description="a model built by `ai-news train --out`; unset: the one shipped with ai-news")
    relevance_model: Path | None = Field(
        default=None, description="an about-AI model built by `ai-news train --relevance-out`; unset: the shipped one")

    ops_channel: str | None = Field(default=None, pattern=r"^(slack|discord):\S+$")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")) or len(value.split("://", 1)[1]) == 0:
            raise ValueError("not a Redis URL: give redis://host:port/db (e.g. redis://127.0.0.1:6379/0), "
                             "rediss:// for TLS, or unix:///path/to/redis.sock")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator(
        "kafka_bootstrap_servers", "slack_api_base_url", "discord_api_base_url", "discord_gateway_url",
        "llm_base_url", "llm_model", "slack_client_id", "ops_channel", "discord_application_id",
        "slack_bot_token", "slack_signing_secret", "slack_app_token", "slack_client_secret",
        "discord_bot_token", "llm_api_key", "ainews_embedded_kafka_storage",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_api_base_url", "discord_api_base_url", "llm_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("ainews_embedded_kafka_storage")
    @classmethod
    def _storage_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z][a-z0-9+.-]*://\S*", value.strip()):
            raise ValueError("not a storage URL: give s3://bucket/, gs://bucket/, memory://tansu/ or (with a Tansu "
                             "built with it) postgres://user:password@host/database")
        return value.strip() if value is not None else None

    @field_validator("discord_application_id")
    @classmethod
    def _snowflake(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9]{15,21}", value.strip()):
            raise ValueError("must be the application's numeric id (General Information -> Application ID)")
        return value.strip() if value is not None else None

    @field_validator("discord_gateway_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    def config_file(self, name: str) -> Path:
        return self.ainews_config_dir / name

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None or self.slack_client_id is not None

    @property
    def discord_configured(self) -> bool:
        return self.discord_bot_token is not None


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; a bad value raises ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "_".join(str(part) for part in err["loc"]).upper() or "settings"
            given = err.get("input")
            shown = "" if _is_secret_name(name) or isinstance(given, dict) else f" (got {given!r})"
            lines.append(f"setting {name}: {err['msg']}{shown}")
        raise ConfigError("invalid settings (environment or .env):\n  " + "\n  ".join(lines)) from None


def _is_secret_name(name: str) -> bool:
    return any(word in name for word in ("TOKEN", "SECRET", "KEY"))


def format_location(loc: tuple[int | str, ...]) -> str:
    """('topics', 3, 'slug') -> 'topics[3].slug'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


# libyaml's loader when PyYAML was built with it (the pure-Python one takes a tenth of a second per config file).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Load a YAML file into a pydantic model; errors name the file, the field and the reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found (set AINEWS_CONFIG_DIR to the folder that holds it)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: {format_location(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("\n".join(lines)) from None
