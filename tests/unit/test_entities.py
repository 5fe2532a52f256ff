from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from bot.entities import _ALPHA, EntityExtractor, _spaced, load_gazetteer
from tests.conftest import CONFIG

EXTRACTOR = EntityExtractor(load_gazetteer(CONFIG / "entities.yaml"))
EXTRACT = EXTRACTOR.extract
LABELED = Path(__file__).resolve().parents[2] / "bot" / "data"


def _real_texts() -> list[str]:
    texts = []
    for path in sorted(LABELED.glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(f"{row['title']}. {row.get('summary', '')}")
    return texts


def _random_texts(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    pieces = ["GPT-4o", "gpt", "Qwen3", "qwen", "o1", "O3", "DALL-E", "dall", "Llama", " ", "  ", "\t", "\n", "\u00a0",
              "-", ".", "$5", "billion", "OpenAI", "Open AI", "x", "é", "K", "Meta", "AI", "s", "1", "\u2009", "Σ"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 25))) for _ in range(count)]


def test_white_space_is_folded_as_the_pattern_folds_it() -> None:
    for text in [*_random_texts(3000), "a  b", "a\tb", "a\u00a0b", "a b", "", " ", "\x1f", "a\u2028b"]:
        assert _spaced(text) == re.sub(r"\s+", " ", text)


def test_the_family_test_is_the_runs_of_letters_test() -> None:
    """A text is tried for model names when one of its runs of letters a-z (lower-cased) is a family's start."""
    starts = {m.group(0) for f in EXTRACTOR._families if (m := _ALPHA.match(f))}
    for text in _real_texts() + _random_texts(3000):
        expected = not starts.isdisjoint(_ALPHA.findall(text.lower()))
        assert (EXTRACTOR._family_start(text.lower()) is not None) == expected, text


@pytest.mark.parametrize(
    ("text", "models"),
    [
        ("OpenAI launches GPT-4o to all ChatGPT users", ("GPT-4o",)),
        ("Meta releases Llama 3.1 405B, the largest open-weight model", ("Llama 3.1 405B",)),
        ("Alibaba's Qwen3-Next-80B-A3B activates 3B parameters per token", ("Qwen3-Next-80B-A3B",)),
        ("Mistral releases Pixtral 12B, its first multimodal model", ("Pixtral 12B",)),
        ("Gemini 2.5 Pro tops the leaderboard ahead of Claude 3.5 Sonnet", ("Gemini 2.5 Pro", "Claude 3.5 Sonnet")),
        ("DeepSeek-R1 matches o1 on math benchmarks", ("DeepSeek-R1", "o1")),
        ("Google unveils Gemini, its most capable model", ()),
        ("The Llama herd grows", ()),
        # A version written in lower case, as people type it ("Kimi k2"), but not a word that happens to hold a digit.
        ("Kimi k2 largest open source SOTA model?", ("Kimi k2",)),
        ("Claude s1mple mode", ()),
    ],
)
def test_model_names(text: str, models: tuple[str, ...]) -> None:
    assert EXTRACT(text).models == models


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("OpenAI, Oracle and SoftBank pledge $100 billion, rising to $500 billion", ("$100 billion", "$500 billion")),
        ("A state fund commits RMB 380 billion to chips", ("RMB 380 billion",)),
        ("Mistral valued at 1.7B EUR after the round", ("1.7B EUR",)),
        ("Anthropic raises $4B from Amazon", ("$4B",)),
        ("The startup raised €105 million", ("€105 million",)),
        ("Nvidia sells 3 million GPUs", ()),
    ],
)
def test_money_amounts(text: str, amounts: tuple[str, ...]) -> None:
    assert EXTRACT(text).amounts == amounts


def test_figures_laws_and_organizations() -> None:
    entities = EXTRACT("Qwen runs 10x faster with a 256K tokens window, 12% cheaper; Microsoft buys 835 MW; "
                       "California signs SB 53 while the EU AI Act and H.R. 1 advance; DeepMind and Google DeepMind")
    assert entities.metrics == ("10x", "256K tokens", "12%", "835 MW")
    assert entities.laws == ("EU AI Act", "SB 53", "H.R. 1")
    assert entities.organizations == ("Microsoft", "Google DeepMind")  # aliases report the canonical name


def test_money_is_not_also_a_figure() -> None:
    entities = EXTRACT("xAI raises $6 billion at a $24 billion valuation, up 20%")
    assert entities.amounts == ("$6 billion", "$24 billion")
    assert entities.metrics == ("20%",)


def test_a_name_tested_after_its_first_character_matches_as_one_tested_before() -> None:
    import itertools
    import re

    from bot.entities import _alternation

    gazetteer = load_gazetteer(CONFIG / "entities.yaml")
    names = [spelling for org in gazetteer.organizations for spelling in (org.name, *org.aliases)]
    for words, not_after in ((names, r"[\w.]"), (list(gazetteer.laws), r"[\w]"),
                             (list(gazetteer.model_families), r"[\w-]"), (["a", "ab", " x", "b.c"], r"[\w]"),
                             (["", "ab"], r"[\w]")):
        before = re.compile(rf"(?<!{not_after})(?:{_alternation(words)})(?![\w])")
        after = re.compile(rf"(?:{_alternation(words, not_after)})(?![\w])")
        for word, lead, tail in itertools.product([*words[:60], "ab"], ["", " ", ".", "x", "-", "é", "("],
                                                  ["", " ", ".", "s", "-"]):
            for text in (f"{lead}{word}{tail}", f"Then {lead}{word.lower()}{tail} and {word.upper()}"):
                assert [m.span() for m in after.finditer(text)] == [m.span() for m in before.finditer(text)], text


