"""Composition: classified items in, a Briefing out. Pure: no I/O, no clock.

1. Only items about AI enter (backfill too only when asked); one link is one item, however many feeds carried it.
2. Stories: items that share a story_id, merged further when their headlines are near-identical or name the same
   model (spellings normalised: "Qwen3-Next-80B-A3B" = "Qwen3-Next 80B-A3B"), never when they name different
   models or laws. A story's importance is its most important item's, plus 0.05 for each further publisher
   (at most +0.15); sources are counted by publisher, not by feed.
3. Each story sits in the section of its primary topic (or, for a channel that follows some topics only, the
   first of its topics the channel follows); sections follow the taxonomy's order, biggest story first, at most
   `MAX_STORIES[format]` each.
4. Each story: 1-3 whole sentences from its items' text (no summary line when they carry none), and "why it
   matters" bullets built from its own facts (`bot.briefing.why`); none when nothing grounded can be said.
5. Around them (`bot.briefing.synthesis`): themes ranked once, from which come the title, the executive summary,
   the key developments and the outlook; tables of new models and of papers where there are two rows or more.

An optional analyst (`bot.briefing.analyst`) may have looked at each story first: its checked answers decide
whether a story is about AI, its section, its summary and bullets; every part it did not answer well keeps the
offline text, and the Briefing records which parts came from the model.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.briefing.facts import EVENT_PATTERNS, Event, actor_of, amounts_in, events_in, launches_model
from bot.briefing.headlines import HN_PREFIX, bundled_common_words, word_stem
from bot.briefing.publishers import Publisher, PublisherNames, aggregators_of
from bot.briefing.summary import Passage, clean, summary_sentences, words
from bot.briefing.synthesis import (
    Baseline,
    executive_summary,
    key_developments,
    models_table,
    outlook,
    papers_table,
    rank_themes,
    title_of,
)
from bot.briefing.why import ARXIV_AREAS, DayContext, StoryFacts, distinct_models, model_key, why_it_matters
from bot.editions import BriefingFormat
from bot.ids import article_key
from bot.models import Briefing, ClassifiedItem, Section, SourceLink, Story, Table
from bot.taxonomy import Taxonomy
from bot.text import announces_model, compared_models

MAX_STORIES: dict[str, int] = {"full": 8, "compact": 3}
SUMMARY_SENTENCES: dict[str, int] = {"full": 3, "compact": 1}
BULLETS: dict[str, int] = {"full": 3, "compact": 2}
COVERAGE_BONUS = 0.05
# The items of a story whose text is read (the most important ones): a story carried by hundreds of items costs
# no more to write than one carried by a dozen. Every publisher is still listed.
STORY_ITEMS = 12
# Stories compared pairwise for merging: the most important ones (the rest cannot reach the briefing anyway).
MERGE_CANDIDATES = 300
MERGE_WINDOW = timedelta(hours=72)
OUTAGE_WINDOW = timedelta(hours=6)  # two reports of one service being down within this are one outage
SAME_HEADLINE = 0.6
SAME_PARTIES_HEADLINE = 0.5  # share of headline words enough when both headlines name the same two organizations
SAME_PARTY_HEADLINE = 0.4  # ... when both name the same one organization only, with an unusual word in common, in a day
# Two headlines within this, sharing RARE_SHARED words or more that few of the day's headlines hold, are one event.
RARE_WINDOW = timedelta(hours=24)
RARE_SHARED = 3
RARE_SHARED_SAME_PARTIES = 2  # ... or this many besides their names when both name the same organizations only
RARE_HEADLINES = 3  # a word in this many headlines or fewer is rare
RARE_SHARED_UNCOMMON = 2  # ... or this many that news at large rarely uses (not among the common headline words)
# Two headlines within RARE_WINDOW naming one organization (and none of their own) whose meanings are this close (the
# cosine of their word-vector means) are one event: on the labeled days, every such pair of AI headlines is.
SAME_MEANING = 0.75
SIMILAR_MEANING = 0.6  # ... or this close, with two words few of the day's headlines hold in common
_ARXIV = re.compile(r"arxiv\.org/", re.IGNORECASE)
_SOURCE_CATEGORY = re.compile(r"\b(cs|stat|eess)[.-]([a-z]{2})\b", re.IGNORECASE)
_OUTAGE_WORDS = frozenset({"down", "outage", "outages", "seems", "appears", "errors", "elevated", "degraded",
                           "performance", "service", "disruption", "went", "goes"})
# A headline on one organization's new model that does not name it ("OpenAI's new models 'instrumentally faked
# alignment'"): on the day of that organization's launch, the launch is what it is about.
_ITS_NEW_MODEL = re.compile(r"(?:'s|\u2019s)\s+(?:new|newest|latest)\s+(?:[\w-]+\s+)?models?\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])v?\d+(?:[.,]\d+)*(?![\w])")
# A headline's number, with a magnitude its value keeps ("$34.5B" and "$34.5 Billion" both give 34.5).
# (a share, "a 49% stake", is no version or count of the thing: two reports of one deal may give its amount and its
# share)
_VALUE = re.compile(r"(?<![\w.])v?(\d+(?:[.,]\d+)*)(?:[kmbt]|bn|mn)?(?![\w]|[.,]\d|\s?%|\s?percent)", re.IGNORECASE)
# A post on its author's own social account: the handle is the account's name in the link.
_SOCIAL_HANDLE = re.compile(r"^https?://(?:www\.|mobile\.)?(?:(?:twitter|x)\.com/|threads\.(?:net|com)/@|"
                            r"bsky\.app/profile/|medium\.com/@)([a-z0-9_]{4,30})(?![a-z0-9_])", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"(?:^|(?<=\s))(?:I|I['’](?:ve|m|ll|d)|[Mm]y|[Ww]e|[Ww]e['’](?:ve|re|ll)|[Oo]ur)\b")


@dataclass(frozen=True)
class StoryAnalysis:
    """What the analyst said of one story, each part already checked against the story's sources (None: not
    answered, or the answer failed its checks, so the offline text stays)."""

    about_ai: bool | None = None
    section: str | None = None
    event: str | None = None
    summary: str | None = None
    why_it_matters: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ComposeOptions:
    format: BriefingFormat = "full"
    topics: tuple[str, ...] = ()  # empty: every topic
    makers: Mapping[str, str] | None = None  # model family -> maker (config/entities.yaml)
    publishers: Mapping[str, str] | None = None  # site -> publisher name (config/entities.yaml)
    baseline: Baseline | None = None  # each topic's items per day over the days before
    include_backfill: bool = False
    analyses: Mapping[str, StoryAnalysis] = field(default_factory=dict)  # story_id -> the analyst's parts
    common_words: frozenset[str] | None = None  # words common in headlines at large (None: the bundled list)


@dataclass
class Draft:
    """One story before it is written: its items (most important first), section and importance."""

    story_id: str
    items: list[ClassifiedItem]
    topic: str
    importance: float
    publishers: list[Publisher]
    by_item: dict[str, Publisher] = field(default_factory=dict)  # item id -> its publisher

    @property
    def lead(self) -> ClassifiedItem:
        return self.items[0]

    def text(self) -> str:
        """Titles and summaries of the story's most important items: all a writer of the story may draw on."""
        return "\n".join(f"{i.title}. {clean(i.summary)}".strip() for i in self.items[:STORY_ITEMS])


