"""News-search feed URLs for a seed: Google News RSS search and GDELT's DOC API in RSS mode.

Pure: builds URLs from the seed profile's entities, per language and region. The anchor
entity (the country the story is about) is combined with each leading company entity, in
each script the profile has aliases for.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import quote_plus, urlencode

from pipeline.profile import Profile

# Google News editions by language: (hl, gl, ceid). Regions where the story is covered.
EDITIONS = {
    "en": ("en-PK", "PK", "PK:en"),
    "ur": ("ur", "PK", "PK:ur"),
    "zh": ("zh-CN", "CN", "CN:zh-Hans"),
    "bn": ("bn", "BD", "BD:bn"),
    "hi": ("hi", "IN", "IN:hi"),
    "ar": ("ar", "AE", "AE:ar"),
}
GDELT = "https://api.gdeltproject.org/api/v2/doc/doc"
MAX_TERMS = 6


@dataclass(frozen=True)
class Suggestion:
    url: str
    name: str
    lang: str


def script_language(text: str) -> str:
    """The language a script most likely stands for in this story's coverage."""
    for char in text:
        name = unicodedata.name(char, "")
        if name.startswith(("CJK", "HIRAGANA")):
            return "zh"
        if name.startswith("ARABIC"):
            return "ur"
        if name.startswith("BENGALI"):
            return "bn"
        if name.startswith("DEVANAGARI"):
            return "hi"
    return "en"


def _aliases_by_language(profile: Profile, entity_name: str) -> dict[str, str]:
    """The first alias of ``entity_name`` in each language, in profile order."""
    found: dict[str, str] = {}
    for entity in profile.entities:
        if entity.name != entity_name:
            continue
        for alias in entity.aliases:
            found.setdefault(script_language(alias.text), alias.text)
    return found


def suggest_feeds(profile: Profile) -> list[Suggestion]:
    entities = sorted(profile.entities, key=lambda e: -e.weight)
    if not entities:
        return []
    groups = [e.group for e in entities]
    anchor_group = max(
        set(groups),
        key=lambda g: (sum(e.weight for e in entities if e.group == g and len(e.aliases) > 3), g),
    )
    anchors = [e for e in entities if e.group == anchor_group][:1]
    others = [e for e in entities if e.group != anchor_group][:MAX_TERMS]
    suggestions: list[Suggestion] = []
    anchor = _aliases_by_language(profile, anchors[0].name) if anchors else {}
    for entity in others:
        for lang, alias in _aliases_by_language(profile, entity.name).items():
            if lang not in EDITIONS:
                continue
            query = f'"{alias}" {anchor[lang]}' if lang in anchor else f'"{alias}"'
            hl, gl, ceid = EDITIONS[lang]
            url = f"https://news.google.com/rss/search?q={quote_plus(query)}&hl={hl}&gl={gl}&ceid={quote_plus(ceid, safe=':')}"
            suggestions.append(Suggestion(url, f"Google News ({lang}) — {query}", lang))
    names = " OR ".join(f'"{e.name}"' if " " in e.name else e.name for e in others)
    if names and anchors:
        query = f"({names}) {anchors[0].name}"
        params = urlencode(
            {
                "query": query,
                "mode": "artlist",
                "format": "rss",
                "timespan": "7d",
                "maxrecords": "75",
            }
        )
        suggestions.append(Suggestion(f"{GDELT}?{params}", f"GDELT — {query}", "en"))
    return suggestions
