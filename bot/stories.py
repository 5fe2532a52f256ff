"""Stories: items about the same event, from different sources and worded differently, share a story_id.

Two items are one story when they were published within 72 hours of each other and either
- they share a distinctive entity and their wording overlaps at least a little: a model name (when one of them
  launches the model: two commentaries on a model out for a while are two stories) or a law or bill
  with MinHash Jaccard >= NAMED_SIMILARITY, an amount together with an organization with >= LINKED_SIMILARITY; or
- their wording overlaps a lot (>= SIMILAR), whatever their entities;
and never when each names a model, or a law, that the other does not (two Qwen releases compared with the
same rival, two bills: different events). A model named only as a rival ("... that beats GPT-4o") is not the
item's own.

Candidates come from an index: MinHash LSH bands and the distinctive entities. `MemoryStoryIndex` serves
one process (`ai-news classify`); `RedisStoryIndex` keeps recent signatures in Redis with a TTL, so every
ingest worker sees the same stories.
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from collections import defaultdict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from bot.entities import AnyEntities
from bot.text import compared_models

if TYPE_CHECKING:  # only for the annotation: a process that classifies offline never loads Redis
    from redis.asyncio import Redis

T = TypeVar("T")

WINDOW = timedelta(hours=72)
NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
LINKED_SIMILARITY = 0.08
# A shared model name or bill is more distinctive than a shared amount: a little shared wording is enough.
NAMED_SIMILARITY = 0.04
SIMILAR = 0.5

_WORD = re.compile(r"\w(?:[\w.+-]*\w)?")
_STOPWORD_TEXT = """
a an the and or of to in on for with at by from as is are was were be been its it this that these those new now
into over after about than how why what who will can could has have had not no but up out more most first
launches launch releases release announces unveils introduces says said report reports ai a.i s
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def words(text: str) -> list[str]:
    """Lower-case words without possessive 's and without stop words, in order."""
    lowered = text.lower()
    if "s " in lowered:
        lowered = lowered.replace("'s ", " ").replace("’s ", " ")
    return list(itertools.filterfalse(STOPWORDS.__contains__, _WORD.findall(lowered)))


def shingles(text: str) -> set[str]:
    tokens = words(text)
    found = set(tokens)
    found.update([f"{first} {second}" for first, second in itertools.pairwise(tokens)])
    return found


# MinHash with NUM_PERM hash functions from the multiply-shift family h(x) = ((a*x + b) mod 2^64) >> 32,
# a a random odd 64-bit number (the product must wrap, or h would keep the order of x), over CRC-32 values
# of the shingles. The same technique as datasketch's MinHash in a few numpy operations: datasketch takes
# over a second to import (it pulls in SciPy), too slow for a process that classifies a file and exits.
# The constants are fixed, so every process computes the same signatures.
_RANDOM = np.random.default_rng(20260422)
_A = _RANDOM.integers(0, 2**64, NUM_PERM, dtype=np.uint64, endpoint=False) | np.uint64(1)  # 64-bit, odd
_B = _RANDOM.integers(0, 2**64, NUM_PERM, dtype=np.uint64, endpoint=False)
_BAND_MIX = _RANDOM.integers(0, 2**64, ROWS, dtype=np.uint64, endpoint=False) | np.uint64(1)
_BAND_NAMES = tuple(f"b{band}" for band in range(BANDS))
_EMPTY = np.full(NUM_PERM, 2**32 - 1, dtype=np.uint64)
_SHIFT = np.uint64(32)


def _minhash(text: str) -> np.ndarray:
    values: np.ndarray = minhashes([text])[0]
    return values


BLOCK_SHINGLES = 1 << 12  # shingles hashed at once: a block's table (NUM_PERM values each) stays in the cache


