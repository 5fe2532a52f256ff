"""The Slack Web API client: base URL from the settings, and retry handlers that never post a message twice.

slack_sdk retries inside the client when a retry handler says so. Here:
- 429: always retried after `Retry-After` (Slack did not process the call);
- 500, 502, 503, 504 and a connection dropped mid-call: retried for calls that are safe to repeat (reads,
  views.publish); never for calls that post (chat.postMessage, a response URL) or spend a one-time code
  (oauth.v2.access), where Slack may have done the work before failing. For those the caller decides: the
  briefing delivery checks Slack (message metadata) before posting again.
- a connection that could not be opened at all: retried for every call (nothing reached Slack).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 30
# Calls that create something each time they succeed: a retry after an ambiguous failure could duplicate it.
NOT_REPEATABLE = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "oauth.v2.access",
                            "oauth.access", "oauth.v2.exchange", "conversations.create"})
SERVER_ERRORS = frozenset({500, 502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]


def api_method(request: HttpRequest) -> str:
    """'chat.postMessage' for https://slack.com/api/chat.postMessage; '' for anything else (a response URL)."""
    path = urlsplit(request.url).path
    return path.rsplit("/", 1)[-1] if "/api/" in path else ""


def repeatable(request: HttpRequest) -> bool:
    method = api_method(request)
    return bool(method) and method not in NOT_REPEATABLE


class RateLimitRetry(AsyncRetryHandler):
    """429: wait what `Retry-After` says (capped), then try again."""

    def __init__(self, max_retry_count: int = 5, max_wait: float = 120.0, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.sleep = sleep

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        wait = 1.0
        if response is not None:
            for name, values in response.headers.items():
                if name.lower() == "retry-after" and values:
                    with contextlib.suppress(ValueError):
                        wait = max(0.0, float(values[0]))
        wait = min(wait, self.max_wait) + random.uniform(0, 0.25)
        log.warning("Slack rate limit on %s: waiting %.1fs (Retry-After), attempt %d of %d",
                    api_method(request) or "a response URL", wait, state.current_attempt + 1, self.max_retry_count)
        await self.sleep(wait)
        state.increment_current_attempt()


class _BackoffRetry(AsyncRetryHandler):
    """Retries with exponential backoff; subclasses say when, and what to log."""

    def __init__(self, max_retry_count: int = 3, backoff: float = 0.5, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count,
                         interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=backoff))
        self.sleep = sleep

    def describe(self, request: HttpRequest, response: HttpResponse | None, error: Exception | None) -> str:
        raise NotImplementedError

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        wait = self.interval_calculator.calculate_sleep_duration(state.current_attempt)
        log.warning("%s: retrying in %.1fs", self.describe(request, response, error), wait)
        await self.sleep(wait)
        state.increment_current_attempt()


class ServerErrorRetry(_BackoffRetry):
    """5xx: back off and try again, for calls that are safe to repeat."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return response is not None and response.status_code in SERVER_ERRORS and repeatable(request)

    def describe(self, request: HttpRequest, response: HttpResponse | None, error: Exception | None) -> str:
        return f"Slack answered {response.status_code if response else '?'} to {api_method(request)}"


class ConnectionRetry(_BackoffRetry):
    """A connection that failed: retried if nothing reached Slack, or if the call is safe to repeat."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if error is None:
            return False
        if isinstance(error, aiohttp.ClientConnectorError):
            return True
        return repeatable(request) and isinstance(
            error, aiohttp.ServerConnectionError | aiohttp.ServerDisconnectedError | aiohttp.ClientOSError)

    def describe(self, request: HttpRequest, response: HttpResponse | None, error: Exception | None) -> str:
        return f"connection to Slack failed on {api_method(request) or 'a response URL'} ({type(error).__name__})"


def retry_handlers(sleep: Sleep = asyncio.sleep) -> list[AsyncRetryHandler]:
    return [RateLimitRetry(sleep=sleep), ServerErrorRetry(sleep=sleep), ConnectionRetry(sleep=sleep)]


def api_base_url(settings: Settings) -> str:
    base = settings.slack_api_base_url or DEFAULT_API_BASE_URL
    return base if base.endswith("/") else base + "/"


def new_session() -> aiohttp.ClientSession:
    """One HTTP session for every Slack call of the process (keeps connections open); needs a running loop."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))


def make_web_client(settings: Settings, session: aiohttp.ClientSession | None = None, *,
                    sleep: Sleep = asyncio.sleep) -> AsyncWebClient:
    """The app's Web API client: the bot token in single-workspace mode (none with OAuth: each call then names
    the workspace's token), the API base URL of the settings, the retry handlers above."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token is not None else None
    if settings.slack_client_id is not None:
        token = None
    return AsyncWebClient(token=token, base_url=api_base_url(settings), session=session,
                          timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers(sleep))
