"""The source list from `config/sources.yaml`: what to poll, how often, and how much it counts."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.models import SourceKind
from bot.settings import load_yaml_model

SOURCE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
DEFAULT_INTERVAL_MINUTES = 15


class Source(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=SOURCE_ID_PATTERN)
    name: str = Field(min_length=1)
    kind: SourceKind = "feed"
    url: str
    interval_minutes: int = Field(default=DEFAULT_INTERVAL_MINUTES, ge=1, le=7 * 24 * 60)
    weight: float = Field(default=1.0, ge=0.1, le=3.0)
    topics: tuple[str, ...] = ()
    enabled: bool = True
    min_points: int = Field(default=0, ge=0, description="Hacker News: skip stories with fewer points")
    ai_only: bool = Field(default=False, description="publishes nothing but AI: its items skip the about-AI check")

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        url = url.strip()
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url


class SourcesConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    sources: tuple[Source, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> SourcesConfig:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"source id {source.id!r} appears twice")
            seen.add(source.id)
        return self

    def get(self, source_id: str) -> Source | None:
        return next((s for s in self.sources if s.id == source_id), None)

    def by_url(self, url: str) -> Source | None:
        return next((s for s in self.sources if s.url == url.strip()), None)

    @property
    def enabled(self) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.enabled)


def load_sources(path: Path, topic_slugs: tuple[str, ...] | None = None) -> SourcesConfig:
    """Load and validate the sources; topic hints must name topics of the taxonomy when one is given."""
    config = load_yaml_model(path, SourcesConfig)
    if topic_slugs is not None:
        from bot.settings import ConfigError

        problems = [
            f"{path}: sources[{i}].topics: unknown topic {slug!r} (topics: {', '.join(topic_slugs)})"
            for i, source in enumerate(config.sources)
            for slug in source.topics
            if slug not in topic_slugs
        ]
        if problems:
            raise ConfigError("\n".join(problems))
    return config


_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason) for pattern, reason in (
    (r"name or service not known|nodename nor servname|name resolution|getaddrinfo|no address associated",
     "name not resolved"),
    (r"connection refused", "connection refused"),
    (r"no complete answer within (\d+(?:\.\d+)?)s", "timed out after {0} s"),
    (r"\bHTTP (\d{3})(?: ([A-Za-z][\w -]*))?", "HTTP {0} {1}"),
    (r"connect call failed", "connection failed"),
    (r"certificate|sslerror|ssl handshake|\btls\b", "TLS error"),
    (r"byte cap", "too large"),
    (r"redirects", "too many redirects"),
    (r"entity|entities", "refused: declares XML entities"),
    (r"not a readable feed|not a feed|html page|unrecognized", "not a feed"),
    (r"is disabled|^disabled$", "disabled"),
    (r"connect call failed|connection failed|connection reset|server disconnected", "connection failed"),
    )
)


def failure_reason(error: str) -> str:
    """A source's last error as a short reason a person can act on ("name not resolved", "HTTP 404 Not Found",
    "timed out after 20 s", "not a feed"); the raw error stays in `ai-news sources --json`."""
    for pattern, reason in _REASONS:
        match = pattern.search(error)
        if match:
            return reason.format(*(group or "" for group in match.groups())).strip()
    text = error.split(": ", 1)[-1] if ": " in error else error
    return text[:60]
