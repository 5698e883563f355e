"""A story the drafter was not written for: Google's 2004 IPO, scored with a drafted profile.

The set (tests/data/stories/google-ipo-2004/, see its README) holds real AG News titles and
leads labelled by the shared rubric. The seed entry has no profile: `followup` drafts one
from seed.txt, and the test checks that the draft tracks the story at least as well as the
keyword rule a user would write for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

STORY = Path(__file__).resolve().parent / "data" / "stories" / "google-ipo-2004"
FIELDS = {"id", "title", "summary", "published", "source", "url", "lang", "label", "why"}

# Floors sit below the figures measured at the time of writing (precision 0.951, direct
# recall 1.000, thread recall 0.907 on 174 items) so that drafter changes have some room,
# yet a draft that loses the story's names fails them.
PRECISION_FLOOR = 0.85
DIRECT_RECALL_FLOOR = 0.90
THREAD_RECALL_FLOOR = 0.75


def rows() -> list[dict]:
    lines = (STORY / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def keyword_rule(row: dict) -> bool:
    """``Google AND (IPO OR "initial public offering" OR auction)``, as a Google Alert."""
    text = f"{row['title']} {row['summary'] or ''}".casefold()
    return "google" in text and any(
        k in text for k in ("ipo", "initial public offering", "auction")
    )


def test_the_set_is_well_formed() -> None:
    items = rows()
    assert len(items) >= 150
    assert all(set(item) == FIELDS for item in items)
    assert len({item["id"] for item in items}) == len(items)
    assert all(item["title"] and item["why"] for item in items)
    labels = Counter(item["label"] for item in items)
    assert set(labels) == {0, 1, 2}
    assert labels[0] >= 20 and labels[2] >= 20
    # Thread items were scarce in the part of the archive read (see README): at least a few.
    assert labels[1] >= 8


@pytest.fixture
def drafted_report(tmp_path: Path) -> dict:
    config = tmp_path / "followup.toml"
    config.write_text(
        f'[[seeds]]\nid = "google-ipo"\narticle = {json.dumps(str(STORY / "seed.txt"))}\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "FOLLOWUP_CONFIG"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "evaluate",
            str(STORY / "items.jsonl"),
            "--json",
            "--config",
            str(config),
        ],
        cwd=tmp_path,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8")
    return json.loads(done.stdout)


def test_a_drafted_profile_tracks_a_story_it_was_not_written_for(drafted_report: dict) -> None:
    overall = drafted_report["overall"]
    assert overall["items"] == len(rows())
    assert overall["precision"] >= PRECISION_FLOOR
    assert overall["direct_recall"] >= DIRECT_RECALL_FLOOR
    assert overall["thread_recall"] >= THREAD_RECALL_FLOOR


def test_the_drafted_profile_finds_more_than_the_keyword_rule(drafted_report: dict) -> None:
    items = rows()
    direct = [item for item in items if item["label"] == 2]
    relevant = [item for item in items if item["label"] > 0]
    keyword_direct = sum(keyword_rule(item) for item in direct) / len(direct)
    keyword_thread = sum(keyword_rule(item) for item in relevant) / len(relevant)
    overall = drafted_report["overall"]
    assert overall["direct_recall"] > keyword_direct
    assert overall["thread_recall"] > keyword_thread
