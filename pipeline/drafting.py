"""Draft a seed profile from its article alone: entities, their kinds and aliases, topics, rules.

Pure: text in, a ``Draft`` (and its TOML) out. No model and no network: the article's own
wording plus CLDR (the ``babel`` package, imported only here) for places. In order:

1. names: capitalised word runs written mid-sentence (headings and sentence-initial words do
   not count on their own), acronyms with their expansions ("Economic Corridor (EC)"),
   possessives stripped ("Acme's" is Acme);
2. kinds: a CLDR territory or time-zone city is a place, and so is an adjectival form of one
   ("Kenyan" is Kenya) and a name joined by "and" to a place; a name that contains a place
   ("Bank of Kenya") or follows a place's possessive ("Kenya's Treasury") is an institution of
   that place; a name after a title ("Minister", "CEO") is a person; the rest are
   organisations or products;
3. the subject: the most salient organisation or person (lead paragraph, frequency); its units
   are the names that extend it ("Acme Cloud") or that the article describes as its own
   ("Beta, Acme's payments arm"); a unit described together with the main place in the same
   clause implies that place; a one-word subject's clipped name glued to a line of business
   the article names ("Alipay", "AliCloud") is a weaker alias of its units;
4. places: the most salient country is the story's place, with its cities and institutions;
   its names in the languages of the story's countries and of the major news languages come
   from CLDR, as do the names of cities with a time zone of their own; in a national
   language no other country shares (Urdu for Pakistan), the unqualified titles of its prime
   minister and president imply the place;
5. topics: the article's domain phrases (acronym expansions of common words, hyphenated
   compounds, repeated word pairs, frequent content words), in English spelling variants;
6. rules: direct = subject and place together; thread = place and topic together. One group
   alone never matches (the matcher caps it below any threshold).

What it cannot know offline: organisation and person names in other scripts (no maintained
offline source has them). ``transliterations`` writes Latin names in the phonetic scripts of
the story's languages (Perso-Arabic for Urdu, Devanagari, Bengali) by rule; Chinese, Japanese
and Arabic forms of company names are left to the curator.
"""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import Any

from pipeline.text import bounded, clean, is_cjk, normalize

MAX_DRAFT_CHARS = 200_000
THRESHOLD = 0.5
# Languages whose press covers most international stories; each story adds the official
# languages of its own countries (CLDR's territory languages).
NEWS_LANGUAGES = ("ar", "bn", "de", "es", "fa", "fr", "hi", "ja", "ko", "pt", "ru", "tr", "zh")
MAX_SUBJECT_ENTITIES = 8
MAX_KEY_PHRASES = 24
MAX_DOMAIN_WORDS = 10
# A key phrase ("data centres") is strong evidence of the story's thread; a domain word
# ("digital") weaker, but with the place in a headline it must still reach the threshold from
# a summary: 0.8 x 0.75 (summary) x 0.85 (thread rule) = 0.51.
KEY_PHRASE_WEIGHT = 0.9
# The story's place is named twice, or in its title or lead (+3): a country named once in
# passing would make every direct follow-up need it.
MIN_PLACE_SALIENCE = 2
# Below this many words an article is a headline or a brief: a lexicon term written once counts.
SHORT_ARTICLE_WORDS = 40
DOMAIN_WORD_WEIGHT = 0.8
# A domain word carried into another language by the topic lexicon: alone in a summary it
# stays under the threshold (0.75 x 0.75 x 0.85 = 0.48); in a title, or two of them, it passes.
LEXICON_WORD_WEIGHT = 0.75

# Words that start a sentence or a clause and are not names (a capital tells nothing there).
_FUNCTION = frozenset(
    """a about above after again against all also although among an and another any are as at
    be because been before being below between both but by can could despite did do does doing
    down during each either even every few for from further furthermore had has have having he
    her here hers him his how however i if in into is it its itself just least less many may
    meanwhile might more moreover most much must my neither no nor not now of off on once one
    only or other our out over own per same several she should since so some such than that the
    their them then there these they this those though through thus to too toward towards under
    until up upon very was we were what when where whether which while who whom whose why will
    with within without would yet you your""".split()
    # Urdu, Hindi and Bengali: postpositions, auxiliaries, conjunctions and pronouns. An
    # article in these scripts has no capitals to tell names by, so its phrases are its word
    # pairs, and "بابا نے" (Baba + the ergative marker) is no phrase of a topic.
    + """کا کی کے کو نے سے میں پر تک اور یا بھی ہے ہیں تھا تھی تھے ہو ہوں ہوا ہوئی ہوئے گا گی
    گے کر کرے کریں کرنے کیا کیے یہ وہ اس ان جو جس جن ایک لیے لئے ساتھ بعد جبکہ کہ تاکہ اگر
    لیکن مگر نہیں نہ ہی دیا دی دیے رہا رہی رہے والا والی والے سکتا سکتی سکتے جائے جائیں گیا
    گئی گئے""".split()
    + """का की के को ने से में पर तक और या भी है हैं था थी थे हो गया गई गए कर करने किया यह
    वह इस उस इन उन जो एक लिए साथ बाद कि लेकिन नहीं ही रहा रही रहे वाला वाली वाले सकता""".split()
    + """ও এবং এ এই সেই যে করে করা হয় হবে থেকে জন্য সঙ্গে সাথে নিয়ে না তার তাদের একটি
    এক বলে""".split()
)
# Days and months as English writes them, in full and abbreviated ("May" is also a name).
_CALENDAR = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur
    thurs fri sat january february march april june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
# General news and business words: never a topic of their own (they fit every story).
_GENERIC = frozenset(
    """ability according across act action added age agreement aim aims alternative analysts
    announced announcement area areas average based become billion board broader business
    capitals case century challenges change chief citizen citizens city clear commercial company
    companies comprehensive concerns considered context continue cornerstone country countries
    create current day days deal deepening define demographic depend designed destiny develop
    developing development developmental direct directly discussions double drive east effect
    effectively enable environment equilibrium established expand expansion expected export
    face fact far first forward foundation framework friction future geopolitical giant global
    government group growing growth half high homegrown hospitable huge hurdles impact important
    including increase industries industry influence initiative intervention investment isolation
    key landmark large last latest launch leading level levels lifeline local long made maintain
    maintains major make market markets mere middlemen million milestone move nation national
    nations need network new next number offer offers official operations optimism other part
    partner partners partnership path phase pillar pivot pivotal plan plans portion possible
    potential power president private producers program programme project projects public
    purely radical range rapidly record region regional regions relationship remain remains
    remembered report reported reshape road roads said says sector sectors senior set shift
    significant signed small statement stated strategic strategy strengthening structural
    success suggest support sustainable talks tangible thousands three time today total towards
    traditional transaction two upgrading urgent value vast viewed vital volumes way wave week
    well western whole world year years young infrastructure regarding localized localised
    necessary already allowing persistent physical advanced ultimate youth tangible senior
    robust remain population legal sized international integrate integrating dominate dominates
    approach benefit benefits better biggest central certain close common complete consider
    early economic economy effort efforts english enhance ensure entire especially every
    example expert experts external full general good great help high higher hold increasing
    issue issues largest latest leader leaders little lower main meeting members minister
    modern monday month months most nearly needs official often open order overall past
    people percent person place plan point policy political positive present pressure
    previous price prices problem process progress provide quality quickly real recent
    recently reform related rest result results right role rule second seen serious service
    services short similar simple social special stable start state states step still strong
    system systems take team term terms thing things third top trade tuesday under use used
    using various view wednesday whether wide working back ahead""".split()
)
_TITLES = frozenset(
    """mr mrs ms dr prof president minister premier chairman chairwoman chair ceo cfo cto founder
    director governor secretary ambassador spokesman spokeswoman spokesperson chancellor king
    queen prince princess senator judge general""".split()
)
_ORG_HEADS = frozenset(
    """agency airlines airways association authority bank board bureau co commission committee
    company corp corporation council court department exchange federation foundation fund group
    holding holdings inc institute limited ltd ministry office organisation organization party
    plc service services society systems technologies university ventures capital labs
    partners international movement front alliance league coalition army""".split()
)
_COMPASS = ("north", "south", "east", "west", "central", "southeast", "southwest", "northeast")
# What marks a name the atlas does not know as a place: its own head word ("Charlotte County",
# "Port Charlotte"), a compass word before it ("southwest Florida"), or a place noun after it
# ("the Orlando area", "Florida's Gulf coast").
_PLACE_HEADS = frozenset(
    """county province prefecture district region harbor harbour bay island islands
    valley river coast peninsula lake mountains desert beach springs""".split()
)
# A name that begins so names an event, and the story is about the event itself: "Hurricane
# Charley", "Typhoon Haiyan", "Operation Sindoor".
_EVENT_HEADS = frozenset("hurricane typhoon cyclone storm tropical operation".split())
# Features too wide to be the story's town: "Gulf" in "Florida's Gulf coast" is no city.
_GEOGRAPHIC_NOUNS = frozenset(
    "gulf sea ocean coast bay river lake island valley strait channel delta atlantic pacific".split()
)
# US states as AP style shortens them after a city ("Redmond, Wash.").
_STATE_ABBREVIATIONS = frozenset(
    """Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Ky La Md Mass Mich Minn Miss Mo
    Mont Neb Nev Okla Ore Pa Tenn Vt Va Wash Wis Wyo""".split()
)
_COMPASS_WORDS = frozenset(
    "north south east west northern southern eastern western central upper lower".split()
)
_PLACE_FIRST_WORDS = frozenset("port fort lake mount cape san santa".split())
_CAPITALS = r"[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*)*"
_CUE_BEFORE = re.compile(
    r"\b(?:north|south|east|west|northern|southern|eastern|western|central|north-?east"
    r"|north-?west|south-?east|south-?west|northeastern|northwestern|southeastern"
    rf"|southwestern|coastal|city of|town of|province of|capital of) ({_CAPITALS})"
)
_CUE_AFTER = re.compile(
    rf"({_CAPITALS})(?:['’]s)?\s+(?:(?:north|south|east|west)\w*\s+)?(?:\w+\s+)?"
    r"(?:area|coast|coastline|region|countryside|suburbs|interior)\b"
)
_DEMONYM_ENDINGS = ("ese", "ian", "ean", "an", "ish", "i", "n", "ic")
_UNIT_WORDS = (
    "subsidiary|unit|arm|affiliate|division|branch|platform|service|venture|brand|marketplace"
)

_WORD = re.compile(r"[^\W_](?:[\w’'&.-]*[^\W_])?")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])|\n+")
# A full stop that ends an abbreviation, not a sentence: "the U.S. State Department", "Mr. Li".
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Z]\.){2,}|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Gov|Sen|Rep|Gen|Lt|Col|Jr|Sr|No|Inc|Corp|Co)\.)$"
)
_ACRONYM = re.compile(r"\(([A-Z][A-Za-z&]*[A-Z]s?|[A-Z]{2,}s?)\)")


@dataclass(frozen=True)
class DraftAlias:
    text: str  # as the profile writes it (markers included)
    source: str  # where it came from, for the explanation


@dataclass(frozen=True)
class DraftEntity:
    name: str
    kind: str  # place, org, person, product, institution
    group: str
    weight: float
    aliases: tuple[DraftAlias, ...]
    why: str
    implies: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftTopic:
    name: str
    group: str
    weight: float
    phrases: tuple[DraftAlias, ...]
    why: str


@dataclass(frozen=True)
class DraftRule:
    name: str
    kind: str
    groups: tuple[str, ...]
    weight: float
    why: str


@dataclass(frozen=True)
class Draft:
    seed_id: str
    entities: tuple[DraftEntity, ...]
    topics: tuple[DraftTopic, ...]
    rules: tuple[DraftRule, ...]
    notes: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # names seen but left out, with why


# ---------------------------------------------------------------------- reading the article


@dataclass
class _Name:
    """A name as the article uses it."""

    text: str
    count: int = 0
    lead: bool = False  # in the first paragraph (or the title)
    first: int = 10**9  # offset of the first mention
    acronyms: set[str] = field(default_factory=set)
    places: set[str] = field(default_factory=set)  # places inside it ("Bank of Kenya")
    after_title: bool = False
    owner: str = ""  # "X's Name": the possessor
    possessive: bool = False  # written "Name's" at least once
    legal: str = ""  # also written with a legal form ("Inc"): a company
    short: str = ""  # also written by its last word alone ("Chavez" for Hugo Chavez)


@dataclass
class _Article:
    text: str
    sentences: list[tuple[int, str]]  # (offset, sentence) outside headings
    lead_end: int
    names: dict[str, _Name]
    phrases: Counter[str]
    words: Counter[str]
    expansions: dict[str, str]  # acronym -> expansion (common-word ones: topics)


def _paragraphs(text: str) -> list[tuple[int, str]]:
    out, offset = [], 0
    for block in re.split(r"(\n\s*\n|\n)", text):
        if block.strip() and not re.fullmatch(r"\s+", block):
            out.append((offset, block))
        offset += len(block)
    return out


def _is_heading(block: str) -> bool:
    """A short line without final punctuation in which most words are capitalised."""
    words = _WORD.findall(block)
    if not words or len(words) > 14 or block.rstrip()[-1:] in ".!?:;\"”'’":
        return False
    capital = sum(1 for w in words if w[0].isupper() or w.lower() in _FUNCTION)
    return capital >= 0.8 * len(words)


def _read(article: str) -> _Article:
    text = article[:MAX_DRAFT_CHARS].replace("\r\n", "\n")
    paragraphs = _paragraphs(text)
    body = [(o, p) for o, p in paragraphs if not _is_heading(p)]
    lead_end = 0
    if paragraphs:
        first_offset, first = paragraphs[0]
        lead_end = first_offset + len(first)
        if _is_heading(first) and len(paragraphs) > 1:  # a title, then the lead paragraph
            body.insert(0, paragraphs[0])
            lead_end = paragraphs[1][0] + len(paragraphs[1][1])
    sentences: list[tuple[int, str]] = []
    for offset, block in body:
        start = 0
        for cut in _SENTENCE_END.finditer(block):
            if _ABBREVIATION.search(block, 0, cut.start()) and "\n" not in cut.group():
                continue
            sentences.append((offset + start, block[start : cut.start()]))
            start = cut.end()
        sentences.append((offset + start, block[start:]))
    result = _Article(text, sentences, lead_end, {}, Counter(), Counter(), {})
    inner: set[str] = set()
    for _, sentence in sentences:
        inner.update(_name_starts(sentence, _tokens(sentence)))
    for offset, sentence in sentences:
        _read_sentence(result, offset, sentence, inner)
    return result


