"""Topic alerts, the pure part: what a channel follows, whether an item matches it, quiet hours, the hourly
windows and the words that say why an item matters. No I/O and no clock: the alerter (`workers/alerter.py`) reads
the subscriptions from Redis and calls these.

A channel subscribes to topics (an item matches when any of its topics is one, not only the primary) and follows
organizations, models and laws of the entity gazetteer (`config/entities.yaml`); each subscription has a minimum
importance. Following an organization also catches the models it makes (`makers` in the gazetteer): following
Anthropic alerts on a headline that names only Claude. Following a model family (Claude) catches every model of it
(Claude Sonnet 4.5); following one model (GPT-5) catches its variants (GPT-5 Pro) but not another model (GPT-5o).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.briefing.facts import events_in
from bot.editions import edition_moment, parse_hhmm, zone
from bot.entities import EntityExtractor, Gazetteer, load_gazetteer
from bot.importance import EVENT_STRENGTH
from bot.models import AlertDigest, ClassifiedItem, Entities, HealthEvent

FollowKind = Literal["organization", "model", "law"]
SubscriptionKind = Literal["topic", "organization", "model", "law"]
FOLLOW_KINDS: tuple[FollowKind, ...] = ("organization", "model", "law")
HOUR = timedelta(hours=1)

_WORDS = re.compile(r"[a-z0-9]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)")
_BILL_NUMBER = re.compile(r"^([A-Z.]+?)\s*([0-9]+)$")
_QUIET = re.compile(r"^([0-9]{1,2}:[0-9]{2})\s*(?:-|–|—|to)?\s*([0-9]{1,2}:[0-9]{2})$", re.IGNORECASE)


class Subscription(BaseModel):
    """One thing a channel gets alerts for, and the least importance an item needs to alert."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SubscriptionKind = "topic"
    name: str = Field(min_length=1, max_length=200)
    min_importance: float = Field(ge=0.0, le=1.0)

    @property
    def field(self) -> str:
        """Its field in the channel's Redis hash: the topic's slug, or `<kind>:<name>`."""
        return self.name if self.kind == "topic" else f"{self.kind}:{self.name}"

    @classmethod
    def from_field(cls, field: str, min_importance: float) -> Subscription:
        kind, sep, name = field.partition(":")
        if sep and kind in FOLLOW_KINDS:
            return cls(kind=kind, name=name, min_importance=min_importance)
        return cls(kind="topic", name=field, min_importance=min_importance)

    def describe(self) -> str:
        """'robotics', or 'Anthropic (organization)'."""
        return self.name if self.kind == "topic" else f"{self.name} ({self.kind})"

    def reason(self) -> str:
        """Why an item alerts through it, as the alert says it."""
        if self.kind == "topic":
            return f"{self.name} alerts from importance {self.min_importance:g}"
        return f"this channel follows {self.name}"


class QuietHours(BaseModel):
    """A daily span of local time (it may cross midnight) in which a channel gets no alert; what arrives then waits
    for its end and comes as one digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str
    end: str
    timezone: str = "UTC"

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        return parse_hhmm(value).strftime("%H:%M")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value.strip()

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours must start and end at different times")
        return self

    def describe(self) -> str:
        return f"{self.start}-{self.end} {self.timezone}"

    def _span(self, day: date) -> tuple[datetime, datetime]:
        """The quiet period that starts on local `day` (its end on the next day when it crosses midnight)."""
        tz = zone(self.timezone)
        start, end = parse_hhmm(self.start), parse_hhmm(self.end)
        began = edition_moment(day, start, tz)
        ended = edition_moment(day + timedelta(days=1) if end <= start else day, end, tz)
        return began, ended

    def period(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The quiet period `now` falls in (start, end), or None when alerts may go out."""
        today = now.astimezone(zone(self.timezone)).date()
        for day in (today - timedelta(days=1), today):
            began, ended = self._span(day)
            if began <= now < ended:
                return began, ended
        return None

    def active(self, now: datetime) -> bool:
        return self.period(now) is not None

    def ends(self, now: datetime) -> datetime:
        """When the quiet period around `now` ends (`now` itself when it is not quiet)."""
        found = self.period(now)
        return found[1] if found is not None else now


