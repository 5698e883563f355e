"""OPML subscription lists in and out (``feeds import`` / ``feeds export``). Pure.

Reading uses expat directly so that entity declarations can be refused as they are seen
(no billion laughs, no external entities); errors name the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from pipeline.errors import InputError
from pipeline.types import FeedSpec

MAX_OUTLINES = 100_000
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def parse_opml(data: str | bytes, source: str = "OPML") -> list[FeedSpec]:
    """Every outline with an ``xmlUrl``, nested or not, in document order, each URL once."""
    reader = _Reader(source)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = reader.refuse_entity
    parser.StartElementHandler = reader.start
    reader.parser = parser
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise InputError(
            f"not valid OPML: {expat.ErrorString(exc.code)}", source, exc.lineno
        ) from None
    if not reader.seen_opml:
        raise InputError("not an OPML document (no <opml> element)", source)
    return reader.feeds


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.parser: Any = None
        self.feeds: list[FeedSpec] = []
        self.urls: set[str] = set()
        self.seen_opml = False

    def refuse_entity(self, *_args: object) -> None:
        raise InputError(
            "refused: the document declares XML entities",
            self.source,
            self.parser.CurrentLineNumber,
        )

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.seen_opml = self.seen_opml or name.lower() == "opml"
        if name.lower() != "outline":
            return
        lowered = {key.lower(): value for key, value in attrs.items()}
        url = lowered.get("xmlurl", "").strip()
        if not url or url in self.urls:
            return
        line = self.parser.CurrentLineNumber
        if len(self.feeds) >= MAX_OUTLINES:
            raise InputError(f"more than {MAX_OUTLINES} feeds", self.source, line)
        url = _http_url(url, self.source, line)
        name_attr = (lowered.get("title") or lowered.get("text") or "").strip()
        self.urls.add(url)
        self.feeds.append(FeedSpec(url=url, name=" ".join(name_attr.split())[:500] or None))


def _http_url(url: str, source: str, line: int) -> str:
    if url.lower().startswith("feed:"):  # the old feed: pseudo-scheme wraps an http(s) URL
        url = (
            url[5:].lstrip("/")
            if url[5:].lstrip("/").lower().startswith("http")
            else "http:" + url[5:]
        )
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InputError(f"feed URL must be http(s): {url[:200]!r}", source, line)
    return url


def render_opml(
    feeds: Iterable[FeedSpec], title: str = "followup feeds", created: datetime | None = None
) -> str:
    """An OPML 2.0 document listing ``feeds`` as ``type="rss"`` outlines."""
    head = [f"    <title>{escape(_xml_text(title))}</title>"]
    if created is not None:
        head.append(f"    <dateCreated>{format_datetime(created)}</dateCreated>")
    body = [_outline(feed) for feed in feeds]
    return "\n".join(
        [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<opml version="2.0">',
            "  <head>",
            *head,
            "  </head>",
            "  <body>",
            *body,
            "  </body>",
            "</opml>",
            "",
        ]
    )


def _outline(feed: FeedSpec) -> str:
    name = _xml_text(feed.name or feed.url)
    url = quoteattr(_xml_text(feed.url))
    return f'    <outline type="rss" text={quoteattr(name)} title={quoteattr(name)} xmlUrl={url}/>'


def _xml_text(text: str) -> str:
    """Drop what XML 1.0 cannot carry at all (NUL, most C0 controls, lone surrogates)."""
    return _NOT_XML.sub("", text)
