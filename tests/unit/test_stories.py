from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.entities import EntityExtractor, FoundEntities, load_gazetteer
from bot.stories import MemoryStoryIndex, StorySignature, assign_story, same_story, settled
from tests.conftest import CONFIG

EXTRACT = EntityExtractor(load_gazetteer(CONFIG / "entities.yaml")).extract
T0 = datetime(2026, 4, 30, 8, tzinfo=UTC)


def _sig(story_id: str, text: str, hours: float = 0, source: str = "a") -> StorySignature:
    return StorySignature.of(story_id, text, EXTRACT(text), T0 + timedelta(hours=hours), source)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mistral releases Pixtral 12B, its first multimodal model",
         "Pixtral 12B: Mistral's open-weight vision-language model arrives"),
        ("Anthropic raises $4 billion from Amazon", "Amazon invests another $4 billion in Anthropic"),
        ("California governor signs SB 53, the frontier AI transparency bill, into law",
         "SB 53 signed: California becomes first state to require frontier AI safety disclosures"),
        ("Nvidia's market value drops by $593 billion as DeepSeek rattles investors",
         "DeepSeek sell-off wipes $593 billion off Nvidia, the largest one-day loss in history"),
        # "A.I." is a spelling of AI, no word of the story's own.
        ("Amazon Introduces Q, an A.I. Chatbot for Companies", "Amazon Announces Q, an AI Chatbot for Businesses"),
    ],
)
def test_same_event_merges(a: str, b: str) -> None:
    assert same_story(_sig("1", a), _sig("2", b, hours=6, source="b")) > 0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Alibaba releases Qwen2.5-Max, claiming it beats DeepSeek-V3",
         "Alibaba releases Qwen3-Next-80B-A3B, claiming it beats DeepSeek-V3"),
        ("California governor signs SB 53 AI safety bill", "California governor vetoes SB 1047 AI safety bill"),
        ("Nvidia unveils Blackwell B200 GPU at GTC", "Apple announces iPhone 16 with Apple Intelligence"),
        # A project that measures itself against a model is not that model's story.
        ("Show HN: Tarsier – vision for text-only LLM web agents that beats GPT-4o",
         "Hot take on OpenAI's new GPT-4o"),
    ],
)
def test_different_events_never_merge(a: str, b: str) -> None:
    assert same_story(_sig("1", a), _sig("2", b, hours=1, source="b")) == 0


def test_a_shared_model_joins_two_items_only_when_one_launches_it() -> None:
    def sig(story_id: str, text: str, launch: bool) -> StorySignature:
        return StorySignature.of(story_id, text, EXTRACT(text), T0, story_id, launch=launch)

    snitch = "Grok 4 will always snitch on you and email the feds"
    prompt = "Grok 4 Heavy protects its system prompt"
    assert same_story(sig("1", snitch, False), sig("2", prompt, False)) == 0
    assert same_story(sig("1", snitch, False), sig("2", "Grok 4 is out, with a Heavy tier", True)) > 0
    # The flag survives the trip through Redis.
    assert StorySignature.from_json(sig("3", prompt, True).to_json()).launch


def test_window_is_72_hours() -> None:
    text = "Mistral releases Pixtral 12B, its first multimodal model"
    assert same_story(_sig("1", text), _sig("2", text, hours=71)) > 0
    assert same_story(_sig("1", text), _sig("2", text, hours=73)) == 0


async def test_assignment_collects_sources_and_keeps_the_first_id() -> None:
    index = MemoryStoryIndex()
    first = await assign_story(index, _sig("first", "Mistral releases Pixtral 12B, its first multimodal model"))
    second = await assign_story(index, _sig("second", "Pixtral 12B: Mistral's open-weight vision model arrives",
                                            hours=2, source="b"))
    other = await assign_story(index, _sig("other", "Meta releases Llama 3.1 405B", hours=3, source="c"))
    assert first.story_id == second.story_id == "first"
    assert second.sources == {"a", "b"}
    assert other.story_id == "other"


def test_signature_json_round_trip() -> None:
    sig = _sig("x", "Anthropic raises $4 billion from Amazon")
    again = StorySignature.from_json(sig.to_json())
    assert again.story_id == "x" and again.amounts == sig.amounts and again.similarity(sig) == 1.0