def parse_quiet(text: str) -> tuple[str, str]:
    """'22:00-07:00' (or '22:00 07:00', '22:00 to 07:00') -> ('22:00', '07:00'); ValueError saying what is
    expected otherwise."""
    match = _QUIET.match(" ".join(text.split()))
    if not match:
        raise ValueError(f"“{text}” is not a span of time as HH:MM-HH:MM, e.g. 22:00-07:00")
    start, end = (parse_hhmm(part).strftime("%H:%M") for part in match.groups())
    if start == end:
        raise ValueError("Quiet hours must start and end at different times")
    return start, end


# --- following entities ------------------------------------------------------------------------------------------

def model_key(name: str) -> str:
    """'GPT-4o' -> 'gpt 4o', 'Qwen3-Next 80B' -> 'qwen 3 next 80b': words of letters and digits, a family's name
    apart from the version glued to it, so prefixes compare word by word."""
    return " ".join(_WORDS.findall(_LETTER_DIGIT.sub(" ", name.lower())))


def law_words(name: str) -> list[str]:
    return _WORDS.findall(name.lower())


def _law_matches(followed: str, found: str) -> bool:
    """The same law: the same words ('SB 53', 'SB53'), or one name ending the other when the shorter has two words
    at least ('AI Act' and 'EU AI Act')."""
    a, b = law_words(followed), law_words(found)
    if "".join(a) == "".join(b):
        return True
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return len(shorter) >= 2 and longer[-len(shorter):] == shorter


@dataclass(frozen=True)
class Followed:
    kind: FollowKind
    name: str


