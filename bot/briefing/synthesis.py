"""The day as a whole: themes, title, executive summary, key developments, outlook and tables. Pure.

Everything here comes from one ranking of the day's themes (a theme is a section: a topic with its stories,
named after what its lead story is, e.g. "New Models" or "Funding"), so the title, the summary, the key
developments and the outlook name the same themes in the same order and never contradict each other. Counts
may support a point (an outlook line against the week's average) but are never the point.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.briefing.summary import usable_sentence
from bot.briefing.why import StoryFacts, join_words, model_key, named_in
from bot.models import KeyDevelopment, Section, Story, Table
from bot.text import sentences, shorten

KEY_DEVELOPMENTS = 3
THEMES_NAMED = 3
# A theme is named after its topic and what its lead story reports.
THEME_LABELS: dict[tuple[str, str | None], str] = {
    ("models", "release"): "New Models", ("models", "benchmark"): "Model Benchmarks", ("models", None): "Models",
    ("research", None): "Research", ("robotics", None): "Robotics",
    ("products", "release"): "Product Launches", ("products", "availability"): "Product Updates",
    ("products", "outage"): "Service Reliability",
    ("products", None): "AI Products",
    ("business", "funding"): "Funding", ("business", "acquisition"): "Deals",
    ("business", "partnership"): "Partnerships", ("business", "hire"): "Leadership Moves",
    ("business", None): "The Business of AI",
    ("infrastructure", None): "Compute and Infrastructure",
    ("regulation", "law"): "New AI Laws", ("regulation", "court"): "Legal Disputes", ("regulation", None): "Policy",
    ("safety", "security"): "AI Security", ("safety", None): "Safety",
    ("tools", None): "Developer Tools",
}


@dataclass(frozen=True)
class Baseline:
    """Items about AI per day of each topic over the days of history the archive holds before the window (1 to 7:
    a new archive has less than a week, and an average over days it does not hold would understate it)."""

    per_day: Mapping[str, float]
    days: int

    def against(self, topic: str) -> str:
        """The topic's history in words: "against a 7-day average of 2.3 a day", "none the day before"."""
        average = self.per_day.get(topic, 0.0)
        if self.days == 1:
            count = round(average)
            return "none the day before" if count == 0 else f"against {count} the day before"
        if average == 0:
            return f"none in the previous {self.days} days"
        return f"against a {self.days}-day average of {average:.1f} a day"


_FUTURE = re.compile(r"\b(?:will|plans? to|later this (?:year|month|week|quarter)|next (?:week|month|year|quarter)|"
                     r"coming (?:weeks|months)|expected (?:to|in)|upcoming|roadmap|starting (?:on|in|from)|"
                     r"in the coming)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Theme:
    topic: str
    heading: str
    label: str
    stories: tuple[Story, ...]
    facts: tuple[StoryFacts, ...]  # the same order as stories
    score: float

    @property
    def lead(self) -> Story:
        return self.stories[0]


def theme_label(topic: str, heading: str, kind: str | None) -> str:
    return THEME_LABELS.get((topic, kind)) or THEME_LABELS.get((topic, None)) or heading


def rank_themes(sections: Sequence[Section], facts: Mapping[str, StoryFacts]) -> list[Theme]:
    """Sections as themes, the strongest first: the lead story's importance decides, breadth only breaks near-ties
    (a pile of small stories never outranks the day's most important one)."""
    themes = []
    for section in sections:
        stories = section.stories
        story_facts = tuple(facts[s.story_id] for s in stories)
        weights = sorted((s.importance for s in stories), reverse=True)
        score = sum(w * f for w, f in zip(weights, (1.0, 0.1, 0.05), strict=False))
        themes.append(Theme(section.topic, section.heading, theme_label(section.topic, section.heading,
                                                                           story_facts[0].kind),
                            stories, story_facts, round(score, 4)))
    labels = [t.label for t in themes]
    # Two themes with one name ("Developer Tools" twice cannot happen, but custom topics may share a heading).
    for theme_index, theme in enumerate(themes):
        if labels.count(theme.label) > 1:
            themes[theme_index] = Theme(theme.topic, theme.heading, theme.heading, theme.stories, theme.facts,
                                        theme.score)
    return sorted(themes, key=lambda t: (-t.score, t.topic))


def in_sentence(label: str) -> str:
    """A theme's name inside a sentence: "New Models" -> "new models", "AI Security" -> "AI security"."""
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in label.split())


