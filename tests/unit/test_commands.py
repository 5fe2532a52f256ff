from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import load_follows
from bot.commands import (
    COMMAND_WORDS,
    DEFAULT_STORIES,
    USAGE,
    Answer,
    CommandContext,
    Help,
    Invalid,
    LatestBriefing,
    ListSources,
    ListSubscriptions,
    ListTopics,
    Quiet,
    QuietOff,
    Search,
    Setup,
    ShowQuiet,
    ShowSetup,
    StopSetup,
    Subscribe,
    TopicQuery,
    Unsubscribe,
    age,
    closest,
    help_answer,
    one_line,
    parse,
    parse_importance,
    resolve_zone,
    usage_answer,
)
from bot.models import ClassifiedItem, Item
from tests.conftest import CONFIG

TOPICS = ("models", "research", "robotics", "products", "business", "infrastructure", "regulation", "safety", "tools")


@pytest.mark.parametrize(("text", "expected"), [
    ("", Help()),
    ("   ", Help()),
    ("help", Help()),
    ("HELP", Help()),
    ("regulation", TopicQuery("regulation", DEFAULT_STORIES, False)),
    ("Regulation", TopicQuery("regulation")),
    ("regulation public", TopicQuery("regulation", DEFAULT_STORIES, True)),
    ("regulation PUBLIC", TopicQuery("regulation", DEFAULT_STORIES, True)),
    ("robotics 10", TopicQuery("robotics", 10)),
    ("robotics 1 public", TopicQuery("robotics", 1, True)),
    ("robotics 20", TopicQuery("robotics", 20)),
    ("search GPT-5 launch", Search("GPT-5 launch")),
    ("search   eu   ai act public", Search("eu ai act", True)),
    ("briefing", LatestBriefing()),
    ("briefing public", LatestBriefing(True)),
    ("topics", ListTopics()),
    ("sources", ListSources()),
    ("subscriptions", ListSubscriptions()),
    ("subscribe robotics", Subscribe("robotics")),
    ('subscribe "robotics"', Subscribe("robotics")),
    ("subscribe Robotics 0.7", Subscribe("robotics", 0.7)),
    ("subscribe robotics 70%", Subscribe("robotics", 0.7)),
    ("subscribe safety 0", Subscribe("safety", 0.0)),
    ("subscribe safety 1", Subscribe("safety", 1.0)),
    ("unsubscribe robotics", Unsubscribe("robotics")),
    ("unsubscribe ROBOTICS", Unsubscribe("robotics")),
    ("unsubscribe old-topic", Unsubscribe("old-topic")),
    ("unsubscribe Some Name", Unsubscribe("Some Name")),
    ('unsubscribe "Google DeepMind"', Unsubscribe("Google DeepMind")),
    ("quiet", ShowQuiet()),
    ("quiet off", QuietOff()),
    ("quiet 22:00-07:00", Quiet("22:00", "07:00")),
    ("quiet 22:30 - 6:00 europe/berlin", Quiet("22:30", "06:00", "Europe/Berlin")),
    ("quiet 22:00 to 07:00 UTC", Quiet("22:00", "07:00", "UTC")),
    ("setup", ShowSetup()),
    ("setup off", StopSetup()),
    ("setup 08:00 Europe/Berlin", Setup("08:00", "Europe/Berlin", ())),
    ("setup 7:30 europe/berlin regulation,safety", Setup("07:30", "Europe/Berlin", ("regulation", "safety"))),
    ("setup 07:30 UTC regulation safety regulation", Setup("07:30", "UTC", ("regulation", "safety"))),
    ("setup 23:59 America/New_York all", Setup("23:59", "America/New_York", ())),
])
def test_grammar(text: str, expected: object) -> None:
    assert parse(text, TOPICS) == expected