class Follows:
    """Resolves what a user types (`Anthropic`, `deepmind`, `Claude`, `GPT-5`, `sb 53`, `EU AI Act`) to an entity of
    the gazetteer, suggests the closest one for anything else, and matches items' entities against follows."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.extractor = EntityExtractor(gazetteer)
        self._orgs: dict[str, str] = {}
        for org in gazetteer.organizations:
            for spelling in (org.name, *org.aliases):
                self._orgs.setdefault(spelling.lower(), org.name)
        self._laws = {law.lower(): law for law in gazetteer.laws}
        self._families = {family.lower(): family for family in gazetteer.model_families}
        self._families_longest = sorted(gazetteer.model_families, key=len, reverse=True)
        # (the family's key, the organization that makes it), longest family first
        makers = [(model_key(family), self._orgs.get(maker.lower(), maker))
                  for family, maker in gazetteer.makers.items()]
        self._makers = sorted(makers, key=lambda pair: -len(pair[0]))
        known = [*(o.name for o in gazetteer.organizations), *(a for o in gazetteer.organizations for a in o.aliases),
                 *gazetteer.model_families, *gazetteer.laws]
        self._known = {name.lower(): name for name in known}

    def names(self) -> list[str]:
        """Everything one can follow by name (organizations, model families, laws), for autocompletion."""
        return [*(o.name for o in self.gazetteer.organizations), *self.gazetteer.model_families,
                *self.gazetteer.laws]

    def resolve(self, text: str) -> Followed | None:
        """The entity `text` names, or None."""
        name = " ".join(text.split()).strip(" \"'“”‘’")
        if not name:
            return None
        lower = name.lower()
        if lower in self._orgs:
            return Followed("organization", self._orgs[lower])
        if lower in self._laws:
            return Followed("law", self._laws[lower])
        if lower in self._families:
            return Followed("model", self._families[lower])
        bill = _BILL_NUMBER.sub(r"\1 \2", name.upper())  # 'sb53' -> 'SB 53', as bills are written
        bills = self.extractor.extract(bill).laws
        if len(bills) == 1 and "".join(law_words(bills[0])) == "".join(law_words(name)):
            return Followed("law", bills[0])
        for family in self._families_longest:  # 'llama 3.1 405b' -> 'Llama 3.1 405b': families are case-sensitive
            if lower.startswith(family.lower()):
                name = family + name[len(family):]
                break
        models = self.extractor.extract(name).models
        if len(models) == 1 and model_key(models[0]) == model_key(name):
            return Followed("model", models[0])
        return None

    def suggest(self, text: str) -> str | None:
        """The known name closest to a mistyped one ('Antropic' -> 'Anthropic'), or None."""
        found = difflib.get_close_matches(text.strip(" \"'“”‘’").lower(), list(self._known), n=1, cutoff=0.75)
        return self._known[found[0]] if found else None

    def models_of(self, organization: str) -> list[str]:
        """The model families the organization makes ('Anthropic' -> ['Claude'])."""
        return [family for family, maker in self.gazetteer.makers.items()
                if self._orgs.get(maker.lower(), maker) == organization]

    def makers_of(self, models: Iterable[str]) -> set[str]:
        """The organizations that make these models (by their family)."""
        makers = set()
        for model in models:
            key = model_key(model)
            for family, maker in self._makers:
                if key == family or key.startswith(family + " "):
                    makers.add(maker)
                    break
        return makers

    def matches(self, subscription: Subscription, entities: Entities) -> bool:
        """Whether an item with these entities is about the followed organization, model or law."""
        name = subscription.name
        if subscription.kind == "organization":
            return name in entities.organizations or name in self.makers_of(entities.models)
        if subscription.kind == "model":
            wanted = model_key(name)
            return any(key == wanted or key.startswith(wanted + " ") for key in map(model_key, entities.models))
        if subscription.kind == "law":
            return any(_law_matches(name, law) for law in entities.laws)
        return False


@lru_cache(maxsize=4)
def load_follows(path: Path) -> Follows:
    """The follows of the gazetteer at `path` (config/entities.yaml); a bad file raises ConfigError naming it."""
    return Follows(load_gazetteer(path))


# --- channels and matching ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelRules:
    """Everything that decides one channel's alerts."""

    channel: str
    subscriptions: tuple[Subscription, ...] = ()
    quiet: QuietHours | None = None

    def match(self, item: ClassifiedItem, follows: Follows | None) -> Subscription | None:
        """The subscription through which the item alerts this channel, or None. Followed entities come before
        topics (they are what the channel asked for by name), then topics in the item's own order."""
        matched: list[tuple[int, Subscription]] = []
        for subscription in self.subscriptions:
            if item.importance < subscription.min_importance:
                continue
            if subscription.kind == "topic":
                if subscription.name in item.topics:
                    matched.append((1 + item.topics.index(subscription.name), subscription))
            elif follows is not None and follows.matches(subscription, item.entities):
                matched.append((0, subscription))
        return min(matched, key=lambda pair: pair[0])[1] if matched else None


def alert_topic(item: ClassifiedItem, subscription: Subscription) -> str:
    """The topic an alert is filed under: the subscribed topic, or the item's primary topic for a follow."""
    return subscription.name if subscription.kind == "topic" else item.primary_topic