def _name_starts(sentence: str, tokens: Sequence[tuple[int, str]]) -> Iterable[str]:
    """Words that begin or end a name where a capital proves it: past the sentence's first
    word ("Haiyan" of Typhoon Haiyan; "Home" inside "Windows XP Home Edition" does not
    count), or before a legal form ("Microsoft Corp. has begun" opens a sentence)."""
    for start, end in _capital_runs(sentence, tokens):
        if start == 0 and end - start > 1:
            if tokens[1][1].lower() in _LEGAL_FORMS:
                yield _strip_possessive(tokens[0][1])
            start = 1  # "First African Union troops": the capitals after the first word count
        if start > 0:
            yield _strip_possessive(tokens[start][1])
        if end - start > 1:
            yield _strip_possessive(tokens[end - 1][1])


def _tokens(sentence: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)) for m in _WORD.finditer(sentence)]


def _read_sentence(art: _Article, offset: int, sentence: str, inner: set[str]) -> None:
    """Names, acronyms and phrases of one sentence. ``inner``: words the article capitalises
    somewhere past a sentence's first word (a capital at the start alone proves nothing)."""
    tokens = _tokens(sentence)
    for run_start, run_end in _capital_runs(sentence, tokens):
        words = [w for _, w in tokens[run_start:run_end]]
        if run_start == 0:
            while (
                words
                and _strip_possessive(words[0]) not in inner
                and not _known_place(_strip_possessive(words[0]))  # "Venezuela is ..."
                and not _name_shaped(sentence, words[0])
                and not (len(words) > 1 and words[1].lower() in _LEGAL_FORMS)  # "Google Inc."
                and not (len(words) > 1 and words[0].lower() in _EVENT_HEADS)  # "Hurricane X"
            ):
                first, words = words[0], words[1:]
                run_start += 1
                if first.lower() in _FUNCTION:
                    break  # "The Democratic Coordinator said": the capitals after it are a name's
            if not words:
                continue
        while len(words) > 1 and words[0].lower().rstrip(".") in _CALENDAR:
            words, run_start = words[1:], run_start + 1  # "October of Mikhail Khodorkovsky"
            while words and words[0] in ("of", "the", "de"):
                words, run_start = words[1:], run_start + 1
        if not words:
            continue
        titled = False
        while len(words) > 1 and words[0].lower() in _TITLES:
            words, titled, run_start = words[1:], True, run_start + 1
        owner = ""
        # "Kenya's Treasury": the possessor is its own name, the rest a name it owns
        for i, word in enumerate(words[:-1]):
            if _possessive(word):
                owner = _strip_possessive(" ".join(words[: i + 1]))
                _note(art, owner, offset + tokens[run_start][0], True)
                words = words[i + 1 :]
                break
        name = _strip_possessive(" ".join(words))
        after_run = sentence[tokens[run_end - 1][0] + len(tokens[run_end - 1][1]) :]
        if name in _STATE_ABBREVIATIONS and after_run.startswith("."):
            continue  # "Redmond, Wash., company": the state, as AP style shortens it
        position = offset + tokens[run_start][0]
        entry = _note(art, name, position, _possessive(words[-1]))
        if entry is None:
            continue
        if owner:
            entry.owner = owner
        entry.after_title = entry.after_title or titled
        before = tokens[run_start - 1][1].lower() if run_start else ""
        if before in _TITLES:
            entry.after_title = True
        after = sentence[tokens[run_end - 1][0] + len(tokens[run_end - 1][1]) :]
        acronym = _ACRONYM.match(after.lstrip())
        # news writes foreign acronyms after translated names ("Securities Commission (CNBV)")
        if acronym:
            entry.acronyms.add(acronym.group(1))
    _read_acronyms(art, sentence)
    _read_phrases(art, tokens)


def _capital_runs(sentence: str, tokens: Sequence[tuple[int, str]]) -> Iterable[tuple[int, int]]:
    """Runs of capitalised tokens separated by spaces only; "of", "for", "the" may join two
    capitalised words ("Bank of Kenya"); a possessive ends a run ("Acme's Beta" is two)."""

    def joined(j: int) -> bool:
        start, word = tokens[j - 1]
        return sentence[start + len(word) : tokens[j][0]].isspace()

    i = 0
    while i < len(tokens):
        if not _capitalised(tokens[i][1]):
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and joined(j):
            word = tokens[j][1]
            if word.lower() in _TITLES:  # "Acme CEO Jane Doe": an organisation, then a person
                break
            if _capitalised(word) and (not _possessive(tokens[j - 1][1]) or j - i == 1):
                j += 1
            elif (
                word in ("of", "for", "the", "de")
                and j + 1 < len(tokens)
                and joined(j + 1)
                and _capitalised(tokens[j + 1][1])
            ):
                j += 2
            elif word == "and" and _org_after(sentence, tokens, j + 1, joined):
                j += 2  # "Banking and Securities Commission": one name, not two
            elif _VERSION.fullmatch(word):
                j += 1  # "Service Pack 2", "Windows 10": the number is the name's
                break
            else:
                break
        yield i, j
        i = j


_VERSION = re.compile(r"\d{1,3}(?:\.\d{1,2})?")  # not a year: "Alibaba 2024" is no name


def _org_after(sentence: str, tokens: Sequence[tuple[int, str]], k: int, joined: Any) -> bool:
    """Does a capitalised run ending in an organisation word start at token ``k``?"""
    while k < len(tokens) and _capitalised(tokens[k][1]) and joined(k):
        if tokens[k][1].lower() in _ORG_HEADS:
            return True
        k += 1
    return False


def _name_shaped(sentence: str, word: str) -> bool:
    """A sentence-initial word that is a name all the same: a capital inside it ("NuPay",
    "M-Pesa") or an apposition after it ("Beta, Acme's app, ...")."""
    inside = any(c.isupper() for c in word[1:]) and not word.isupper()
    apposition = re.match(
        rf"{re.escape(word)},\s+(?:the\s+|a\s+)?(?:[A-Z][\w-]*\s+){{0,3}}[A-Z][\w-]*['’]s\b",
        sentence,
    )
    return inside or bool(apposition)


def _capitalised(word: str) -> bool:
    """A capital letter starts it, or an Arabic article before one ("al-Bashir")."""
    return (word[0].isupper() and not word.isdigit()) or bool(_NAME_PARTICLE.match(word))


_NAME_PARTICLE = re.compile(r"(?:al|el|ad|as|ash|at|az|ul)-[A-Z]")


def _possessive(word: str) -> bool:
    return word.endswith(("'s", "’s", "s'", "s’"))


def _strip_possessive(name: str) -> str:
    return re.sub(r"(?:['’]s|(?<=s)['’])$", "", name).strip(" .-")


def _note(art: _Article, name: str, position: int, possessive: bool) -> _Name | None:
    if not name or len(name) < 2 or name.lower() in _FUNCTION or name.isdigit():
        return None
    if name.lower().rstrip(".") in _CALENDAR | _LEGAL_FORMS:  # "Feb", "Inc": never an actor
        return None
    entry = art.names.get(name) or art.names.setdefault(name, _Name(name))
    entry.count += 1
    entry.first = min(entry.first, position)
    entry.lead = entry.lead or position < art.lead_end
    entry.possessive = entry.possessive or possessive
    return entry


def _initials_fit(acronym: str, words: Sequence[str]) -> bool:
    """Do the acronym's letters spell the initials of the words (hyphen parts may count)?"""
    letters = acronym.rstrip("s").lower() if acronym[-1] == "s" else acronym.lower()
    parts: list[list[str]] = []
    for word in words:
        if word.lower() in _FUNCTION:
            continue
        pieces = [p for p in re.split(r"[-‐]", word) if p]
        parts.append([p[0].lower() for p in pieces])

    @cache
    def fit(i: int, k: int) -> bool:
        if k == len(parts):
            return i == len(letters)
        pieces = parts[k]
        if i < len(letters) and pieces[0] == letters[i] and fit(i + 1, k + 1):
            return True
        n = len(pieces)
        return n > 1 and letters[i : i + n] == "".join(pieces) and fit(i + n, k + 1)

    return fit(0, 0)


def _read_acronyms(art: _Article, sentence: str) -> None:
    """Acronyms after lowercase phrases ("small and medium-sized enterprises (SMEs)")."""
    for found in _ACRONYM.finditer(sentence):
        acronym = found.group(1)
        words = [w for _, w in _tokens(sentence[: found.start()])][-2 * len(acronym) - 2 :]
        for size in range(1, len(words) + 1):
            tail = words[-size:]
            if tail[0].lower() in _FUNCTION:
                continue
            if _initials_fit(acronym, tail):
                if not all(_capitalised(w) for w in tail if w.lower() not in _FUNCTION):
                    art.expansions[acronym] = " ".join(tail).lower()
                break


def _read_phrases(art: _Article, tokens: Sequence[tuple[int, str]]) -> None:
    """Lowercase content words and word pairs, for topics."""
    run: list[str] = []
    for _, word in [*tokens, (0, "")]:
        lower = word.lower()
        plain = word and not _capitalised(word) and "'" not in word and "’" not in word
        if plain and lower not in _FUNCTION and not lower.isdigit():
            run.append(lower)
            art.words[lower] += 1
            continue
        if word.isupper() and len(word) >= 2:  # acronyms used as words ("AI")
            art.words[word] += 1
        for first, second in zip(run, run[1:], strict=False):
            art.phrases[f"{first} {second}"] += 1
        run = []


# ---------------------------------------------------------------------- places (CLDR)


class _CldrCache:
    """The slices of CLDR a draft reads, kept in a JSON file beside the user's other caches.

    Loading babel's locale data costs about 10 ms per language (15 languages, 200 ms): a
    profile-less seed is drafted at every command start, so what was read once is kept in
    ``$XDG_CACHE_HOME/followup/cldr-<stamp of babel's data>.json`` (a few hundred kB) and read back in
    a few ms. The file is derived data: deleting it costs one slow draft; failing to write it
    costs nothing else."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, object]] = {}
        self.dirty = False
        self.path = ""

    def load(self) -> None:
        import os
        from importlib.util import find_spec

        # babel's data file stamps the cache (importlib.metadata costs 50 ms to import)
        spec = find_spec("babel")
        stamp = "none"
        if spec is not None and spec.origin:
            data = os.path.join(os.path.dirname(spec.origin), "global.dat")
            try:
                stamp = str(int(os.stat(data).st_mtime))
            except OSError:
                pass
        root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        self.path = os.path.join(root, "followup", f"cldr-{stamp}.json")
        try:
            with open(self.path, encoding="utf-8") as handle:
                loaded = json.load(handle)
            self.data = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self.data = {}

    def get(self, key: str, build: object) -> object:
        if not self.path:
            self.load()
        if key not in self.data:
            self.data[key] = build()  # type: ignore[operator]
            self.dirty = True
        return self.data[key]

    def save(self) -> None:
        import os

        if not self.dirty or not self.path:
            return
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            temporary = f"{self.path}.{os.getpid()}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, ensure_ascii=False)
            os.replace(temporary, self.path)
            self.dirty = False
        except OSError:
            pass


_CACHE = _CldrCache()


@lru_cache(maxsize=1)
def _cldr() -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """English territory names -> code, and English time-zone cities -> (zone, territory)."""
    data = _CACHE.get("english-6", _english_from_babel)  # 6: no United Nations
    assert isinstance(data, dict)
    cities = {name: (zone, code) for name, (zone, code) in data["cities"].items()}
    return dict(data["territories"]), cities


# CLDR territory codes that name no place a story happens in: unknown, the United Nations,
# the eurozone, outlying Oceania, pseudo-locales.
_NOT_PLACES = frozenset({"ZZ", "UN", "EZ", "QO", "XA", "XB"})


def _english_from_babel() -> dict[str, dict[str, object]]:
    from babel import Locale
    from babel.core import get_global

    english = Locale("en")
    territories = {
        name: code
        for code, name in english.territories.items()
        if code not in _NOT_PLACES and not code.startswith("EU")
    }
    for name, code in list(territories.items()):  # after every main name: those come first
        for variant in (*_written_forms(name), *_TERRITORY_VARIANTS.get(code, ())):
            territories.setdefault(variant, code)
        territories.setdefault(_without_accents(name) or name, code)
    cities: dict[str, object] = {}
    for code, zones in get_global("territory_zones").items():
        for zone in zones:
            city = english.time_zones.get(zone, {}).get("city") or zone.rsplit("/", 1)[-1]
            city = city.replace("_", " ")
            cities.setdefault(city, [zone, code])
            cities.setdefault(_without_accents(city) or city, [zone, code])  # Sao Paulo
    return {"territories": dict(territories), "cities": cities}


# English names of territories that CLDR keeps only as alternatives ("variant", "short"), which
# babel does not load, and names the press still writes after a renaming: an article about an
# earthquake in Turkey must find Turkey, not take it for an organisation.
_TERRITORY_VARIANTS = {
    "TR": ("Turkey",), "CZ": ("Czech Republic",), "CI": ("Ivory Coast",), "SZ": ("Swaziland",),
    "TL": ("East Timor",), "MM": ("Burma",), "MO": ("Macau",), "PS": ("Palestine",),
    "GB": ("Britain", "Great Britain", "UK", "U.K"), "US": ("US", "USA", "U.S", "U.S.A"),
    "AE": ("UAE", "U.A.E"), "CV": ("Cabo Verde",),
    "CD": ("DR Congo", "Democratic Republic of the Congo", "Democratic Republic of Congo",
           "Congo"),  # the wire's "Congo" is Kinshasa's; Brazzaville's is "Republic of Congo"
    "CG": ("Republic of the Congo", "Republic of Congo"),
    "VA": ("Vatican",),
}  # fmt: skip


def _written_forms(name: str) -> list[str]:
    """How news text writes a CLDR display name: "Myanmar (Burma)" as Myanmar and as Burma,
    "Bosnia & Herzegovina" with "and", "St. Lucia" as Saint Lucia, "Hong Kong SAR China" as
    Hong Kong."""
    forms = []
    head, _, rest = name.partition(" (")
    if rest.endswith(")"):
        forms += [head, rest[:-1]]
    if name.endswith(" SAR China"):
        forms.append(name.removesuffix(" SAR China"))
    if " & " in name:
        forms.append(name.replace(" & ", " and "))
    if name.startswith("St. "):
        forms.append("Saint " + name.removeprefix("St. ").replace(" & ", " and "))
    return forms


def _known_place(name: str) -> bool:
    territories, cities = _cldr()
    return name in territories or name in cities or _region(name) is not None


def _region(name: str) -> str | None:
    """ "South Asia": a compass word and a continent or region CLDR names."""
    head, _, rest = name.partition(" ")
    if head.lower() not in _COMPASS or not rest:
        return None
    territories, _ = _cldr()
    return territories.get(rest)


# Adjectives of countries that their names do not spell out ("Greek", "Dutch", "Swiss").
# "English" is left out: in the news it is the language more often than the country.
_IRREGULAR_DEMONYMS = {
    "Greek": "GR", "French": "FR", "Dutch": "NL", "British": "GB", "Scottish": "GB",
    "Welsh": "GB", "Swiss": "CH", "Thai": "TH", "Irish": "IE", "Filipino": "PH",
    "Swedish": "SE", "Danish": "DK", "Finnish": "FI", "Polish": "PL", "Spanish": "ES",
    "Norwegian": "NO", "Cypriot": "CY", "Czech": "CZ", "Afghan": "AF", "Emirati": "AE",
    "Saudi": "SA", "Congolese": "CD", "Argentine": "AR", "Argentinian": "AR",
    "Turkish": "TR", "German": "DE", "Korean": "KR", "South Korean": "KR",
    "North Korean": "KP", "Cuban": "CU", "American": "US", "Belgian": "BE",
    "Portuguese": "PT", "Lebanese": "LB", "Sri Lankan": "LK", "Somali": "SO",
    "Peruvian": "PE", "Kazakh": "KZ", "Uzbek": "UZ", "Tajik": "TJ", "Malagasy": "MG",
    "Icelandic": "IS", "Maltese": "MT", "Kuwaiti": "KW", "Iraqi": "IQ", "Israeli": "IL",
}  # fmt: skip


def _demonym_of(word: str) -> str | None:
    """The place an adjective names: "Kenyan" is Kenya, "Chinese" China, "Pakistani" Pakistan."""
    if word in _IRREGULAR_DEMONYMS:
        return _territory_name(_IRREGULAR_DEMONYMS[word]) or None
    if " " in word or len(word) < 4:
        return None
    territories, _ = _cldr()
    for place in sorted(territories, key=len, reverse=True):  # "Nigerian": Nigeria, not Niger
        if " " in place or len(place) < 4 or place == word:
            continue
        stem = place[:-1] if place[-1] in "aeiouy" else place
        if len(stem) >= 4 and word.startswith(stem[:-1] if len(stem) > 5 else stem):
            tail = word[len(place) :] if word.startswith(place) else word[len(stem) :]
            if tail in _DEMONYM_ENDINGS or word[len(stem) - 1 :] in ("ese", "ian", "ish"):
                return place
    return None


@lru_cache(maxsize=64)
def _locale_names(lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """A language's names of territories (by code) and of time-zone cities (by zone)."""
    data = _CACHE.get(f"locale:{lang}", lambda: _locale_from_babel(lang))
    assert isinstance(data, list)
    return dict(data[0]), dict(data[1])