@pytest.mark.parametrize(("text", "usage"), [
    ("robotics 0", "topic"),
    ("robotics 21", "topic"),
    ("robotics lots", "topic"),
    ("robotics 5 5 now", "topic"),
    ("search", "search"),
    ("search public", "search"),
    ("topics extra", "topics"),
    ("sources now", "sources"),
    ("briefing yesterday", "briefing"),
    ("subscriptions all", "subscriptions"),
    ("subscribe", "subscribe"),
    ("subscribe robotics 0.5 extra", "subscribe"),
    ("subscribe robotics 1.5", "subscribe"),
    ("subscribe robotics -0.1", "subscribe"),
    ("subscribe robotics nan", "subscribe"),
    ("subscribe robotics 150%", "subscribe"),
    ("subscribe robotics high", "subscribe"),
    ("unsubscribe", "unsubscribe"),
    ('unsubscribe ""', "unsubscribe"),
    ("quiet 22:00-22:00", "quiet"),
    ("quiet 10pm-6am", "quiet"),
    ("quiet 22:00-07:00 Mars/Olympus_Mons", "quiet"),
    ("quiet 25:00-07:00", "quiet"),
    ("setup 08:00", "setup"),
    ("setup 8am Europe/Berlin", "setup"),
    ("setup 25:00 UTC", "setup"),
    ("setup 08:00 Mars/Olympus_Mons", "setup"),
])
def test_malformed_commands_get_the_usage_of_their_command(text: str, usage: str) -> None:
    result = parse(text, TOPICS)
    assert isinstance(result, Invalid), result
    assert result.usage == usage
    assert result.problem


@pytest.mark.parametrize(("text", "suggestion"), [
    ("regulaton", "regulation"),
    ("Robotcs", "robotics"),
    ("modles", "models"),
    ("serch rust", "search"),
    ("subscibe robotics", "subscribe"),
    ("qwertyuiop", None),
])
def test_unknown_first_word_suggests_the_closest_topic_or_command(text: str, suggestion: str | None) -> None:
    result = parse(text, TOPICS)
    assert isinstance(result, Invalid)
    assert result.unknown_topic and result.suggestion == suggestion and result.usage is None


def test_unknown_topic_in_subscribe_and_setup_suggests() -> None:
    sub = parse("subscribe robotcs", TOPICS)
    assert isinstance(sub, Invalid) and sub.suggestion == "robotics" and sub.usage == "subscribe"
    setup = parse("setup 08:00 UTC regulaton", TOPICS)
    assert isinstance(setup, Invalid) and setup.suggestion == "regulation" and setup.unknown_topic


def test_mistyped_time_zone_suggests_the_real_one() -> None:
    result = parse("setup 08:00 Europe/Berln", TOPICS)
    assert isinstance(result, Invalid) and result.suggestion == "Europe/Berlin"


def test_commands_win_over_topics_of_the_same_name() -> None:
    assert parse("search", [*TOPICS, "search"]) == Invalid("Tell me what to search for.", usage="search")


def test_a_topic_added_to_the_config_is_understood() -> None:
    assert parse("climate 3", [*TOPICS, "climate"]) == TopicQuery("climate", 3)


@pytest.mark.parametrize("text", [
    "\x00", "<!channel>", "@everyone", "🤖", "regulation " * 500, "setup :: ::", "subscribe \u202e robotics",
    "search " + "x" * 10_000, "setup 08:00 ../../etc/passwd", "setup 08:00 UTC ,,,", "1e309", "-", "%",
])
def test_parse_never_raises(text: str) -> None:
    parse(text, TOPICS)


def test_every_command_word_has_usage() -> None:
    assert set(COMMAND_WORDS) | {"topic"} == set(USAGE)
    lines = help_answer().lines
    assert [line.title.split()[1] for line in lines] == [usage.split()[0] for usage, _ in USAGE.values()]
    assert all(line.code for line in lines)


def test_usage_answer_names_the_closest_match_and_the_topics() -> None:
    answer = usage_answer(Invalid("I don't know “regulaton”.", suggestion="regulation", unknown_topic=True),
                          TOPICS)
    assert "Did you mean regulation?" in answer.text
    assert "Topics: models, research" in answer.note and answer.kind == "usage" and not answer.public
    malformed = usage_answer(Invalid("Tell me what to search for.", usage="search"), TOPICS)
    assert malformed.lines[0].title == "/ai-news search <words> [public]" and "Topics" not in malformed.note


