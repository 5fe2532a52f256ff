"""How common a headline word is in news at large.

Two headlines of one day that share words few of the day's headlines hold may still share only words headlines use
all the time ("workers", "robotaxi", "launches"); words they seldom use ("prospects", "Combinator", "ferry") say far
more. The common
words are those of more than a share (COMMON_SHARE) of the bundled labeled feed items' headlines (bot/data/relevance/
and the labeled headlines of bot/data/labeled/, about 19,000 in all), stemmed as the composer stems headline words; a
share, so that a word does not turn common only because more headlines were labeled. `ai-news train` writes them to
bot/data/common-headline-words.txt next to the models it saves."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path

from bot.briefing.summary import words

COMMON_FILE = "common-headline-words.txt"
COMMON_SHARE = 1 / 850  # a word in more than this share of the bundled headlines is common (20 of 16,858 when set)

HN_PREFIX = re.compile(r"^(?:Show|Launch|Ask|Tell) HN:\s*")


def word_stem(word: str) -> str:
    """A headline word without its possessive or plural ending ("Anthropic's" is anthropic, "watermarks"
    watermark)."""
    word = word.removesuffix("'s").removesuffix("\u2019s")
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def headline_stems(title: str) -> frozenset[str]:
    """A headline's content words, stemmed ("Show HN:" and the like left out)."""
    return frozenset(map(word_stem, words(HN_PREFIX.sub("", title))))


def common_words(titles: Iterable[str]) -> frozenset[str]:
    """The stemmed words of more than COMMON_SHARE of the headlines (each distinct headline counted once): a share,
    so that what is common does not change as the labeled data grows."""
    unique = {" ".join(title.lower().split()): title for title in titles}
    counts = Counter(word for title in unique.values() for word in headline_stems(title))
    least = COMMON_SHARE * len(unique)
    return frozenset(word for word, count in counts.items() if count > least)


def save_common_words(found: Iterable[str], target: Path) -> None:
    target.write_text("".join(f"{word}\n" for word in sorted(found)), encoding="utf-8")


@cache
def bundled_common_words() -> frozenset[str]:
    """The common words `ai-news train` saved."""
    entry = resources.files("bot") / "data" / COMMON_FILE
    return frozenset(line.strip() for line in entry.read_text(encoding="utf-8").splitlines() if line.strip())
