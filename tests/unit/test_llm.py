"""The optional LLM rewrite against a local stand-in for an OpenAI-compatible chat completions server."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import SecretStr

from bot.llm import (
    EXECUTIVE_PART,
    Rewriter,
    RewriteReport,
    bullets_part,
    summary_part,
)
from bot.models import Briefing, KeyDevelopment, Section, SourceLink, Story
from bot.settings import Settings

KEY = "sk-test-7f3a9c1e-very-secret"
EXECUTIVE_MARKER = '"executive_summary"'

Behaviour = Callable[[str, dict[str, Any]], Awaitable[web.StreamResponse]]


def _story(story_id: str, title: str, summary: str, bullets: tuple[str, ...], url: str, importance: float) -> Story:
    return Story(story_id=story_id, title=title, summary=summary, why_it_matters=bullets,
                 sources=(SourceLink(title=title, url=url, source="Example"),), importance=importance)


PIXTRAL = _story(
    "s-pixtral", "Mistral releases Pixtral 12B, its first multimodal model",
    "Mistral released Pixtral 12B. The model reads images and text.",
    ("Developers get an open-weights multimodal model.", "It competes with larger closed models."),
    "https://mistral.ai/news/pixtral-12b", 0.9,
)
AI_ACT = _story(
    "s-aiact", "EU AI Act rules for general-purpose models take effect",
    "Obligations for general-purpose AI models under the EU AI Act now apply.",
    ("Model providers must publish training summaries.", "Fines reach 3% of global turnover."),
    "https://example.eu/ai-act", 0.8,
)
FIGURE = _story(
    "s-figure", "Figure shows humanoid robot sorting parcels",
    "Figure demonstrated its humanoid robot sorting parcels in a warehouse.",
    ("Logistics firms may automate more parcel handling.", "It moves humanoids closer to paid work."),
    "https://figure.example.com/parcels", 0.6,
)
SOURCES = {
    "s-pixtral": ("Mistral releases Pixtral 12B, its first multimodal model. The 12-billion-parameter model reads "
                  "images and text and ships under Apache 2.0. https://mistral.ai/news/pixtral-12b"),
    "s-aiact": ("EU AI Act rules for general-purpose models take effect. Providers must publish summaries of "
                "training data; fines reach 3% of global turnover."),
    "s-figure": "Figure shows humanoid robot sorting parcels in a warehouse, handling 1,000 parcels an hour.",
}


def _briefing(*stories: Story) -> Briefing:
    stories = stories or (PIXTRAL, AI_ACT, FIGURE)
    sections = []
    for topic, members in (("models", [s for s in stories if s is PIXTRAL]),
                           ("regulation", [s for s in stories if s is AI_ACT]),
                           ("robotics", [s for s in stories if s not in (PIXTRAL, AI_ACT)])):
        if members:
            sections.append(Section(topic=topic, heading=topic.title(), stories=tuple(members)))
    return Briefing(
        channel="discord:123", date=date(2026, 4, 30), title="Models, Regulation and Robotics",
        executive_summary="3 stories from 3 sources across 3 topics; most activity in models.",
        key_developments=tuple(KeyDevelopment(title=s.title, text=s.summary, url=s.sources[0].url)
                               for s in stories),
        sections=tuple(sections),
        sources=tuple(s.sources[0] for s in stories),
    )


def completion(content: Any, finish_reason: str = "stop") -> web.Response:
    return web.json_response({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": finish_reason}],
    })


def good_story(title: str) -> dict[str, Any]:
    return {"summary": f"Rewritten: {title}.",
            "why_it_matters": [f"First rewritten point on {title}.", f"Second rewritten point on {title}."]}


GOOD_EXECUTIVE = "Rewritten: a day of new models, new rules and working robots, led by Mistral."


async def good(key: str, request: dict[str, Any]) -> web.StreamResponse:
    if key == EXECUTIVE_PART:
        return completion(json.dumps({"executive_summary": GOOD_EXECUTIVE}))
    return completion(json.dumps(good_story(key)))


@dataclass
class FakeLLM:
    base_url: str
    behaviours: dict[str, Behaviour] = field(default_factory=dict)  # story title or EXECUTIVE_PART
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0
    max_in_flight: int = 0
    delay: float = 0.0


def _key(body: dict[str, Any]) -> str:
    prompt = body["messages"][-1]["content"]
    if EXECUTIVE_MARKER in prompt.split("\n", 1)[0]:
        return EXECUTIVE_PART
    story = json.loads(prompt[prompt.index("The story:\n") + len("The story:\n"):])
    return str(story["title"])


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
            if server.delay:
                await asyncio.sleep(server.delay)
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
    server.release.set()
    await runner.cleanup()


def rewriter(llm: FakeLLM, **options: Any) -> Rewriter:
    options.setdefault("request_timeout", 2.0)
    options.setdefault("total_timeout", 5.0)
    return Rewriter(llm.base_url, "test-model", SecretStr(KEY), **options)


def all_parts(briefing: Briefing) -> set[str]:
    parts = {EXECUTIVE_PART}
    for section in briefing.sections:
        for story in section.stories:
            parts |= {summary_part(story.story_id), bullets_part(story.story_id)}
    return parts


def story_of(briefing: Briefing, story_id: str) -> Story:
    return next(s for sec in briefing.sections for s in sec.stories if s.story_id == story_id)


async def test_a_good_rewrite_is_applied_to_every_part(llm: FakeLLM, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    original = _briefing()
    result, report = await rewriter(llm).rewrite(original, SOURCES)

    assert set(report.rewritten) == all_parts(original) and report.fallbacks == () and report.complete
    assert report.requests == 4 and len(llm.bodies) == 4
    assert result.executive_summary == GOOD_EXECUTIVE
    for story in (PIXTRAL, AI_ACT, FIGURE):
        new = story_of(result, story.story_id)
        assert new.summary == good_story(story.title)["summary"]
        assert new.why_it_matters == tuple(good_story(story.title)["why_it_matters"])
        assert (new.title, new.sources, new.importance) == (story.title, story.sources, story.importance)
    # everything else is untouched, and the input briefing is not modified
    assert (result.title, result.key_developments, result.sources, result.edition_id) == (
        original.title, original.key_developments, original.sources, original.edition_id)
    assert story_of(original, "s-pixtral").summary == PIXTRAL.summary

    for body, headers in zip(llm.bodies, llm.headers, strict=True):
        assert body["model"] == "test-model" and body["temperature"] == 0 and body["stream"] is False
        assert body["response_format"] == {"type": "json_object"} and body["max_tokens"] > 0
        assert body["messages"][0]["role"] == "system" and "only facts" in body["messages"][0]["content"]
        assert headers["Authorization"] == f"Bearer {KEY}"
    prompts = {_key(b): b["messages"][-1]["content"] for b in llm.bodies}
    assert SOURCES["s-pixtral"][:60] in json.loads(prompts[PIXTRAL.title].split("The story:\n", 1)[1])["source_text"]
    assert AI_ACT.title in prompts[EXECUTIVE_PART]
    assert KEY not in caplog.text


async def test_the_most_important_parts_are_sent_first(llm: FakeLLM) -> None:
    await rewriter(llm, concurrency=1).rewrite(_briefing(), SOURCES)
    assert [_key(b) for b in llm.bodies] == [EXECUTIVE_PART, PIXTRAL.title, AI_ACT.title, FIGURE.title]


async def test_a_timeout_on_one_story_falls_back_only_that_story(llm: FakeLLM) -> None:
    async def hang(key: str, body: dict[str, Any]) -> web.StreamResponse:
        await llm.release.wait()
        return completion(json.dumps(good_story(key)))

    llm.behaviours[AI_ACT.title] = hang
    started = time.monotonic()
    result, report = await rewriter(llm, request_timeout=0.3).rewrite(_briefing(), SOURCES)
    assert time.monotonic() - started < 2.0

    fell_back = {f.part: f.reason for f in report.fallbacks}
    assert fell_back == {summary_part("s-aiact"): "no answer within 0.3s",
                         bullets_part("s-aiact"): "no answer within 0.3s"}
    assert story_of(result, "s-aiact") == AI_ACT
    assert story_of(result, "s-pixtral").summary == good_story(PIXTRAL.title)["summary"]
    assert result.executive_summary == GOOD_EXECUTIVE


async def test_the_briefing_deadline_bounds_the_whole_rewrite(llm: FakeLLM, caplog: pytest.LogCaptureFixture) -> None:
    async def hang(key: str, body: dict[str, Any]) -> web.StreamResponse:
        await llm.release.wait()
        return completion("{}")

    for key in (EXECUTIVE_PART, PIXTRAL.title, AI_ACT.title, FIGURE.title):
        llm.behaviours[key] = hang
    original = _briefing()
    started = time.monotonic()
    result, report = await rewriter(llm, total_timeout=0.4, request_timeout=5, concurrency=1).rewrite(
        original, SOURCES)
    assert time.monotonic() - started < 1.5
    assert result == original and report.rewritten == ()
    assert {f.part for f in report.fallbacks} == all_parts(original)
    assert all("0.4s briefing deadline" in f.reason for f in report.fallbacks)
    assert report.requests == 1  # the others were never sent
    assert "6 parts kept the offline text: the 0.4s deadline for the briefing passed before they were sent" in (
        caplog.text)


def _respond(content: Any, finish_reason: str = "stop") -> Behaviour:
    async def behaviour(key: str, body: dict[str, Any]) -> web.StreamResponse:
        return completion(content, finish_reason)
    return behaviour


def _story_answer(**changes: Any) -> Behaviour:
    async def behaviour(key: str, body: dict[str, Any]) -> web.StreamResponse:
        answer = good_story(key)
        answer.update(changes)
        return completion(json.dumps(answer))
    return behaviour


def _http(status: int, text: str = "upstream error", headers: dict[str, str] | None = None) -> Behaviour:
    async def behaviour(key: str, body: dict[str, Any]) -> web.StreamResponse:
        return web.Response(status=status, text=text, headers=headers)
    return behaviour


async def _garbage(key: str, body: dict[str, Any]) -> web.StreamResponse:
    return web.Response(text="<html><body>Bad gateway</body></html>", content_type="text/html")


async def _not_a_completion(key: str, body: dict[str, Any]) -> web.StreamResponse:
    return web.json_response({"error": "model not loaded"})


BOTH = (summary_part("s-pixtral"), bullets_part("s-pixtral"))
SUMMARY = (summary_part("s-pixtral"),)
BULLETS = (bullets_part("s-pixtral"),)

BAD_ANSWERS = [
    ("http-500", _http(500), BOTH, "HTTP 500 Internal Server Error"),
    ("http-429", _http(429, "slow down", {"Retry-After": "20"}), BOTH, "rate limited (HTTP 429, Retry-After 20)"),
    ("garbage-body", _garbage, BOTH, "answer is not JSON"),
    ("not-a-completion", _not_a_completion, BOTH, "not a chat completion"),
    ("prose-content", _respond("Sure! Here is the rewrite you asked for."), BOTH, "holds no JSON object"),
    ("broken-json-content", _respond('{"summary": "Mistral released'), BOTH, "holds no JSON object"),
    ("malformed-json-content", _respond('{"summary": "x", }'), BOTH, "JSON is malformed"),
    ("empty-content", _respond(""), BOTH, "answer is empty"),
    ("null-content", _respond(None), BOTH, "answer is empty"),
    ("cut-off", _respond(json.dumps(good_story("x")), "length"), BOTH, "cut off at the token limit"),
    ("json-array", _respond("[1, 2]"), BOTH, "holds no JSON object"),
    ("missing-keys", _respond("{}"), BOTH, "is missing"),
    ("over-long-summary", _story_answer(summary="Mistral released Pixtral 12B. " * 15), SUMMARY, "too long"),
    ("too-many-sentences", _story_answer(summary="Mistral ships. It reads images. It reads text. It is open."),
     SUMMARY, "4 sentences"),
    ("empty-summary", _story_answer(summary="   "), SUMMARY, "summary is empty"),
    ("summary-not-text", _story_answer(summary={"text": "Mistral released Pixtral 12B."}), SUMMARY, "not a string"),
    ("channel-mention", _story_answer(summary="<!channel> Mistral released Pixtral 12B today."), SUMMARY, "mention"),
    ("everyone-mention", _story_answer(summary="Attention @everyone: Mistral released Pixtral 12B."), SUMMARY,
     "mention"),
    ("here-mention", _story_answer(summary="Mistral released Pixtral 12B, @here take note."), SUMMARY, "mention"),
    ("invented-url", _story_answer(summary="Mistral released Pixtral 12B, see https://evil.example.net/win."),
     SUMMARY, "link that is not in the sources: https://evil.example.net/win"),
    ("invented-www", _story_answer(summary="Mistral released Pixtral 12B; more at www.pixtral-fans.example."),
     SUMMARY, "link that is not in the sources"),
    ("markdown-link", _story_answer(summary="Mistral released [Pixtral 12B](https://mistral.ai/news/pixtral-12b)."),
     SUMMARY, "Markdown link"),
    ("markdown-heading", _story_answer(summary="## Pixtral\nMistral released Pixtral 12B today."), SUMMARY,
     "Markdown heading"),
    ("html", _story_answer(summary="Mistral released <b>Pixtral 12B</b> today."), SUMMARY, "HTML"),
    ("code-block", _story_answer(summary="```\nMistral released Pixtral 12B.\n```"), SUMMARY, "code block"),
    ("invented-figure", _story_answer(summary="Mistral released Pixtral 12B after raising $640 million."), SUMMARY,
     "figure that is not in the sources: 640"),
    ("one-bullet", _story_answer(why_it_matters=["Developers get an open multimodal model."]), BULLETS,
     "1 bullets, wanted 2 to 3"),
    ("four-bullets", _story_answer(why_it_matters=[f"Point about the model number {n}." for n in "1212"]), BULLETS,
     "4 bullets"),
    ("long-bullet", _story_answer(why_it_matters=["Developers get an open model. " * 10, "Second point is fine."]),
     BULLETS, "bullet 1 is too long"),
    ("user-mention-bullet", _story_answer(why_it_matters=["Ask <@U0123> about the open model.", "Fine point here."]),
     BULLETS, "bullet 1 contains a mention"),
    ("role-mention-bullet", _story_answer(why_it_matters=["Fine point about the model.", "Ping <@&9876> now please."]),
     BULLETS, "bullet 2 contains a mention"),
    ("repeated-bullet", _story_answer(why_it_matters=["Developers get a model.", "developers get a model."]), BULLETS,
     "repeats a bullet"),
    ("bullets-not-list", _story_answer(why_it_matters="Developers get an open model."), BULLETS, "not a list"),
]


@pytest.mark.parametrize(("case", "behaviour", "parts", "reason"), BAD_ANSWERS, ids=[c[0] for c in BAD_ANSWERS])
async def test_a_bad_answer_falls_back_to_the_offline_text(
    llm: FakeLLM, caplog: pytest.LogCaptureFixture, case: str, behaviour: Behaviour, parts: tuple[str, ...],
    reason: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.llm")
    llm.behaviours[PIXTRAL.title] = behaviour
    original = _briefing()
    result, report = await rewriter(llm).rewrite(original, SOURCES)

    assert {f.part for f in report.fallbacks} == set(parts)
    assert all(reason in f.reason for f in report.fallbacks), report.fallbacks
    assert set(report.rewritten) == all_parts(original) - set(parts)
    new = story_of(result, "s-pixtral")
    assert (new.summary == PIXTRAL.summary) == (summary_part("s-pixtral") in parts)
    assert (new.why_it_matters == PIXTRAL.why_it_matters) == (bullets_part("s-pixtral") in parts)
    assert story_of(result, "s-aiact").summary == good_story(AI_ACT.title)["summary"]
    assert result.executive_summary == GOOD_EXECUTIVE

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "bot.llm"]
    assert warnings, "a fallback is logged at WARNING"
    message = warnings[0].getMessage()
    assert reason in message and "test-model" in message and llm.base_url in message
    assert ("story s-pixtral" in message) or any(p in message for p in parts)
    assert KEY not in caplog.text


async def test_an_over_long_executive_summary_falls_back(llm: FakeLLM) -> None:
    llm.behaviours[EXECUTIVE_PART] = _respond(json.dumps({"executive_summary": "Models and rules lead. " * 40}))
    original = _briefing()
    result, report = await rewriter(llm).rewrite(original, SOURCES)
    assert [(f.part, "too long" in f.reason) for f in report.fallbacks] == [(EXECUTIVE_PART, True)]
    assert result.executive_summary == original.executive_summary
    assert story_of(result, "s-figure").summary == good_story(FIGURE.title)["summary"]


async def test_links_and_figures_from_the_sources_are_kept_and_markup_is_cleaned(llm: FakeLLM) -> None:
    summary = "**Mistral** released `Pixtral 12B` under Apache 2.0: https://mistral.ai/news/pixtral-12b."
    llm.behaviours[PIXTRAL.title] = _story_answer(
        summary=summary, why_it_matters=["- Developers get a 12-billion-parameter open model.",
                                         "2. It ships under Apache 2.0."])
    result, report = await rewriter(llm).rewrite(_briefing(), SOURCES)
    assert report.fallbacks == ()
    new = story_of(result, "s-pixtral")
    assert new.summary == "Mistral released Pixtral 12B under Apache 2.0: https://mistral.ai/news/pixtral-12b."
    assert new.why_it_matters == ("Developers get a 12-billion-parameter open model.", "It ships under Apache 2.0.")


async def test_connection_refused_falls_back_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    original = _briefing()
    rewriter = Rewriter(f"http://127.0.0.1:{port}/v1", "test-model", SecretStr(KEY), request_timeout=2)
    with caplog.at_level(logging.WARNING, logger="bot.llm"):
        result, report = await rewriter.rewrite(original, SOURCES)
    assert result == original
    assert {f.part for f in report.fallbacks} == all_parts(original)
    assert all(f.reason.startswith("connection failed") for f in report.fallbacks)
    assert f"127.0.0.1:{port}/v1/chat/completions" in caplog.text and KEY not in caplog.text


async def test_the_key_is_sent_but_never_logged(llm: FakeLLM, caplog: pytest.LogCaptureFixture) -> None:
    async def echo_auth(key: str, body: dict[str, Any]) -> web.StreamResponse:
        return web.Response(status=401, text=f"invalid key in header {llm.headers[-1]['Authorization']}")

    caplog.set_level(logging.DEBUG)
    llm.behaviours[PIXTRAL.title] = echo_auth
    rw = rewriter(llm)
    _, report = await rw.rewrite(_briefing(), SOURCES)
    assert len(llm.headers) == 4 and all(h["Authorization"] == f"Bearer {KEY}" for h in llm.headers)
    reasons = [f.reason for f in report.fallbacks]
    assert len(reasons) == 2 and all("HTTP 401" in r and "Bearer ***" in r for r in reasons)
    assert "Bearer ***" in caplog.text
    assert KEY not in caplog.text and KEY not in repr(rw) and KEY not in " ".join(reasons)


async def test_credentials_in_the_base_url_are_not_logged(llm: FakeLLM, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    llm.behaviours[PIXTRAL.title] = _http(503, "overloaded")
    rw = Rewriter(llm.base_url.replace("http://", "http://user:pw-secret@"), "test-model")
    _, report = await rw.rewrite(_briefing(), SOURCES)
    assert len(report.fallbacks) == 2 and len(report.rewritten) == 5
    assert llm.headers[0]["Authorization"].startswith("Basic ")  # the URL's credentials are used
    assert "HTTP 503" in caplog.text and llm.base_url in caplog.text and "pw-secret" not in caplog.text
    assert "pw-secret" not in repr(rw)


@pytest.mark.parametrize("key", [None, SecretStr("")])
async def test_no_key_sends_no_authorization_header(llm: FakeLLM, key: SecretStr | None) -> None:
    _, report = await Rewriter(llm.base_url, "test-model", key).rewrite(_briefing(), SOURCES)
    assert report.complete and llm.headers
    assert all("Authorization" not in h for h in llm.headers)


@pytest.mark.parametrize(("base_url", "model"), [(None, None), (None, "test-model"), ("endpoint", None)])
async def test_no_endpoint_leaves_the_briefing_unchanged_without_a_request(
    llm: FakeLLM, base_url: str | None, model: str | None
) -> None:
    url = llm.base_url if base_url == "endpoint" else None
    original = _briefing()
    rw = Rewriter(url, model, SecretStr(KEY))
    result, report = await rw.rewrite(original, SOURCES)
    assert result is original and report == RewriteReport(enabled=False) and not rw.enabled
    assert llm.bodies == []


async def test_from_settings(llm: FakeLLM) -> None:
    off = Settings(_env_file=None, llm_base_url=None, llm_model=None, llm_api_key=None)
    assert not Rewriter.from_settings(off).enabled
    on = Settings(_env_file=None, llm_base_url=llm.base_url + "/", llm_model="local-model",
                  llm_api_key=KEY)
    async with aiohttp.ClientSession() as session:
        rw = Rewriter.from_settings(on, session=session, request_timeout=2)
        _, report = await rw.rewrite(_briefing(), SOURCES)
        assert not session.closed  # an injected session is the caller's to close
    assert report.complete
    assert {b["model"] for b in llm.bodies} == {"local-model"}
    assert {h["Authorization"] for h in llm.headers} == {f"Bearer {KEY}"}


async def test_concurrency_is_limited(llm: FakeLLM) -> None:
    llm.delay = 0.05
    stories = tuple(_story(f"s{n}", f"Story number {n}", f"Summary of story {n} is here.",
                           (f"Point one for story {n}.", f"Point two for story {n}."),
                           f"https://example.com/{n}", n / 10) for n in range(8))
    briefing = _briefing(*stories)
    sources = {s.story_id: f"{s.title}. {s.summary}" for s in stories}
    _, report = await rewriter(llm, concurrency=2).rewrite(briefing, sources)
    assert report.complete and report.requests == 9
    assert llm.max_in_flight == 2


async def test_a_story_without_source_text_is_not_sent(llm: FakeLLM) -> None:
    sources = {k: v for k, v in SOURCES.items() if k != "s-figure"}
    result, report = await rewriter(llm).rewrite(_briefing(), sources)
    assert {(f.part, f.reason) for f in report.fallbacks} == {
        (summary_part("s-figure"), "no source text for this story"),
        (bullets_part("s-figure"), "no source text for this story"),
    }
    assert FIGURE.title not in {_key(b) for b in llm.bodies}
    assert story_of(result, "s-figure") == FIGURE


async def test_only_parts_with_offline_text_are_rewritten(llm: FakeLLM) -> None:
    no_bullets = PIXTRAL.model_copy(update={"why_it_matters": ()})
    no_summary = AI_ACT.model_copy(update={"summary": ""})
    nothing = FIGURE.model_copy(update={"summary": "", "why_it_matters": ()})
    result, report = await rewriter(llm).rewrite(_briefing(no_bullets, no_summary, nothing), SOURCES)
    assert set(report.rewritten) == {EXECUTIVE_PART, summary_part("s-pixtral"), bullets_part("s-aiact")}
    assert report.fallbacks == () and report.requests == 3
    assert story_of(result, "s-pixtral").why_it_matters == () and story_of(result, "s-aiact").summary == ""
    assert story_of(result, "s-figure") == nothing
    prompts = {_key(b): b["messages"][-1]["content"] for b in llm.bodies}
    assert "why_it_matters" not in prompts[PIXTRAL.title] and '"summary"' not in prompts[AI_ACT.title]


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="timeouts"):
        Rewriter("http://127.0.0.1:1/v1", "m", request_timeout=0)
    with pytest.raises(ValueError, match="concurrency"):
        Rewriter("http://127.0.0.1:1/v1", "m", concurrency=0)
    with pytest.raises(ValueError, match="credentials"):
        Rewriter("http://u:p@127.0.0.1:1/v1", "m", SecretStr(KEY))