def title_of(themes: Sequence[Theme]) -> str:
    if not themes:
        return "A quiet day in AI"
    return join_words([t.label for t in themes[:THEMES_NAMED]])


def lead_sentence(story: Story) -> str:
    """The one sentence that says what a story is: its summary's first, else its headline, quoted."""
    first = sentences(story.summary)[:1]
    if first and len(first[0]) <= 240:
        return first[0]
    return f"“{story.title.strip().rstrip('.')}”."


def executive_summary(themes: Sequence[Theme]) -> str:
    if not themes:
        return "No new stories about AI in this window."
    named = themes[:THEMES_NAMED]
    labels = [in_sentence(t.label) for t in named]
    if len(named) == 1:
        opening = f"The day's theme is {labels[0]}."
    else:
        opening = f"The day's main themes are {join_words(labels)}."
    if len(named) == 1:
        return f"{opening} {lead_sentence(named[0].lead)}"
    return " ".join([opening, *(f"{theme.label}: {lead_sentence(theme.lead)}" for theme in named)])


def key_developments(themes: Sequence[Theme], limit: int = KEY_DEVELOPMENTS) -> tuple[KeyDevelopment, ...]:
    """The lead story of each top theme, in the themes' order; then the next stories of those themes."""
    picked: list[Story] = [t.lead for t in themes[:limit]]
    rest = sorted((s for t in themes[:limit] for s in t.stories[1:]), key=lambda s: -s.importance)
    picked += rest[:max(0, limit - len(picked))]
    developments = []
    for story in picked[:limit]:
        first = sentences(story.summary)[:1]
        text = first[0] if first else (story.why_it_matters[0] if story.why_it_matters else "")
        developments.append(KeyDevelopment(title=story.title, text=text, url=story.sources[0].url))
    return tuple(developments)


def outlook(themes: Sequence[Theme], volume: Mapping[str, int], baseline: Baseline | None,
            limit: int = 3) -> list[str]:
    """2-3 closing points from the same themes: what their stories say comes next, a name that runs through
    several themes, then how the lead theme's volume compares with its average over the week before (or the days
    of it the archive holds)."""
    points: list[str] = []
    for theme in themes[:2]:
        ahead = _ahead(theme)
        if ahead:
            points.append(f"{theme.label}: {ahead}")
    crossing = _crossing(themes)
    if crossing:
        points.append(crossing)
    if len(points) < 2 and themes:
        lead = themes[0]
        today = volume.get(lead.topic, 0)
        if baseline is not None:
            points.append(f"{lead.label}: {today} {'item' if today == 1 else 'items'} about {lead.heading.lower()} "
                          f"today, {baseline.against(lead.topic)}.")
    return points[:limit]


def _ahead(theme: Theme) -> str | None:
    """A sentence of the theme's own stories about what comes next ("... will roll out to Europe next month")."""
    found = [(sentence in story.summary, sentence) for story, facts in zip(theme.stories, theme.facts, strict=True)
             for sentence in sentences(facts.text)
             if _FUTURE.search(sentence) and usable_sentence(sentence, story.title)]
    # One the summaries have not already said, else one they have.
    return shorten(min(found, key=lambda pair: pair[0])[1], 240) if found else None


# A person of an organization leading a headline ("OpenAI CEO's Identity Verification Company ...", "OpenAI Co-Founder
# Andrej Karpathy Joins Anthropic"): the story is the person's, not the organization's.
_ITS_PERSON = re.compile(r"^(?:'s|\u2019s)?\s*(?:ex-|former )?(?:CEO|CTO|CFO|co-?founder|founder|president|chair\w*|"
                         r"executives?|researchers?|engineers?|employees?|investors?|board|alum\w*|veterans?)\b",
                         re.IGNORECASE)


def _subject(title: str, name: str) -> bool:
    """Whether the headline is about `name` itself: it starts with the name, not with one of its people."""
    return title.startswith(name) and not _ITS_PERSON.match(title[len(name):].lstrip(" -"))


