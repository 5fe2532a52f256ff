"""Topic classification from the taxonomy's keywords.

This is the baseline: it needs nothing but config/topics.yaml, so a topic that a user adds there works at
once. A keyword counts as a whole word or phrase, case-insensitively; a hit in the title counts double; a
negative keyword takes a hit away; a topic with no keywords is
matched by its slug and title. Topics are ranked by score; with no hit at all the item goes to the
taxonomy's fallback topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import ClassifiedItem, Item
from bot.taxonomy import Taxonomy, Topic

TITLE_WEIGHT = 2.0


def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = sorted((re.escape(w).replace(r"\ ", r"[\s-]+") for w in words), key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])", re.IGNORECASE)


@dataclass(frozen=True)
class _CompiledTopic:
    slug: str
    positive: re.Pattern[str] | None
    negative: re.Pattern[str] | None

    @classmethod
    def of(cls, topic: Topic) -> _CompiledTopic:
        words = topic.keywords or (topic.slug.replace("-", " "), topic.title.lower())
        return cls(topic.slug, _pattern(words), _pattern(topic.negative_keywords))

    def score(self, title: str, body: str) -> float:
        score = 0.0
        if self.positive is not None:
            score += TITLE_WEIGHT * len(self.positive.findall(title)) + len(self.positive.findall(body))
        if self.negative is not None:
            score -= TITLE_WEIGHT * len(self.negative.findall(title)) + len(self.negative.findall(body))
        return score


class KeywordClassifier:
    """Ranks an item's topics by keyword hits. Pure; build once per taxonomy."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._topics = [_CompiledTopic.of(t) for t in taxonomy.topics]

    def scores(self, title: str, body: str = "") -> dict[str, float]:
        """Scores in 0..1 (relative to the best topic) for every topic with a positive score."""
        raw = {t.slug: t.score(title, body) for t in self._topics}
        best = max(raw.values(), default=0.0)
        if best <= 0:
            return {}
        return {slug: round(s / best, 3) for slug, s in raw.items() if s > 0}

    def classify(self, item: Item) -> ClassifiedItem:
        scores = self.scores(item.title, f"{item.summary} {' '.join(item.categories)}")
        ranked = sorted(scores, key=lambda slug: (-scores[slug], self.taxonomy.order(slug)))
        topics = ranked or [self.taxonomy.fallback]
        hits = len(ranked)
        importance = round(min(1.0, 0.2 + 0.1 * hits), 3)
        return ClassifiedItem.from_item(item, topics=topics, topic_scores=scores, importance=importance)
