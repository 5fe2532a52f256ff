"""Entities in a headline and summary: organizations, model names, money amounts, figures, laws and bills.

Organizations and laws come from a gazetteer (`config/entities.yaml`), model names start with a known family
and take the versions, sizes and variants that follow them, amounts and figures are patterns. Pure: build
one `EntityExtractor` per gazetteer and call it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from bot.settings import load_yaml_model

if TYPE_CHECKING:  # a process that only classifies never builds the message models
    from bot.models import Entities


class FoundEntities(NamedTuple):
    """Entities found in a text, as plain tuples (cheap to make, compare and send between processes);
    `to_model` gives the pydantic Entities that messages carry."""

    organizations: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    laws: tuple[str, ...] = ()

    def to_model(self) -> Entities:
        from bot.models import Entities

        return Entities.model_construct(**self._asdict())


AnyEntities: TypeAlias = "Entities | FoundEntities"


class Organization(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()


class Gazetteer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    organizations: tuple[Organization, ...] = ()
    model_families: tuple[str, ...] = ()
    model_suffixes: tuple[str, ...] = ()
    laws: tuple[str, ...] = ()
    ai_terms: tuple[str, ...] = ()
    ai_hints: tuple[str, ...] = ()
    other_senses: tuple[str, ...] = Field(default=(), description=(
        "phrases in which an AI term, hint or name means something else (\"Gemini protocol\", \"Claude Shannon\", "
        "\"Falcon 9\"): their words count as none of them"))
    makers: dict[str, str] = Field(default_factory=dict, description="model family -> the organization behind it")
    publishers: dict[str, str] = Field(default_factory=dict, description="site (domain) -> the publisher's name")


# "Next" before a span of time is no variant of the model ("Small Versions of Llama 3 Next Week" names Llama 3).
_NEXT_TIME = re.compile(r"[ -]Next$")
_TIME = re.compile(r" (?:[Ww]eek|[Mm]onth|[Yy]ear|[Qq]uarter|[Tt]ime)s?\b")


def load_gazetteer(path: Path) -> Gazetteer:
    return load_yaml_model(path, Gazetteer)


def _alternation(words: list[str], not_after: str | None = None) -> str:
    """A pattern matching any of the words (longest first), shaped as a trie: Python's re tries the
    alternatives of a flat alternation one by one at every position, a trie only along shared prefixes.

    With `not_after` (a character class), a word must not follow such a character. The test comes after the
    word's first character, as a two-character look-behind (the same test, since that character is known):
    a pattern that starts with a choice of characters lets the engine skip every position holding none of them."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in set(words):
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict, guard: str | None = None) -> str:  # type: ignore[type-arg]
        ends = "" in node
        branches = []
        for char, child in sorted(node.items()):
            if char:
                literal = re.escape(char).replace(r"\ ", r"\s+") if char == " " else re.escape(char)
                after = f"(?<!{guard}{re.escape(char)})" if guard is not None else ""
                branches.append(literal + after + pattern(child))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    if not_after is None:
        return pattern(trie)
    if "" in trie or " " in trie:  # a word that is empty or starts with a space: the test before it
        return f"(?<!{not_after})(?:{pattern(trie)})"
    return pattern(trie, not_after)


_SCALE = r"(?:trillion|billion|million|thousand|tn|bn|mn|[kKmMbBtT](?![a-z]))"
_CURRENCY_WORD = r"(?:USD|EUR|GBP|RMB|CNY|JPY|INR|dollars?|euros?|pounds?|yuan|yen)"
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_AMOUNT = re.compile(
    rf"(?:(?:[$€£¥]|US\$|(?:USD|EUR|GBP|RMB|CNY|JPY)\s?)(?:{_NUMBER})(?:\s?{_SCALE})?"
    rf"|(?<![\w.])(?:{_NUMBER})\s?(?:{_SCALE}\s?)?{_CURRENCY_WORD}\b)"
)
_METRIC = re.compile(
    rf"(?<![\w.$€£¥])(?:"
    rf"(?:{_NUMBER})\s?[x×](?![\w])"  # 10x
    rf"|(?:{_NUMBER})\s?%"  # 12%
    rf"|(?:{_NUMBER})\s?[KMB]?\s(?:tokens|parameters|params|GPUs|chips|users|downloads|GW|MW|TWh|"
    rf"petaflops|exaflops|FLOPs|tokens per second|languages|robots|vehicles)\b"
    rf"|(?:{_NUMBER})[KMB]\s(?:context|context window)\b"
    rf"|(?:{_NUMBER})\s?(?:GW|MW)\b"
    rf")"
)
_HAS_DIGIT = re.compile(r"\d")
# The cheap tests below are written so that Python's engine can skip every position that holds none of their
# first characters: a leading choice of literal characters, a look-behind after the first one in place of a
# leading \b or \d (`\d\s?x` as "an x after a digit and maybe a space").
_FIGURE_CUE = re.compile(r"%|token|param|GPU|chip|user|download|star|GW|MW|TWh|flop|FLOP|language|robot|vehicle|"
                         r"context|x(?!\w)(?:(?<=\d.)|(?<=\d\s.))|×(?!\w)(?:(?<=\d.)|(?<=\d\s.))")
