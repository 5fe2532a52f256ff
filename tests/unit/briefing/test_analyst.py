"""The optional LLM analyst against a local stand-in for an OpenAI-compatible chat completions server: good,
malformed, slow and adversarial answers, through the briefing writer as the composer uses it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import SecretStr

from bot.briefing.analyst import Analyst
from bot.briefing.writer import BriefingRequest, BriefingWriter
from bot.models import Briefing, ClassifiedItem, Entities, Item, Story
from bot.offline import evaluate_briefings
from bot.settings import Settings
from bot.taxonomy import Taxonomy

KEY = "sk-test-7f3a9c1e-very-secret"
SYNTHESIS = "synthesis"
NOW = datetime(2026, 4, 30, 8, 0, tzinfo=UTC)
Behaviour = Callable[[str, dict[str, Any]], Awaitable[web.StreamResponse]]

PIXTRAL = "Mistral releases Pixtral 12B, its first multimodal model"
AI_ACT = "EU AI Act rules for general-purpose models take effect"
FIGURE = "Figure shows humanoid robot sorting parcels"
TEXTS = {
    PIXTRAL: ("Mistral released Pixtral 12B, a 12-billion-parameter model that reads images and text. It ships "
              "under Apache 2.0 and is available through the Mistral API.", "models", "https://mistral.ai/news/pixtral-12b"),
    AI_ACT: ("Obligations for general-purpose AI models under the EU AI Act now apply. Providers must publish "
             "summaries of training data; fines reach 3% of global turnover.", "regulation", "https://example.eu/ai-act"),
    FIGURE: ("Figure demonstrated its humanoid robot sorting parcels in a warehouse, handling 1,000 parcels an "
             "hour.", "robotics", "https://figure.example.com/parcels"),
}


def _items() -> list[ClassifiedItem]:
    items = []
    for n, (title, (summary, topic, url)) in enumerate(TEXTS.items()):
        base = Item(url=url, title=title, source="src", source_name="Example", published=NOW - timedelta(hours=n + 1),
                    summary=summary)
        items.append(ClassifiedItem.from_item(base, topics=[topic], importance=0.9 - 0.1 * n, about_ai=True,
                                              entities=Entities()))
    return items


def completion(content: Any, finish_reason: str = "stop", tokens: int | None = 100) -> web.Response:
    body: dict[str, Any] = {
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": finish_reason}],
    }
    if tokens is not None:
        body["usage"] = {"prompt_tokens": tokens - 20, "completion_tokens": 20, "total_tokens": tokens}
    return web.json_response(body)


GOOD = {
    PIXTRAL: {"about_ai": True, "section": "models",
              "event": {"kind": "release", "evidence": "Mistral releases Pixtral 12B, its first multimodal model"},
              "facts": [], "summary": "Mistral released Pixtral 12B, which reads images and text.",
              "why_it_matters": ["Pixtral 12B ships under Apache 2.0, so teams can run it on their own hardware."]},
    AI_ACT: {"about_ai": True, "section": "regulation",
             "event": {"kind": "law", "evidence": "EU AI Act rules for general-purpose models take effect"},
             "facts": [], "summary": "The EU AI Act's rules for general-purpose models now apply.",
             "why_it_matters": ["Providers must publish summaries of their training data.",
                                "Fines reach 3% of global turnover."]},
    FIGURE: {"about_ai": True, "section": "robotics", "event": {"kind": "other", "evidence": ""}, "facts": [],
             "summary": "Figure showed a humanoid robot sorting 1,000 parcels an hour in a warehouse.",
             "why_it_matters": []},
}
GOOD_SYNTHESIS = {"title": "Pixtral, the EU AI Act and Figure's parcel robot",
                  "executive_summary": "Mistral released Pixtral 12B, the EU AI Act's rules for general-purpose "
                                       "models now apply, and Figure showed a humanoid robot sorting parcels.",
                  "outlook": ["Providers must publish summaries of their training data.",
                              "Figure's robot handled 1,000 parcels an hour."]}


async def good(key: str, request: dict[str, Any]) -> web.StreamResponse:
    return completion(json.dumps(GOOD_SYNTHESIS if key == SYNTHESIS else GOOD[key]))


def answering(value: Any) -> Behaviour:
    async def behaviour(key: str, request: dict[str, Any]) -> web.StreamResponse:
        return completion(value if isinstance(value, str) else json.dumps(value))
    return behaviour


@dataclass
class FakeLLM:
    base_url: str
    behaviours: dict[str, Behaviour] = field(default_factory=dict)  # headline or SYNTHESIS
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


def _key(body: dict[str, Any]) -> str:
    prompt = body["messages"][-1]["content"]
    if "The story:\n" not in prompt:
        return SYNTHESIS
    return str(json.loads(prompt[prompt.index("The story:\n") + len("The story:\n"):])["headline"])


@pytest_asyncio.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    server = FakeLLM(base_url="")

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        server.bodies.append(body)
        server.headers.append(dict(request.headers))
        server.in_flight += 1
        server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            key = _key(body)
            return await server.behaviours.get(key, good)(key, body)
        finally:
            server.in_flight -= 1

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.base_url = f"http://{host}:{port}/v1"
    yield server
    await runner.cleanup()


def analyst(llm: FakeLLM, **options: Any) -> Analyst:
    options.setdefault("request_timeout", 2.0)
    options.setdefault("total_timeout", 5.0)
    return Analyst(llm.base_url, "test-model", SecretStr(KEY), **options)


async def write(taxonomy: Taxonomy, the_analyst: Analyst | None) -> tuple[Briefing, BriefingWriter]:
    writer = BriefingWriter(taxonomy, analyst=the_analyst)
    briefing = await writer.write(_items(), BriefingRequest(channel="slack:C1", day=date(2026, 4, 30)))
    return briefing, writer


def story(briefing: Briefing, title: str) -> Story | None:
    return next((s for sec in briefing.sections for s in sec.stories if s.title == title), None)


def section_of(briefing: Briefing, title: str) -> str | None:
    return next((sec.topic for sec in briefing.sections for s in sec.stories if s.title == title), None)


async def test_good_answers_are_used_and_recorded(llm: FakeLLM, taxonomy: Taxonomy) -> None:
    offline, _ = await write(taxonomy, None)
    briefing, writer = await write(taxonomy, analyst(llm))
    assert len(llm.bodies) == 4  # three stories and the synthesis
    pixtral = story(briefing, PIXTRAL)
    assert pixtral is not None and pixtral.summary == GOOD[PIXTRAL]["summary"]
    assert pixtral.why_it_matters == tuple(GOOD[PIXTRAL]["why_it_matters"])
    figure = story(briefing, FIGURE)
    assert figure is not None and figure.why_it_matters == ()  # nothing specific to say: no bullets
    assert briefing.title == GOOD_SYNTHESIS["title"] != offline.title
    assert briefing.executive_summary == GOOD_SYNTHESIS["executive_summary"]
    assert briefing.outlook == tuple(GOOD_SYNTHESIS["outlook"])
    sid = pixtral.story_id
    assert {f"summary:{sid}", f"why_it_matters:{sid}", "title", "executive_summary", "outlook"} <= set(
        briefing.generated)
    assert offline.generated == ()
    assert writer.last_report is not None and writer.last_report.tokens == 400 and not writer.last_report.fallbacks
    body = llm.bodies[0]
    assert body["temperature"] == 0 and body["response_format"] == {"type": "json_object"}


async def test_the_analyst_decides_about_ai_and_the_section(llm: FakeLLM, taxonomy: Taxonomy) -> None:
    llm.behaviours[FIGURE] = answering({**GOOD[FIGURE], "about_ai": False})
    llm.behaviours[AI_ACT] = answering({**GOOD[AI_ACT], "section": "safety"})
    briefing, _ = await write(taxonomy, analyst(llm))
    assert story(briefing, FIGURE) is None
    assert section_of(briefing, AI_ACT) == "safety"
    assert any(p.startswith("about_ai:") for p in briefing.generated)
    assert any(p.startswith("section:") for p in briefing.generated)


@pytest.mark.parametrize(("answer", "reason"), [
    ({**GOOD[PIXTRAL], "summary": "Mistral released Pixtral 12B, raising $40 million."}, "figure"),
    ({**GOOD[PIXTRAL], "summary": "Mistral released Pixtral 12B with help from Nvidia engineers."}, "names"),
    ({**GOOD[PIXTRAL], "summary": "Mistral released Pixtral 12B, see https://evil.example.com/x."}, "link"),
    ({**GOOD[PIXTRAL], "summary": "<!channel> Mistral released Pixtral 12B, which reads images."}, "mention"),
    ({**GOOD[PIXTRAL], "summary": "Mistral released [Pixtral 12B](https://mistral.ai/news/pixtral-12b) today."},
     "Markdown link"),
    ({**GOOD[PIXTRAL], "summary": "x" * 600}, "too long"),
    ({**GOOD[PIXTRAL], "why_it_matters": ["This highlights the growing importance of multimodal models."]},
     "filler"),
    ({**GOOD[PIXTRAL], "section": "gardening"}, "not a topic"),
    ({**GOOD[PIXTRAL], "event": {"kind": "acquisition", "evidence": "Mistral acquires a robotics startup."}},
     "evidence"),
])
async def test_adversarial_parts_keep_the_offline_text(llm: FakeLLM, taxonomy: Taxonomy, answer: dict[str, Any],
                                                       reason: str, caplog: pytest.LogCaptureFixture) -> None:
    offline, _ = await write(taxonomy, None)
    llm.behaviours[PIXTRAL] = answering(answer)
    with caplog.at_level(logging.WARNING, logger="bot.briefing.analyst"):
        briefing, writer = await write(taxonomy, analyst(llm))
    assert writer.last_report is not None
    assert any(reason in f.reason for f in writer.last_report.fallbacks), writer.last_report.fallbacks
    assert any(reason in r.getMessage() for r in caplog.records)
    pixtral, before = story(briefing, PIXTRAL), story(offline, PIXTRAL)
    assert pixtral is not None and before is not None
    text = f"{pixtral.summary} {' '.join(pixtral.why_it_matters)}"
    assert "evil.example.com" not in text and "<!channel>" not in text and "$40 million" not in text
    assert "Nvidia" not in text and "highlights" not in text and "](" not in text
    # The other stories still use the model's answers.
    act = story(briefing, AI_ACT)
    assert act is not None and act.summary == GOOD[AI_ACT]["summary"]


@pytest.mark.parametrize("content", [
    "not json at all", '{"summary": ', "[1, 2, 3]", "", '```json\n{"summary": "x"}\n```'])
async def test_malformed_answers_fall_back(llm: FakeLLM, taxonomy: Taxonomy, content: str) -> None:
    offline, _ = await write(taxonomy, None)
    llm.behaviours[PIXTRAL] = answering(content)
    briefing, writer = await write(taxonomy, analyst(llm))
    assert story(briefing, PIXTRAL) == story(offline, PIXTRAL)
    assert writer.last_report is not None and writer.last_report.fallbacks


async def test_http_errors_and_a_cut_off_answer_fall_back(llm: FakeLLM, taxonomy: Taxonomy) -> None:
    async def rate_limited(key: str, request: dict[str, Any]) -> web.StreamResponse:
        return web.json_response({"error": {"message": f"slow down {KEY}"}}, status=429, headers={"Retry-After": "7"})

    async def cut_off(key: str, request: dict[str, Any]) -> web.StreamResponse:
        return completion(json.dumps(GOOD[key]), finish_reason="length")

    llm.behaviours[PIXTRAL] = rate_limited
    llm.behaviours[AI_ACT] = cut_off
    briefing, writer = await write(taxonomy, analyst(llm))
    assert writer.last_report is not None
    reasons = " ".join(f.reason for f in writer.last_report.fallbacks)
    assert "HTTP 429" in reasons and "Retry-After 7" in reasons and "cut off" in reasons and KEY not in reasons
    figure = story(briefing, FIGURE)
    assert figure is not None and figure.summary == GOOD[FIGURE]["summary"]


async def test_a_slow_story_falls_back_alone_and_the_budget_bounds_the_briefing(llm: FakeLLM,
                                                                               taxonomy: Taxonomy) -> None:
    async def slow(key: str, request: dict[str, Any]) -> web.StreamResponse:
        await asyncio.sleep(5)
        return completion(json.dumps(GOOD[key]))

    llm.behaviours[PIXTRAL] = slow
    started = asyncio.get_running_loop().time()
    briefing, writer = await write(taxonomy, analyst(llm, request_timeout=0.3, total_timeout=3.0))
    assert asyncio.get_running_loop().time() - started < 3
    assert writer.last_report is not None
    assert any("no answer within 0.3s" in f.reason for f in writer.last_report.fallbacks)
    act = story(briefing, AI_ACT)
    assert act is not None and act.summary == GOOD[AI_ACT]["summary"]

    for title in TEXTS:
        llm.behaviours[title] = slow
    started = asyncio.get_running_loop().time()
    briefing, writer = await write(taxonomy, analyst(llm, request_timeout=10.0, total_timeout=0.5))
    assert asyncio.get_running_loop().time() - started < 2
    assert writer.last_report is not None
    assert all("budget for the briefing ran out" in f.reason for f in writer.last_report.fallbacks)
    assert briefing.generated == ()


async def test_the_token_budget_stops_sending(llm: FakeLLM, taxonomy: Taxonomy) -> None:
    _, writer = await write(taxonomy, analyst(llm, token_budget=1500, concurrency=1))
    assert writer.last_report is not None
    assert len(llm.bodies) < 4
    assert any("token budget" in f.reason for f in writer.last_report.fallbacks)


async def test_the_key_is_sent_but_never_logged(llm: FakeLLM, taxonomy: Taxonomy,
                                                caplog: pytest.LogCaptureFixture) -> None:
    async def error(key: str, request: dict[str, Any]) -> web.StreamResponse:
        return web.Response(status=500, text=f"internal error for key {KEY}")

    llm.behaviours[PIXTRAL] = error
    caplog.set_level(logging.DEBUG)
    await write(taxonomy, analyst(llm))
    assert all(h.get("Authorization") == f"Bearer {KEY}" for h in llm.headers)
    assert KEY not in caplog.text and "***" in caplog.text


async def test_off_without_an_endpoint_and_no_key_no_header(llm: FakeLLM, taxonomy: Taxonomy) -> None:
    briefing, _ = await write(taxonomy, Analyst(None, None))
    assert briefing.generated == () and llm.bodies == []
    await write(taxonomy, Analyst(llm.base_url, "test-model", None, request_timeout=2.0))
    assert llm.bodies and all("Authorization" not in h for h in llm.headers)


async def test_concurrency_is_limited(llm: FakeLLM, taxonomy: Taxonomy) -> None:
    async def slowish(key: str, request: dict[str, Any]) -> web.StreamResponse:
        await asyncio.sleep(0.1)
        return await good(key, request)

    for title in TEXTS:
        llm.behaviours[title] = slowish
    await write(taxonomy, analyst(llm, concurrency=1))
    assert llm.max_in_flight == 1


def test_from_settings_and_invalid_options() -> None:
    settings = Settings(_env_file=None, llm_base_url="http://127.0.0.1:9/v1", llm_model="m",  # type: ignore[call-arg]
                        llm_total_timeout=12, llm_token_budget=5000)
    made = Analyst.from_settings(settings)
    assert made.enabled and made.total_timeout == 12 and made.token_budget == 5000
    assert "api_key=unset" in repr(made)
    with pytest.raises(ValueError, match="timeouts"):
        Analyst("http://x/v1", "m", total_timeout=0)
    with pytest.raises(ValueError, match="credentials"):
        Analyst("http://user:pw@x/v1", "m", SecretStr("k"))


async def test_eval_briefing_measures_the_configured_model(llm: FakeLLM, tmp_path: Path) -> None:
    """`ai-news eval --briefing DIR` with an endpoint set scores the briefing as the composer writes it: the sections
    the model decides are the ones measured, and the report says which model it was."""
    folder = tmp_path / "days"
    folder.mkdir()
    rows = [{"title": title, "summary": summary, "url": url, "source": "Example", "published": (
        NOW - timedelta(hours=n + 3)).isoformat().replace("+00:00", "Z"), "day": "2026-04-30", "ai": True,
        "topic": topic, "also": [], "event": f"event-{n}"}
        for n, (title, (summary, topic, url)) in enumerate(TEXTS.items())]
    (folder / "day.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    # The model files the Pixtral release under research, which its label does not accept.
    llm.behaviours[PIXTRAL] = answering({**GOOD[PIXTRAL], "section": "research"})
    offline = await asyncio.to_thread(evaluate_briefings, Settings(), folder, details=True)
    with_model = await asyncio.to_thread(evaluate_briefings, Settings(
        llm_base_url=llm.base_url, llm_model="test-model", llm_api_key=SecretStr(KEY)), folder, details=True)
    assert "LLM analyst" not in offline
    assert "with the LLM analyst (model test-model at" in with_model
    assert "2026-04-30: LLM analyst:" in with_model and "parts from the model" in with_model
    assert f"“{PIXTRAL}” in research, labeled models" in with_model
    assert "in research" not in offline
    assert _all_row(with_model)[4] == "67%"  # all, entries, stories, about AI, in section
    assert KEY not in with_model
    assert any(_key(body) == PIXTRAL for body in llm.bodies)


def _all_row(report: str) -> list[str]:
    return next(line.split() for line in report.splitlines() if line.startswith("all "))
