"""The about-AI decision: the shipped model, its calibration and threshold, and what the enricher stores."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest

from bot.entities import EntityExtractor, load_gazetteer
from bot.relevance import (
    RelevanceModel,
    Signals,
    bundled_relevance_examples,
    bundled_relevance_model,
    content,
    listing,
    relevance_text,
    train_relevance,
)
from bot.settings import ConfigError, Settings
from bot.textmodel import Tokenized
from tests.conftest import CONFIG

EXTRACTOR = EntityExtractor(load_gazetteer(CONFIG / "entities.yaml"))


def _decide(model: RelevanceModel, title: str, summary: str = "") -> tuple[float, bool]:
    decision = model.decide([(title, summary)], [Signals.of(EXTRACTOR, title, summary)])[0]
    return decision.score, decision.about_ai


@pytest.fixture(scope="module")
def model() -> RelevanceModel:
    return bundled_relevance_model()


@pytest.mark.parametrize(("title", "summary"), [
    ("Anthropic releases Claude Opus 5", "The model leads coding benchmarks."),
    ("Show HN: Run an 80B Qwen in 4.3 GB of RAM on a Mac", ""),
    ("Elevated errors for Claude Sonnet", "Claude's status page reports elevated errors."),
    ("Why coding agents need sandboxes", "Agents that run shell commands can delete your files."),
    # facial recognition, self-supervised learning and image generation are AI's own terms
    ("Stadium owner defends using facial recognition to eject a lawyer", ""),
    ("Self-supervised learning for speech, now ten times faster", ""),
    ("Image generation with electrostatics", ""),
    ("Regulators give green light to driverless taxis", ""),
])
def test_ai_items_are_about_ai(model: RelevanceModel, title: str, summary: str) -> None:
    score, about = _decide(model, title, summary)
    assert about and 0.0 <= score <= 1.0


@pytest.mark.parametrize(("title", "summary"), [
    ("Show HN: I mapped every US golf course", "A map of 16,000 courses."),
    ("eBPF profiling for the rest of us", "Continuous profiling with no code changes."),
    ("An archive of Amiga demos from 1987", ""),
    ("Systemd Linger", "Killing processes when the user logs out."),
    ("About 60k migrants arrive in Ceuta in 24 hours", "The estimated number of arrivals is high."),
])
def test_general_news_is_not(model: RelevanceModel, title: str, summary: str) -> None:
    assert not _decide(model, title, summary)[1]


@pytest.mark.parametrize("title", [
    "Tasklet (YC P26) Is Hiring a Customer Success Engineer",
    "Linum (YC W23) is a hiring a founding AI engineer to train text-to-video models",
    "Hoplite (YC S26) is hiring founding AI engineers to build coding agents",
    "Ask HN: Who is hiring? (May 2026)",
    "Terra API (YC W21) Hiring: Applied AI Strategist",
    "Mindful Care (YC S24, AI-Driven Therapy) Hiring Founding Back End Engineer",
    "Lantern (YC W24) – Hiring Engineers to Build PostgreSQL Vector Database for AI",
    "Claude Code meetup Berlin: agents, MCP servers and pizza",
    "OpenAI Codex hackathon in San Francisco this weekend",
])
def test_listings_are_not_news_about_ai(model: RelevanceModel, title: str) -> None:
    assert listing(title)
    assert not _decide(model, title, "We build AI agents with LLMs for machine learning teams.")[1]


def test_news_about_hiring_is_no_listing() -> None:
    assert not listing("Meta is hiring AI researchers with $100M pay packages")
    assert not listing("Launch HN: Hoplite (YC S26) - Effortlessly deploy cloud coding agents")
    assert not listing("Launch HN: Hoplite (YC S26, AI agents) - why we stopped hiring")


def test_feed_boilerplate_is_no_evidence() -> None:
    assert content("Score: 121 Comments: 92 By: jnsgruk Discussion: https://news.ycombinator.com/item?id=1") == ""
    assert relevance_text("A title", "Score: 3. It runs fast.").endswith("It runs fast.")


def test_the_shipped_model_was_built_from_the_shipped_data() -> None:
    shipped = bundled_relevance_model()
    rebuilt, evaluation = train_relevance(EXTRACTOR, bundled_relevance_examples())
    assert rebuilt.digest == shipped.digest, "labeled data changed: run `ai-news train` and commit"
    assert rebuilt.threshold == shipped.threshold
    np.testing.assert_allclose(rebuilt.weights, shipped.weights, rtol=1e-6)
    # Calibrated: in every bin with enough items, the predicted share is close to the observed one: within 0.1, or
    # within three standard errors of the observed share for a bin of that size (a bin of 134 items at 0.4 is
    # measured to +-0.04 at best).
    for mean, share, count in evaluation.calibration:
        if count >= 50:
            assert abs(mean - share) < max(0.1, 3 * math.sqrt(share * (1 - share) / count)), evaluation.report()
    assert evaluation.precision >= 0.95 and evaluation.recall >= 0.8 and evaluation.brier < 0.08


def test_save_load_round_trip_and_bad_files(model: RelevanceModel, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    loaded = RelevanceModel.load(buffer)
    texts = [relevance_text("OpenAI ships GPT-6", ""), relevance_text("A recipe for bread", "")]
    signals = [Signals.of(EXTRACTOR, "OpenAI ships GPT-6", ""), Signals.of(EXTRACTOR, "A recipe for bread", "")]
    np.testing.assert_allclose(loaded.probabilities(texts, signals), model.probabilities(texts, signals))
    from bot.offline import load_relevance

    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a model")
    settings = Settings(_env_file=None, relevance_model=broken)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match=r"RELEVANCE_MODEL .*not a usable about-AI model file"):
        load_relevance(settings)


def test_the_enricher_stores_the_decision_and_trusts_ai_only_sources(model: RelevanceModel) -> None:
    import asyncio
    from datetime import UTC, datetime

    from bot.classify import TopicClassifier, bundled_model
    from bot.enrich import Enricher
    from bot.models import Item
    from bot.stories import MemoryStoryIndex
    from bot.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(CONFIG / "topics.yaml")
    enricher = Enricher(TopicClassifier(taxonomy, bundled_model()), EXTRACTOR, model)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    golf = Item(url="https://golf.test/map", title="Show HN: I mapped every US golf course", source="hn",
                published=now)
    paper = Item(url="https://arxiv.org/abs/2605.00001", title="Sparse attention for protein folding",
                 source="arxiv-cs-lg", published=now)
    plain, trusted = (asyncio.run(enricher.classify_items([golf, paper], MemoryStoryIndex(), now=now,
                                                          ai_only=only)) for only in ((), ("arxiv-cs-lg",)))
    assert plain[0].about_ai is False and plain[0].ai_score is not None and plain[0].ai_score < model.threshold
    assert plain[0].importance < 0.3  # general news never leads
    assert trusted[1].about_ai is True and trusted[1].ai_score == 1.0
    assert trusted[0].about_ai is False  # only the marked source is trusted


def test_decisions_on_texts_tokenized_once_are_those_on_the_texts(model: RelevanceModel) -> None:
    """The enricher tokenizes (title, topic body, content) once for both models: the decisions stay the same."""
    items = [(e.title, e.summary) for e in bundled_relevance_examples()[:400]]
    items += [("Hiring: ML engineers (YC W26) are hiring", ""), ("Zürich café", "naïve\x00résumé"), ("ΑΣ", "Σ")]
    signals = [Signals.of(EXTRACTOR, title, summary) for title, summary in items]
    tokenized = Tokenized([(title, "other words", content(summary)) for title, summary in items])
    assert model.decide(items, signals, tokenized, (2, 0, 1)) == model.decide(items, signals)
    assert model.decide([], [], Tokenized([]), (1,)) == []