def minhashes(texts: Sequence[str]) -> np.ndarray:
    """The MinHash signature of each text (rows), computed for the whole batch in a few numpy operations."""
    grams = [shingles(text) for text in texts]
    sizes = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    hashed = np.fromiter(map(zlib.crc32, map(str.encode, itertools.chain.from_iterable(grams))), dtype=np.uint64,
                         count=int(sizes.sum()))
    out = np.tile(_EMPTY, (len(texts), 1))
    ends = np.cumsum(sizes)
    first = 0
    while first < len(texts):
        # The texts from `first` whose shingles fit in one block (at least one text).
        offset = int(ends[first] - sizes[first])
        last = max(first + 1, int(np.searchsorted(ends, offset + BLOCK_SHINGLES, side="right")))
        block = hashed[offset:int(ends[last - 1])]
        if len(block):
            values = np.outer(_A, block)  # (NUM_PERM, shingles of the block), updated in place
            values += _B[:, None]
            values >>= _SHIFT
            rows = np.arange(first, last)[sizes[first:last] > 0]
            starts = (ends[rows] - sizes[rows]) - offset
            out[rows] = np.minimum.reduceat(values, starts, axis=1).T
        first = last
    return out


def band_values(hashes: np.ndarray) -> list[list[int]]:
    """For each row of signatures, one number per LSH band: the band's ROWS values combined (same band values,
    same number), the key of the band's bucket."""
    values: list[list[int]] = (hashes.reshape(len(hashes), BANDS, ROWS) * _BAND_MIX).sum(axis=2).tolist()
    return values


_SPACES_OR_DASHES = re.compile(r"[\s-]+")


def _norm(value: str) -> str:
    lowered = value.lower()
    if lowered.isprintable() and "-" not in lowered and "  " not in lowered:  # its only white space: single spaces
        return lowered.strip()
    return _SPACES_OR_DASHES.sub(" ", lowered).strip()


@dataclass
class StorySignature:
    story_id: str
    published: datetime
    hashes: np.ndarray
    models: frozenset[str] = frozenset()
    laws: frozenset[str] = frozenset()
    orgs: frozenset[str] = frozenset()
    amounts: frozenset[str] = frozenset()
    sources: set[str] = field(default_factory=set)
    # The item launches one of its models (a release, a benchmark, a headline that is mostly the model's name): a
    # shared model joins two items only when one of them is such a launch.
    launch: bool = False
    _keys: list[tuple[str, str | int]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, story_id: str, text: str, entities: AnyEntities, published: datetime, source: str,
           launch: bool = True) -> StorySignature:
        """The signature of one text. Whether it launches its models is the caller's to say (the events it reports
        are read elsewhere); unless told, a shared model joins it as before the launch rule."""
        return cls.from_parts(story_id, published, _minhash(text), entities, {source},
                              compared=compared_models(text, entities.models), launch=launch)

    @classmethod
    def from_parts(cls, story_id: str, published: datetime, hashes: np.ndarray, entities: AnyEntities,
                   sources: set[str], bands: list[int] | None = None, compared: frozenset[str] = frozenset(),
                   launch: bool = False) -> StorySignature:
        """With `bands` (its row of `band_values`, computed for a batch), the index keys are made at once. The
        models in `compared` (named only as what the item measures itself against) are not the item's."""
        signature = cls(
            story_id=story_id,
            published=published,
            hashes=hashes,
            models=frozenset(_norm(m) for m in entities.models if m not in compared),
            laws=frozenset(map(_norm, entities.laws)),
            orgs=frozenset(map(_norm, entities.organizations)),
            amounts=frozenset(map(_norm, entities.amounts)),
            sources=sources,
            launch=launch,
        )
        if bands is not None:
            signature._keys = signature._make_keys(bands)
        return signature

    @property
    def keys(self) -> list[tuple[str, str | int]]:
        """Index keys: one per LSH band ("b0".."b15", value), then the distinctive entities."""
        if self._keys is None:
            self._keys = self._make_keys()
        return self._keys

    def _make_keys(self, bands: list[int] | None = None) -> list[tuple[str, str | int]]:
        combined = bands if bands is not None else band_values(self.hashes[None, :])[0]
        keys: list[tuple[str, str | int]] = list(zip(_BAND_NAMES, combined, strict=True))
        keys += [("m", m) for m in self.models]
        keys += [("l", law) for law in self.laws]
        keys += [("a", a) for a in self.amounts]
        return keys

    def similarity(self, other: StorySignature) -> float:
        return int(np.count_nonzero(self.hashes == other.hashes)) / NUM_PERM

    def to_json(self) -> str:
        return json.dumps({
            "story_id": self.story_id, "published": self.published.isoformat(),
            "hashes": [int(h) for h in self.hashes], "models": sorted(self.models), "laws": sorted(self.laws),
            "orgs": sorted(self.orgs), "amounts": sorted(self.amounts), "sources": sorted(self.sources),
            "launch": self.launch,
        })

    @classmethod
    def from_json(cls, raw: str | bytes) -> StorySignature:
        data = json.loads(raw)
        return cls(
            story_id=data["story_id"], published=datetime.fromisoformat(data["published"]),
            hashes=np.asarray(data["hashes"], dtype=np.uint64), models=frozenset(data["models"]),
            laws=frozenset(data["laws"]), orgs=frozenset(data["orgs"]), amounts=frozenset(data["amounts"]),
            sources=set(data["sources"]), launch=bool(data.get("launch", False)),
        )


