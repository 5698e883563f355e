"""Properties: normalisation and matching never crash, whatever Unicode arrives."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.matching import Matcher
from pipeline.profile import load_profile
from pipeline.text import clean, normalize, tokenize
from pipeline.types import Item

ROOT = Path(__file__).resolve().parents[1]
MATCHER = Matcher(
    load_profile(
        (ROOT / "seeds" / "pakistan-alibaba-2026.toml").read_text(encoding="utf-8"),
        seed_id="pk",
        source="seed",
    )
)
# Any code point, surrogates and NUL included, plus the words the profile knows, so that the
# generated text also exercises hits, stems, clitics and the span mapping.
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF)
WORDS = st.sampled_from(
    [
        "Alibaba",
        "Pakistan",
        "علي بابا",
        "پاکستان",
        "阿里雲",
        "দারাজের",
        "Ant",
        "AI",
        "ـ",
        "َ",
        "ß",
        "ﷲ",
    ]
)
TEXT = st.lists(st.one_of(st.text(ANY_CHAR, max_size=12), WORDS), max_size=12).map(" ".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(TEXT)
def test_normalize_and_tokenize_accept_any_text(text: str) -> None:
    assert isinstance(normalize(text), str)
    assert all(isinstance(token, str) and token for token in tokenize(text))


@FAST
@given(TEXT)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@FAST
@given(title=TEXT, summary=TEXT, content=TEXT)
def test_match_returns_a_bounded_score_and_reasons_quoting_the_item(
    title: str, summary: str, content: str
) -> None:
    result = MATCHER.match(Item(id="x", title=title, summary=summary, content=content))
    assert 0.0 <= result.score <= 1.0
    assert result.match == (result.score >= MATCHER.threshold)
    assert (result.kind == "none") == (not result.match)
    for reason in result.reasons:
        assert reason.field in ("title", "summary", "content")
        assert 0.0 <= reason.similarity <= 100.0


@FAST
@given(title=TEXT, summary=TEXT)
def test_reasons_quote_text_that_is_in_the_item(title: str, summary: str) -> None:
    item = Item(id="x", title=title, summary=summary)
    for reason in MATCHER.match(item).reasons:
        assert reason.matched and reason.matched in clean(getattr(item, reason.field))


def test_match_bounds_its_work_on_a_huge_item() -> None:
    huge = "Alibaba Pakistan " * 500_000  # 8.5 MB
    result = MATCHER.match(Item(id="h", title="x", summary=huge, content=huge))
    assert result.kind == "direct"
