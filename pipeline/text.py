"""Text normalisation shared by profiles and the matcher. Pure: no I/O, no globals that change.

``normalize`` is the one function both sides go through, so an alias written in a profile and
the same words in a news item always compare equal: HTML stripped, Unicode NFKC, case folded,
Latin letters' diacritics dropped (Chávez is Chavez), Arabic-script letter variants folded
(Arabic and Urdu spell the same name with different yeh, kaf and heh), diacritics and tatweel
dropped, common traditional Chinese characters folded to simplified ones. Every function
bounds its work: input beyond ``MAX_CHARS`` is cut first.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache

# A news item's useful text is a few thousand characters; a 10 MB line must not cost 10 MB of
# regex and normalisation work per field. The tail of a huge body never decides a match.
MAX_CHARS = 20_000

_TAG = re.compile(
    r"<(?:script|style)\b[^>]*>.*?</(?:script|style)\s*>|<!--.*?-->|<[^<>]{0,2000}>", re.S | re.I
)
_SPACE = re.compile(r"\s+")
# What ``" ".join(text.split())`` would change: two spaces in a row, or a whitespace character
# that is not a plain space (``strip`` handles the ends). Spelled as a class of its own, which
# the regex engine scans twice as fast as ``\s\s|[^\S ]``.
_UNEVEN_SPACE = re.compile(
    "  |[\t-\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)

# Arabic-script folding. One canonical letter per family, chosen to keep Urdu spellings:
# ي (Arabic yeh) and ى (alef maksura) → ی; ك → ک; ه/ۀ/ۂ/ة → ہ; hamza-carrying alefs → ا.
_FOLD_MAP: dict[int, str | None] = {
    0x064A: "ی",  # ARABIC LETTER YEH
    0x0649: "ی",  # ALEF MAKSURA
    0x06D0: "ی",  # YEH (Pashto/Uyghur E)
    0x0643: "ک",  # ARABIC LETTER KAF
    0x06AA: "ک",  # SWASH KAF
    0x0647: "ہ",  # ARABIC HEH
    0x06C0: "ہ",  # HEH WITH YEH ABOVE
    0x06C2: "ہ",  # HEH GOAL WITH HAMZA ABOVE
    0x06D5: "ہ",  # AE
    0x0629: "ہ",  # TEH MARBUTA (reads as heh at the end of a word)
    0x0623: "ا",  # ALEF WITH HAMZA ABOVE
    0x0625: "ا",  # ALEF WITH HAMZA BELOW
    0x0622: "ا",  # ALEF WITH MADDA ABOVE
    0x0671: "ا",  # ALEF WASLA
    0x0640: None,  # TATWEEL: elongation only
    0x200C: None,  # ZERO WIDTH NON-JOINER: Urdu/Persian spell compounds with and without it
    0x200D: None,  # ZERO WIDTH JOINER
    0x200B: None,  # ZERO WIDTH SPACE
    0x00AD: None,  # SOFT HYPHEN
    0xFEFF: None,  # BYTE ORDER MARK
    0x2019: "'",  # typographic apostrophe: "Alibaba’s" reads as "Alibaba's"
    0x2018: "'",
    0x2010: "-",  # the dash family reads as a hyphen
    0x2011: "-",
    0x2012: "-",
    0x2013: "-",
    0x2014: "-",
    0x2212: "-",
}
# Harakat, superscript alef and Quranic annotation marks: vowel signs that writers add or omit.
_FOLD_MAP.update(dict.fromkeys(range(0x064B, 0x0660)))
_FOLD_MAP[0x0670] = None
_FOLD_MAP.update({code: None for code in range(0x06D6, 0x06EE) if code not in (0x06E5, 0x06E6)})
# Eastern Arabic and Persian digits → ASCII digits (NFKC leaves them alone).
_FOLD_MAP.update({0x0660 + d: str(d) for d in range(10)})
_FOLD_MAP.update({0x06F0 + d: str(d) for d in range(10)})
# Traditional → simplified Chinese for the characters of the names and phrases we track
# (Taiwan and Hong Kong outlets write 阿里雲, 螞蟻集團, 支付寶, 中巴經濟走廊).
_TRAD = (
    "國国雲云螞蚂蟻蚁團团寶宝經经濟济區区與与籤签簽签發发資资達达門门關关貿贸絲丝綢绸纖纤鋪铺線线綫线"
    "纜缆創创雙双邊边訊讯計计費费銀银聯联衛卫術术數数據据應应產产運运開开體体長长進进際际電电網网"
    "務务業业華华為为對对財财鐵铁場场實实現现點点東东專专習习記记議议說说們们會会話话論论這这個个"
    "裡里後后時时問问間间頭头見见買买賣卖貨货稅税價价錢钱門门腦脑機机變变廣广來来將将從从報报導导"
    "蘭兰齊齐訂订協协軟软雜杂貸贷匯汇兌兑"
)
_FOLD_MAP.update(
    {ord(_TRAD[i]): _TRAD[i + 1] for i in range(0, len(_TRAD), 2) if _TRAD[i] != _TRAD[i + 1]}
)


# Latin letters with diacritics → their base letter: the press writes "Chávez" and "Chavez",
# "São Paulo" and "Sao Paulo", "Erdoğan" and "Erdogan" for the same name. Letters that are
# not a base letter plus marks (ß, ø, æ, ı) are left as they are.
def _latin_base_letters() -> dict[int, str]:
    out: dict[int, str] = {}
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        parts = unicodedata.normalize("NFD", chr(code))
        base, marks = parts[0], parts[1:]
        if marks and base.isascii() and base.isalpha():
            if all(unicodedata.category(mark) == "Mn" for mark in marks):
                out[code] = base
    return out


_FOLD_MAP.update({c: b for c, b in _latin_base_letters().items() if c not in _FOLD_MAP})
_FOLDED = {chr(code): (value or "") for code, value in _FOLD_MAP.items()}
_FOLDABLE = re.compile("[" + "".join(re.escape(char) for char in sorted(_FOLDED)) + "]")


# The characters ``fold`` deletes (diacritics, tatweel, joiners): span mapping needs them.
DROPPED = re.compile("[" + "".join(re.escape(c) for c, v in sorted(_FOLDED.items()) if not v) + "]")


def _fold_match(found: re.Match[str]) -> str:
    return _FOLDED[found.group()]


# Typographic punctuation shown as its ASCII form: curly quotes, dashes, the ellipsis. Readers
# lose nothing, and half the English news text that is not ASCII becomes ASCII, which every
# later step handles faster.
_TYPOGRAPHY_MAP = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2032": "'",
    "\u2033": '"',
}
_TYPOGRAPHY = re.compile("[" + "".join(_TYPOGRAPHY_MAP) + "]")


def _typography(found: re.Match[str]) -> str:
    return _TYPOGRAPHY_MAP[found.group()]


def _plain_typography(text: str) -> str:
    """``_TYPOGRAPHY.sub(_typography, text)``: a few replaces beat a callback per quote mark."""
    for typographic, plain in _TYPOGRAPHY_MAP.items():
        if typographic in text:
            text = text.replace(typographic, plain)
    return text


def _even_spaces(text: str) -> str:
    """``" ".join(text.split())`` up to the spaces at its ends (``_clean`` strips them)."""
    if text.isprintable():  # every whitespace character but the space is unprintable
        while "  " in text:  # so only runs of spaces are left to squeeze: replaces, no split
            text = text.replace("  ", " ")
        return text
    if _UNEVEN_SPACE.search(text):  # a search is cheaper than splitting a long text
        return " ".join(text.split())
    return text


def strip_html(text: str) -> str:
    """Drop tags, scripts, styles and comments; decode entities. Bounded by ``MAX_CHARS``."""
    text = text[: MAX_CHARS * 2]
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return text


def clean(text: str) -> str:
    """The display form of a field: HTML stripped, NFC, whitespace collapsed, bounded.

    Spans reported to readers are slices of this text; ``normalize(clean(x))`` is what matches.
    """
    return _clean(text)[0]


def _clean(text: str) -> tuple[str, bool]:
    """``clean``, and whether the result is known to be in NFKC too (then ``fold`` skips the
    check): text in NFKC is also in NFC, and the NFKC check is the faster one on most scripts."""
    text = strip_html(text[: MAX_CHARS * 2])
    if not text.isascii():
        text = _even_spaces(_plain_typography(text))  # most English text is ASCII after this
    elif any(s in text for s in ("  ", "\n", "\t", "\r", "\f", "\v")):
        text = " ".join(text.split())  # only where it can change something
    text = text.strip()[:MAX_CHARS]
    if text.isascii():
        return text, True
    if len(text) > _PIECE:  # its pieces are checked one by one, the ASCII ones not at all
        return _by_pieces(_nfc, text, fold=False), False
    if unicodedata.is_normalized("NFKC", text):
        return text, True
    return _nfc(text), False


def fold(text: str) -> str:
    """NFKC + casefold + script folding, without stripping or collapsing (keeps ASCII 1:1)."""
    if text.isascii():
        return text.lower()  # NFKC leaves ASCII alone; casefold is lower; no ASCII is folded
    if not unicodedata.is_normalized("NFKC", text):  # the check is cheaper than a copy
        text = unicodedata.normalize("NFKC", text)
    return _fold_scripts(text)


def _fold_scripts(text: str) -> str:
    text = text.casefold()
    return _FOLDABLE.sub(_fold_match, text)  # few characters fold: cheaper than translate()


def clean_and_fold(text: str) -> tuple[str, str]:
    """``(clean(text), fold(clean(text)))``, checking normal forms once for both."""
    display, nfkc = _clean(text)
    if display.isascii():
        return display, display.lower()
    return display, _by_pieces(_fold_scripts if nfkc else _nfkc_folded, display, fold=True)


# Long mixed-script text is normalised in pieces of about this many characters, cut before a
# space: a space is a starter that composes with nothing and is its own normal form, so the
# normal forms (and case folding, which goes character by character) of the pieces joined are
# those of the whole text, and the ASCII pieces, most of an English-and-Urdu summary, skip the
# work (ASCII is its own NFC and NFKC, casefolds as ``lower`` and has nothing to fold).
_PIECE = 200


def _by_pieces(convert: Callable[[str], str], text: str, *, fold: bool) -> str:
    """``convert(text)``, for a ``convert`` that works piece by piece and leaves ASCII as it
    is (``fold``: lowercased)."""
    if len(text) <= _PIECE:
        return convert(text)
    pieces = []
    start, size = 0, len(text)
    while start < size:
        cut = text.find(" ", start + _PIECE)
        if cut < 0:
            cut = size
        piece = text[start:cut]
        if not piece.isascii():
            piece = convert(piece)
        elif fold:
            piece = piece.lower()
        pieces.append(piece)
        start = cut
    return "".join(pieces)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _nfkc_folded(text: str) -> str:
    return _fold_scripts(unicodedata.normalize("NFKC", text))


def normalize(text: str) -> str:
    """The matching form of any text. Never raises on any ``str`` (lone surrogates included)."""
    return _SPACE.sub(" ", fold(clean(text))).strip()


@lru_cache(maxsize=16384)
def fold_char(char: str) -> str:
    """``fold`` of one character, cached: text has few distinct characters."""
    return fold(char)


def is_word_char(char: str) -> bool:
    """Letters, digits and combining marks are word characters (Devanagari and Bengali vowel
    signs are marks: a boundary never falls between a consonant and its vowel)."""
    return char.isalnum() or char == "_" or unicodedata.category(char) in ("Mn", "Mc")


def is_cjk(char: str) -> bool:
    """Scripts written without spaces between words: matched without word boundaries."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # CJK radicals, kana, CJK ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= code <= 0x3FFFF  # CJK extensions
        or 0x0E00 <= code <= 0x0EFF  # Thai, Lao
    )