def test_the_cheap_tests_before_amounts_figures_and_bills_say_what_their_plain_forms_say() -> None:
    import re

    from bot import entities
    from bot.classify import bundled_examples

    figure = re.compile(r"%|\d\s?[x×](?!\w)|token|param|GPU|chip|user|download|star|GW|MW|TWh|flop|FLOP|language|"
                        r"robot|vehicle|context")
    money = re.compile(r"[$€£¥]|USD|EUR|GBP|RMB|CNY|JPY|INR|dollar|euro|pound|yuan|yen")
    bill = re.compile(r"\b(?:SB|AB|HB|SF|HF|LD|H\.\s?R|S)[\s.]")
    texts = ["10x faster", "10 x", "10\tx", "10 xs", "a 3× gain", "x", "SB 1047", "USB stick", "H. R. 12", "H.R. 5",
             "HB\n2", "S. 3", "ASB 1", "S", "CS.", "SF 7", "LD.", "€5", "¥", "£ 3", "$", "dollars", "AUSD",
             "1x\n", "\u00e9SB 2", "S\u00e9", "_SB 1"]
    texts += [f"{e.title}. {e.summary}" for e in bundled_examples()]
    hits = [0, 0, 0]
    for text in texts:
        assert (entities._FIGURE_CUE.search(text) is None) == (figure.search(text) is None), text
        has_money = entities._has_money(text)
        assert has_money == (money.search(text) is not None), text
        assert (entities._HAS_BILL.search(text) is None) == (bill.search(text) is None), text
        hits = [hits[0] + bool(figure.search(text)), hits[1] + bool(has_money), hits[2] + bool(bill.search(text))]
    assert min(hits) > 10


@pytest.mark.parametrize(("text", "terms"), [
    ("A self-hosted, BSD-native Gemini Protocol server stack", 0),
    ("Gemini North telescope discovers a stellar companion of Betelgeuse", 0),
    ("Serving a capsule over gemini:// with 40 lines of Go", 0),
    ("Claude Shannon's master's thesis, annotated", 0),
    ("Lecture 17: Fun with the Anthropic Principle (2006)", 0),
    ("Anthropic's principle for model welfare", 1),
    ("Gemini now answers in Google Docs", 1),
    ("Comparing Gemini and the Gemini protocol", 1),
    ("Alice ML", 0),
    ("Type inference in Standard ML", 0),
    ("ML for compilers, in Standard ML", 1),
])
def test_a_term_in_another_sense_is_no_sign_of_ai(text: str, terms: int) -> None:
    assert EXTRACTOR.ai_term_count(text) == terms


def test_agent_based_modeling_is_no_sign_of_ai() -> None:
    assert EXTRACTOR.ai_hint_count("Agentscript: Agent Based Modeling in the Browser") == 0
    assert EXTRACTOR.ai_hint_count("Agent-based models of traffic") == 0
    assert EXTRACTOR.ai_hint_count("Agents that browse the web for you") > 0


def test_a_hint_in_another_sense_is_no_sign_of_ai() -> None:
    assert EXTRACTOR.ai_hint_count("Suspect opened fire on Secret Service agents") == 0
    assert EXTRACTOR.ai_hint_count("Amazonbot is finally respecting robots.txt") == 0
    assert EXTRACTOR.ai_term_count("Amazonbot is finally respecting robots.txt") == 0
    assert EXTRACTOR.ai_hint_count("Coding agents ignore robots.txt") == 1
    assert EXTRACTOR.ai_hint_count("Agent-less system monitoring with Elixir") == 0
    assert EXTRACTOR.ai_term_count("AMD's Strix Halo, formerly Ryzen AI Max, poses for die shots") == 0


@pytest.mark.parametrize(("text", "models", "organizations"), [
    ("It's official: Europe turns to the Falcon 9 to launch its navigation satellites", (), ()),
    ("A Falcon Heavy lifts a weather satellite", (), ()),
    ("TII releases Falcon 3 in four sizes", ("Falcon 3",), ()),
    ("Lecture 17: Fun with the Anthropic Principle (2006)", (), ()),
    ("Cutting-Edge Chinese 'Reasoning' Model Rivals OpenAI O1", ("O1",), ("OpenAI",)),
    ("How I got an O1 visa as a founder", (), ()),
    ("Micron Launches First 60TB PCIe Gen5 SSD with 12GB/S Read Speeds", (), ()),
    ("Runway's Gen-4 makes consistent characters", ("Gen-4",), ("Runway",)),
    ("Anthropic's principle for model welfare", (), ("Anthropic",)),
])
def test_a_name_in_another_sense_names_no_model_or_organization(
        text: str, models: tuple[str, ...], organizations: tuple[str, ...]) -> None:
    found = EXTRACTOR.extract(text)
    assert found.models == models
    assert found.organizations == organizations


@pytest.mark.parametrize(("text", "models"), [
    ("Meta Platforms To Launch Small Versions of Llama 3 Next Week", ("Llama 3",)),
    ("Qwen3 Next is here", ("Qwen3 Next",)),
    ("Qwen3-Next-80B-A3B, the next release", ("Qwen3-Next-80B-A3B",)),
])
def test_next_before_a_span_of_time_is_no_variant(text: str, models: tuple[str, ...]) -> None:
    assert EXTRACTOR.extract(text).models == models
