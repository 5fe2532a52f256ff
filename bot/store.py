"""State in Redis. Every key prefix and every TTL is defined here, in `Keys` and `TTL`.

The archive keeps each ClassifiedItem by id, and sorted-set indexes by published time: one over all items,
one per topic (every topic of an item, not just the primary, so a question about a secondary topic finds
it too). Writing the same item twice changes nothing, which is what makes redelivery harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio import Redis

from bot.editions import Edition, merge_editions
from bot.models import Briefing, ClassifiedItem
from bot.text import search_words

if TYPE_CHECKING:  # the alert rules' module (and the gazetteer's patterns it pulls in) is imported where it is used,
    # so that a process which only reads the archive, as `ai-news post --dry-run` does, starts without it
    from bot.alerts import ChannelRules, QuietHours, Subscription

log = logging.getLogger(__name__)

# Full-text search indexes the first words of title and summary (a long summary's tail adds little but cost).
MAX_WORDS_PER_ITEM = 80


class TTL:
    """How long each kind of key lives, in seconds."""

    ITEM = int(timedelta(days=90).total_seconds())
    # A canonical URL seen within this time is not emitted again.
    SEEN = int(timedelta(days=30).total_seconds())
    # A FetchJob id claimed by a scheduler; long enough that no other scheduler can emit it again.
    JOB_CLAIM = int(timedelta(days=2).total_seconds())
    # A time index keeps the items published within this span before the item being written (so replaying
    # old feeds never evicts recent news); older entries are trimmed, but stay readable by id until ITEM.
    INDEX_RETENTION = timedelta(days=90)
    # An edition id claimed for publishing: longer than any catch-up, so no composer publishes it again.
    EDITION_CLAIM = int(timedelta(days=14).total_seconds())
    # The latest briefing of each channel (for `/ai-news briefing`).
    LATEST_BRIEFING = int(timedelta(days=30).total_seconds())
    # A chat platform's record of delivering one edition or alert (thread ids, parts posted).
    DELIVERY = int(timedelta(days=14).total_seconds())
    # A per-user slash command counter: one fixed window of a minute, kept a little longer than the window.
    COMMAND_RATE = 120
    # An OAuth install `state` handed to a browser; the install must finish within this time.
    OAUTH_STATE = int(timedelta(minutes=10).total_seconds())
    # What the alerter knows of a story and of the alerts and digests it sent: longer than a story stays open
    # (72 h) and than any item may alert (ALERT_MAX_AGE_HOURS), so a story never alerts a channel twice.
    ALERT_STATE = int(timedelta(days=7).total_seconds())
    # A channel's count of alerts in one clock hour.
    ALERT_COUNT = int(timedelta(hours=2).total_seconds())
    # A chat platform's request id (Slack's trigger_id or event_id) seen: a repeat within this time is dropped.
    # Slack refuses requests older than 5 minutes anyway.
    REQUEST_SEEN = int(timedelta(minutes=10).total_seconds())


@dataclass(frozen=True)
class Keys:
    """Every Redis key the project uses, under one prefix (so deployments and tests never collide)."""

    prefix: str = "ainews:"

    def item(self, item_id: str) -> str:
        return f"{self.prefix}item:{item_id}"

    @property
    def items_by_time(self) -> str:
        return f"{self.prefix}idx:all"

    def topic_by_time(self, topic: str) -> str:
        return f"{self.prefix}idx:topic:{topic}"

    def seen(self, item_id: str) -> str:
        return f"{self.prefix}seen:{item_id}"

    def source(self, source_id: str) -> str:
        return f"{self.prefix}source:{source_id}"

    def lock(self, name: str) -> str:
        return f"{self.prefix}lock:{name}"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    def word(self, word: str) -> str:
        """Items whose title or summary contains the word (full-text search), by published time."""
        return f"{self.prefix}idx:word:{word}"

    @property
    def editions(self) -> str:
        """Hash: channel -> Edition JSON (the editions in effect, config and chat)."""
        return f"{self.prefix}editions"

    def edition_claim(self, edition_id: str) -> str:
        return f"{self.prefix}edition:claim:{edition_id}"

    def last_edition(self, channel: str) -> str:
        """The date of the channel's latest published edition (catch-up starts after it)."""
        return f"{self.prefix}edition:last:{channel}"

    def latest_briefing(self, channel: str) -> str:
        return f"{self.prefix}edition:latest:{channel}"

    def channel_subscriptions(self, channel: str) -> str:
        """Hash: topic -> minimum importance, the topics a channel gets alerts for."""
        return f"{self.prefix}subs:channel:{channel}"

    @property
    def subscribed_channels(self) -> str:
        """Set: the channels with at least one subscription."""
        return f"{self.prefix}subs:channels"

    def topic_subscribers(self, topic: str) -> str:
        """Hash: channel -> minimum importance, the channels that get alerts for a topic."""
        return f"{self.prefix}subs:topic:{topic}"

    @property
    def subscriptions_version(self) -> str:
        """Counter: raised by every change of any channel's subscriptions or quiet hours (the alerter reloads)."""
        return f"{self.prefix}subs:version"

    def quiet_hours(self, channel: str) -> str:
        """A channel's quiet hours (QuietHours JSON)."""
        return f"{self.prefix}subs:quiet:{channel}"

    def alert_story(self, story_id: str) -> str:
        """Hash: item id -> SourceLink JSON, every source of a story the alerter has seen."""
        return f"{self.prefix}alert:story:{story_id}"

    def alert_placed(self, story_id: str) -> str:
        """Hash: channel -> the id of the alert or digest that carries the story in that channel."""
        return f"{self.prefix}alert:placed:{story_id}"

    def alert_message(self, message_id: str) -> str:
        """Hash: one alert or digest of one channel (its stories, due time, the revision last published)."""
        return f"{self.prefix}alert:message:{message_id}"

    def alert_count(self, channel: str, hour: int) -> str:
        """Counter: alerts sent to a channel in one clock hour (hour = epoch seconds of its start)."""
        return f"{self.prefix}alert:count:{channel}:{hour}"

    @property
    def alerts_due(self) -> str:
        """Sorted set: the ids of digests waiting to go out, by due time."""
        return f"{self.prefix}alert:due"

    def delivery(self, platform: str, message_id: str) -> str:
        """Hash: what a chat platform has delivered of one briefing or alert (its ledger)."""
        return f"{self.prefix}delivery:{platform}:{message_id}"

    def command_rate(self, user: str, window: int) -> str:
        """Counter: slash commands of one user (platform:user-id) in one minute window."""
        return f"{self.prefix}rate:command:{user}:{window}"

    def chat_bot(self, platform: str, enterprise_id: str | None, team_id: str | None) -> str:
        """The bot installation (token, scopes) of one workspace, from a chat platform's OAuth install."""
        return f"{self.prefix}install:{platform}:bot:{enterprise_id or '-'}:{team_id or '-'}"

    def chat_installation(self, platform: str, enterprise_id: str | None, team_id: str | None,
                          user_id: str | None = None) -> str:
        """The latest installation of one workspace (or by one installing user), from an OAuth install."""
        return f"{self.prefix}install:{platform}:installer:{enterprise_id or '-'}:{team_id or '-'}:{user_id or '-'}"

    def chat_commands(self, platform: str, application_id: str) -> str:
        """The fingerprint of the slash commands last registered with a chat platform for one application."""
        return f"{self.prefix}commands:{platform}:{application_id}"

    def oauth_state(self, platform: str, state: str) -> str:
        return f"{self.prefix}oauth-state:{platform}:{state}"

    def request_seen(self, platform: str, request_id: str) -> str:
        """A chat platform's request id, seen (replays of a signed request are dropped)."""
        return f"{self.prefix}request:{platform}:{request_id}"

    @property
    def pattern(self) -> str:
        """Matches every key of this prefix (for maintenance and tests)."""
        return f"{self.prefix}*"