def hour_window(now: datetime) -> tuple[datetime, datetime]:
    """The clock hour (UTC) that `now` falls in: the span in which a channel gets at most its hourly number."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start, start + HOUR


def digest_due(now: datetime, quiet: QuietHours | None) -> tuple[datetime, Literal["hourly", "quiet"]]:
    """When a story held back now goes out: at the end of quiet hours if it is quiet, otherwise at the end of the
    hour; an hour that ends inside quiet hours waits for their end too."""
    if quiet is not None and quiet.active(now):
        return quiet.ends(now), "quiet"
    _, end = hour_window(now)
    if quiet is not None and quiet.active(end):
        return quiet.ends(end), "hourly"
    return end, "hourly"


# --- why an item matters -----------------------------------------------------------------------------------------

EVENT_WORDS = {
    "law": "a law in force", "acquisition": "an acquisition", "restriction": "a ban or restriction",
    "funding": "a funding round", "court": "a court case", "security": "a security incident",
    "release": "a release", "outage": "an outage", "availability": "a launch to more users",
    "partnership": "a partnership", "hire": "a leadership change", "benchmark": "a benchmark result",
}
_BIG_MONEY = re.compile(r"\b(?:billion|trillion|bn|tn)\b|\d\s?[BT]\b", re.IGNORECASE)


def importance_reason(item: ClassifiedItem, sources: int, importance: float | None = None) -> str:
    """'Importance 0.82: an acquisition, $1.1 billion, 3 sources': the story's importance (the item's, unless a
    later item of the story scored higher) and what raises it."""
    parts: list[str] = []
    events = sorted(events_in(item.title, item.summary), key=lambda e: -EVENT_STRENGTH.get(e.kind, 0.0))
    if events:
        parts.append(EVENT_WORDS.get(events[0].kind, events[0].kind))
    big = [amount for amount in item.entities.amounts if _BIG_MONEY.search(amount)]
    if big:
        parts.append(big[0])
    if sources > 1:
        parts.append(f"{sources} sources")
    if item.points and item.points >= 100:
        parts.append(f"{item.points} points on Hacker News")
    head = f"Importance {item.importance if importance is None else importance:.2f}"
    return f"{head}: {', '.join(parts)}" if parts else head


def closest_name(word: str, choices: Sequence[str], cutoff: float = 0.6) -> str | None:
    """The choice nearest to `word`, ignoring case."""
    folded = {choice.lower(): choice for choice in choices}
    found = difflib.get_close_matches(word.lower(), list(folded), n=1, cutoff=cutoff)
    return folded[found[0]] if found else None


# --- words the chat adapters show (plain text: each adapter escapes it for its platform) --------------------------

def topic_label(topic: str) -> str:
    """'robotics' -> 'Robotics' (a slug shown as a word)."""
    return topic.replace("-", " ").capitalize()


def alert_kicker(topic: str) -> str:
    return f"{topic_label(topic)} alert"


def digest_title(digest: AlertDigest) -> str:
    """'4 more robotics stories', or '5 stories during quiet hours'."""
    count = len(digest.stories)
    topics = {story.topic for story in digest.stories}
    kind = f"{next(iter(topics)).replace('-', ' ')} " if len(topics) == 1 else ""
    noun = "story" if count == 1 else "stories"
    if digest.cause == "quiet":
        return f"{count} {kind}{noun} during quiet hours"
    return f"{count} more {kind}{noun} this hour"


def digest_note(digest: AlertDigest) -> str:
    """Why these stories came together."""
    due = f"{digest.due.astimezone(UTC):%H:%M} UTC"
    if digest.cause == "quiet":
        hours = f" ({digest.quiet})" if digest.quiet else ""
        return f"Held during this channel's quiet hours{hours}, sent at their end."
    limit = f"{digest.per_hour} alerts" if digest.per_hour else "its alerts"
    return f"Over this channel's {limit} an hour: held until the end of the hour ({due})."


def digest_line(story_sources: int, source: str, importance: float) -> str:
    """'Lab blog · 3 sources · importance 0.71'."""
    parts = [source] if source else []
    if story_sources > 1:
        parts.append(f"{story_sources} sources")
    parts.append(f"importance {importance:.2f}")
    return " · ".join(parts)


def health_text(event: HealthEvent) -> tuple[str, str]:
    """The operations channel's message for a source's change of health: a title and a line."""
    name = f"{event.source_name} ({event.source_id})" if event.source_name else event.source_id
    since = f" since {event.failing_since.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if event.failing_since else ""
    if event.status == "failing":
        return f"Source failing: {name}", f"It keeps failing{since}: {event.error or 'no error recorded'}"
    if event.status == "disabled":
        return (f"Source disabled: {name}",
                f"It failed{since} and is no longer polled: {event.error or 'no error recorded'}. "
                f"`ai-news sources --enable {event.source_id}` puts it back.")
    return f"Source recovered: {name}", f"It works again after failing{since}."