def _locale_from_babel(lang: str) -> list[dict[str, str]]:
    from babel import Locale, UnknownLocaleError

    try:
        locale = Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return [{}, {}]
    cities = {zone: info["city"] for zone, info in locale.time_zones.items() if "city" in info}
    return [dict(locale.territories), cities]


def _languages_of(codes: Iterable[str]) -> list[str]:
    """The official languages of these territories (CLDR)."""
    table = _national_languages()
    return list(dict.fromkeys(lang for code in codes for lang in table.get(code, [])))


# ---------------------------------------------------------------------- transliteration

# Latin letters as the phonetic scripts of South Asia write them in names. Digraphs first.
_URDU = {
    "sh": "ش", "ch": "چ", "kh": "خ", "gh": "غ", "th": "تھ", "ph": "ف", "ee": "ی", "oo": "و",
    "ai": "ے", "ay": "ے", "a": "ا", "b": "ب", "c": "ک", "d": "د", "e": "ی", "f": "ف", "g": "گ",
    "h": "ہ", "i": "ی", "j": "ج", "k": "ک", "l": "ل", "m": "م", "n": "ن", "o": "و", "p": "پ",
    "q": "ق", "r": "ر", "s": "س", "t": "ٹ", "u": "و", "v": "و", "w": "و", "x": "کس", "y": "ی",
    "z": "ز",
}  # fmt: skip
_INDIC_CONSONANTS = {
    "devanagari": {
        "sh": "श", "ch": "च", "kh": "ख", "gh": "घ", "th": "थ", "ph": "फ", "b": "ब", "c": "क",
        "d": "द", "f": "फ", "g": "ग", "h": "ह", "j": "ज", "k": "क", "l": "ल", "m": "म", "n": "न",
        "p": "प", "q": "क", "r": "र", "s": "स", "t": "ट", "v": "व", "w": "व", "x": "क्स", "y": "य",
        "z": "ज़",
    },
    "bengali": {
        "sh": "শ", "ch": "চ", "kh": "খ", "gh": "ঘ", "th": "থ", "ph": "ফ", "b": "ব", "c": "ক",
        "d": "দ", "f": "ফ", "g": "গ", "h": "হ", "j": "জ", "k": "ক", "l": "ল", "m": "ম", "n": "ন",
        "p": "প", "q": "ক", "r": "র", "s": "স", "t": "ট", "v": "ভ", "w": "ও", "x": "ক্স", "y": "য়",
        "z": "জ",
    },
}  # fmt: skip
# (independent vowel, vowel sign) per script; a bare consonant carries the inherent vowel.
_INDIC_VOWELS = {
    "devanagari": {
        "a": ("अ", "ा"), "e": ("ए", "े"), "i": ("इ", "ी"), "o": ("ओ", "ो"), "u": ("उ", "ू"),
        "ai": ("ऐ", "ै"), "ee": ("ई", "ी"), "oo": ("ऊ", "ू"), "ay": ("ए", "े"),
    },
    "bengali": {
        "a": ("আ", "া"), "e": ("এ", "ে"), "i": ("ই", "ি"), "o": ("ও", "ো"), "u": ("উ", "ু"),
        "ai": ("আই", "াই"), "ee": ("ই", "ী"), "oo": ("উ", "ু"), "ay": ("এ", "ে"),
    },
}  # fmt: skip
_VIRAMA = {"devanagari": "्", "bengali": "্"}
_SCRIPT_OF = {"ur": "urdu", "hi": "devanagari", "ne": "devanagari", "mr": "devanagari",
              "bn": "bengali"}  # fmt: skip


def _chunks(word: str) -> list[str]:
    out, i = [], 0
    word = word.lower()
    while i < len(word):
        pair = word[i : i + 2]
        if len(pair) == 2 and (pair in _URDU or pair in _INDIC_VOWELS["bengali"]):
            out.append(pair)
            i += 2
        elif word[i].isalpha() and word[i].isascii():
            if not out or out[-1] != word[i]:  # double letters are written once
                out.append(word[i])
            i += 1
        else:
            return []
    return out


# Arabic and Persian name elements keep their own spelling in Urdu, whatever the Latin
# letters suggest (Ali is علی, not الی), and a name built on one is written apart from the rest.
_URDU_NAME_ELEMENTS = {
    "abdul": "عبدال", "ahmad": "احمد", "ahmed": "احمد", "ali": "علی", "aziz": "عزیز",
    "hassan": "حسن", "hussain": "حسین", "khan": "خان", "mohammad": "محمد",
    "muhammad": "محمد", "omar": "عمر", "osman": "عثمان", "rahman": "رحمان", "raza": "رضا",
    "shah": "شاہ", "umar": "عمر", "usman": "عثمان",
}  # fmt: skip


def _to_urdu(word: str) -> list[str]:
    """Urdu leaves short vowels unwritten and English spelling does not say which "a" is
    short: the fully written form, and for a word that starts with a consonant the form
    without its first "a" (Karim: کریم). A name that starts with an Arabic name element is
    also written as that element and the rest (Alimar: علی مار)."""
    chunks = _chunks(word)
    if not chunks:
        return []
    forms = [_urdu_letters(chunks, skip=-1)]
    if chunks[0] not in "aeiou" and len(chunks) > 3 and chunks[1] == "a":
        forms.append(_urdu_letters(chunks, skip=1))
    lower = word.lower()
    if lower in _URDU_NAME_ELEMENTS:
        forms.insert(0, _URDU_NAME_ELEMENTS[lower])
    for element, spelling in _URDU_NAME_ELEMENTS.items():
        rest = lower[len(element) :]
        if lower.startswith(element) and len(rest) >= 3 and _chunks(rest):
            forms.append(f"{spelling} {_urdu_letters(_chunks(rest), skip=-1)}")
    return forms


def _urdu_letters(chunks: Sequence[str], skip: int) -> str:
    out = []
    for i, chunk in enumerate(chunks):
        if i == skip:
            continue
        if chunk in ("a", "e", "i", "o", "u") and i == 0:
            out.append({"a": "ا", "e": "ای", "i": "ا", "o": "او", "u": "ا"}[chunk])
        else:
            out.append(_URDU.get(chunk, ""))
    return "".join(out)


def _indic_forms(word: str, script: str) -> list[str]:
    """The fully written form; the form whose first "a" is the consonant's inherent vowel
    (Daraz: दराज); Devanagari also without the nukta many outlets omit (ज़ as ज)."""
    chunks = _chunks(word)
    forms = [_to_indic(chunks, script, inherent=-1)]
    if chunks and chunks[0] not in "aeiou" and len(chunks) > 3 and chunks[1] == "a":
        forms.append(_to_indic(chunks, script, inherent=1))
    if script == "devanagari":
        forms += [f.replace("\u093c", "") for f in forms if "\u093c" in f]
    return [f for f in forms if f]


def _to_indic(chunks: Sequence[str], script: str, inherent: int) -> str:
    consonants, vowels, virama = _INDIC_CONSONANTS[script], _INDIC_VOWELS[script], _VIRAMA[script]
    out: list[str] = []
    for i, chunk in enumerate(chunks):
        if i == inherent:
            continue
        if chunk in vowels:
            independent, sign = vowels[chunk]
            after_consonant = i > 0 and chunks[i - 1] in consonants
            out.append(sign if after_consonant else independent)
            continue
        letter = consonants.get(chunk, "")
        nxt = chunks[i + 1] if i + 1 < len(chunks) else ""
        if i + 1 == inherent:
            out.append(letter)
            continue
        final = i == len(chunks) - 1
        out.append(letter if final or nxt in vowels else letter + virama)
    return "".join(out)


def transliterations(name: str, langs: Iterable[str]) -> list[tuple[str, str]]:
    """(alias, language) for a one- or two-word Latin name in the phonetic scripts of
    ``langs``: a starting point for the press of those languages, not an authority."""
    words = name.split()
    if not 1 <= len(words) <= 2 or not all(w.isascii() and w.isalpha() for w in words):
        return []
    if any(w.isupper() for w in words):  # acronyms are spelled out letter by letter
        return []
    out: list[tuple[str, str]] = []
    for lang in langs:
        script = _SCRIPT_OF.get(lang)
        if script is None:
            continue
        if script == "urdu":
            variants = [_to_urdu(w) for w in words]
        else:
            variants = [_indic_forms(w, script) for w in words]
        if all(v and all(v) for v in variants):
            for form in _combinations(variants):
                out.append((form, lang))
    return list(dict.fromkeys(out))


def _combinations(variants: Sequence[Sequence[str]]) -> list[str]:
    forms = [""]
    for options in variants:
        forms = [f"{f} {o}".strip() for f in forms for o in options]
    return forms


# ---------------------------------------------------------------------- drafting


@dataclass
class _Entity:
    name: str
    kind: str
    salience: float
    aliases: list[DraftAlias]
    why: list[str]
    place: str = ""  # for places and institutions: the territory name they belong to
    parent: str = ""
    implies: list[str] = field(default_factory=list)


def draft(article: str, seed_id: str) -> Draft:
    art = _read(article)
    entities = _classify(art)
    places = [e for e in entities if e.kind == "place" and e.place == e.name]
    # a country before a continent or region ("Africa" in "mpox spreads in Africa")
    # a country, state or town before a continent ("Africa" in "mpox spreads in Africa")
    local = [e for e in places if not _cldr()[0].get(e.name, "").isdigit()]
    # a country's towns count for it: the story happens there ("Baghdad", "Najaf"), where
    # another country may only be its actors' adjective ("US Marines", "American troops")
    towns: dict[str, float] = {}
    for e in entities:
        if e.kind == "place" and e.place and e.place != e.name:
            towns[e.place] = towns.get(e.place, 0.0) + e.salience
    main = max(local or places, key=lambda e: e.salience + towns.get(e.name, 0.0), default=None)
    if main is not None and main.salience < MIN_PLACE_SALIENCE:
        main = None  # named once, in passing ("regulators in the United States"): no place
    if main is not None:
        places = _towns_of(main, places)
    others = [e for e in entities if e.kind not in ("place", "feature", "modifier")]
    subject = _subject(others)
    maker = None  # in a launch story, the company whose product is the subject
    product = _launched_product(subject, others) if main is None and subject else None
    if product is not None:
        maker, subject = subject, product
    notes: list[str] = []
    skipped: list[str] = []
    chosen: list[DraftEntity] = []
    langs: list[str] = []
    official: list[str] = []
    if main is not None:
        territories, _ = _cldr()
        codes = [territories[p.name] for p in places if p.name in territories]
        official = _languages_of(codes)
        langs = list(dict.fromkeys([*official, *NEWS_LANGUAGES]))
        notes.append(
            f"the story's place is {main.name} (the most salient place); names of places are "
            f"written in {', '.join(langs)} (CLDR: the official languages of "
            f"{', '.join(p.name for p in places)} and the major news languages)"
        )
        chosen += _place_entities(main, entities, langs)
        chosen += _office_entities(main)
    story_langs = _story_languages(official)
    if subject is not None:
        drafted = _subject_entities(art, maker or subject, others, main, story_langs, skipped)
        if maker is not None:
            drafted = _led_by_product(drafted, subject, maker)
        chosen += drafted
    for e in entities:
        if e.kind == "place" and e.place == e.name and e is not main:
            skipped.append(f"{e.name}: a place of the story, but not its main one")
    if main is not None and any(e.implies for e in chosen):
        chosen.append(_elsewhere(main, places, ["en", *story_langs]))
    business = _business_words(chosen, subject)
    chosen += _clipped_units(art, subject, business)
    topics = _topics(art, chosen, [e for e in entities if e.kind == "concept"], business)
    topics = _carried(topics, story_langs)
    rules = _rules(chosen, topics, subject, main)
    if subject is None:
        notes.append("no organisation or person stands out: direct follow-ups need a curator")
    letters = [c for c in article if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) < len(letters) / 2:
        notes.append(
            "most of the article is in a script without capital letters: names cannot be told "
            "from words there, so its organisations and people must be added by hand"
        )
    written = sorted(lang for lang in story_langs if lang in _SCRIPT_OF)
    notes.append(
        "organisation and person names in other scripts have no offline source: add them by "
        "hand"
        + (
            f" ({', '.join(written)} forms below are rule-based transliterations)"
            if written
            else ""
        )
    )
    return Draft(seed_id, tuple(chosen), tuple(topics), tuple(rules), tuple(notes), tuple(skipped))


