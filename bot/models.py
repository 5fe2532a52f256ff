"""Every message that crosses Kafka: frozen pydantic models with a schema version and a deterministic id.

Ids are derived from content (an item's id is a hash of its canonical URL, an edition's of channel and date),
so producing the same message twice yields the same id and consumers can make their effects idempotent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    computed_field,
    field_validator,
    model_validator,
)

# The ids are part of what messages are: importable from here too.
from bot.ids import canonical_url as canonical_url
from bot.ids import stable_id as stable_id

SCHEMA_VERSION = 1

CHANNEL_PATTERN = r"^(slack|discord|console):[A-Za-z0-9._:-]+$"
SUMMARY_MAX = 20_000  # characters of an item's summary


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must carry a time zone")
    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
CanonicalUrl = Annotated[str, AfterValidator(canonical_url)]


class Message(BaseModel):
    """Base of every Kafka message: frozen, versioned, JSON on the wire.

    The messages that a process composing briefings never reads (fetch jobs, alerts, dead letters, health events)
    build their validators on first use (`defer_build`), not when this module is imported."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    schema_version: int = SCHEMA_VERSION

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value < 1 or value > SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {value} is not supported (this build reads 1..{SCHEMA_VERSION});"
                " upgrade ai-news"
            )
        return value

    @property
    def message_id(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


SourceKind = Literal["feed", "jsonfeed", "arxiv", "hackernews", "github"]


class FetchJob(Message):
    """Poll one source now. Keyed by source id on `ainews.fetch`."""

    model_config = ConfigDict(defer_build=True)  # see Message

    source_id: str = Field(min_length=1)
    url: str = Field(min_length=1)
    kind: SourceKind = "feed"
    due_at: AwareDatetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        return stable_id("fetch", self.source_id, self.due_at.isoformat())

    @property
    def message_id(self) -> str:
        return self.id


class Item(Message):
    """A normalized entry from a source. Its id is the hash of its canonical URL."""

    url: CanonicalUrl
    title: str = Field(min_length=1, max_length=1000)
    source: str = Field(min_length=1, description="source id")
    source_name: str = ""
    published: AwareDatetime
    summary: str = Field(default="", max_length=SUMMARY_MAX)
    authors: tuple[str, ...] = ()
    language: str | None = None
    categories: tuple[str, ...] = ()
    points: int | None = Field(default=None, ge=0, description="votes at the source (Hacker News points)")
    backfill: bool = Field(default=False, description="archived from a first poll; never alerts")
    described: bool = Field(default=False, description="the summary starts with the linked page's own description "
                                                       "(the feed gave no text of its own)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        return stable_id("item", self.url)

    @property
    def message_id(self) -> str:
        return self.id


class Entities(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    organizations: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    laws: tuple[str, ...] = ()


class ClassifiedItem(Item):
    """An Item with its topics (first is primary), importance, entities and story."""

    topics: tuple[str, ...] = Field(min_length=1)
    topic_scores: dict[str, float] = Field(default_factory=dict)
    importance: float = Field(default=0.0, ge=0.0, le=1.0)
    entities: Entities = Field(default_factory=Entities)
    story_id: str = ""
    about_ai: bool | None = Field(
        default=None, description="AI is the item's main subject (None: archived before the check, not decided)")
    ai_score: float | None = Field(default=None, ge=0.0, le=1.0,
                                   description="calibrated probability that the item is about AI")

    @model_validator(mode="after")
    def _default_story(self) -> ClassifiedItem:
        if not self.story_id:
            object.__setattr__(self, "story_id", self.id)
        return self

    @property
    def primary_topic(self) -> str:
        return self.topics[0]

    @classmethod
    def from_item(cls, item: Item, **enrichment: Any) -> ClassifiedItem:
        data = item.model_dump(exclude={"id"})
        data.update(enrichment)
        return cls.model_validate(data)


class SourceLink(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    title: str
    url: str
    source: str = Field(default="", description="the publisher: the site the link points at")
    via: str = Field(default="", description="the feeds that carried it, when they are not the publisher")


class Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @model_validator(mode="after")
    def _rectangular(self) -> Table:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row has {len(row)} cells, table has {len(self.columns)} columns")
        return self


class Story(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    story_id: str = ""
    title: str
    summary: str = ""
    why_it_matters: tuple[str, ...] = ()
    sources: tuple[SourceLink, ...] = ()
    importance: float = Field(default=0.0, ge=0.0, le=1.0)


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    topic: str
    heading: str
    stories: tuple[Story, ...] = ()
    table: Table | None = None


class KeyDevelopment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    title: str
    text: str
    url: str


class Briefing(Message):
    """One channel's edition for one date. Its id is a hash of channel and date."""

    channel: str = Field(pattern=CHANNEL_PATTERN, description="platform:channel-id")
    date: date
    timezone: str = "UTC"
    title: str
    executive_summary: str = ""
    key_developments: tuple[KeyDevelopment, ...] = ()
    sections: tuple[Section, ...] = ()
    outlook: tuple[str, ...] = ()
    sources: tuple[SourceLink, ...] = ()
    generated: tuple[str, ...] = Field(
        default=(), description="the parts an LLM analyst wrote or decided (title, executive_summary, outlook, "
                                "summary:<story>, why_it_matters:<story>, section:<story>, about_ai:<story>)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def edition_id(self) -> str:
        return edition_id(self.channel, self.date)

    @property
    def message_id(self) -> str:
        return self.edition_id


def edition_id(channel: str, day: date) -> str:
    return stable_id("edition", channel, day.isoformat())


class Alert(Message):
    """One important story for one subscribed channel. Its id is a hash of channel and story, so a story alerts a
    channel once; later coverage republishes it with the sources so far and a higher `revision`, and the chat
    adapters update the message they posted to the highest revision."""

    model_config = ConfigDict(defer_build=True)  # see Message

    kind: Literal["alert"] = "alert"
    channel: str = Field(pattern=CHANNEL_PATTERN)
    topic: str
    item: ClassifiedItem = Field(description="the item that alerted: the story's first to match")
    reason: str = Field(default="", description="why this channel gets it: its subscription")
    why: str = Field(default="", description="why the story is important (importance and what raises it)")
    sources: tuple[SourceLink, ...] = Field(default=(), description="every source covering the story so far")
    revision: int = Field(default=1, ge=1, description="grows with the story's coverage; the latest wins")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def alert_id(self) -> str:
        return stable_id("alert", self.channel, self.item.story_id)

    @property
    def message_id(self) -> str:
        return self.alert_id


class DigestStory(BaseModel):
    """One story of a digest."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)  # see Message

    story_id: str
    topic: str
    title: str
    url: str
    source: str = ""
    importance: float = Field(default=0.0, ge=0.0, le=1.0)
    sources: int = Field(default=1, ge=1, description="how many sources cover it")
    reason: str = ""


class AlertDigest(Message):
    """The stories held back from one channel (over its hourly number of alerts, or in its quiet hours), sent as
    one message when they are due. Its id is a hash of channel and due time; it grows with `revision` as more
    stories or sources come in."""

    model_config = ConfigDict(defer_build=True)  # see Message

    kind: Literal["digest"] = "digest"
    channel: str = Field(pattern=CHANNEL_PATTERN)
    due: AwareDatetime
    cause: Literal["hourly", "quiet"] = "hourly"
    stories: tuple[DigestStory, ...] = Field(min_length=1)
    revision: int = Field(default=1, ge=1)
    per_hour: int = Field(default=0, ge=0, description="the channel's hourly number of alerts")
    quiet: str = Field(default="", description="the channel's quiet hours, as set")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def digest_id(self) -> str:
        return digest_id(self.channel, self.due)

    @property
    def message_id(self) -> str:
        return self.digest_id


def digest_id(channel: str, due: datetime) -> str:
    return stable_id("digest", channel, due.astimezone(UTC).isoformat())


def _alert_kind(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) else "alert"


# What the alerts topic carries: an alert, or a digest (a message without `kind` is an alert).
AlertMessage = Annotated[Annotated[Alert, Tag("alert")] | Annotated[AlertDigest, Tag("digest")],
                         Discriminator(_alert_kind)]
ALERT_MESSAGES: TypeAdapter[Alert | AlertDigest] = TypeAdapter(AlertMessage, config=ConfigDict(defer_build=True))


class DeadLetter(Message):
    """A message that failed validation or kept failing, with the error and where it came from."""

    model_config = ConfigDict(defer_build=True)  # see Message

    topic: str
    partition: int
    offset: int
    group: str
    key: str | None = None
    value: str = Field(description="the start of the original value: UTF-8 text, or base64 when it is not UTF-8")
    value_encoding: Literal["utf-8", "base64"] = "utf-8"
    value_bytes: int | None = Field(default=None, ge=0, description="the size of the original value")
    value_truncated: bool = Field(default=False, description="`value` is only the start of the original")
    error_type: str
    error: str
    attempts: int = Field(ge=0)
    failed_at: AwareDatetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        return stable_id("dlq", self.group, self.topic, str(self.partition), str(self.offset))

    @property
    def message_id(self) -> str:
        return self.id


HealthStatus = Literal["failing", "disabled", "recovered"]


class HealthEvent(Message):
    """A source's health changed: it keeps failing, was disabled, or works again. For the operations channel."""

    model_config = ConfigDict(defer_build=True)  # see Message

    source_id: str
    source_name: str = ""
    status: HealthStatus
    error: str = ""
    failing_since: AwareDatetime | None = None
    at: AwareDatetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        return stable_id("health", self.source_id, self.status, self.at.isoformat())

    @property
    def message_id(self) -> str:
        return self.id

