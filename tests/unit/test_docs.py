"""The documentation says what the code does: every setting is in config/.env.example with its default and in
the README; the README's command table covers every command."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from bot.cli import _parser
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = (ROOT / "config" / ".env.example").read_text()
README = (ROOT / "README.md").read_text()
EXAMPLE_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=(.*)$", re.MULTILINE)


def _default(name: str) -> str | None:
    field = Settings.model_fields[name]
    value = field.default
    if value is None or isinstance(value, SecretStr):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_every_setting_is_in_the_env_example_with_its_default() -> None:
    listed = {name: value.strip() for name, value in EXAMPLE_LINE.findall(ENV_EXAMPLE)}
    names = {name.upper() for name in Settings.model_fields}
    assert sorted(names - set(listed)) == [], "settings missing from config/.env.example"
    assert sorted(set(listed) - names) == [], "config/.env.example names settings that do not exist"
    for name, value in listed.items():
        default = _default(name.lower())
        if default is not None and value:
            assert _same(value, default), f"{name}: .env.example shows {value!r}, the default is {default!r}"


def _same(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b or (b in ("True", "False") and a.lower() == b.lower())  # a switch: `true` is True


def test_every_setting_is_in_the_readme() -> None:
    mentioned = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", README))
    missing = sorted(name.upper() for name in Settings.model_fields if name.upper() not in mentioned
                     and not any(name.upper().startswith(p.rstrip("*")) for p in mentioned if p.endswith("_*")))
    assert missing == [], "settings the README never names"


def test_every_command_is_in_the_readme() -> None:
    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert commands is not None
    for command in commands:
        assert re.search(rf"`ai-news {command}\b", README), f"`ai-news {command}` is not in the README"
    assert "ai-news --version" in README
