"""Delivery to chat platforms, exactly once and paced: one mechanism that every chat adapter uses.

A delivery is a sequence of parts (a briefing's thread: the root message, then the replies) posted in order to one
channel by a platform's `Poster`, which only translates (render, call the API, look a message up). The ledger (a
Redis hash per platform and message id, `Keys.delivery`) records each part before and after it is posted:
`pending:<n>` (the time it was about to be posted) before the call, `<ref>:<n>` (the platform's id of the posted
message: Slack's `ts`, Discord's message id) after it, and `done` at the end; a poster may record more (Discord: the
thread it created). So after a crash, a redelivery or a failed call:
- a part with its id recorded is never posted again, and the delivery continues where it stopped (never restarts);
- a part left `pending` (the process died, or the platform failed, between the call and the record) is looked up
  on the platform first (`Poster.find`): found, it is recorded; not found, it is posted. Nothing is posted twice
  and nothing is skipped.
A Redis lock per delivery keeps two processes from working on the same one at once, and a `Pacer` keeps the posts
to one channel apart. The lock is short (`LOCK_TTL_MS`) and renewed while the delivery runs (`keep_lock`), so the lock
of a process that died (kill -9) lapses within seconds and the next one finishes the thread.

A message that changes after it is posted (a topic alert, whose story gains sources) is delivered with
`deliver_revision`: the first delivery posts it like any other and records its revision with `done`; a later, higher
revision edits the posted parts in place (`Editor.edit`, idempotent: an edit repeated after a crash changes nothing),
and a lower or equal one (a redelivery, or an older revision arriving late) changes nothing.

Errors decide what happens next, as everywhere on the bus (`bot.bus`): `api_failure` turns a platform's answer
into a `TransientError` (rate limited, a server error, no answer: the consumer retries later, the ledger keeps
the place) or a `PermanentError` whose message says what to fix (the consumer dead-letters it at once).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from bot.bus import PermanentError, TransientError
from bot.store import Store

log = logging.getLogger(__name__)

LOCK_TTL_MS = 15_000

Sleep = Callable[[float], Awaitable[None]]
M = TypeVar("M")
M_contra = TypeVar("M_contra", contravariant=True)


class Pacer:
    """Keeps posts to one channel at least `interval` seconds apart."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def slot(self, channel: str) -> AsyncIterator[None]:
        """Hold the channel's turn: waits until its interval has passed, then marks the post."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            last = self._last.get(channel)
            if last is not None and self.interval > 0:
                delay = last + self.interval - self.clock()
                if delay > 0:
                    await self.sleep(delay)
            try:
                yield
            finally:
                self._last[channel] = self.clock()


@dataclass
class DeliveryResult:
    edition_id: str
    channel: str
    parts: int = 0
    posted: int = 0
    recovered: int = 0
    already_done: bool = False
    edited: int = 0
    revision: int | None = None

    def describe(self) -> str:
        if self.edited:
            return f"revision {self.revision}: {self.edited} part(s) edited in place"
        if self.already_done:
            return "already delivered" + (f" (revision {self.revision})" if self.revision is not None else "")
        return f"{self.parts} part(s), {self.posted} posted, {self.recovered} found already posted"


class Ledger:
    """What has been delivered of one message (its parts' ids, what is pending), as read and written so far."""

    def __init__(self, store: Store, platform: str, message_id: str, fields: Mapping[str, str], ref: str) -> None:
        self.store = store
        self.platform = platform
        self.message_id = message_id
        self.fields = dict(fields)
        self.ref_name = ref

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    def ref(self, part: int) -> str | None:
        """The platform's id of a posted part (None if it is not recorded as posted)."""
        return self.fields.get(f"{self.ref_name}:{part}")

    def pending(self, part: int) -> float | None:
        """When the part was about to be posted, if it was claimed and not recorded since."""
        value = self.fields.get(f"pending:{part}")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return 0.0  # unreadable: the part may have been posted at any time, look it up from the start

    async def record(self, changes: Mapping[str, str | None]) -> None:
        """Set (None: remove) fields, in Redis and here."""
        await self.store.record_delivery(self.platform, self.message_id, changes)
        for name, value in changes.items():
            if value is None:
                self.fields.pop(name, None)
            else:
                self.fields[name] = value


class Poster(Protocol[M_contra]):
    """One platform's way of posting the parts of one delivery (built per delivery, knows the channel)."""

    async def find(self, ledger: Ledger, part: int, message: M_contra, claimed_at: float) -> str | None:
        """The id of the part if the platform has it already (it was posted after `claimed_at`), or None."""

    async def post(self, ledger: Ledger, part: int, message: M_contra) -> str:
        """Post the part; returns its id. Raises TransientError or PermanentError (see `api_failure`)."""


class Editor(Poster[M_contra], Protocol[M_contra]):
    """A poster that can also replace what a posted part says."""

    async def edit(self, ledger: Ledger, part: int, message: M_contra, ref: str) -> bool:
        """Make the posted part (the platform's id `ref`) say `message`; False if the platform no longer has it
        (deleted: there is nothing to update). Raises TransientError or PermanentError like `post`."""


class Deliveries:
    """Exactly-once, paced deliveries for one platform. One per process."""

    def __init__(self, store: Store, platform: str, pacer: Pacer, *, ref: str = "id", owner: str | None = None,
                 clock: Callable[[], float] = time.time, lock_ttl_ms: int = LOCK_TTL_MS) -> None:
        self.store = store
        self.platform = platform
        self.pacer = pacer
        self.ref = ref
        self.owner = owner or f"{platform}-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self.lock_ttl_ms = lock_ttl_ms

    def lock_name(self, message_id: str) -> str:
        return f"delivery:{self.platform}:{message_id}"

    async def ledger(self, message_id: str) -> Ledger:
        return Ledger(self.store, self.platform, message_id, await self.store.delivery(self.platform, message_id),
                      self.ref)

    @asynccontextmanager
    async def _locked(self, message_id: str, channel: str) -> AsyncIterator[str]:
        lock = self.lock_name(message_id)
        if not await self.store.hold_lock(lock, self.owner, self.lock_ttl_ms):
            raise TransientError(f"edition {message_id} for {channel} is being delivered by another process")
        renewal = asyncio.create_task(keep_lock(self.store, lock, self.owner, self.lock_ttl_ms))
        try:
            yield lock
        finally:
            renewal.cancel()
            await self.store.release_lock(lock, self.owner)

    async def deliver(self, message_id: str, channel: str, messages: Sequence[M],
                      poster: Poster[M]) -> DeliveryResult:
        """Post every part not posted yet, in order; returns what was done."""
        result = DeliveryResult(message_id, channel)
        async with self._locked(message_id, channel) as lock:
            ledger = await self.ledger(message_id)
            if ledger.get("done"):
                result.already_done = True
                return result
            await self._post(ledger, lock, result, messages, poster, {})
            return result

    async def deliver_revision(self, message_id: str, channel: str, revision: int, messages: Sequence[M],
                               poster: Editor[M]) -> DeliveryResult:
        """Deliver revision `revision` of a message that changes: post it if it was never posted (completing a
        half-posted one), edit it in place if an older revision is posted, do nothing if this or a newer one is."""
        result = DeliveryResult(message_id, channel, revision=revision)
        async with self._locked(message_id, channel) as lock:
            ledger = await self.ledger(message_id)
            if not ledger.get("done"):
                await self._post(ledger, lock, result, messages, poster, {"revision": str(revision)})
                return result
            try:
                posted = int(ledger.get("revision") or 1)
            except ValueError:
                posted = 0  # unreadable: editing again is harmless
            if revision <= posted:
                result.already_done, result.revision = True, posted
                return result
            result.parts = len(messages)
            for part, message in enumerate(messages):
                ref = ledger.ref(part)
                if ref is None:
                    continue
                async with self.pacer.slot(channel):
                    found = await poster.edit(ledger, part, message, ref)
                if found:
                    result.edited += 1
                else:
                    log.info("%s: %s part %d (%s) is gone from the channel; not updated", self.platform, message_id,
                             part, ref)
            await ledger.record({"revision": str(revision)})
            return result

    async def _post(self, ledger: Ledger, lock: str, result: DeliveryResult, messages: Sequence[M],
                    poster: Poster[M], finish: Mapping[str, str]) -> None:
        message_id, channel = ledger.message_id, result.channel
        result.parts = len(messages)
        await ledger.record({"channel": channel, "parts": str(len(messages))})
        for part, message in enumerate(messages):
            ref = ledger.ref(part)
            claimed_at = ledger.pending(part)
            if ref is None and claimed_at is not None:
                ref = await poster.find(ledger, part, message, claimed_at)
                if ref is not None:
                    await ledger.record({f"{self.ref}:{part}": ref, f"pending:{part}": None})
                    result.recovered += 1
                    log.info("%s: edition %s part %d was posted before (%s): recorded, not posted again",
                             self.platform, message_id, part, ref)
            if ref is None:
                if not await self.store.hold_lock(lock, self.owner, self.lock_ttl_ms):
                    raise TransientError(f"lost the delivery lock of edition {message_id}")
                await ledger.record({f"pending:{part}": f"{self.clock():.3f}"})
                async with self.pacer.slot(channel):
                    ref = await poster.post(ledger, part, message)
                await ledger.record({f"{self.ref}:{part}": ref, f"pending:{part}": None})
                result.posted += 1
        await ledger.record({"done": datetime.now(UTC).isoformat(), **finish})


async def keep_lock(store: Store, name: str, owner: str, ttl_ms: int) -> None:
    """Renew a held lock every third of its TTL until cancelled; returns if it was lost (another owner has it)."""
    while True:
        await asyncio.sleep(ttl_ms / 3000)
        try:
            if not await store.hold_lock(name, owner, ttl_ms):
                log.warning("lock %s was lost to another owner", name)
                return
        except Exception as exc:  # Redis away: try again at the next renewal, while the TTL lasts
            log.warning("lock %s not renewed: %s: %s", name, type(exc).__name__, exc)


def api_failure(platform: str, what: str, *, status: int | None, error: str = "", hint: str = "",
                transient: bool | None = None) -> TransientError | PermanentError:
    """A platform's answer as the bus sees it. Transient (retry later, never dead-lettered): rate limited (429),
    a server error (5xx), no status at all (no answer), or when `transient` says so. Otherwise permanent
    (dead-lettered at once), with `hint`: what to do about it."""
    if transient is None:
        transient = status is None or status == 429 or status >= 500
    if transient:
        return TransientError(f"{what}: {platform} answered {status if status is not None else 'nothing'} "
                              f"{error}".strip())
    return PermanentError(f"{what}: {platform} refused it: {error or status}" + (f"; {hint}" if hint else ""))


def unreachable(what: str, exc: BaseException) -> TransientError:
    """The platform could not be reached (or the connection dropped): retried later."""
    return TransientError(f"{what}: {type(exc).__name__}: {exc}")
