"""Dependencies point one way: workers/ and adapters/ import the core in bot/, never each other, and the core
imports them only in its composition root (cli, runtime and the command bodies in bot/cmd/)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOT = ("bot/cli.py", "bot/runtime.py", "bot/cmd/")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[tuple[str, set[str]]]:
    return [(path.relative_to(ROOT).as_posix(), _imports(path)) for path in sorted((ROOT / package).rglob("*.py"))]


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_core_imports_workers_and_adapters_only_in_its_composition_root() -> None:
    offenders = [(path, sorted(n for n in names if _top(n) in ("workers", "adapters")))
                 for path, names in _modules("bot") if not path.startswith(COMPOSITION_ROOT)]
    assert [o for o in offenders if o[1]] == []


def test_workers_and_adapters_never_import_each_other_or_the_composition_root() -> None:
    root_modules = ("bot.cli", "bot.runtime", "bot.cmd")
    for package, other in (("workers", "adapters"), ("adapters", "workers")):
        for path, names in _modules(package):
            wrong = sorted(n for n in names if _top(n) == other or n.startswith(root_modules))
            assert wrong == [], f"{path} imports {wrong}"


def test_the_layout_check_sees_the_imports_it_guards() -> None:
    # The check reads real files: the composition root does import both sides.
    runtime = dict(_modules("bot"))["bot/runtime.py"]
    assert any(_top(n) == "workers" for n in runtime) and any(_top(n) == "adapters" for n in runtime)


def test_a_dry_run_post_starts_without_the_models_kafka_or_the_analyst() -> None:
    """`ai-news post --dry-run` composes from the archive, whose items carry their classification: its start imports
    neither numpy and the classifier, nor the Kafka and HTTP clients, nor the LLM analyst and the alert rules."""
    heavy = ("numpy", "sklearn", "aiokafka", "aiohttp", "bot.classify", "bot.enrich", "bot.briefing.analyst",
             "bot.alerts")
    code = f"import sys, bot.cli, bot.cmd.post; print(*[m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.split() == []
    # The check sees an import when there is one.
    code = f"import sys, bot.offline; print(*[m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "numpy" in done.stdout.split()
