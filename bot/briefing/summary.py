"""What a story says: 1-3 whole sentences chosen from its items' own text. Pure and deterministic.

Sentences that were cut off, links, headlines repeated, text in another language and site boilerplate (GitHub's
"Contribute to ... by creating an account on GitHub", taglines, "Please wait while we check your browser",
bylines, thanks, "Reported by ...") are never chosen. A story whose items carry no usable sentence shows no
summary line: its headline already says what there is to say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.text import TEXT_CACHE, fold_space, sentences

MAX_SENTENCE = 400
MIN_SENTENCE = 30

# Whole sentences that say nothing about the story: navigation, site taglines, bylines, thanks, notices.
BOILERPLATE = re.compile(
    r"^(?:read more|continue reading|comments?\b|score:|points:|article url|click here|subscribe|sign (?:up|in)|"
    r"log ?in|the post .* appeared first on|source:|via\b|image:|photo:|credit:|advertisement|sponsored|share this|"
    r"listen to|watch:|update:|\[?\d+\s+(?:comments|points)|reported by\b|shared on\b|posted (?:on|by|in)\b|"
    r"published (?:on|by)\b|by [A-Z][\w.]+ [A-Z][\w.]+\.?$|skip to\b|menu\b|table of contents|all rights reserved|"
    r"copyright\b|©|cookies?\b|we use cookies|this (?:site|website) uses|please (?:wait|enable|verify)|"
    r"enable javascript|javascript is (?:disabled|required)|checking (?:your|if the site)|just a moment|"
    r"(?:special |many |big )?thanks (?:to [^.]{0,60}\bfor\b|for (?:reading|watching|your))|thank you\b|"
    r"we(?:'re| are) on a journey|discover, vote|welcome to\b|"
    r"contribute to [\w.-]+/[\w.-]+ development|sign up for|join (?:our|the) (?:newsletter|mailing list)|"
    r"follow us\b|download (?:the|our) app|originally published|this article (?:was|is) (?:originally|part)|"
    r"in this (?:post|article|video|episode)\b|today(?:'s| on) (?:the )?(?:show|episode|podcast)|"
    r"(?:an? )?(?:open source )?community[- ]driven news aggregator)",
    re.IGNORECASE,
)
# Anywhere in a sentence: the mark of a page that is not the story.
_BOILERPLATE_INSIDE = re.compile(
    r"by creating an account on GitHub|ensure the security of your connection|the best content on the web|"
    r"advance and democratize artificial intelligence|\d+ words, \d+ links|all rights reserved|"
    r"subscribe to (?:our|the) newsletter|cookie (?:policy|settings|banner)|privacy policy",
    re.IGNORECASE)
# "Some description - owner/repo": GitHub appends the repository to its description.
_REPO_SUFFIX = re.compile(r"\s+-\s+[\w.-]+/[\w.-]+\s*$")
_ENDS_WELL = re.compile(r"[.!?][\"”’')\]]?$")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
_WORD = re.compile(r"[\w][\w'’.-]*\w|\w")
_STOP_TEXT = """a an the and or of to in on for with at by from as is are was were be been its it this that these
those into over after about than how why what who will can could has have had not no but up out more most new now
its their they we our you your his her he she them which while also just"""
_STOP = frozenset(_STOP_TEXT.split())
_ENGLISH = frozenset({"the", "a", "an", "and", "of", "to", "in", "is", "for", "on", "with", "that", "this", "it",
                      "as", "are", "by", "we", "you", "be", "from", "at", "or"})
# "The Batch AI News and Insights: Voice-based AI ..." : a newsletter's label before the sentence proper.
_LABEL_WORD = r"(?:[A-Z0-9][\w.&'’-]*|and|of|the|for|in|on)"
_LABEL = re.compile(rf"^{_LABEL_WORD}(?: {_LABEL_WORD}){{1,7}}:\s+(?=[A-Z0-9\"“])")


@lru_cache(maxsize=TEXT_CACHE)
def words(text: str) -> frozenset[str]:
    """Content words: lower-case, no stop words, no one-letter words."""
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1)


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of two texts' content words."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


@lru_cache(maxsize=TEXT_CACHE)
def clean(text: str) -> str:
    """A feed summary without what sites append to it ("... - owner/repo")."""
    return _REPO_SUFFIX.sub("", fold_space(text))


def boilerplate(sentence: str) -> bool:
    return bool(BOILERPLATE.search(sentence) or _BOILERPLATE_INSIDE.search(sentence))


def english(sentence: str) -> bool:
    tokens = sentence.lower().split()
    return len(tokens) < 6 or any(t in _ENGLISH for t in tokens)


@lru_cache(maxsize=TEXT_CACHE)
def usable_sentence(sentence: str, title: str) -> bool:
    """A whole sentence worth quoting: not cut off, not boilerplate, not a link, not the headline again."""
    if not MIN_SENTENCE <= len(sentence) <= MAX_SENTENCE:
        return False
    if sentence.endswith(("…", "...")) or not _ENDS_WELL.search(sentence):
        return False
    first = sentence[0]
    if not (first.isupper() or first.isdigit() or first in "\"“‘'("):
        return False
    if boilerplate(sentence) or _URL.search(sentence) or not english(sentence):
        return False
    if len(_WORD.findall(sentence)) < 5:
        return False
    return similarity(sentence, title) < 0.8


@dataclass(frozen=True)
class Passage:
    """One item's text, as the summary chooser needs it."""

    title: str
    summary: str
    lead: bool = False


def summary_sentences(
    passages: Sequence[Passage], *, limit: int = 3, max_chars: int = 480, used: set[str] | None = None
) -> list[str]:
    """Up to `limit` whole sentences (at most `max_chars` in all) from the passages, in reading order.

    `used` holds normalized sentences already used elsewhere in the briefing: they are skipped, and the chosen
    ones are added, so no sentence appears twice in one briefing."""
    used = used if used is not None else set()
    title = passages[0].title if passages else ""
    candidates: list[tuple[float, int, int, str]] = []
    for p_index, passage in enumerate(passages):
        for s_index, raw in enumerate(sentences(clean(passage.summary))[:8]):
            sentence = _LABEL.sub("", raw, count=1)
            if not usable_sentence(sentence, passage.title):
                continue
            score = 1.0 / (1 + s_index) + (0.6 if passage.lead else 0.0) + 1.2 * similarity(sentence, title)
            if re.search(r"\d", sentence):
                score += 0.15
            candidates.append((score, p_index, s_index, sentence))
    chosen: list[tuple[int, int, str]] = []
    total = 0
    for _, p_index, s_index, sentence in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if len(chosen) >= limit:
            break
        key = fold_space(sentence.lower())
        if key in used or any(similarity(sentence, other) >= 0.6 for _, _, other in chosen):
            continue
        if total + len(sentence) + 1 > max_chars and chosen:
            continue
        chosen.append((p_index, s_index, sentence))
        total += len(sentence) + 1
    for _, _, sentence in chosen:
        used.add(fold_space(sentence.lower()))
    return [sentence for _, _, sentence in sorted(chosen)]
