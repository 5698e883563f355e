"""Feed bytes become a ``ParsedFeed`` of ``Item``\\s. Pure: no I/O, no clock, no env.

RSS 0.9x/1.0/2.0 and Atom go through feedparser, JSON Feed through ``json``; plain UTF-8
RSS 2.0, the common case, goes through ``fastrss`` (ElementTree, same results, ~4x less
CPU). Everything in a feed is hostile, so before anything is parsed:

- UTF-16/32 bodies are transcoded to UTF-8 (so the byte-level checks below see text);
- a DOCTYPE is removed, and a prolog that declares entities is refused outright:
  feedparser's loose fallback parser expands internal entities (billion laughs,
  quadratic blowup) and no entity is worth the risk of reading a local file;
- character references to NUL, surrogates or beyond U+10FFFF become U+FFFD;
- shapes that would cost seconds of CPU are refused: huge tags (feedparser is quadratic
  in attributes) and more than ``max_elements`` tags;
- a body whose root element never closes is refused as truncated.

Afterwards every string is cleaned (NUL and other C0 controls dropped, lone surrogates
replaced), bounded in size, and HTML becomes plain text. ``parse_feed`` is a top-level
function on picklable values, so callers may run it in a process pool.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser

from pipeline import fastrss
from pipeline.errors import ParseError
from pipeline.types import Item

TITLE_MAX_CHARS = 1_000  # a longer "title" is an attack or a bug; keep what a reader needs
URL_MAX_CHARS = 4_096
ID_MAX_CHARS = 512  # longer guids are hashed: ids are database keys
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json",
              "application/json", "application/rdf+xml", "text/xml", "application/xml")  # fmt: skip


class FeedParseError(ParseError):
    """A ``ParseError`` that survives pickling (process pools send errors back pickled).

    ``FeedError`` keeps only the rendered message in ``args``, so the stock class cannot be
    rebuilt on the other side of a process boundary.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.url, self.reason))


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    link: str | None
    items: tuple[Item, ...]
    language: str | None = None
    version: str = ""  # feedparser's name ("rss20", "atom10", ...) or "json1"


def parse_feed(
    body: bytes,
    url: str,
    content_type: str | None = None,
    *,
    max_items: int = 10_000,
    max_field_chars: int = 20_000,
    max_elements: int = 250_000,
) -> ParsedFeed:
    """Parse a feed body fetched from ``url``; raise ``ParseError`` naming ``url`` if it is not one.

    ``max_items`` keeps the first entries; ``max_field_chars`` bounds summary and content;
    ``max_elements`` refuses XML with more tags than that (counted as "<" outside CDATA): their
    number alone would cost feedparser seconds (~15 us per element).
    """
    limits = _Limits(max_items, max_field_chars, max_elements)
    body = _to_ascii_compatible(body)
    if not body.strip():
        raise FeedParseError(url, "empty body")
    if _looks_like_json(body, content_type):
        return _parse_json_feed(body, url, limits)
    body = _defuse(body, url)
    _check_cost(body, url, limits)
    return _parse_xml_feed(body, url, content_type, limits)


@dataclass(frozen=True)
class _Limits:
    items: int
    field: int
    elements: int


# -- byte-level defences ------------------------------------------------------------------