def wanted_items(items: Sequence[ClassifiedItem], follows: Sequence[str] = (), include_backfill: bool = False
                 ) -> list[ClassifiedItem]:
    """The items a briefing may use: about AI (or in the same story as an item about AI: more coverage of one
    event), not backfill (unless asked), of the followed topics, each link once (the most important copy)."""
    return [item for item, _ in _wanted_ranked(items, follows, include_backfill)]


RankKey = tuple[float, float, str]  # most important first, then the earliest, then by id


def _wanted_ranked(items: Sequence[ClassifiedItem], follows: Sequence[str], include_backfill: bool
                   ) -> list[tuple[ClassifiedItem, RankKey]]:
    """`wanted_items` with each item's rank key, read in the same pass (a window holds thousands of items)."""
    best: dict[str, tuple[ClassifiedItem, RankKey]] = {}
    ai_stories = {item.story_id for item in items if item.about_ai is not False}
    for item in items:
        if item.story_id not in ai_stories or (item.backfill and not include_backfill):
            continue
        if follows and not any(t in follows for t in item.topics):
            continue
        item_id = item.id
        importance = item.importance
        kept = best.get(item_id)
        if kept is None or importance > kept[0].importance:
            best[item_id] = (item, (-importance, item.published.timestamp(), item_id))
    return list(best.values())


def plan_stories(items: Sequence[ClassifiedItem], options: ComposeOptions | None = None) -> list[Draft]:
    """The day's stories, most important first: items grouped by story, near-duplicate stories merged."""
    options = options or ComposeOptions()
    follows = tuple(options.topics)
    grouped: dict[str, list[ClassifiedItem]] = defaultdict(list)
    ranked_items = _wanted_ranked(items, follows, options.include_backfill)
    aggregators = aggregators_of((i.source_name or i.source, i.url) for i in items)
    name_publisher = PublisherNames(options.publishers, aggregators)
    keys = {id(item): key for item, key in ranked_items}  # each item's rank key, computed once

    def rank(item: ClassifiedItem) -> RankKey:
        return keys[id(item)]

    for item, _ in ranked_items:
        grouped[item.story_id].append(item)
    groups = [sorted(members, key=rank) for members in grouped.values()]
    groups.sort(key=lambda g: (-g[0].importance, g[0].id))
    common = bundled_common_words() if options.common_words is None else options.common_words
    groups = _merge(groups, common, tuple(options.makers or ()))
    drafts = []
    for members in groups:
        ordered = sorted(members, key=rank)
        ranked = _lead_first(ordered)
        lead = ranked[0]
        topic = next((t for t in lead.topics if t in follows), lead.primary_topic) if follows else lead.primary_topic
        publishers: dict[str, Publisher] = {}
        by_item = {}
        for item in ranked:
            publisher = name_publisher(item.url, item.source_name or item.source)
            publishers.setdefault(publisher.key, publisher)
            by_item[keys[id(item)][2]] = publishers[publisher.key]
        bonus = min(3, len(publishers) - 1) * COVERAGE_BONUS
        drafts.append(Draft(lead.story_id, ranked, topic, round(min(1.0, ordered[0].importance + bonus), 3),
                            list(publishers.values()), by_item))
    drafts.sort(key=lambda d: (-d.importance, -len(d.publishers), -d.lead.published.timestamp(), d.story_id))
    return drafts


def _lead_first(ranked: list[ClassifiedItem]) -> list[ClassifiedItem]:
    """The story's items with its lead first: the most important of those whose own text reports the event (a release,
    a raise, a ruling ...), else the most important. An item's importance grows with the sources its story already had
    when it came, so the latest commentary outranks the announcement ("The Political Biases of GPT-4" / "Announcing
    GPT-4, a large multimodal model"); the announcement tells the story. Only the story's most important items are
    read, as for its text."""
    if len(ranked) < 2 or _reports_event(ranked[0]):
        return ranked
    lead = next((item for item in ranked[1:STORY_ITEMS] if _reports_event(item)), None)
    return ranked if lead is None else [lead, *(item for item in ranked if item is not lead)]


def _reports_event(item: ClassifiedItem) -> bool:
    """An item whose own text reports an event, or announces a model by its name ("Anthropic announces Claude 2.1")."""
    return bool(events_in(item.title, item.summary)) or announces_model(item.title, item.entities.models)


def _plain_headline_words(item: ClassifiedItem) -> frozenset[str]:
    """Content words of a headline ("Show HN:" and the like left out)."""
    return words(HN_PREFIX.sub("", item.title))