_RENEW_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_SWAP = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) and 1 end
return 0
"""
_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class EditionClaim(BaseModel):
    """Who publishes an edition, and how far: "publishing" from the claim until the broker has the briefing,
    then "published". `offsets` are the briefings topic's end offsets before publishing: a composer that finds
    an unfinished claim reads from there to learn whether the briefing went out before it publishes again."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)  # built on first use

    owner: str
    state: Literal["publishing", "published"] = "publishing"
    offsets: dict[int, int] = Field(default_factory=dict)
    at: datetime | None = None


class SourceState(BaseModel):
    """What the scheduler and ingest know of one source, kept in a Redis hash (one field each)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    etag: str | None = None
    last_modified: str | None = None
    next_due: datetime | None = None
    polls: int = 0
    failures: int = 0
    failing_since: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    disabled: bool = False
    disabled_at: datetime | None = None
    items_total: int = 0
    last_new: int = 0

    @property
    def status(self) -> str:
        if self.disabled:
            return "disabled"
        if self.failures:
            return "failing"
        return "ok" if self.last_success else "new"


# Items archived and indexed in one call. KEYS: the n item keys, then the index keys. ARGV: n, the items' TTL, the n
# items' JSON, then the indexes as one JSON array, an entry for each index key in order: [cutoff, ttl, [score, member,
# score, member, ...]], where the cutoff is the score below which the index is trimmed and the ttl the one it gets,
# each "" for none, every value a string. One JSON argument for every index rather than an argument for each score
# and member: the client packs each argument in Python, the server decodes the JSON in C, and an item has some forty
# index entries. SET NX answers whether each item is new; returns how many were.
_ARCHIVE = """
local n = tonumber(ARGV[1])
local created = 0
for i = 1, n do
  if redis.call('SET', KEYS[i], ARGV[2 + i], 'NX', 'EX', ARGV[2]) then created = created + 1 end
