"""The topic taxonomy from `config/topics.yaml`: what topics exist, in which order, and how to spot them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.settings import load_yaml_model

SLUG_PATTERN = r"^[a-z][a-z0-9-]{0,48}$"


class Topic(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    negative_keywords: tuple[str, ...] = ()
    audience: str | None = Field(default=None, description="who this topic's news matters to, for the briefing")
    evidence_required: bool = Field(default=False, description=(
        "lead an item only when one of the topic's keywords is in its text: for a topic the learned model also "
        "gives to general essays that never name what the topic is about"))

    @field_validator("keywords", "negative_keywords")
    @classmethod
    def _normalise_keywords(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(" ".join(w.lower().split()) for w in words))
        if any(not w for w in cleaned):
            raise ValueError("keywords must not be empty strings")
        return cleaned


class Taxonomy(BaseModel):
    """The ordered topic list. The order is the order of sections in a briefing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    fallback_topic: str | None = None
    topics: tuple[Topic, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Taxonomy:
        seen: set[str] = set()
        for topic in self.topics:
            if topic.slug in seen:
                raise ValueError(f"topic slug {topic.slug!r} appears twice")
            seen.add(topic.slug)
        if self.fallback_topic is not None and self.fallback_topic not in seen:
            raise ValueError(f"fallback_topic {self.fallback_topic!r} is not one of the topics")
        return self

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(t.slug for t in self.topics)

    @property
    def fallback(self) -> str:
        return self.fallback_topic or self.topics[0].slug

    def get(self, slug: str) -> Topic | None:
        return next((t for t in self.topics if t.slug == slug), None)

    def order(self, slug: str) -> int:
        """Position of a topic in the config; unknown topics sort last."""
        try:
            return self.slugs.index(slug)
        except ValueError:
            return len(self.topics)


def load_taxonomy(path: Path) -> Taxonomy:
    return load_yaml_model(path, Taxonomy)
