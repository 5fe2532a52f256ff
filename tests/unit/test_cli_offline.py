"""`ai-news classify`, `train` and `eval`: offline commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from bot.classify import bundled_examples, bundled_model
from bot.offline import enricher_without, title_key
from bot.relevance import bundled_relevance_model
from bot.settings import Settings
from bot.taxonomy import load_taxonomy
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
    # --relevance-out too: without it, train rewrites the shipped about-AI model in bot/data.
    result = _run(["train", "--out", str(model), "--examples", str(extra), "--relevance-out",
                   str(tmp_path / "relevance.npz")])
    assert result.returncode == 0, result.stderr
    assert f"trained on {len(bundled_examples()) + 3} examples, 9 topics" in result.stdout and model.exists()
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
    assert f"3-fold cross-validation on {len(bundled_examples())} labeled examples" in out
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


DAY = ROOT / "tests" / "fixtures" / "briefing-day.jsonl"


def test_compose_prints_the_days_briefing_in_every_format() -> None:
    markdown = _run(["compose", "--items", str(DAY), "--date", "2025-09-30"])
    assert markdown.returncode == 0, markdown.stderr
    out = markdown.stdout
    assert re.match(r"# [A-Z][\w ,]+\n\n\*2025-09-30 \(UTC\)\*\n\nThe day's main themes are ", out)
    for heading in ("## Key developments", "## Models", "## Regulation", "## Outlook", "## Sources"):
        assert heading in out
    assert "**Why it matters:**" in out and "| Model | Maker | What is new | Headline figure | Source |" in out
    as_json = json.loads(_run(["compose", "--items", str(DAY), "--date", "2025-09-30", "--format", "json"]).stdout)
    assert set(as_json) >= {"title", "date", "timezone", "executive_summary", "key_developments", "sections",
                            "outlook", "sources"}
    assert set(as_json["key_developments"][0]) == {"title", "text", "url"}
    story = as_json["sections"][0]["stories"][0]
    assert set(story) >= {"title", "summary", "why_it_matters", "sources", "importance"}
    assert set(story["sources"][0]) == {"title", "url", "source", "via"}
    assert as_json["sections"][0]["table"]["columns"][0] == "Model"
    slack = json.loads(_run(["compose", "--items", str(DAY), "--date", "2025-09-30", "--format", "slack"]).stdout)
    assert slack[0]["blocks"][0]["type"] == "header" and all(m["text"] for m in slack)
    discord = json.loads(_run(["compose", "--items", str(DAY), "--date", "2025-09-30", "--format", "discord"]).stdout)
    assert discord["root"]["allowed_mentions"] == {"parse": []} and discord["thread"]


def test_compose_window_zone_topics_and_compact() -> None:
    # In Tokyo, the 30 September 08:00 edition closes at 23:00 UTC on the 29th: the day's later items are out.
    tokyo = json.loads(_run(["compose", "--items", str(DAY), "--date", "2025-09-30", "--tz", "Asia/Tokyo",
                             "--format", "json"]).stdout)
    titles = {s["title"] for section in tokyo["sections"] for s in section["stories"]}
    assert "OpenAI rolls out parental controls for ChatGPT" not in titles  # 02:00 UTC on the 30th
    assert tokyo["timezone"] == "Asia/Tokyo"
    focused = json.loads(_run(["compose", "--items", str(DAY), "--date", "2025-09-30", "--topics",
                               "regulation,safety", "--compact", "--format", "json"]).stdout)
    assert [s["topic"] for s in focused["sections"]] == ["regulation", "safety"]
    assert all(len(s["stories"]) <= 3 and s["table"] is None for s in focused["sections"])


def test_compose_reports_bad_lines_and_unknown_topics() -> None:
    lines = DAY.read_text().splitlines()
    text = "\n".join([lines[0], "not json", '{"title": "no link"}', *lines[1:]]) + "\n"
    result = _run(["compose", "--items", "-", "--date", "2025-09-30"], stdin=text)
    assert result.returncode == 1
    assert "line 2: not a JSON item" in result.stderr and "line 3: url: Field required" in result.stderr
    assert result.stdout.startswith("# ") and "## Key developments" in result.stdout
    unknown = _run(["compose", "--items", str(DAY), "--date", "2025-09-30", "--topics", "robots"])
    assert unknown.returncode == 2
    assert "unknown topic 'robots' (did you mean robotics?)" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_zone = _run(["compose", "--items", str(DAY), "--date", "2025-09-30", "--tz", "Berlin"])
    assert bad_zone.returncode == 2 and "not an IANA time zone" in bad_zone.stderr
    bad_date = _run(["compose", "--items", str(DAY), "--date", "30.09.2025"])
    assert bad_date.returncode == 2 and "not a date as YYYY-MM-DD" in bad_date.stderr


def test_eval_briefing_scores_the_labeled_days(tmp_path: Path) -> None:
    result = _run(["eval", "--briefing", str(ROOT / "tests" / "fixtures" / "eval" / "tuning"), "--details"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("targets: about AI >= 95%")
    header = next(line for line in lines if line.startswith("day "))
    assert header.split()[:4] == ["day", "entries", "stories", "about"]
    days = [line.split()[0] for line in lines[lines.index(header) + 1:-1]]
    assert days == ["2025-10-31", "2025-11-25", "2025-12-19", "2026-02-03", "2026-02-08", "2026-02-09",
                    "2026-04-04", "2026-04-11", "2026-04-13", "2026-04-14", "2026-04-21", "2026-04-24", "all"]
    total = lines[-2].split()
    assert total[1] == str(142 + 194)  # every labeled entry of both files was read
    missing = _run(["eval", "--briefing", str(tmp_path / "nowhere")])
    assert missing.returncode == 2 and "not a folder of labeled days" in missing.stderr
    (tmp_path / "bad.jsonl").write_text('{"title": "x"}\n')
    bad = _run(["eval", "--briefing", str(tmp_path)])
    assert bad.returncode == 2 and "bad.jsonl:1: not a labeled entry: 'day' is missing" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_eval_compares_a_second_editors_sections_with_the_labels() -> None:
    result = _run(["eval", "--briefing", str(ROOT / "tests" / "fixtures" / "eval" / "unseen-26"),
                   "--second-editor", str(ROOT / "tests" / "fixtures" / "second-editor" / "unseen-26.jsonl")])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("185 AI entries (156 events) sectioned by a second editor\n")
    assert "second editor's section accepted by the labels: 96% of entries, 97% of events" in result.stdout
    alone = _run(["eval", "--second-editor", str(ROOT / "tests" / "fixtures" / "second-editor" / "unseen-26.jsonl")])
    assert alone.returncode == 2 and "--second-editor needs --briefing DIR" in alone.stderr


def test_compose_says_when_the_window_is_all_backfill() -> None:
    line = json.dumps({"title": "Anthropic releases Claude Opus 5", "summary": "It leads coding benchmarks.",
                       "url": "https://www.anthropic.com/news/claude-opus-5", "source": "anthropic-news",
                       "published": "2026-05-01T07:00:00Z", "backfill": True})
    left_out = _run(["compose", "--items", "-", "--date", "2026-05-01"], line + "\n")
    assert left_out.returncode == 0
    assert "all 1 items in the window are backfill" in left_out.stderr and "--include-backfill" in left_out.stderr
    assert "Claude Opus 5" not in left_out.stdout
    kept = _run(["compose", "--items", "-", "--date", "2026-05-01", "--include-backfill"], line + "\n")
    assert kept.returncode == 0 and "Claude Opus 5" in kept.stdout and "backfill" not in kept.stderr


def test_eval_briefing_can_leave_each_day_out_of_training(tmp_path: Path) -> None:
    # One tuning day (its AI entries are in the labeled sets): its titles leave both training sets, so the models
    # it is classified with differ from the shipped ones.
    source = ROOT / "tests" / "fixtures" / "eval" / "tuning" / "realdays-tuning.jsonl"
    day = [line for line in source.read_text(encoding="utf-8").splitlines() if '"day": "2025-11-25"' in line]
    titles = {title_key(json.loads(line)["title"]) for line in day}
    settings = Settings(ainews_config_dir=CONFIG)
    taxonomy = load_taxonomy(CONFIG / "topics.yaml")
    left_out = enricher_without(settings, taxonomy, titles)
    assert left_out.classifier.model is not None and left_out.relevance is not None
    assert left_out.classifier.model.digest != bundled_model().digest
    assert left_out.relevance.digest != bundled_relevance_model().digest
    (tmp_path / "day.jsonl").write_text("\n".join(day) + "\n", encoding="utf-8")
    result = _run(["eval", "--briefing", str(tmp_path), "--leave-day-out"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("leave-one-day-out")
    assert lines[-2].split()[:2] == ["all", str(len(day))]
