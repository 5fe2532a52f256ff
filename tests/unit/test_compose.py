from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.compose import compose
from bot.models import ClassifiedItem, Item
from bot.taxonomy import Taxonomy

NOW = datetime(2026, 4, 30, 8, 0, tzinfo=UTC)


def _item(
    n: int, topic: str, importance: float, story: str = "", source: str = "src", summary: str = ""
) -> ClassifiedItem:
    base = Item(url=f"https://{source}.example.com/{n}", title=f"Story {n}", source=source, source_name=source.title(),
                published=NOW - timedelta(hours=n), summary=summary or f"Sentence one of {n}. Sentence two. Three.")
    return ClassifiedItem.from_item(base, topics=[topic], importance=importance, story_id=story)


def test_sections_follow_taxonomy_order_and_rank_stories(taxonomy: Taxonomy) -> None:
    items = [_item(1, "tools", 0.2), _item(2, "models", 0.3), _item(3, "models", 0.9), _item(4, "regulation", 0.5)]
    briefing = compose(items, taxonomy, channel="slack:C1", day=date(2026, 4, 30))
    assert [s.topic for s in briefing.sections] == ["models", "regulation", "tools"]
    assert [s.title for s in briefing.sections[0].stories] == ["Story 3", "Story 2"]
    assert briefing.sections[0].heading == taxonomy.get("models").title  # type: ignore[union-attr]
    assert [k.title for k in briefing.key_developments] == ["Story 3", "Story 4", "Story 2"]
    assert briefing.title.startswith(taxonomy.get("models").title)  # type: ignore[union-attr]
    assert len(briefing.sources) == 4


def test_items_of_one_story_merge_and_list_every_source(taxonomy: Taxonomy) -> None:
    items = [_item(1, "models", 0.4, story="s1", source="alpha"), _item(2, "models", 0.8, story="s1", source="beta"),
             _item(3, "models", 0.1, story="s2")]
    briefing = compose(items, taxonomy, channel="slack:C1", day=date(2026, 4, 30))
    stories = briefing.sections[0].stories
    assert len(stories) == 2
    merged = stories[0]
    assert merged.importance == 0.8 and merged.title == "Story 2"
    assert {s.source for s in merged.sources} == {"Alpha", "Beta"}
    assert merged.summary == "Sentence one of 2. Sentence two."


def test_empty_window(taxonomy: Taxonomy) -> None:
    briefing = compose([], taxonomy, channel="console:demo", day=date(2026, 4, 30))
    assert briefing.sections == () and briefing.key_developments == ()
    assert "No new stories" in briefing.executive_summary
