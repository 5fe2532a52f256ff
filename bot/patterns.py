"""A cheap test before a regular expression: the literal text that every match of a pattern starts with.

Many patterns start with a choice of words (`\\b(?:acquires|buys|takes over)\\b...`); Python's engine tries each
at every position of the text, which costs far more than asking whether the lower-cased text contains one of
the words at all. `literal_starts` reads them from the pattern itself, so they follow any edit to it, and gives
None when it cannot tell (a pattern that may start with a class). The test is exact: a pattern that
`Prefilter` leaves out cannot match. It is not used on text with letters or digits outside ASCII, where
case-insensitive matching knows folds that `str.lower` does not and `\\d` matches more than 0-9; punctuation
outside ASCII (curly quotes, dashes, a no-break space, currency signs) has no case and is no digit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from re import _parser  # type: ignore[attr-defined]  # the parser of the standard library's engine
from typing import Any

_ZERO_WIDTH = (_parser.AT, _parser.ASSERT, _parser.ASSERT_NOT)
_REPEATS = (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT)
_DIGITS = frozenset("0123456789")  # what `\\d` matches in ASCII text
MAX_STARTS = 64
Starts = tuple[frozenset[str] | None, bool]  # (what a match starts with, or None: unknown; whether that is all of it)


def _element(op: Any, av: Any) -> Starts:
    """What one element of a parsed pattern matches: a set of strings (exact) or of their beginnings."""
    if op is _parser.LITERAL:
        return frozenset({chr(av)}), True
    if op is _parser.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is _parser.LITERAL:
                chars.add(chr(value))
            elif kind is _parser.CATEGORY and value is _parser.CATEGORY_DIGIT:
                chars |= _DIGITS
            else:
                return None, False
        return frozenset(chars), True
    if op is _parser.SUBPATTERN:
        return _sequence(av[-1])
    if op in _REPEATS:
        low, high, sub = av
        if low == 0 and high == 1:  # optional: what it starts with, or nothing (what follows then)
            starts, exact = _sequence(sub)
            return (None, False) if starts is None else (starts | {""}, exact)
        if low < 1:
            return None, False
        starts, exact = _sequence(sub)
        return starts, exact and low == high == 1
    if op is _parser.BRANCH:
        found: set[str] = set()
        all_exact = True
        for branch in av[1]:
            starts, exact = _sequence(branch)
            if starts is None:
                return None, False
            found |= starts
            all_exact = all_exact and exact
        return frozenset(found), all_exact
    return None, False


def _sequence(items: Iterable[tuple[Any, Any]]) -> Starts:
    """What a sequence of elements starts with: the longest run of known elements, joined."""
    found = frozenset({""})
    for op, av in items:
        if op in _ZERO_WIDTH:  # consumes nothing: what follows starts where it stands
            continue
        starts, exact = _element(op, av)
        if starts is None:
            return (found, False) if found != {""} else (None, False)
        joined = frozenset(a + b for a in found for b in starts)
        if len(joined) > MAX_STARTS:
            return found if found != {""} else starts, False
        found = joined
        if not exact:
            return found, False
    return (found, True) if found != {""} else (None, False)


def literal_starts(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Lower-case strings one of which starts every match of `pattern` in ASCII text; None when that cannot be
    said."""
    starts, _ = _sequence(_parser.parse(pattern.pattern, pattern.flags))
    # A letter outside ASCII may fold to an ASCII one ("K", the Kelvin sign, matches "k"): no pre-check then.
    if starts is None or "" in starts or any(c.isalpha() and not c.isascii() for s in starts for c in s):
        return None
    lowered = {s.lower() for s in starts}
    # "release" makes "released" and "releases" redundant: keep the shortest of each.
    return tuple(sorted(s for s in lowered if not any(o != s and s.startswith(o) for o in lowered)))


