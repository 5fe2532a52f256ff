"""Composition: classified items in, a Briefing out. Pure: no I/O, no clock.

1. Items that share a story_id form one story that lists every source; a story's importance is its most
   important item's, plus 0.05 for each further distinct source (at most +0.15).
2. Each story sits in the section of its primary topic (or, for a channel that follows some topics only, the
   first of its topics the channel follows); sections follow the taxonomy's order, biggest story first, at most
   `MAX_STORIES[format]` each.
3. Each story: 1-3 whole sentences from its items' text, and 2-3 "why it matters" bullets built from its own
   entities and figures (`bot.insight`).
4. Around them: a title naming the day's top themes, an executive summary, exactly three key developments,
   tables of new models and of papers (where there are at least two rows), an outlook that compares each
   topic's volume with its 7-day average, and every link used.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.editions import BriefingFormat
from bot.insight import (
    ARXIV_AREAS,
    DayContext,
    Passage,
    StoryFacts,
    join_words,
    maker_of,
    summary_sentences,
    why_it_matters,
)
from bot.models import Briefing, ClassifiedItem, KeyDevelopment, Section, SourceLink, Story, Table
from bot.taxonomy import Taxonomy
from bot.text import sentences, shorten

MAX_STORIES: dict[str, int] = {"full": 8, "compact": 3}
SUMMARY_SENTENCES: dict[str, int] = {"full": 3, "compact": 1}
BULLETS: dict[str, int] = {"full": 3, "compact": 2}
COVERAGE_BONUS = 0.05
KEY_DEVELOPMENTS = 3
_ARXIV = re.compile(r"arxiv\.org/", re.IGNORECASE)
_SOURCE_CATEGORY = re.compile(r"\b(cs|stat|eess)[.-]([a-z]{2})\b", re.IGNORECASE)
_CONTRIBUTION = re.compile(r"\b(?:we|this paper|this work|the authors)\s+(?:propose|introduce|present|show|develop|"
                           r"release|find|demonstrate|study)", re.IGNORECASE)


@dataclass(frozen=True)
class ComposeOptions:
    format: BriefingFormat = "full"
    topics: tuple[str, ...] = ()  # empty: every topic
    makers: Mapping[str, str] | None = None  # model family -> maker (config/entities.yaml)
    baseline: Mapping[str, float] | None = None  # topic -> items per day over the previous 7 days
    history: Sequence[ClassifiedItem] = ()  # items of the previous 7 days, for "it follows ..." bullets


@dataclass
class _Draft:
    story_id: str
    items: list[ClassifiedItem]  # most important first
    topic: str
    importance: float
    sources: tuple[str, ...]

    @property
    def lead(self) -> ClassifiedItem:
        return self.items[0]


def _source_name(item: ClassifiedItem) -> str:
    return item.source_name or item.source


def _drafts(items: Sequence[ClassifiedItem], follows: tuple[str, ...]) -> list[_Draft]:
    grouped: dict[str, list[ClassifiedItem]] = defaultdict(list)
    for item in items:
        grouped[item.story_id].append(item)
    drafts = []
    for story_id, members in grouped.items():
        ranked = sorted(members, key=lambda i: (-i.importance, i.published.timestamp(), i.id))
        lead = ranked[0]
        topic = next((t for t in lead.topics if t in follows), lead.primary_topic) if follows else lead.primary_topic
        sources = tuple(dict.fromkeys(_source_name(i) for i in ranked))
        bonus = min(3, len(sources) - 1) * COVERAGE_BONUS
        drafts.append(_Draft(story_id, ranked, topic, round(min(1.0, lead.importance + bonus), 3), sources))
    drafts.sort(key=lambda d: (-d.importance, -len(d.sources), -d.lead.published.timestamp(), d.story_id))
    return drafts


def _facts(draft: _Draft, taxonomy: Taxonomy, makers: Mapping[str, str]) -> StoryFacts:
    topic = taxonomy.get(draft.topic)
    text = " ".join(f"{i.title}. {i.summary}" for i in draft.items)

    def merged(field: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for i in draft.items for v in getattr(i.entities, field)))

    organizations = merged("organizations")
    if not merged("models"):
        # A product named by its family alone ("Claude for Creative Work") still names who it concerns.
        families = [f for f in makers if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", draft.lead.title)
                    and f not in organizations and makers[f] not in organizations]
        organizations = tuple(dict.fromkeys((*families, *organizations)))
    areas = tuple(dict.fromkeys(ARXIV_AREAS[c] for i in draft.items for c in (*i.categories, *_arxiv_category(i))
                                if c in ARXIV_AREAS))
    points = max((i.points for i in draft.items if i.points is not None), default=None)
    models = merged("models")
    maker = maker_of(models[0], makers) if models else None
    subjects = tuple(dict.fromkeys(
        name for name in (*organizations, *models[:1], *([maker] if maker else []))
        if name in draft.lead.title or (name == maker and models[0] in draft.lead.title)))
    return StoryFacts(
        story_id=draft.story_id, title=draft.lead.title, text=text, topic=draft.topic,
        summaries=" ".join(i.summary for i in draft.items), subjects=subjects,
        heading=topic.title if topic else _heading(draft.topic), audience=(topic.audience or "") if topic else "",
        organizations=organizations, models=models, amounts=merged("amounts"), metrics=merged("metrics"),
        laws=merged("laws"), sources=draft.sources, points=points,
        arxiv_areas=areas if any(_ARXIV.search(i.url) for i in draft.items) else (), makers=makers,
    )


def _arxiv_category(item: ClassifiedItem) -> list[str]:
    """An arXiv category named by the source ("arXiv cs.CL", "arxiv-cs-ro") when the item carries none."""
    match = _SOURCE_CATEGORY.search(f"{item.source_name} {item.source}")
    return [f"{match.group(1).lower()}.{match.group(2).upper()}"] if match else []


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _sentence_of(title: str) -> str:
    return title if title.endswith((".", "!", "?")) else f"{title}."


def _heading(slug: str) -> str:
    return slug.replace("-", " ").title()


def _fallback_summary(draft: _Draft) -> str:
    if len(draft.sources) > 1:
        return f"Reported by {join_words(list(draft.sources))}."
    return f"Reported by {draft.sources[0]}."


def _story(draft: _Draft, facts: StoryFacts, context: DayContext, fmt: BriefingFormat,
           used_sentences: set[str], used_bullets: set[str]) -> Story:
    passages = [Passage(i.title, i.summary, lead=(n == 0)) for n, i in enumerate(draft.items)]
    chosen = summary_sentences(passages, limit=SUMMARY_SENTENCES[fmt], max_chars=480 if fmt == "full" else 260,
                               used=used_sentences)
    summary = " ".join(chosen) if chosen else _fallback_summary(draft)
    bullets = why_it_matters(facts, context, used_bullets, limit=BULLETS[fmt], summary=summary)
    links = tuple(dict.fromkeys(SourceLink(title=i.title, url=i.url, source=_source_name(i)) for i in draft.items))
    return Story(story_id=draft.story_id, title=draft.lead.title, summary=summary, why_it_matters=tuple(bullets),
                 sources=links, importance=draft.importance)


def _models_table(shown: Sequence[tuple[_Draft, StoryFacts, Story]]) -> tuple[Table, list[str]] | None:
    rows, homes = [], []
    models: set[str] = set()
    for draft, facts, story in shown:
        if not facts.model or facts.kind not in ("release", "benchmark", None) or facts.model in models:
            continue
        models.add(facts.model)
        figure = next(iter((*facts.metrics, *facts.amounts)), "–")
        new = shorten(sentences(story.summary)[0], 140) if story.summary and not story.summary.startswith(
            ("Reported by", "Shared on")) else shorten(facts.title, 140)
        rows.append((facts.model, facts.maker or "–", new, figure, ", ".join(facts.sources[:3])))
        homes.append(draft.topic)
    if len(rows) < 2:
        return None
    return Table(columns=("Model", "Maker", "What is new", "Headline figure", "Source"), rows=tuple(rows)), homes


def _papers_table(shown: Sequence[tuple[_Draft, StoryFacts, Story]]) -> tuple[Table, list[str]] | None:
    rows, homes = [], []
    for draft, facts, _ in shown:
        if not any(_ARXIV.search(i.url) for i in draft.items):
            continue
        text = " ".join(i.summary for i in draft.items)
        contribution = next((s for s in sentences(text) if _CONTRIBUTION.search(s)), None) or next(
            iter(sentences(text)), facts.title)
        area = join_words(list(facts.arxiv_areas[:2])) or facts.heading.lower()
        rows.append((shorten(facts.title, 120), area, shorten(contribution, 180), ", ".join(facts.sources[:3])))
        homes.append(draft.topic)
    if len(rows) < 2:
        return None
    return Table(columns=("Paper", "Area", "Contribution", "Source"), rows=tuple(rows)), homes


def _trend(today: int, average: float | None) -> str:
    if average is None:
        return ""
    if average == 0:
        return ", with none in the 7 days before"
    if average < 1:
        return f", against {average * 7:.0f} in the whole previous week"
    ratio = today / average
    if ratio >= 1.8:
        return f", {ratio:.1f} times its 7-day average of {average:.1f}"
    if ratio >= 1.15:
        return f", above its 7-day average of {average:.1f}"
    if ratio <= 0.6:
        return f", well below its 7-day average of {average:.1f}"
    if ratio <= 0.87:
        return f", below its 7-day average of {average:.1f}"
    return f", in line with its 7-day average of {average:.1f}"


def compose(
    items: Sequence[ClassifiedItem],
    taxonomy: Taxonomy,
    *,
    channel: str,
    day: date,
    timezone: str = "UTC",
    options: ComposeOptions | None = None,
) -> Briefing:
    """The briefing for one channel and date from the items of its window (backfill items are left out)."""
    options = options or ComposeOptions()
    fmt = options.format
    follows = tuple(options.topics)
    makers = options.makers or {}
    wanted = [i for i in items if not i.backfill and (not follows or any(t in follows for t in i.topics))]
    drafts = _drafts(wanted, follows)

    by_topic: dict[str, list[_Draft]] = defaultdict(list)
    for draft in drafts:
        by_topic[draft.topic].append(draft)
    limit = MAX_STORIES[fmt]
    shown_drafts = [d for slug in by_topic for d in by_topic[slug][:limit]]
    shown_drafts.sort(key=lambda d: (-d.importance, -len(d.sources), -d.lead.published.timestamp(), d.story_id))
    facts = {d.story_id: _facts(d, taxonomy, makers) for d in shown_drafts}
    context = DayContext.of(facts.values(), _history(options.history, makers))
    used_sentences: set[str] = set()
    used_bullets: set[str] = set()
    # Most important first, so the top stories get first pick of sentences and bullets.
    stories = {d.story_id: _story(d, facts[d.story_id], context, fmt, used_sentences, used_bullets)
               for d in shown_drafts}
    shown = [(d, facts[d.story_id], stories[d.story_id]) for d in shown_drafts]

    tables: dict[str, Table] = {}
    if fmt == "full":
        for built in (_models_table(shown), _papers_table(shown)):
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

    volume = Counter(t for i in wanted for t in dict.fromkeys(i.topics) if not follows or t in follows)
    baseline = options.baseline
    all_stories = [stories[d.story_id] for d in shown_drafts]
    top = all_stories[:KEY_DEVELOPMENTS]
    # Themes: the sections in the order of their biggest story, so the title starts with the day's lead.
    themes = sorted(sections, key=lambda s: (-s.stories[0].importance, -len(s.stories), taxonomy.order(s.topic)))
    source_names = {name for d in drafts for name in d.sources}

    if sections:
        title = join_words([s.heading for s in themes[:3]])
        busiest = sorted(sections, key=lambda s: (-len(by_topic[s.topic]), taxonomy.order(s.topic)))
        lead_section = busiest[0]
        count = len(by_topic[lead_section.topic])
        rest = [f"{s.heading.lower()} ({len(by_topic[s.topic])})" for s in busiest[1:3]]
        trend = _trend(volume[lead_section.topic], baseline.get(lead_section.topic, 0.0) if baseline else None)
        summary = " ".join(part for part in (
            f"The day's biggest story: {_sentence_of(top[0].title)}" if top else "",
            f"{lead_section.heading} was the busiest topic with {count} {_plural(count, 'story', 'stories')}{trend}"
            + (f", followed by {join_words(rest)}." if rest else "."),
            f"In all, {len(drafts)} {_plural(len(drafts), 'story', 'stories')} from {len(source_names)} "
            f"{_plural(len(source_names), 'source', 'sources')} across {len(sections)} "
            f"{_plural(len(sections), 'topic', 'topics')}.",
        ) if part)
    else:
        title = "A quiet day in AI"
        summary = "No new stories in this window."

    key_developments = tuple(
        KeyDevelopment(title=story.title, text=_one_sentence(story), url=story.sources[0].url) for story in top
    )
    outlook = _outlook(sections, volume, baseline, list(facts.values()), taxonomy, fmt)
    return Briefing(
        channel=channel, date=day, timezone=timezone, title=title, executive_summary=summary,
        key_developments=key_developments, sections=tuple(sections), outlook=tuple(outlook),
        sources=tuple(dict.fromkeys(link for section in sections for story in section.stories
                                    for link in story.sources)),
    )


def _history(items: Sequence[ClassifiedItem], makers: Mapping[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Name -> [(date, title)] of earlier items whose headline names it (organization, model or law), newest
    first: what a story can be said to follow."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i.published, reverse=True):
        e = item.entities
        models = list(e.models[:1])
        names = [n for n in (*e.organizations, *models, *e.laws) if n in item.title]
        names += [maker for m in models if (maker := maker_of(m, makers)) and maker not in names]
        for name in dict.fromkeys(names):
            if len(found[name]) < 3:
                found[name].append((item.published.strftime("%b %d").replace(" 0", " "), item.title))
    return found


def _one_sentence(story: Story) -> str:
    """A key development's sentence: the summary's first, else the bullet that says what changes."""
    first = sentences(story.summary)[:1]
    if first and not first[0].startswith(("Reported by", "Shared on")):
        return first[0]
    telling = [b for b in story.why_it_matters
               if not b.startswith(("Most relevant", "By the numbers", "Covered by")) and "only source" not in b]
    if telling:
        return telling[0]
    return first[0] if first else story.title


def _outlook(sections: Sequence[Section], volume: Mapping[str, int], baseline: Mapping[str, float] | None,
             facts: Sequence[StoryFacts], taxonomy: Taxonomy, fmt: BriefingFormat) -> list[str]:
    points: list[str] = []
    if not sections:
        return points
    headings = {s.topic: s.heading for s in sections}
    if baseline is not None:
        # The topic that moved most against its average, then every topic's count against its average.
        changes = sorted(((volume.get(slug, 0) - baseline.get(slug, 0.0), slug) for slug in headings),
                         key=lambda c: (-abs(c[0]), taxonomy.order(c[1])))
        slug = changes[0][1]
        today = volume.get(slug, 0)
        points.append(f"{headings[slug]} moved most: {today} {_plural(today, 'item', 'items')} today"
                      f"{_trend(today, baseline.get(slug, 0.0))}.")
        every = ", ".join(f"{headings[slug].lower()} {volume.get(slug, 0)} ({baseline.get(slug, 0.0):.1f})"
                          for slug in headings)
        points.append(f"Items today against the 7-day average, by topic: {every}.")
    else:
        busiest = max(headings, key=lambda slug: (volume.get(slug, 0), -taxonomy.order(slug)))
        points.append(f"{headings[busiest]} was the busiest topic with {volume.get(busiest, 0)} items; no history "
                      f"yet to compare with a 7-day average.")
    counts: Counter[str] = Counter()
    where: dict[str, list[str]] = defaultdict(list)
    for f in facts:
        for name in dict.fromkeys((*f.models[:1], *f.laws[:1], *f.organizations[:2])):
            counts[name] += 1
            if f.heading not in where[name]:
                where[name].append(f.heading)
    recurring = [(name, n) for name, n in counts.most_common(3) if n >= 2]
    if recurring:
        name, n = recurring[0]
        points.append(f"Watch {name}: it comes up in {n} stories today ({join_words([h.lower() for h in where[name]])}"
                      f"), so expect follow-ups.")
    if fmt == "compact" and len(points) == 3:
        del points[1]  # the per-topic line
    return points


BASELINE_DAYS = 7


def in_window(items: Sequence[ClassifiedItem], start: datetime, end: datetime) -> list[ClassifiedItem]:
    """The items published after `start` and up to `end` (the previous edition time to this one)."""
    return [i for i in items if start < i.published <= end]


def baseline_of(items: Sequence[ClassifiedItem], start: datetime, days: int = BASELINE_DAYS) -> dict[str, float] | None:
    """Items per day of each topic over the `days` before `start`; None when there is no history at all."""
    since = start - timedelta(days=days)
    counts: Counter[str] = Counter()
    seen = False
    for item in items:
        if since < item.published <= start and not item.backfill:
            seen = True
            counts.update(dict.fromkeys(item.topics, 1))
    return {topic: n / days for topic, n in counts.items()} if seen else None