_ALPHA = re.compile(r"[a-z]+")
_MONEY_WORD = re.compile(r"USD|EUR|GBP|RMB|CNY|JPY|INR|dollar|euro|pound|yuan|yen")


def _has_money(text: str) -> bool:
    """Whether the text may hold an amount: a currency sign (looked for as plain text, faster) or a currency."""
    return "$" in text or "€" in text or "£" in text or "¥" in text or _MONEY_WORD.search(text) is not None


_HAS_BILL = re.compile(r"(?:S(?<!\w.)[BF]?|A(?<!\w.)B|H(?<!\w.)(?:[BF]|\.\s?R)|L(?<!\w.)D)[\s.]")
_BILL = re.compile(r"\b(?:SB|AB|HB|SF|HF|LD)\s?\d{1,5}\b|\bH\.\s?R\.\s?\d{1,5}\b|\bS\.\s?\d{1,5}\b")


_SPACES = re.compile(r"\s+")


def _spaced(found: str) -> str:
    """Every run of white space as one space: `found` itself when its only white space is single ASCII spaces (a
    printable string holds no other), as in nearly every match."""
    return found if found.isprintable() and "  " not in found else _SPACES.sub(" ", found)


Pattern = re.Pattern[str] | None
# Chinese, Japanese and Korean text writes words without spaces: a name runs straight into the next word
# ("AI日报", "Claude推出"), so these scripts are no word characters at a name's edges.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
_LETTER = rf"[^\W{_CJK}]"  # a word character that a name must not touch
_WORD, _WORD_OR_DOT = _LETTER, rf"(?:{_LETTER}|\.)"  # what a name must not follow


def _term_patterns(terms: tuple[str, ...]) -> tuple[Pattern, Pattern]:
    """Upper-case abbreviations (AI, ML, GPU) matched only as written, and not as the first part of an identifier
    of upper-case parts ("ML-KEM", "ML-DSA": cryptography standards); everything else in any case."""
    upper = [t for t in terms if t.isupper() or t.rstrip("s").isupper()]
    lower = [t.lower() for t in terms if t not in upper]
    return (re.compile(rf"(?:{_alternation(upper, _WORD_OR_DOT)})(?!{_LETTER}|-[A-Z]{{2,}}(?!{_LETTER}))")
            if upper else None,
            # Lower-cased text holds a word's first letter nearly everywhere: the test first costs less there.
            re.compile(rf"(?<!{_WORD})(?:{_alternation(lower)})(?!{_LETTER})") if lower else None)


def _count(upper: Pattern, lower: Pattern, text: str) -> int:
    count = len(upper.findall(text)) if upper is not None else 0
    if lower is not None:
        count += len(lower.findall(text.lower()))
    return count


