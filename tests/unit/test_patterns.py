from __future__ import annotations

import re

from bot import classify, relevance
from bot.briefing.facts import _UNSURE, EVENT_PATTERNS
from bot.classify import bundled_examples
from bot.patterns import Caseless, Prefilter, literal_starts
from bot.text import sentences


def test_literal_starts_reads_the_words_a_pattern_starts_with() -> None:
    assert literal_starts(re.compile(r"\b(?:acquir(?:es|ed)|buys|takes over)\b", re.IGNORECASE)) == (
        "acquired", "acquires", "buys", "takes over")
    assert literal_starts(re.compile(r"^(?:Show|Ask) HN:")) == ("ask hn:", "show hn:")
    assert literal_starts(re.compile(r"CVE-\d{4}")) == tuple(f"cve-{d}" for d in range(10))
    # An optional part gives both ways on: with it and without it.
    assert literal_starts(re.compile(r"\b(?:is|are) (?:now )?available")) == (
        "are available", "are now available", "is available", "is now available")
    assert literal_starts(re.compile(r"(?:new )?model")) == ("model", "new model")
    assert literal_starts(re.compile(r"takes? effect")) == ("take effect", "takes effect")
    # "release" covers "released" and "releases"
    assert literal_starts(re.compile(r"release|released|releases")) == ("release",)


def test_literal_starts_says_nothing_when_a_match_may_start_anywhere() -> None:
    for pattern in (r"\w+ raised", r"(?:new )?\w+", r"(?:new)?", r"[^.]{0,40} law", r"a|", r".*x", r"[a-z]+"):
        assert literal_starts(re.compile(pattern)) is None, pattern


def test_letters_outside_ascii_in_a_pattern_get_no_pre_check() -> None:
    # Case-insensitive, the Kelvin sign matches "k": no pre-check could tell from lower-cased text.
    assert literal_starts(re.compile("\u212aelvin", re.IGNORECASE)) is None
    assert literal_starts(re.compile(r"[$€]")) == ("$", "€")  # symbols have no case


def _texts() -> list[str]:
    texts = ["Why would Apple buy Mistral?", "ACME RAISES $5M", "It may rain", "It May launch", "CVE-2025-1234",
             "Ünïcödé raises €4bn", "OpenAI is here.", "nothing at all", "",
             "OpenAI’s “model” — raised $5M…", "It\u00a0acquires Mistral", "Acme raises €4bn – “funding round”",
             "The \u212aelvin bill took effect", "Acme raised \u0663 million", "Acme ﬁnally raised $4M",
             "ſigned into law"]
    for example in bundled_examples()[:400]:
        texts += [example.title, *sentences(example.summary)[:3]]
    return texts


def test_a_pattern_left_out_by_the_prefilter_never_matches() -> None:
    patterns = {"": _UNSURE, **dict(EVENT_PATTERNS)}
    prefilter = Prefilter(patterns)
    left_out = 0
    for text in _texts():
        may = prefilter.candidates(text)
        if may is None:
            assert any(c.isalnum() and not c.isascii() for c in text)
            continue
        for name, pattern in patterns.items():
            if pattern.search(text):
                assert name in may, (name, text)
            elif name not in may:
                left_out += 1
    assert left_out > 1000  # it does rule most of them out


def test_prefilter_finds_overlapping_and_nested_words() -> None:
    prefilter = Prefilter({"short": re.compile(r"\bis\b"), "long": re.compile(r"is here"),
                           "inner": re.compile(r"here"), "any": re.compile(r"\d")})
    assert prefilter.candidates("It IS HERE") == {"short", "long", "inner"}
    assert prefilter.candidates("this") == {"short"}  # "is" inside "this": the pre-check is of text, not words
    assert prefilter.candidates("nothing") == frozenset()
    assert prefilter.candidates("über") is None


def test_no_character_outside_ascii_but_a_letter_or_digit_can_stand_for_an_ascii_one() -> None:
    """Why the prefilter may read text whose only characters outside ASCII are punctuation and symbols."""
    others = "".join(c for c in map(chr, range(0x80, 0x110000)) if not c.isalnum() and not 0xD800 <= ord(c) < 0xE000)
    assert re.search(r"[a-z0-9]|\d", others, re.IGNORECASE) is None
    assert re.search(r"[\x00-\x7f]", others.lower()) is None


def test_a_caseless_pattern_matches_where_the_case_insensitive_one_does() -> None:
    caseless = {name: value for module in (classify, relevance) for name, value in vars(module).items()
                if isinstance(value, Caseless)}
    assert len(caseless) > 10
    texts = [*_texts(), "AI-GENERATED SLOP", "Ai Slop", "\u0130mpersonation scams", "\u017fcam", "Fra\u00fcd",
             "SCAMS \u2014 \u201cSecurity\u201d", "Deepfakes\u00a0", "\u24b6I slop", "DON\u2019T",
             "Acme (YC W26) Is Hiring", "ASK HN: Who is hiring? (May 2026)", "Ünï (yc s24) are hiring", "AI MEETUP"]
    matched = 0
    for name, pattern in caseless.items():
        assert pattern._plain is not None, name  # every one takes the fast path on such text
        for text in texts:
            expected = pattern.pattern.search(text) is not None
            assert pattern.found(text) == expected, (name, text)
            matched += expected
    assert matched > 100


def test_a_pattern_with_a_cased_letter_or_an_inline_flag_is_tried_as_written() -> None:
    for source in (r"\bShow HN\b", r"[A-Z]\w+", r"\x41", "caf\u00e9", "\u017fcam", r"(?x) a b", r"[!-~]"):
        pattern = Caseless(source)
        assert pattern._plain is None, source
        assert pattern.found("show hn: CAF\u00c9 a scam") == (pattern.pattern.search("show hn: CAF\u00c9 a scam")
                                                               is not None)
    assert Caseless(r"\b(?:scams?|[$\u20ac]\d)\b")._plain is not None


def test_lower_casing_keeps_what_is_no_letter_or_digit_one_character_and_no_word_character() -> None:
    """Why a caseless pattern may read the lower-cased text: the same length, the same word boundaries."""
    for char in map(chr, range(0x80, 0x110000)):
        if not char.isalnum() and not 0xD800 <= ord(char) < 0xE000:
            lowered = char.lower()
            assert len(lowered) == 1 and not lowered.isalnum() and re.match(r"\w", lowered) is None, hex(ord(char))
