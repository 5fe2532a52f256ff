"""`ai-news classify`, `train` and `eval`: offline commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CONFIG, ROOT

AI_NEWS = str(Path(sys.executable).parent / "ai-news")


def _run(args: list[str], stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "REDIS_", "AINEWS_"))}
    environment.update(AINEWS_CONFIG_DIR=str(CONFIG), **env)
    return subprocess.run([AI_NEWS, *args], input=stdin, capture_output=True, text=True, timeout=300,
                          env=environment, cwd=ROOT)


LINES = [
    {"title": "Mistral releases Pixtral 12B, its first multimodal model", "url": "https://mistral.ai/news/pixtral-12b",
     "source": "mistral", "published": "2024-09-11T10:00:00Z", "extra": {"kept": True}},
    {"title": "Pixtral 12B: Mistral's open-weight vision-language model arrives",
     "summary": "The 12-billion-parameter model handles images and text.", "source": "the-verge",
     "published": "2024-09-11T16:00:00+00:00"},
    {"title": "California governor signs SB 53 into law", "summary": "The bill requires frontier AI disclosures."},
    {"title": "California governor vetoes SB 1047"},
]


def test_classify_enriches_every_line_in_order_and_passes_fields_through() -> None:
    result = _run(["classify", "-"], "\n".join(json.dumps(line) for line in LINES) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["title"] for o in out] == [line["title"] for line in LINES]
    assert out[0]["extra"] == {"kept": True} and out[0]["url"] == LINES[0]["url"]
    for o in out:
        assert o["topics"] and set(o["topic_scores"]) >= {o["topics"][0]}
        assert 0 <= o["importance"] <= 1
        assert set(o["entities"]) == {"organizations", "models", "amounts", "metrics", "laws"}
    assert out[0]["topics"][0] == "models" and out[0]["entities"]["models"] == ["Pixtral 12B"]
    assert out[0]["story_id"] == out[1]["story_id"]  # one event, two sources, worded differently
    assert out[2]["story_id"] != out[3]["story_id"]  # two different bills
    assert out[2]["entities"]["laws"] == ["SB 53"] and out[2]["topics"][0] == "regulation"


def test_classify_reports_invalid_lines_with_their_numbers_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join([
        json.dumps({"title": "OpenAI launches GPT-4o"}),
        "{not json",
        json.dumps({"summary": "no title"}),
        json.dumps(["a", "list"]),
        json.dumps({"title": "Bad time", "published": "yesterday"}),
        "",
        json.dumps({"title": "Nvidia unveils Blackwell"}),
    ]) + "\n")
    result = _run(["classify", str(path)])
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 2
    errors = result.stderr.splitlines()
    assert errors[0].startswith("ai-news: line 2: not JSON")
    assert "line 3: 'title' is required" in errors[1]
    assert "line 4: expected a JSON object" in errors[2]
    assert "line 5: 'published' is not an ISO 8601 time" in errors[3]
    assert "Traceback" not in result.stderr


def test_classify_missing_file() -> None:
    result = _run(["classify", "/nonexistent/items.jsonl"])
    assert result.returncode == 2 and "cannot read /nonexistent/items.jsonl" in result.stderr


def test_train_writes_a_model_that_classifier_model_uses(tmp_path: Path) -> None:
    extra = tmp_path / "more.jsonl"
    extra.write_text("\n".join(json.dumps({
        "title": f"Quantum annealer benchmark {n} shows qubit coherence gains",
        "summary": "A quantum computing result.", "topics": ["research"], "source": "event:test, 2026-01"})
        for n in range(3)) + "\n")
    model = tmp_path / "model.npz"
    result = _run(["train", "--out", str(model), "--examples", str(extra)])
    assert result.returncode == 0, result.stderr
    assert "trained on 798 examples, 9 topics" in result.stdout and model.exists()
    classified = _run(["classify", "-"], json.dumps({"title": "EU adopts the AI Act"}) + "\n",
                      CLASSIFIER_MODEL=str(model))
    assert classified.returncode == 0 and json.loads(classified.stdout)["topics"][0] == "regulation"
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a model")
    failed = _run(["classify", "-"], json.dumps({"title": "x"}) + "\n", CLASSIFIER_MODEL=str(broken))
    assert failed.returncode == 2 and "not a usable model file" in failed.stderr


def test_eval_prints_per_topic_scores_macro_f1_and_confusion_matrix() -> None:
    result = _run(["eval", "--folds", "3", "--holdout", str(ROOT / "tests" / "fixtures" / "holdout.jsonl")])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "3-fold cross-validation on 795 labeled examples" in out
    assert "held-out set: 225 headlines never trained on" in out
    assert out.count("macro-F1: ") == 2 and "confusion matrix" in out
    for topic in ("models", "research", "robotics", "products", "business", "infrastructure", "regulation",
                  "safety", "tools"):
        assert f"\n{topic} " in out
    holdout_f1 = float(out.split("macro-F1: ")[2].split()[0])
    assert holdout_f1 >= 0.85


def test_bench_classify_reports_whole_process_against_bare_predict() -> None:
    result = _run(["bench", "classify", "--lines", "300"])
    assert result.returncode == 0, result.stderr
    assert "300 lines from the labeled set" in result.stdout
    assert "whole process" in result.stdout and "items/s" in result.stdout and "ratio: " in result.stdout