class EntityExtractor:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        names: dict[str, str] = {}
        for org in gazetteer.organizations:
            for spelling in (org.name, *org.aliases):
                names[spelling] = org.name
        self._org_names = names
        self._orgs = re.compile(rf"(?:{_alternation(list(names), _WORD_OR_DOT)})(?!{_LETTER})") if names else None
        suffixes = _alternation(list(gazetteer.model_suffixes))
        part = (rf"(?:\d+(?:\.\d+)*[a-zA-Z]{{0,2}}|(?:[A-Z]|v|[a-z](?=\d+(?![\w.])))\d+[A-Za-z0-9]*|{suffixes}"
                rf"|[A-Z]{{1,3}}\d*)") if gazetteer.model_suffixes else r"(?:\d+(?:\.\d+)*[a-zA-Z]{0,2})"
        families = _alternation(list(gazetteer.model_families), rf"(?:{_LETTER}|-)")
        # A family, then up to five parts joined by "-", "." or a space; at least one part must carry a digit
        # or be a known variant (checked after matching), so "Gemini" alone is not a model name but
        # "Gemini 2.5 Pro" and "Qwen3-Next-80B-A3B" are.
        self._models = re.compile(rf"(?:{families})(?:(?:[-. ]|(?<=[A-Za-z])(?=\d)){part}){{0,5}}(?!{_LETTER}|-)")
        self._suffixes = {s.lower() for s in gazetteer.model_suffixes}
        # Every law name contains one of its capitalised words: a cheap test before the full pattern.
        hints = {w for law in gazetteer.laws for w in law.split() if len(w) > 2 and w[0].isupper()}
        self._law_hint = re.compile("|".join(sorted(map(re.escape, hints)))).search if hints else (
            lambda _text: None)
        self._families = {f.lower() for f in gazetteer.model_families}
        # The leading letters of every family ("qwen" of Qwen, "dall" of DALL-E): a text without any of them
        # as a whole run of letters names no model, and skips the model pattern. Searched for in the lower-cased
        # text as such a run (no letter a-z on either side), which stops at the first.
        starts = {m.group(0) for f in self._families if (m := _ALPHA.match(f))}
        self._family_start = re.compile(rf"(?:{_alternation(list(starts), '[a-z]')})(?![a-z])").search \
            if starts else (lambda _text: None)
        self._ai_upper, self._ai_words = _term_patterns(gazetteer.ai_terms)
        self._hint_upper, self._hint_words = _term_patterns(gazetteer.ai_hints)
        senses = [re.escape(p.lower()) for p in sorted(gazetteer.other_senses, key=len, reverse=True)]
        self._other_senses = re.compile(rf"(?<!{_WORD})(?:{'|'.join(senses)})(?!{_LETTER})", re.IGNORECASE) \
            if senses else None
        laws = _alternation(list(gazetteer.laws), _WORD)
        self._laws = re.compile(rf"(?:{laws})(?!{_LETTER})") if gazetteer.laws else None

    def about_ai(self, text: str, entities: AnyEntities) -> bool:
        """Whether the text shows any sign of being about AI: an AI term or hint, a model name."""
        if entities.models:
            return True
        return self.ai_term_count(text) > 0 or self.ai_hint_count(text) > 0

    def ai_term_count(self, text: str) -> int:
        """How many AI terms (upper-case abbreviations as written, the rest in any case) the text holds, outside
        the phrases where they mean something else."""
        return _count(self._ai_upper, self._ai_words, self._without_other_senses(text))

    def ai_hint_count(self, text: str) -> int:
        """How many weaker hints of AI (a GPU, inference, agents) the text holds, outside other senses."""
        return _count(self._hint_upper, self._hint_words, self._without_other_senses(text))

    def _without_other_senses(self, text: str) -> str:
        return self._other_senses.sub(" ", text) if self._other_senses is not None else text

    def _is_model(self, text: str) -> bool:
        if text.lower() in self._families:
            return any(ch.isdigit() for ch in text)  # "o1" is a model, "Gemini" alone is a family
        return any(ch.isdigit() for ch in text) or any(
            word.lower() in self._suffixes for word in re.split(r"[-. ]", text)[1:]
        )

    def extract(self, text: str) -> FoundEntities:
        # A phrase of another sense names no organization and no model ("the Falcon 9", "the Anthropic Principle").
        named = self._without_other_senses(text)
        org_matches = self._orgs.finditer(named) if self._orgs else iter(())
        orgs = [self._org_names[_spaced(m.group(0))] for m in org_matches]
        models: list[str] = []
        if self._family_start(named.lower()):
            found = (_NEXT_TIME.sub("", m.group(0)) if _TIME.match(named, m.end()) else m.group(0)
                     for m in self._models.finditer(named))
            models = [name for name in (f.rstrip(".-") for f in found) if self._is_model(name)]
        amounts: list[str] = []
        metrics: list[str] = []
        if _HAS_DIGIT.search(text):  # amounts and figures all carry a digit
            spans = []
            if _has_money(text):
                for m in _AMOUNT.finditer(text):
                    amounts.append(_spaced(m.group(0)).strip())
                    spans.append(m.span())
            if _FIGURE_CUE.search(text):
                metrics = [_spaced(m.group(0)).strip() for m in _METRIC.finditer(text)
                           if not any(a <= m.start() < b for a, b in spans)]
        laws = [m.group(0) for m in self._laws.finditer(text)] if self._laws and self._law_hint(text) else []
        if _HAS_BILL.search(text):
            laws += [_spaced(m.group(0)) for m in _BILL.finditer(text)]
        return FoundEntities(
            organizations=tuple(dict.fromkeys(orgs)),
            models=tuple(dict.fromkeys(models)),
            amounts=tuple(dict.fromkeys(amounts)),
            metrics=tuple(dict.fromkeys(metrics)),
            laws=tuple(dict.fromkeys(laws)),
        )
