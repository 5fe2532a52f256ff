"""Importance of an item, 0..1: how strongly an analyst would want it in front of readers.

    importance = 0.05
               + 0.20 * source    source weight from sources.yaml (0.1..3.0), 1.5 and above counting fully
               + 0.20 * coverage  distinct sources already in the story: 1 -> 0, 2 -> 0.5, 3+ -> 1
               + 0.10 * recency   1 when just published, halving every 12 hours
               + 0.25 * event     the strongest event the text reports as done: a law in force, an acquisition,
                                  a ban (1.0), a raise (0.9), a breach (0.8), a release (0.7) ... (see
                                  EVENT_STRENGTH); 0 if none, or if the text only proposes or rumours it
               + 0.10 * figures   money amounts (a billion or more counts fully) and figures in the text
               + 0.10 * points    Hacker News points on a log scale, 1000+ counting fully

Every term is in 0..1, so the weights say how much each can move an item; the sum is clipped to 0..1.
An item that is not about AI (bot.relevance) keeps OFF_TOPIC_FACTOR of its score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.briefing.facts import events_in
from bot.entities import AnyEntities

# The strength of each kind of event, when the text reports it as done (bot.briefing.facts: a verb of the event
# in the headline or an opening sentence, no proposal, rumour or question around it).
EVENT_STRENGTH: dict[str, float] = {
    "law": 1.0, "acquisition": 1.0, "restriction": 1.0, "funding": 0.9, "court": 0.8, "security": 0.8,
    "release": 0.7, "outage": 0.6, "availability": 0.6, "partnership": 0.6, "hire": 0.5, "benchmark": 0.5,
}
_BILLIONS = re.compile(r"\b(?:billion|trillion|bn|tn)\b|\d\s?[BT]\b", re.IGNORECASE)

OFF_TOPIC_FACTOR = 0.3
WEIGHTS = {"base": 0.05, "source": 0.20, "coverage": 0.20, "recency": 0.10, "event": 0.25, "figures": 0.10,
           "points": 0.10}


@dataclass(frozen=True)
class Signals:
    source_weight: float = 1.0
    story_sources: int = 1
    age_hours: float = 0.0
    points: int | None = None
    about_ai: bool = True


def strength_of(kinds: Iterable[str]) -> float:
    """The strongest of the events reported."""
    return max((EVENT_STRENGTH.get(kind, 0.0) for kind in kinds), default=0.0)


def event_strength(title: str, summary: str = "") -> float:
    return strength_of(event.kind for event in events_in(title, summary))


def figures_strength(entities: AnyEntities) -> float:
    big_money = any(_BILLIONS.search(a) for a in entities.amounts)
    count = len(entities.amounts) + len(entities.metrics)
    return 1.0 if big_money else min(1.0, count / 3)


def importance(text: str, entities: AnyEntities, signals: Signals) -> float:
    return combine(event_strength(text), figures_strength(entities), signals)


def combine(event: float, figures: float, signals: Signals) -> float:
    """The weighted sum, from the text's terms (event, figures) and the item's signals."""
    terms: dict[str, float] = {
        "source": min(1.0, max(0.0, (signals.source_weight - 0.1) / 1.4)),
        "coverage": min(1.0, max(0, signals.story_sources - 1) / 2),
        "recency": math.pow(0.5, max(0.0, signals.age_hours) / 12),
        "event": event,
        "figures": figures,
        "points": min(1.0, math.log10(signals.points + 1) / 3) if signals.points else 0.0,
    }
    score: float = WEIGHTS["base"] + sum(WEIGHTS[name] * value for name, value in terms.items())
    if not signals.about_ai:
        score *= OFF_TOPIC_FACTOR
    return round(min(1.0, max(0.0, score)), 3)


def age_hours(published: datetime, now: datetime) -> float:
    return max(0.0, (now - published).total_seconds() / 3600)
