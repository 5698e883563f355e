"""`followup classify`, `evaluate` and `seed draft`, run as the real process, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


class Run(NamedTuple):
    code: int
    out: str
    err: str


def followup(*args: str, cwd: Path, stdin: bytes | None = None) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "FOLLOWUP_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Two seeds: the curated profile, and one drafted from the article (no profile key)."""
    path = tmp_path / "followup.toml"
    path.write_text(
        f"""
[[seeds]]
id = "pk"
article = {json.dumps(str(SEEDS / "pakistan-alibaba-2026.txt"))}
profile = {json.dumps(str(SEEDS / "pakistan-alibaba-2026.toml"))}

[[seeds]]
id = "drafted"
article = {json.dumps(str(SEEDS / "pakistan-alibaba-2026.txt"))}
""",
        encoding="utf-8",
    )
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_classify_prints_one_object_per_item_and_seed(tmp_path: Path, config: Path) -> None:
    items = write_lines(
        tmp_path / "items.jsonl",
        [
            json.dumps({"id": "a", "title": "Alibaba buys Daraz, Pakistan's top online store"}),
            json.dumps({"id": "b", "title": "Cricket: Pakistan beat Australia", "lang": "en"}),
        ],
    )
    run = followup("classify", str(items), "--config", str(config), cwd=tmp_path)
    assert run.code == 0, run.err
    rows = [json.loads(line) for line in run.out.splitlines()]
    assert [(r["id"], r["seed"]) for r in rows] == [
        ("a", "pk"),
        ("a", "drafted"),
        ("b", "pk"),
        ("b", "drafted"),
    ]
    first = rows[0]
    assert first["match"] is True and first["kind"] == "direct" and 0 <= first["score"] <= 1
    assert {"name": "Daraz", "matched": "Daraz"}.items() <= first["reasons"][1].items() or any(
        r["name"] == "Daraz" and r["matched"] == "Daraz" for r in first["reasons"]
    )
    assert rows[2]["match"] is False


def test_classify_with_seed_keeps_to_that_seed(tmp_path: Path, config: Path) -> None:
    items = write_lines(tmp_path / "i.jsonl", [json.dumps({"id": 1, "title": "علی بابا پاکستان"})])
    run = followup("classify", str(items), "--seed", "pk", "--config", str(config), cwd=tmp_path)
    assert run.code == 0 and [json.loads(x)["seed"] for x in run.out.splitlines()] == ["pk"]
    assert json.loads(run.out)["id"] == "1"


def test_bad_lines_are_reported_with_their_number_and_skipped(tmp_path: Path, config: Path) -> None:
    items = write_lines(
        tmp_path / "i.jsonl",
        [
            json.dumps({"id": "ok1", "title": "Alipay in Pakistan"}),
            "{not json",
            json.dumps({"id": "no-title"}),
            json.dumps(["a", "list"]),
            "",
            json.dumps({"id": "ok2", "title": "Daraz"}),
        ],
    )
    run = followup("classify", str(items), "--seed", "pk", "--config", str(config), cwd=tmp_path)
    assert run.code == 1
    assert [json.loads(x)["id"] for x in run.out.splitlines()] == ["ok1", "ok2"]
    lines = run.err.splitlines()
    assert len(lines) == 3 and "Traceback" not in run.err
    assert [line.split(":")[2] for line in lines] == ["2", "3", "4"]
    assert "title" in lines[1]