def _with_parts(found: frozenset[str]) -> frozenset[str]:
    """Words with hyphenated names also in parts ("DeepSeek-V4" is deepseek and v4 too)."""
    return found | {part for word in found if "-" in word for part in word.split("-") if len(part) > 1}


def _headline_words(item: ClassifiedItem) -> frozenset[str]:
    """Content words of a headline, hyphenated names also in parts."""
    return _with_parts(_plain_headline_words(item))


# The field's own vocabulary: on a day of few AI headlines "large language models" may be in only two of them, which
# says nothing about their being one event ("Do Large Language Models know who did what to whom?" / "Inference-Aware
# Fine-Tuning for Best-of-N Sampling in Large Language Models").
_FIELD_WORDS = frozenset({"ai", "large", "language", "model", "llm", "llms", "neural", "network", "learning", "machine",
                          "deep", "artificial", "generative", "genai", "agent", "agentic", "chatbot"})


def _rare_words(heads: Sequence[frozenset[str]]) -> list[frozenset[str]]:
    """Of each headline's words (stemmed), those that few of the headlines hold (RARE_HEADLINES or fewer), not the
    field's own vocabulary."""
    stems = [frozenset(map(word_stem, head)) for head in heads]
    counts = Counter(word for head in stems for word in head)
    return [frozenset(w for w in head if counts[w] <= RARE_HEADLINES and not _NUMBER.fullmatch(w)
                      and w not in _FIELD_WORDS) for head in stems]


_WORDS = re.compile(r"\w+")


def _model_names(item: ClassifiedItem, families: Sequence[str]) -> list[frozenset[str]]:
    """The stemmed words of each model or model family of several words a headline names ("Stable Diffusion")."""
    title = f" {' '.join(_WORDS.findall(item.title.lower()))} "
    names = [*item.entities.models, *families]
    return [frozenset(map(word_stem, parts)) for name in names
            if len(parts := _WORDS.findall(name.lower())) > 1 and f" {' '.join(parts)} " in title]


def _names_once(shared: frozenset[str], names: Sequence[frozenset[str]]) -> set[str]:
    """Shared words with each shared model's name counted once: "Stable Diffusion" is one name, not two words."""
    counted = set(shared)
    for name in names:
        inside = counted & name
        if len(inside) > 1:
            counted -= inside
            counted.add(" ".join(sorted(inside)))
    return counted


_COINED = re.compile(r"\b(?:[A-Z]{2,}[a-z]?|[A-Z][\w.]*-[A-Z0-9][\w.-]*|[A-Z][a-z]+[A-Z]\w*)\b")
_COMMON_ACRONYMS = frozenset({"ai", "agi", "ml", "llm", "llms", "api", "apis", "gpu", "gpus", "cpu", "us", "uk", "eu",
                              "ceo", "cto", "hn", "pdf", "ios", "pc", "tv", "ui", "os"})


def _coined_names(title: str) -> frozenset[str]:
    """A headline's coined names, stemmed as headline words are: acronyms, CamelCase and capitalised hyphenated
    names ("MCP", "DeepScaleR", "SWE-Lancer"), not the common acronyms ("AI", "LLM", "API")."""
    found = {word_stem(word.lower()) for word in _COINED.findall(HN_PREFIX.sub("", title))}
    return frozenset(found - _COMMON_ACRONYMS)


_CAMEL = re.compile(r"\b[A-Z][a-z]+[A-Z]\w*\b")


def _camel_names(item: ClassifiedItem) -> frozenset[str]:
    """A headline's CamelCase names ("OpenAssistant", "LangChain"), stemmed as headline words are, less the names of
    the organizations and models it names ("OpenAI", "ChatGPT"), which the rules on those compare."""
    known = {word_stem(w.lower()) for name in (*item.entities.organizations, *item.entities.models)
             for w in name.split()}
    return frozenset(word_stem(w.lower()) for w in _CAMEL.findall(HN_PREFIX.sub("", item.title))) - known


_COMPOUND = re.compile(r"(?<![\w.-])[A-Za-z]+(?:-[A-Za-z]+)+(?![\w-])")
_NAMED_PART = re.compile(r"[A-Z]{2}|[a-z][A-Z]")


def _named_things(title: str) -> frozenset[str]:
    """A headline's coined compound names, a part of which is a run of capitals or has an inner capital
    ("SWE-Lancer", "VibeVoice-Large"): not a Title Case compound ("Open-Source", "AI-Generated", the common acronyms
    do not count), nor a model's versioned name ("GPT-4o"), which the model rules compare."""
    return frozenset(
        word_stem(word.lower()) for word in _COMPOUND.findall(HN_PREFIX.sub("", title))
        if any(_NAMED_PART.search(part) and part.lower() not in _COMMON_ACRONYMS for part in word.split("-")))


def _ordinary_compounds(title: str) -> list[frozenset[str]]:
    """A headline's hyphenated compounds of ordinary words ("Note-Taking", "AI-Based"), each as itself and its words
    (stemmed), so that "Note-Taking" and "Notes" share a word; not a coined name ("SWE-Lancer", "DeepSeek-V4"), which
    stays one word."""
    found = []
    for word in _COMPOUND.findall(HN_PREFIX.sub("", title)):
        parts = word.split("-")
        if any(_NAMED_PART.search(part) and part.lower() not in _COMMON_ACRONYMS for part in parts):
            continue
        found.append(frozenset({word_stem(word.lower()), *(word_stem(p.lower()) for p in parts if len(p) > 1)}))
    return found