def test_minhash_estimates_jaccard_without_bias() -> None:
    import random

    import numpy as np

    from bot.stories import NUM_PERM, _minhash, shingles

    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(400)]
    errors = []
    for _ in range(200):
        a = rng.sample(vocabulary, 25)
        b = rng.sample(a, rng.randint(0, 25)) + rng.sample(vocabulary, rng.randint(0, 25))
        text_a, text_b = " ".join(sorted(a)), " ".join(sorted(b))
        exact = len(shingles(text_a) & shingles(text_b)) / len(shingles(text_a) | shingles(text_b))
        estimate = float(np.count_nonzero(_minhash(text_a) == _minhash(text_b))) / NUM_PERM
        errors.append(estimate - exact)
    assert abs(float(np.mean(errors))) < 0.02
    assert float(np.std(errors)) < 0.07  # about sqrt(J(1-J)/64)


def test_a_batch_of_signatures_equals_one_text_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch is hashed in blocks: every text gets the signature the formula gives it alone, whatever the
    block size, with texts of no shingles in between."""
    import zlib

    import numpy as np

    from bot import stories
    from bot.stories import _A, _B, _EMPTY, minhashes, shingles

    def alone(text: str) -> np.ndarray:
        grams = shingles(text)
        if not grams:
            return _EMPTY
        hashed = np.array([zlib.crc32(g.encode()) for g in grams], dtype=np.uint64)
        return ((np.outer(_A, hashed) + _B[:, None]) >> np.uint64(32)).min(axis=1)

    texts = ["OpenAI releases GPT-5 with a larger context window", "", "the a of", "Anthropic raises $2 billion",
             "word " * 3000 + "end", "Mistral ships a new open model"] * 3
    expected = np.vstack([alone(text) for text in texts])
    for block in (1, 7, 1 << 12):
        monkeypatch.setattr(stories, "BLOCK_SHINGLES", block)
        assert np.array_equal(minhashes(texts), expected)
    assert minhashes([]).shape == (0, stories.NUM_PERM)
    # The band keys of a batch are those each signature makes alone.
    bands = stories.band_values(expected)
    found = FoundEntities(models=("GPT-5",), amounts=("$2 billion",))
    when = datetime(2026, 1, 1, tzinfo=UTC)
    for row, banded in zip(expected, bands, strict=True):
        batched = StorySignature.from_parts("s", when, row, found, {"x"}, banded)
        assert batched.keys == StorySignature.from_parts("s", when, row, found, {"x"}).keys


def test_stories_in_memory_are_assigned_without_an_event_loop() -> None:
    """`ai-news classify` matches stories with `settled`: the same stories as under asyncio."""
    texts = ["OpenAI releases GPT-5 with better reasoning", "OpenAI releases GPT-5, with better reasoning, today",
             "Anthropic raises $5 billion", "OpenAI releases GPT-5 with better reasoning and tools"]
    looped, plain = MemoryStoryIndex(), MemoryStoryIndex()
    expected = [asyncio.run(assign_story(looped, _sig(f"s{n}", text, source=f"x{n}"))).story_id
                for n, text in enumerate(texts)]
    assert [settled(assign_story(plain, _sig(f"s{n}", text, source=f"x{n}"))).story_id
            for n, text in enumerate(texts)] == expected
    assert expected[0] == expected[1]

    async def waits() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="event loop"):
        settled(waits())


def test_words_and_shingles_are_those_of_the_plain_rules() -> None:
    import itertools
    import random
    import re

    from bot.stories import _WORD, STOPWORDS, _norm, shingles, words

    rng = random.Random(5)
    pieces = ["OpenAI's", "model’s ", "the", "GPT-4.5", "a", "s ", "'s ", "’s ", "  ", "-", "--", "\t", "\u00a0",
              "Qwen", "+", ".", "new", "launch", "É", "x"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randrange(0, 20)))
        lowered = text.lower().replace("'s ", " ").replace("’s ", " ")
        expected = [t for t in _WORD.findall(lowered) if t not in STOPWORDS]
        assert words(text) == expected
        assert shingles(text) == set(expected).union(map(" ".join, itertools.pairwise(expected)))
        assert _norm(text) == re.sub(r"[\s-]+", " ", text.lower()).strip()
