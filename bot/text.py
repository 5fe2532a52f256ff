"""Plain-text helpers for untrusted feed text: HTML to text, whitespace folding, sentence splitting."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
                         "table", "blockquote", "pre", "section", "article", "hr"})
_DROP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg", "head"})
# Characters that feed text has no use for and that disguise it in chat: control characters, bidirectional
# embeddings, overrides, isolates and marks (U+202E shows "txt.exe" as "exe.txt"), zero-width spaces, word joiners,
# invisible operators, a byte-order mark inside text and soft hyphens. The zero-width (non-)joiners are part of
# emoji sequences and of Persian and Indic spelling: they are kept between two characters outside ASCII and removed
# elsewhere, where they only hide things.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
    "|(?<![^\x00-\x7f\\s])[\u200c\u200d]|[\u200c\u200d](?![^\x00-\x7f\\s])"
)
# Any character that _INVISIBLE may remove: text without one (nearly all) skips that slower pattern.
_MAYBE_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff]"
)
# A start or end tag that html.parser reads the same way in one step: an ASCII name, attributes with quoted values or
# none, separated by ASCII whitespace. Markup whose every "<" opens such a tag (what feedparser's sanitiser writes)
# is read in one regex pass; anything else (comments, bare "<", unquoted values, script and the like) goes through
# html.parser itself.
_WS = "[ \t\n\r\f]"
_SIMPLE_TAG = re.compile(
    rf"<(?:(?P<start>[a-zA-Z][-.a-zA-Z0-9:_]*)"
    rf"(?:{_WS}+[a-zA-Z_:][-.a-zA-Z0-9_:]*(?:{_WS}*={_WS}*(?:\"[^\"]*\"|'[^']*'))?)*"
    rf"{_WS}*(?P<empty>/?)|/(?P<end>[a-zA-Z][-.a-zA-Z0-9:_]*){_WS}*)>"
)
# Tags that html.parser or the extractor treat specially (raw-text content, dropped content): never on the fast path.
_SPECIAL_TAGS = _DROP_TAGS | {"textarea", "title", "xmp", "noembed", "noframes", "plaintext", "math"}
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+(?=[\"“‘(\[A-Z0-9\u4e00-\u9fff])")
# Texts folded and split are cached: composing reads each item's title and summary several times (its story's
# text, the summary chooser, the events, the amounts), and a story often repeats one wire text many times.
TEXT_CACHE = 1 << 14


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_TAGS:
            self._dropping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_TAGS:
            self._dropping = max(0, self._dropping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.parts.append(data)


@lru_cache(maxsize=TEXT_CACHE)
def fold_space(text: str) -> str:
    """Whitespace folded to single spaces, invisible and direction-changing characters removed."""
    if _MAYBE_INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    # str.split() splits on exactly the characters that \s matches (str.isspace), and drops the ends.
    return " ".join(text.split())


def _simple_markup_text(markup: str) -> str | None:
    """What _TextExtractor collects from markup made only of simple tags (see _SIMPLE_TAG), in one pass; None
    when the markup has anything else, for html.parser to read."""
    # One split: the text before the first tag, then four pieces a tag (start name, "/" of an empty tag, end name,
    # and the text up to the next tag).
    pieces = _SIMPLE_TAG.split(markup)
    if len(pieces) // 4 != markup.count("<"):
        return None
    unescape = html.unescape  # html.parser hands text over with charrefs converted
    first = pieces[0]
    parts = [unescape(first)] if first else []
    for index in range(1, len(pieces), 4):
        start, empty, end, text = pieces[index:index + 4]
        if start is not None:
            name = start.lower()
            blank = "  " if empty else " "  # <br/> is a start and an end tag
        else:
            name = end.lower()
            blank = " "
        if name in _SPECIAL_TAGS:
            return None
        if name in _BLOCK_TAGS:
            parts.append(blank)
        if text:
            parts.append(unescape(text) if "&" in text else text)
    return "".join(parts)


def plain_text(markup: str | None, max_length: int | None = None) -> str:
    """Visible text of an HTML fragment: tags removed, script and style dropped, entities decoded."""
    if not markup:
        return ""
    if "<" in markup or "&" in markup:
        collected = _simple_markup_text(markup)
        if collected is None:
            parser = _TextExtractor()
            parser.feed(markup)
            parser.close()
            collected = "".join(parser.parts)
        text = html.unescape(collected)
    else:
        text = markup
    text = fold_space(text)
    return shorten(text, max_length) if max_length else text


def shorten(text: str, max_length: int) -> str:
    """Cut at a word boundary with an ellipsis, if longer than max_length."""
    if len(text) <= max_length:
        return text
    cut = text[: max_length - 1]
    space = cut.rfind(" ")
    if space > max_length // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def sentences(text: str) -> list[str]:
    """Split plain text into sentences (good enough for news summaries)."""
    return list(_sentences(text))


@lru_cache(maxsize=TEXT_CACHE)
def _sentences(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in _SENTENCE_END.split(fold_space(text)) if s.strip())


_SEARCH_WORD = re.compile(r"\w(?:[\w.+-]*\w)?")
_SEARCH_STOPWORD_TEXT = """
a an the and or of to in on for with at by from as is are was were be been its it this that these those into
over after about than how why what who will can could has have had not no but up out more most s
"""
SEARCH_STOPWORDS = frozenset(_SEARCH_STOPWORD_TEXT.split())


def search_words(text: str) -> list[str]:
    """The words a text is found by, in order, without repeats: lower-case, stop words dropped, a plural's
    final s removed ("robots" finds "robot"), hyphenated names kept whole and also split ("gpt-4o", "gpt", "4o")."""
    found: dict[str, None] = {}
    for token in _SEARCH_WORD.findall(text.lower().replace("’", "'")):
        parts = [token, *token.replace(".", "-").replace("+", "-").split("-")] if "-" in token else [token]
        for word in parts:
            if word in SEARCH_STOPWORDS or (len(word) < 2 and not word.isdigit()):
                continue
            if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
                word = word[:-1]
            found[word] = None
    return list(found)


# Words that say only that a name is a model's ("Phi-4 Reasoning Models", "Qwen3 open-weights LLM").
_MODEL_WORDS = re.compile(r"\b(?:models?|llms?|language|reasoning|open[- ]weights?|instruct)\b", re.IGNORECASE)


def model_headline(title: str, models: Iterable[str]) -> bool:
    """A headline that is mostly a model's name, besides words that say it is a model ("DeepSeek-V4-Flash Update",
    "GLM-5.3 Soon", "Phi-4 Reasoning Models")."""
    plain = re.sub(r"[\s_.-]+", "", _MODEL_WORDS.sub(" ", title.lower()))
    return any(len(key := re.sub(r"[\s_.-]+", "", m.lower())) >= 0.5 * len(plain) and key in plain for m in models)


_ANNOUNCES = r"\bannounc(?:es|ed|ing)\s+(?:its\s+|the\s+|a\s+)?(?:new\s+)?"


def announces_model(title: str, models: Iterable[str]) -> bool:
    """A headline in which someone announces a model by its name ("Anthropic announces Claude 2.1 - 200k context"): its
    launch, as a release is."""
    lowered = title.lower()
    if "announc" not in lowered:  # most headlines: no pattern built or run
        return False
    return any(re.search(rf"{_ANNOUNCES}{re.escape(m.lower())}(?![\w.-])", lowered) for m in models)


# A headline's name and tagline ("Gemma 3 QAT Models: Bringing AI to Consumer GPUs").
_NAMED_HEAD = re.compile(r"\s*(?::|\s[-\u2013\u2014])\s")


def name_and_tagline(title: str) -> tuple[str, str]:
    """The part of a headline before its tagline and the tagline ("" when there is none)."""
    parts = _NAMED_HEAD.split(title, maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


# Benchmarks that are no model's score: "EU Sets Benchmark For Rest of the World With ..." (a standard for others to
# follow) and a program's micro-benchmarks ("Running Python micro-benchmarks using the ChatGPT Code Interpreter").
BENCHMARK_IDIOMS = re.compile(r"\b(?:(?:sets?|setting) (?:an? |the )?(?:new )?benchmarks? for|micro-?benchmarks?)\b",
                              re.IGNORECASE)

# A model named as what something is measured against ("Tarsier ... beats GPT-4o", "faster than Llama 3"): not what the
# headline is about.
_COMPARED = re.compile(r"\b(?:beats?|beating|outperform\w*|outdoes|surpass\w*|rivals?|rivall?ing|vs\.?|versus|than|"
                       r"tops|topping)\s+(?:\S+\s+){0,2}$", re.IGNORECASE)


# What joins the names of a list ("Llama 2 and Mistral 7B", "GPT-4o, Claude 3 Opus or Gemini").
_LISTED = re.compile(r"^\s*(?:,\s*(?:and\s+|or\s+)?|and\s+|or\s+|&\s+)$", re.IGNORECASE)


def compared_models(title: str, models: Iterable[str]) -> frozenset[str]:
    """The models a headline names only as what something else is compared with ("... that beats GPT-4o"), the rest of
    a list of them too ("... That Outperforms Llama 2 and Mistral 7B")."""
    lowered = title.lower()
    places = {model: lowered.find(model.lower()) for model in models}
    found = {model for model, at in places.items() if at > 0 and _COMPARED.search(title[:at])}
    listed = True
    while listed:
        listed = False
        for model, at in places.items():
            if model in found or at <= 0:
                continue
            if any(0 <= places[other] < at and _LISTED.match(title[places[other] + len(other):at])
                   for other in found):
                found.add(model)
                listed = True
    return frozenset(found)
