from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.compose import ComposeOptions, baseline_of, compose, in_window
from bot.entities import load_gazetteer
from bot.models import Briefing, ClassifiedItem, Entities, Item
from bot.offline import ComposeRequest, compose_offline
from bot.settings import Settings
from bot.taxonomy import Taxonomy

ROOT = Path(__file__).resolve().parents[2]
DAY_FILE = ROOT / "tests" / "fixtures" / "briefing-day.jsonl"
NOW = datetime(2026, 4, 30, 8, 0, tzinfo=UTC)
MAKERS = load_gazetteer(ROOT / "config" / "entities.yaml").makers


def _item(n: int, topic: str, importance: float, *, story: str = "", source: str = "src", title: str = "",
          summary: str = "", hours: float | None = None, url: str = "", points: int | None = None,
          backfill: bool = False, topics: tuple[str, ...] = (), **entities: tuple[str, ...]) -> ClassifiedItem:
    base = Item(url=url or f"https://{source}.example.com/{n}", title=title or f"Story {n}", source=source,
                source_name=source.title(), published=NOW - timedelta(hours=n if hours is None else hours),
                summary=summary or f"Sentence one of story {n} is here. Sentence two of story {n} is here too.",
                points=points, backfill=backfill)
    return ClassifiedItem.from_item(base, topics=list(topics or (topic,)), importance=importance, story_id=story,
                                    entities=Entities(**entities))