def test_an_empty_file_is_fine(tmp_path: Path, config: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    run = followup("classify", str(empty), "--config", str(config), cwd=tmp_path)
    assert (run.code, run.out, run.err) == (0, "", "")


def test_hostile_ids_and_text_come_out_as_valid_utf8_json(tmp_path: Path, config: Path) -> None:
    hostile = '{"id": "nul\\u0000 and \\ud800 lone", "title": "Alibaba \\udfff Pakistan\\u0000"}'
    invalid_utf8 = b'{"id": "x", "title": "\xff\xfe"}'
    items = tmp_path / "h.jsonl"
    items.write_bytes(hostile.encode() + b"\n" + invalid_utf8 + b"\n")
    run = followup("classify", str(items), "--seed", "pk", "--config", str(config), cwd=tmp_path)
    assert run.code == 1 and ":2:" in run.err  # the undecodable line is reported, not fatal
    row = json.loads(run.out)
    assert row["id"] == "nul\x00 and \ufffd lone" and row["kind"] == "direct"


def test_a_ten_megabyte_line_is_classified(tmp_path: Path, config: Path) -> None:
    summary = "Daraz sellers in Karachi. " * 400_000
    items = write_lines(
        tmp_path / "big.jsonl", [json.dumps({"id": "big", "title": "t", "summary": summary})]
    )
    assert items.stat().st_size > 10_000_000
    run = followup("classify", str(items), "--seed", "pk", "--config", str(config), cwd=tmp_path)
    assert run.code == 0 and json.loads(run.out)["match"] is True


def test_stdin_and_worker_processes_give_the_same_answers(tmp_path: Path, config: Path) -> None:
    filler = "Karachi traders discuss online payments and cloud services. " * 6
    lines = [
        json.dumps({"id": str(i), "title": t, "summary": filler})
        for i, t in enumerate(["Alibaba Pakistan", "x", "ہواوے پاکستان"] * 1500)
    ]
    lines[4000] = "{broken"  # a bad line past the first megabyte: numbered the same
    items = write_lines(tmp_path / "i.jsonl", lines)
    assert items.stat().st_size > 1_500_000  # several byte ranges for the workers
    alone = followup(
        "classify", "-", "--config", str(config), cwd=tmp_path, stdin=items.read_bytes()
    )
    workers = followup("classify", str(items), "--jobs", "2", "--config", str(config), cwd=tmp_path)
    assert alone.code == workers.code == 1
    assert alone.out == workers.out and len(alone.out.splitlines()) == 2 * 4499
    assert alone.err.replace("-:", f"{items}:") == workers.err and ":4001:" in alone.err


def test_an_unknown_seed_is_a_usage_error(tmp_path: Path, config: Path) -> None:
    items = write_lines(tmp_path / "i.jsonl", [json.dumps({"id": "a", "title": "t"})])
    run = followup("classify", str(items), "--seed", "nope", "--config", str(config), cwd=tmp_path)
    assert run.code == 2 and "nope" in run.err and len(run.err.splitlines()) == 1


def test_a_bad_profile_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    profile = tmp_path / "bad.toml"
    profile.write_text('[[rule]]\nkind = "direct"\nall = ["x"]\n', encoding="utf-8")
    article = tmp_path / "a.txt"
    article.write_text("Alibaba and Pakistan.", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(
        '[[seeds]]\nid = "s"\narticle = "a.txt"\nprofile = "bad.toml"\n', encoding="utf-8"
    )
    items = write_lines(tmp_path / "i.jsonl", [json.dumps({"id": "a", "title": "t"})])
    run = followup("classify", str(items), "--config", str(config), cwd=tmp_path)
    assert run.code == 2 and "bad.toml" in run.err and "Traceback" not in run.err


def test_the_classify_path_does_not_load_the_database_or_http_layers(
    tmp_path: Path, config: Path
) -> None:
    probe = (
        "import sys\n"
        "from pipeline.cli.matching import classify\n"
        "try:\n    classify.main(sys.argv[1:], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        # Modules really imported (pipeline/__init__ parks empty stand-ins with no spec).
        "loaded = [m for m, mod in sys.modules.items()\n"
        "          if m.split('.')[0] in ('sqlalchemy', 'httpx') and mod.__spec__ is not None]\n"
        "print(sorted(loaded), file=sys.stderr)"
    )
    items = write_lines(tmp_path / "i.jsonl", [json.dumps({"id": "a", "title": "t"})])
    done = subprocess.run(
        [sys.executable, "-c", probe, str(items), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert '"id": "a"' in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_evaluate_reports_the_matcher_beside_the_keyword_rule(tmp_path: Path, config: Path) -> None:
    run = followup(
        "evaluate", str(DEV), "--seed", "pk", "--json", "--config", str(config), cwd=tmp_path
    )
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["overall"]["items"] == 328
    assert report["overall"]["direct_recall"] > report["baseline"]["overall"]["direct_recall"]
    assert report["ok"] is True
    text = followup(
        "evaluate", str(DEV), "--threshold", "0.9", "--config", str(config), cwd=tmp_path
    )
    assert text.code == 0 and "threshold 0.9" in text.out and "keyword rule" in text.out


def test_evaluate_skips_unlabeled_lines_and_says_so(tmp_path: Path, config: Path) -> None:
    labeled = write_lines(
        tmp_path / "l.jsonl",
        [
            json.dumps({"id": "a", "title": "Alibaba Pakistan", "label": 2}),
            json.dumps({"id": "b", "title": "x"}),
        ],
    )
    run = followup("evaluate", str(labeled), "--config", str(config), cwd=tmp_path)
    assert run.code == 1 and "l.jsonl:2" in run.err and "direct rec" in run.out


def test_seed_draft_writes_a_profile_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "draft.toml"
    article = SEEDS / "pakistan-alibaba-2026.txt"
    run = followup(
        "seed", "draft", str(article), "--id", "new-seed", "--out", str(out), cwd=tmp_path
    )
    assert run.code == 0, run.err
    text = out.read_text(encoding="utf-8")
    assert "new-seed" in text and "[[entity]]" in text and "[[rule]]" in text
    printed = followup("seed", "draft", str(article), cwd=tmp_path)
    assert printed.code == 0 and "[[entity]]" in printed.out


def test_seed_draft_names_an_unreadable_article(tmp_path: Path) -> None:
    run = followup("seed", "draft", str(tmp_path / "missing.txt"), cwd=tmp_path)
    assert run.code == 2 and "missing.txt" in run.err


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path, config: Path) -> None:
    lines = [json.dumps({"id": str(i), "title": "Alibaba in Pakistan " * 20}) for i in range(3_000)]
    items = write_lines(tmp_path / "i.jsonl", lines)
    env = {k: v for k, v in os.environ.items() if k != "FOLLOWUP_CONFIG"}
    args = [sys.executable, "-m", "pipeline", "classify", str(items), "--config", str(config)]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert json.loads(proc.stdout.readline())["id"] == "0"
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert code == 1 and "Traceback" not in err and "stdout closed" in err