_TOKEN = re.compile(r"[^\W_]+(?:['.-][^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """Words of the normalised text; CJK runs are split into single characters."""
    tokens: list[str] = []
    for word in _TOKEN.findall(normalize(text)):
        if any(is_cjk(char) for char in word):
            tokens.extend(_split_cjk(word))
        else:
            tokens.append(word)
    return tokens


def _split_cjk(word: str) -> list[str]:
    out: list[str] = []
    run = ""
    for char in word:
        if is_cjk(char):
            if run:
                out.append(run)
                run = ""
            out.append(char)
        else:
            run += char
    if run:
        out.append(run)
    return out


# Word characters: letters, digits, combining marks; the Indic blocks whole (vowel signs are
# marks) except the danda and double danda, which end sentences.
WORD_CLASS = (
    "\\w\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0900-\u0963\u0966-\u0dff"
)
_NON_WORD = re.compile(f"[^{WORD_CLASS} ]")  # spaces are left as they are
_ASCII_NON_WORD = bytes(b if chr(b).isalnum() or b == ord("_") else ord(" ") for b in range(256))
word_char = lru_cache(maxsize=8192)(is_word_char)
# Bounding goes in pieces of this size (measured: shorter ones cost more calls, longer ones
# are less often pure ASCII in mixed-script text).
_BOUND_PIECE = 100


def bounded(norm: str) -> str:
    """Every non-word character as a space (same length). ASCII text takes a bytes fast path."""
    if norm.isascii():
        return norm.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii")
    if len(norm) <= _BOUND_PIECE:
        return _NON_WORD.sub(" ", norm)
    # character by character: pieces may be cut anywhere, and ASCII ones take the fast path
    pieces = [norm[i : i + _BOUND_PIECE] for i in range(0, len(norm), _BOUND_PIECE)]
    return "".join(
        p.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii")
        if p.isascii()
        else _NON_WORD.sub(" ", p)
        for p in pieces
    )


# Blocks where folding most often turns one character into several (Latin-1 and Latin
# Extended "ß", punctuation "…", letterlike "™", enclosed "①", CJK compatibility "㈱",
# presentation forms "ﬁ" "ﷲ"). Their expanding characters form one class, built on first use.
_EXPANDING_BLOCKS = ((0x80, 0x24F), (0x2000, 0x24FF), (0x3200, 0x33FF), (0xFB00, 0xFEFF))


@lru_cache(maxsize=1)
def _expanding() -> re.Pattern[str]:
    chars = [
        chr(code)
        for low, high in _EXPANDING_BLOCKS
        for code in range(low, high + 1)
        if len(fold(chr(code))) > 1
    ]
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


class SpanMap:
    """The display text behind a normalised text: maps spans of ``norm`` back to ``display``.

    Folding maps most characters to exactly one character; the few that fold to none
    (diacritics, tatweel) or to several (ligatures, "ß") are found once per text, and a span's
    ends are shifted past them. Set up lazily: most texts need no span, most spans no shift.
    """

    def __init__(self, display: str, norm: str) -> None:
        self.display, self.norm = display, norm
        self._starts: list[int] | None = None  # norm offset of each irregular character
        self._breaks: list[tuple[int, int, int]] = []  # (display index, folded length, shift after)
        self._exact = True

    def span(self, start: int, end: int) -> str:
        if self._starts is None:
            self._setup()
        if not self._starts:
            return self.display[start:end] if self._exact else self.norm[start:end]
        return self.display[self._back(start, end=False) : self._back(end, end=True)]

    def _setup(self) -> None:
        display = self.display
        self._starts = []
        if display.isascii():
            return
        dropped = [found.start() for found in DROPPED.finditer(display)]
        growth = len(self.norm) - (len(display) - len(dropped))
        positions = dropped  # only deletions (diacritics, tatweel, joiners): the usual case
        if growth:  # something also grew: "…", ligatures, "ß", presentation forms
            grown = [found.start() for found in _expanding().finditer(display)]
            if sum(len(fold_char(display[i])) - 1 for i in grown) == growth:
                positions = sorted(dropped + grown)
            else:  # a rarer expansion: look at every distinct character
                odd = sorted(c for c in set(display) if len(fold_char(c)) != 1)
                finder = re.compile("[" + "".join(re.escape(c) for c in odd) + "]")
                positions = [found.start() for found in finder.finditer(display)] if odd else []
        if not positions:
            self._exact = len(display) == len(self.norm)
            return
        shift = 0
        for index in positions:
            size = len(fold_char(display[index]))
            self._starts.append(index + shift)
            shift += size - 1
            self._breaks.append((index, size, shift))
        if len(display) + shift != len(self.norm):  # folding composed across characters
            self._starts, self._exact = [], False

    def _back(self, offset: int, *, end: bool) -> int:
        j = bisect_right(self._starts, offset) - 1  # type: ignore[arg-type]
        if j < 0:
            return offset
        index, size, shift = self._breaks[j]
        inside = offset - self._starts[j]  # type: ignore[index]
        if inside < size:  # within the folded form of an irregular character
            return index + (1 if end and inside > 0 else 0)
        return offset - shift