# Who makes a law: a jurisdiction, however a headline names it ("EU", "European institutions"), and the words of
# rule-making ("Regulate", "Rules", "Act", "Bill").
_JURISDICTIONS = tuple((name, re.compile(pattern)) for name, pattern in (
    ("eu", r"\b(?:EU|E\.U\.|European|Europe|Brussels)\b"),
    ("us", r"\b(?:US|U\.S\.|United States|America|American|Congress|Senate|White House)\b"),
    ("uk", r"\b(?:UK|U\.K\.|Britain|British|United Kingdom)\b"),
    ("china", r"\b(?:China|Chinese|Beijing)\b"),
    ("california", r"\bCalifornia\b"),
    ("india", r"\bIndia(?:n)?\b"),
    ("japan", r"\bJapan(?:ese)?\b"),
    ("canada", r"\bCanad(?:a|ian)\b"),
    ("france", r"\b(?:France|French)\b"),
    ("germany", r"\b(?:Germany|German)\b"),
    ("italy", r"\b(?:Italy|Italian)\b"),
    ("korea", r"\b(?:Korea|Korean)\b"),
    ("australia", r"\bAustralia(?:n)?\b"),
))
_RULE_MAKING = re.compile(r"\b(?:regulat\w*|rules?|laws?|bills?|act|legislat\w*|lawmakers)\b", re.IGNORECASE)


def _jurisdictions(title: str) -> tuple[frozenset[str], frozenset[str]]:
    """The jurisdictions a headline names, and its words that name them (stemmed, lower case)."""
    names: set[str] = set()
    spelled: set[str] = set()
    for name, pattern in _JURISDICTIONS:
        for match in pattern.finditer(title):
            names.add(name)
            spelled.update(word_stem(w) for w in match.group(0).lower().split())
    return frozenset(names), frozenset(spelled)


# A product's versioned name or a model's size ("Gaudi 3", "8x22B"): "New", "Top" and the like are no names.
_VERSIONED = re.compile(r"(?<![\w.-])(?:[A-Z][a-z]{2,} \d{1,2}(?:\.\d)?|\d+x\d+[BM])(?![\w.-])")
_NOT_NAMES = frozenset({"top", "new", "the", "over", "with", "for", "and", "version", "day", "week", "part", "chapter",
                        "season", "episode", "level", "phase", "step", "series", "article", "section",
                        "january", "february", "march", "april", "may", "june", "july", "august", "september",
                        "october", "november", "december"})


def _versioned_names(item: ClassifiedItem) -> frozenset[str]:
    """A headline's versioned names ("Gaudi 3", "8x22B"), lower case; not its models' names, which the model rules
    compare ("Grok 4")."""
    models = {model_key(m) for m in item.entities.models}
    return frozenset(name.lower() for name in _VERSIONED.findall(item.title)
                     if name.split()[0].lower() not in _NOT_NAMES and model_key(name) not in models)


def _own_post_handle(item: ClassifiedItem) -> str | None:
    """The author's handle of a first-person post on their own social account ("I've joined Anthropic" at
    twitter.com/karpathy/...), else None."""
    match = _SOCIAL_HANDLE.match(item.url)
    if match is None or not _FIRST_PERSON.search(item.title):
        return None
    return match.group(1).lower()


_WHOLE = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")


def _headline_value(number: str) -> str:
    """A headline number without the thousands that a magnitude word or letter may carry instead ("$3,000" is 3, as
    "$3k" is; "10,000" is 10, as "10K" is)."""
    if not _WHOLE.fullmatch(number):
        return number
    value = int(number.replace(",", ""))
    while value >= 1000 and value % 1000 == 0:
        value //= 1000
    return str(value)


def _numbers_differ(na: set[str], nb: set[str]) -> bool:
    """Each headline has a number the other lacks ("update 8" and "update 9"; "v0.6.1" and "v0.6.2"): two events.
    `na` and `nb` are the headlines' numbers (`_VALUE`)."""
    return bool(na - nb) and bool(nb - na)


def _model_keys(group: Sequence[ClassifiedItem]) -> set[str]:
    """Normalised names of the models the group's headlines name."""
    return {model_key(m) for i in group for m in i.entities.models if model_key(m) in model_key(i.title)}


def _subject_model_keys(item: ClassifiedItem) -> set[str]:
    """Normalised names of the models a headline is about: those it names, less those it only compares with."""
    compared = compared_models(item.title, item.entities.models)
    return {model_key(m) for m in item.entities.models if m not in compared and model_key(m) in model_key(item.title)}


def _same_model(a: set[str], b: set[str]) -> bool:
    """Both name one model, spelled alike or one with a build suffix ("DeepSeek V4 Flash 0731")."""
    for x, y in itertools.product(a, b):
        short, long = sorted((x, y), key=len)
        rest = long[len(short):]
        if long.startswith(short) and (not rest or rest.isdigit()):
            return True
    return False


def _conflict(a: set[str], b: set[str]) -> bool:
    """Each names a model the other does not (two releases): never one story."""
    if not a or not b:
        return False
    return not _same_model(a, b)


class _Meanings:
    """What each headline means (its words' vectors, averaged and scaled to unit length), read when first asked: a
    day with no pair to compare this way does not load the vectors (nor numpy)."""

    def __init__(self, titles: Sequence[str]) -> None:
        self._titles = titles
        self._vectors: list[list[float]] | None = None

    def cosine(self, i: int, j: int) -> float:
        if self._vectors is None:
            import numpy as np

            from bot.textmodel import bundled_word_vectors

            vectors = bundled_word_vectors().embed(self._titles)
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            self._vectors = vectors.tolist()
        return math.fsum(x * y for x, y in zip(self._vectors[i], self._vectors[j], strict=True))