@pytest.mark.parametrize(("text", "value"), [
    ("0.7", 0.7), ("70%", 0.7), ("1", 1.0), ("0", 0.0), (".25", 0.25), ("1.0001", None), ("inf", None),
    ("", None), ("%", None), ("0.5.5", None),
])
def test_parse_importance(text: str, value: float | None) -> None:
    assert parse_importance(text) == value


def test_resolve_zone_ignores_case() -> None:
    assert resolve_zone("asia/tokyo") == "Asia/Tokyo"
    assert resolve_zone("utc") == "UTC"
    assert resolve_zone("Nowhere/Special") is None


def test_age() -> None:
    now = datetime(2026, 4, 30, 12, tzinfo=UTC)
    assert age(now, now) == "just now"
    assert age(now + timedelta(minutes=5), now) == "just now"
    assert age(now - timedelta(minutes=5), now) == "5m ago"
    assert age(now - timedelta(hours=3, minutes=59), now) == "3h ago"
    assert age(now - timedelta(days=3), now) == "3d ago"


def test_one_line_is_the_first_sentence_shortened() -> None:
    item = ClassifiedItem.from_item(
        Item(url="https://example.com/a", title="T", source="ex", published=datetime(2026, 4, 30, tzinfo=UTC),
             summary="The first sentence is here. The second is not.\n" + "x" * 10),
        topics=["models"])
    assert one_line(item) == "The first sentence is here."
    long = item.model_copy(update={"summary": "word " * 200})
    assert len(one_line(long)) <= 200 and one_line(long).endswith("…")


def test_closest() -> None:
    assert closest("regulatoin", TOPICS) == "regulation"
    assert closest("zzz", TOPICS) is None


def test_context_takes_the_platform_from_the_channel() -> None:
    assert CommandContext(channel="slack:C0456", user="slack:U1").platform == "slack"
    assert CommandContext(channel="discord:123", user="discord:9").platform == "discord"


def test_answers_are_neutral_dataclasses() -> None:
    answer = Answer(title="t")
    assert answer.kind == "ok" and answer.lines == () and answer.edition_id is None


FOLLOWS = load_follows(CONFIG / "entities.yaml")


@pytest.mark.parametrize(("text", "expected"), [
    ("subscribe Anthropic", Subscribe("Anthropic", None, "organization")),
    ('subscribe "anthropic" 0.5', Subscribe("Anthropic", 0.5, "organization")),
    ("subscribe “deepmind” 80%", Subscribe("Google DeepMind", 0.8, "organization")),
    ("subscribe Mistral", Subscribe("Mistral AI", None, "organization")),
    ("subscribe Claude", Subscribe("Claude", None, "model")),
    ("subscribe GPT-5 0.7", Subscribe("GPT-5", 0.7, "model")),
    ("subscribe llama 3.1 405b", Subscribe("Llama 3.1 405b", None, "model")),
    ("subscribe SB 53", Subscribe("SB 53", None, "law")),
    ('subscribe "sb53" 0.9', Subscribe("SB 53", 0.9, "law")),
    ("subscribe EU AI Act", Subscribe("EU AI Act", None, "law")),
    ("subscribe robotics 0.7", Subscribe("robotics", 0.7)),
])
def test_subscribe_follows_organizations_models_and_laws(text: str, expected: Subscribe) -> None:
    assert parse(text, TOPICS, FOLLOWS) == expected


@pytest.mark.parametrize(("text", "suggestion"), [
    ("subscribe Antropic", "Anthropic"),
    ('subscribe "Open AI"', "OpenAI"),
    ("subscribe regulaton", "regulation"),
    ("subscribe qwertyuiop", None),
])
def test_an_unknown_name_gets_the_closest_topic_or_entity(text: str, suggestion: str | None) -> None:
    result = parse(text, TOPICS, FOLLOWS)
    assert isinstance(result, Invalid) and result.usage == "subscribe" and result.suggestion == suggestion
    assert "I know no topic, organization, model or law" in result.problem


def test_after_a_topic_only_an_importance() -> None:
    result = parse("subscribe robotics now", TOPICS, FOLLOWS)
    assert isinstance(result, Invalid) and "“now” is not an importance" in result.problem
