from __future__ import annotations

import itertools
import random
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.briefing.compose import ComposeOptions, baseline_of, compose, history_days, in_window, plan_stories
from bot.briefing.facts import events_in, launches_model
from bot.briefing.quality import boilerplate_summary, filler
from bot.briefing.synthesis import Baseline
from bot.entities import load_gazetteer
from bot.models import Briefing, ClassifiedItem, Entities, Item, Story
from bot.offline import ComposeRequest, compose_offline
from bot.settings import Settings
from bot.taxonomy import Taxonomy

ROOT = Path(__file__).resolve().parents[3]
DAY_FILE = ROOT / "tests" / "fixtures" / "briefing-day.jsonl"
NOW = datetime(2026, 4, 30, 8, 0, tzinfo=UTC)
GAZETTEER = load_gazetteer(ROOT / "config" / "entities.yaml")
MAKERS = GAZETTEER.makers


def _item(n: int, topic: str, importance: float, *, story: str = "", source: str = "src", title: str = "",
          summary: str = "", hours: float | None = None, url: str = "", points: int | None = None,
          backfill: bool = False, topics: tuple[str, ...] = (), about_ai: bool | None = True,
          **entities: tuple[str, ...]) -> ClassifiedItem:
    base = Item(url=url or f"https://news.{source}.test/{n}", title=title or f"Story {n:02d}", source=source,
                source_name=source.title(), published=NOW - timedelta(hours=n if hours is None else hours),
                summary=summary or f"Sentence one of story {n} says what happened. Sentence two of story {n} adds "
                                   "detail.",
                points=points, backfill=backfill)
    return ClassifiedItem.from_item(base, topics=list(topics or (topic,)), importance=importance, story_id=story,
                                    entities=Entities(**entities), about_ai=about_ai)


def _compose(items: list[ClassifiedItem], taxonomy: Taxonomy, **options: object) -> Briefing:
    return compose(items, taxonomy, channel="slack:C1", day=date(2026, 4, 30),
                   options=ComposeOptions(makers=MAKERS, publishers=GAZETTEER.publishers, **options))  # type: ignore[arg-type]


def _stories(briefing: Briefing) -> list[Story]:
    return [story for section in briefing.sections for story in section.stories]


def _bullets(briefing: Briefing, title: str) -> str:
    return " ".join(next(s for s in _stories(briefing) if s.title == title).why_it_matters)


@pytest.fixture(scope="module")
def day() -> Briefing:
    """The fixture day (real events of September 2025) composed offline, as `ai-news compose` does."""
    settings = Settings(_env_file=None, ainews_config_dir=ROOT / "config")  # type: ignore[call-arg]
    result = compose_offline(settings, DAY_FILE.read_text().splitlines(), ComposeRequest(day=date(2025, 9, 30)))
    assert result.errors == []
    return result.briefing


def test_sections_follow_taxonomy_order_and_themes_agree(taxonomy: Taxonomy) -> None:
    items = [_item(1, "tools", 0.2), _item(2, "models", 0.3), _item(3, "models", 0.9), _item(4, "regulation", 0.5)]
    briefing = _compose(items, taxonomy)
    assert [s.topic for s in briefing.sections] == ["models", "regulation", "tools"]
    assert [s.title for s in briefing.sections[0].stories] == ["Story 03", "Story 02"]
    # Title, summary and key developments name the same themes in the same order: the lead theme first.
    assert briefing.title == "Models, Policy and Developer Tools"
    assert briefing.executive_summary.startswith("The day's main themes are models, policy and developer tools.")
    assert [k.title for k in briefing.key_developments] == ["Story 03", "Story 04", "Story 01"]
    assert len(briefing.sources) == 4


def test_not_about_ai_never_enters_but_its_story_does(taxonomy: Taxonomy) -> None:
    golf = _item(1, "research", 0.9, title="Show HN: I mapped every US golf course", about_ai=False)
    law = _item(2, "regulation", 0.7, title="California enacts SB 53, an AI safety law", story="sb53")
    echo = _item(3, "regulation", 0.6, title="California's SB 53 is now law", story="sb53", about_ai=False,
                 source="hn", url="https://news.ycombinator.com/item?id=1")
    old = _item(4, "models", 0.8, title="A model from a first poll", backfill=True)
    briefing = _compose([golf, law, echo, old], taxonomy)
    assert [s.title for s in _stories(briefing)] == [law.title]
    assert [link.source for link in _stories(briefing)[0].sources] == ["Src", "Hacker News"]
    assert [s.title for s in _stories(_compose([old], taxonomy, include_backfill=True))] == [old.title]


def test_one_link_is_one_source_and_sources_count_by_publisher(taxonomy: Taxonomy) -> None:
    url = "https://x.ai/news/grok-imagine-video"
    lab = _item(1, "products", 0.6, title="Imagine Video 1.5", url=url, source="xai-news")
    mirror = _item(2, "products", 0.6, title="Imagine Video 1.5", url=url, source="ai-research-feed")
    briefing = _compose([lab, mirror], taxonomy)
    story = _stories(briefing)[0]
    assert len(story.sources) == 1 and story.sources[0].source == "xAI"
    assert story.importance == 0.6  # no coverage bonus for a second copy of one link
    reports = [_item(n, "models", 0.8 - n / 100, story="s1", source=f"outlet{n}") for n in (1, 2, 3)]
    merged = _stories(_compose(reports, taxonomy))
    assert len(merged) == 1 and len(merged[0].sources) == 3 and merged[0].importance == 0.89


