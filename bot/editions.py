"""Editions: which channel gets a daily briefing, at what local time, about which topics.

`config/channels.yaml` lists the editions an operator sets up; the same settings live in Redis (`EditionStore`),
where chat commands (`/ai-news setup`) change them. An edition set from chat wins over the config file's entry for
the same channel. The clock arithmetic is pure: `edition_moment` turns a channel's local edition time on a date
into an instant, correct across daylight-saving changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as Time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.models import CHANNEL_PATTERN
from bot.settings import load_yaml_model

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
BriefingFormat = Literal["full", "compact"]


def parse_hhmm(text: str) -> Time:
    """'08:00' -> time(8, 0); anything else raises ValueError saying what is expected."""
    match = _HHMM.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (24-hour), e.g. 08:00")
    return Time(int(match.group(1)), int(match.group(2)))


def zone(name: str) -> ZoneInfo:
    """The IANA time zone of that name; ValueError naming it if there is none."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)"
        ) from None


class Edition(BaseModel):
    """One channel's daily briefing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str = Field(pattern=CHANNEL_PATTERN, description="platform:channel-id")
    time: str = Field(default="08:00", description="local edition time, HH:MM")
    timezone: str = "UTC"
    topics: tuple[str, ...] = Field(default=(), description="empty: every topic")
    format: BriefingFormat = "full"
    origin: Literal["config", "chat"] = Field(default="config", description="where the setting came from")

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        return parse_hhmm(value).strftime("%H:%M")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value.strip()

    @property
    def local_time(self) -> Time:
        return parse_hhmm(self.time)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def platform(self) -> str:
        return self.channel.split(":", 1)[0]

    def moment(self, day: date) -> datetime:
        return edition_moment(day, self.local_time, self.zone)

    def latest_due(self, now: datetime) -> tuple[date, datetime]:
        """The latest local date whose edition time is at or before `now`, and that instant."""
        return latest_due(now, self.local_time, self.zone)

    def window(self, day: date) -> tuple[datetime, datetime]:
        """From the previous edition time to this date's (24 h, or 23/25 h across a DST change)."""
        return self.moment(day - timedelta(days=1)), self.moment(day)


def edition_moment(day: date, at: Time, tz: ZoneInfo) -> datetime:
    """The instant (UTC) of local time `at` on `day` in `tz`.

    A local time that occurs twice (clocks going back) is its first occurrence; one that does not exist (clocks
    going forward, e.g. 02:30 on the spring change) is the moment the same distance after the gap's start, as the
    clock would show it had it not jumped (02:30 CET becomes 03:30 CEST), so the edition still goes out that day.
    """
    # fold=0 applies the offset in force before a change: the first of two occurrences, and for a time in the
    # gap, the offset before the jump (which is what moves 02:30 to 03:30 summer time).
    return datetime.combine(day, at, tzinfo=tz).replace(fold=0).astimezone(UTC)


def latest_due(now: datetime, at: Time, tz: ZoneInfo) -> tuple[date, datetime]:
    """The latest local date whose edition moment is at or before `now`."""
    today = now.astimezone(tz).date()
    for day in (today + timedelta(days=1), today, today - timedelta(days=1), today - timedelta(days=2)):
        moment = edition_moment(day, at, tz)
        if moment <= now:
            return day, moment
    raise AssertionError("unreachable: an edition two days ago is always due")


class ChannelsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    channels: tuple[Edition, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> ChannelsConfig:
        seen: set[str] = set()
        for edition in self.channels:
            if edition.channel in seen:
                raise ValueError(f"channel {edition.channel!r} appears twice")
            seen.add(edition.channel)
        return self


def load_channels(path: Path, topic_slugs: Sequence[str]) -> ChannelsConfig:
    """The editions of `channels.yaml`; a missing file means no editions. Unknown topics are errors."""
    from bot.settings import ConfigError

    if not path.exists():
        return ChannelsConfig()
    config = load_yaml_model(path, ChannelsConfig)
    known = set(topic_slugs)
    for n, edition in enumerate(config.channels):
        unknown = [t for t in edition.topics if t not in known]
        if unknown:
            raise ConfigError(f"{path}: channels[{n}].topics: unknown topic {unknown[0]!r}; "
                              f"topics: {', '.join(topic_slugs)}")
    return config


def merge_editions(configured: Iterable[Edition], stored: Iterable[Edition]) -> list[Edition]:
    """The editions in effect: those set from chat win; then the config file's. A stored copy of a config entry
    that the file no longer lists is dropped (the operator removed it). Ordered by channel."""
    merged = {e.channel: e for e in configured}
    for edition in stored:
        if edition.origin == "chat":
            merged[edition.channel] = edition
    return [merged[channel] for channel in sorted(merged)]