def _compose(items: list[ClassifiedItem], taxonomy: Taxonomy, **options: object) -> Briefing:
    return compose(items, taxonomy, channel="slack:C1", day=date(2026, 4, 30),
                   options=ComposeOptions(makers=MAKERS, **options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def day() -> Briefing:
    """The fixture day (real events of September 2025) composed offline, as `ai-news compose` does."""
    settings = Settings(_env_file=None, ainews_config_dir=ROOT / "config")  # type: ignore[call-arg]
    briefing, errors = compose_offline(settings, DAY_FILE.read_text().splitlines(),
                                       ComposeRequest(day=date(2025, 9, 30)))
    assert errors == []
    return briefing


def test_sections_follow_taxonomy_order_and_rank_stories(taxonomy: Taxonomy) -> None:
    items = [_item(1, "tools", 0.2), _item(2, "models", 0.3), _item(3, "models", 0.9), _item(4, "regulation", 0.5)]
    briefing = _compose(items, taxonomy)
    assert [s.topic for s in briefing.sections] == ["models", "regulation", "tools"]
    assert [s.title for s in briefing.sections[0].stories] == ["Story 3", "Story 2"]
    assert briefing.sections[0].heading == taxonomy.get("models").title  # type: ignore[union-attr]
    assert [k.title for k in briefing.key_developments] == ["Story 3", "Story 4", "Story 2"]
    # The title names the themes, the lead story's first.
    assert briefing.title == "Models, Regulation and Tools"
    assert len(briefing.sources) == 4


def test_items_of_one_story_merge_list_every_source_and_gain_coverage(taxonomy: Taxonomy) -> None:
    items = [_item(1, "models", 0.4, story="s1", source="alpha"), _item(2, "models", 0.8, story="s1", source="beta"),
             _item(3, "models", 0.1, story="s2")]
    stories = _compose(items, taxonomy).sections[0].stories
    assert len(stories) == 2
    merged = stories[0]
    assert merged.title == "Story 2"  # the most important item leads
    assert merged.importance == 0.85  # 0.8 and 0.05 for the second source
    assert [s.source for s in merged.sources] == ["Beta", "Alpha"]
    assert "Covered by 2 sources (Beta and Alpha)" in " ".join(merged.why_it_matters)


def test_the_day_reads_like_a_briefing(day: Briefing, taxonomy: Taxonomy) -> None:
    # Title: the three top themes, the lead story's section first.
    assert day.title == "Regulation, Models and Business"
    assert day.key_developments[0].title.startswith("California enacts SB 53")
    assert len(day.key_developments) == 3
    assert all(k.text and k.url.startswith("https://") for k in day.key_developments)
    assert day.executive_summary.startswith("The day's biggest story: California enacts SB 53")
    # Sections in the taxonomy's order, biggest story first.
    order = [taxonomy.order(s.topic) for s in day.sections]
    assert order == sorted(order)
    for section in day.sections:
        importances = [story.importance for story in section.stories]
        assert importances == sorted(importances, reverse=True)
    # Sources: every link used, once.
    links = [link for s in day.sections for story in s.stories for link in story.sources]
    assert list(day.sources) == list(dict.fromkeys(links))
    assert 2 <= len(day.outlook) <= 3


def test_the_window_excludes_backfill_and_later_items(day: Briefing) -> None:
    titles = {story.title for section in day.sections for story in section.stories}
    assert not any("Stargate UAE" in t for t in titles)  # backfill from a first poll
    assert not any("Rubin CPX" in t for t in titles)  # published after the edition time
    assert not any("Series F" in t for t in titles)  # the week before: only in the 7-day average


def test_one_event_from_several_sources_is_one_story(day: Briefing) -> None:
    stories = [story for section in day.sections for story in section.stories]
    sonnet = [s for s in stories if "Claude Sonnet 4.5" in s.title or "Claude Sonnet 4.5" in s.summary]
    assert len(sonnet) == 1
    assert {link.source for link in sonnet[0].sources} == {"Anthropic News", "TechCrunch", "The Verge"}
    sb53 = [s for s in stories if "SB 53" in s.title]
    assert len(sb53) == 1 and len(sb53[0].sources) == 3


def test_summaries_are_whole_sentences_from_the_items_never_repeated(day: Briefing) -> None:
    texts = " ".join(line for line in DAY_FILE.read_text().splitlines())
    seen: set[str] = set()
    for section in day.sections:
        for story in section.stories:
            parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", story.summary)
            assert 1 <= len(parts) <= 3
            for sentence in parts:
                assert sentence[-1] in ".!?" and not sentence.endswith("…")
                if not sentence.startswith("Reported by"):
                    assert sentence in texts, sentence
                assert sentence not in seen
                seen.add(sentence)


def test_why_it_matters_is_grounded_and_never_repeated(day: Briefing) -> None:
    bullets = [b for s in day.sections for story in s.stories for b in story.why_it_matters]
    assert len(bullets) == len(set(bullets))
    stories = [story for section in day.sections for story in section.stories]
    # Nearly every story gets 2-3 bullets; none gets more than 3.
    assert all(len(story.why_it_matters) <= 3 for story in stories)
    assert sum(len(story.why_it_matters) >= 2 for story in stories) >= len(stories) - 3
    by_title = {story.title: story for story in stories}
    sb53 = " ".join(by_title["California enacts SB 53, the first US law requiring frontier AI safety disclosures"]
                    .why_it_matters)
    assert "SB 53 is now law in California" in sb53 and "SB 1047" in sb53
    deepseek = next(s for s in stories if "DeepSeek" in s.title)
    assert "DeepSeek-V3.2-Exp comes with open weights" in " ".join(deepseek.why_it_matters)
    sonnet = next(s for s in stories if "Claude Sonnet 4.5" in s.title)
    assert "set against GPT-5 and Gemini 2.5 Pro" in " ".join(sonnet.why_it_matters)
    statsig = " ".join(by_title["OpenAI acquires Statsig for $1.1 billion"].why_it_matters)
    assert "OpenAI takes over Statsig for $1.1 billion" in statsig
    generic = re.compile(r"(?i)this is (?:important|significant)|game[- ]changer|the ai (?:industry|landscape)")
    assert not any(generic.search(b) for b in bullets)


def test_bullets_use_sizes_figures_and_the_days_other_deals(taxonomy: Taxonomy) -> None:
    pixtral = _item(1, "models", 0.9, title="Mistral releases Pixtral 12B, its first multimodal model",
                    summary="The 12-billion-parameter model is available under the Apache 2.0 license. It handles "
                            "a 128K token context window.", models=("Pixtral 12B",),
                    organizations=("Mistral AI",), metrics=("128K token",))
    qwen = _item(2, "models", 0.8, title="Qwen3-Next-80B-A3B arrives", summary="Alibaba's new model is fast.",
                 models=("Qwen3-Next-80B-A3B",))
    raise_a = _item(3, "business", 0.7, title="Figure AI raises $1 billion", summary="The round values it highly.",
                    organizations=("Figure AI",), amounts=("$1 billion",))
    raise_b = _item(4, "business", 0.6, title="Sierra raises $350 million", summary="Investors piled in again.",
                    amounts=("$350 million",))
    briefing = _compose([pixtral, qwen, raise_a, raise_b], taxonomy)
    bullets = {story.title: " ".join(story.why_it_matters) for s in briefing.sections for story in s.stories}
    assert "At 12B parameters, Pixtral 12B is small enough to run on a single GPU" in bullets[pixtral.title]
    assert "open weights" in bullets[pixtral.title] and "Mistral AI's API" in bullets[pixtral.title]
    assert "activates only 3B of its 80B parameters" in bullets[qwen.title]
    assert "Figure AI gets $1 billion of new money, the largest sum in today's briefing" in bullets[raise_a.title]
    assert "Sierra gets $350 million of new money, one of 2 deals" in bullets[raise_b.title]


def test_tables_of_models_and_papers_need_two_rows(taxonomy: Taxonomy) -> None:
    one_model = [_item(1, "models", 0.9, title="Mistral releases Pixtral 12B", models=("Pixtral 12B",))]
    assert all(s.table is None for s in _compose(one_model, taxonomy).sections)
    two = [*one_model, _item(2, "models", 0.8, title="Anthropic releases Claude Sonnet 4.5",
                             models=("Claude Sonnet 4.5",), metrics=("77.2%",))]
    table = _compose(two, taxonomy).sections[0].table
    assert table is not None
    assert table.columns == ("Model", "Maker", "What is new", "Headline figure", "Source")
    assert [row[:2] for row in table.rows] == [("Pixtral 12B", "Mistral AI"), ("Claude Sonnet 4.5", "Anthropic")]
    assert table.rows[1][3] == "77.2%"
    papers = [_item(n, "research", 0.5 - n / 100, title=f"Paper {n}", url=f"https://arxiv.org/abs/2604.0{n}",
                    summary=f"Agents forget things. We propose method {n} that remembers them better.",
                    source="arxiv-cs-ai") for n in (1, 2)]
    research = _compose(papers, taxonomy).sections[0]
    assert research.table is not None and research.table.columns == ("Paper", "Area", "Contribution", "Source")
    assert research.table.rows[0] == ("Paper 1", "AI", "We propose method 1 that remembers them better.",
                                      "Arxiv-Cs-Ai")


def test_compact_format_and_topic_filter(taxonomy: Taxonomy) -> None:
    items = [_item(n, "models" if n % 2 else "safety", 0.9 - n / 100, title=f"Story {n}",
                   summary=f"First sentence of story {n} says a lot. Second sentence of story {n} says more. "
                           f"Third sentence of story {n} says the rest.", organizations=(f"Org{n}",))
             for n in range(1, 13)]
    compact = _compose(items, taxonomy, format="compact")
    assert all(len(s.stories) <= 3 for s in compact.sections)
    assert all(s.table is None for s in compact.sections)
    for story in (story for s in compact.sections for story in s.stories):
        assert story.summary.count(". ") == 0 and len(story.why_it_matters) <= 2
    focused = _compose(items, taxonomy, topics=("safety",))
    assert [s.topic for s in focused.sections] == ["safety"]
    # An item whose secondary topic the channel follows sits in that section.
    both = _item(20, "models", 0.95, title="A model that breaks its guardrails", topics=("models", "safety"))
    assert _compose([both], taxonomy, topics=("safety",)).sections[0].stories[0].title == both.title


def test_volume_against_the_7_day_average(taxonomy: Taxonomy) -> None:
    items = [_item(n, "models", 0.5, title=f"Model news {n}") for n in range(1, 7)] + [
        _item(7, "regulation", 0.4, title="A rule")]
    briefing = _compose(items, taxonomy, baseline={"models": 2.0, "regulation": 3.0})
    assert "Models was the busiest topic with 6 stories, 3.0 times its 7-day average of 2.0" in (
        briefing.executive_summary)
    assert briefing.outlook[0] == "Models moved most: 6 items today, 3.0 times its 7-day average of 2.0."
    assert briefing.outlook[1] == "Items today against the 7-day average, by topic: models 6 (2.0), regulation 1 (3.0)."


def test_window_and_baseline_helpers() -> None:
    items = [_item(n, "models", 0.5, hours=h) for n, h in enumerate((1, 23, 25, 48, 200), start=1)]
    start, end = NOW - timedelta(hours=24), NOW
    assert [i.title for i in in_window(items, start, end)] == ["Story 1", "Story 2"]
    assert baseline_of(items, start) == {"models": 2 / 7}
    assert baseline_of(in_window(items, start, end), start) is None


def test_empty_window(taxonomy: Taxonomy) -> None:
    briefing = _compose([], taxonomy)
    assert briefing.sections == () and briefing.key_developments == () and briefing.outlook == ()
    assert "No new stories" in briefing.executive_summary


def test_composition_is_deterministic(taxonomy: Taxonomy) -> None:
    items = [_item(n, ("models", "tools", "safety")[n % 3], 0.3 + (n % 5) / 10, story=f"s{n % 7}",
                   source=f"src{n % 4}") for n in range(1, 40)]
    first = _compose(items, taxonomy)
    again = _compose(list(reversed(items)), taxonomy)
    assert first.model_dump() == again.model_dump()