def _conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Each side names one the other does not: two releases, two bills (a shared rival does not make them one)."""
    return bool(a - b) and bool(b - a)


def same_story(a: StorySignature, b: StorySignature) -> float:
    """The strength of the match (0 when a and b are different events)."""
    if abs(a.published - b.published) > WINDOW:
        return 0.0
    if _conflict(a.models, b.models) or _conflict(a.laws, b.laws):
        return 0.0
    similarity = a.similarity(b)
    # Two pieces on a model out for a while ("Grok 4 will always snitch on you" / "Grok 4 Heavy protects its system
    # prompt") are two stories: a shared model names one event only when one of them launches it.
    named = bool((a.models & b.models and (a.launch or b.launch)) or a.laws & b.laws)
    linked = named or bool(a.amounts & b.amounts and a.orgs & b.orgs)
    if similarity >= SIMILAR or (linked and similarity >= (NAMED_SIMILARITY if named else LINKED_SIMILARITY)):
        return similarity + (1.0 if linked else 0.0)
    return 0.0


class StoryIndex(Protocol):
    async def candidates(self, signature: StorySignature) -> list[StorySignature]: ...
    async def save(self, signature: StorySignature) -> None: ...
    async def prefetch(self, signatures: Sequence[StorySignature]) -> None:
        """Before a batch of `candidates`/`save` calls for these signatures, in order: load at once what they need."""
    async def flush(self) -> None:
        """After that batch: store at once what it saved."""


def settled(step: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never waits (an `assign_story` on a MemoryStoryIndex), run to its end
    without an event loop: `ai-news classify` needs none."""
    try:
        step.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    step.close()
    raise RuntimeError("the coroutine waits for something: it needs an event loop")


async def assign_story(index: StoryIndex, signature: StorySignature) -> StorySignature:
    """The story this signature belongs to (updated with its source), or the signature as a new story."""
    best: StorySignature | None = None
    best_score = 0.0
    for candidate in await index.candidates(signature):
        score = same_story(signature, candidate)
        if score > best_score or (score == best_score and best is not None and score > 0
                                  and candidate.story_id < best.story_id):
            best, best_score = candidate, score
    if best is None:
        await index.save(signature)
        return signature
    best.sources |= signature.sources
    await index.save(best)
    return best


_NO_IDS: frozenset[str] = frozenset()


class MemoryStoryIndex:
    """Stories of one process (for `ai-news classify`, which works offline)."""

    def __init__(self) -> None:
        self._stories: dict[str, StorySignature] = {}
        self._buckets: defaultdict[tuple[str, str | int], set[str]] = defaultdict(set)

    async def candidates(self, signature: StorySignature) -> list[StorySignature]:
        ids = set().union(*map(self._buckets.get, signature.keys, itertools.repeat(_NO_IDS)))
        return [self._stories[i] for i in sorted(ids)]

    async def save(self, signature: StorySignature) -> None:
        self._stories[signature.story_id] = signature
        for key in signature.keys:
            self._buckets[key].add(signature.story_id)

    async def prefetch(self, signatures: Sequence[StorySignature]) -> None:
        return None

    async def flush(self) -> None:
        return None


@dataclass
class _Batch:
    """What one batch of signatures can match (every bucket of their keys, and the stories in them), and what it
    saved, to write at `flush`."""

    buckets: dict[tuple[str, str | int], set[str]]
    stories: dict[str, StorySignature]
    saved: dict[str, StorySignature] = field(default_factory=dict)


