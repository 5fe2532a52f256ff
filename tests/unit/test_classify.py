from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.classify import KeywordClassifier
from bot.models import Item
from bot.taxonomy import Taxonomy, load_taxonomy

NOW = datetime(2026, 4, 30, tzinfo=UTC)


def _item(title: str, summary: str = "") -> Item:
    return Item(url=f"https://example.com/{abs(hash(title))}", title=title, summary=summary, source="t",
                published=NOW)


def test_keywords_pick_the_topic(taxonomy: Taxonomy) -> None:
    classifier = KeywordClassifier(taxonomy)
    assert classifier.classify(_item("EU AI Act enforcement begins for general-purpose models")).topics[0] == \
        "regulation"
    assert classifier.classify(_item("Figure unveils a new humanoid robot for warehouses")).topics[0] == "robotics"


def test_no_keyword_goes_to_fallback(taxonomy: Taxonomy) -> None:
    item = KeywordClassifier(taxonomy).classify(_item("Zzz qqq"))
    assert item.topics == (taxonomy.fallback,)
    assert item.topic_scores == {}


def test_topic_added_through_config_works_at_once(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(
        "topics:\n"
        "  - {slug: models, title: Models, description: Models, keywords: [model release]}\n"
        "  - {slug: climate, title: Climate, description: AI for climate and weather,\n"
        "     keywords: [weather forecasting, climate], negative_keywords: [political climate]}\n"
    )
    classifier = KeywordClassifier(load_taxonomy(path))
    item = classifier.classify(_item("GraphCast-style weather forecasting beats physics models", "A climate win."))
    assert item.topics[0] == "climate"
    assert classifier.classify(_item("The political climate around chips")).topics == ("models",)


def test_multi_label_ranks_topics(taxonomy: Taxonomy) -> None:
    item = KeywordClassifier(taxonomy).classify(
        _item("Nvidia raises funding for a new data center", "The series B round funds GPU clusters.")
    )
    assert len(item.topics) >= 2
    assert item.topic_scores[item.topics[0]] == 1.0
    assert set(item.topics) <= set(taxonomy.slugs)
