"""The pure part of topic alerts: following entities, matching, quiet hours, the hourly windows and the words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.alerts import (
    ChannelRules,
    QuietHours,
    Subscription,
    digest_due,
    digest_note,
    digest_title,
    health_text,
    hour_window,
    importance_reason,
    load_follows,
    model_key,
    parse_quiet,
)
from bot.bus import TopicTable
from bot.models import Alert, AlertDigest, ClassifiedItem, DigestStory, Entities, HealthEvent, Item
from tests.conftest import CONFIG

FOLLOWS = load_follows(CONFIG / "entities.yaml")


def item(topics: tuple[str, ...] = ("robotics",), importance: float = 0.7, title: str = "Robots ship",
         summary: str = "", entities: Entities | None = None, points: int | None = None) -> ClassifiedItem:
    base = Item(url="https://example.com/a", title=title, source="lab", published=datetime(2026, 5, 4, tzinfo=UTC),
                summary=summary, points=points)
    return ClassifiedItem.from_item(base, topics=topics, importance=importance, entities=entities or Entities())


def follow(kind: str, name: str, minimum: float = 0.5) -> Subscription:
    return Subscription(kind=kind, name=name, min_importance=minimum)  # type: ignore[arg-type]


@pytest.mark.parametrize(("followed", "entities", "matches"), [
    (follow("organization", "Anthropic"), Entities(organizations=("Anthropic",)), True),
    (follow("organization", "Anthropic"), Entities(models=("Claude Sonnet 4.5",)), True),  # its model
    (follow("organization", "Anthropic"), Entities(models=("GPT-5",), organizations=("OpenAI",)), False),
    (follow("organization", "Allen Institute for AI"), Entities(models=("OLMo 2 32B",)), True),  # maker "Ai2"
    (follow("model", "Claude"), Entities(models=("Claude Opus 4.1",)), True),
    (follow("model", "GPT-5"), Entities(models=("GPT-5 Pro",)), True),
    (follow("model", "GPT-5"), Entities(models=("GPT-5o",)), False),
    (follow("model", "GPT-4"), Entities(models=("GPT-4o",)), False),
    (follow("model", "o1"), Entities(models=("o1-mini",)), True),
    (follow("model", "o1"), Entities(models=("o3",)), False),
    (follow("model", "Qwen"), Entities(models=("Qwen3-Next-80B-A3B",)), True),
    (follow("law", "SB 53"), Entities(laws=("SB53",)), True),
    (follow("law", "SB 53"), Entities(laws=("SB 153",)), False),
    (follow("law", "EU AI Act"), Entities(laws=("AI Act",)), True),
    (follow("law", "AI Act"), Entities(laws=("Colorado AI Act",)), True),
    (follow("law", "CHIPS Act"), Entities(laws=("CHIPS and Science Act",)), False),
    (follow("law", "GDPR"), Entities(organizations=("GDPR",)), False),  # a law is matched among laws only
])
def test_follows_match_entities(followed: Subscription, entities: Entities, matches: bool) -> None:
    assert FOLLOWS.matches(followed, entities) is matches


def test_model_keys_compare_word_by_word() -> None:
    assert model_key("GPT-4o") == "gpt 4o"
    assert model_key("Qwen3-Next 80B") == "qwen 3 next 80b"
    assert model_key("Claude Sonnet 4.5") == "claude sonnet 4 5"


def test_an_organization_names_its_models() -> None:
    assert FOLLOWS.models_of("Anthropic") == ["Claude", "Mythos", "Fable"]
    assert "Gemini" in FOLLOWS.models_of("Google") and FOLLOWS.models_of("Nobody") == []


def test_a_channel_matches_by_any_topic_at_its_threshold_and_follows_first() -> None:
    rules = ChannelRules("slack:C1", (Subscription(name="business", min_importance=0.6),
                                      Subscription(name="robotics", min_importance=0.9),
                                      follow("organization", "Figure AI", 0.5)))
    secondary = item(topics=("robotics", "business"), importance=0.7)
    assert rules.match(secondary, FOLLOWS) == rules.subscriptions[0]  # a secondary topic counts
    assert rules.match(item(importance=0.95), FOLLOWS) == rules.subscriptions[1]
    assert rules.match(item(importance=0.8), FOLLOWS) is None  # robotics, under its 0.9
    figure = item(importance=0.55, entities=Entities(organizations=("Figure AI",)))
    assert rules.match(figure, FOLLOWS) == rules.subscriptions[2]
    both = item(topics=("business",), importance=0.95, entities=Entities(organizations=("Figure AI",)))
    assert rules.match(both, FOLLOWS) == rules.subscriptions[2]  # what the channel asked for by name
    assert rules.match(figure, None) is None  # without the gazetteer, topics only


def test_quiet_hours_across_midnight_in_the_channels_zone() -> None:
    quiet = QuietHours(start="22:00", end="07:00", timezone="Europe/Berlin")  # CEST: UTC+2 in May
    assert quiet.active(datetime(2026, 5, 4, 20, 0, tzinfo=UTC))  # 22:00 in Berlin
    assert quiet.active(datetime(2026, 5, 4, 4, 59, tzinfo=UTC))  # 06:59
    assert not quiet.active(datetime(2026, 5, 4, 5, 0, tzinfo=UTC))  # 07:00: the end is not quiet
    assert not quiet.active(datetime(2026, 5, 4, 19, 59, tzinfo=UTC))
    assert quiet.ends(datetime(2026, 5, 4, 23, 0, tzinfo=UTC)) == datetime(2026, 5, 5, 5, 0, tzinfo=UTC)
    assert quiet.ends(datetime(2026, 5, 4, 2, 0, tzinfo=UTC)) == datetime(2026, 5, 4, 5, 0, tzinfo=UTC)
    lunch = QuietHours(start="12:00", end="13:30", timezone="UTC")
    assert lunch.active(datetime(2026, 5, 4, 12, 30, tzinfo=UTC)) and not lunch.active(datetime(2026, 5, 4, 14,
                                                                                               tzinfo=UTC))


def test_quiet_hours_over_a_daylight_saving_change() -> None:
    quiet = QuietHours(start="22:00", end="07:00", timezone="America/New_York")
    # The night clocks spring forward (2026-03-08): 07:00 EDT is 11:00 UTC, not 12:00.
    assert quiet.ends(datetime(2026, 3, 8, 6, 0, tzinfo=UTC)) == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
    # The night they fall back (2026-11-01): 07:00 EST is 12:00 UTC.
    assert quiet.ends(datetime(2026, 11, 1, 6, 0, tzinfo=UTC)) == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_bad_quiet_hours_say_what_is_expected() -> None:
    assert parse_quiet("22:00-07:00") == ("22:00", "07:00")
    assert parse_quiet("7:05 to 9:00") == ("07:05", "09:00")
    for text in ("22-7", "22:00", "25:00-07:00", "10pm-6am"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_quiet(text)
    with pytest.raises(ValueError, match="start and end at different times"):
        parse_quiet("22:00-22:00")
    with pytest.raises(ValidationError):
        QuietHours(start="22:00", end="07:00", timezone="Mars/Olympus_Mons")


def test_held_stories_are_due_at_the_end_of_the_hour_or_of_quiet_hours() -> None:
    now = datetime(2026, 5, 4, 10, 15, tzinfo=UTC)
    assert hour_window(now) == (datetime(2026, 5, 4, 10, tzinfo=UTC), datetime(2026, 5, 4, 11, tzinfo=UTC))
    assert digest_due(now, None) == (datetime(2026, 5, 4, 11, tzinfo=UTC), "hourly")
    quiet = QuietHours(start="11:00", end="12:30", timezone="UTC")
    assert digest_due(now, quiet) == (datetime(2026, 5, 4, 12, 30, tzinfo=UTC), "hourly")  # the hour ends quiet
    assert digest_due(now.replace(hour=11, minute=5), quiet) == (datetime(2026, 5, 4, 12, 30, tzinfo=UTC), "quiet")


def test_importance_reason_names_what_raises_it() -> None:
    deal = item(title="OpenAI acquires Statsig for $1.1 billion", importance=0.78,
                entities=Entities(amounts=("$1.1 billion",)), points=320)
    assert importance_reason(deal, 3) == ("Importance 0.78: an acquisition, $1.1 billion, 3 sources, "
                                          "320 points on Hacker News")
    assert importance_reason(item(title="Some robots", importance=0.61), 1) == "Importance 0.61"
    assert importance_reason(item(title="Why Apple should buy Mistral"), 1, importance=0.9) == "Importance 0.90"


def test_digest_words() -> None:
    story = DigestStory(story_id="s", topic="robotics", title="T", url="https://example.com", importance=0.7)
    due = datetime(2026, 5, 4, 11, tzinfo=UTC)
    hourly = AlertDigest(channel="slack:C1", due=due, stories=(story, story), per_hour=6)
    assert digest_title(hourly) == "2 more robotics stories this hour"
    assert digest_note(hourly) == "Over this channel's 6 alerts an hour: held until the end of the hour (11:00 UTC)."
    mixed = hourly.model_copy(update={"stories": (story, story.model_copy(update={"topic": "models"})),
                                      "cause": "quiet", "quiet": "22:00-07:00 UTC"})
    assert digest_title(mixed) == "2 stories during quiet hours"
    assert "quiet hours (22:00-07:00 UTC)" in digest_note(mixed)
    assert digest_title(hourly.model_copy(update={"stories": (story,)})) == "1 more robotics story this hour"


def test_health_text_for_each_change() -> None:
    since = datetime(2026, 5, 4, 8, tzinfo=UTC)
    failing = HealthEvent(source_id="lab", source_name="Lab", status="failing", error="HTTP 404",
                          failing_since=since, at=since + timedelta(hours=1))
    assert health_text(failing) == ("Source failing: Lab (lab)",
                                    "It keeps failing since 2026-05-04 08:00 UTC: HTTP 404")
    disabled = failing.model_copy(update={"status": "disabled"})
    assert "`ai-news sources --enable lab` puts it back" in health_text(disabled)[1]
    recovered = failing.model_copy(update={"status": "recovered", "error": ""})
    assert health_text(recovered)[0] == "Source recovered: Lab (lab)"


def test_the_alerts_topic_carries_alerts_and_digests() -> None:
    topics = TopicTable("ainews", ("robotics",))
    alert = Alert(channel="slack:C1", topic="robotics", item=item(), revision=2)
    assert topics.validate(topics.alerts, alert.to_bytes()) == alert
    older = alert.model_dump_json(exclude={"kind"}).encode()  # as an alert was before digests existed
    assert b'"kind"' not in older and topics.validate(topics.alerts, older) == alert
    digest = AlertDigest(channel="slack:C1", due=datetime(2026, 5, 4, 11, tzinfo=UTC),
                         stories=(DigestStory(story_id="s", topic="robotics", title="T", url="https://example.com"),))
    assert topics.validate(topics.alerts, digest.to_bytes()) == digest
    assert digest.message_id != digest.model_copy(update={"due": digest.due + timedelta(hours=1)}).message_id
    with pytest.raises(ValidationError):
        topics.validate(topics.alerts, b'{"kind": "digest", "channel": "slack:C1"}')
