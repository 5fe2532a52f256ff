"""The alerter role (consumer group `<prefix>.alerts` on every items topic): topic alerts to `<prefix>.alerts`.

For each classified item about AI (`about_ai` True; False never alerts, and None, an item classified before the
about-AI check, is skipped rather than guessed), not backfill and not older than ALERT_MAX_AGE_HOURS, the channels
whose subscriptions match it (`bot.alerts`) get the story:

- **Once per channel and story.** The story is placed in exactly one message of each channel: its own alert
  (`Alert`, id = hash(channel, story)) or a digest (`AlertDigest`, id = hash(channel, due time)). The placement is
  one Redis script, so two copies of the role never place a story twice. Later items of the story only add their
  source: a message already sent is published again with the sources so far and a higher revision, which the chat
  adapters turn into an edit of the posted message; nothing alerts again.
- **No floods.** At most ALERT_MAX_PER_HOUR alerts per channel in a clock hour; the stories over that wait in the
  channel's digest for the end of the hour. In the channel's quiet hours (in its time zone) every story waits for
  their end. A digest due inside quiet hours waits for their end too. A tick (ALERT_TICK_SECONDS) sends the
  digests that are due.
- **Exactly once, nothing lost.** The revision of a message is counted from what it carries (sources, stories), so
  it only grows; the revision last published is kept with the message. After every change the messages that are
  out (or due) and whose revision is above the one published are produced, keyed by channel, and only then is the
  item's offset committed: a crash anywhere redelivers the item, which finds what was not published yet and
  publishes it. A repeat of what was published is harmless: the adapters' ledger delivers each revision once.
- **Subscriptions from chat** take effect on the next item: every change raises a version counter in Redis that
  the role checks with each item before it uses its cached subscriptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiokafka import ConsumerRecord
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.alerts import ChannelRules, Follows, alert_topic, digest_due, hour_window, importance_reason
from bot.bus import Bus, Consumer
from bot.models import Alert, AlertDigest, ClassifiedItem, DigestStory, SourceLink, digest_id, stable_id
from bot.store import TTL, Store
from workers.ticks import every

log = logging.getLogger(__name__)

GROUP = "alerts"

# Place a story in one channel, once: its own alert while the channel's hour has room and it is not quiet,
# otherwise the digest due at ARGV[6]. Returns the id of the message that carries the story (an earlier placement's,
# if there was one).
# KEYS: 1 the story's placements (channel -> message), 2 the channel's alerts this hour, 3 the alert's message,
#       4 the digest's message, 5 the digests waiting to go out
# ARGV: 1 channel, 2 alert id, 3 digest id, 4 alerts per hour, 5 quiet now (1/0), 6 due (epoch seconds),
#       7 due (ISO), 8 cause, 9 story id, 10 placement JSON, 11 state TTL, 12 count TTL
_PLACE = """
local placed = redis.call('hget', KEYS[1], ARGV[1])
if placed then return placed end
local message, key = ARGV[3], KEYS[4]
if ARGV[5] == '0' then
  local sent = redis.call('incr', KEYS[2])
  redis.call('expire', KEYS[2], ARGV[12])
  if sent <= tonumber(ARGV[4]) then message, key = ARGV[2], KEYS[3] end
end
if message == ARGV[2] then
  redis.call('hset', key, 'kind', 'alert', 'channel', ARGV[1])
else
  redis.call('hsetnx', key, 'kind', 'digest')
  redis.call('hsetnx', key, 'channel', ARGV[1])
  redis.call('hsetnx', key, 'due', ARGV[7])
  redis.call('hsetnx', key, 'cause', ARGV[8])
  if tonumber(redis.call('hget', key, 'published') or '0') == 0 then
    redis.call('zadd', KEYS[5], ARGV[6], message)
  end