def _crossing(themes: Sequence[Theme]) -> str | None:
    """A name (organization or model) that is the subject of stories of two or more themes: the headline starts with
    it ("OpenAI adds MCP support ...", "OpenAI's Viral Studio Ghibli Moment ..."); a headline that only mentions it
    ("How to Migrate from OpenAI to Cerebrium", "Show HN: Value likelihoods for OpenAI structured output") is another
    party's story."""
    where: dict[str, list[tuple[Theme, Story]]] = defaultdict(list)
    for theme in themes:
        for story, facts in zip(theme.stories, theme.facts, strict=True):
            names = {n for n in (facts.actor, *facts.organizations[:2], *facts.models[:1]) if n}
            for name in names:
                if _subject(story.title, name) and all(t.topic != theme.topic for t, _ in where[name]):
                    where[name].append((theme, story))
    best = sorted(((name, found) for name, found in where.items() if len(found) >= 2),
                  key=lambda pair: (-len(pair[1]), pair[0]))
    if not best:
        return None
    name, found = best[0]
    labels = [t.heading.lower() for t, _ in found[:3]]
    titles = [f"“{shorten(s.title, 90)}”" for _, s in found[:3]]
    return f"{name} runs through {join_words(labels)} today: {join_words(titles)}."


# --- tables -----------------------------------------------------------------------------------------------------

def models_table(shown: Sequence[tuple[str, StoryFacts, Story]]) -> tuple[Table, list[str]] | None:
    """New models: only stories that report a model's release (or its benchmark) with a real figure."""
    rows, homes = [], []
    seen: set[str] = set()
    for topic, facts, story in shown:
        model = facts.model
        if not model or facts.kind not in ("release", "benchmark") or model_key(model) in seen:
            continue
        if not named_in(model, facts.title, facts.makers):
            continue
        total, active = facts.sizes()
        size = f"{total:g}B parameters" + (f", {active:g}B active" if active else "") if total else None
        figure = next(iter(facts.metrics), None) or size or next(
            (a.value for a in facts.amounts if a.role == "price"), None)
        if figure is None:
            continue
        seen.add(model_key(model))
        new = shorten(lead_sentence(story), 140)
        rows.append((model, facts.maker or "–", new, figure, ", ".join(facts.publishers[:3])))
        homes.append(topic)
    if len(rows) < 2:
        return None
    return Table(columns=("Model", "Maker", "What is new", "Headline figure", "Source"), rows=tuple(rows)), homes


_CONTRIBUTION = re.compile(r"\b(?:we|this paper|this work|the authors)\s+(?:propose|introduce|present|show|develop|"
                           r"release|find|demonstrate|study)", re.IGNORECASE)


def _paper_subtitle(story: Story) -> str:
    """What a paper does when no sentence of its text says it: its summary's first sentence, else its title's
    subtitle ("Fast-DLLM: Training-Free Acceleration of Diffusion LLM" gives "Training-Free Acceleration of Diffusion
    LLM"), else a dash: the title is already in the row."""
    if sentences(story.summary):
        return lead_sentence(story)
    name, colon, rest = story.title.partition(": ")
    return rest.strip() if colon and name.strip() and rest.strip() else "–"


def papers_table(shown: Sequence[tuple[str, StoryFacts, Story]], arxiv: set[str]) -> tuple[Table, list[str]] | None:
    """Papers: the day's arXiv stories, each with its area and the sentence that states its contribution."""
    rows, homes = [], []
    for topic, facts, story in shown:
        if facts.story_id not in arxiv:
            continue
        found = [s for s in sentences(facts.text) if _CONTRIBUTION.search(s)]
        contribution = found[0] if found else _paper_subtitle(story)
        area = join_words(list(facts.arxiv_areas[:2])) or facts.heading.lower()
        rows.append((shorten(facts.title, 120), area, shorten(contribution, 180), ", ".join(facts.publishers[:3])))
        homes.append(topic)
    if len(rows) < 2:
        return None
    return Table(columns=("Paper", "Area", "Contribution", "Source"), rows=tuple(rows)), homes
