from __future__ import annotations

import random

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from bot.connections import PackingConnection


def _packed(connection: Connection, *args: object) -> bytes:
    return b"".join(connection.pack_command(*args))


def test_commands_are_packed_as_redis_py_packs_them() -> None:
    stock, packing = Connection(), PackingConnection()
    rng = random.Random(3)
    values: list[object] = ["", "key", "ключ", "x" * 7000, b"", b"\x00\xff", b"y" * 9000, memoryview(b"view"), 0, -7,
                            2**70, 1.5, 1764590400.0, float("inf"), bytearray(b"ba")]
    commands: list[tuple[object, ...]] = [("SET", "k", "v"), ("CONFIG GET", "maxmemory"), (b"CONFIG SET", b"a", 1),
                                          ("EVALSHA", "abc", 2, "k1", "k2", *values)]
    for _ in range(200):
        commands.append((rng.choice(["MGET", "ZADD", b"EVALSHA", "CLIENT SETNAME"]),
                         *rng.choices(values, k=rng.randint(0, 60))))
    for command in commands:
        assert _packed(packing, *command) == _packed(stock, *command), command[:3]


def test_values_redis_py_refuses_are_refused() -> None:
    with pytest.raises(DataError):
        PackingConnection().pack_command("SET", "k", True)
    with pytest.raises(DataError):
        PackingConnection().pack_command("SET", "k", None)