def _towns_of(main: _Entity, places: list[_Entity]) -> list[_Entity]:
    """The places found by their context alone that no country owns in the text are the
    main place's own towns and regions (Punta Gorda and Orlando in a story about Florida):
    the story's places that are not its main one are those of other countries."""
    territories, cities = _cldr()
    kept = []
    for place in places:
        known = place.name in territories or place.name in cities or _region(place.name)
        if place is main or known:
            kept.append(place)
        else:
            place.place = main.name
            place.why = [f"{place.why[0]}, in a story about {main.name}"]
    return kept


def _classify(art: _Article) -> list[_Entity]:
    """Every name the article uses at least twice, in its lead, or with a relation, typed."""
    territories, cities = _cldr()
    out: dict[str, _Entity] = {}
    place_mentions: Counter[str] = Counter()
    _merge_legal_forms(art)
    _merge_last_words(art, territories, cities)
    _link_acronyms(art)
    acronyms = {a: n for n, e in art.names.items() for a in e.acronyms}
    for acronym, full in acronyms.items():  # "AI" is Artificial Intelligence: its mentions too
        if acronym in art.names and full in art.names and acronym != full:
            art.names[full].count += art.names[acronym].count
            art.names[full].lead = art.names[full].lead or art.names[acronym].lead
    canonical = _place_forms(art, territories)
    for name, entry in art.names.items():
        if name in acronyms and acronyms[name] in art.names:
            continue
        if name in art.expansions:  # an acronym of common words: a topic
            continue
        salience = entry.count + (3 if entry.lead else 0) + (1 if entry.acronyms else 0)
        for i, part in enumerate(re.split(r"[-–/ ]+", name)):  # "China-Kenya Corridor": both
            # an adjective names its country first in a name ("Chinese Academy"); later it is
            # often the Americas' or a people's ("Organization of American States")
            adjective = _demonym_of(part) if i == 0 or "-" in name else None
            place = canonical.get(part) or _canonical_place(adjective, canonical)
            if place and part != name:
                entry.places.add(place)
                place_mentions[place] += entry.count
        place = canonical.get(name) or _canonical_place(_demonym_of(name), canonical)
        if place:
            place_mentions[place] += salience
            source = "CLDR territory" if place == name else f"adjective of {place}"
            e = out.setdefault(place, _Entity(place, "place", 0.0, [], [], place=place))
            e.aliases.append(DraftAlias(name, f"article ({source})"))
            continue
        if name in cities or _region(name):
            region = _region(name)
            where = territories.get(region or "", "") if region else cities[name][1]
            kind_why = "a CLDR region" if region else f"a CLDR time-zone city ({cities[name][0]})"
            owner = _territory_name(where) if not region else ""
            out[name] = _Entity(name, "place", salience, [DraftAlias(name, "article")],
                                [kind_why], place=owner)  # fmt: skip
            continue
        out[name] = _typed(name, entry, salience, art.words, art.text)
    if not art.text.isascii():
        for place, (mentions, native) in _native_place_mentions(art).items():
            place_mentions[place] += mentions
            e = out.setdefault(place, _Entity(place, "place", 0.0, [], [], place=place))
            e.aliases.append(DraftAlias(native, "article (a CLDR name in another language)"))
    for place, mentions in place_mentions.items():
        if place in out:
            out[place].salience += mentions
            out[place].why.append(f"named {mentions} times counting adjectives and compounds")
    _places_by_context(art, out)
    _propagate_conjuncts(art, out)
    return list(out.values())


def _place_cues(text: str) -> dict[str, str]:
    """Every capitalised name that a place cue stands beside -> the words that show it, found
    in one pass over the text (a pass per name costs minutes on a long odd text). Lowercase
    cues only: "West Ham" and "Western Union" are no places' names."""
    cues: dict[str, str] = {}
    for found in _CUE_BEFORE.finditer(text):
        words = found.group(1).split(" ")
        for size in range(1, len(words) + 1):  # "southwest Florida Keys": Florida, Florida Keys
            cues.setdefault(_strip_possessive(" ".join(words[:size])), found.group(0))
    for found in _CUE_AFTER.finditer(text):
        words = found.group(1).split(" ")
        # "the Orlando area"; "Florida's Gulf coast" cues Gulf, and Florida, its possessor
        ends = [len(words)] + [i + 1 for i, w in enumerate(words[:-1]) if _possessive(w)]
        for end in ends:
            for size in range(1, end + 1):
                cues.setdefault(
                    _strip_possessive(" ".join(words[end - size : end])), found.group(0)
                )
    return cues


def _places_by_context(art: _Article, out: dict[str, _Entity]) -> None:
    """Places the atlas does not know (states, provinces, towns): what the article writes
    around a name says it is one. Such a place belongs to the country that owns it in the
    text ("China's Xinjiang"), else to none yet: ``draft`` gives it to the story's place."""
    cues = _place_cues(art.text)
    for name, entity in out.items():
        entry = art.names.get(name)
        if entity.kind not in ("org", "concept") or entry is None or entry.legal:
            continue
        words = name.lower().split()
        if words[-1] in _ORG_HEADS:
            continue
        if len(words) == 1 and words[0] in _GEOGRAPHIC_NOUNS:
            entity.kind, entity.why = "feature", ["a geographic feature: no actor, no town"]
            continue
        if words[-1] in _PLACE_HEADS and len(words) > 1:
            cue = f"ends in '{words[-1]}', a place word"
        elif words[0] in _PLACE_FIRST_WORDS and len(words) > 1:
            cue = f"begins with '{words[0]}', a place word"
        elif words[0] in _COMPASS_WORDS and len(words) == 2 and name.split()[1] in art.names:
            # "North Darfur" beside "Darfur"; "Western Union" has no "Union" of its own
            cue = f"a part of {name.split()[1]}, which the article also names alone"
        elif name in cues:
            cue = f"written '{cues[name]}': a place"
        else:
            continue
        entity.kind, entity.why = "place", [cue]
        owner = entry.owner if entry.owner in _cldr()[0] else ""
        entity.place = owner or name


def _place_forms(art: _Article, territories: Mapping[str, str]) -> dict[str, str]:
    """Each form of a country the article writes -> the one form its entity goes by: "U.S."
    and "United States" are one place, named as the article names it most often."""
    forms: dict[str, list[str]] = {}
    for name in art.names:
        if name in territories:
            forms.setdefault(territories[name], []).append(name)
    out = {}
    for names in forms.values():
        chosen = max(names, key=lambda n: (art.names[n].count, len(n)))
        out.update(dict.fromkeys(names, chosen))
    return out


def _canonical_place(place: str | None, canonical: Mapping[str, str]) -> str | None:
    """A country an adjective names, by the form the article itself uses for it ("Turkish"
    in an article that writes "Turkey" is Turkey, not CLDR's Türkiye)."""
    if place is None:
        return None
    territories, _ = _cldr()
    code = territories.get(place)
    same = [form for written, form in canonical.items() if territories.get(written) == code]
    return same[0] if same else place


# Legal forms that end a company's full name: "Activision Blizzard Inc" is Activision Blizzard.
_LEGAL_FORMS = frozenset(
    """inc corp co ltd plc llc limited corporation incorporated sa ag nv gmbh spa ab asa""".split()
)


def _merge_legal_forms(art: _Article) -> None:
    """A company's full name ("Microsoft Corp") counts as mentions of its short name when the
    article also uses that: one company, not a second one, nor a unit of itself."""
    for name in list(art.names):
        head, _, last = name.rpartition(" ")
        if len(head) < 2 or last.lower().rstrip(".") not in _LEGAL_FORMS:
            continue
        full = art.names.pop(name)
        short = art.names.get(head)
        if short is None:  # only ever written in full: items still write it short
            short = art.names[head] = _Name(head, 0, first=full.first, owner=full.owner)
        short.legal = last
        short.count += full.count
        short.lead = short.lead or full.lead
        short.acronyms.update(full.acronyms)
        short.places.update(full.places)


def _merge_last_words(
    art: _Article, territories: Mapping[str, str], cities: Mapping[str, object]
) -> None:
    """A one-word name that ends exactly one longer name is that name written short, as
    news writes people after the first mention ("Chavez" for Hugo Chavez) and named events
    ("Charley" for Hurricane Charley): its mentions are the longer name's, and so is the word."""
    for word in [n for n in art.names if " " not in n]:
        if word in territories or word in cities or word.lower() in _ORG_HEADS:
            continue
        if word.lower() in art.words:  # "Cloud" of Alibaba Cloud is also the cloud: a word
            continue
        longer = [
            n
            for n in art.names
            if n.endswith(" " + word)
            and n not in territories
            and all(_capitalised(w) for w in n.split())
            and len(n.split()) <= 3
            and n.split()[0] not in territories
            and n.split()[0] not in cities  # "Sydney Olympics": a place's event, not a person
            and n.split()[0].lower() not in _COMPASS_WORDS  # "North Darfur": a region
            and _person_or_event(art, n)
        ]
        if len(longer) != 1:  # none, or two people of one family: leave it alone
            continue
        short, full = art.names.pop(word), art.names[longer[0]]
        full.short = word
        full.count += short.count
        full.lead = full.lead or short.lead
        full.first = min(full.first, short.first)
        full.possessive = full.possessive or short.possessive
        full.acronyms.update(short.acronyms)


def _link_acronyms(art: _Article) -> None:
    """An acronym the article uses on its own ("IOC", "SP2") whose letters spell the initials
    of exactly one longer name it writes ("International Olympic Committee", "Service Pack
    2") is that name, even where no parentheses say so."""
    for acronym in [n for n in art.names if _ACRONYM_WORD.fullmatch(n)]:
        if any(acronym in e.acronyms for e in art.names.values()):
            continue
        fits = [
            n for n in art.names if " " in n and n != acronym and _initials_fit(acronym, n.split())
        ]
        if len(fits) == 1:
            art.names[fits[0]].acronyms.add(acronym)


_ACRONYM_WORD = re.compile(r"(?=(?:[A-Z]\d*){2})[A-Z][A-Z\d]{1,5}")


def _person_or_event(art: _Article, name: str) -> bool:
    """A name written after a title ("President Hugo Chavez"), a named event ("Hurricane
    Charley"), or one none of whose words the article also writes as a common word, and
    whose first word is not a name of its own ("Alibaba Cloud" is a unit of Alibaba)."""
    words = name.split()
    return (
        art.names[name].after_title
        or words[0].lower() in _EVENT_HEADS
        or not (words[0] in art.names or any(w.lower() in art.words for w in words))
    )


# Languages whose CLDR country names are looked for in an article that is not in English.
SCAN_LANGUAGES = (*NEWS_LANGUAGES, "am", "he", "id", "it", "ms", "nl", "pl", "sw", "ta", "th",
                  "uk", "ur", "vi")  # fmt: skip


def _native_place_mentions(art: _Article) -> dict[str, tuple[int, str]]:
    """Countries the article names in another language or script (Urdu پاکستان, Spanish
    México): English name -> (mentions, +3 in the lead; the form found)."""
    territories, _ = _cldr()
    english = {code: name for name, code in territories.items() if len(code) == 2}
    found: dict[str, tuple[int, str]] = {}
    for lang in SCAN_LANGUAGES:
        for code, native in _locale_names(lang)[0].items():
            if code not in english or native.isascii() or len(native) < 2:
                continue
            count = art.text.count(native)
            if count:
                lead = 3 if art.text.find(native) < art.lead_end else 0
                before = found.get(english[code], (0, native))
                if count + lead > before[0]:
                    found[english[code]] = (count + lead, native)
    return found


def _territory_name(code: str) -> str:
    territories, _ = _cldr()
    return next((name for name, c in territories.items() if c == code), "")


_ADJECTIVE_NAME = re.compile(r"(?:ic|ian|ean|ese|ish|al)$")
_TITLED_AFTER = re.compile(
    r"\b([A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,3}),\s+(?:the\s+|a\s+)?(?:[\w'’-]+\s+){0,3}?"
    rf"(?:{'|'.join(sorted(_TITLES))})\b"
)


def _titled_after(text: str, name: str) -> bool:
    """ "Francisco Carrasquero, the council's president": a person named, then titled."""
    return name in _titled_names(text)


@lru_cache(maxsize=8)
def _titled_names(text: str) -> frozenset[str]:
    """Every name a title follows, found in one pass (and its shorter tails: "Mr Jo Doe")."""
    names: set[str] = set()
    for found in _TITLED_AFTER.finditer(text):
        words = found.group(1).split(" ")
        names.update(" ".join(words[i:]) for i in range(len(words)))
    return frozenset(names)


def _only_before_nouns(text: str, name: str) -> bool:
    """Is ``name``, wherever the article writes it alone, followed by a lowercase word?"""
    follows = [m.group(1) for m in re.finditer(rf"\b{re.escape(name)}\b(\W*\w*)", text)]
    alone = [f for f in follows if not (f[:1] == " " and f[1:2].isupper())]
    return bool(alone) and all(re.fullmatch(r" [a-z][\w-]*", f) for f in alone)