def test_the_same_event_is_one_story(taxonomy: Taxonomy) -> None:
    a = _item(1, "robotics", 0.7, title="Sunday Robotics releases ACT-2 Preview", source="a")
    b = _item(2, "robotics", 0.6, title="Sunday Robotics co-founder releases ACT-2 Preview", source="b")
    qwen_a = _item(3, "models", 0.8, title="Alibaba ships Qwen3-Next-80B-A3B", models=("Qwen3-Next-80B-A3B",),
                   source="c")
    qwen_b = _item(4, "models", 0.7, title="Qwen3-Next 80B-A3B benchmarks are in", models=("Qwen3-Next 80B-A3B",),
                   source="d")
    other = _item(5, "models", 0.75, title="Alibaba ships Qwen2.5-Max", models=("Qwen2.5-Max",), source="e")
    stories = _stories(_compose([a, b, qwen_a, qwen_b, other], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 2, 2]
    titles = {s.title for s in stories}
    assert titles == {a.title, qwen_a.title, other.title}


def test_two_outlets_wording_one_deal_between_the_same_parties_is_one_story(taxonomy: Taxonomy) -> None:
    a = _item(1, "infrastructure", 0.7, title="OpenAI unveils its first custom chip, built by Broadcom", source="a",
              organizations=("OpenAI", "Broadcom"))
    b = _item(2, "infrastructure", 0.6, title="OpenAI Unveils First Chip As Part of Broadcom Deal", source="b",
              organizations=("OpenAI", "Broadcom"))
    # Half the words too, but one organization in common: two events.
    c = _item(3, "business", 0.6, title="OpenAI unveils its first data center deal, built by Oracle", source="c",
              organizations=("OpenAI", "Oracle"))
    stories = _stories(_compose([a, b, c], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 2]


def test_two_fifths_of_the_words_and_one_organization_with_an_unusual_word_are_one_story(taxonomy: Taxonomy) -> None:
    a = _item(1, "business", 0.7, title="More than a quarter of all new code at Google is generated by AI", source="a",
              organizations=("Google",))
    b = _item(2, "business", 0.6, source="b", organizations=("Google",),
              title="Google CEO says more than a quarter of the company's new code is created by AI")
    # The same words about another company: another event.
    c = _item(3, "business", 0.6, title="More than a quarter of new code at Microsoft is generated by AI", source="c",
              organizations=("Microsoft",))
    # A day when "code" is a common word: only "quarter" is unusual.
    others = [_item(4 + n, "tools", 0.3, title=f"Reading code {topic}", source=f"o{n}")
              for n, topic in enumerate(("in Rust", "on a phone", "aloud", "slowly"))]
    stories = _stories(_compose([a, b, c, *others], taxonomy))
    assert sorted(len(s.sources) for s in stories if "quarter" in s.title) == [1, 2]


def test_a_headline_on_an_organizations_new_model_joins_its_launch_that_day(taxonomy: Taxonomy) -> None:
    launch = _item(1, "models", 0.8, title="OpenAI Releases o1, Its First Model With 'Reasoning' Abilities",
                   source="slashdot", organizations=("OpenAI",), models=("o1",))
    faked = _item(2, "safety", 0.6, title="OpenAI's new models 'instrumentally faked alignment'", source="transformer",
                  organizations=("OpenAI",))
    # Another organization's new model, and the same words two days later: other events.
    other = _item(3, "models", 0.5, title="Google's new model writes poems", source="verge", organizations=("Google",))
    later = _item(4, "safety", 0.5, title="OpenAI's new model refuses less", source="wired", hours=50,
                  organizations=("OpenAI",))
    stories = _stories(_compose([launch, faked, other, later], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 2]
    joined = next(s for s in stories if len(s.sources) == 2)
    assert {link.url for link in joined.sources} == {launch.url, faked.url}


def test_one_versioned_name_in_two_headlines_within_a_day_is_one_story(taxonomy: Taxonomy) -> None:
    post = _item(1, "infrastructure", 0.7, title="Intel Gaudi 3 AI Accelerator", source="intel",
                 organizations=("Intel",))
    report = _item(2, "infrastructure", 0.6, title="Intel Says New Gaudi 3 AI Chips Top Nvidia H100s in Speed and Cost",
                   source="slashdot", organizations=("Intel", "NVIDIA"))
    size = _item(3, "models", 0.6, title="Mixtral 8x22B Model", source="x", models=("Mixtral 8x22B",))
    launch = _item(4, "models", 0.5, title="Mistral AI Launches New 8x22B MoE Model", source="y",
                   organizations=("Mistral AI",))
    # Another company's chip of the same number, the same name three days later, and two pieces of commentary on one
    # model (the model rules decide those): other stories.
    other = _item(5, "infrastructure", 0.5, title="AMD Says Its Gaudi 3 Rival Ships Soon", source="z",
                  organizations=("AMD",))
    later = _item(6, "infrastructure", 0.4, title="Gaudi 3 benchmarks, revisited", source="w", hours=80)
    snitch = _item(7, "safety", 0.4, title="Grok 4 will always snitch on you", source="v", models=("Grok 4",))
    prompt = _item(8, "safety", 0.4, title="Grok 4 Heavy protects its system prompt", source="u", models=("Grok 4",))
    stories = _stories(_compose([post, report, size, launch, other, later, snitch, prompt], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 1, 1, 2, 2]


def test_one_model_and_an_unusual_word_within_a_day_are_one_story(taxonomy: Taxonomy) -> None:
    one = _item(1, "tools", 0.7, title="Reproducing GPT-2 in llm.c", source="github", models=("GPT-2",))
    two = _item(2, "tools", 0.6, title="Reproduce GPT-2 (124M) in llm.c in 90 minutes for $20", source="x",
                models=("GPT-2",))
    # Two pieces of commentary sharing only the model's name and its parts stay apart.
    heavy = _item(3, "safety", 0.5, title="Grok 4 Heavy protects its system prompt", source="y", models=("Grok 4",))
    snitch = _item(4, "safety", 0.5, title="Grok 4 will always snitch on you", source="z", models=("Grok 4",))
    stories = _stories(_compose([one, two, heavy, snitch], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 2]


def test_a_persons_own_post_and_the_report_naming_them_are_one_story(taxonomy: Taxonomy) -> None:
    post = _item(1, "business", 0.7, title="I’ve joined Anthropic", summary=" ", source="hn",
                 url="https://twitter.com/karpathy/status/2056753169888334312", organizations=("Anthropic",))
    report = _item(2, "business", 0.6, title="OpenAI Co-Founder Andrej Karpathy Joins Anthropic", source="slashdot",
                   organizations=("OpenAI", "Anthropic"))
    # Another person's post about the same company, and a report not naming the author: separate events.
    other = _item(3, "business", 0.5, title="I’m leaving Anthropic after five years", source="lobsters",
                  url="https://x.com/someoneelse/status/1", organizations=("Anthropic",))
    news = _item(4, "business", 0.5, title="Anthropic hires a new policy chief", source="verge",
                 organizations=("Anthropic",))
    stories = _stories(_compose([post, report, other, news], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 2]
    joined = next(s for s in stories if len(s.sources) == 2)
    assert {link.url for link in joined.sources} == {post.url, report.url}


def test_two_reports_of_one_service_down_are_one_outage(taxonomy: Taxonomy) -> None:
    auth = _item(1, "products", 0.6, title="Claude Auth Is Down", source="a", hours=3)
    seems = _item(2, "products", 0.5, title="Claude Seems Down", source="b", hours=3.1)
    # Another service down the same hour, and the same service down again the next day: other outages.
    github = _item(3, "products", 0.5, title="GitHub is down", source="c", hours=3.2)
    later = _item(4, "products", 0.4, title="Claude is down again", source="d", hours=20)
    stories = _stories(_compose([auth, seems, github, later], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 2]


def test_two_headlines_on_one_unusual_subject_are_one_story(taxonomy: Taxonomy) -> None:
    says = _item(1, "regulation", 0.6, title="Trump Says AI Is Now Super Intelligence. What's Really Super Is The "
                 "Internet Response", source="soylent", hours=4)
    hosts = _item(2, "regulation", 0.5, title="Trump Hosts AI CEOs to Discuss Safety Standards, Rebrands AI as "
                  "'Super Intelligence'", source="slashdot", hours=10)
    # Two other stories sharing two words few of the day's headlines hold but headlines at large often do, and one
    # hyphenated name ("open-source") counting once.
    boats = _item(3, "robotics", 0.5, title="Humanoid robot startup opens in Austin", source="a", hours=5)
    ferry = _item(4, "robotics", 0.5, title="Robot startup from Munich shows a warehouse arm", source="b", hours=6)
    framework = _item(5, "safety", 0.5, title="An open-source framework for AI-powered vulnerability discovery",
                      source="c", hours=5)
    review = _item(6, "tools", 0.5, title="Alibaba's open-source AI-powered code review", source="d", hours=6)
    # The same words a day and more apart: another event.
    again = _item(7, "regulation", 0.4, title="Trump repeats Super Intelligence claim", source="e", hours=40)
    stories = _stories(_compose([says, hosts, boats, ferry, framework, review, again], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 1, 1, 1, 2]
    joined = next(s for s in stories if len(s.sources) == 2)
    assert {link.url for link in joined.sources} == {says.url, hosts.url}


def test_a_model_family_named_in_several_words_counts_as_one_unusual_word(taxonomy: Taxonomy) -> None:
    suit = _item(1, "regulation", 0.6, title="Getty Images Is Suing Stable Diffusion for a Staggering $1.8T",
                 source="hn", hours=4, organizations=("Getty Images",))
    paper = _item(2, "research", 0.5, title="Paper: Stable Diffusion “Memorizes” Some Images, Sparking Privacy "
                  "Concerns", source="slashdot", hours=6)
    # "Stable Diffusion" and "images": two shared words, not three; and no model's name besides makes two reports of
    # one paper apart.
    again = _item(3, "research", 0.4, title="Stable Diffusion memorizes some images of its training data, "
                  "researchers find", source="soylent", hours=8)
    stories = _stories(_compose([suit, paper, again], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 2]
    joined = next(s for s in stories if len(s.sources) == 2)
    assert {link.url for link in joined.sources} == {paper.url, again.url}


def test_a_story_is_led_by_the_announcement_of_its_model(taxonomy: Taxonomy) -> None:
    quirk = _item(1, "tools", 0.8, story="s1", title="Claude 2.1 refuses to kill a Python process", source="hn",
                  hours=2, models=("Claude 2.1",))
    launch = _item(2, "models", 0.6, story="s1", title="Anthropic announces Claude 2.1 - 200k context, less refusals",
                   source="anthropic", hours=8, models=("Claude 2.1",), organizations=("Anthropic",))
    stories = _stories(_compose([quirk, launch], taxonomy))
    assert [s.title for s in stories] == [launch.title]


def test_two_words_headlines_seldom_use_are_one_story(taxonomy: Taxonomy) -> None:
    pulls = _item(1, "business", 0.6, title="AI Is Wrecking Young Americans' Job Prospects", source="hn", hours=4)
    slop = _item(2, "business", 0.5, title="AI Is Crushing Young Workers' Employment Prospects, Stanford Study Finds",
                 source="slashdot", hours=5)
    boats = _item(3, "robotics", 0.5, title="Autonomous ferry crosses the Baltic", source="a", hours=5)
    ferry = _item(4, "robotics", 0.5, title="Ferry operator tests autonomous docking", source="b", hours=6)
    # The same two words more than a day apart: another event.
    again = _item(5, "robotics", 0.4, title="Autonomous ferry line opens in Oslo", source="c", hours=40)
    items = [pulls, slop, boats, ferry, again]
    # The rule, whatever words the shipped list holds as it grows: here headlines at large use none of these.
    stories = _stories(_compose(items, taxonomy, common_words=frozenset({"ai", "worker", "study", "line", "opens"})))
    assert sorted(len(s.sources) for s in stories) == [1, 2, 2]
    assert {link.url for s in stories if len(s.sources) == 2 for link in s.sources} == {
        pulls.url, slop.url, boats.url, ferry.url}
    # Where headlines at large use those words all the time, two of them say nothing by themselves: the ferries part;
    # the two headlines on young people's prospects still mean nearly the same, which keeps them one story.
    common = frozenset({"young", "prospect", "autonomou", "ferry"})
    drafts = plan_stories(items, ComposeOptions(common_words=common))
    assert sorted(len(d.items) for d in drafts) == [1, 1, 1, 2]
    assert {i.url for d in drafts if len(d.items) == 2 for i in d.items} == {pulls.url, slop.url}


def test_the_shipped_common_headline_words_are_those_of_the_shipped_data() -> None:
    from bot.briefing.headlines import bundled_common_words, common_words
    from bot.relevance import bundled_relevance_examples

    assert bundled_common_words() == common_words(e.title for e in bundled_relevance_examples()), (
        "labeled data changed: run `ai-news train` and commit")
    assert {"openai", "robot", "funding", "launche"} <= bundled_common_words()


def test_a_common_word_is_one_in_a_share_of_the_headlines_however_many_there_are() -> None:
    from bot.briefing.headlines import COMMON_SHARE, common_words

    def headlines(total: int, with_word: int) -> list[str]:
        return [f"Ferry {n} sails" if n < with_word else f"Story number {n}" for n in range(total)]

    per = round(1 / COMMON_SHARE)
    assert "ferry" in common_words(headlines(per * 10, 11))  # more than one in `per`
    assert "ferry" not in common_words(headlines(per * 10, 10))
    assert "ferry" not in common_words(headlines(per * 20, 11))  # the same count is no longer common in more


def test_two_unusual_words_are_enough_when_both_headlines_name_the_same_organizations(taxonomy: Taxonomy) -> None:
    essay = _item(1, "safety", 0.6, title="Anthropic's 'Watermark' Text Adulteration in Claude Is a Perversion of "
                  "Writing", source="hn", hours=4, organizations=("Anthropic",))
    report = _item(2, "safety", 0.5, title="Anthropic Criticized For Adding Watermarks to Text that Claude "
                   "Generates", source="slashdot", hours=8, organizations=("Anthropic",))
    # Anthropic and Claude are in many of the day's headlines: only "watermark" and "text" are unusual.
    others = [_item(n, "products", 0.4, title=title, source=f"s{n}", hours=n, organizations=("Anthropic",))
              for n, title in ((3, "Anthropic ships Claude for Excel"),
                               (4, "Claude gets a plugin store, Anthropic says"),
                               (5, "Anthropic opens a Claude office in Tokyo"))]
    # Two unusual words again, but no organization named, or one named by one headline only: two events each.
    servers = _item(6, "tools", 0.5, title="I graded 36 popular MCP servers", source="c", hours=5)
    escape = _item(7, "safety", 0.5, title="Escape injection in MCP servers", source="d", hours=6)
    memory = _item(8, "products", 0.5, title="Microsoft brings Copilot memory to Word", source="e", hours=5,
                   organizations=("Microsoft",))
    leak = _item(9, "safety", 0.5, title="Copilot memory leaks chats, researchers say", source="f", hours=6)
    # The organization's own name is not one of the two words.
    earth = _item(10, "products", 0.5, title="Google Earth AI expanding access around the globe", source="g", hours=5,
                  organizations=("Google",))
    cloud = _item(11, "infrastructure", 0.5, title="Expanding Our Use of Google Cloud TPUs and Services", source="h",
                  hours=6, organizations=("Google",))
    stories = _stories(_compose([essay, report, *others, servers, escape, memory, leak, earth, cloud], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1] * 9 + [2]
    joined = next(s for s in stories if len(s.sources) == 2)
    assert {link.url for link in joined.sources} == {essay.url, report.url}


def test_one_coined_name_is_enough_when_both_headlines_name_the_same_organizations(taxonomy: Taxonomy) -> None:
    post = _item(1, "tools", 0.6, title="OpenAI Is Adopting MCP", source="twitter", hours=4, organizations=("OpenAI",))
    docs = _item(2, "tools", 0.5, title="OpenAI adds MCP support to Agents SDK", source="github", hours=5,
                 organizations=("OpenAI",))
    # A common acronym is not a coined name; one named by headlines of two organizations is not one event.
    prices = _item(3, "products", 0.5, title="Google cuts its API prices", source="a", hours=5,
                   organizations=("Google",))
    batch = _item(4, "tools", 0.5, title="Google API gets a batch mode", source="b", hours=6, organizations=("Google",))
    rival = _item(5, "tools", 0.5, title="Microsoft ships an MCP registry", source="c", hours=6,
                  organizations=("Microsoft",))
    stories = _stories(_compose([post, docs, prices, batch, rival], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 1, 2]
    joined = next(s for s in stories if len(s.sources) == 2)
    assert {link.url for link in joined.sources} == {post.url, docs.url}


def test_a_legal_fight_is_a_legal_dispute_not_always_a_court_case(taxonomy: Taxonomy) -> None:
    # An arbitration is no court case: the theme says what all of them are.
    dispute = _item(1, "regulation", 0.9, title="Chatbot maker forced a family into arbitration over a $100 payout",
                    summary="The family says the company forced arbitration after the incident.")
    briefing = _compose([dispute, _item(2, "models", 0.3)], taxonomy)
    assert briefing.title.startswith("Legal Disputes")
    assert "court" not in briefing.title.lower() + briefing.executive_summary.lower()


def test_the_fields_own_words_do_not_make_two_papers_one_event(taxonomy: Taxonomy) -> None:
    # "Large language models" in two headlines of a quiet day: rare that day, but no sign of one event.
    who = _item(1, "research", 0.5, title="Do Large Language Models know who did what to whom?", source="a", hours=5)
    tuning = _item(2, "research", 0.5, title="Inference-Aware Fine-Tuning for Best-of-N Sampling in Large Language "
                   "Models", source="b", hours=6)
    titles = {s.title for s in _stories(_compose([who, tuning], taxonomy))}
    assert titles == {who.title, tuning.title}


def test_one_article_under_two_links_and_two_headlines_is_one_story(taxonomy: Taxonomy) -> None:
    story = "https://news.slashdot.org/story/25/02/25/1351212"
    sues = _item(1, "regulation", 0.6, title="Chegg Sues Google For Hurting Traffic With AI", source="slashdot",
                 hours=5, url=f"{story}/chegg-sues-google-for-hurting-traffic-with-ai?utm_source=rss1.0",
                 organizations=("Chegg", "Google"))
    review = _item(2, "business", 0.5, title="Chegg To Initiate Business Review Amid AI-Shift in Education Tech",
                   source="slashdot", hours=5,
                   url="https://slashdot.org/story/25/02/25/1351212/chegg-to-initiate-business-review",
                   organizations=("Chegg",))
    # Another story id of the same day, and a site whose paths are only slugs: other articles.
    other = _item(3, "business", 0.5, title="Chegg shares fall after the lawsuit", source="slashdot", hours=6,
                  url="https://slashdot.org/story/25/02/25/1402000/chegg-shares-fall", organizations=("Chegg",))
    blog = _item(4, "tools", 0.5, title="Notes on Chegg's traffic", source="blog", hours=6,
                 url="https://blog.test/story/25/02/25/1351212/notes")
    titles = sorted(s.title for s in _stories(_compose([sues, review, other, blog], taxonomy)))
    assert len(titles) == 3
    assert {"Chegg shares fall after the lawsuit", "Notes on Chegg's traffic"} < set(titles)
    assert len({sues.title, review.title} & set(titles)) == 1


def test_a_coined_compound_name_is_one_event_when_no_organization_conflicts(taxonomy: Taxonomy) -> None:
    paper = _item(1, "research", 0.6, title="SWE-Lancer: Can Frontier LLMs Earn $1 Million from Freelance Work?",
                  source="lobsters", hours=4)
    news = _item(2, "models", 0.5, title="OpenAI Announces New SWE-Lancer Benchmark", source="hn", hours=5,
                 organizations=("OpenAI",))
    # A Title Case compound is no name.
    swiss = _item(3, "models", 0.5, title="Switzerland Releases Open-Source AI Model", source="a", hours=5)
    voice = _item(4, "models", 0.5, title="Microsoft Releases Open-Source Voice Model", source="b", hours=6,
                  organizations=("Microsoft",))
    titles = {s.title for s in _stories(_compose([paper, news, swiss, voice], taxonomy))}
    assert len(titles) == 3
    assert len({paper.title, news.title} & titles) == 1


def test_one_buyers_acquisition_reported_twice_in_a_day_is_one_story(taxonomy: Taxonomy) -> None:
    own = _item(1, "business", 0.7, title="OpenAI Acquires Software Applications Incorporated, Maker of Sky",
                source="openai", hours=5, organizations=("OpenAI",))
    report = _item(2, "business", 0.6, title="OpenAI Buys AI Startup That Built Interface For Apple Computers",
                   source="slashdot", hours=12, organizations=("OpenAI", "Apple"))
    # Another buyer the same day, the same buyer two days later, and a buyer named second: other deals.
    other = _item(3, "business", 0.6, title="Anthropic acquires a coding startup", source="a", hours=6,
                  organizations=("Anthropic",))
    later = _item(4, "business", 0.5, title="OpenAI acquires a robotics company", source="b", hours=60,
                  organizations=("OpenAI",))
    bought = _item(5, "business", 0.5, title="Apple acquires OpenAI's hardware partner", source="c", hours=7,
                   organizations=("Apple", "OpenAI"))
    stories = _stories(_compose([own, report, other, later, bought], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 1, 2]
    joined = next(s for s in stories if len(s.sources) == 2)
    assert {link.url for link in joined.sources} == {own.url, report.url}


def test_headlines_of_one_organization_that_mean_the_same_are_one_story(taxonomy: Taxonomy) -> None:
    amount = _item(1, "business", 0.7, title="Microsoft In Talks To Invest $10 Billion In ChatGPT Owner",
                   source="slashdot", hours=5, organizations=("Microsoft",))
    stake = _item(2, "business", 0.6, title="Microsoft in talks to acquire a 49% stake in ChatGPT owner OpenAI",
                  source="hn", hours=9, organizations=("Microsoft", "OpenAI"))
    # Two pieces on one company that mean different things stay apart.
    recall = _item(3, "products", 0.5, title="Microsoft's AI chatbot will 'recall' everything you do on a PC",
                   source="a", hours=6, organizations=("Microsoft",))
    game = _item(4, "products", 0.5, title="Microsoft's AI will be inside Minecraft, and other Xbox and PC games",
                 source="b", hours=7, organizations=("Microsoft",))
    stories = _stories(_compose([amount, stake, recall, game], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 2]
    joined = next(s for s in stories if len(s.sources) == 2)
    assert {link.url for link in joined.sources} == {amount.url, stake.url}


def test_one_figure_written_two_ways_is_one_number(taxonomy: Taxonomy) -> None:
    short = _item(1, "business", 0.7, title="Perplexity Makes Longshot $34.5B Offer for Chrome", source="wsj")
    long = _item(2, "business", 0.6, title="Perplexity Makes Longshot $34.5 Billion Offer for Chrome", source="sd")
    other = _item(3, "business", 0.5, title="Perplexity Makes Longshot $40B Offer for Chrome", source="x", hours=30)
    stories = _stories(_compose([short, long, other], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 2]


def test_thousands_written_as_a_letter_or_in_full_are_one_number(taxonomy: Taxonomy) -> None:
    letter = _item(1, "infrastructure", 0.7, title="Chipmaker announces $3k personal AI supercomputer",
                   source="verge", organizations=("Chipmaker",))
    full = _item(2, "infrastructure", 0.6, title="Chipmaker Unveils $3,000 Personal AI Supercomputer", source="sd",
                 organizations=("Chipmaker",))
    dearer = _item(3, "infrastructure", 0.5, title="Chipmaker Unveils $4,000 Personal AI Supercomputer",
                   source="x", organizations=("Chipmaker",))
    stories = _stories(_compose([letter, full, dearer], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 2]
    from bot.briefing.compose import _headline_value

    assert {_headline_value(n) for n in ("3,000", "3", "10,000", "2025", "1,500", "0.6.1")} == {
        "3", "10", "2025", "1500", "0.6.1"}


def test_two_pieces_of_commentary_on_one_model_are_two_stories(taxonomy: Taxonomy) -> None:
    joke = _item(1, "models", 0.6, title="GPT-5 is a joke. Will it matter?", models=("GPT-5",), source="hn")
    energy = _item(2, "safety", 0.5, title="OpenAI Will Not Disclose GPT-5's Energy Use", models=("GPT-5",),
                   source="soylent", organizations=("OpenAI",))
    # A headline that is the model's name, or one that reports its launch, joins the other reports on it.
    update = _item(3, "models", 0.7, title="DeepSeek-V4-Flash Update", models=("DeepSeek-V4-Flash",), source="a")
    analysis = _item(4, "models", 0.6, title="DeepSeek V4 Flash: Intelligence, Performance and Price Analysis",
                     models=("DeepSeek V4 Flash",), source="b")
    stories = _stories(_compose([joke, energy, update, analysis], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 2]


def test_a_story_never_compares_a_model_with_itself(taxonomy: Taxonomy) -> None:
    kimi = _item(1, "models", 0.9, title="Moonshot releases Kimi K3",
                 summary="Kimi K3 outperforms Kimi-K3 Preview and GPT-5 on agentic coding benchmarks by 12%.",
                 models=("Kimi K3", "Kimi-K3", "GPT-5"), organizations=("Moonshot AI",))
    bullets = _bullets(_compose([kimi], taxonomy), kimi.title)
    assert "set against" not in bullets and "Kimi K3 is" not in bullets


def test_summaries_skip_boilerplate_and_are_absent_without_text(taxonomy: Taxonomy) -> None:
    repo = _item(1, "tools", 0.6, title="qm – Multiplayer agent harness for work",
                 summary="Multiplayer agent harness for work. Contribute to yc-software/qm development by creating "
                         "an account on GitHub.", url="https://github.com/yc-software/qm")
    hf = _item(2, "tools", 0.5, title="A new Hugging Face Space",
               summary="We're on a journey to advance and democratize artificial intelligence through open source "
                       "and open science.")
    bare = _item(3, "models", 0.7, title="GLM-5.3 Soon", summary="GLM-5.3 Soon")
    story = _item(4, "models", 0.8, title="Mistral releases Pixtral 12B",
                  summary="Thanks to our partners for their support. Pixtral 12B reads images and text and runs on "
                          "one GPU. Posted on Friday 21 Aug 2026.")
    briefing = _compose([repo, hf, bare, story], taxonomy)
    summaries = {s.title: s.summary for s in _stories(briefing)}
    assert summaries[repo.title] == "" and summaries[hf.title] == "" and summaries[bare.title] == ""
    assert summaries[story.title] == "Pixtral 12B reads images and text and runs on one GPU."
    assert not any(boilerplate_summary(s.summary, s.title) for s in _stories(briefing))


def test_facts_carry_their_roles(taxonomy: Taxonomy) -> None:
    fireworks = _item(1, "business", 0.9, title="Fireworks AI raises $250 million at a $17.5B valuation",
                      summary="The inference startup now has $1B in annualized revenue, it said.",
                      amounts=("$250 million", "$17.5B", "$1B"))
    text = _bullets(_compose([fireworks], taxonomy), fireworks.title)
    assert "Fireworks AI raised $250 million, which values it at $17.5B." in text
    assert "about 18 times its revenue" in text
    assert "$1B of new money" not in text and "$17.5B of new money" not in text


def test_events_need_evidence(taxonomy: Taxonomy) -> None:
    pundit = _item(1, "business", 0.9, title="Why OpenAI should acquire Cursor",
                   summary="A merger would give OpenAI the best coding tool.", organizations=("OpenAI", "Cursor"))
    leak = _item(2, "safety", 0.8, title="Leaked transcript shows what OpenAI told investors",
                 summary="A recording of the call leaked on Monday.", organizations=("OpenAI",))
    german = _item(3, "business", 0.7, title="German gets $55 million for its AI lab",
                   summary="Investors put $55 million into the company.", amounts=("$55 million",))
    briefing = _compose([pundit, leak, german], taxonomy)
    every = " ".join(b for s in _stories(briefing) for b in s.why_it_matters)
    assert "acqui" not in every and "belongs to" not in every
    assert "exposed" not in every and "affected" not in every
    assert "German" not in every


def test_bullets_from_sizes_and_deals_and_never_filler(taxonomy: Taxonomy) -> None:
    pixtral = _item(1, "models", 0.9, title="Mistral releases Pixtral 12B, its first multimodal model",
                    summary="The model has open weights under the Apache 2.0 license. It handles a 128K token "
                            "context window.", models=("Pixtral 12B",), organizations=("Mistral AI",),
                    metrics=("128K token",))
    qwen = _item(2, "models", 0.8, title="Alibaba releases Qwen3-Next-80B-A3B", summary="It is fast.",
                 models=("Qwen3-Next-80B-A3B",), organizations=("Alibaba",))
    raise_a = _item(3, "business", 0.7, title="Figure AI raises $1 billion", summary="Investors piled in.",
                    organizations=("Figure AI",), amounts=("$1 billion",))
    raise_b = _item(4, "business", 0.6, title="Mistral AI raises $350 million to build data centers in France",
                    summary="Investors piled in again.", organizations=("Mistral AI",), amounts=("$350 million",))
    briefing = _compose([pixtral, qwen, raise_a, raise_b], taxonomy)
    assert "At 12B parameters, Pixtral 12B is small enough to run on a single GPU" in _bullets(briefing, pixtral.title)
    assert "weights are open" in _bullets(briefing, pixtral.title)
    assert "Mistral AI's API" in _bullets(briefing, pixtral.title)
    assert "activates only 3B of its 80B parameters" in _bullets(briefing, qwen.title)
    assert "$1 billion is the largest of the 2 funding rounds in today's briefing" in _bullets(briefing, raise_a.title)
    assert "Mistral AI raised $350 million to build data centers in France." in _bullets(briefing, raise_b.title)
    assert not any(filler(b) for s in _stories(briefing) for b in s.why_it_matters)


def test_tables_hold_only_rows_of_their_kind(taxonomy: Taxonomy) -> None:
    pixtral = _item(1, "models", 0.9, title="Mistral releases Pixtral 12B", summary="It reads images and text.",
                    models=("Pixtral 12B",))
    sonnet = _item(2, "models", 0.8, title="Anthropic releases Claude Sonnet 4.5",
                   summary="It scores 77.2% on SWE-bench Verified.", models=("Claude Sonnet 4.5",),
                   metrics=("77.2%",))
    art = _item(3, "models", 0.7, title="GPT-5.5 Pro compared abstract text-art shapes to O'Keeffe paintings",
                summary="A blogger asked GPT-5.5 Pro about art.", models=("GPT-5.5 Pro",), metrics=("40%",))
    table = _compose([pixtral, sonnet, art], taxonomy).sections[0].table
    assert table is not None
    assert table.columns == ("Model", "Maker", "What is new", "Headline figure", "Source")
    assert [row[:2] for row in table.rows] == [("Pixtral 12B", "Mistral AI"), ("Claude Sonnet 4.5", "Anthropic")]
    assert table.rows[0][3] == "12B parameters" and table.rows[1][3] == "77.2%"
    papers = [_item(n, "research", 0.5 - n / 100, title=f"Paper {n:02d}", url=f"https://arxiv.org/abs/2604.0{n}",
                    summary=f"Agents forget things. We propose method {n} that remembers them better.",
                    source="arxiv-cs-ai") for n in (1, 2)]
    research = _compose(papers, taxonomy).sections[0]
    assert research.table is not None and research.table.columns == ("Paper", "Area", "Contribution", "Source")
    assert research.table.rows[0] == ("Paper 01", "AI", "We propose method 1 that remembers them better.", "arXiv")
    # Headlines alone: the title's subtitle says what a paper does, else the cell is a dash (never the title again).
    bare = [_item(n, "research", 0.5 - n / 100, title=title, url=f"https://arxiv.org/abs/2510.1{n}", summary=" ",
                  source="hn") for n, title in ((1, "Fast-DLLM: Training-Free Acceleration of Diffusion LLM"),
                                                (2, "Reasoning Is Not Model Improvement"))]
    table = _compose(bare, taxonomy).sections[0].table
    assert table is not None
    assert [row[2] for row in table.rows] == ["Training-Free Acceleration of Diffusion LLM", "–"]


def test_compact_format_and_topic_filter(taxonomy: Taxonomy) -> None:
    items = [_item(n, "models" if n % 2 else "safety", 0.9 - n / 100, title=f"Story {n:02d}",
                   summary=f"First sentence of story {n} says a lot. Second sentence of story {n} says more. "
                           f"Third sentence of story {n} says the rest.", organizations=(f"Org{n}",))
             for n in range(1, 13)]
    compact = _compose(items, taxonomy, format="compact")
    assert all(len(s.stories) <= 3 for s in compact.sections)
    assert all(s.table is None for s in compact.sections)
    for story in _stories(compact):
        assert story.summary.count(". ") == 0 and len(story.why_it_matters) <= 2
    assert len(compact.outlook) <= 2
    focused = _compose(items, taxonomy, topics=("safety",))
    assert [s.topic for s in focused.sections] == ["safety"]
    # An item whose secondary topic the channel follows sits in that section.
    both = _item(20, "models", 0.95, title="A model that breaks its guardrails", topics=("models", "safety"))
    assert _compose([both], taxonomy, topics=("safety",)).sections[0].stories[0].title == both.title


def test_outlook_comes_from_the_same_themes(taxonomy: Taxonomy) -> None:
    items = [_item(n, "models", 0.5, title=f"Model news {n:02d}") for n in range(1, 7)] + [
        _item(7, "regulation", 0.4, title="A rule", summary="The rule applies to every AI lab. The agency will "
                                                             "publish guidance for developers next month.")]
    briefing = _compose(items, taxonomy, baseline=Baseline({"models": 2.0, "regulation": 3.0}, 7))
    assert briefing.title.startswith("Models")
    assert briefing.outlook == (
        "Policy: The agency will publish guidance for developers next month.",
        "Models: 6 items about models today, against a 7-day average of 2.0 a day.",
    )


def test_a_name_runs_through_themes_only_where_it_is_the_headlines_subject(taxonomy: Taxonomy) -> None:
    own = [_item(1, "regulation", 0.8, title="Acme sued over training data", organizations=("Acme",)),
           _item(2, "products", 0.7, title="Acme's assistant gets a memory", organizations=("Acme",))]
    briefing = _compose(own, taxonomy)
    assert any(point.startswith("Acme runs through") for point in briefing.outlook), briefing.outlook
    # Another party's story that mentions it, or one of its people's, is not the organization's.
    mentions = [_item(1, "regulation", 0.8, title="Judge fines a startup that copied Acme", organizations=("Acme",)),
                _item(2, "tools", 0.7, title="How to migrate from Acme to a local model", organizations=("Acme",)),
                _item(3, "business", 0.6, title="Acme co-founder joins a rival lab", organizations=("Acme",))]
    assert not any("runs through" in point for point in _compose(mentions, taxonomy).outlook)


def test_window_and_baseline_helpers() -> None:
    items = [_item(n, "models", 0.5, hours=h) for n, h in enumerate((1, 23, 25, 48, 200), start=1)]
    items.append(_item(9, "models", 0.5, hours=30, about_ai=False))
    start, end = NOW - timedelta(hours=24), NOW
    assert [i.title for i in in_window(items, start, end)] == ["Story 01", "Story 02"]
    # Two items about AI in the week before; the item not about AI does not count, but shows how far back the
    # archive reaches.
    assert baseline_of(items, start) == Baseline({"models": 2 / 7}, 7)
    assert baseline_of(in_window(items, start, end), start) is None
    # An archive that reaches one day back: an average over those days, not over a week it does not hold.
    young = [i for i in items if i.published > NOW - timedelta(hours=49)]  # the 200-hour-old item is gone
    assert baseline_of(young, start) == Baseline({"models": 2.0}, 1)
    assert history_days(start - timedelta(hours=30), start) == 2


def test_the_outlook_compares_with_the_history_the_archive_holds() -> None:
    week = Baseline({"models": 2.0}, 7)
    assert week.against("models") == "against a 7-day average of 2.0 a day"
    assert week.against("robotics") == "none in the previous 7 days"
    day = Baseline({"models": 3.0}, 1)
    assert day.against("models") == "against 3 the day before"
    assert day.against("robotics") == "none the day before"
    assert Baseline({"models": 1.5}, 2).against("models") == "against a 2-day average of 1.5 a day"


def test_empty_window(taxonomy: Taxonomy) -> None:
    briefing = _compose([], taxonomy)
    assert briefing.sections == () and briefing.key_developments == () and briefing.outlook == ()
    assert briefing.title == "A quiet day in AI" and "No new stories" in briefing.executive_summary


def test_composition_is_deterministic_and_plan_is_reused(taxonomy: Taxonomy) -> None:
    items = [_item(n, ("models", "tools", "safety")[n % 3], 0.3 + (n % 5) / 10, story=f"s{n % 7}",
                   source=f"src{n % 4}") for n in range(1, 40)]
    first = _compose(items, taxonomy)
    again = _compose(list(reversed(items)), taxonomy)
    assert first.model_dump() == again.model_dump()
    options = ComposeOptions(makers=MAKERS)
    plan = plan_stories(items, options)
    assert compose(items, taxonomy, channel="slack:C1", day=date(2026, 4, 30), options=options, plan=plan) == compose(
        items, taxonomy, channel="slack:C1", day=date(2026, 4, 30), options=options)


def test_a_story_of_hundreds_of_items_reads_only_its_top_items(taxonomy: Taxonomy) -> None:
    items = [_item(n, "models", 0.5 + (n % 10) / 100, story="big", source=f"outlet{n % 50}",
                   url=f"https://outlet{n % 50}.test/{n}", title=f"Big model news, report {n}") for n in range(1, 600)]
    story = _stories(_compose(items, taxonomy))[0]
    assert len(story.sources) == 50  # every publisher is listed once
    assert story.importance == min(1.0, 0.59 + 0.15)


def test_the_fixture_day_reads_like_a_briefing(day: Briefing, taxonomy: Taxonomy) -> None:
    assert len(day.key_developments) == 3
    assert all(k.url.startswith("https://") for k in day.key_developments)
    # The title's themes open the summary, in the same order, and the key developments lead them.
    themes = day.title.replace(" and ", ", ").split(", ")
    assert day.executive_summary.startswith("The day's main themes are")
    lowered = day.executive_summary.lower()
    assert [lowered.index(t.lower()) for t in themes] == sorted(lowered.index(t.lower()) for t in themes)
    order = [taxonomy.order(s.topic) for s in day.sections]
    assert order == sorted(order)
    for section in day.sections:
        importances = [story.importance for story in section.stories]
        assert importances == sorted(importances, reverse=True)
    links = [link for story in _stories(day) for link in story.sources]
    assert list(day.sources) == list(dict.fromkeys(links))
    assert 2 <= len(day.outlook) <= 3
    stories = {s.title: s for s in _stories(day)}
    assert not any("Stargate UAE" in t for t in stories)  # backfill from a first poll
    assert not any("Rubin CPX" in t for t in stories)  # published after the edition time
    sb53 = stories["California enacts SB 53, the first US law requiring frontier AI safety disclosures"]
    assert [s.source for s in sb53.sources] == ["Politico", "Office of the California Governor", "example.com/hn"]
    sonnet = [s for s in stories.values() if "Claude Sonnet 4.5" in s.title]
    assert len(sonnet) == 1 and {link.source for link in sonnet[0].sources} == {"TechCrunch", "Anthropic",
                                                                                 "The Verge"}
    statsig = " ".join(stories["OpenAI acquires Statsig for $1.1 billion"].why_it_matters)
    assert "Statsig now belongs to OpenAI for $1.1 billion" in statsig
    mistral = " ".join(stories["Mistral AI raises 1.7 billion euros as ASML becomes top shareholder"].why_it_matters)
    assert "Mistral AI raised 1.7 billion euros, which values it at 11.7 billion euros." in mistral


def test_summaries_and_bullets_are_grounded_and_never_repeated(day: Briefing) -> None:
    texts = DAY_FILE.read_text()
    seen: set[str] = set()
    bullets = [b for story in _stories(day) for b in story.why_it_matters]
    assert len(bullets) == len(set(bullets)) and not any(filler(b) for b in bullets)
    for story in _stories(day):
        assert len(story.why_it_matters) <= 3
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", story.summary) if story.summary else []:
            assert sentence[-1] in ".!?" and not sentence.endswith("…")
            assert sentence in texts, sentence
            assert sentence not in seen
            seen.add(sentence)
        for figure in re.findall(r"\d+(?:\.\d+)?", " ".join(story.why_it_matters)):
            assert figure in texts, (story.title, figure)


def _merged_by_every_pair(groups: list[list[ClassifiedItem]]) -> list[list[ClassifiedItem]]:
    """The stories `_merge` makes, found by comparing every pair of leads (what it did before it compared only leads
    that share a headline word or both name a model)."""
    from bot.briefing import compose as c

    parent = list(range(len(groups)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(len(groups)), 2):
        a, b = groups[i][0], groups[j][0]
        ma, mb = c._model_keys([a]), c._model_keys([b])
        if abs(a.published.timestamp() - b.published.timestamp()) > c.MERGE_WINDOW.total_seconds():
            continue
        la, lb = {law.lower() for law in a.entities.laws}, {law.lower() for law in b.entities.laws}
        if c._conflict(ma, mb) or (la and lb and not la & lb):
            continue
        if c._numbers_differ({c._headline_value(n) for n in c._VALUE.findall(a.title)},
                             {c._headline_value(n) for n in c._VALUE.findall(b.title)}):
            continue
        ha, hb = c._headline_words(a), c._headline_words(b)
        shared = ha & hb
        same = bool(ha and hb) and (len(shared) / len(ha | hb) >= c.SAME_HEADLINE
                                    or (len(shared) >= 2 and (ha <= hb or hb <= ha)))
        def launch(item: ClassifiedItem) -> bool:
            return launches_model(item.title, item.entities.models, {e.kind for e in events_in(item.title, "")})

        sa, sb = c._subject_model_keys(a), c._subject_model_keys(b)
        if same or (sa and sb and c._same_model(sa, sb) and (launch(a) or launch(b))):
            parent[find(j)] = find(i)
    merged: dict[int, list[ClassifiedItem]] = {}
    for index, group in enumerate(groups):
        merged.setdefault(find(index), []).extend(group)
    return list(merged.values())


def test_merge_joins_the_same_stories_as_comparing_every_pair() -> None:
    from bot.briefing.compose import _merge

    rng = random.Random(7)
    words = ["OpenAI", "Anthropic", "releases", "launches", "funding", "chip", "robot", "law", "agents", "update",
             "Claude", "Qwen", "safety", "benchmark", "cloud", "deal", "model", "open", "weights", "new"]
    models = ["Qwen3-Next 80B", "Qwen3-Next-80B", "Claude Sonnet 4.5", "GPT-5", "DeepSeek V4", "DeepSeek V4 0731"]
    groups = []
    for n in range(160):
        title = " ".join(rng.sample(words, rng.randint(2, 6)))
        named = ()
        if rng.random() < 0.3:
            model = rng.choice(models)
            title, named = f"{title} {model}", (model,)
        if rng.random() < 0.2:
            title += f" update {rng.randint(1, 3)}"
        laws = (rng.choice(["SB 53", "AI Act"]),) if rng.random() < 0.1 else ()
        groups.append([_item(n, "models", 0.9 - n / 1000, title=title, hours=rng.choice([1, 2, 80]), models=named,
                             laws=laws)])
    # Two headlines that share no word but name one model ("GPT-5", "GPT5") join too.
    groups += [[_item(200, "models", 0.1, title="GPT-5 ships", models=("GPT-5",))],
               [_item(201, "models", 0.05, title="GPT5 arrives", models=("GPT5",))]]
    expected = _merged_by_every_pair(groups)
    assert len(expected) < len(groups)  # some stories do join
    assert [i.title for i in expected[-1]] == ["GPT-5 ships", "GPT5 arrives"]
    assert [[i.id for i in g] for g in _merge(groups, frozenset())] == [[i.id for i in g] for g in expected]


def test_a_law_is_named_only_as_the_headline_names_it(taxonomy: Taxonomy) -> None:
    summary = "On January 1, the act will go into effect. It establishes the first frontier AI safety requirements."
    frontier = _item(1, "regulation", 0.7, title="California's Transparency in Frontier AI Act takes effect",
                     summary=summary, laws=("AI Act",))
    eu = _item(2, "regulation", 0.6, title="The AI Act takes effect across the EU", summary="It is now in force.",
               laws=("AI Act",))
    assert "AI Act is now law" not in _bullets(_compose([frontier], taxonomy), frontier.title)
    assert "The AI Act is now law" in _bullets(_compose([eu], taxonomy), eu.title)


def test_a_partnership_bullet_is_a_sentence(taxonomy: Taxonomy) -> None:
    deal = _item(1, "business", 0.7, title="Acme and Anthropic expand their partnership to bring Claude to hospitals",
                 summary=" ", organizations=("Acme", "Anthropic"))
    assert _bullets(_compose([deal], taxonomy), deal.title) == "The partnership aims to bring Claude to hospitals."


def test_an_availability_bullet_names_what_becomes_available(taxonomy: Taxonomy) -> None:
    # The model is where a feature becomes available, not what: no bullet says it "can now be used through" itself,
    # and the version's dot does not cut the clause short.
    feature = _item(1, "products", 0.9, title="Deep Research is now available on Gemini 2.5 Pro Experimental",
                    summary=" ", models=("Gemini 2.5 Pro Experimental",), organizations=("Google",))
    release = _item(2, "models", 0.8, title="Grok 4.6 is now available through Vertex AI 2.5 and the xAI API",
                    summary=" ", models=("Grok 4.6",), organizations=("xAI",))
    briefing = _compose([feature, release], taxonomy)
    assert "can now be used through" not in _bullets(briefing, feature.title)
    assert "Grok 4.6 can now be used through Vertex AI 2.5 and the xAI API." in _bullets(briefing, release.title)
    # A release stage is not where it is used: "available in beta" says nothing of the kind.
    beta = _item(3, "products", 0.7, title="Grok 4.6 with scheduled tasks is available in beta", summary=" ",
                 models=("Grok 4.6",), organizations=("xAI",))
    assert "used through" not in _bullets(_compose([beta], taxonomy), beta.title)


def test_a_story_is_led_by_the_item_that_reports_its_event_not_the_latest_commentary() -> None:
    # Importance grows with the sources a story already had when an item came: the commentary of the evening outranks
    # the announcement of the afternoon. The announcement tells the story; the story keeps its importance.
    items = [
        _item(1, "models", 0.48, story="gpt4", source="substack", hours=2,
              title="The Political Biases of GPT-4 (are very much still there)", summary="A look at its answers."),
        _item(2, "tools", 0.44, story="gpt4", source="github", hours=6, title="GPT-4 is phenomenal at Code",
              summary="Trying it on a codebase."),
        _item(3, "models", 0.40, story="gpt4", source="openai", hours=12,
              title="Announcing GPT-4, a large multimodal model", summary="OpenAI released GPT-4 today."),
    ]
    [draft] = plan_stories(items, ComposeOptions())
    assert draft.lead.title == "Announcing GPT-4, a large multimodal model"
    assert [i.title for i in draft.items[1:]] == ["The Political Biases of GPT-4 (are very much still there)",
                                                  "GPT-4 is phenomenal at Code"]
    assert draft.importance >= 0.48
    # With no item reporting an event, the most important leads, as before.
    quiet = [_item(1, "models", 0.48, story="s", title="Thoughts on the new model", summary="An essay."),
             _item(2, "models", 0.40, story="s", title="More thoughts on the new model", summary="Another essay.")]
    assert plan_stories(quiet, ComposeOptions())[0].lead.title == "Thoughts on the new model"


def test_one_jurisdictions_rules_reported_three_ways_within_a_day_are_one_story(taxonomy: Taxonomy) -> None:
    deal = _item(1, "regulation", 0.7, title="EU Strikes Deal to Regulate ChatGPT, AI Tech in Landmark Act",
                 source="slashdot")
    institutions = _item(2, "regulation", 0.6, source="hn",
                         title="European institutions strike a deal on the first rules for AI in the world")
    passed = _item(3, "regulation", 0.5, title="The EU Just Passed Sweeping New Rules to Regulate AI", source="verge")
    # Another jurisdiction's law, and news of the same jurisdiction that makes no rules: other stories.
    california = _item(4, "regulation", 0.5, title="California governor signs AI safety bill", source="x")
    fine = _item(5, "regulation", 0.5, title="EU fines a carmaker over its emissions software", source="y")
    stories = _stories(_compose([deal, institutions, passed, california, fine], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 3]


def test_a_compound_of_ordinary_words_shares_its_words_with_the_words_alone(taxonomy: Taxonomy) -> None:
    available = _item(1, "products", 0.7, title="Google's AI Note-Taking App Is Now Available", source="verge",
                      organizations=("Google",))
    review = _item(2, "products", 0.6, source="gizmodo", organizations=("Google",),
                   title="Google's NotebookLM Could Be the Ultimate AI-Based Notes App If It Stops Lying")
    # Two compounds that share a word ("Pixel-Space" / "Space-Time") do not share it as a word of their own.
    pixels = _item(3, "research", 0.5, title="Direct Pixel-Space Megapixel Image Synthesis", source="arxiv")
    lumiere = _item(4, "research", 0.5, title="Lumiere: A Space-Time Model for Video", source="google")
    stories = _stories(_compose([available, review, pixels, lumiere], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 2]


def test_headlines_close_in_meaning_with_two_unusual_words_in_common_are_one_story(taxonomy: Taxonomy) -> None:
    court = _item(1, "regulation", 0.7, title="AI-Generated Art Lacks Copyright Protection, D.C. Court Says",
                  source="hn")
    judge = _item(2, "regulation", 0.6, title="AI-Generated Works Aren't Protected By Copyrights, Federal Judge Rules",
                  source="slashdot")
    # Close in meaning, but one names a company the other does not: apart.
    synthid = _item(3, "safety", 0.5, title="OpenAI Adopts Google's SynthID Watermark for AI Images", source="x",
                    organizations=("OpenAI", "Google"))
    remover = _item(4, "safety", 0.5, title="Show HN: A tool that removes AI watermarks from images", source="y")
    stories = _stories(_compose([court, judge, synthid, remover], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 2]


def test_an_uncommon_camelcase_name_in_two_headlines_within_a_day_is_one_story(taxonomy: Taxonomy) -> None:
    release = _item(1, "models", 0.7, title="OpenAssistant Released The best open-source Chat AI [video]",
                    source="youtube")
    paper = _item(2, "research", 0.6, source="arxiv",
                  title="OpenAssistant Conversations – Democratizing Large Language Model Alignment [pdf]")
    # A name headlines at large often use ("ChatGPT") joins nothing by itself.
    song = _item(3, "models", 0.5, title="I had ChatGPT write a Decemberists song", source="a")
    talk = _item(4, "models", 0.5, title="I made ChatGPT and Bing AI have a conversation", source="b")
    stories = _stories(_compose([release, paper, song, talk], taxonomy))
    assert sorted(len(s.sources) for s in stories) == [1, 1, 2]
