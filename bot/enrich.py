"""Enrichment of items: topics (ranked, with scores), entities, importance and story.

Used by the ingest role (stories shared through Redis) and by `ai-news classify` (stories matched within
the input, no services). Classification runs on a whole batch at once, which is where its speed comes from.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from bot.briefing.facts import events_in, launches_model
from bot.classify import TopicClassifier, editorial_topic, with_primary
from bot.entities import EntityExtractor, FoundEntities
from bot.ids import canonical_url, stable_id
from bot.importance import Signals, age_hours, combine, figures_strength, strength_of
from bot.relevance import Decision, RelevanceModel, content
from bot.relevance import Signals as RelevanceSignals
from bot.stories import MemoryStoryIndex, StoryIndex, StorySignature, assign_story, band_values, minhashes, settled
from bot.text import compared_models
from bot.textmodel import Tokenized

if TYPE_CHECKING:  # `ai-news classify` never builds the message models
    from bot.models import ClassifiedItem, Item

STORY_TEXT_LIMIT = 400


@dataclass(frozen=True)
class Entry:
    """What enrichment needs of an item."""

    id: str
    title: str
    summary: str = ""
    source: str = ""
    published: datetime = field(default_factory=lambda: datetime.now(UTC))
    points: int | None = None
    categories: tuple[str, ...] = ()
    url: str = ""

    @classmethod
    def of(cls, item: Item) -> Entry:
        return cls(item.id, item.title, item.summary, item.source, item.published, item.points, item.categories,
                   item.url)


@dataclass(frozen=True)
class Prepared:
    """What an entry yields on its own, before stories: topics, entities, signature, importance terms."""

    entry: Entry
    topics: tuple[str, ...]
    scores: dict[str, float]
    entities: FoundEntities
    signature: StorySignature
    event: float
    figures: float
    ai: Decision


@dataclass(frozen=True)
class Enrichment:
    topics: tuple[str, ...]
    topic_scores: dict[str, float]
    importance: float
    entities: FoundEntities
    story_id: str
    story_sources: int
    ai: Decision


# A source marked ai_only in sources.yaml publishes nothing but AI: its items skip the check.
AI_ONLY = Decision(1.0, True)


class Enricher:
    def __init__(self, classifier: TopicClassifier, extractor: EntityExtractor,
                 relevance: RelevanceModel | None = None) -> None:
        self.classifier = classifier
        self.extractor = extractor
        self.relevance = relevance
        self.labs = tuple(name for org in extractor.gazetteer.organizations for name in (org.name, *org.aliases))

    def decide_ai(self, entries: Sequence[tuple[str, str]], entities: Sequence[FoundEntities],
                  tokenized: Tokenized | None = None, repeats: Sequence[int] = (2, 1)) -> list[Decision]:
        """Whether each (title, summary) is about AI: the relevance model's calibrated decision, or, without a
        model, whether the text shows any sign of AI at all (an AI term, lab or model name). `tokenized`: the
        texts already tokenized in parts (see RelevanceModel.decide)."""
        if self.relevance is None:
            return [Decision(1.0 if ai else 0.0, ai) for ai in (
                self.extractor.about_ai(f"{title}. {summary}", found) for (title, summary), found in
                zip(entries, entities, strict=True))]
        signals = [RelevanceSignals.of(self.extractor, title, summary, found)
                   for (title, summary), found in zip(entries, entities, strict=True)]
        return self.relevance.decide(entries, signals, tokenized, repeats)

    def prepare(self, entries: Sequence[Entry]) -> list[Prepared]:
        """What each entry yields on its own (topics, entities, story signature, about AI): independent per entry."""
        texts = [(e.title, f"{e.summary} {' '.join(e.categories)}") for e in entries]
        # Both models read the title twice, then the topic model the summary with the categories, the about-AI
        # model the summary's content: the three parts are tokenized once for both.
        both = self.relevance is not None
        tokenized = Tokenized([(title, body, content(e.summary)) if both else (title, body)
                               for (title, body), e in zip(texts, entries, strict=True)])
        ranked = self.classifier.topics(texts, tokenized, (2, 1, 0) if both else (2, 1))
        found = [self.extractor.extract(f"{entry.title}. {entry.summary}") for entry in entries]
        decisions = self.decide_ai([(e.title, e.summary) for e in entries], found, tokenized, (2, 0, 1))
        # Feed boilerplate ("Score: 1405 Comments: 931 By: ...") would make unrelated items look alike.
        hashes = minhashes([f"{e.title} {content(e.summary)[:STORY_TEXT_LIMIT]}" for e in entries])
        bands = band_values(hashes)
        prepared = []
        slugs = self.classifier.taxonomy.slugs
        for entry, (ranked_topics, scores), entities, ai, signed, banded in zip(entries, ranked, found, decisions,
                                                                                 hashes, bands, strict=True):
            kinds = [event.kind for event in events_in(entry.title, entry.summary)]
            topics = with_primary(ranked_topics, editorial_topic(entry.title, entry.url, entities.models, kinds,
                                                                 slugs, entry.summary, self.labs, ranked_topics))
            signature = StorySignature.from_parts(
                entry.id, entry.published, signed, entities, {entry.source or entry.id}, banded,
                compared_models(entry.title, entities.models),
                launch=launches_model(entry.title, entities.models, kinds))
            prepared.append(Prepared(entry, topics, scores, entities, signature, strength_of(kinds),
                                     figures_strength(entities), ai))
        return prepared

    async def finish(
        self,
        prepared: Sequence[Prepared],
        stories: StoryIndex,
        *,
        now: datetime | Callable[[], datetime] | None = None,
        source_weights: Mapping[str, float] | None = None,
        topic_hints: Mapping[str, Sequence[str]] | None = None,
        ai_only: Iterable[str] = (),
    ) -> list[Enrichment]:
        """Stories (in order: each entry sees the ones before it) and importance, which depends on them."""
        moment = now() if callable(now) else (now or datetime.now(UTC))
        weights = source_weights or {}
        hints = topic_hints or {}
        trusted = set(ai_only)
        results = []
        await stories.prefetch([p.signature for p in prepared])
        for p in prepared:
            entry, topics = p.entry, p.topics
            hint = tuple(hints.get(entry.source, ()))
            if not p.scores and hint:
                topics = hint  # nothing matched at all: the source's own topic beats the global fallback
            ai = AI_ONLY if entry.source in trusted else p.ai
            story = await assign_story(stories, p.signature)
            signals = Signals(
                source_weight=weights.get(entry.source, 1.0),
                story_sources=len(story.sources),
                age_hours=age_hours(entry.published, moment),
                points=entry.points,
                about_ai=ai.about_ai,
            )
            score = combine(p.event, p.figures, signals)
            results.append(Enrichment(topics, p.scores, score, p.entities, story.story_id, len(story.sources), ai))
        await stories.flush()
        return results

    async def classify_items(
        self,
        items: Sequence[Item],
        stories: StoryIndex,
        *,
        now: datetime | Callable[[], datetime] | None = None,
        source_weights: Mapping[str, float] | None = None,
        topic_hints: Mapping[str, Sequence[str]] | None = None,
        ai_only: Iterable[str] = (),
    ) -> list[ClassifiedItem]:
        from bot.models import ClassifiedItem

        enrichments = await self.finish(self.prepare([Entry.of(i) for i in items]), stories, now=now,
                                        source_weights=source_weights, topic_hints=topic_hints, ai_only=ai_only)
        return [
            ClassifiedItem.from_item(item, topics=e.topics, topic_scores=e.topic_scores, importance=e.importance,
                                     entities=e.entities.to_model(), story_id=e.story_id, about_ai=e.ai.about_ai,
                                     ai_score=e.ai.score)
            for item, e in zip(items, enrichments, strict=True)
        ]


@dataclass
class LineResults:
    outputs: list[str]
    errors: list[str]

    def __repr__(self) -> str:
        # Short: the default repr of every output line takes a good part of a second (in a traceback, a log).
        return f"LineResults({len(self.outputs)} outputs, {len(self.errors)} errors)"


def _entry_from_line(number: int, line: str) -> tuple[Entry | None, dict[str, object] | None, str | None]:
    try:
        data = json.loads(line)
    except ValueError as exc:
        return None, None, f"line {number}: not JSON: {exc}"
    if not isinstance(data, dict):
        return None, None, f"line {number}: expected a JSON object, got {type(data).__name__}"
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        return None, None, f"line {number}: 'title' is required and must be a non-empty string"
    for name in ("summary", "url", "source", "published"):
        if name in data and data[name] is not None and not isinstance(data[name], str):
            return None, None, f"line {number}: '{name}' must be a string"
    published = datetime.now(UTC)
    if data.get("published"):
        try:
            published = datetime.fromisoformat(str(data["published"]).replace("Z", "+00:00"))
        except ValueError:
            return None, None, f"line {number}: 'published' is not an ISO 8601 time: {data['published']!r}"
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
    points = data.get("points")
    item_id = None
    if data.get("url"):
        try:
            item_id = stable_id("item", canonical_url(str(data["url"])))
        except ValueError:
            item_id = None
    source = str(data.get("source") or "")
    entry = Entry(
        id=item_id or stable_id("line", title.strip(), source),
        title=title.strip(),
        summary=str(data.get("summary") or ""),
        source=source,
        published=published,
        points=points if isinstance(points, int) and points >= 0 else None,
        url=str(data.get("url") or ""),
    )
    return entry, data, None


# A prepared input line, as plain values (cheap to send between processes): the output line so far (input
# fields, topics, scores, entities; importance and story_id come last), the story signature's parts with its
# index keys, what importance needs besides the story, and whether the item launches a model (the signature's too).
LineWire = tuple[str, str, float, bytes, tuple[tuple[str, ...], ...], list[tuple[str, str | int]], str,
                 float, float, int | None, bool, bool]


# What json.dumps(value, ensure_ascii=False) gives, without building an encoder per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _output_head(data: dict[str, object], p: Prepared) -> str:
    fields = {k: v for k, v in data.items() if k not in ("importance", "story_id")}
    fields.update(topics=list(p.topics), topic_scores=p.scores, entities=p.entities._asdict(),
                  about_ai=p.ai.about_ai, ai_score=p.ai.score)
    return _ENCODE(fields)[:-1]


def prepare_lines(enricher: Enricher, lines: Sequence[str], first: int = 1) -> tuple[list[LineWire], list[str]]:
    """Parse and prepare JSON lines (numbered from `first`); invalid lines become errors."""
    parsed: list[tuple[Entry, dict[str, object]]] = []
    errors = []
    for number, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        entry, data, error = _entry_from_line(number, line)
        if error is not None:
            errors.append(error)
        elif entry is not None and data is not None:
            parsed.append((entry, data))
    wires: list[LineWire] = []
    for p, (_, data) in zip(enricher.prepare([entry for entry, _ in parsed]), parsed, strict=True):
        sig = p.signature
        wires.append((
            _output_head(data, p), p.entry.id, p.entry.published.timestamp(), sig.hashes.tobytes(),
            (tuple(sig.models), tuple(sig.laws), tuple(sig.orgs), tuple(sig.amounts)), sig.keys,
            p.entry.source or p.entry.id, p.event, p.figures, p.entry.points, p.ai.about_ai, sig.launch,
        ))
    return wires, errors


# Below this many lines, one process is faster than starting workers.
PARALLEL_MIN_LINES = 2000
# Lines per task handed to a worker: small enough that the stories of the first lines are matched while the
# workers prepare the next ones, large enough that sending tasks and results costs little.
CHUNK_LINES = 500
_FORKED: Enricher | None = None  # what forked workers inherit


def _prepare_chunk(chunk: tuple[int, list[str]]) -> tuple[list[LineWire], list[str]]:
    assert _FORKED is not None
    return prepare_lines(_FORKED, chunk[1], chunk[0])


def prepare_parallel(enricher: Enricher, lines: Sequence[str], workers: int
                     ) -> Iterator[tuple[list[LineWire], list[str]]]:
    """prepare_lines over `workers` forked processes (which inherit the loaded model): the prepared lines and
    errors of consecutive chunks, in order, each as soon as it is ready."""
    global _FORKED
    # Forked workers inherit the loaded model for free; fork is only safe on Linux (macOS frameworks are not).
    if workers <= 1 or len(lines) < PARALLEL_MIN_LINES or not sys.platform.startswith("linux"):
        yield prepare_lines(enricher, lines)
        return
    size = min(CHUNK_LINES, -(-len(lines) // workers))
    chunks = [(start + 1, list(lines[start:start + size])) for start in range(0, len(lines), size)]
    _FORKED = enricher
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_prepare_chunk, chunks)
    finally:
        _FORKED = None


def classify_lines(
    enricher: Enricher, lines: Sequence[str], now: datetime | None = None, workers: int = 1
) -> LineResults:
    """`ai-news classify`: JSON lines in, the same lines enriched out (in order); invalid lines reported.
    Lines are prepared independently (in `workers` processes for large inputs); stories are matched in input
    order, chunk by chunk as the workers finish them, and importance, which depends on them and on the batch's
    newest item, computed last."""
    index = MemoryStoryIndex()
    matched: list[tuple[LineWire, str, int]] = []
    errors: list[str] = []
    for wires, failed in prepare_parallel(enricher, lines, workers):
        errors += failed
        for wire in wires:
            _, item_id, published, hashes, (models, laws, orgs, amounts), keys, source = wire[:7]
            signature = StorySignature(item_id, datetime.fromtimestamp(published, UTC),
                                       np.frombuffer(hashes, dtype=np.uint64), frozenset(models), frozenset(laws),
                                       frozenset(orgs), frozenset(amounts), {source}, launch=wire[11], _keys=keys)
            story = settled(assign_story(index, signature))  # in memory: nothing to wait for
            matched.append((wire, story.story_id, len(story.sources)))
    # Offline, the batch is its own clock: recency is measured from its newest item.
    moment = now.timestamp() if now else max((w[2] for w, _, _ in matched), default=datetime.now(UTC).timestamp())
    outputs = []
    for wire, story_id, sources in matched:
        head, published, (event, figures, points, ai) = wire[0], wire[2], wire[7:11]
        signals = Signals(story_sources=sources, age_hours=max(0.0, (moment - published) / 3600), points=points,
                          about_ai=ai)
        outputs.append(f'{head}, "importance": {combine(event, figures, signals)}, '
                       f'"story_id": {json.dumps(story_id)}}}')
    return LineResults(outputs, errors)