def _merge(groups: list[list[ClassifiedItem]], common: frozenset[str], families: Sequence[str] = ()
           ) -> list[list[ClassifiedItem]]:
    """Join groups that are one event: one article under two links (a Slashdot story id with two slugs),
    near-identical headlines (one inside the other, or most words shared), half the words shared by headlines naming
    the same two organizations, two fifths and an unusual word by headlines within a day naming the same one
    organization only, the same model named in both headlines, or within a day three words that few of the
    day's headlines hold (two besides the names, or one coined name such as "MCP", when both name the same
    organizations and no other), one coined compound name ("SWE-Lancer") when neither names an organization the other
    does not, one buyer's acquisition, a headline on an organization's new model and that organization's launch
    within a day, one versioned name ("Gaudi 3", "8x22B") within a day unless each names an organization of its
    own, or within a day headlines that mean nearly the same naming one organization and none of their own; never two
    different models or laws, never more than 72 h apart."""
    top = groups[:MERGE_CANDIDATES]
    parent = list(range(len(top)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # A story is what its lead headline says: compare leads (a story of hundreds of items names many models).
    plain = [_plain_headline_words(g[0]) for g in top]
    heads = list(map(_with_parts, plain))
    models = [_model_keys(g[:1]) for g in top]
    subjects = [_subject_model_keys(g[0]) for g in top]
    laws = [{law.lower() for law in g[0].entities.laws} for g in top]
    times = [g[0].published.timestamp() for g in top]
    window = MERGE_WINDOW.total_seconds()
    outage_window = OUTAGE_WINDOW.total_seconds()
    numbers = [set(map(_headline_value, _VALUE.findall(g[0].title))) for g in top]
    # The organizations each headline names, in the order found (the first is the buyer in "OpenAI Buys AI Startup
    # That Built Interface For Apple Computers").
    named = [[o.lower() for o in g[0].entities.organizations if o.lower() in g[0].title.lower()] for g in top]
    organizations = [set(found) for found in named]
    handles = [_own_post_handle(g[0]) for g in top]
    kinds = [{e.kind for e in events_in(g[0].title, "")} for g in top]
    outages = ["outage" in found for found in kinds]
    leading = [found[0] if found else None for found in named]
    launches = [launches_model(g[0].title, g[0].entities.models, found) for g, found in zip(top, kinds, strict=True)]
    # A hyphenated name counts once; a compound of ordinary words is its words too, counted once when shared.
    compounds = [_ordinary_compounds(g[0].title) for g in top]
    rare = _rare_words([p | {part for c in found for part in c} for p, found in zip(plain, compounds, strict=True)])
    # A compound's word matches the same word on its own, not another compound's ("Pixel-Space" / "Space-Time").
    stems = [frozenset(map(word_stem, p)) for p in plain]
    parts_only = [frozenset(part for c in found for part in c) - own
                  for found, own in zip(compounds, stems, strict=True)]
    jurisdictions = [_jurisdictions(g[0].title) for g in top]
    rule_making = [bool(_RULE_MAKING.search(g[0].title)) for g in top]
    families = [f for f in families if " " in f.strip()]  # the names of several words only
    model_names = [_model_names(g[0], families) for g in top]
    coined = [_coined_names(g[0].title) for g in top]
    named_things = [_named_things(g[0].title) for g in top]
    camel = [_camel_names(g[0]) for g in top]
    versioned = [_versioned_names(g[0]) for g in top]
    rare_window = RARE_WINDOW.total_seconds()
    meanings = _Meanings([g[0].title for g in top])
    new_model = [len(found) == 1 and not subject and bool(_ITS_NEW_MODEL.search(g[0].title))
                 for g, found, subject in zip(top, organizations, subjects, strict=True)]
    # Only two headlines that share a word, or that both name a model, can be one event: each group is compared with
    # those that follow it and meet either (which pairs are joined decides the stories, not the order they are
    # joined in).
    postings: dict[str, list[int]] = defaultdict(list)
    for index, head in enumerate(heads):
        for word in head:
            postings[word].append(index)
    naming = [index for index, found in enumerate(models) if found]
    pairs: list[tuple[int, int]] = []
    for i, head in enumerate(heads):
        later = {j for word in head for j in postings[word][bisect.bisect_right(postings[word], i):]}
        if models[i]:
            later.update(naming[bisect.bisect_right(naming, i):])
        if new_model[i]:  # a headline on "its new model" shares no word with the launch it is about
            later.update(range(i + 1, len(heads)))
            earlier = [j for j in range(i) if not new_model[j]]
            pairs.extend((j, i) for j in earlier)
        pairs.extend((i, j) for j in sorted(later))
    # One article that reached the feeds under two links and two headlines (Slashdot's "Chegg Sues Google For Hurting
    # Traffic With AI" and "Chegg To Initiate Business Review Amid AI-Shift in Education Tech", one story id): one
    # event, whatever the headlines say.
    articles: dict[str, int] = {}
    for index, group in enumerate(top):
        for item in group:
            key = article_key(item.url)
            if key is not None:
                first = articles.setdefault(key, index)
                if find(first) != find(index):
                    parent[find(index)] = find(first)
    for i, j in pairs:
        if find(i) == find(j):  # already one story: joining them again changes nothing
            continue
        if abs(times[i] - times[j]) > window or _conflict(models[i], models[j]):
            continue
        if laws[i] and laws[j] and not laws[i] & laws[j]:
            continue
        a, b = heads[i], heads[j]
        if _numbers_differ(numbers[i], numbers[j]):
            continue
        shared = a & b
        both_rare = rare[i] & rare[j] - (parts_only[i] & parts_only[j])
        overlap = len(shared) / len(a | b) if a and b else 0.0
        same_headline = bool(a and b) and (overlap >= SAME_HEADLINE or (len(shared) >= 2 and (a <= b or b <= a)))
        # Two outlets' headlines on one announcement word it differently ("OpenAI unveils its first custom chip,
        # built by Broadcom" / "OpenAI Unveils First Chip As Part of Broadcom Deal"): half the words and the same
        # two organizations named are one event.
        same_parties = overlap >= SAME_PARTIES_HEADLINE and len(organizations[i] & organizations[j]) >= 2
        within_day = abs(times[i] - times[j]) <= rare_window
        # Each names an organization the other does not: never one event by shared words alone.
        apart = bool(organizations[i] - organizations[j] and organizations[j] - organizations[i])
        # Or two fifths of the words, within a day, when both name the same one organization and no other and share a
        # word few of the day's headlines hold ("More than a quarter of all new code at Google is generated by AI" /
        # "Google CEO says more than a quarter of the company's new code is created by AI").
        same_party = (overlap >= SAME_PARTY_HEADLINE and within_day
                      and len(organizations[i]) == 1 and organizations[i] == organizations[j]
                      and bool(both_rare - organizations[i]))
        # A person's own post and the report that names them, about the same organization ("I've joined Anthropic"
        # on twitter.com/karpathy / "OpenAI Co-Founder Andrej Karpathy Joins Anthropic"): one event.
        own_post = bool(organizations[i] & organizations[j]) and (
            (handles[i] is not None and handles[i] in b) or (handles[j] is not None and handles[j] in a))
        # The same model named in both: one event when one of them is its launch (a release, a benchmark, a headline
        # that is mostly the model's name); two pieces of commentary on a model out for a while are two stories
        # ("GPT-5 is a joke. Will it matter?" / "OpenAI Will Not Disclose GPT-5's Energy Use"), and a project that
        # only measures itself against the model is not its launch ("Show HN: Tarsier ... beats GPT-4o").
        # Or, within a day, when both share a word few of the day's headlines hold besides the model's name and its
        # parts ("Reproducing GPT-2 in llm.c" / "Reproduce GPT-2 (124M) in llm.c in 90 minutes for $20").
        same_model = (bool(subjects[i] and subjects[j]) and _same_model(subjects[i], subjects[j])
                      and (launches[i] or launches[j]
                           or (within_day and any(not any(model_key(w) in key for key in subjects[i] | subjects[j])
                                                  for w in both_rare)
                               and not apart)))
        # Two reports of one service being down within hours ("Claude Auth Is Down" / "Claude Seems Down"): one
        # outage. They must share a word besides the outage's own ("GitHub is down" / "Claude is down" do not).
        outage = (outages[i] and outages[j] and abs(times[i] - times[j]) <= outage_window
                  and bool(shared - _OUTAGE_WORDS))
        # One unusual subject in two headlines worded apart ("Trump Says AI Is Now Super Intelligence ..." /
        # "Trump Hosts AI CEOs ..., Rebrands AI as 'Super Intelligence'";
        # "Rio de Janeiro's city government model ..." / "Rio de Janeiro's 'homegrown' LLM ..."): words that few of
        # the day's headlines hold; never when each names an organization the other does not. Two such words besides
        # the organizations' names are enough when both headlines name the same organizations and no other
        # ("Anthropic's 'Watermark' Text Adulteration in Claude ..." / "Anthropic Criticized For Adding Watermarks to
        # Text ..."; not "Google Earth AI expanding access ..." / "Expanding Our Use of Google Cloud TPUs ...").
        # A model's name of several words counts as one ("Getty Images Is Suing Stable Diffusion ..." / "Paper: Stable
        # Diffusion 'Memorizes' Some Images ..." share one name and one word).
        rare_shared = _names_once(both_rare, [*(n for n in model_names[i] if n in model_names[j]),
                                              *compounds[i], *compounds[j]])
        unusual = within_day and (
            (len(rare_shared) >= RARE_SHARED
             and not apart)
            or (bool(organizations[i]) and organizations[i] == organizations[j]
                and (len(rare_shared - organizations[i]) >= RARE_SHARED_SAME_PARTIES
                     or bool(both_rare & coined[i] & coined[j] - organizations[i])))
            # A coined compound name is distinctive on its own ("SWE-Lancer: Can Frontier LLMs Earn $1 Million ..." /
            # "OpenAI Announces New SWE-Lancer Benchmark"), unless each headline names an organization of its own.
            or (bool(both_rare & named_things[i] & named_things[j] - organizations[i] - organizations[j])
                and not apart)
            # So is a CamelCase name that is neither an organization's nor a model's, nor one headlines at large often
            # use ("ChatGPT", "GitHub") ("OpenAssistant Released The best open-source Chat AI" / "OpenAssistant
            # Conversations – Democratizing Large Language Model Alignment").
            or (bool(both_rare & camel[i] & camel[j] - common) and not apart)
            # Two words that few of the day's headlines hold and that headlines at large seldom use ("AI Is Wrecking
            # Young Americans' Job Prospects" / "AI Is Crushing Young Workers' Employment Prospects, Stanford Study
            # Finds"), unless each names an organization of its own.
            or (len(rare_shared - common) >= RARE_SHARED_UNCOMMON and not apart))
        # One buyer's acquisition reported twice in a day ("OpenAI Acquires Software Applications Incorporated,
        # Maker of Sky" / "OpenAI Buys AI Startup That Built Interface For Apple Computers"): one deal.
        same_buyer = (within_day and "acquisition" in kinds[i] and "acquisition" in kinds[j]
                      and leading[i] is not None and leading[i] == leading[j])
        # A headline on an organization's new model, naming none, and that organization's launch of a model within a
        # day ("OpenAI's new models 'instrumentally faked alignment'" / "OpenAI Releases o1, Its First Model With
        # 'Reasoning' Abilities"): one event.
        its_launch = within_day and any(
            new_model[x] and launches[y] and bool(subjects[y]) and organizations[x] <= organizations[y]
            for x, y in ((i, j), (j, i)))
        # One versioned name in two headlines within a day ("Intel Gaudi 3 AI Accelerator" / "Intel Says New Gaudi 3 AI
        # Chips Top Nvidia H100s"; "Mixtral 8x22B Model" / "Mistral AI Launches New 8x22B MoE Model"): one event,
        # unless each names an organization of its own.
        same_version = (within_day and bool(versioned[i] & versioned[j])
                        and not apart)
        # One jurisdiction's rules on AI reported twice in a day ("EU Strikes Deal to Regulate ChatGPT, AI Tech in
        # Landmark Act" / "European institutions strike a deal on the first rules for AI in the world" / "The EU Just
        # Passed Sweeping New Rules to Regulate AI"): one event, when they share a word few of the day's headlines hold
        # besides the jurisdiction's name, and neither names an organization the other does not.
        same_rules = (within_day and rule_making[i] and rule_making[j]
                      and bool(jurisdictions[i][0] & jurisdictions[j][0]) and not apart
                      and bool(both_rare - jurisdictions[i][1] - jurisdictions[j][1]))
        joined = (same_headline or same_parties or same_party or own_post or same_model or outage or unusual
                  or same_buyer or its_launch or same_version or same_rules)
        # Two outlets' words for one organization's news within a day ("Microsoft In Talks To Invest $10 Billion In
        # ChatGPT Owner" / "Microsoft in talks to acquire a 49% stake in ChatGPT owner OpenAI"): headlines that mean
        # nearly the same, naming that organization and none of their own; or, naming the same organizations or none,
        # that mean much the same and share two words few of the day's headlines hold ("AI-Generated Art Lacks
        # Copyright Protection, D.C. Court Says" / "AI-Generated Works Aren't Protected By Copyrights, Federal Judge
        # Rules"). Compared only when nothing else joins them: the word vectors load only then.
        close_meaning = within_day and not joined and (
            (bool(organizations[i] & organizations[j]) and not apart and meanings.cosine(i, j) >= SAME_MEANING)
            or (organizations[i] == organizations[j] and len(rare_shared) >= 2
                and meanings.cosine(i, j) >= SIMILAR_MEANING))
        if joined or close_meaning:
            parent[find(j)] = find(i)
    merged: dict[int, list[ClassifiedItem]] = defaultdict(list)
    for index, group in enumerate(top):
        merged[find(index)].extend(group)
    return [*merged.values(), *groups[MERGE_CANDIDATES:]]


def _arxiv_category(item: ClassifiedItem) -> list[str]:
    """An arXiv category named by the source ("arXiv cs.CL", "arxiv-cs-ro") when the item carries none."""
    match = _SOURCE_CATEGORY.search(f"{item.source_name} {item.source}")
    return [f"{match.group(1).lower()}.{match.group(2).upper()}"] if match else []


def story_facts(draft: Draft, taxonomy: Taxonomy, makers: Mapping[str, str], event: str | None = None
                ) -> StoryFacts:
    items = draft.items[:STORY_ITEMS]
    lead = draft.lead
    topic = taxonomy.get(draft.topic)
    text = draft.text()

    def merged(name: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for i in items for v in getattr(i.entities, name)))

    events: dict[str, Event] = {}
    for item in items:
        for found in events_in(item.title, clean(item.summary)):
            events.setdefault(found.kind, found)
    strength = [kind for kind, _ in EVENT_PATTERNS]
    headline = _lead_kind(lead, events)
    ordered = sorted(events.values(), key=lambda e: (e.kind != headline, strength.index(e.kind)))
    if event and event not in events:
        ordered = [Event(event, lead.title), *ordered]
    elif event:
        ordered = [events[event], *(e for e in ordered if e.kind != event)]
    organizations = merged("organizations")
    evidence = ordered[0].sentence if ordered else ""
    models = distinct_models(sorted(merged("models"), key=lambda m: model_key(m) not in model_key(lead.title)))
    areas = tuple(dict.fromkeys(ARXIV_AREAS[c] for i in items for c in (*i.categories, *_arxiv_category(i))
                                if c in ARXIV_AREAS))
    points = max((i.points for i in items if i.points is not None), default=None)
    return StoryFacts(
        story_id=draft.story_id, title=lead.title, text=text, topic=draft.topic,
        heading=topic.title if topic else _heading(draft.topic),
        events=tuple(ordered), actor=actor_of(lead.title, text, lead.url, organizations, evidence),
        organizations=organizations, models=models, amounts=tuple(amounts_in(text)), metrics=merged("metrics"),
        laws=merged("laws"), publishers=tuple(p.name for p in draft.publishers),
        arxiv_areas=areas if any(_ARXIV.search(i.url) for i in items) else (), makers=makers, points=points,
    )


def _lead_kind(lead: ClassifiedItem, events: Mapping[str, Event]) -> str | None:
    """The event the lead headline itself reports, if any: it is what the story is about."""
    return next((kind for kind, e in events.items() if e.sentence == lead.title), None)


def _heading(slug: str) -> str:
    return slug.replace("-", " ").title()


def _sources(draft: Draft) -> tuple[SourceLink, ...]:
    """One link per publisher (its most important item), with the feeds that carried it when they are not it."""
    links: dict[str, SourceLink] = {}
    carriers: dict[str, list[str]] = defaultdict(list)
    for item in draft.items:
        publisher = draft.by_item[item.id]
        feed = item.source_name or item.source
        own = publisher.name.lower() in feed.lower()  # "Anthropic News" is Anthropic's own feed
        if not own and feed not in carriers[publisher.key]:
            carriers[publisher.key].append(feed)
        links.setdefault(publisher.key, SourceLink(title=item.title, url=item.url, source=publisher.name))
    return tuple(link.model_copy(update={"via": ", ".join(carriers[key][:3])}) if carriers[key] else link
                 for key, link in links.items())


def _story(draft: Draft, facts: StoryFacts, context: DayContext, options: ComposeOptions,
           used_sentences: set[str], used_bullets: set[str], generated: list[str]) -> Story:
    fmt = options.format
    analysis = options.analyses.get(draft.story_id, StoryAnalysis())
    passages = [Passage(i.title, i.summary, lead=(n == 0)) for n, i in enumerate(draft.items[:STORY_ITEMS])]
    if analysis.summary:
        summary = analysis.summary
        generated.append(f"summary:{draft.story_id}")
    else:
        summary = " ".join(summary_sentences(passages, limit=SUMMARY_SENTENCES[fmt],
                                             max_chars=480 if fmt == "full" else 260, used=used_sentences))
    if analysis.why_it_matters is not None:
        bullets = list(analysis.why_it_matters[:BULLETS[fmt]])
        generated.append(f"why_it_matters:{draft.story_id}")
    else:
        bullets = why_it_matters(facts, context, used_bullets, limit=BULLETS[fmt], summary=summary)
    return Story(story_id=draft.story_id, title=draft.lead.title, summary=summary, why_it_matters=tuple(bullets),
                 sources=_sources(draft), importance=draft.importance)


def _apply_analyses(drafts: list[Draft], options: ComposeOptions, taxonomy: Taxonomy,
                    generated: list[str]) -> list[Draft]:
    """The analyst's decisions on whether a story is about AI and where it belongs."""
    kept = []
    follows = options.topics
    for draft in drafts:
        analysis = options.analyses.get(draft.story_id)
        if analysis is not None and analysis.about_ai is False:
            generated.append(f"about_ai:{draft.story_id}")
            continue
        if analysis is not None and analysis.section and taxonomy.get(analysis.section) is not None and (
                not follows or analysis.section in follows) and analysis.section != draft.topic:
            draft.topic = analysis.section
            generated.append(f"section:{draft.story_id}")
        kept.append(draft)
    return kept


def compose(
    items: Sequence[ClassifiedItem],
    taxonomy: Taxonomy,
    *,
    channel: str,
    day: date,
    timezone: str = "UTC",
    options: ComposeOptions | None = None,
    plan: Sequence[Draft] | None = None,
) -> Briefing:
    """The briefing for one channel and date from the items of its window. `plan` is `plan_stories` of the same
    items and options, when the caller already has it."""
    options = options or ComposeOptions()
    fmt = options.format
    makers = options.makers or {}
    generated: list[str] = []
    drafts = _apply_analyses([Draft(d.story_id, d.items, d.topic, d.importance, d.publishers, d.by_item)
                              for d in (plan if plan is not None else plan_stories(items, options))],
                             options, taxonomy, generated)

    by_topic: dict[str, list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_topic[draft.topic].append(draft)
    limit = MAX_STORIES[fmt]
    shown_drafts = [d for slug in by_topic for d in by_topic[slug][:limit]]
    shown_drafts.sort(key=lambda d: (-d.importance, -len(d.publishers), -d.lead.published.timestamp(), d.story_id))
    facts = {d.story_id: story_facts(d, taxonomy, makers, options.analyses.get(d.story_id, StoryAnalysis()).event)
             for d in shown_drafts}
    context = DayContext.of(facts.values())
    used_sentences: set[str] = set()
    used_bullets: set[str] = set()
    # Most important first, so the top stories get first pick of sentences and bullets.
    stories = {d.story_id: _story(d, facts[d.story_id], context, options, used_sentences, used_bullets, generated)
               for d in shown_drafts}

    tables: dict[str, Table] = {}
    if fmt == "full":
        shown = [(d.topic, facts[d.story_id], stories[d.story_id]) for d in shown_drafts]
        arxiv = {d.story_id for d in shown_drafts if any(_ARXIV.search(i.url) for i in d.items)}
        for built in (models_table(shown), papers_table(shown, arxiv)):
            if built is None:
                continue
            table, homes = built
            for home, _ in Counter(homes).most_common():
                if home not in tables:
                    tables[home] = table
                    break

    sections = []
    for slug in sorted(by_topic, key=lambda s: (taxonomy.order(s), s)):
        topic = taxonomy.get(slug)
        sections.append(Section(
            topic=slug, heading=topic.title if topic else _heading(slug),
            stories=tuple(stories[d.story_id] for d in by_topic[slug][:limit]), table=tables.get(slug),
        ))

    themes = rank_themes(sections, facts)
    volume = Counter(t for d in drafts for i in d.items for t in dict.fromkeys(i.topics)
                     if not options.topics or t in options.topics)
    return Briefing(
        channel=channel, date=day, timezone=timezone, title=title_of(themes),
        executive_summary=executive_summary(themes), key_developments=key_developments(themes),
        sections=tuple(sections), outlook=tuple(outlook(themes, volume, options.baseline,
                                                        limit=2 if fmt == "compact" else 3)),
        sources=tuple(dict.fromkeys(link for section in sections for story in section.stories
                                    for link in story.sources)),
        generated=tuple(generated),
    )


BASELINE_DAYS = 7


def in_window(items: Sequence[ClassifiedItem], start: datetime, end: datetime) -> list[ClassifiedItem]:
    """The items published after `start` and up to `end` (the previous edition time to this one)."""
    return [i for i in items if start < i.published <= end]


def history_days(oldest: datetime, start: datetime, days: int = BASELINE_DAYS) -> int:
    """How many of the `days` before `start` the archive holds, when its oldest item there is from `oldest`."""
    return max(1, min(days, math.ceil((start - oldest) / timedelta(days=1))))


def baseline_of(items: Sequence[ClassifiedItem], start: datetime, days: int = BASELINE_DAYS) -> Baseline | None:
    """Items about AI per day of each topic over the `days` before `start` (or the part of them the items reach
    back to); None when there is no history."""
    since = start - timedelta(days=days)
    counts: Counter[str] = Counter()
    oldest: datetime | None = None
    for item in items:
        if item.published <= start and not item.backfill:
            oldest = item.published if oldest is None else min(oldest, item.published)
            if since < item.published and item.about_ai is not False:
                counts.update(dict.fromkeys(item.topics, 1))
    return baseline_from(counts, oldest, start, days)


def baseline_from(counts: Mapping[str, int], oldest: datetime | None, start: datetime, days: int = BASELINE_DAYS
                  ) -> Baseline | None:
    """Each topic's items per day from its count over the `days` before `start`, averaged over the days the archive
    holds (its oldest item is from `oldest`); None when there is no history."""
    if oldest is None or not any(counts.values()):
        return None
    covered = history_days(oldest, start, days)
    return Baseline({topic: n / covered for topic, n in counts.items()}, covered)