def _typed(
    name: str, entry: _Name, salience: float, lowercase: Counter[str], art_text: str
) -> _Entity:
    aliases = [DraftAlias(name, "article")]
    aliases += [
        DraftAlias(a, "article (its acronym in parentheses)") for a in sorted(entry.acronyms)
    ]
    if entry.short:
        aliases.append(DraftAlias(entry.short, "article (its last word, written alone)"))
        bare = _NAME_PARTICLE.sub(lambda found: found.group()[-1], entry.short)
        if bare != entry.short and len(bare) >= 4:  # "al-Sadr" is also written "Sadr"
            aliases.append(DraftAlias(bare, "its last word without the Arabic article"))
    last = name.split()[-1].lower()
    if entry.places:
        joined = " and ".join(sorted(entry.places))
        return _Entity(name, "institution", salience, aliases,
                       [f"its name contains {joined}"], place=sorted(entry.places)[0])  # fmt: skip
    if entry.owner and (entry.owner in _cldr()[0] or _demonym_of(entry.owner)):
        owner = entry.owner if entry.owner in _cldr()[0] else _demonym_of(entry.owner) or ""
        return _Entity(name, "institution", salience, aliases,
                       [f"written as {entry.owner}'s {name}"], place=owner)  # fmt: skip
    if entry.after_title and 1 < len(name.split()) <= 4:
        return _Entity(name, "person", salience, aliases, ["follows a title (Minister, CEO...)"])
    if 1 < len(name.split()) <= 3 and _titled_after(art_text, name):
        why = "a title follows it ('Cesar Gaviria, secretary general of ...')"
        return _Entity(name, "person", salience, aliases, [why])
    words = name.split()
    if len(words) > 1 and words[0].lower() in _EVENT_HEADS:
        return _Entity(name, "event", salience, aliases, [f"a named event ('{words[0]} ...')"])
    if entry.short and len(words) <= 3:
        why = f"also written '{entry.short}' alone, as news writes people after the first mention"
        return _Entity(name, "person", salience, aliases, [why])
    if name.lower() in _lexicon_keys():  # "AI", "IPO", "Fintech": news words, not names
        return _Entity(name, "concept", salience, aliases, ["a term of the topic lexicon"])
    if len(words) == 1 and _ADJECTIVE_NAME.search(name) and _only_before_nouns(art_text, name):
        why = "an adjective before nouns ('Olympic team'): it qualifies, it does not act"
        return _Entity(name, "modifier", salience, aliases, [why])
    if last in _ORG_HEADS:
        why = f"ends in '{last}', an organisation word"
    elif entry.legal:
        why = f"also written '{name} {entry.legal}': a company"
    elif len(words) > 1 and not entry.short and any(w.lower() in lowercase for w in words):
        used = ", ".join(w.lower() for w in words if w.lower() in lowercase)
        return _Entity(name, "concept", salience, aliases,
                       [f"the article also writes {used} lowercase: a term, not a name"])  # fmt: skip
    elif entry.possessive:
        why = f"written '{name}'s': an actor"
    else:
        why = "a capitalised name"
    entity = _Entity(name, "org", salience, aliases, [why])
    if entry.owner:
        entity.parent = entry.owner
        entity.why.append(f"written as {entry.owner}'s {name}")
    return entity


def _propagate_conjuncts(art: _Article, out: dict[str, _Entity]) -> None:
    """ "Nairobi and Mombasa": a name joined by "and"/"or" to a city is a city of that place."""
    for _, sentence in art.sentences:
        for left, right in re.findall(r"([A-Z][\w-]+),? (?:and|or) ([A-Z][\w-]+)", sentence):
            for known, other in ((left, right), (right, left)):
                a, b = out.get(known), out.get(other)
                if a and b and a.kind == "place" and a.place and b.kind != "place":
                    if " " in b.name or b.aliases[1:]:
                        continue
                    b.kind, b.place = "place", a.place
                    b.why = [f"joined by 'and' to {a.name}, a city of {a.place}"]


def _subject(others: Sequence[_Entity]) -> _Entity | None:
    actors = [e for e in others if e.kind in ("org", "person", "event") and not e.parent]
    # on a tie, a name the article writes as a company ("Google Inc.") or an actor ("X's")
    return max(actors, key=lambda e: (e.salience, _acting(e)), default=None)


def _kind_note(entity: _Entity) -> str:
    return f"kind {entity.kind} ({'; '.join(entity.why)})"


def _led_by_product(
    drafted: list[DraftEntity], product: _Entity, maker: _Entity
) -> list[DraftEntity]:
    """A launch story, drafted from its maker (its units and backers are found from it), is
    led by the product; the maker becomes another actor."""
    why = f"the story's subject: a versioned product named nearly as often as {maker.name}"
    lead = next((e for e in drafted if e.name == product.name), None) or DraftEntity(
        product.name, product.kind, "subject", 1.0,
        _unique(DraftAlias(a.text, a.source) for a in product.aliases), "",
    )  # fmt: skip
    out = [replace(lead, group="subject", weight=1.0, why=f"{why}; {_kind_note(product)}")]
    for entity in drafted:
        if entity.name == maker.name:
            why = f"the maker of {product.name}: its other news needs the story's vocabulary"
            entity = replace(entity, group="actor", weight=0.8, why=f"{why}; {_kind_note(maker)}")
        if entity.name != product.name:
            out.append(entity)
    return sorted(out, key=lambda e: e.group != "subject")


def _launched_product(maker: _Entity, others: Sequence[_Entity]) -> _Entity | None:
    """A versioned name ("Service Pack 2", "Orca-3") the article names nearly as often as the
    company that makes it is what a launch story is about: follow-ups are news of the
    product, not every piece of news of its maker (Microsoft's are countless)."""
    products = [
        e
        for e in others
        if e is not maker
        and e.kind == "org"
        and len(parts := re.split(r"[\s-]", e.name)) > 1
        and _VERSION.fullmatch(parts[-1])
        and e.salience >= 0.6 * maker.salience
    ]
    return max(products, key=lambda e: e.salience, default=None)


def _acting(entity: _Entity) -> bool:
    return any(mark in entity.why[0] for mark in ("a company", "an actor", "organisation word"))


def _place_entities(
    main: _Entity, entities: Sequence[_Entity], langs: Sequence[str]
) -> list[DraftEntity]:
    territories, _ = _cldr()
    code = territories.get(main.name, "")
    source = "CLDR en territory name" if code else f"article ({main.why[0]})"
    aliases = [DraftAlias(_stem(main.name), source)]
    aliases += [a for a in main.aliases if a.text != main.name]
    # the names the press writes beside CLDR's ("U.S." beside "US" and "United States")
    aliases += [DraftAlias(v, "a name the press writes") for v in _TERRITORY_VARIANTS.get(code, ())]
    for lang in langs:
        native = _locale_names(lang)[0].get(code)
        if native and native != main.name:
            for form in _native_forms(native, lang):
                aliases.append(DraftAlias(form, f"CLDR {lang} territory name"))
    out = [
        DraftEntity(
            main.name,
            "place",
            "place",
            1.0,
            _unique(aliases),
            "; ".join(["the story's main place", *main.why]),
        )  # fmt: skip
    ]
    cities = [e for e in entities if e.kind == "place" and e.place == main.name and e is not main]
    city_aliases: list[DraftAlias] = []
    for city in cities:
        city_aliases.append(DraftAlias(city.name, f"article ({city.why[0]})"))
    _, zone_cities = _cldr()
    for name, (zone, where) in zone_cities.items():
        if where != code:
            continue
        city_aliases.append(DraftAlias(name, f"CLDR time-zone city {zone}"))
        for lang in langs:
            native = _locale_names(lang)[1].get(zone)
            if native and native != name:
                city_aliases.append(DraftAlias(native, f"CLDR {lang} name of {zone}"))
    if city_aliases:
        out.append(DraftEntity(f"Cities of {main.name}", "place", "place", 0.9,
                               _unique(city_aliases), f"cities of {main.name}"))  # fmt: skip
    institutions = [e for e in entities if e.kind == "institution" and main.name in _places_of(e)]
    for inst in institutions:
        out.append(DraftEntity(inst.name, "institution", "place", 0.9, _unique(inst.aliases),
                               f"an institution of {main.name}: {'; '.join(inst.why)}"))  # fmt: skip
    return out


# A country's head of government and of state, unqualified, as the press of a language writes
# them. Where the language is the national language of one country only, "the prime minister"
# there is that country's: the title implies the place (an item naming another country voids
# it). Only titles no other script or language writes the same way.
_OFFICES: dict[str, tuple[str, ...]] = {
    "ur": ("وزیر اعظم", "وزیراعظم", "صدر مملکت"),
    "hi": ("प्रधानमंत्री", "प्रधान मंत्री", "राष्ट्रपति"),
    "bn": ("প্রধানমন্ত্রী", "রাষ্ট্রপতি"),
    "ne": ("प्रधानमन्त्री",),
    "ja": ("首相",),
    "th": ("นายกรัฐมนตรี",),
    "vi": ("Thủ tướng", "Chủ tịch nước"),
    "id": ("Presiden",),
    "si": ("අගමැති", "ජනාධිපති"),
}  # fmt: skip


def _office_entities(main: _Entity) -> list[DraftEntity]:
    territories, _ = _cldr()
    code = territories.get(main.name, "")
    aliases = [
        DraftAlias(title, f"office lexicon: {lang}, the national language of {main.name} alone")
        for lang in _own_languages(code)
        for title in _OFFICES.get(lang, ())
    ]
    if not aliases:
        return []
    why = (
        f"{main.name}'s prime minister and president as the press of its own language names "
        f"them, unqualified: they imply {main.name} unless the item names another country"
    )
    return [DraftEntity(f"Offices of {main.name}", "office", "office", 0.8, _unique(aliases),
                        why, ("place",))]  # fmt: skip


def _own_languages(code: str) -> list[str]:
    """The national languages (CLDR) of this territory that no other territory shares."""
    if not code:
        return []
    every = _national_languages()
    return [
        lang
        for lang in every.get(code, [])
        if lang != "en" and not any(lang in langs for c, langs in every.items() if c != code)
    ]


def _national_languages() -> dict[str, list[str]]:
    def national() -> dict[str, list[str]]:
        from babel.core import get_global
        from babel.languages import get_official_languages

        every = get_global("territory_languages")
        return {
            c: [x.split("_")[0] for x in get_official_languages(c, de_facto=True)] for c in every
        }

    table = _CACHE.get("official", national)
    assert isinstance(table, dict)
    return table


def _places_of(entity: _Entity) -> set[str]:
    return (
        {entity.place}
        | {a.text for a in entity.aliases if a.text in _cldr()[0]}
        | (set(re.split(r"[-–/ ]+", entity.name)) & set(_cldr()[0]))
    )


def _native_forms(native: str, lang: str) -> list[str]:
    """A CLDR name as the matcher should see it: inflections may follow in scripts that
    attach them (Urdu -ی, Bengali -ের, Hindi -ी), not in CJK (no word boundaries)."""
    if any("\u2e80" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in native):
        return [native]
    if len(native) >= 5:
        return [f"{native}*"]
    forms = [native]
    if lang in ("ur", "fa") and not native.endswith("ی"):
        forms.append(native + "ی")  # the adjective: چین → چینی
    if lang == "ar":
        forms.append(native + "ي")
    return forms


def _subject_entities(
    art: _Article,
    subject: _Entity,
    others: Sequence[_Entity],
    main: _Entity | None,
    langs: Sequence[str],
    skipped: list[str],
) -> list[DraftEntity]:
    # (entity, weight, why, acting: another actor of the story, not of the subject's group)
    chosen: list[tuple[_Entity, float, str, bool]] = [
        (subject, 1.0, "the story's subject: " + _salience(subject), False)
    ]
    for other in others:
        if other is subject or other.kind in ("place", "institution", "concept"):
            continue
        relation, role = _unit_relation(art, other.name, subject.name)
        if role == "investor":  # "Microsoft, OpenAI's largest backer": not its group
            chosen.append(
                (other, 0.8, f"another organisation acting in the story: {relation}", True)
            )
        elif relation:
            other.parent = subject.name
            if role == "product":
                other.kind = "product"
            appositive = not other.name.startswith(subject.name + " ")
            if appositive and role != "parent" and main and _describes_place(art, other.name, main):
                other.implies.append("place")
                relation += f"; described with {main.name} in the same clause"
            tie = (
                f"the parent of {subject.name}"
                if role == "parent"
                else f"a {role} of {subject.name}"
            )
            chosen.append((other, 1.0, f"{tie}, so in its group: {relation}", False))
        elif other.kind == "org" and (
            other.name.split()[-1].lower() in _ORG_HEADS
            or "a company" in other.why[0]
            or other.aliases[1:]
            or (
                "actor" in other.why[0] and other.salience >= 2 + (3 if _in_lead(art, other) else 0)
            )
        ):
            why = f"another organisation acting in the story: {_salience(other)}"
            chosen.append((other, 0.8, why, True))
        elif other.salience >= max(5, subject.salience / 2):  # "GPT-5", named nearly as often
            why = f"named nearly as often as the subject: {_salience(other)}"
            chosen.append((other, 0.8, why, False))
        elif other.kind == "person" and _officer_of(art, other.name, subject.name):
            officer = _officer_of(art, other.name, subject.name)
            chosen.append((other, 1.0, f"a person of {subject.name}: {officer}", False))
        elif other.kind == "person" and other.salience >= 5:
            chosen.append((other, 0.8, f"a person acting in the story: {_salience(other)}", True))
        else:
            skipped.append(f"{other.name}: {other.kind}, too rarely named ({_salience(other)})")
    out = []
    chosen = chosen[:MAX_SUBJECT_ENTITIES]
    _add_short_names(chosen, [o for o in others if o.kind == "org"], skipped)
    for entity, weight, why, acting in chosen:
        aliases = [DraftAlias(_stem(a.text) if a.source == "article" else a.text, a.source)
                   for a in entity.aliases]  # fmt: skip
        if " " not in entity.name and entity.name.lower() not in art.words:
            aliases += [
                DraftAlias(form, f"{lang} transliteration by rule")
                for form, lang in transliterations(entity.name, langs)
            ]
        # Without a place the subject alone makes a direct follow-up, and in a story about a
        # person news of that person follows it: the other actors (a regulator, a rival, an
        # investor) then only count beside the story's vocabulary.
        apart = main is None or subject.kind == "person"
        group = "actor" if apart and acting and entity.kind != "person" else "subject"
        out.append(DraftEntity(entity.name, entity.kind, group, weight, _unique(aliases),
                               f"{why}; {_kind_note(entity)}",
                               tuple(entity.implies)))  # fmt: skip
    return out