end
redis.call('hsetnx', key, 'published', '0')
redis.call('hset', key, 'story:' .. ARGV[9], ARGV[10])
redis.call('expire', key, ARGV[11])
redis.call('hset', KEYS[1], ARGV[1], message)
redis.call('expire', KEYS[1], ARGV[11])
return message
"""
# Record that revision ARGV[1] of a message went out (never lowering it). KEYS: 1 the message.
_PUBLISHED = """
if redis.call('exists', KEYS[1]) == 0 then return -1 end
local current = tonumber(redis.call('hget', KEYS[1], 'published') or '0')
if tonumber(ARGV[1]) > current then redis.call('hset', KEYS[1], 'published', ARGV[1]) end
return current
"""


class StorySource(BaseModel):
    """One item of a story, as an alert lists it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    title: str
    url: str
    source: str
    importance: float = 0.0

    @classmethod
    def of(cls, item: ClassifiedItem) -> StorySource:
        return cls(title=item.title, url=item.url, source=item.source_name or item.source,
                   importance=item.importance)

    def link(self) -> SourceLink:
        return SourceLink(title=self.title, url=self.url, source=self.source)


class Placement(BaseModel):
    """A story in one channel's message: the item that alerted, under which topic, through which subscription."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    item: ClassifiedItem
    topic: str
    reason: str
    at: datetime


@dataclass
class MessageState:
    """One alert or digest of one channel, as Redis has it."""

    message_id: str
    channel: str
    kind: Literal["alert", "digest"]
    published: int
    placements: dict[str, Placement]
    due: datetime | None = None
    cause: Literal["hourly", "quiet"] = "hourly"

    @classmethod
    def parse(cls, message_id: str, raw: Mapping[bytes | str, bytes | str]) -> MessageState | None:
        fields = {_text(k): _text(v) for k, v in raw.items()}
        if "channel" not in fields:
            return None  # expired (or never written)
        placements = {}
        for name, value in fields.items():
            if name.startswith("story:"):
                try:
                    placements[name.removeprefix("story:")] = Placement.model_validate_json(value)
                except ValidationError as exc:
                    log.warning("alert %s: story %s is unreadable, left out: %s", message_id, name, exc)
        due = datetime.fromisoformat(fields["due"]) if fields.get("due") else None
        return cls(message_id, fields["channel"], "digest" if fields.get("kind") == "digest" else "alert",
                   int(fields.get("published") or 0), placements, due,
                   "quiet" if fields.get("cause") == "quiet" else "hourly")


@dataclass
class AlerterStats:
    items: int = 0
    skipped: int = 0
    placed: int = 0
    published: int = 0
    digests: int = 0
    latest: list[Alert | AlertDigest] = field(default_factory=list)


class Alerter:
    def __init__(
        self,
        bus: Bus,
        store: Store,
        follows: Follows | None,
        *,
        max_per_hour: int = 6,
        max_age: timedelta = timedelta(hours=12),
        tick_seconds: float = 5.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.bus = bus
        self.store = store
        self.follows = follows
        self.max_per_hour = max_per_hour
        self.max_age = max_age
        self.tick_seconds = tick_seconds
        self.clock = clock or (lambda: datetime.now(UTC))
        self.stats = AlerterStats()
        self._place = store.redis.register_script(_PLACE)
        self._published = store.redis.register_script(_PUBLISHED)
        self._version: int | None = None
        self._rules: dict[str, ChannelRules] = {}

    def consumer(self) -> Consumer:
        return self.bus.consumer(self.bus.topics.group(GROUP), self.bus.topics.item_topics, self.handle)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume items and send due digests until `stop` is set; if either fails, both stop with its error."""
        done = asyncio.Event()
        consumer = self.consumer()
        tasks = [asyncio.create_task(consumer.run(done), name="alerter-items"),
                 asyncio.create_task(every(self.tick_seconds, self.tick, done, "alerter tick"), name="alerter-tick"),
                 asyncio.create_task(stop.wait(), name="alerter-stop")]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        done.set()
        tasks[2].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks[:2]:
            error = task.exception() if not task.cancelled() else None
            if error is not None:
                raise error

    # --- items -------------------------------------------------------------------------------------------------

    def skip_reason(self, item: ClassifiedItem, now: datetime) -> str | None:
        """Why an item about AI starts no alert (it still counts as a source of a story that alerted)."""
        if item.backfill:
            return "backfill"
        if now - item.published > self.max_age:
            return f"published {now - item.published} ago"
        return None

    async def handle(self, item: ClassifiedItem, record: ConsumerRecord[bytes, bytes] | None = None) -> None:
        await self._handle(item, self.clock())
        self.stats.items += 1  # handled to the end: what it changed is published

    async def _handle(self, item: ClassifiedItem, now: datetime) -> None:
        if item.about_ai is not True:
            self.stats.skipped += 1
            log.debug("item %s does not alert: %s", item.id,
                      "not about AI" if item.about_ai is False else "classified before the about-AI check")
            return
        keys = self.store.keys
        source = StorySource.of(item)
        async with self.store.redis.pipeline(transaction=False) as pipe:
            pipe.hsetnx(keys.alert_story(item.story_id), item.id, source.model_dump_json())
            pipe.expire(keys.alert_story(item.story_id), TTL.ALERT_STATE)
            pipe.hgetall(keys.alert_placed(item.story_id))
            pipe.get(keys.subscriptions_version)
            _, _, placed_raw, version = await pipe.execute()
        placed = {_text(k): _text(v) for k, v in placed_raw.items()}
        rules = await self.rules(int(version or 0))
        skip = self.skip_reason(item, now)
        if skip is not None:
            self.stats.skipped += 1
            log.debug("item %s starts no alert: %s", item.id, skip)
        new = [] if skip is not None else [
            (rule, matched) for rule in rules.values()
            if rule.channel not in placed and (matched := rule.match(item, self.follows)) is not None]
        if new:
            start, _ = hour_window(now)
            async with self.store.redis.pipeline(transaction=False) as pipe:
                for rule, matched in new:
                    due, cause = digest_due(now, rule.quiet)
                    placement = Placement(item=item, topic=alert_topic(item, matched), reason=matched.reason(),
                                          at=now)
                    await self._place(
                        keys=[keys.alert_placed(item.story_id), keys.alert_count(rule.channel, int(start.timestamp())),
                              keys.alert_message(stable_id("alert", rule.channel, item.story_id)),
                              keys.alert_message(digest_id(rule.channel, due)), keys.alerts_due],
                        args=[rule.channel, stable_id("alert", rule.channel, item.story_id),
                              digest_id(rule.channel, due), self.max_per_hour,
                              "1" if rule.quiet is not None and rule.quiet.active(now) else "0",
                              due.timestamp(), due.isoformat(), cause, item.story_id, placement.model_dump_json(),
                              TTL.ALERT_STATE, TTL.ALERT_COUNT],
                        client=pipe)
                results = await pipe.execute()
            for (rule, _), message in zip(new, results, strict=True):
                placed[rule.channel] = _text(message)
            self.stats.placed += len(new)
        if placed:
            await self.publish(set(placed.values()), now)

    async def rules(self, version: int) -> dict[str, ChannelRules]:
        """Every channel's subscriptions, reloaded from Redis whenever they changed."""
        if version != self._version:
            read_at, rules = await self.store.alert_rules()
            self._version, self._rules = read_at, {r.channel: r for r in rules}
            log.info("alert subscriptions (version %d): %d channel(s), %d subscription(s)", read_at, len(rules),
                     sum(len(r.subscriptions) for r in rules))
        return self._rules

    # --- messages ----------------------------------------------------------------------------------------------

    async def tick(self) -> int:
        """Send the digests that are due; returns how many went out."""
        now = self.clock()
        due = [_text(m) for m in await self.store.redis.zrangebyscore(self.store.keys.alerts_due, "-inf",
                                                                      now.timestamp())]
        if not due:
            return 0
        await self.rules(await self.store.subscriptions_version())
        sent = await self.publish(set(due), now)
        # A digest leaves the waiting list once the revision it has now went out; one that grew meanwhile stays
        # for the next tick (or is sent by the item that made it grow, now that it is out).
        states = await self._states(due)
        contents = await self._contents(states.values())
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for message_id in due:
                state = states.get(message_id)
                built = contents.get(message_id)
                if state is None or built is None or state.published >= built.revision:
                    pipe.zrem(self.store.keys.alerts_due, message_id)
            await pipe.execute()
        return sent

    async def publish(self, message_ids: Iterable[str], now: datetime) -> int:
        """Produce every message among these that is out (an alert; a digest sent or due) and has a revision above
        the one last published; then record each revision as published. Returns how many were produced."""
        states = await self._states(message_ids)
        live = [s for s in states.values() if s.kind == "alert" or s.published > 0
                or (s.due is not None and s.due <= now)]
        built = await self._contents(live)
        wanted = [(state, built[state.message_id]) for state in live
                  if state.message_id in built and built[state.message_id].revision > state.published]
        if not wanted:
            return 0
        await self.bus.publish_many((self.bus.topics.alerts, message, state.channel) for state, message in wanted)
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for state, message in wanted:
                await self._published(keys=[self.store.keys.alert_message(state.message_id)],
                                      args=[message.revision], client=pipe)
            await pipe.execute()
        for state, message in wanted:
            kind = "digest" if isinstance(message, AlertDigest) else "alert"
            log.info("%s %s to %s: revision %d (%s)", kind, state.message_id, state.channel, message.revision,
                     _what(message))
        self.stats.published += len(wanted)
        self.stats.digests += sum(isinstance(m, AlertDigest) for _, m in wanted)
        self.stats.latest = [*self.stats.latest, *(m for _, m in wanted)][-200:]
        return len(wanted)

    async def _states(self, message_ids: Iterable[str]) -> dict[str, MessageState]:
        ids = sorted(set(message_ids))
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for message_id in ids:
                pipe.hgetall(self.store.keys.alert_message(message_id))
            raw = await pipe.execute()
        states = {}
        for message_id, fields in zip(ids, raw, strict=True):
            state = MessageState.parse(message_id, fields)
            if state is not None:
                states[message_id] = state
        return states

    async def _sources(self, story_ids: Iterable[str]) -> dict[str, list[StorySource]]:
        ids = sorted(set(story_ids))
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for story_id in ids:
                pipe.hgetall(self.store.keys.alert_story(story_id))
            raw = await pipe.execute()
        found: dict[str, list[StorySource]] = {}
        for story_id, fields in zip(ids, raw, strict=True):
            sources = []
            for value in fields.values():
                try:
                    sources.append(StorySource.model_validate_json(value))
                except ValidationError:
                    log.warning("a source of story %s is unreadable, left out", story_id)
            found[story_id] = sorted(sources, key=lambda s: (-s.importance, s.url))
        return found

    async def _contents(self, states: Iterable[MessageState]) -> dict[str, Alert | AlertDigest]:
        """The message each state describes now (its revision counted from what it carries)."""
        states = list(states)
        sources = await self._sources(s for state in states for s in state.placements)
        built: dict[str, Alert | AlertDigest] = {}
        for state in states:
            message = self._content(state, sources)
            if message is not None:
                built[state.message_id] = message
        return built

    def _content(self, state: MessageState, sources: Mapping[str, Sequence[StorySource]]) -> Alert | AlertDigest | None:
        if not state.placements:
            return None
        if state.kind == "alert":
            story_id, placement = next(iter(state.placements.items()))
            story = sources.get(story_id) or [StorySource.of(placement.item)]
            importance = max(s.importance for s in story)
            return Alert(channel=state.channel, topic=placement.topic, item=placement.item, reason=placement.reason,
                         why=importance_reason(placement.item, len(story), importance),
                         sources=tuple(s.link() for s in story), revision=len(story))
        stories = []
        for story_id, placement in state.placements.items():
            story = sources.get(story_id) or [StorySource.of(placement.item)]
            stories.append((placement.at, DigestStory(
                story_id=story_id, topic=placement.topic, title=placement.item.title, url=placement.item.url,
                source=placement.item.source_name or placement.item.source,
                importance=max(s.importance for s in story), sources=len(story), reason=placement.reason)))
        ordered = tuple(story for _, story in sorted(stories, key=lambda pair: (-pair[1].importance, pair[0])))
        rules = self._rules.get(state.channel)
        quiet = rules.quiet.describe() if rules is not None and rules.quiet is not None else ""
        assert state.due is not None
        return AlertDigest(channel=state.channel, due=state.due, cause=state.cause, stories=ordered,
                           revision=len(ordered) + sum(s.sources for s in ordered), per_hour=self.max_per_hour,
                           quiet=quiet)


def _what(message: Alert | AlertDigest) -> str:
    if isinstance(message, AlertDigest):
        return f"{len(message.stories)} stories, due {message.due.isoformat()}"
    return f"story {message.item.story_id}, {len(message.sources)} source(s)"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