end
local indexes = cjson.decode(ARGV[3 + n])
for k = n + 1, #KEYS do
  local index = indexes[k - n]
  local cutoff, ttl, entries = index[1], index[2], index[3]
  for j = 1, #entries, 1000 do
    redis.call('ZADD', KEYS[k], unpack(entries, j, math.min(j + 999, #entries)))
  end
  if cutoff ~= '' then redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. cutoff) end
  if ttl ~= '' then redis.call('EXPIRE', KEYS[k], ttl) end
end
return created
"""
# SET key 1 EX ttl for each of KEYS (ARGV[1] the TTL): a seen ledger of many items in one round trip.
_MARK_SEEN = """
for _, key in ipairs(KEYS) do redis.call('SET', key, 1, 'EX', ARGV[1]) end
return #KEYS
"""


class Store:
    """The archive and, as issues add them, the other Redis-backed state."""

    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        self.redis = redis
        self.keys = keys or Keys()

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def archive(self, item: ClassifiedItem) -> bool:
        """Store an item and index it; returns True if it was not archived before. Idempotent.

        An item that is not about AI is archived and found by search, but kept out of the topic indexes: topic
        answers and each topic's daily counts never see it."""
        return await self.archive_many([item]) == 1

    async def archive_many(self, items: Sequence[ClassifiedItem]) -> int:
        """Store and index many items in one script call (one round trip, atomic as a transaction); returns how many
        were not archived before. The same effect as `archive` of each in turn: each index is trimmed once, to the
        retention of the newest item that touches it, which removes exactly what the calls one by one would."""
        if not items:
            return 0
        indexes: dict[str, dict[str, float]] = {}
        cutoffs: dict[str, float] = {}
        for item in items:
            score = item.published.timestamp()
            cutoff = (item.published - TTL.INDEX_RETENTION).timestamp()
            topics = item.topics if item.about_ai is not False else ()
            for index in (self.keys.items_by_time, *map(self.keys.topic_by_time, topics)):
                indexes.setdefault(index, {})[item.id] = score
                cutoffs[index] = max(cutoff, cutoffs.get(index, cutoff))
            for word in search_words(f"{item.title} {item.summary}")[:MAX_WORDS_PER_ITEM]:
                indexes.setdefault(self.keys.word(word), {})[item.id] = score
        keys = [self.keys.item(item.id) for item in items]
        args: list[str | int | float] = [len(items), TTL.ITEM, *(item.model_dump_json() for item in items)]
        word_ttl = str(TTL.ITEM)
        specs = []
        for index, members in indexes.items():
            keys.append(index)
            entries = [value for member, score in members.items() for value in (repr(score), member)]
            # A time index is trimmed; the others are words' indexes, which expire instead.
            specs.append([repr(cutoffs[index]), "", entries] if index in cutoffs else ["", word_ttl, entries])
        args.append(json.dumps(specs, separators=(",", ":")))
        created = await self.redis.register_script(_ARCHIVE)(keys=keys, args=args)
        return int(created)

    async def has_items(self, item_ids: Sequence[str]) -> list[bool]:
        if not item_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for item_id in item_ids:
                pipe.exists(self.keys.item(item_id))
            return [bool(n) for n in await pipe.execute()]

    async def get_items(self, item_ids: Iterable[str]) -> list[ClassifiedItem]:
        """The items that exist, in the order asked; a stored value that no longer validates is skipped."""
        ids = list(item_ids)
        if not ids:
            return []
        raw = await self.redis.mget([self.keys.item(i) for i in ids])
        items = []
        for item_id, value in zip(ids, raw, strict=True):
            if value is None:
                continue
            try:
                items.append(ClassifiedItem.model_validate_json(value))
            except ValidationError as exc:
                log.warning("archived item %s does not validate, skipped: %s", item_id, exc.errors()[0]["msg"])
        return items

    async def get_item(self, item_id: str) -> ClassifiedItem | None:
        found = await self.get_items([item_id])
        return found[0] if found else None

    async def recent(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[ClassifiedItem]:
        """Archived items, newest first, optionally of one topic and within [since, until]."""
        index = self.keys.topic_by_time(topic) if topic else self.keys.items_by_time
        high = until.timestamp() if until else "+inf"
        low = since.timestamp() if since else "-inf"
        ids = await self.redis.zrevrangebyscore(
            index, high, low, start=0 if limit else None, num=limit if limit else None
        )
        return await self.get_items([i.decode() if isinstance(i, bytes) else str(i) for i in ids])

    async def count(self, topic: str | None = None) -> int:
        index = self.keys.topic_by_time(topic) if topic else self.keys.items_by_time
        return int(await self.redis.zcard(index))

    async def count_between(self, topics: Sequence[str], since: datetime, until: datetime) -> dict[str, int]:
        """How many archived items of each topic were published within [since, until)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for topic in topics:
                pipe.zcount(self.keys.topic_by_time(topic), since.timestamp(), f"({until.timestamp()}")
            counts = await pipe.execute()
        return {topic: int(n) for topic, n in zip(topics, counts, strict=True)}

    async def oldest_before(self, until: datetime) -> datetime | None:
        """The publication time of the oldest archived item published before `until`, None when there is none."""
        found = await self.redis.zrangebyscore(self.keys.items_by_time, "-inf", f"({until.timestamp()}",
                                               start=0, num=1, withscores=True)
        return datetime.fromtimestamp(float(found[0][1]), UTC) if found else None

    async def search(self, text: str, *, limit: int = 10, since: datetime | None = None) -> list[ClassifiedItem]:
        """Archived items whose title or summary has every word of `text`, newest first."""
        words = search_words(text)
        if not words:
            return []
        keys = [self.keys.word(w) for w in words]
        low = since.timestamp() if since else "-inf"
        if len(keys) == 1:
            ids = await self.redis.zrevrangebyscore(keys[0], "+inf", low, start=0, num=limit)
        else:
            # Intersect into a short-lived key (ZINTER cannot limit by score), rarest word first.
            sizes = await asyncio.gather(*(self.redis.zcard(k) for k in keys))
            if min(sizes) == 0:
                return []
            ordered = [k for _, k in sorted(zip(sizes, keys, strict=True))]
            temp = f"{self.keys.prefix}tmp:search:{uuid.uuid4().hex}"
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zinterstore(temp, ordered, aggregate="MAX")
                pipe.zrevrangebyscore(temp, "+inf", low, start=0, num=limit)
                pipe.delete(temp)
                _, ids, _ = await pipe.execute()
        return await self.get_items([i.decode() if isinstance(i, bytes) else str(i) for i in ids])

    # --- dedupe ledger -------------------------------------------------------------------------------------

    async def unseen(self, item_ids: Sequence[str]) -> list[str]:
        """The ids not seen within TTL.SEEN, in order (one round trip)."""
        if not item_ids:
            return []
        # One MGET rather than an EXISTS each: one command to pack and parse, not one per item.
        found = await self.redis.mget([self.keys.seen(item_id) for item_id in item_ids])
        return [item_id for item_id, value in zip(item_ids, found, strict=True) if value is None]

    async def mark_seen(self, item_ids: Iterable[str]) -> None:
        """One round trip, however many."""
        keys = [self.keys.seen(item_id) for item_id in item_ids]
        if keys:
            await self.redis.register_script(_MARK_SEEN)(keys=keys, args=[TTL.SEEN])

    # --- source state --------------------------------------------------------------------------------------

    async def source_state(self, source_id: str) -> SourceState:
        return (await self.source_states([source_id]))[source_id]

    async def source_states(self, source_ids: Sequence[str]) -> dict[str, SourceState]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for source_id in source_ids:
                pipe.hgetall(self.keys.source(source_id))
            raw = await pipe.execute()
        states = {}
        for source_id, fields in zip(source_ids, raw, strict=True):
            data = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                    for k, v in fields.items()}
            try:
                states[source_id] = SourceState.model_validate(data)
            except ValidationError as exc:
                log.warning("state of source %s is unreadable, starting afresh: %s", source_id, exc.errors()[0])
                states[source_id] = SourceState()
        return states

    async def update_source(self, source_id: str, changes: Mapping[str, object]) -> None:
        """Set some fields of a source's state; None removes a field."""
        key = self.keys.source(source_id)
        present: dict[str, str] = {}
        absent = []
        for name, value in changes.items():
            if name not in SourceState.model_fields:
                raise KeyError(f"no source state field {name!r}")
            if value is None:
                absent.append(name)
            elif isinstance(value, datetime):
                present[name] = value.isoformat()
            elif isinstance(value, bool):
                present[name] = "true" if value else "false"
            else:
                present[name] = str(value)
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, text in present.items():
                pipe.hset(key, name, text)
            if absent:
                pipe.hdel(key, *absent)
            await pipe.execute()

    async def reset_source(self, source_id: str) -> None:
        await self.redis.delete(self.keys.source(source_id))

    # --- coordination --------------------------------------------------------------------------------------

    async def hold_lock(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Take the lock, or extend it if `owner` holds it; False while someone else holds it."""
        result = await self.redis.eval(_RENEW_LOCK, 1, self.keys.lock(name), owner, ttl_ms)
        return bool(result)

    async def release_lock(self, name: str, owner: str) -> None:
        await self.redis.eval(_RELEASE_LOCK, 1, self.keys.lock(name), owner)

    async def claim_job(self, job_id: str) -> bool:
        """True for the first claim of a job id: whoever gets it emits the job, nobody else."""
        return bool(await self.redis.set(self.keys.job(job_id), 1, nx=True, ex=TTL.JOB_CLAIM))

    async def release_job(self, job_id: str) -> None:
        await self.redis.delete(self.keys.job(job_id))


    # --- editions ------------------------------------------------------------------------------------------

    async def editions(self) -> list[Edition]:
        """Every edition in effect, by channel; an unreadable entry is logged and skipped."""
        raw = await self.redis.hgetall(self.keys.editions)
        editions = []
        for channel, value in sorted(raw.items()):
            try:
                editions.append(Edition.model_validate_json(value))
            except ValidationError as exc:
                log.warning("edition of %s is unreadable, skipped: %s", _text(channel), exc.errors()[0]["msg"])
        return editions

    async def edition(self, channel: str) -> Edition | None:
        value = await self.redis.hget(self.keys.editions, channel)
        return Edition.model_validate_json(value) if value is not None else None

    async def put_edition(self, edition: Edition) -> None:
        await self.redis.hset(self.keys.editions, edition.channel, edition.model_dump_json())

    async def delete_edition(self, channel: str) -> bool:
        return bool(await self.redis.hdel(self.keys.editions, channel))

    async def sync_editions(self, configured: Sequence[Edition]) -> list[Edition]:
        """Make the stored editions those of the config file, keeping the ones set from chat; returns them."""
        stored = await self.editions()
        merged = merge_editions(configured, stored)
        wanted = {e.channel for e in merged}
        async with self.redis.pipeline(transaction=True) as pipe:
            for edition in merged:
                pipe.hset(self.keys.editions, edition.channel, edition.model_dump_json())
            stale = [e.channel for e in stored if e.channel not in wanted]
            if stale:
                pipe.hdel(self.keys.editions, *stale)
            await pipe.execute()
        return merged

    async def edition_claim(self, edition_id: str) -> EditionClaim | None:
        value = await self.redis.get(self.keys.edition_claim(edition_id))
        if value is None:
            return None
        try:
            return EditionClaim.model_validate_json(value)
        except ValidationError:
            log.warning("claim of edition %s is unreadable; treating it as unfinished", edition_id)
            return EditionClaim(owner="?", state="publishing")

    async def claim_edition(self, edition_id: str, claim: EditionClaim) -> bool:
        """True for the first claim of an edition id: whoever gets it publishes that edition, nobody else."""
        return bool(await self.redis.set(self.keys.edition_claim(edition_id), claim.model_dump_json(), nx=True,
                                         ex=TTL.EDITION_CLAIM))

    async def replace_edition_claim(self, edition_id: str, old: EditionClaim, new: EditionClaim) -> bool:
        """Swap a claim only if it is still `old` (taking over an unfinished one); False if it changed."""
        key = self.keys.edition_claim(edition_id)
        current = await self.redis.get(key)
        if current is None or EditionClaim.model_validate_json(current) != old:
            return False
        result = await self.redis.eval(_SWAP, 1, key, current, new.model_dump_json(), TTL.EDITION_CLAIM)
        return bool(result)

    async def last_edition(self, channel: str) -> str | None:
        """ISO date of the channel's latest published edition."""
        value = await self.redis.get(self.keys.last_edition(channel))
        return _text(value) if value is not None else None

    async def record_published(self, briefing: Briefing) -> None:
        """After publishing: the channel's latest edition date and briefing (never moving backwards)."""
        previous = await self.last_edition(briefing.channel)
        if previous is not None and previous > briefing.date.isoformat():
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.last_edition(briefing.channel), briefing.date.isoformat())
            pipe.set(self.keys.latest_briefing(briefing.channel), briefing.model_dump_json(),
                     ex=TTL.LATEST_BRIEFING)
            await pipe.execute()

    async def latest_briefing(self, channel: str) -> Briefing | None:
        value = await self.redis.get(self.keys.latest_briefing(channel))
        if value is None:
            return None
        try:
            return Briefing.model_validate_json(value)
        except ValidationError as exc:
            log.warning("latest briefing of %s is unreadable: %s", channel, exc.errors()[0]["msg"])
            return None

    # --- alert subscriptions -------------------------------------------------------------------------------
    # A channel's subscriptions are one hash (topic slug, or `<kind>:<name>` for a followed organization, model
    # or law -> minimum importance); every change raises `subscriptions_version`, which the alerter watches.

    async def subscribe(self, channel: str, topic: str, min_importance: float) -> bool:
        """Subscribe a channel to a topic's alerts (or change its threshold); True if it is new."""
        from bot.alerts import Subscription

        return await self.put_subscription(channel, Subscription(name=topic, min_importance=min_importance))

    async def put_subscription(self, channel: str, subscription: Subscription) -> bool:
        """Add a subscription to a channel (or change its threshold); True if it is new."""
        value = str(subscription.min_importance)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.channel_subscriptions(channel), subscription.field, value)
            if subscription.kind == "topic":
                pipe.hset(self.keys.topic_subscribers(subscription.name), channel, value)
            pipe.sadd(self.keys.subscribed_channels, channel)
            pipe.incr(self.keys.subscriptions_version)
            added, *_ = await pipe.execute()
        return bool(added)

    async def unsubscribe(self, channel: str, field: str) -> bool:
        """Remove a subscription (a topic, or a follow's `<kind>:<name>`); True if the channel had it."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.channel_subscriptions(channel), field)
            pipe.hdel(self.keys.topic_subscribers(field), channel)
            pipe.hlen(self.keys.channel_subscriptions(channel))
            pipe.incr(self.keys.subscriptions_version)
            removed, _, left, _ = await pipe.execute()
        if not left:
            await self.redis.srem(self.keys.subscribed_channels, channel)
        return bool(removed)

    async def subscriptions(self, channel: str) -> dict[str, float]:
        """The channel's subscriptions (topic slugs, and `<kind>:<name>` for follows) and their minimum importance."""
        raw = await self.redis.hgetall(self.keys.channel_subscriptions(channel))
        return {_text(topic): float(value) for topic, value in sorted(raw.items())}

    async def channel_subscriptions(self, channel: str) -> list[Subscription]:
        """The channel's subscriptions: topics first, then follows, each by name."""
        return _subscriptions(await self.redis.hgetall(self.keys.channel_subscriptions(channel)), channel)

    async def set_quiet_hours(self, channel: str, quiet: QuietHours | None) -> None:
        """Set (None: remove) a channel's quiet hours."""
        async with self.redis.pipeline(transaction=True) as pipe:
            if quiet is None:
                pipe.delete(self.keys.quiet_hours(channel))
            else:
                pipe.set(self.keys.quiet_hours(channel), quiet.model_dump_json())
            pipe.incr(self.keys.subscriptions_version)
            await pipe.execute()

    async def quiet_hours(self, channel: str) -> QuietHours | None:
        return _quiet(await self.redis.get(self.keys.quiet_hours(channel)), channel)

    async def subscriptions_version(self) -> int:
        value = await self.redis.get(self.keys.subscriptions_version)
        return int(value) if value is not None else 0

    async def alert_rules(self) -> tuple[int, list[ChannelRules]]:
        """Every subscribed channel's subscriptions and quiet hours, and the version they were read at."""
        version = await self.subscriptions_version()
        channels = await self.subscribed_channels()
        async with self.redis.pipeline(transaction=False) as pipe:
            for channel in channels:
                pipe.hgetall(self.keys.channel_subscriptions(channel))
                pipe.get(self.keys.quiet_hours(channel))
            raw = await pipe.execute()
        from bot.alerts import ChannelRules

        rules = [ChannelRules(channel, tuple(_subscriptions(raw[2 * n], channel)), _quiet(raw[2 * n + 1], channel))
                 for n, channel in enumerate(channels)]
        return version, rules

    async def subscribed_channels(self) -> list[str]:
        return sorted(_text(c) for c in await self.redis.smembers(self.keys.subscribed_channels))

    async def subscribers(self, topic: str) -> dict[str, float]:
        """The channels subscribed to a topic and their minimum importance."""
        raw = await self.redis.hgetall(self.keys.topic_subscribers(topic))
        return {_text(channel): float(value) for channel, value in sorted(raw.items())}

    # --- slash commands and chat deliveries ----------------------------------------------------------------

    async def count_command(self, user: str, now: datetime) -> int:
        """Count one slash command of a user in the current minute; returns the count so far (this one included).
        One round trip with no MULTI/EXEC: INCR and EXPIRE go out together, and nothing else writes the key."""
        key = self.keys.command_rate(user, int(now.timestamp()) // 60)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, TTL.COMMAND_RATE)
            count, _ = await pipe.execute()
        return int(count)

    async def registered_commands(self, platform: str, application_id: str) -> str | None:
        """The fingerprint of the slash commands last registered with the platform (None: never)."""
        value = await self.redis.get(self.keys.chat_commands(platform, application_id))
        return _text(value) if value is not None else None

    async def record_registered_commands(self, platform: str, application_id: str, fingerprint: str) -> None:
        await self.redis.set(self.keys.chat_commands(platform, application_id), fingerprint)

    async def delivery(self, platform: str, message_id: str) -> dict[str, str]:
        """A chat platform's ledger of one briefing or alert: what it has posted (empty if nothing yet)."""
        raw = await self.redis.hgetall(self.keys.delivery(platform, message_id))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def record_delivery(self, platform: str, message_id: str, changes: Mapping[str, str | None]) -> None:
        """Set (or, for None, remove) ledger fields at once; the ledger lives TTL.DELIVERY after its last change."""
        key = self.keys.delivery(platform, message_id)
        absent = [name for name, value in changes.items() if value is None]
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, value in changes.items():
                if value is not None:
                    pipe.hset(key, name, value)
            if absent:
                pipe.hdel(key, *absent)
            pipe.expire(key, TTL.DELIVERY)
            await pipe.execute()

    async def first_request(self, platform: str, request_id: str) -> bool:
        """True the first time a chat platform's request id is seen (within TTL.REQUEST_SEEN), False for a repeat."""
        return bool(await self.redis.set(self.keys.request_seen(platform, request_id), "1", nx=True,
                                         ex=TTL.REQUEST_SEEN))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _subscriptions(raw: Mapping[bytes | str, bytes | str], channel: str) -> list[Subscription]:
    from bot.alerts import Subscription

    found = []
    for field, value in raw.items():
        try:
            found.append(Subscription.from_field(_text(field), float(_text(value))))
        except (ValueError, ValidationError) as exc:
            log.warning("subscription %r of %s is unreadable, skipped: %s", _text(field), channel, exc)
    return sorted(found, key=lambda s: (s.kind != "topic", s.kind, s.name.lower()))


def _quiet(value: bytes | str | None, channel: str) -> QuietHours | None:
    from bot.alerts import QuietHours

    if value is None:
        return None
    try:
        return QuietHours.model_validate_json(value)
    except ValidationError as exc:
        log.warning("quiet hours of %s are unreadable, ignored: %s", channel, exc.errors()[0]["msg"])
        return None