def _add_short_names(
    chosen: Sequence[tuple[_Entity, float, str, bool]], orgs: Sequence[_Entity], skipped: list[str]
) -> None:
    """A left-out one-word name that begins a chosen organisation's name is that organisation
    written short ("Activision" for Activision Blizzard): an alias of it, not left out."""
    picked = {id(entity) for entity, *_ in chosen}
    for short in orgs:
        if id(short) in picked or " " in short.name:
            continue
        for entity, *_ in chosen:
            if entity.kind == "org" and entity.name.startswith(short.name + " "):
                entity.aliases.append(DraftAlias(short.name, "article (its name written short)"))
                skipped[:] = [s for s in skipped if not s.startswith(f"{short.name}: ")]
                break


def _story_languages(official: Sequence[str]) -> list[str]:
    """The official languages of the story's countries; when one of them is a South Asian
    language with transliteration rules below, the others of that family too (Urdu, Hindi
    and Bengali outlets cover each other's region)."""
    own = list(official)
    if any(lang in _SCRIPT_OF for lang in own):
        own += [lang for lang in ("ur", "hi", "bn") if lang not in own]
    return own


def _elsewhere(main: _Entity, places: Sequence[_Entity], langs: Sequence[str]) -> DraftEntity:
    """Every other country (CLDR), so that a unit's implied place is voided where the item
    names another country ("Beta Kenya" is not Beta's home market when Uganda is named)."""
    territories, _ = _cldr()
    story = {territories[p.name] for p in places if p.name in territories}
    aliases = []
    for name, code in territories.items():
        if code in story or code.isdigit() or len(code) != 2:
            continue
        aliases.append(DraftAlias(_stem(name) if " " not in name else name, "CLDR en"))
        for lang in langs:
            native = _locale_names(lang)[0].get(code)
            if native:
                aliases += [DraftAlias(f, f"CLDR {lang}") for f in _native_forms(native, lang)]
    return DraftEntity("Other countries", "place", "elsewhere", 1.0, _unique(aliases),
                       f"countries other than the story's: void what a unit implies about {main.name}")  # fmt: skip


def _business_words(chosen: Sequence[DraftEntity], subject: _Entity | None) -> list[DraftAlias]:
    """ "Acme Cloud", "Acme Pay": what a unit's name adds to its parent's is its line of
    business, a topic of the story."""
    if subject is None:
        return []
    out = []
    for entity in chosen:
        if entity.name.startswith(subject.name + " ") and entity.kind in ("org", "product"):
            rest = entity.name[len(subject.name) + 1 :].lower()
            if " " not in rest and rest not in _GENERIC and rest not in _ORG_HEADS:
                out.append(DraftAlias(rest, f"article (the business of the unit {entity.name})"))
    return out


# Lines of business that groups name units after, as the glued short form writes them
# ("Alipay", "AliCloud", "Tenpay"), keyed by the word an article uses for the business (nouns:
# "pay" is mostly the verb, "would pay $95 per share").
_BRAND_WORDS = {
    "payment": "pay", "payments": "pay", "wallet": "pay", "cloud": "Cloud",
    "bank": "bank", "banking": "bank", "express": "Express", "mall": "Mall", "music": "Music",
    "health": "Health", "travel": "Travel",
}  # fmt: skip


def _clipped_units(
    art: _Article, subject: _Entity | None, business: Sequence[DraftAlias]
) -> list[DraftEntity]:
    """Units a group names by gluing its clipped name to a line of business: Alibaba's
    Alipay and AliCloud, Tencent's Tenpay. A guess from that naming habit, for the lines of
    business the article itself names; weaker than the article's own names."""
    clip = _clip(subject.name) if subject is not None else None
    if subject is None or clip is None:
        return []
    words = {b.text.lower() for b in business} | {w for w in art.words if w in _BRAND_WORDS}
    forms = sorted({clip + _BRAND_WORDS[w] for w in words if w in _BRAND_WORDS})
    if not forms:
        return []
    aliases = tuple(
        DraftAlias(f, f"{subject.name} clipped to {clip!r} and glued to a line of business "
                      "the article names")
        for f in forms
    )  # fmt: skip
    why = (
        f"units named after {subject.name} by its clipped name (the habit of groups: "
        "a guess, confirm with `followup tune`)"
    )
    return [DraftEntity(f"{subject.name} units by name", "product", "subject", 0.8, aliases, why)]


def _clip(name: str) -> str | None:
    """A one-word name's first syllables as a short form: "Alibaba" -> "Ali", "Tencent" ->
    "Ten"; None when the name is too short to clip."""
    if not name.isalpha() or len(name) < 6 or not name[1:].islower():
        return None  # "OpenAI", "PayPal": already glued from words, not clipped by syllables
    vowel = [c.lower() in "aeiouy" for c in name]
    # to the end of the second vowel run if the name starts with one, else of the first,
    # plus the consonant that closes the syllable when two consonants follow
    runs, i = 0, 0
    while i < len(name):
        if vowel[i] and (i == 0 or not vowel[i - 1]):
            runs += 1
        if runs == (2 if vowel[0] else 1) and vowel[i] and (i + 1 == len(name) or not vowel[i + 1]):
            end = i + 1
            if end + 1 < len(name) and not vowel[end] and not vowel[end + 1]:
                end += 1
            clip = name[:end]
            return clip if 3 <= len(clip) <= len(name) - 3 else None
        i += 1
    return None


def _officer_of(art: _Article, person: str, subject: str) -> str:
    """ "Acme CEO Jane Doe", "Acme's founder Jane Doe": the article's own words, or ""."""
    pattern = rf"{re.escape(subject)}(?:['’]s)? (?:[\w-]+ ){{0,2}}{re.escape(person)}"
    found = re.search(pattern, art.text)
    return f"the article writes '{found.group(0)}'" if found else ""


def _in_lead(art: _Article, entity: _Entity) -> bool:
    entry = art.names.get(entity.name)
    return bool(entry and entry.lead)


def _salience(entity: _Entity) -> str:
    return f"salience {entity.salience:g} (mentions, +3 in the lead)"


_PRODUCT_NOUNS = frozenset(
    "app application brand card device model platform product service wallet".split()
)
_PARENT_NOUNS = frozenset("parent owner".split())
_INVESTOR_NOUNS = frozenset("shareholder investor backer".split())


def _unit_relation(art: _Article, name: str, parent: str) -> tuple[str, str]:
    """How the article ties ``name`` to ``parent`` and the role it gives ``name`` ("unit",
    "product" or "parent": "Beta, Acme's payments app" is a product), or ("", "")."""
    if name.startswith(parent + " "):
        return f"its name extends {parent}", "unit"
    if not _written_near(art.text, name, parent):  # every pattern below needs both close
        return "", ""
    n, p = re.escape(name), re.escape(parent)
    patterns = (
        (rf"{n},? (?:a |an |the )?{p}['’]s ((?:[\w-]+ ){{0,3}}[\w-]+)", f"'{name}, {parent}'s ...'"),
        (rf"{p}['’]s ((?:[\w-]+ ){{0,3}}){n}\b", f"'{parent}'s ... {name}'"),
        (rf"{n},? (?:a |an |the )?(?:[\w-]+ )?({_UNIT_WORDS}) of {p}", f"'{name}, a unit of {parent}'"),
        (rf"{p}-(owned|backed|controlled) {n}", f"'{parent}-owned {name}'"),
        (rf"{n} (?:is|was|has been) (owned|acquired|bought|controlled) by {p}", f"'owned by {parent}'"),
    )  # fmt: skip
    for pattern, why in patterns:
        found = re.search(pattern, art.text)
        if found:
            words = {w.lower() for w in re.findall(r"[\w-]+", found.group(1))}
            role = (
                "parent"
                if words & _PARENT_NOUNS
                else "investor"
                if words & _INVESTOR_NOUNS
                else "product"
                if words & _PRODUCT_NOUNS
                else "unit"
            )
            return f"the article writes {why}", role
    return "", ""


def _written_near(text: str, first: str, second: str, within: int = 80) -> bool:
    """Does ``text`` write ``first`` within ``within`` characters of ``second``?"""
    seconds = _positions(text, second)
    for at in _positions(text, first):
        i = bisect_left(seconds, at - within - len(second))
        if i < len(seconds) and seconds[i] <= at + len(first) + within:
            return True
    return False


@lru_cache(maxsize=64)
def _positions(text: str, word: str) -> tuple[int, ...]:
    out: list[int] = []
    at = text.find(word)
    while at >= 0 and len(out) < 1000:  # bounded: a name written a thousand times is near
        out.append(at)
        at = text.find(word, at + 1)
    return tuple(out)


def _describes_place(art: _Article, name: str, main: _Entity) -> bool:
    """Is the main place (or its adjective) named in the clause that describes ``name``?"""
    forms = {a.text for a in main.aliases} | {main.name}
    for _, sentence in art.sentences:
        at = sentence.find(name)
        if at < 0:
            continue
        clause = re.split(r"[;:]", sentence[at:])[0]
        if any(re.search(rf"\b{re.escape(f)}\b", clause) for f in forms):
            return True
    return False


def _topics(
    art: _Article,
    entities: Sequence[DraftEntity],
    concepts: Sequence[_Entity],
    business: Sequence[DraftAlias],
) -> list[DraftTopic]:
    """The article's vocabulary. Its domain words are the content words it repeats that also
    combine with many different words (a keyword graph's hubs: "data" in data centres, data
    security, data protection); its key phrases are the pairs built on those hubs, compounds,
    acronym expansions and capitalised terms the article also writes lowercase."""
    # words of the story's names that the article never writes as ordinary words
    named = {
        w.lower()
        for e in entities
        for a in e.aliases
        for w in a.text.strip("*").split()
        if w.lower() not in art.words or not w.isascii()
    }
    named = {w for w in named if w not in {b.text for b in business}}
    hubs = _hub_words(art, named)
    phrases: list[DraftAlias] = list(business)
    for concept in concepts:
        phrases += [DraftAlias(a.text, f"{a.source}; {concept.why[0]}") for a in concept.aliases]
    for acronym, expansion in art.expansions.items():
        phrases += [DraftAlias(expansion, "article (an acronym's expansion)"),
                    DraftAlias(acronym, f"article (the acronym of {expansion})")]  # fmt: skip
    for word in sorted(art.words, key=lambda w: (-art.words[w], w)):
        parts = word.split("-")
        if (
            len(parts) == 2
            and all(p.isalpha() for p in parts)
            and not _generic_words(word)
            and (set(parts) & set(hubs) or not any(p in _GENERIC for p in parts))
        ):
            phrases.append(DraftAlias(word, "article (a compound term)"))
    hub_families = {_family(h.rstrip("*")): h for h in hubs}
    pairs = [
        (p, c) for p, c in art.phrases.items()
        if not any(w in _GENERIC or w in named for w in p.split())
    ]  # fmt: skip
    pairs.sort(
        key=lambda pc: (-sum(_family(w) in hub_families for w in pc[0].split()), -pc[1], pc[0])
    )
    pairs = [(p, c) for p, c in pairs if _noun_phrase(p, c, hub_families)]
    for pair, _count in pairs[:MAX_KEY_PHRASES]:
        hub = next(
            (hub_families[_family(w)] for w in pair.split() if _family(w) in hub_families), ""
        )
        why = f"a phrase of the domain word {hub!r}" if hub else "a phrase of two content words"
        phrases.append(DraftAlias(_stem_phrase(pair), f"article ({why})"))
    topics = []
    if phrases:
        topics.append(DraftTopic("Key phrases of the article", "topic", KEY_PHRASE_WEIGHT,
                                 tuple(_unique(_spellings(phrases))),
                                 "domain phrases: acronym expansions, compounds, phrases of domain words"))  # fmt: skip
    domain = [DraftAlias(w, f"article ({why})") for w, why in hubs.items()]
    domain += _lexicon_terms(art, [*phrases, *domain])
    if domain:
        topics.append(DraftTopic("Domain words", "topic", DOMAIN_WORD_WEIGHT,
                                 tuple(_unique(_spellings(domain))),
                                 "words the article repeats in many phrases (weaker: each alone is common)"))  # fmt: skip
    return topics


def _lexicon_terms(art: _Article, drafted: Sequence[DraftAlias]) -> list[DraftAlias]:
    """Terms of the topic lexicon that the article writes at least twice (a brief: once), in
    English or in any language the lexicon knows, and that no drafted phrase covers. The
    article's statistics miss them when it is short (few words repeat in three phrases) or
    written in a script without capitals or spaces (Chinese, Urdu): its own words are then
    the lexicon's."""
    text = " " + bounded(normalize(art.text)) + " "
    covered = {
        part
        for alias in drafted
        for words in [re.split(r"[\s/]+", alias.text.strip("=*").lower())]
        for size in (1, 2, 3)
        for part in (" ".join(words[i : i + size]).rstrip("*") for i in range(len(words)))
    }
    out: list[DraftAlias] = []
    # a headline or a two-line brief says each thing once, and says only what matters
    needed = 1 if len(art.text.split()) < SHORT_ARTICLE_WORDS else 2
    for key, entry in _TOPIC_LEXICON.items():
        if covered.intersection(key):
            continue
        counts = {form: _mentions(art.text, text, form) for form in _lexicon_forms(key, entry)}
        if sum(counts.values()) < needed:
            continue
        written = ", ".join(f"{form} {n}x" for form, n in counts.items() if n)
        why = f"article (a term of the topic lexicon, written {written})"
        english = [DraftAlias(a.text, why) for a in _english_forms(key, "")]
        native = [DraftAlias(f, why) for f, n in counts.items() if n and not f.isascii()]
        out += [*english, *native]
    return out


