"""Importance of an item, 0..1: how strongly an analyst would want it in front of readers.

    importance = 0.05
               + 0.20 * source    source weight from sources.yaml (0.1..3.0), 1.5 and above counting fully
               + 0.20 * coverage  distinct sources already in the story: 1 -> 0, 2 -> 0.5, 3+ -> 1
               + 0.10 * recency   1 when just published, halving every 12 hours
               + 0.25 * event     the strongest event word or phrase: signed into law, acquires, bans
                                  (1.0), raises (0.9), breach (0.8), releases (0.7) ... (see EVENTS); 0 if none
               + 0.10 * figures   money amounts (a billion or more counts fully) and figures in the text
               + 0.10 * points    Hacker News points on a log scale, 1000+ counting fully

Every term is in 0..1, so the weights say how much each can move an item; the sum is clipped to 0..1.
A text that shows no sign of being about AI (no AI term, model name or AI lab from config/entities.yaml)
keeps OFF_TOPIC_FACTOR of its score: general news from broad feeds never leads a briefing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from bot.entities import AnyEntities

# Event words and phrases by strength: the strongest one in title or summary gives the event term.
EVENTS: dict[float, tuple[str, ...]] = {
    1.0: ("signs into law", "signed into law", "passes the bill", "passes the law", "passes the act", "enacts",
          "enacted", "ruling", "rules that", "court rules", "court blocks", "court orders", "ban", "bans",
          "banned", "fine", "fines", "fined", "export control", "export controls", "sanction", "sanctions",
          "acquires", "acquire", "acquired", "acquisition", "to buy", "buys", "merger", "merges", "takeover"),
    0.9: ("raises", "raise", "raised", "funding round", "series a", "series b", "series c", "series d",
          "series e", "series f", "valuation", "valued at", "ipo", "invests", "invest", "investment"),
    0.8: ("breach", "leak", "leaked", "leaks", "exploit", "vulnerability", "vulnerabilities", "jailbreak",
          "deepfake", "deepfakes", "lawsuit", "sues", "sued", "recall"),
    0.7: ("release", "releases", "released", "launch", "launches", "launched", "unveils", "unveil", "unveiled",
          "introduces", "introduced", "introducing", "announces", "announce", "debuts", "debut", "open-sources",
          "open sources", "rolls out", "roll out", "ships", "now available", "general availability"),
    0.6: ("partners with", "partner with", "partnership", "deal", "agreement", "contract", "expands", "expand"),
    0.5: ("benchmark", "outperforms", "outperform", "beats", "state-of-the-art", "state of the art", "record"),
}
_WORD = re.compile(r"[\w]+")
_PHRASES: dict[str, list[tuple[tuple[str, ...], float]]] = {}
for _strength, _phrases in EVENTS.items():
    for _phrase in _phrases:
        _words = tuple(_WORD.findall(_phrase))
        _PHRASES.setdefault(_words[0], []).append((_words, _strength))
# "signs SB 53 into law": a signing with words between
_SIGNS_INTO_LAW = re.compile(r"\bsigns?\b(?:\s+\S+){0,5}?\s+into law\b")
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


def event_strength(text: str) -> float:
    lowered = text.lower()
    words = _WORD.findall(lowered)
    strongest = 0.0
    for i, word in enumerate(words):
        for phrase, strength in _PHRASES.get(word, ()):
            if strength > strongest and (len(phrase) == 1 or tuple(words[i:i + len(phrase)]) == phrase):
                strongest = strength
    if strongest < 1.0 and "into law" in lowered and _SIGNS_INTO_LAW.search(lowered):
        strongest = 1.0
    return strongest


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
