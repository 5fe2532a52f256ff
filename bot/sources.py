"""The source list from `config/sources.yaml`: what to poll, how often, and how much it counts."""

from __future__ import annotations

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