def _lexicon_forms(key: tuple[str, ...], entry: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The English keys, then each other language's form that matches differently: French
    "télécommunications" is matched as "telecommunications", and must not count twice."""
    forms = [*key, *(form for forms in entry.values() for form in forms)]
    out, seen = [], set()
    for form in forms:
        norm = normalize(form.rstrip("*"))
        if (form.isascii() and form not in key) or norm in seen:
            continue
        seen.add(norm)
        out.append(form)
    return out


def _mentions(original: str, bounded_text: str, form: str) -> int:
    """How often the article writes ``form``: whole words (stems: word starts; CJK: anywhere);
    a short English key ("ai", "it", "ipo") only in capitals, as the acronym, not the word."""
    if form.isascii() and len(form) <= 3:
        return len(re.findall(rf"\b{re.escape(form.upper())}s?\b", original))
    stem = form.endswith("*")
    words = bounded(normalize(form.rstrip("*"))).strip()
    if not words:
        return 0
    if any(is_cjk(char) for char in words):
        return bounded_text.count(words)
    return bounded_text.count(f" {words}" if stem else f" {words} ")


# Irregular past tenses and adverbs: what follows a noun without making a term with it.
_NOT_NOUNS = frozenset(
    """sent came went took made gave got left told saw found held won ran began became brought
    built bought caught fell felt kept led lost meant met paid put said set sold spent stood
    struck thought wrote together again already also still away back instead alone""".split()
)
_ADJECTIVE = re.compile(r"(?:al|ic|ive|ous|ile|\w{4}ent|\w{4}ant|ary|less|ful|able|ible)$")


def _noun_phrase(pair: str, count: int, hubs: Mapping[str, str]) -> bool:
    """A pair that reads as a term: seen twice, or two hubs, or a hub modifying the next word
    ("data centres"), or an adjective before a hub ("mobile money"); not "handles money"."""
    word, after = pair.split()
    if count < 2 and (re.search(r"[^e]ed$", after) or after in _NOT_NOUNS):
        return False  # "hurricane followed", "force sent", "rebels together": no terms
    if count >= 2 or _family(word) in hubs:
        return True
    return _family(after) in hubs and bool(_ADJECTIVE.search(word))


def _hub_words(art: _Article, named: set[str]) -> dict[str, str]:
    """Content words (as stem families: technology, technological) used at least twice with
    at least three different neighbours: the hubs of the article's word graph."""
    neighbours: dict[str, set[str]] = {}
    members: dict[str, Counter[str]] = {}
    for word, count in art.words.items():
        if word not in named and "-" not in word:
            members.setdefault(_family(word), Counter())[word] += count
    pairs = [p.split() for p in art.phrases]
    pairs += [w.split("-") for w in art.words if w.count("-") == 1 and all(w.split("-"))]
    for first, second in pairs:
        neighbours.setdefault(_family(first), set()).add(_family(second))
        neighbours.setdefault(_family(second), set()).add(_family(first))
    hubs: dict[str, tuple[int, str]] = {}
    for family, words in members.items():
        count, near = sum(words.values()), neighbours.get(family, set())
        word = words.most_common(1)[0][0]
        if count < 2 or len(near) < 3 or any(w in _GENERIC for w in words):
            continue
        if len(family) < 4 and not word.isupper():
            continue
        form = word if len(words) == 1 else f"{family}*"
        form = _stem(form) if not form.endswith("*") else form
        hubs[form] = (
            len(near),
            f"{count} times as {', '.join(sorted(words))}, beside {len(near)} different words",
        )
    ranked = sorted(hubs.items(), key=lambda kv: -kv[1][0])[:MAX_DOMAIN_WORDS]
    return {form: why for form, (_, why) in ranked}


def _family(word: str) -> str:
    """A crude English stem: the word less a derivational or plural ending, if 5+ letters stay."""
    if word.isupper():
        return word.lower()
    lower = word.lower()
    for ending in ("ically", "ical", "ies", "ing", "ed", "es", "al", "y", "s"):
        if ending == "es" and not lower.endswith(("ses", "xes", "zes", "ches", "shes")):
            continue  # "hurricanes" is hurricane + s, "taxes" tax + es
        if lower.endswith(ending) and len(lower) - len(ending) >= 5:
            return lower[: -len(ending)]
    return lower


def _generic_words(phrase: str) -> bool:
    words = [w.strip("-") for w in re.split(r"[\s-]+", phrase.lower()) if w]
    return all(
        w in _GENERIC or w in _FUNCTION or len(w) < 3 and not w.isupper() for w in words
    ) or (phrase.split()[-1].lower() in _GENERIC and phrase.split()[0].lower() in _GENERIC)


def _spellings(phrases: Iterable[DraftAlias]) -> list[DraftAlias]:
    """British and American spellings of each phrase (centre/center, -ise/-ize)."""
    out = []
    for alias in phrases:
        out.append(alias)
        for a, b in _SPELLINGS:
            if re.search(a, alias.text):
                out.append(
                    DraftAlias(re.sub(a, b, alias.text), f"spelling variant of {alias.text!r}")
                )
    return out


_SPELLINGS = (
    (r"(?<=[a-z]{2})center", "centre"),
    (r"(?<=[a-z]{2})centre", "center"),
    (r"(?<=[a-z]{4})iz(?=e|ation|ing)", "is"),
    (r"(?<=[a-z]{4})isation", "ization"),
)


def _stem(name: str) -> str:
    """Plurals and inflections may follow a long single lowercase-able word."""
    if " " in name or name.isupper() or len(name) < 5 or not name.isascii() or name[-1] == "*":
        return name
    # a plural's "s" goes, a name's stays: "Yukos" is no plural of "Yuko"
    plural = name.endswith("s") and not name.endswith("ss") and not name[0].isupper()
    return f"{name[:-1] if plural else name}*"


def _stem_phrase(pair: str) -> str:
    first, second = pair.split()
    base = second[:-1] if second.endswith("s") and not second.endswith("ss") else second
    return f"{first} {base}*" if len(base) >= 4 else pair


def _unique(aliases: Iterable[DraftAlias]) -> tuple[DraftAlias, ...]:
    """Each alias once, and a Latin one with accents also without them: the English press
    writes Sao Paulo and Turkiye as often as São Paulo and Türkiye."""
    seen: dict[str, DraftAlias] = {}
    for alias in aliases:
        bare = _without_accents(alias.text)
        written = DraftAlias(bare, f"{alias.source}; without accents") if bare else None
        for one in (alias, written):
            key = normalize(one.text.strip("=*")) if one else ""
            if one and key and key not in seen:
                seen[key] = one
    return tuple(seen.values())


def _without_accents(text: str) -> str:
    """``text`` with its accents dropped when that leaves plain ASCII letters ("São Paulo",
    "İstanbul"); "" when it has none, or letters that are not accented Latin ones."""
    if text.isascii():
        return ""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not "\u0300" <= c <= "\u036f")
    return bare if bare.isascii() else ""


def _rules(
    entities: Sequence[DraftEntity], topics: Sequence[DraftTopic], subject: _Entity | None,
    main: _Entity | None,
) -> list[DraftRule]:  # fmt: skip
    groups = {e.group for e in entities} | {t.group for t in topics}
    rules = []
    if subject and subject.kind == "event" and "subject" in groups:
        rules.append(DraftRule(subject.name, "direct", ("subject",), 1.0,
                               "direct: the story is a named event, and its name alone says so"))  # fmt: skip
    elif {"subject", "place"} <= groups and subject and main:
        rules.append(DraftRule(f"{subject.name} in or with {main.name}", "direct",
                               ("subject", "place"), 1.0,
                               "direct: the story's actors together with its place"))  # fmt: skip
    if {"place", "topic"} <= groups and main:
        rules.append(DraftRule(f"{main.name} and the story's topics", "thread", ("place", "topic"),
                               0.85, "same thread: the place with the story's vocabulary"))  # fmt: skip
    if subject and subject.kind == "person" and main and "subject" in groups:
        rules.append(DraftRule(f"{subject.name} anywhere", "thread", ("subject",), 0.85,
                               "same thread: the story is about a person, and news of them follows it"))  # fmt: skip
        if {"actor", "topic"} <= groups:
            rules.append(DraftRule("Other actors and the story's topics", "thread",
                                   ("actor", "topic"), 0.85,
                                   "same thread: another actor of the story with its vocabulary"))  # fmt: skip
    if not rules:  # nothing to pair: the strongest single group, a curator must refine it
        # never "elsewhere" (it only voids a place) nor "office" (it only implies one)
        group = next((g for g in ("subject", "place", "topic", "actor") if g in groups), "")
        if group:
            rules.append(DraftRule(f"{group} alone", "direct", (group,), 1.0,
                                   "only one kind of evidence could be drafted"))  # fmt: skip
        if {"actor", "topic"} <= groups:
            rules.append(DraftRule("Other actors and the story's topics", "thread",
                                   ("actor", "topic"), 0.85,
                                   "same thread: another actor of the story with its vocabulary"))  # fmt: skip
    return rules


# ---------------------------------------------------------------------- topics in other languages

