"""The shortcuts `classify` takes for speed give what the plain definitions give.

Normalisation skips work it can prove to be a no-op (whitespace already single, text already
NFC or NFKC), and the matcher walks ASCII text with an automaton of the ASCII keys alone.
Each shortcut is compared here with the plain computation on the dev set's own texts and on
long summaries that mix its languages, as real RSS summaries do.
"""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

from pipeline import text as T
from pipeline.matching import Matcher
from pipeline.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
PROFILE = ROOT / "seeds" / "pakistan-alibaba-2026.toml"
ODD_TEXTS = [
    "tabs\tand\nnewlines  and\u00a0no-break spaces in Urdu: پاکستان\u3000中国",
    "decomposed e\u0301 and the ligature \ufb01 and \u2460 in کراچی",
    " leading and trailing, non-ASCII … ",
    "ٹک ٹاک\u200c and tatweel پاکـستان",
]


def dev_texts() -> list[str]:
    assert DEV.exists(), f"the labelled dev set is missing: {DEV}"
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    texts = [row["title"] for row in rows] + [row.get("summary") or "" for row in rows]
    rng = random.Random(11)
    long = [" ".join(rng.sample(texts, 6)) for _ in range(200)]  # mixed scripts, 1-3k chars
    return texts + long + ODD_TEXTS


def plain_clean(text: str) -> str:
    text = T.strip_html(text[: T.MAX_CHARS * 2])
    text = T._TYPOGRAPHY.sub(T._typography, text)
    text = " ".join(text.split())
    return unicodedata.normalize("NFC", text.strip()[: T.MAX_CHARS])


def plain_fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return T._FOLDABLE.sub(T._fold_match, text)


def test_clean_and_fold_equal_their_plain_definitions() -> None:
    for text in dev_texts():
        assert T.clean(text) == plain_clean(text)
        assert T.fold(T.clean(text)) == plain_fold(plain_clean(text))


def test_ascii_text_finds_the_same_keys_with_the_ascii_automaton_alone() -> None:
    profile = load_profile(PROFILE.read_text(encoding="utf-8"), seed_id="pk", source="seed")
    automata = Matcher(profile)._automata
    checked = 0
    for text in dev_texts():
        padded = f" {T.bounded(T.fold(T.clean(text)))} "
        if not padded.isascii():
            continue
        checked += 1
        assert automata.iter(padded) == automata._all.find(padded)
    assert checked > 50  # the dev set has English items


def test_long_text_normalised_in_pieces_equals_the_whole_text_normalised() -> None:
    # Pieces are cut before spaces; put combining marks, compatibility forms and odd spaces
    # next to spaces and across the cut points, in texts of a few pieces.
    pool = ["e", "A", " ", " ", "\u0301", "\u0327", "\ufb01", "\uff0c", "\u2026", "ß", "\u00a0"]
    pool += ["پ", "ا", "ک", "\u064b", "\u0670", "中", "雲", "ক", "\u09be", "\u09c7", "\u3000", "  "]
    rng = random.Random(5)
    for _ in range(400):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(150, 900)))
        assert T.clean(text) == plain_clean(text)
        assert T.fold(T.clean(text)) == plain_fold(plain_clean(text))
        assert T.clean_and_fold(text) == (plain_clean(text), plain_fold(plain_clean(text)))
        norm = T.fold(text) + " Pakistan's e-commerce, 2026."
        assert T.bounded(norm) == T._NON_WORD.sub(" ", norm)