class Prefilter:
    """Which of several named patterns may match a text, found in one scan of it for their literal starts."""

    def __init__(self, patterns: Mapping[str, re.Pattern[str]]) -> None:
        starts = {name: literal_starts(pattern) for name, pattern in patterns.items()}
        self.always = frozenset(name for name, found in starts.items() if found is None)
        named: dict[str, set[str]] = {}  # each literal start -> the patterns it starts
        for name, found in starts.items():
            for needle in found or ():
                named.setdefault(needle, set()).add(name)
        needles = set(named)
        # At each position the longest needle that starts there; every shorter one that does is a prefix of it.
        self._kinds = {needle: frozenset(name for end in range(1, len(needle) + 1)
                                         for name in named.get(needle[:end], ()))
                       for needle in needles}
        # A look-ahead matches at every position where a needle starts, and captures the longest: one call finds
        # them all, overlapping ones included.
        self._scan = re.compile(f"(?=({_trie(needles)}))").findall if needles else None

    def candidates(self, text: str) -> frozenset[str] | None:
        """The names of the patterns that may match `text` (the others cannot); None: any may (text with letters
        or digits outside ASCII)."""
        low = folded(text)
        if low is None:
            return None
        found = self.always
        if self._scan is None:
            return found
        needles = set(self._scan(low))
        return found.union(*map(self._kinds.__getitem__, needles)) if needles else found


def _trie(words: Iterable[str]) -> str:
    """A regular expression that matches the longest of `words` that starts where it is tried: the words as a
    tree of their letters, which Python's engine tries far faster than a list of alternatives."""
    rests: dict[str, list[str]] = {}
    ends = False
    for word in words:
        if word:
            rests.setdefault(word[0], []).append(word[1:])
        else:
            ends = True
    branches = [re.escape(first) + _trie(rest) for first, rest in sorted(rests.items())]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if ends else body


def _uncased(char: str) -> bool:
    """A character that case-insensitive matching treats as itself alone: a lower-case ASCII letter, or no letter
    (digits, punctuation, spaces, symbols)."""
    return (char.isascii() and not char.isupper()) or not (char.isalnum() or char.lower() != char or
                                                           char.upper() != char)


def _caseless_literals(items: Iterable[tuple[Any, Any]]) -> bool:
    """Whether every character a parsed pattern names is `_uncased` (False for what this cannot read)."""
    for op, av in items:
        if op in (_parser.LITERAL, _parser.NOT_LITERAL):
            if not _uncased(chr(av)):
                return False
        elif op is _parser.RANGE:
            low, high = av
            if high - low > 1024 or not all(_uncased(chr(c)) for c in range(low, high + 1)):
                return False
        elif op is _parser.IN:
            if not _caseless_literals(av):
                return False
        elif op is _parser.SUBPATTERN:
            if not _caseless_literals(av[-1]):
                return False
        elif op in _REPEATS:
            if not _caseless_literals(av[2]):
                return False
        elif op is _parser.BRANCH:
            if not all(_caseless_literals(branch) for branch in av[1]):
                return False
        elif op in (_parser.ASSERT, _parser.ASSERT_NOT):
            if not _caseless_literals(av[1]):
                return False
        elif op not in (_parser.AT, _parser.ANY, _parser.CATEGORY, _parser.NEGATE):
            return False
    return True


@functools.lru_cache(maxsize=64)  # one text is tried against many patterns in a row
def folded(text: str) -> str | None:
    """The lower-cased text, when matching it case-sensitively is the same as matching `text` case-insensitively
    (no letter or digit outside ASCII, so the same length and the same word characters); None otherwise."""
    if not text.isascii() and any(c.isalnum() for c in set(text) if not c.isascii()):
        return None
    return text.lower()


class Caseless:
    """A case-insensitive pattern whose every letter is lower-case ASCII, tried as a case-sensitive one on the
    lower-cased text where that is exact (see `folded`): Python's engine folds the case of each character it
    compares, which costs several times the plain comparison. Other text goes to the case-insensitive pattern."""

    def __init__(self, pattern: str) -> None:
        self._source = pattern
        parsed = _parser.parse(pattern)
        plain = parsed.state.flags & ~re.UNICODE == 0 and _caseless_literals(parsed)
        self._plain = re.compile(pattern) if plain else None

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """The case-insensitive pattern, compiled when first needed: most runs only see text that the plain one
        reads."""
        return re.compile(self._source, re.IGNORECASE)

    def found(self, text: str) -> bool:
        """Whether the pattern matches anywhere in `text`."""
        if self._plain is not None and (lowered := folded(text)) is not None:
            return self._plain.search(lowered) is not None
        return self.pattern.search(text) is not None