# Common news words of technology and business, as the press of other languages writes them.
# Generic by design: a drafted topic phrase or domain word that is one of the English forms
# (left column) carries these forms into the story's languages; nothing here names a story.
# Keys are English forms as the draft writes them (lowercase, stems without "*").
_TOPIC_LEXICON: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {
    ("digital",): {
        "ur": ("ڈیجیٹل",), "hi": ("डिजिटल",), "bn": ("ডিজিটাল",), "fa": ("دیجیتال",),
        "zh": ("数字化", "数字经济", "数字技术", "数字合作", "数字基础设施", "数码"),
        "ar": ("الرقمي", "الرقمية", "رقمي", "رقمية"), "es": ("digital*",), "pt": ("digital*",),
        "fr": ("numérique*",), "de": ("digital*",), "ru": ("цифров*",), "ja": ("デジタル",),
        "ko": ("디지털",), "tr": ("dijital*",), "id": ("digital",),
    },
    ("technology", "technolog", "tech"): {
        "ur": ("ٹیکنالوجی", "ٹیکنالوجیز"), "hi": ("प्रौद्योगिकी", "टेक्नोलॉजी", "तकनीक*"),
        "bn": ("প্রযুক্তি*",), "fa": ("فناوری",), "zh": ("科技", "技术"),
        "ar": ("التكنولوجيا", "تكنولوجيا", "التقنية"), "es": ("tecnolog*",), "pt": ("tecnolog*",),
        "fr": ("technolog*",), "de": ("Technolog*",), "ru": ("технолог*",),
        "ja": ("テクノロジー", "技術"), "ko": ("기술",), "tr": ("teknoloji*",),
        "id": ("teknologi",),
    },
    ("data",): {
        "ur": ("ڈیٹا",), "hi": ("डेटा", "डाटा"), "bn": ("ডেটা", "ডাটা"), "fa": ("داده*",),
        "zh": ("数据",), "ar": ("البيانات",), "es": ("datos",), "pt": ("dados",),
        "fr": ("données",), "de": ("Daten",), "ru": ("данных", "данные"), "ja": ("データ",),
        "ko": ("데이터",), "tr": ("veri*",), "id": ("data",),
    },
    ("data center", "data centre"): {
        "ur": ("ڈیٹا سینٹر*",), "hi": ("डेटा सेंटर*", "डाटा सेंटर*"), "bn": ("ডেটা সেন্টার*",),
        "zh": ("数据中心",), "ar": ("مراكز البيانات", "مركز البيانات", "مركز بيانات"),
        "es": ("centro de datos", "centros de datos"), "pt": ("centro de dados", "data center*"),
        "fr": ("centre de données", "centres de données"), "de": ("Rechenzent*",),
        "ru": ("дата-центр*", "центр* обработки данных"), "ja": ("データセンター",),
        "ko": ("데이터센터", "데이터 센터"), "tr": ("veri merkez*",),
    },
    ("cloud",): {
        "ur": ("کلاؤڈ",), "hi": ("क्लाउड",), "bn": ("ক্লাউড",), "fa": ("ابری",),
        "zh": ("云计算", "云服务"), "ar": ("السحابية", "السحابي"), "es": ("nube",),
        "pt": ("nuvem",), "fr": ("cloud",), "de": ("Cloud",), "ru": ("облачн*",),
        "ja": ("クラウド",), "ko": ("클라우드",), "tr": ("bulut",),
    },
    ("artificial intelligence", "ai"): {
        "ur": ("مصنوعی ذہانت", "آرٹیفیشل انٹیلیجنس", "اے آئی"),
        "hi": ("कृत्रिम बुद्धिमत्ता", "आर्टिफिशियल इंटेलिजेंस", "एआई"),
        "bn": ("কৃত্রিম বুদ্ধিমত্তা", "এআই"), "fa": ("هوش مصنوعی",), "zh": ("人工智能",),
        "ar": ("الذكاء الاصطناعي",), "es": ("inteligencia artificial", "IA"),
        "pt": ("inteligência artificial", "IA"), "fr": ("intelligence artificielle", "IA"),
        "de": ("künstliche Intelligenz", "künstlicher Intelligenz", "KI"),
        "ru": ("искусственн* интеллект*", "ИИ"), "ja": ("人工知能",), "ko": ("인공지능",),
        "tr": ("yapay zeka",),
    },
    ("e-commerce", "ecommerce"): {
        "ur": ("ای کامرس", "ای-کامرس"), "hi": ("ई-कॉमर्स", "ई-कामर्स", "ई कॉमर्स"),
        "bn": ("ই-কমার্স",), "fa": ("تجارت الکترونیک",), "zh": ("电子商务", "电商", "跨境电商"),
        "ar": ("التجارة الإلكترونية",), "es": ("comercio electrónico",),
        "pt": ("comércio eletrônico", "comércio electrónico"),
        "fr": ("commerce électronique", "e-commerce"), "de": ("E-Commerce", "Onlinehandel*"),
        "ru": ("электронн* коммерц*",), "ja": ("電子商取引", "eコマース"),
        "ko": ("전자상거래",), "tr": ("e-ticaret",),
    },
    ("internet",): {
        "ur": ("انٹرنیٹ",), "hi": ("इंटरनेट",), "bn": ("ইন্টারনেট",), "fa": ("اینترنت",),
        "zh": ("互联网",), "ar": ("الإنترنت",), "es": ("internet",), "ru": ("интернет*",),
        "ja": ("インターネット",), "ko": ("인터넷",),
    },
    ("online",): {
        "ur": ("آن لائن",), "hi": ("ऑनलाइन",), "bn": ("অনলাইন",), "zh": ("在线", "线上"),
        "ar": ("عبر الإنترنت",), "es": ("en línea",), "fr": ("en ligne",), "ja": ("オンライン",),
        "ko": ("온라인",),
    },
    ("information technology", "it", "ict"): {
        "ur": ("آئی ٹی", "آئی سی ٹی", "انفارمیشن ٹیکنالوجی"), "hi": ("आईटी", "सूचना प्रौद्योगिकी"),
        "bn": ("আইটি", "আইসিটি", "তথ্যপ্রযুক্তি*"), "fa": ("فناوری اطلاعات",),
        "zh": ("信息技术", "信息通信"), "ar": ("تكنولوجيا المعلومات",),
        "es": ("tecnologías de la información",), "fr": ("technologies de l'information",),
        "ru": ("информационн* технолог*",), "ja": ("情報技術",), "ko": ("정보기술",),
    },
    ("telecommunications", "telecommunication", "telecom", "telecoms"): {
        "ur": ("ٹیلی کام", "ٹیلی کمیونیکیشن"), "hi": ("दूरसंचार",), "bn": ("টেলিযোগাযোগ",),
        "fa": ("مخابرات",), "zh": ("电信", "通信"), "ar": ("الاتصالات",),
        "es": ("telecomunicaciones",), "fr": ("télécommunications",), "de": ("Telekommunikation",),
        "ru": ("телеком*", "связи"), "ja": ("通信",), "ko": ("통신",),
    },
    ("payment", "payments"): {
        "ur": ("ادائیگی", "ادائیگیوں", "پیمنٹ"), "hi": ("भुगतान",), "bn": ("পেমেন্ট", "লেনদেন"),
        "fa": ("پرداخت",), "zh": ("支付",), "ar": ("الدفع", "المدفوعات"), "es": ("pagos",),
        "pt": ("pagamento*",), "fr": ("paiement*",), "de": ("Zahlung*",), "ru": ("платеж*",),
        "ja": ("決済",), "ko": ("결제",),
    },
    ("fintech",): {
        "ur": ("فن ٹیک", "فنٹیک"), "hi": ("फिनटेक",), "bn": ("ফিনটেক",), "zh": ("金融科技",),
        "ar": ("التكنولوجيا المالية",), "ja": ("フィンテック",), "ko": ("핀테크",),
    },
    ("blockchain",): {
        "ur": ("بلاک چین",), "hi": ("ब्लॉकचेन",), "bn": ("ব্লকচেইন",), "zh": ("区块链",),
        "ar": ("البلوك تشين", "سلسلة الكتل"), "ru": ("блокчейн*",), "ja": ("ブロックチェーン",),
        "ko": ("블록체인",),
    },
    ("cyber security", "cybersecurity", "data security"): {
        "ur": ("سائبر سیکیورٹی",), "hi": ("साइबर सुरक्षा",), "bn": ("সাইবার নিরাপত্তা",),
        "zh": ("网络安全", "数据安全"), "ar": ("الأمن السيبراني",),
        "es": ("ciberseguridad",), "fr": ("cybersécurité",), "ru": ("кибербезопасност*",),
        "ja": ("サイバーセキュリティ",), "ko": ("사이버 보안",),
    },
    ("data protection", "data privacy"): {
        "ur": ("ڈیٹا پروٹیکشن", "ڈیٹا کے تحفظ"), "hi": ("डेटा संरक्षण", "डेटा सुरक्षा"),
        "bn": ("ডেটা সুরক্ষা", "তথ্য সুরক্ষা"), "zh": ("数据保护", "个人信息保护"),
        "ar": ("حماية البيانات",), "es": ("protección de datos",),
        "fr": ("protection des données",), "de": ("Datenschutz*",), "ja": ("個人情報保護",),
    },
    ("startup", "startups", "start-up", "start-ups"): {
        "ur": ("سٹارٹ اپ*", "اسٹارٹ اپ*"), "hi": ("स्टार्टअप*",), "bn": ("স্টার্টআপ*",),
        "zh": ("初创企业", "创业公司"), "ar": ("الشركات الناشئة",), "ja": ("スタートアップ",),
    },
    ("semiconductor", "semiconductors", "chip", "chips"): {
        "ur": ("سیمی کنڈکٹر*",), "hi": ("सेमीकंडक्टर",), "zh": ("半导体", "芯片"),
        "ar": ("أشباه الموصلات",), "ja": ("半導体",), "ko": ("반도체",),
    },
    ("fibre", "fiber", "optical fibre", "optical fiber"): {
        "ur": ("فائبر",), "hi": ("फाइबर",), "bn": ("ফাইবার",), "zh": ("光纤", "光缆"),
        "ar": ("الألياف الضوئية",), "ja": ("光ファイバー",),
    },
    ("ipo", "initial public offering", "stock offering", "share offering"): {
        "ur": ("آئی پی او",), "hi": ("आईपीओ",), "bn": ("আইপিও",), "zh": ("首次公开募股", "IPO"),
        "ar": ("الطرح العام الأولي", "اكتتاب عام"), "es": ("salida a bolsa", "OPV"),
        "fr": ("introduction en bourse",), "de": ("Börsengang*",), "ru": ("IPO",),
        "ja": ("新規株式公開",), "ko": ("기업공개",),
    },
    ("search engine", "search engines"): {
        "ur": ("سرچ انجن",), "hi": ("सर्च इंजन",), "bn": ("সার্চ ইঞ্জিন",), "zh": ("搜索引擎",),
        "ar": ("محرك البحث", "محركات البحث"), "es": ("buscador*",),
        "fr": ("moteur de recherche", "moteurs de recherche"), "de": ("Suchmaschine*",),
        "ru": ("поисков*",), "ja": ("検索エンジン",), "ko": ("검색엔진",),
    },
    ("mobile money", "mobile banking", "mobile wallet"): {
        "ur": ("موبائل بینکنگ", "موبائل والٹ"), "hi": ("मोबाइल बैंकिंग",),
        "bn": ("মোবাইল ব্যাংকিং",), "zh": ("移动支付", "手机支付"),
    },
    ("remittance", "remittances"): {
        "ur": ("ترسیلات زر",), "hi": ("प्रेषण",), "bn": ("রেমিট্যান্স",), "zh": ("汇款",),
        "ar": ("التحويلات",), "es": ("remesas",),
    },
}  # fmt: skip


@cache
def _lexicon_keys() -> dict[str, tuple[str, ...]]:
    return {form: forms for forms in _TOPIC_LEXICON for form in forms}


def _carried(topics: Sequence[DraftTopic], langs: Sequence[str]) -> list[DraftTopic]:
    """The topics with the lexicon's forms of their phrases in ``langs`` (the story's
    languages). A key phrase that is a lexicon term ("e-commerce") brings its forms into the
    key phrases; a domain word ("digital"), or a term inside a longer phrase ("digital" in
    "digital payments"), brings its forms into a topic of their own, weaker than the domain
    words: a dictionary's word is a looser stand-in than the article's own, and its senses
    differ across languages, so alone in a summary it stays below the threshold."""
    keys = _lexicon_keys()
    langs = [lang for lang in dict.fromkeys(langs) if lang != "en"]
    out: list[DraftTopic] = []
    words: list[DraftAlias] = []
    for topic in topics:
        added: list[DraftAlias] = []
        for phrase in topic.phrases:
            text = phrase.text.strip("=*").lower()
            if text in keys:
                strong = topic.weight > DOMAIN_WORD_WEIGHT  # a key phrase of the article
                (added if strong else words).extend(_forms(keys[text], langs, phrase.text))
                if strong:  # and its other English forms: "AI" brings "artificial intelligence"
                    added += _english_forms(keys[text], phrase.text)
                continue
            parts = re.split(r"[\s/]+", text)
            for size in (2, 1):
                for i in range(len(parts) - size + 1):
                    part = " ".join(parts[i : i + size]).rstrip("*")
                    if part in keys:
                        words += _forms(keys[part], langs, phrase.text)
        phrases = _unique([*topic.phrases, *added])
        out.append(DraftTopic(topic.name, topic.group, topic.weight, phrases, topic.why))
    known = {normalize(a.text.strip("=*")) for t in out for a in t.phrases}
    words = [a for a in _unique(words) if normalize(a.text.strip("=*")) not in known]
    if words:
        out.append(DraftTopic("Domain words in the story's languages", "topic",
                              LEXICON_WORD_WEIGHT, tuple(words),
                              "the article's domain words and terms as the press of the story's "
                              "languages writes them (topic lexicon; weaker than the article's own)"))  # fmt: skip
    return out


def _english_forms(key: tuple[str, ...], source: str) -> list[DraftAlias]:
    """A lexicon entry's English forms but ``source``, acronyms in capitals; stems ("technolog"
    beside "technology") are left out: they are no words of their own."""
    stems = {a for a in key for b in key if a != b and b.startswith(a)}
    return [
        DraftAlias(form.upper() if len(form) <= 3 else form, f"topic lexicon: en for {source!r}")
        for form in key
        if form != source.strip("=*").lower() and form not in stems
    ]


def _forms(key: tuple[str, ...], langs: Sequence[str], source: str) -> list[DraftAlias]:
    entry = _TOPIC_LEXICON[key]
    return [
        DraftAlias(form, f"topic lexicon: {lang} for {source!r}")
        for lang in langs
        for form in entry.get(lang, ())
    ]


# ---------------------------------------------------------------------- TOML


def to_toml(result: Draft) -> str:
    lines = [
        f"# Draft profile for seed {result.seed_id!r}, written by `followup seed draft` from the",
        "# article alone (pipeline/drafting.py). Format: see seeds/pakistan-alibaba-2026.toml.",
        "# Review the aliases, weights and rules; every choice below says why it was made.",
    ]
    lines += [f"# note: {note}" for note in result.notes]
    lines += [f"# left out: {why}" for why in result.skipped]
    lines += ["", "[profile]", f"threshold = {THRESHOLD}"]
    for entity in result.entities:
        lines += ["", f"# {entity.why}"]
        lines += [f"#   {a.text!r}: {a.source}" for a in entity.aliases]
        lines += [
            "[[entity]]",
            f"name = {_toml_str(entity.name)}",
            f"group = {_toml_str(entity.group)}",
            f"weight = {entity.weight}",
            f"aliases = [{', '.join(_toml_str(a.text) for a in entity.aliases)}]",
        ]
        if entity.implies:
            implied = ", ".join(
                f'{{ group = {_toml_str(g)}, weight = 0.8, unless = ["elsewhere"] }}'
                for g in entity.implies
            )
            lines.append(f"implies = [{implied}]")
    for topic in result.topics:
        lines += ["", f"# {topic.why}"]
        lines += [f"#   {a.text!r}: {a.source}" for a in topic.phrases]
        lines += [
            "[[topic]]",
            f"name = {_toml_str(topic.name)}",
            f"group = {_toml_str(topic.group)}",
            f"weight = {topic.weight}",
            f"phrases = [{', '.join(_toml_str(a.text) for a in topic.phrases)}]",
        ]
    for rule in result.rules:
        lines += [
            "",
            f"# {rule.why}",
            "[[rule]]",
            f"name = {_toml_str(rule.name)}",
            f"kind = {_toml_str(rule.kind)}",
            f"all = [{', '.join(_toml_str(g) for g in rule.groups)}]",
            f"weight = {rule.weight}",
        ]
    return "\n".join(lines) + "\n"


def draft_profile_toml(article_text: str, seed_id: str) -> str:
    """The drafted profile of an article, as TOML with its explanations as comments."""
    return draft_explained(article_text, seed_id)[0]


def draft_explained(article_text: str, seed_id: str) -> tuple[str, list[str]]:
    """The TOML and a short summary of its choices, one line each (for a terminal)."""
    try:
        result = draft(clean_article(article_text), seed_id)
    finally:
        _CACHE.save()
    return to_toml(result), summary(result)


def summary(result: Draft) -> list[str]:
    lines = [f"drafted {len(result.entities)} entities, {len(result.topics)} topics, "
             f"{len(result.rules)} rules; the TOML's comments say why for each"]  # fmt: skip
    for entity in result.entities:
        if entity.group != "elsewhere":
            lines.append(f"{entity.group}: {entity.name} ({entity.kind}, "
                         f"{len(entity.aliases)} aliases): {entity.why}")  # fmt: skip
    for topic in result.topics:
        shown = ", ".join(a.text for a in topic.phrases[:8])
        lines.append(f"topic: {topic.name} ({len(topic.phrases)}): {shown}")
    for rule in result.rules:
        lines.append(f"rule {rule.kind}: all of {', '.join(rule.groups)} ({rule.why})")
    lines += [f"note: {note}" for note in result.notes]
    return lines


def clean_article(text: str) -> str:
    """Markup stripped, line breaks kept (they separate the title and paragraphs), datelines
    dropped ("ANKARA, Feb 6 (Reuters) -": the agency and the date are no actors of the story)."""
    text = _DATELINE.sub(_undated, text[:MAX_DRAFT_CHARS])
    text = re.sub(r"\s*[—–]\s*", ", ", text)  # a dash joins no compound
    return "\n".join(clean(line) for line in text.splitlines())


# A wire dateline opening a paragraph: a place in capitals, maybe a date, maybe the agency in
# parentheses, then a dash.
_DATELINE = re.compile(
    r"^[ \t]*(?P<place>[A-Z][A-Z'.]+(?:[ -][A-Z][A-Z'.]+){0,3})"  # ANKARA, NEW DELHI
    r"(?P<region>,[ \t]*[A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+)?(?=,))?"  # , Qatar, / , Wash.,
    r"(?P<date>,[ \t]*[A-Z][a-z]{2,8}\.?[ \t]*\d{1,2}(?:,[ \t]*\d{4})?)?"  # , Feb 6, 2026
    r"(?P<agency>[ \t]*\([A-Za-z][\w .&/-]{0,40}\))?"  # (Reuters)
    r"[ \t]*(?:--|[-–—])[ \t]*",
    re.M,
)


def _undated(found: re.Match[str]) -> str:
    """A dateline is dropped; "IBM - " without a date or an agency is only one if IBM is a
    place ("LONDON - ")."""
    if found["date"] or found["agency"] or _known_place(found["place"].title()):
        return ""
    return found.group()


def _toml_str(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(value, ensure_ascii=False)