# The buckets of KEYS, in one round trip: one array of members per key.
_LOAD_BUCKETS = """
local found = {}
for i, key in ipairs(KEYS) do found[i] = redis.call('SMEMBERS', key) end
return found
"""
# Stories written in one round trip. ARGV[1] is the TTL, then per story its JSON, its story id and how many bucket keys
# it has; KEYS holds per story its key, then its bucket keys. Every bucket key touched gets the TTL once.
_WRITE_STORIES = """
local ttl = tonumber(ARGV[1])
local k, touched = 1, {}
for a = 2, #ARGV, 3 do
  redis.call('SET', KEYS[k], ARGV[a], 'EX', ttl)
  local buckets = tonumber(ARGV[a + 2])
  for b = k + 1, k + buckets do
    redis.call('SADD', KEYS[b], ARGV[a + 1])
    touched[KEYS[b]] = true
  end
  k = k + buckets + 1
end
for key in pairs(touched) do redis.call('EXPIRE', key, ttl) end
return k - 1
"""


class RedisStoryIndex:
    """Recent story signatures in Redis, expiring after the story window, shared by every ingest worker.

    Between `prefetch` and `flush` (one document's items), candidates come from what `prefetch` loaded in two round
    trips, plus what the batch saved so far, and saves are written at `flush` in one: the same answers as a round
    trip per call, as of the batch's start (another worker's stories saved meanwhile are seen from the next batch)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = int(WINDOW.total_seconds()) + 3600
        self._batch: _Batch | None = None
        self._load_buckets = redis.register_script(_LOAD_BUCKETS)
        self._write_stories = redis.register_script(_WRITE_STORIES)

    def _story_key(self, story_id: str) -> str:
        return f"{self.prefix}story:{story_id}"

    def _bucket_key(self, key: tuple[str, str | int]) -> str:
        return f"{self.prefix}storykey:{key[0]}:{key[1]}"

    async def _load(self, keys: Sequence[tuple[str, str | int]]) -> _Batch:
        """The buckets of `keys` and the stories in them: two round trips."""
        found = await self._load_buckets(keys=[self._bucket_key(key) for key in keys]) if keys else []
        buckets = {key: {(m.decode() if isinstance(m, bytes) else str(m)) for m in members}
                   for key, members in zip(keys, found, strict=True)}
        ids = sorted(set().union(*buckets.values()))
        raw = await self.redis.mget([self._story_key(i) for i in ids]) if ids else []
        stories = {i: StorySignature.from_json(value) for i, value in zip(ids, raw, strict=True) if value is not None}
        return _Batch(buckets, stories)

    async def candidates(self, signature: StorySignature) -> list[StorySignature]:
        batch = self._batch
        if batch is None:
            batch = await self._load(signature.keys)
        elif missing := [key for key in signature.keys if key not in batch.buckets]:  # one it was not prefetched for
            loaded = await self._load(missing)
            batch.buckets.update(loaded.buckets)
            for story_id, story in loaded.stories.items():
                batch.stories.setdefault(story_id, story)
        ids = sorted(set().union(*(batch.buckets[key] for key in signature.keys)))
        return [batch.stories[i] for i in ids if i in batch.stories]

    async def save(self, signature: StorySignature) -> None:
        if self._batch is not None:
            self._batch.stories[signature.story_id] = signature
            self._batch.saved[signature.story_id] = signature
            for key in signature.keys:
                self._batch.buckets.setdefault(key, set()).add(signature.story_id)
            return
        await self._write([signature])

    async def prefetch(self, signatures: Sequence[StorySignature]) -> None:
        keys = list(dict.fromkeys(key for signature in signatures for key in signature.keys))
        self._batch = await self._load(keys)

    async def flush(self) -> None:
        batch, self._batch = self._batch, None
        if batch is not None and batch.saved:
            await self._write(list(batch.saved.values()))

    async def _write(self, signatures: Sequence[StorySignature]) -> None:
        """The stories and their buckets, in one round trip (one script: atomic, as a transaction would be)."""
        keys: list[str] = []
        args: list[str | int] = [self.ttl]
        for signature in signatures:
            keys.append(self._story_key(signature.story_id))
            keys += [self._bucket_key(key) for key in signature.keys]
            args += [signature.to_json(), signature.story_id, len(signature.keys)]
        await self._write_stories(keys=keys, args=args)
