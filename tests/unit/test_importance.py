from __future__ import annotations

from bot.importance import Signals, event_strength, importance
from bot.models import Entities


def test_event_words() -> None:
    assert event_strength("Governor signs SB 53 into law") == 1.0
    assert event_strength("Microsoft acquires Inflection's team") == 1.0
    assert event_strength("Anthropic raises $4 billion") == 0.9
    assert event_strength("Meta releases Llama 3.1") == 0.7
    assert event_strength("Some thoughts on prompting") == 0.0


def test_each_signal_raises_importance() -> None:
    text, none = "A model", Entities()
    base = importance(text, none, Signals())
    assert importance(text, none, Signals(source_weight=1.5)) > base
    assert importance(text, none, Signals(story_sources=3)) > base
    assert importance(text, none, Signals(age_hours=48)) < base
    assert importance(text, none, Signals(points=800)) > base
    assert importance("OpenAI launches a model", none, Signals()) > base
    assert importance(text, Entities(amounts=("$40 billion",)), Signals()) > base
    assert 0.0 <= importance("x", none, Signals(age_hours=10_000)) <= importance(
        "signs into law, acquires, raises $40 billion", Entities(amounts=("$40 billion",)),
        Signals(source_weight=3.0, story_sources=9, points=10_000)) <= 1.0


def test_an_analysts_lead_stories_rank_first() -> None:
    def score(text: str, entities: Entities, **signals: float) -> float:
        return importance(text, entities, Signals(**signals))  # type: ignore[arg-type]

    day = {
        "OpenAI raises $40 billion at a $300 billion valuation": score(
            "OpenAI raises $40 billion at a $300 billion valuation",
            Entities(organizations=("OpenAI",), amounts=("$40 billion", "$300 billion")),
            source_weight=1.3, story_sources=4, age_hours=3),
        "EU AI Act obligations for general-purpose models take effect": score(
            "EU AI Act obligations for general-purpose models take effect; the law bans some uses",
            Entities(laws=("EU AI Act",)), source_weight=1.2, story_sources=3, age_hours=5),
        "Google releases Gemini 2.5 Pro": score(
            "Google releases Gemini 2.5 Pro, topping benchmarks by 12%",
            Entities(organizations=("Google",), models=("Gemini 2.5 Pro",), metrics=("12%",)),
            source_weight=1.5, story_sources=3, age_hours=2),
        "A trending GitHub repository of prompts": score(
            "A trending GitHub repository of prompts", Entities(), source_weight=0.8, age_hours=1),
        "How I use LLMs to write tests": score("How I use LLMs to write tests", Entities(), points=150, age_hours=6),
        "Startup adds dark mode to its AI note app": score(
            "Startup adds dark mode to its AI note app", Entities(), source_weight=0.8, age_hours=8),
    }
    top3 = sorted(day, key=lambda k: -day[k])[:3]
    assert set(top3) == {"OpenAI raises $40 billion at a $300 billion valuation",
                         "EU AI Act obligations for general-purpose models take effect",
                         "Google releases Gemini 2.5 Pro"}


def test_news_that_is_not_about_ai_never_leads() -> None:
    from bot.entities import EntityExtractor, load_gazetteer
    from tests.conftest import CONFIG

    extractor = EntityExtractor(load_gazetteer(CONFIG / "entities.yaml"))

    def score(text: str, **signals: float) -> float:
        entities = extractor.extract(text)
        return importance(text, entities, Signals(about_ai=extractor.about_ai(text, entities), **signals))  # type: ignore[arg-type]

    general = score("Paramount completes $8 billion merger after FCC approval", points=900, source_weight=1.0)
    ai = score("Mistral releases Mistral Medium 3.5", source_weight=1.0)
    assert ai > general
    assert not extractor.about_ai("UAE to leave OPEC", extractor.extract("UAE to leave OPEC"))
    assert extractor.about_ai("Meta's new AI glasses", Entities())
    assert extractor.about_ai("Qwen3-Next-80B-A3B is out", extractor.extract("Qwen3-Next-80B-A3B is out"))
    assert not extractor.about_ai("Sai Baba temple reopens", Entities())  # "ai" inside words does not count
    # An abbreviation that opens an identifier of upper-case parts is that identifier (post-quantum standards).
    assert not extractor.about_ai("Use Seeds as ML-KEM Keys", Entities())
    assert not extractor.about_ai("ML-DSA signatures land in OpenSSL", Entities())
    assert extractor.about_ai("ML-powered search for every team", Entities())
    # The plural of a term is as much a sign as the term ("Synthetic Data from Diffusion Models ...").
    for title in ("Synthetic Data from Diffusion Models Improves ImageNet Classification",
                  "Neural Networks: Zero to Hero", "Foundation Models for Time Series",
                  "What Large Language Models Know About Chess",
                  # ... and so are the spellings headlines use ("A.I" closing a headline, "Self Driving")
                  "Rethinking the Luddites in the Age of A.I", "Optimizing a Full Self Driving RC Car",
                  "Cruise robotaxis rely on human help", "Google Bard introduces human reviewers",
                  "Opendream: A Layer Based UI for Stable Diffusion"):
        assert extractor.about_ai(title, Entities()), title
    # Agents that are no AI: an SSH agent, a country's agents.
    assert not extractor.about_ai("Unix sockets, Cygwin, SSH agents, and sadness", Entities())
    assert not extractor.about_ai("20,000 Britons Approached By Chinese Agents On LinkedIn, Says MI5 Head", Entities())
    assert not extractor.about_ai("Scammers posing as customer service agents on X as companies leave platform",
                                  Entities())
    assert extractor.about_ai("AI customer service agents replace call centers", Entities())
    assert extractor.about_ai("Chinese agents for customer support beat GPT-4", extractor.extract("beat GPT-4"))