_UTF16_32 = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
_XML_DECL_ENCODING = re.compile(rb"""^(<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_ROOT_START = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def _to_ascii_compatible(body: bytes) -> bytes:
    """Transcode UTF-16/32 (by BOM or by the shape of ``<``) to UTF-8."""
    for mark, codec in _UTF16_32:
        if body.startswith(mark):
            text = body.decode(codec, errors="replace").lstrip("\ufeff")
            data = text.encode("utf-8", errors="replace")
            return _XML_DECL_ENCODING.sub(rb"\1\2utf-8\2", data, count=1)
    return body


def _defuse(body: bytes, url: str) -> bytes:
    """Remove the DOCTYPE; refuse entity declarations and bodies cut short."""
    root = _ROOT_START.search(body)
    if root is None:
        raise FeedParseError(url, "not a feed: no XML element found")
    prolog = body[: root.start()]
    if b"<!ENTITY" in prolog.upper():
        raise FeedParseError(url, "refused: the document declares XML entities")
    prolog = _without_doctype(prolog, url)
    return prolog + _CHARREF.sub(_safe_charref, body[root.start() :])


def _without_doctype(prolog: bytes, url: str) -> bytes:
    """Cut every ``<!DOCTYPE ...>`` (internal subset included) in one linear pass."""
    upper, parts, pos = prolog.upper(), [], 0
    while (start := upper.find(b"<!DOCTYPE", pos)) >= 0:
        parts.append(prolog[pos:start])
        subset, close = upper.find(b"[", start), upper.find(b">", start)
        if 0 <= subset < close:  # the internal subset may hold ">" (it holds no entities)
            end = upper.find(b"]", subset)
            close = upper.find(b">", end) if end >= 0 else -1
        if close < 0:
            raise FeedParseError(url, "malformed DOCTYPE declaration")
        pos = close + 1
    parts.append(prolog[pos:])
    return b"".join(parts)


# Only references that may be bad reach the callback (zero, the surrogate neighbourhood, long
# numbers): ordinary ones, which some Arabic and CJK feeds use for every letter, stay cheap.
_CHARREF = re.compile(
    rb"&#([xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|[0-9a-fA-F]{6,})?|0*(?:5[5-7][0-9]{3}|[0-9]{7,})?);"
)


def _safe_charref(match: re.Match[bytes]) -> bytes:
    """Character references to NUL, surrogates or beyond Unicode become U+FFFD.

    feedparser's loose parser crashes on ``&#xD800;`` and would pass ``&#0;`` through.
    """
    ref = match.group(1).lstrip(b"xX0") or b"0"
    if len(ref) > 8:  # beyond U+10FFFF either way (and int() refuses 4,300+ digits)
        return b"&#xFFFD;"
    code = int(ref, 16) if match.group(1)[:1] in b"xX" else int(ref)
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD;"
    return match.group()


def _check_complete(body: bytes, url: str) -> None:
    """A feed whose root element never closes was cut short (the loose parser would hide it)."""
    root = _ROOT_START.search(body)
    name = root.group(1) if root else b""
    if b"</" + name not in body[-65_536:] and not body.rstrip().endswith(b"/>"):
        raise FeedParseError(
            url, f"truncated body: <{name.decode('ascii', 'replace')}> never closes"
        )


MAX_TAG_BYTES = 32_768  # feedparser's time grows with the square of a tag's attribute count


def _check_cost(body: bytes, url: str, limits: _Limits) -> None:
    """Refuse documents whose shape alone would cost feedparser seconds of CPU.

    CDATA sections are left out: feedparser reads their content as text, cheaply.
    """
    markup = _outside_cdata(body)
    if _LONG_TAG.search(markup):
        raise FeedParseError(url, f"refused: a tag longer than {MAX_TAG_BYTES} bytes")
    if (count := markup.count(b"<")) > limits.elements:
        raise FeedParseError(url, f"refused: {count} XML tags (at most {limits.elements})")


_LONG_TAG = re.compile(rb"<[^<>]{%d}" % MAX_TAG_BYTES)


def _outside_cdata(body: bytes) -> bytes:
    """The document without its CDATA sections (one linear pass; an unclosed one runs to the end)."""
    parts, pos = [], 0
    while (start := body.find(b"<![CDATA[", pos)) >= 0:
        parts.append(body[pos:start])
        end = body.find(b"]]>", start + 9)
        if end < 0:
            return b"".join(parts)
        pos = end + 3
    parts.append(body[pos:])
    return b"".join(parts)


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    """The body decides (servers mislabel feeds); the content type only breaks a tie."""
    first = body.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    if first in (b"{", b"<"):
        return first == b"{"
    return bool(content_type and "json" in content_type.lower())


# -- XML feeds (feedparser) ---------------------------------------------------------------


def _parse_xml_feed(body: bytes, url: str, content_type: str | None, limits: _Limits) -> ParsedFeed:
    feed: Mapping[str, Any]
    entries: Sequence[Mapping[str, Any]]
    fast = fastrss.read(body, content_type)
    if fast is not None:
        (feed, entries), version = fast, "rss20"
    else:
        feed, entries, version = _feedparser(body, url, content_type)
    title = _text_of(feed, "title", TITLE_MAX_CHARS) or None
    base = _safe_url(feed.get("link"), url) or url
    language = _language(feed.get("language"))
    items = _unique(
        _xml_item(entry, base, title, language, limits) for entry in entries[: limits.items]
    )
    return ParsedFeed(title, _safe_url(feed.get("link"), url), items, language, version)


def _feedparser(
    body: bytes, url: str, content_type: str | None
) -> tuple[Mapping[str, Any], Sequence[Mapping[str, Any]], str]:
    """Anything the fast RSS reader leaves alone: every format, encoding and quirk."""
    headers = {"content-type": content_type} if content_type else {}
    # sanitize_html and relative-URI resolution cost half of feedparser's time; we turn
    # HTML into plain text ourselves, so neither is needed.
    try:
        parsed = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # a crash inside feedparser on hostile input is this feed's fault
        raise FeedParseError(url, f"unreadable feed: {type(exc).__name__}: {exc}"[:300]) from None
    if not parsed.get("version") and not parsed.entries:
        raise FeedParseError(url, f"not a feed ({_describe(body)})")
    _check_complete(body, url)
    return parsed.feed, parsed.entries, str(parsed.version)


def _describe(body: bytes) -> str:
    head = body[:1024].lower()
    return (
        "looks like an HTML page"
        if b"<html" in head or b"<!doctype html" in head
        else "unknown format"
    )


def _xml_item(
    entry: Mapping[str, Any], base: str, source: str | None, language: str | None, limits: _Limits
) -> Item | None:
    title = _text_of(entry, "title", TITLE_MAX_CHARS)
    link = _safe_url(entry.get("link"), base)
    if entry.get("guidislink") and entry.get("link") == entry.get("id") and link != entry.get("id"):
        link = None  # feedparser made a link of a guid that is no absolute URL
    # Without a detail, feedparser copied the content into the summary: content carries it.
    summary = _text_of(entry, "summary", limits.field) if "summary_detail" in entry else ""
    content = _clean(
        " ".join(_html_text(part, limits.field) for part in entry.get("content", ())), limits.field
    )
    if content == summary:
        content = ""
    published = _entry_date(entry, "published") or _entry_date(entry, "updated")
    item_id = _item_id(entry.get("id"), link, title, summary)
    if item_id is None:
        return None
    lang = _language(_detail_language(entry)) or language
    return Item(item_id, title, summary, content, link, published, source, lang)


def _text_of(node: Mapping[str, Any], key: str, limit: int) -> str:
    """The text of a feedparser field, HTML turned into text when the feed says it is HTML."""
    value = node.get(key)
    if not isinstance(value, str):
        return ""
    detail = node.get(f"{key}_detail") or {}
    if "html" in str(detail.get("type", "")):
        text = _html_to_text(value, limit)
    else:
        text = _clean(value, limit + 1)  # one more: _one_line marks the cut
    return _one_line(text, limit) if limit == TITLE_MAX_CHARS else text[:limit]


def _html_text(part: Mapping[str, Any], limit: int) -> str:
    value = part.get("value")
    if not isinstance(value, str):
        return ""
    return (
        _html_to_text(value, limit) if "html" in str(part.get("type", "")) else _clean(value, limit)
    )


def _detail_language(entry: Mapping[str, Any]) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key)
        if detail and detail.get("language"):
            return str(detail["language"])
    return None


_YEAR_OR_MONTH = re.compile(r"\d{4}|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)")


def _entry_date(entry: Mapping[str, Any], key: str) -> datetime | None:
    """A date only when the text looks like one: feedparser fills a missing year, month or
    day from today's clock ("12:00" becomes today), which is neither pure nor true."""
    raw = entry.get(key)
    if not isinstance(raw, str) or len(raw) > 64 or not _YEAR_OR_MONTH.search(raw):
        return None
    return _from_struct(entry.get(f"{key}_parsed"))


def _from_struct(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None  # beyond what datetime holds: no date beats a wrong one


# -- JSON Feed ----------------------------------------------------------------------------


def _parse_json_feed(body: bytes, url: str, limits: _Limits) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError) as exc:
        raise FeedParseError(url, f"invalid JSON: {str(exc)[:200]}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedParseError(url, "not a feed: JSON without a JSON Feed version")
    entries = doc.get("items")
    if not isinstance(entries, list):
        raise FeedParseError(url, "JSON Feed without an items list")
    title = _one_line(_clean(_str(doc.get("title")), TITLE_MAX_CHARS + 1), TITLE_MAX_CHARS) or None
    language = _language(_str(doc.get("language")))
    base = _safe_url(_str(doc.get("home_page_url")), url) or url
    items = _unique(
        _json_item(entry, base, title, language, limits)
        for entry in entries[: limits.items]
        if isinstance(entry, dict)
    )
    return ParsedFeed(
        title, _safe_url(_str(doc.get("home_page_url")), url), items, language, "json1"
    )


def _json_item(
    entry: dict[str, Any], base: str, source: str | None, language: str | None, limits: _Limits
) -> Item | None:
    title = _one_line(_clean(_str(entry.get("title")), TITLE_MAX_CHARS + 1), TITLE_MAX_CHARS)
    link = _safe_url(_str(entry.get("url")) or _str(entry.get("external_url")), base)
    summary = _clean(_str(entry.get("summary")), limits.field)
    text = _str(entry.get("content_text"))
    content = (
        _clean(text, limits.field)
        if text
        else _html_to_text(_str(entry.get("content_html")), limits.field)
    )
    published = _from_iso(_str(entry.get("date_published")) or _str(entry.get("date_modified")))
    raw_id = entry.get("id")
    item_id = _item_id(
        str(raw_id) if isinstance(raw_id, str | int) else None, link, title, summary + content
    )
    if item_id is None:
        return None
    lang = _language(_str(entry.get("language"))) or language
    return Item(item_id, title, summary, content, link, published, source, lang)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _from_iso(value: str) -> datetime | None:
    if len(value) > 64:
        return None
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)  # RFC 3339 requires an offset; UTC is the best guess
    try:
        return stamp.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


# -- shared field helpers -----------------------------------------------------------------

_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BLOCK = re.compile(
    r"<(script|style|iframe|object|embed|noscript|template|svg|math)\b", re.IGNORECASE
)
_BREAK = re.compile(r"<(?:br|/p|/div|/li|/h[1-6]|/tr|/blockquote)\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")  # [^<>] keeps it linear on a run of unclosed "<"
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def _clean(text: str, limit: int) -> str:
    """Drop NUL and C0 controls, replace lone surrogates, bound the length."""
    text = text[: limit * 2]
    if not text.isprintable():  # printable text holds no control character, no surrogate
        text = _BAD_CHARS.sub(_replace_bad, text)
    return text[:limit].strip()


def _replace_bad(match: re.Match[str]) -> str:
    return "\ufffd" if match.group() >= "\ud800" else ""


def _one_line(text: str, limit: int) -> str:
    """Titles are one line: CR/LF and runs of spaces become one space."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _html_to_text(markup: str, limit: int) -> str:
    """Plain text of an HTML fragment; scripts and other active blocks vanish with their content."""
    markup = _drop_blocks(markup[: limit * 4])
    markup = _TAG.sub("", _BREAK.sub("\n", markup))
    lines = (_SPACES.sub(" ", line).strip() for line in html.unescape(markup).split("\n"))
    return _clean("\n".join(line for line in lines if line), limit)


def _drop_blocks(markup: str) -> str:
    lower, out, pos = markup.lower(), [], 0
    while match := _BLOCK.search(markup, pos):
        out.append(markup[pos : match.start()])
        end = lower.find(f"</{match.group(1).lower()}", match.end())
        if end < 0:
            return "".join(out)  # never closed: everything after it is the block
        pos = lower.find(">", end)
        pos = len(markup) if pos < 0 else pos + 1
    out.append(markup[pos:])
    return "".join(out)


# An absolute http(s) URL that urljoin returns unchanged whatever the base: a lowercase scheme
# (urlsplit lowercases it), a plain ASCII host and port, no ";" params, no fragment and no empty
# query (urlunparse would drop the "?" or "#"). Most feeds' links are such; the rest go through
# urljoin, which costs ~15 us a link.
_PLAIN_HTTP_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:/[!\"$-:<->@-~]*)?(?:\?[!\"$-~]+)?"
)


def _safe_url(value: Any, base: str) -> str | None:
    """An absolute http(s) URL, or None (``javascript:`` and friends are dropped)."""
    if not isinstance(value, str) or not value.strip():
        return None
    candidate = "".join(value.split())
    if not candidate.isprintable():
        candidate = _BAD_CHARS.sub("", candidate)
    candidate = candidate[:URL_MAX_CHARS]
    if _PLAIN_HTTP_URL.fullmatch(candidate):
        return candidate  # what _joined_url would return: see _PLAIN_HTTP_URL
    return _joined_url(base, candidate)


def _joined_url(base: str, candidate: str) -> str | None:
    try:
        absolute = urljoin(base, candidate)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") else None


def _item_id(guid: str | None, link: str | None, title: str, text: str) -> str | None:
    """The feed's guid, or a stable hash of link and title (of the text when both are empty)."""
    guid = _clean(guid or "", ID_MAX_CHARS * 4)
    if guid and len(guid) <= ID_MAX_CHARS:
        return guid
    if guid:  # too long to be a key
        material = guid
    elif link or title:
        material = f"{link or ''}\n{title}"
    else:
        material = text
    if not material:
        return None
    return "sha256:" + hashlib.sha256(material.encode("utf-8", "replace")).hexdigest()[:40]


def _unique(items: Iterable[Item | None]) -> tuple[Item, ...]:
    """Drop empty entries and repeated ids (the first occurrence wins)."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item is not None and item.id not in seen:
            seen.add(item.id)
            out.append(item)
    return tuple(out)


def _language(value: str | None) -> str | None:
    """ISO 639-1 from a language tag such as ``en-US`` or ``ur_PK``; None when not two letters."""
    if not value:
        return None
    primary = re.split(r"[-_\s]", value.strip(), maxsplit=1)[0].lower()
    return primary if len(primary) == 2 and primary.isascii() and primary.isalpha() else None


# -- URLs and autodiscovery ---------------------------------------------------------------

_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "igshid")
_DEFAULT_PORTS = {"http": 80, "https": 443}


# Already canonical: lowercase scheme and host, no port, user info, query or fragment, a path.
_CANONICAL_URL = re.compile(r"https?://[a-z0-9.-]+/[!\"$-=@-~]*")


def canonical_url(url: str) -> str:
    """Lowercase scheme and host, no default port, no fragment, no tracking parameters."""
    url = url.strip()
    if _CANONICAL_URL.fullmatch(url):
        return url  # what the splitting and joining below would give back
    return _canonical_url(url)


def _canonical_url(url: str) -> str:
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        netloc = (
            f"{userinfo}:{parts.password}@{netloc}" if parts.password else f"{userinfo}@{netloc}"
        )
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING)
    ]
    path = parts.path or ("/" if netloc else "")
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def discover_links(page: bytes, base_url: str) -> list[str]:
    """Feed URLs a page announces with ``<link rel="alternate" type="...">``, in page order."""
    finder = _LinkFinder()
    finder.feed(page[:2_000_000].decode("utf-8", errors="replace"))
    finder.close()
    found: list[str] = []
    for href in finder.hrefs:
        absolute = _safe_url(href, finder.base or base_url)
        if absolute and absolute not in found:
            found.append(absolute)
    return found


def discover_feeds(body: bytes, url: str, content_type: str | None = None) -> list[str]:
    """``[url]`` when ``body`` is itself a feed, else the feeds its HTML page links to."""
    try:
        parse_feed(body, url, content_type)
    except ParseError:
        return discover_links(body, url)
    return [url]


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";")[0].strip().lower()
        if (
            tag in ("link", "a")
            and "alternate" in rels
            and kind in FEED_TYPES[:4]
            and values.get("href")
        ):
            self.hrefs.append(values["href"])
