"""Composition: classified items in, a Briefing out. Pure: no I/O, no clock.

Items that share a story_id form one story listing every source. Each story sits in the section of its
primary topic; sections follow the taxonomy's order, the most important story first inside each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from bot.models import Briefing, ClassifiedItem, KeyDevelopment, Section, SourceLink, Story
from bot.taxonomy import Taxonomy
from bot.text import sentences, shorten

MAX_STORIES_PER_SECTION = 8
SUMMARY_LENGTH = 360


def _story(items: list[ClassifiedItem]) -> Story:
    ranked = sorted(items, key=lambda i: (-i.importance, -i.published.timestamp(), i.id))
    lead = ranked[0]
    summary_source = next((i.summary for i in ranked if i.summary), "")
    summary = " ".join(sentences(summary_source)[:2])
    links = tuple(
        dict.fromkeys(SourceLink(title=i.title, url=i.url, source=i.source_name or i.source) for i in ranked)
    )
    return Story(
        story_id=lead.story_id,
        title=lead.title,
        summary=shorten(summary, SUMMARY_LENGTH),
        sources=links,
        importance=max(i.importance for i in items),
    )


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def compose(
    items: Sequence[ClassifiedItem], taxonomy: Taxonomy, *, channel: str, day: date, timezone: str = "UTC"
) -> Briefing:
    """The briefing for one channel and date from the items of its window."""
    grouped: dict[str, list[ClassifiedItem]] = defaultdict(list)
    for item in items:
        grouped[item.story_id].append(item)
    by_topic: dict[str, list[tuple[Story, ClassifiedItem]]] = defaultdict(list)
    for story_items in grouped.values():
        story = _story(story_items)
        lead = max(story_items, key=lambda i: (i.importance, i.published))
        by_topic[lead.primary_topic].append((story, lead))

    sections = []
    for slug in sorted(by_topic, key=taxonomy.order):
        ranked = sorted(by_topic[slug], key=lambda p: (-p[0].importance, -p[1].published.timestamp(), p[0].title))
        topic = taxonomy.get(slug)
        sections.append(
            Section(
                topic=slug,
                heading=topic.title if topic else slug.replace("-", " ").title(),
                stories=tuple(story for story, _ in ranked[:MAX_STORIES_PER_SECTION]),
            )
        )

    biggest = sorted(sections, key=lambda s: (-len(s.stories), -s.stories[0].importance, taxonomy.order(s.topic)))
    themes = [s.heading for s in biggest[:3]]
    all_stories = [story for section in sections for story in section.stories]
    top = sorted(all_stories, key=lambda s: -s.importance)[:3]
    source_names = {link.source for story in all_stories for link in story.sources}
    if sections:
        counts = ", ".join(f"{s.heading.lower()} ({len(s.stories)})" for s in biggest[:3])
        summary = (f"{len(all_stories)} stories from {len(source_names)} sources across {len(sections)} topics; "
                   f"most activity in {counts}.")
        title = _join(themes)
    else:
        summary = "No new stories in this window."
        title = "A quiet day in AI"
    return Briefing(
        channel=channel,
        date=day,
        timezone=timezone,
        title=title,
        executive_summary=summary,
        key_developments=tuple(
            KeyDevelopment(
                title=story.title,
                text=(sentences(story.summary)[:1] or [f"Reported by {story.sources[0].source}."])[0],
                url=story.sources[0].url,
            )
            for story in top
        ),
        sections=tuple(sections),
        sources=tuple(dict.fromkeys(link for story in all_stories for link in story.sources)),
    )
